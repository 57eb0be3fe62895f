//! The run: cases → plan → target → judge → stateful checks → report.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use amp_contract::documented;
use amp_contract::envelope::{ApiIds, DedicatedIp};
use amp_contract::{ReportRecord, ResolvedCreate};
use futures_util::StreamExt;

use crate::cases::properties::{self, PropertyCase, PropertyContext, Tree};
use crate::cases::{Case, Expectation, Origin, RequestSpec, fixtures};
use crate::judge::{self, Class, Profile, Verdict};
use crate::plan::{self, PlanContext, Planned, Ready};
use crate::report::{CheckResult, RunReport, curl};
use crate::server::{self, RunningServer, ServerConfig};
use crate::snapshot::{self, SnapshotState, Snapshots};
use crate::target::{HttpAnswer, Secret, Target, TransportError};

/// Where D-DEFAULTS reads stored reports from (CONTRACT.md §5).
#[derive(Debug, Clone)]
pub enum Observer {
    /// A URL template with `{report_id}`, sent with the same `API_ID`.
    Url(String),
    /// A shell command with `{report_id}` that prints the report as JSON.
    Command(String),
}

/// Everything a run needs, from the command line or a test.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The endpoint URL; `None` runs against the embedded reference server.
    pub target: Option<String>,
    /// The `API_ID`; `None` with the embedded server makes a random one.
    pub key: Option<Secret>,
    /// Services of the target (`--service`).
    pub services: Vec<(u32, DedicatedIp)>,
    /// `--missing-service-id`.
    pub missing_service: Option<u32>,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// `--allow-suspend`.
    pub allow_suspend: bool,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Response body cap.
    pub max_body: usize,
    /// Property cases to generate.
    pub cases: usize,
    /// Seed; `None` picks one (and prints it).
    pub seed: Option<u64>,
    /// Profile.
    pub profile: Profile,
    /// `--strict`.
    pub strict: bool,
    /// Check ids whose FAIL or NON-STRICT is accepted.
    pub known_failures: HashSet<String>,
    /// Observer for D-DEFAULTS.
    pub observer: Option<Observer>,
    /// Fixture cases: the built-in set, plus or instead of the user's directories.
    pub fixtures: fixtures::FixtureSource,
    /// Show progress on stderr (a bar on a terminal, a line per check otherwise).
    pub progress: bool,
    /// Most requests expected to create a report (`None`: no limit).
    pub max_writes: Option<usize>,
    /// Most requests per second (`None`: no limit).
    pub rate: Option<f64>,
    /// Where the fixture answers are snapshotted (`None`: no snapshots).
    pub snapshots: Option<Snapshots>,
    /// Consecutive transport errors after which the run stops sending.
    pub stop_after_errors: usize,
}

impl RunConfig {
    /// Defaults: the embedded server, 4 requests in flight, 10 s timeout, 1 MiB answers,
    /// 100 property cases, the reference profile, the built-in fixture cases (no files needed).
    pub fn embedded() -> Self {
        Self {
            target: None,
            key: None,
            services: Vec::new(),
            missing_service: None,
            allow_writes: false,
            allow_suspend: false,
            concurrency: 4,
            timeout: Duration::from_secs(10),
            max_body: 1024 * 1024,
            cases: 100,
            seed: None,
            profile: Profile::Reference,
            strict: false,
            known_failures: HashSet::new(),
            observer: None,
            fixtures: fixtures::FixtureSource::builtin(),
            progress: false,
            max_writes: None,
            rate: None,
            snapshots: None,
            stop_after_errors: 5,
        }
    }
}

/// Why a run could not be made (exit code 2) or reached nothing (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Usage or configuration: what to fix.
    #[error("{0}")]
    Config(String),
    /// The target answered nothing at all.
    #[error("the target could not be reached: {0}")]
    Unreachable(String),
}

/// Sequential creates sent for R-IDS when the run's own creates give no ordered pair (a create
/// answered before another was sent), budget permitting.
const IDS_PROBES: usize = 3;

/// Most requests spent shrinking one failing property case.
const SHRINK_STEPS: usize = 48;

fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// Requests per second against a target that is not on this machine, unless `--rate` says.
pub const DEFAULT_RATE: f64 = 5.0;

/// The cases of a run, planned: what will be sent, what is skipped, and the value trees of
/// the property cases (by index), for shrinking.
struct Prepared {
    ready: Vec<(usize, Ready)>,
    skipped: Vec<(usize, CheckResult)>,
    trees: Vec<Option<Tree>>,
    fixture_count: usize,
    /// Writes left for the R-IDS probes, sent only when the run's creates give no ordered pair.
    probe_budget: usize,
}

/// Where a write stands when the budget is short, once every rule has its create: D-SUCCESS
/// first, then D-DEFAULTS, then the other documented checks, then reference ones, then
/// generated cases.
fn write_priority(case: &Case) -> u8 {
    let fixture = matches!(case.origin, Origin::Fixture { .. });
    match (fixture, case.rule()) {
        (true, "D-SUCCESS") => 0,
        (true, _) if case.rules.iter().any(|r| r == "D-DEFAULTS") => 2,
        (true, rule) if rule.starts_with("D-") => 3,
        (true, _) => 4,
        (false, _)
            if matches!(
                case.origin,
                Origin::Property {
                    generator: "valid",
                    ..
                }
            ) =>
        {
            5
        }
        (false, _) => 6,
    }
}

