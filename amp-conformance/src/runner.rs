//! The run: cases → plan → target → judge → stateful checks → report.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    /// Directory of fixture files.
    pub fixtures: PathBuf,
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
    /// 100 property cases, the reference profile, fixtures from `fixtures/cases`.
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
            fixtures: PathBuf::from("fixtures/cases"),
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

/// Sequential creates planned for R-IDS (and D-UNIQUE): enough to catch ids that repeat.
const IDS_PROBES: usize = 8;

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
    /// Writes left for the stateful R-IDS probe.
    probe_budget: usize,
}

/// Where a write stands when the budget is short: D-SUCCESS first, then D-DEFAULTS, then the
/// other documented checks, then reference ones, then generated cases.
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

fn prepare(
    config: &RunConfig,
    cx: &PlanContext,
    key: &str,
    seed: u64,
) -> Result<Prepared, RunError> {
    let fixture_cases =
        fixtures::load_dir(&config.fixtures).map_err(|e| RunError::Config(e.to_string()))?;
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
    // The write budget (CONTRACT.md §6), spent on the checks that need it most.
    let mut probe_budget = IDS_PROBES;
    if let Some(budget) = config.max_writes {
        let mut writes: Vec<(u8, usize)> = ready
            .iter()
            .filter(|(_, r)| r.case.writes())
            .map(|(i, r)| (write_priority(&r.case), *i))
            .collect();
        writes.sort();
        let first_class = writes.iter().filter(|(p, _)| *p == 0).count().min(budget);
        probe_budget = IDS_PROBES.min(budget - first_class);
        let mut left = budget - probe_budget;
        let mut over = HashSet::new();
        for (_, index) in writes {
            if left > 0 {
                left -= 1;
            } else {
                over.insert(index);
            }
        }
        let reason = format!("the write budget of {budget} is spent (--max-writes {budget})");
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

type Answered = (usize, Ready, Result<HttpAnswer, TransportError>);

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
                return (index, r, Err(TransportError::NotSent(reason)));
            }
            let answer = target.send(&r.wire).await;
            match &answer {
                Ok(_) => consecutive.store(0, Ordering::SeqCst),
                Err(_) => {
                    if consecutive.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
                        stopped.store(true, Ordering::SeqCst);
                    }
                }
            }
            progress.tick(&r.case.id);
            (index, r, answer)
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
            .find_map(|(_, _, a)| a.as_ref().err().filter(|e| !matches!(e, TransportError::NotSent(_))).map(ToString::to_string))
            .unwrap_or_default();
        let unsent = answers.iter().filter(|(_, _, a)| matches!(a, Err(TransportError::NotSent(_)))).count();
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
        .map(|(_, _, a)| a)
        .filter(|a| !matches!(a, Err(TransportError::NotSent(_))))
        .collect();
    if !sent.is_empty()
        && sent
            .iter()
            .all(|a| matches!(a, Err(e) if e.is_unreachable()))
    {
        let why = answers
            .iter()
            .find_map(|(_, _, a)| a.as_ref().err().map(ToString::to_string))
            .unwrap_or_default();
        return Err(RunError::Unreachable(format!(
            "{endpoint}: {}",
            key.redact(&why)
        )));
    }
    let mut notes = diagnose(&answers, endpoint);
    let mut snapshot_outcomes = Vec::new();
    let mut successes: Vec<(String, u64, Option<ResolvedCreate>)> = Vec::new();
    for (index, ready, answer) in answers {
        if let Err(TransportError::NotSent(reason)) = &answer {
            results.push((index, skipped_result(&ready.case, reason.clone())));
            continue;
        }
        let mut verdict = judge::judge(&ready.case, &answer, config.profile);
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
            successes.push((ready.case.id.clone(), id, ready.stored.clone()));
        }
        results.push((
            index,
            finish(
                &ready.case,
                &verdict,
                &target,
                &ready.wire,
                answer.as_ref().ok(),
            ),
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
        check.known_failure = config.known_failures.contains(&check.id)
            && matches!(check.class, Class::Fail | Class::NonStrict);
        for text in [&mut check.actual, &mut check.reason, &mut check.expected] {
            *text = key.redact(text);
        }
    }
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
        .filter_map(|(_, r, a)| a.as_ref().ok().map(|a| (r, a)))
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
        .filter_map(|(_, _, a)| match a {
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

fn finish(
    case: &Case,
    verdict: &Verdict,
    target: &Target,
    wire: &crate::cases::WireRequest,
    answer: Option<&HttpAnswer>,
) -> CheckResult {
    let finding = matches!(
        verdict.class,
        Class::Fail | Class::NonStrict | Class::Error | Class::Info
    );
    CheckResult {
        id: case.id.clone(),
        rule: verdict.rule.clone(),
        rules: case.rules.clone(),
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
    if template.writes() && !cx.embedded && !cx.allow_writes {
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
                let verdict = judge::judge(&ready.case, &answer, profile);
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

/// D-UNIQUE and R-IDS across the run's creates, and D-DEFAULTS through the observer.
async fn stateful(
    config: &RunConfig,
    cx: &PlanContext,
    target: &Target,
    successes: &[(String, u64, Option<ResolvedCreate>)],
    probes: usize,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    // R-IDS: creates sent one at a time must get strictly increasing ids.
    let probe = Case {
        id: "stateful/r-ids".to_owned(),
        rules: vec!["R-IDS".to_owned(), "D-UNIQUE".to_owned()],
        title: "sequential creates get strictly increasing report ids".to_owned(),
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
    let mut ids = Vec::new();
    let mut sequence_problem = None;
    match plan::plan(probe.clone(), cx, target.key().expose(), 0) {
        Planned::Skip(case, reason) => out.push(skipped_result(&case, reason)),
        Planned::Send(ready) => {
            for _ in 0..probes {
                match target.send(&ready.wire).await {
                    Ok(answer) => match judge::parse_answer(&answer.body) {
                        Ok(judge::Answer::Success(id)) => ids.push(id),
                        _ => {
                            sequence_problem =
                                Some(format!("a probe was not a success: HTTP {}", answer.status));
                            break;
                        }
                    },
                    Err(e) => {
                        sequence_problem = Some(e.to_string());
                        break;
                    }
                }
            }
            let increasing = ids.windows(2).all(|w| w[0] < w[1]);
            let (class, reason) = match (&sequence_problem, increasing) {
                (Some(p), _) => (Class::Error, p.clone()),
                (None, true) => (Class::Pass, String::new()),
                (None, false) => (Class::NonStrict, "ids did not increase strictly".to_owned()),
            };
            out.push(stateful_result(
                "stateful/r-ids",
                "R-IDS",
                &probe.title,
                class,
                "strictly increasing ids",
                format!("ids {ids:?}"),
                reason,
            ));
        }
    }
    // D-UNIQUE over every create of the run.
    let mut all_ids: Vec<(String, u64)> = successes
        .iter()
        .map(|(c, id, _)| (c.clone(), *id))
        .collect();
    all_ids.extend(ids.iter().map(|id| ("stateful/r-ids".to_owned(), *id)));
    let title = "no two successful creates share a report_id";
    if all_ids.len() < 2 {
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
        let repeated: Vec<String> = all_ids
            .iter()
            .filter(|(_, id)| !seen.insert(*id))
            .map(|(case, id)| format!("{id} (again by {case})"))
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
            format!("{} creates", all_ids.len()),
            reason,
        ));
    }
    // D-DEFAULTS through the observer.
    let observed: Vec<_> = successes
        .iter()
        .filter_map(|(c, id, s)| s.as_ref().map(|s| (c, *id, s)))
        .collect();
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
            let reads = futures_util::stream::iter(observed.into_iter().map(
                |(case, id, expected)| async move {
                    let record = read_record(observer, id, target, config.timeout).await;
                    (case, id, expected, record)
                },
            ))
            .buffered(config.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
            for (case, id, expected, record) in reads {
                let check_id = format!("{case}#stored");
                let (class, actual, reason) = match record {
                    Err(e) => (Class::Error, e.clone(), e),
                    Ok(record) => match compare_stored(expected, &record) {
                        mismatches if mismatches.is_empty() => (
                            Class::Pass,
                            format!("report {id} as expected"),
                            String::new(),
                        ),
                        mismatches => (
                            Class::Fail,
                            format!("report {id}: {}", mismatches.join("; ")),
                            "stored values differ".to_owned(),
                        ),
                    },
                };
                out.push(stateful_result(
                    &check_id,
                    "D-DEFAULTS",
                    "the stored report holds what was sent and the defaults",
                    class,
                    "stored values as sent, defaults applied",
                    actual,
                    reason,
                ));
            }
        }
    }
    out
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

/// Differences between what a conforming server stores and what was read back, with
/// D-DEFAULTS' equalities: text up to surrounding whitespace, addresses as addresses.
pub fn compare_stored(expected: &ResolvedCreate, got: &ReportRecord) -> Vec<String> {
    use amp_contract::field::php_trim;
    let got = &got.values;
    let mut out = Vec::new();
    let text = |name: &str, a: &str, b: &str, out: &mut Vec<String>| {
        if php_trim(a) != php_trim(b) {
            out.push(format!("{name} {b:?}, expected {a:?}"));
        }
    };
    if expected.service_id != got.service_id {
        out.push(format!(
            "service_id {}, expected {}",
            got.service_id, expected.service_id
        ));
    }
    text("category", &expected.category, &got.category, &mut out);
    let same_ip = match (
        expected.service_ip.parse::<std::net::IpAddr>(),
        got.service_ip.trim().parse::<std::net::IpAddr>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => expected.service_ip == got.service_ip,
    };
    if !same_ip {
        out.push(format!(
            "service_ip {:?}, expected {:?}",
            got.service_ip, expected.service_ip
        ));
    }
    if expected.suspend_method != got.suspend_method {
        out.push(format!(
            "suspend_method {}, expected {}",
            got.suspend_method, expected.suspend_method
        ));
    }
    if expected.allow_unsuspend != got.allow_unsuspend {
        out.push(format!(
            "allow_unsuspend {}, expected {}",
            got.allow_unsuspend, expected.allow_unsuspend
        ));
    }
    text(
        "additional_info",
        &expected.additional_info,
        &got.additional_info,
        &mut out,
    );
    text(
        "admin_notes",
        &expected.admin_notes,
        &got.admin_notes,
        &mut out,
    );
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