/// The rules one create exercises: the case's own, the reference rules that make its request
/// leave the documented layer (a generated `allow_unsuspend=on` exercises R-BOOL), the
/// documented rule that demands its success, and the stateful checks every create feeds.
pub fn write_coverage(ready: &Ready) -> Vec<&str> {
    let mut rules: Vec<&str> = ready.case.rules.iter().map(String::as_str).collect();
    match &ready.documented {
        documented::Verdict::Silent { rules: silent, .. } => rules.extend(silent.iter().copied()),
        documented::Verdict::Demands { rule, .. } => rules.push(rule),
    }
    rules.extend(["D-DEFAULTS", "D-UNIQUE", "R-IDS"]);
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// Chooses which creates a budget of `budget` writes sends (CONTRACT.md §6): a plain D-SUCCESS
/// create, then, greedily, the creates that exercise the most rules (documented ones first) no
/// chosen create exercises yet, so that every rule
/// that needs a write is exercised once; then the rest by [`write_priority`]. Returns the
/// indices of `ready` (positions) that are over budget.
fn over_budget(ready: &[(usize, Ready)], budget: usize) -> HashSet<usize> {
    let mut writes: Vec<(u8, usize, Vec<&str>)> = ready
        .iter()
        .filter(|(_, r)| r.case.writes())
        .map(|(i, r)| (write_priority(&r.case), *i, write_coverage(r)))
        .collect();
    writes.sort_by_key(|(priority, index, _)| (*priority, *index));
    let mut covered: HashSet<&str> = HashSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    // The page's most basic demand first: a plain D-SUCCESS create.
    if let Some((0, index, rules)) = writes.first().filter(|_| budget > 0) {
        covered.extend(rules.iter().copied());
        chosen.push(*index);
    }
    while chosen.len() < budget {
        let best = writes
            .iter()
            .enumerate()
            .filter(|(_, (_, index, _))| !chosen.contains(index))
            .map(|(at, (_, _, rules))| {
                let new = || rules.iter().filter(|r| !covered.contains(*r));
                let documented = new().filter(|r| r.starts_with("D-")).count();
                ((documented, new().count()), at)
            })
            // The earliest (highest priority) of those adding the most documented rules, then
            // the most rules.
            .fold(
                None,
                |best: Option<((usize, usize), usize)>, (gain, at)| match best {
                    Some((g, _)) if g >= gain => best,
                    _ => Some((gain, at)),
                },
            );
        match best {
            Some((gain, at)) if gain.1 > 0 => {
                let (_, index, rules) = &writes[at];
                covered.extend(rules.iter().copied());
                chosen.push(*index);
            }
            _ => break,
        }
    }
    for (_, index, _) in &writes {
        if chosen.len() >= budget {
            break;
        }
        if !chosen.contains(index) {
            chosen.push(*index);
        }
    }
    writes
        .iter()
        .map(|(_, index, _)| *index)
        .filter(|index| !chosen.contains(index))
        .collect()
}

fn prepare(
    config: &RunConfig,
    cx: &PlanContext,
    key: &str,
    seed: u64,
) -> Result<Prepared, RunError> {
    let fixture_cases = config
        .fixtures
        .load()
        .map_err(|e| RunError::Config(e.to_string()))?;
    let property = properties::generate(
        &PropertyContext {
            cases: config.cases,
            seed,
            services: config.services.iter().map(|(id, _)| *id).collect(),
            missing_service: config.missing_service,
            allow_writes: cx.embedded || config.allow_writes,
            allow_suspend: cx.embedded || config.allow_suspend,
        },
        cx,
    )
    .map_err(RunError::Config)?;
    let (property_cases, trees): (Vec<Case>, Vec<Option<Tree>>) = property
        .into_iter()
        .map(|PropertyCase { case, tree }| (case, Some(tree)))
        .unzip();
    let fixture_count = fixture_cases.len();
    let mut skipped = Vec::new();
    let mut ready = Vec::new();
    for (index, case) in fixture_cases.into_iter().chain(property_cases).enumerate() {
        match plan::plan(case, cx, key, seed ^ index as u64) {
            Planned::Send(r) => ready.push((index, *r)),
            Planned::Skip(case, reason) => skipped.push((index, skipped_result(&case, reason))),
        }
    }
    // The write budget (CONTRACT.md §6): every rule that needs a write gets one first.
    let mut probe_budget = IDS_PROBES;
    if let Some(budget) = config.max_writes {
        let over = over_budget(&ready, budget);
        let planned = ready.iter().filter(|(_, r)| r.case.writes()).count() - over.len();
        probe_budget = IDS_PROBES.min(budget - planned);
        let reason = format!(
            "the write budget is spent: every rule that needs a create has one, and this create \
             would exercise them again (--max-writes {budget}; raise it to run this check too)"
        );
        ready.retain(|(index, r)| {
            if over.contains(index) {
                skipped.push((*index, skipped_result(&r.case, reason.clone())));
                false
            } else {
                true
            }
        });
    }
    Ok(Prepared {
        ready,
        skipped,
        trees,
        fixture_count,
        probe_budget,
    })
}

fn plan_context(config: &RunConfig, embedded: bool, run_id: &str) -> PlanContext {
    PlanContext {
        embedded,
        services: config.services.clone(),
        missing_service: config.missing_service,
        allow_writes: config.allow_writes,
        allow_suspend: config.allow_suspend,
        run_id: run_id.to_owned(),
    }
}

/// Uses the embedded server's services (from the registry) when no `--target` is given.
fn embedded_services(config: &mut RunConfig) -> Result<crate::server::Registry, RunError> {
    let registry = server::load_registry(None).map_err(|e| RunError::Config(e.to_string()))?;
    config.services = registry.iter().collect();
    config.missing_service = Some(registry.missing_id());
    Ok(registry)
}

/// The plan of a run as curl commands (`--dry-run`): nothing is sent, no server is started.
pub fn dry_run(mut config: RunConfig) -> Result<String, RunError> {
    let seed = config.seed.unwrap_or_else(rand::random);
    let run_id = random_token();
    let endpoint = match &config.target {
        Some(target) => target.clone(),
        None => {
            embedded_services(&mut config)?;
            format!("http://127.0.0.1:PORT{}", server::API_PATH)
        }
    };
    let key = config.key.clone().unwrap_or_else(|| Secret::new("dry-run"));
    let cx = plan_context(&config, config.target.is_none(), &run_id);
    let target = Target::new(
        &endpoint,
        key.clone(),
        config.timeout,
        config.max_body,
        &run_id,
    )
    .map_err(RunError::Config)?;
    let prepared = prepare(&config, &cx, key.expose(), seed)?;
    let mut out =
        format!("# dry run: nothing is sent. seed {seed}, run {run_id}, target {endpoint}\n");
    let mut entries: Vec<(usize, String)> = prepared
        .ready
        .iter()
        .map(|(i, r)| {
            let line = format!(
                "# {} [{}] {}\n{}\n",
                r.case.id,
                r.case.rule(),
                r.case.title,
                curl::command(&target.url_for(&r.wire), &r.wire)
            );
            (*i, line)
        })
        .chain(prepared.skipped.iter().map(|(i, c)| {
            (
                *i,
                format!("# SKIPPED {} [{}]: {}\n", c.id, c.rule, c.reason),
            )
        }))
        .collect();
    entries.sort_by_key(|(i, _)| *i);
    for (_, line) in entries {
        out.push_str(&line);
    }
    if prepared.probe_budget > 0
        && (cx.embedded || config.allow_writes)
        && !config.services.is_empty()
    {
        out.push_str(&format!(
            "# stateful/r-ids [R-IDS]: {} sequential creates\n",
            prepared.probe_budget
        ));
    }
    Ok(key.redact(&out))
}

/// Runs every check and returns the report.
pub async fn run(mut config: RunConfig) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let seed = config.seed.unwrap_or_else(rand::random);
    let run_id = random_token();
    let mut embedded: Option<RunningServer> = None;
    let (endpoint, key) = match &config.target {
        Some(target) => {
            let key = config.key.clone().ok_or_else(|| {
                RunError::Config(
                    "no API_ID: set AMP_API_ID or pass --api-id-file PATH (never on the command line)".to_owned(),
                )
            })?;
            (target.clone(), key)
        }
        None => {
            let key = config
                .key
                .clone()
                .unwrap_or_else(|| Secret::new(format!("amp-{}", random_token())));
            let registry = embedded_services(&mut config)?;
            let server =
                server::start_local(ServerConfig::new(ApiIds::new([key.expose()]), registry))
                    .await
                    .map_err(|e| {
                        RunError::Config(format!("cannot start the embedded reference server: {e}"))
                    })?;
            if config.observer.is_none() {
                config.observer = Some(Observer::Url(server.observe_template()));
            }
            let endpoint = server.endpoint();
            embedded = Some(server);
            (endpoint, key)
        }
    };
    let result = run_against(&config, &endpoint, &key, seed, &run_id, embedded.is_some()).await;
    if let Some(server) = embedded {
        let _ = server.shutdown().await;
    }
    let mut report = result?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A sent case: its index, the planned request, the answer, and when it was sent and answered
/// (R-IDS compares creates answered before another was sent).
type Answered = (usize, Ready, Result<HttpAnswer, TransportError>, Sent);

/// When a request left and when its answer (or failure) came back.
#[derive(Debug, Clone, Copy)]
struct Sent {
    at: Instant,
    answered: Instant,
}

/// Sends every ready case, at most `concurrency` at once; after `stop_after` consecutive
/// transport errors the rest are not sent (their answer is [`TransportError::NotSent`]).
async fn send_all(
    ready: Vec<(usize, Ready)>,
    target: &Target,
    config: &RunConfig,
) -> (Vec<Answered>, Option<String>) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let progress = Progress::new(config.progress, ready.len());
    let consecutive = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let limit = config.stop_after_errors.max(1);
    let answers: Vec<Answered> = futures_util::stream::iter(ready.into_iter().map(|(index, r)| {
        let (progress, consecutive, stopped) = (&progress, &consecutive, &stopped);
        async move {
            if stopped.load(Ordering::SeqCst) {
                let reason =
                    format!("not sent: the run stopped after {limit} consecutive transport errors");
                let now = Instant::now();
                let sent = Sent {
                    at: now,
                    answered: now,
                };
                return (index, r, Err(TransportError::NotSent(reason)), sent);
            }
            let at = Instant::now();
            let answer = target.send(&r.wire).await;
            let sent = Sent {
                at,
                answered: Instant::now(),
            };
            match &answer {
                Ok(_) => consecutive.store(0, Ordering::SeqCst),
                Err(_) => {
                    if consecutive.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
                        stopped.store(true, Ordering::SeqCst);
                    }
                }
            }
            progress.tick(&r.case.id);
            (index, r, answer, sent)
        }
    }))
    .buffered(config.concurrency.max(1))
    .collect()
    .await;
    progress.finish();
    let stop = stopped.load(Ordering::SeqCst).then(|| {
        let last = answers
            .iter()
            .rev()
            .find_map(|(_, _, a, _)| a.as_ref().err().filter(|e| !matches!(e, TransportError::NotSent(_))).map(ToString::to_string))
            .unwrap_or_default();
        let unsent = answers.iter().filter(|(_, _, a, _)| matches!(a, Err(TransportError::NotSent(_)))).count();
        format!("stopped sending after {limit} consecutive transport errors (last: {last}); {unsent} cases were not sent")
    });
    (answers, stop)
}

async fn run_against(
    config: &RunConfig,
    endpoint: &str,
    key: &Secret,
    seed: u64,
    run_id: &str,
    embedded: bool,
) -> Result<RunReport, RunError> {
    let rate = config
        .rate
        .or_else(|| (!embedded && !Target::is_loopback(endpoint)).then_some(DEFAULT_RATE));
    let target = Target::new(
        endpoint,
        key.clone(),
        config.timeout,
        config.max_body,
        run_id,
    )
    .map_err(RunError::Config)?
    .with_rate(rate);
    let cx = plan_context(config, embedded, run_id);
    let Prepared {
        ready,
        skipped,
        mut trees,
        fixture_count,
        probe_budget,
    } = prepare(config, &cx, key.expose(), seed)?;
    let mut results = skipped;
    let (answers, stopped) = send_all(ready, &target, config).await;

    let sent: Vec<&Result<HttpAnswer, TransportError>> = answers
        .iter()
        .map(|(_, _, a, _)| a)
        .filter(|a| !matches!(a, Err(TransportError::NotSent(_))))
        .collect();
    if !sent.is_empty()
        && sent
            .iter()
            .all(|a| matches!(a, Err(e) if e.is_unreachable()))
    {
        let why = answers
            .iter()
            .find_map(|(_, _, a, _)| a.as_ref().err().map(ToString::to_string))
            .unwrap_or_default();
        return Err(RunError::Unreachable(format!(
            "{endpoint}: {}",
            key.redact(&why)
        )));
    }
    let mut notes = diagnose(&answers, endpoint);
    let mut snapshot_outcomes = Vec::new();
    let mut successes: Vec<Created> = Vec::new();
    for (index, ready, answer, sent) in answers {
        if let Err(TransportError::NotSent(reason)) = &answer {
            results.push((index, skipped_result(&ready.case, reason.clone())));
            continue;
        }
        let mut verdict = judge::judge(&ready.case, &ready.documented, &answer, config.profile);
        if let (Some(snapshots), Ok(http), true) =
            (&config.snapshots, &answer, index < fixture_count)
        {
            let content = snapshot::content(http, key, run_id);
            match snapshots.check(&ready.case.id, &content) {
                Ok(outcome) => snapshot_outcomes.push(outcome),
                Err(e) => notes.push(format!(
                    "cannot write snapshots in {}: {e}",
                    snapshots.dir().display()
                )),
            }
        }
        let mut ready = ready;
        // Transport matters (R-STATUS) do not depend on the request: nothing to shrink.
        let shrinkable =
            matches!(verdict.class, Class::Fail | Class::NonStrict) && verdict.rule != "R-STATUS";
        if shrinkable && index >= fixture_count && stopped.is_none() {
            if let Some(tree) = trees.get_mut(index - fixture_count).and_then(Option::take) {
                let found = shrink(
                    tree,
                    &ready.case,
                    &verdict,
                    &cx,
                    &target,
                    config.profile,
                    seed ^ index as u64,
                );
                if let Some((shrunk, v, steps)) = found.await {
                    ready = shrunk;
                    verdict = v;
                    verdict.reason.push_str(&format!(
                        " (shrunk in {steps} steps; the shrunk request still breaks {} per the contract)",
                        verdict.rule
                    ));
                }
            }
        }
        if let Some(id) = verdict.report_id {
            successes.push(Created {
                check: ready.case.id.clone(),
                id,
                stored: ready.stored.clone(),
                documented: ready.documented.clone(),
                sent,
            });
        }
        results.push((
            index,
            finish(&ready, &verdict, &target, answer.as_ref().ok()),
        ));
    }
    results.sort_by_key(|(index, _)| *index);
    let mut checks: Vec<CheckResult> = results.into_iter().map(|(_, r)| r).collect();
    if stopped.is_none() {
        checks.extend(stateful(config, &cx, &target, &successes, probe_budget).await);
    }
    if let Some(stop) = &stopped {
        notes.push(stop.clone());
    }
    let mut report = RunReport {
        tool: format!("amp-conformance {}", env!("CARGO_PKG_VERSION")),
        target: if embedded {
            format!("embedded reference server ({endpoint})")
        } else {
            endpoint.to_owned()
        },
        seed,
        run_id: run_id.to_owned(),
        profile: config.profile,
        strict: config.strict,
        checks,
        notes,
        snapshots: snapshot_outcomes
            .into_iter()
            .filter(|o| o.state != SnapshotState::Matched)
            .collect(),
        snapshot_dir: config
            .snapshots
            .as_ref()
            .map(|s| s.dir().display().to_string()),
        stopped,
        passed: false,
        seconds: 0.0,
    };
    for check in &mut report.checks {
        for text in [&mut check.actual, &mut check.reason, &mut check.expected] {
            *text = key.redact(text);
        }
    }
    report.apply_known_failures(&config.known_failures);
    for note in report.notes.iter_mut().chain(report.stopped.as_mut()) {
        *note = key.redact(note);
    }
    report.settle();
    Ok(report)
}

/// Run-level diagnostics, each said once: the reasons a whole run goes wrong at a real site.
fn diagnose(answers: &[Answered], endpoint: &str) -> Vec<String> {
    use crate::cases::Auth;
    let mut notes = Vec::new();
    let ok: Vec<(&Ready, &HttpAnswer)> = answers
        .iter()
        .filter_map(|(_, r, a, _)| a.as_ref().ok().map(|a| (r, a)))
        .collect();
    let authenticated: Vec<&HttpAnswer> = ok
        .iter()
        .filter(|(r, _)| {
            matches!(&r.wire.auth, Auth::Valid)
                || matches!(&r.wire.auth, Auth::ValidAs(n) if !n.contains('-'))
        })
        .map(|(_, a)| *a)
        .collect();
    let amp001 = |a: &&HttpAnswer| {
        matches!(
            judge::parse_answer(&a.body),
            Ok(judge::Answer::Error(
                amp_contract::ErrorCode::Unauthorized,
                _
            ))
        )
    };
    if authenticated.len() >= 3 && authenticated.iter().all(amp001) {
        notes.push(
            "every authenticated request got AMP001. Is the API_ID right? A proxy may also drop it: nginx drops \
             headers whose name contains `_` unless `underscores_in_headers on;` is set (and `ignore_invalid_headers` \
             is on by default). Check with: curl -sS -H \"API_ID: $AMP_API_ID\" --data 'action=create' URL \
             (expect AMP003 or AMP002, not AMP001), and compare with a request sent to WHMCS directly."
                .to_owned(),
        );
    }
    if let Some((_, html)) = ok.iter().find(|(_, a)| {
        a.content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
            || String::from_utf8_lossy(&a.body[..a.body.len().min(512)])
                .trim_start()
                .starts_with('<')
    }) {
        let text = judge::strip_tags(&String::from_utf8_lossy(
            &html.body[..html.body.len().min(4096)],
        ));
        let first: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(3)
            .collect();
        notes.push(format!(
            "the target answered HTML (HTTP {}), which looks like a PHP error page or a web server's page, not \
             the API's JSON. First lines: {}",
            html.status,
            first.join(" | ")
        ));
    }
    if let Some((_, moved)) = ok.iter().find(|(_, a)| (300..400).contains(&a.status)) {
        let count = ok
            .iter()
            .filter(|(_, a)| (300..400).contains(&a.status))
            .count();
        let to: String = moved
            .location
            .as_deref()
            .unwrap_or("nowhere (no Location header)")
            .chars()
            .take(200)
            .collect();
        notes.push(format!(
            "{count} of {} answers were redirects (HTTP {} to {to}); the kit does not follow them, since a \
             redirected POST is re-sent as a GET without its body. Pass the final URL as --target (often https:// \
             instead of http://, or another host name).",
            ok.len(),
            moved.status
        ));
    }
    let not_found = ok.iter().filter(|(_, a)| a.status == 404).count();
    if not_found > 0 && not_found * 2 >= ok.len() {
        let path = reqwest::Url::parse(endpoint)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        notes.push(format!(
            "{not_found} of {} answers were HTTP 404 for the path {path}: is the endpoint right? Real installations \
             serve {}",
            ok.len(),
            server::API_PATH
        ));
    }
    let mut steps: Vec<String> = answers
        .iter()
        .filter_map(|(_, _, a, _)| match a {
            Err(TransportError::Connect { step, detail }) => {
                Some(format!("{step} failed for {endpoint}: {detail}"))
            }
            _ => None,
        })
        .collect();
    steps.sort();
    steps.dedup();
    notes.extend(steps.into_iter().take(3));
    notes
}

fn origin_text(case: &Case) -> String {
    match &case.origin {
        Origin::Fixture { path, line } => format!("{path}:{line}"),
        Origin::Property { generator, index } => format!("seed, {generator} #{index}"),
        Origin::Stateful => "stateful check over the run".to_owned(),
    }
}

fn skipped_result(case: &Case, reason: String) -> CheckResult {
    CheckResult {
        id: case.id.clone(),
        rule: case.rule().to_owned(),
        rules: case.rules.clone(),
        title: case.title.clone(),
        class: Class::Skipped,
        expected: case.expect.to_string(),
        actual: "not sent".to_owned(),
        reason,
        reproduction: None,
        origin: origin_text(case),
        known_failure: false,
        elapsed_ms: None,
    }
}

/// The result of a sent check. Its rules are the case's own and the reference rules its exact
/// request depends on (a generated create with `allow_unsuspend=on` names R-BOOL too).
fn finish(
    ready: &Ready,
    verdict: &Verdict,
    target: &Target,
    answer: Option<&HttpAnswer>,
) -> CheckResult {
    let (case, wire) = (&ready.case, &ready.wire);
    let finding = matches!(
        verdict.class,
        Class::Fail | Class::NonStrict | Class::Error | Class::Info
    );
    let mut rules = case.rules.clone();
    if let documented::Verdict::Silent { rules: silent, .. } = &ready.documented {
        for rule in silent {
            if !rules.iter().any(|r| r == rule) {
                rules.push((*rule).to_owned());
            }
        }
    }
    CheckResult {
        id: case.id.clone(),
        rule: verdict.rule.clone(),
        rules,
        title: case.title.clone(),
        class: verdict.class,
        expected: case.expect.to_string(),
        actual: verdict.actual.clone(),
        reason: verdict.reason.clone(),
        reproduction: finding.then(|| curl::command(&target.url_for(wire), wire)),
        origin: origin_text(case),
        known_failure: false,
        elapsed_ms: answer.map(|a| a.elapsed.as_millis() as u64),
    }
}

/// Shrinks a failing property case: simpler requests that still break the same rule, sent
/// and judged again; each candidate is first re-checked against the contract so that it
/// still breaks the rule it was made for.
async fn shrink(
    mut tree: Tree,
    template: &Case,
    failing: &Verdict,
    cx: &PlanContext,
    target: &Target,
    profile: Profile,
    seed: u64,
) -> Option<(Ready, Verdict, usize)> {
    // Against a real target, a shrinking step may create a report (and a server that accepted
    // the original will accept the simpler one): only requests that neither were meant to
    // create nor did create are shrunk there, so the write budget holds (CONTRACT.md §6).
    if !cx.embedded && (template.writes() || failing.report_id.is_some()) {
        return None;
    }
    let mut best = None;
    let mut steps = 0;
    if !tree.simplify() {
        return None;
    }
    while steps < SHRINK_STEPS {
        steps += 1;
        let candidate = tree.current(template);
        let still = match plan::plan(candidate, cx, target.key().expose(), seed) {
            Planned::Send(ready) if contract_agrees(&ready, target.key().expose(), cx) => {
                let answer = target.send(&ready.wire).await;
                let verdict = judge::judge(&ready.case, &ready.documented, &answer, profile);
                if verdict.report_id.is_some() && !cx.embedded {
                    break;
                }
                (verdict.class == failing.class && verdict.rule == failing.rule)
                    .then_some((*ready, verdict))
            }
            _ => None,
        };
        let more = match still {
            Some(found) => {
                best = Some(found);
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    best.map(|(ready, verdict)| (ready, verdict, steps))
}

/// Whether the contract's own answer to the exact request is the case's expectation.
fn contract_agrees(ready: &Ready, key: &str, cx: &PlanContext) -> bool {
    match (&ready.case.expect, ready.wire.oracle(key, cx)) {
        (Expectation::Success, Ok(_)) => true,
        (Expectation::Error { code, params, .. }, Err(rejection)) => {
            rejection.error.code == *code
                && params
                    .iter()
                    .all(|p| rejection.error.params.contains(&p.as_str()))
        }
        _ => false,
    }
}

fn stateful_result(
    id: &str,
    rule: &str,
    title: &str,
    class: Class,
    expected: &str,
    actual: String,
    reason: String,
) -> CheckResult {
    CheckResult {
        id: id.to_owned(),
        rule: rule.to_owned(),
        rules: vec![rule.to_owned()],
        title: title.to_owned(),
        class,
        expected: expected.to_owned(),
        actual,
        reason,
        reproduction: None,
        origin: "stateful check over the run".to_owned(),
        known_failure: false,
        elapsed_ms: None,
    }
}

/// A successful create of the run: what the stateful checks need of it.
#[derive(Debug, Clone)]
struct Created {
    /// The check that made it.
    check: String,
    /// Its `report_id`.
    id: u64,
    /// What a conforming server stores for it (the reference layer's exact values).
    stored: Option<ResolvedCreate>,
    /// The page's verdict on its request.
    documented: documented::Verdict,
    /// When it was sent and answered.
    sent: Sent,
}

/// R-IDS over creates sent concurrently: wherever one create was answered before another was
/// sent, the later one's id must be larger. Returns the number of such ordered pairs the run
/// offers, and the first violations (later create, its id, earlier create, its id).
fn ids_in_order(created: &[Created]) -> (usize, Vec<String>) {
    let mut by_answer: Vec<&Created> = created.iter().collect();
    by_answer.sort_by_key(|c| c.sent.answered);
    let mut by_send: Vec<&Created> = created.iter().collect();
    by_send.sort_by_key(|c| c.sent.at);
    let (mut pairs, mut seen, mut highest) = (0usize, 0usize, None::<&Created>);
    let mut violations = Vec::new();
    for later in by_send {
        while let Some(earlier) = by_answer
            .get(seen)
            .filter(|e| e.sent.answered < later.sent.at)
        {
            if highest.is_none_or(|h| earlier.id > h.id) {
                highest = Some(earlier);
            }
            seen += 1;
        }
        pairs += seen;
        if let Some(earlier) = highest.filter(|e| e.id >= later.id) {
            if violations.len() < 3 {
                violations.push(format!(
                    "{} got {} after {} had got {}",
                    later.check, later.id, earlier.check, earlier.id
                ));
            }
        }
    }
    (pairs, violations)
}

/// D-UNIQUE and R-IDS across the run's creates, and D-DEFAULTS through the observer.
async fn stateful(
    config: &RunConfig,
    cx: &PlanContext,
    target: &Target,
    successes: &[Created],
    probes: usize,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mut created = successes.to_vec();
    // R-IDS: ids of creates answered before another was sent must increase. Sequential probes
    // are sent only when the run's own creates give no such pair, budget permitting.
    let probe = Case {
        id: "stateful/r-ids".to_owned(),
        rules: vec!["R-IDS".to_owned(), "D-UNIQUE".to_owned()],
        title: "report ids increase strictly (creates answered before another was sent)".to_owned(),
        request: RequestSpec::form(
            amp_contract::Action::to_form(&amp_contract::CreateAbuseReport::new(
                1,
                "amp-conformance R-IDS probe",
            ))
            .iter()
            .map(|(k, v)| {
                (
                    k.to_vec(),
                    if v == b"1" && k == b"service_id" {
                        b"{service}".to_vec()
                    } else {
                        v.to_vec()
                    },
                )
            })
            .collect(),
        ),
        expect: Expectation::Success,
        origin: Origin::Stateful,
        admin_notes_under_test: false,
    };
    let mut probe_problem = None;
    if ids_in_order(&created).0 == 0 && probes >= 2 {
        if let Planned::Send(ready) = plan::plan(probe.clone(), cx, target.key().expose(), 0) {
            for _ in 0..probes {
                let at = Instant::now();
                let answer = target.send(&ready.wire).await;
                let sent = Sent {
                    at,
                    answered: Instant::now(),
                };
                let verdict = judge::judge(&ready.case, &ready.documented, &answer, config.profile);
                match verdict.report_id {
                    Some(id) if verdict.class != Class::Fail => created.push(Created {
                        check: probe.id.clone(),
                        id,
                        stored: None,
                        documented: ready.documented.clone(),
                        sent,
                    }),
                    // A probe that got no id is itself a finding, judged like any create.
                    _ => {
                        probe_problem =
                            Some(finish(&ready, &verdict, target, answer.as_ref().ok()));
                        break;
                    }
                }
            }
        }
    }
    let (pairs, violations) = ids_in_order(&created);
    let ids_result = |class, actual: String, reason: String| {
        stateful_result(
            "stateful/r-ids",
            "R-IDS",
            &probe.title,
            class,
            "strictly increasing ids",
            actual,
            reason,
        )
    };
    out.push(match probe_problem {
        Some(problem) if problem.class != Class::Pass => problem,
        _ if pairs == 0 => ids_result(
            Class::Skipped,
            format!(
                "{} creates, none answered before another was sent",
                created.len()
            ),
            "needs two creates in sequence (--allow-writes, --service, and --max-writes of at \
             least 2)"
                .to_owned(),
        ),
        _ if violations.is_empty() => ids_result(
            Class::Pass,
            format!("{} creates, {pairs} ordered pairs", created.len()),
            String::new(),
        ),
        _ => ids_result(
            match config.profile {
                Profile::Reference => Class::NonStrict,
                Profile::Documented => Class::Info,
            },
            format!("{} creates, {pairs} ordered pairs", created.len()),
            format!("ids did not increase strictly: {}", violations.join("; ")),
        ),
    });
    // D-UNIQUE over every create of the run.
    let title = "no two successful creates share a report_id";
    if created.len() < 2 {
        out.push(stateful_result(
            "stateful/d-unique",
            "D-UNIQUE",
            title,
            Class::Skipped,
            "unique ids",
            "fewer than two creates".to_owned(),
            "needs at least two successful creates (--allow-writes and --service)".to_owned(),
        ));
    } else {
        let mut seen = HashSet::new();
        let repeated: Vec<String> = created
            .iter()
            .filter(|c| !seen.insert(c.id))
            .map(|c| format!("{} (again by {})", c.id, c.check))
            .collect();
        let (class, reason) = if repeated.is_empty() {
            (Class::Pass, String::new())
        } else {
            (
                Class::Fail,
                format!("repeated report ids: {}", repeated.join(", ")),
            )
        };
        out.push(stateful_result(
            "stateful/d-unique",
            "D-UNIQUE",
            title,
            class,
            "unique ids",
            format!("{} creates", created.len()),
            reason,
        ));
    }
    // D-DEFAULTS through the observer, at both layers.
    let observed: Vec<&Created> = successes.iter().filter(|c| c.stored.is_some()).collect();
    match &config.observer {
        None => out.push(stateful_result(
            "stateful/d-defaults",
            "D-DEFAULTS",
            "stored values and defaults, read back through an observer",
            Class::Skipped,
            "stored values as sent, defaults applied",
            "no observer".to_owned(),
            "needs an observer: pass --observe-url TEMPLATE or --observe-cmd CMD".to_owned(),
        )),
        Some(observer) => {
            // Reports are read back as many at a time as the run sends requests.
            let reads =
                futures_util::stream::iter(observed.into_iter().map(|created| async move {
                    let record = read_record(observer, created.id, target, config.timeout).await;
                    (created, record)
                }))
                .buffered(config.concurrency.max(1))
                .collect::<Vec<_>>()
                .await;
            for (created, record) in reads {
                let Some(expected) = &created.stored else {
                    continue;
                };
                let id = created.id;
                let (class, rule, actual, reason) = match record {
                    Err(e) => (Class::Error, "D-DEFAULTS", e.clone(), e),
                    Ok(record) => {
                        let diffs = compare_stored(expected, &record);
                        let (class, rule) =
                            stored_class(&diffs, &created.documented, config.profile);
                        if diffs.is_empty() {
                            (
                                class,
                                rule,
                                format!("report {id} as expected"),
                                String::new(),
                            )
                        } else {
                            let what: Vec<&str> = diffs.iter().map(|d| d.text.as_str()).collect();
                            let reason = match class {
                                Class::Fail => {
                                    "stored values differ beyond surrounding whitespace \
                                                and address spelling (D-DEFAULTS)"
                                        .to_owned()
                                }
                                _ => format!(
                                    "stored values equal by D-DEFAULTS, not in {rule}'s exact form"
                                ),
                            };
                            (
                                class,
                                rule,
                                format!("report {id}: {}", what.join("; ")),
                                reason,
                            )
                        }
                    }
                };
                let mut result = stateful_result(
                    &format!("{}#stored", created.check),
                    rule,
                    "the stored report holds what was sent and the defaults",
                    class,
                    "stored values as sent, defaults applied",
                    actual,
                    reason,
                );
                result.rules = vec!["D-DEFAULTS".to_owned(), rule.to_owned()];
                result.rules.dedup();
                out.push(result);
            }
        }
    }
    out
}

/// The class of a stored-value check (CONTRACT.md §4): a difference beyond D-DEFAULTS'
/// equality in a create the page demands is `FAIL`; any other difference is `NON-STRICT`
/// under the reference rule whose exact form it misses (for a request the page is silent on,
/// the rule that made it so when that rule concerns the differing field, e.g. R-DUPLICATE's
/// last occurrence).
fn stored_class(
    diffs: &[StoredDiff],
    documented: &documented::Verdict,
    profile: Profile,
) -> (Class, &'static str) {
    let Some(first) = diffs.first() else {
        return (Class::Pass, "D-DEFAULTS");
    };
    let deviation = match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    };
    match documented {
        documented::Verdict::Demands { .. } => match diffs.iter().find(|d| d.documented) {
            Some(_) => (Class::Fail, "D-DEFAULTS"),
            None => (deviation, first.rule),
        },
        documented::Verdict::Silent { rules, .. } => {
            let rule = diffs
                .iter()
                .map(|d| d.rule)
                .find(|r| rules.contains(r))
                .or_else(|| rules.first().copied())
                .unwrap_or(first.rule);
            (deviation, rule)
        }
    }
}

async fn read_record(
    observer: &Observer,
    id: u64,
    target: &Target,
    timeout: Duration,
) -> Result<ReportRecord, String> {
    let body = match observer {
        Observer::Url(template) => {
            let url = template.replace("{report_id}", &id.to_string());
            let answer = target
                .observe(&url)
                .await
                .map_err(|e| format!("observer: {e}"))?;
            if answer.status != 200 {
                return Err(format!(
                    "observer answered HTTP {} for report {id}",
                    answer.status
                ));
            }
            answer.body
        }
        Observer::Command(command) => {
            let command = command.replace("{report_id}", &id.to_string());
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .env("AMP_API_ID", target.key().expose())
                .kill_on_drop(true)
                .output();
            let output = tokio::time::timeout(timeout, child)
                .await
                .map_err(|_| format!("observer command took longer than {timeout:?}"))?
                .map_err(|e| format!("observer command failed to start: {e}"))?;
            if !output.status.success() {
                return Err(format!("observer command exited with {}", output.status));
            }
            output.stdout
        }
    };
    serde_json::from_slice(&body).map_err(|e| format!("observer output is not a report: {e}"))
}

/// One stored value that is not what the reference layer stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDiff {
    /// The field.
    pub field: &'static str,
    /// What was read back against what was expected.
    pub text: String,
    /// Whether it differs even by D-DEFAULTS' equality (text up to surrounding whitespace,
    /// addresses as addresses, booleans as truth values): then it breaks a documented rule.
    pub documented: bool,
    /// The reference rule whose exact form it misses (R-CATEGORY trimmed, R-TEXT exact,
    /// R-SERVICE-IP canonical, ...).
    pub rule: &'static str,
}

/// Differences between what the reference layer stores and what was read back, each marked
/// with whether D-DEFAULTS' equality also sees it.
pub fn compare_stored(expected: &ResolvedCreate, got: &ReportRecord) -> Vec<StoredDiff> {
    use amp_contract::Action;
    use amp_contract::field::php_trim;
    let rule_of = |field: &str| {
        amp_contract::CreateAbuseReport::field(field).map_or("D-DEFAULTS", |f| f.rule)
    };
    let got = &got.values;
    let mut out = Vec::new();
    let mut diff = |field: &'static str, documented: bool, text: String| {
        out.push(StoredDiff {
            field,
            text,
            documented,
            rule: rule_of(field),
        });
    };
    if expected.service_id != got.service_id {
        diff(
            "service_id",
            true,
            format!(
                "service_id {}, expected {}",
                got.service_id, expected.service_id
            ),
        );
    }
    let texts: [(&'static str, &str, &str); 3] = [
        ("category", &expected.category, &got.category),
        (
            "additional_info",
            &expected.additional_info,
            &got.additional_info,
        ),
        ("admin_notes", &expected.admin_notes, &got.admin_notes),
    ];
    for (field, want, have) in texts {
        if want != have {
            diff(
                field,
                php_trim(want) != php_trim(have),
                format!("{field} {have:?}, expected {want:?}"),
            );
        }
    }
    if expected.service_ip != got.service_ip {
        let same_address = match (
            expected.service_ip.parse::<std::net::IpAddr>(),
            got.service_ip.trim().parse::<std::net::IpAddr>(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        diff(
            "service_ip",
            !same_address,
            format!(
                "service_ip {:?}, expected {:?}",
                got.service_ip, expected.service_ip
            ),
        );
    }
    if expected.suspend_method != got.suspend_method {
        diff(
            "suspend_method",
            true,
            format!(
                "suspend_method {}, expected {}",
                got.suspend_method, expected.suspend_method
            ),
        );
    }
    if expected.allow_unsuspend != got.allow_unsuspend {
        diff(
            "allow_unsuspend",
            true,
            format!(
                "allow_unsuspend {}, expected {}",
                got.allow_unsuspend, expected.allow_unsuspend
            ),
        );
    }
    out
}

/// Progress on stderr: a bar on a terminal, one plain line per check otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    done: std::sync::atomic::AtomicUsize,
    total: usize,
}

impl Progress {
    fn new(enabled: bool, total: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            plain: enabled && !tty,
            done: 0.into(),
            total,
        }
    }

    fn tick(&self, id: &str) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(id.to_owned());
        } else if self.plain {
            eprintln!("[{n}/{}] {id}", self.total);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
