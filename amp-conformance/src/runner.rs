//! The run, along its data flow: cases → plan → send → judge (with shrinking) → stateful
//! checks → report. Each stage owns its module ([`crate::cases`], [`crate::plan`],
//! [`crate::send`], [`crate::judge`], [`crate::shrink`], [`crate::cases::stateful`],
//! [`crate::report`]); this file only wires them.

use std::time::Instant;

use crate::cases::stateful::{Created, IdSeen, across_runs, stateful, stored_checks};
use crate::config::random_token;
pub use crate::config::{
    DEFAULT_CASES, DEFAULT_CONCURRENCY, DEFAULT_MAX_WRITES, DEFAULT_RATE, DEFAULT_TIMEOUT_SECS,
    RunConfig, RunError,
};
use crate::judge::{self, Class};
pub use crate::observer::Observer;
use crate::plan::{Batch, PlanContext, prepare};
use crate::report::checks::{finish, redact, skipped_result};
use crate::report::diagnose::Diagnostics;
use crate::report::{CheckResult, ReadOnlyCreate, RunContext, RunReport, Shrunk};
use crate::send::{Sender, StopCause};
use crate::server;
use crate::session::{Session, Side};
use crate::shrink::{SHRINK_SHARE, shrink};
use crate::snapshot::{self, SnapshotState};
use crate::target::TransportError;

/// The plan of a run as curl commands (`--dry-run`): nothing is sent, no server is started.
pub fn dry_run(mut config: RunConfig) -> Result<String, RunError> {
    use crate::report::curl;
    use crate::session::plan_context;
    use crate::target::{Secret, Target};
    let seed = config.seed.unwrap_or_else(crate::session::random_seed);
    let run_id = random_token();
    let endpoint = match &config.target {
        Some(target) => target.clone(),
        None => {
            let (services, missing, _) = crate::session::services_for(&config, &[Side::Reference])?;
            config.services = services;
            config.missing_service = missing;
            format!("http://127.0.0.1:PORT{}", server::API_PATH)
        }
    };
    let key = config.key.clone().unwrap_or_else(|| Secret::new("dry-run"));
    let cx = plan_context(&config, config.target.is_none(), &run_id);
    if config.target.is_some() {
        // The same validation as a real run: a target that is no URL is a usage error.
        Target::new(
            &endpoint,
            key.clone(),
            config.timeout,
            config.max_body,
            &run_id,
        )
        .map_err(RunError::Config)?;
    }
    let mut plan = prepare(config.planning(), &cx, key.expose(), seed)?;
    let mut out =
        format!("# dry run: nothing is sent. seed {seed}, run {run_id}, target {endpoint}\n");
    while let Some(batch) = plan.next_batch() {
        let batch = batch?;
        let mut entries: Vec<(usize, String)> = batch
            .ready
            .iter()
            .map(|(i, r)| {
                let line = format!(
                    "# {} [{}] {}\n{}\n",
                    r.case.id,
                    r.case.rule(),
                    r.case.title,
                    curl::command(&crate::target::url_for(&endpoint, &r.wire), &r.wire)
                );
                (*i, line)
            })
            .chain(batch.skipped.iter().map(|(i, c)| {
                (
                    *i,
                    format!(
                        "# SKIPPED {} [{}]: {}\n",
                        c.case.id,
                        c.case.rule(),
                        c.reason
                    ),
                )
            }))
            .collect();
        entries.sort_by_key(|(i, _)| *i);
        for (_, line) in entries {
            out.push_str(&line);
        }
    }
    if plan.probe_budget > 0 && (cx.embedded || config.allow_writes) && !config.services.is_empty()
    {
        out.push_str(&format!(
            "# {} [R-IDS]: up to {} sequential creates if the run's creates give no ordered pair\n",
            crate::cases::stateful::R_IDS,
            plan.probe_budget
        ));
    }
    Ok(key.redact(&out))
}

/// Runs every check and returns the report.
pub async fn run(mut config: RunConfig) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let session = Session::open(&config, &[Side::of(&config)]).await?;
    // The stages still read the observer from the config: the session's (the embedded
    // server's own when it is the target) is the one they use.
    config.observer.clone_from(&session.observer);
    let result = run_against(&config, &session).await;
    session.close().await;
    let mut report = result?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What shrinking spent and spared in a run.
#[derive(Default)]
struct Shrinking {
    /// Findings already shrunk once (class, rule, deviation).
    done: std::collections::HashSet<(Class, String)>,
    /// Extra requests sent.
    sent: usize,
    /// Failing cases not shrunk: their finding was shrunk already.
    same_finding: usize,
    /// Failing cases not shrunk: a run-level cause explains the failures.
    run_level: usize,
    /// Failing cases not shrunk: the cap was reached.
    over_cap: usize,
}

impl Shrinking {
    fn note(&self, own: usize) -> Option<String> {
        let spared = self.same_finding + self.run_level + self.over_cap;
        (self.sent > 0 || spared > 0).then(|| {
            format!(
                "shrinking sent {} extra requests for {} findings (at most 1/{SHRINK_SHARE} of the \
                 run's {own} requests); not shrunk: {} failing cases of a finding already shrunk, \
                 {} explained by a run-level cause, {} over the cap",
                self.sent,
                self.done.len(),
                self.same_finding,
                self.run_level,
                self.over_cap
            )
        })
    }
}

/// The finding a failing check belongs to: its class and name, as the report groups them.
fn finding_key(verdict: &judge::Verdict) -> (Class, String) {
    let name = crate::report::findings::name(verdict.rule, verdict.deviation.as_ref());
    (verdict.class, name)
}

/// The safety context a run is judged under, for the report (and `replay`).
fn run_context(config: &RunConfig, cx: &PlanContext) -> RunContext {
    context_of(config, cx.embedded, &cx.services, cx.missing_service)
}

/// The safety context `config` gives a command against `sides` (what `replay` compares with
/// the recorded run's before it sends anything).
pub fn planned_context(config: &RunConfig, sides: &[Side]) -> Result<RunContext, RunError> {
    let (services, missing, _) = crate::session::services_for(config, sides)?;
    Ok(context_of(
        config,
        sides.iter().all(|s| *s == Side::Reference),
        &services,
        missing,
    ))
}

fn context_of(
    config: &RunConfig,
    embedded: bool,
    services: &[(u32, amp_contract::envelope::DedicatedIp)],
    missing_service: Option<u32>,
) -> RunContext {
    use amp_contract::envelope::DedicatedIp;
    RunContext {
        embedded,
        services: services
            .iter()
            .map(|(id, ip)| match ip {
                DedicatedIp::Address(ip) => format!("{id}={ip}"),
                DedicatedIp::None => format!("{id}=none"),
            })
            .collect(),
        missing_service,
        allow_writes: config.allow_writes,
        allow_suspend: config.allow_suspend,
        profile: format!("{:?}", config.profile).to_lowercase(),
    }
}

async fn run_against(config: &RunConfig, session: &Session) -> Result<RunReport, RunError> {
    let (key, seed, run_id, embedded) = (
        &session.key,
        session.seed,
        session.run_id.as_str(),
        session.embedded,
    );
    let target = session
        .targets
        .first()
        .ok_or_else(|| RunError::Config("a run needs a target".to_owned()))?;
    let endpoint = target.endpoint();
    let cx = &session.cx;
    let mut plan = prepare(config.planning(), cx, key.expose(), seed)?;
    let sender = Sender::new(target, config.sending(), plan.total);
    let mut diagnostics = Diagnostics::new(cx.services.iter().map(|(id, _)| *id).collect());
    let mut snapshot_outcomes = Vec::new();
    let mut snapshot_notes = Vec::new();
    let mut pending_snapshots: Vec<(String, String, Class)> = Vec::new();
    let mut checks: Vec<CheckResult> = Vec::new();
    let mut stored: Vec<CheckResult> = Vec::new();
    let mut ids: Vec<IdSeen> = Vec::new();
    let mut read_only_creates = Vec::new();
    let mut own_requests = 0usize;
    let mut shrinking = Shrinking::default();
    // Batch by batch (the fixtures, then the property cases as they are generated): what a
    // batch needs is dropped once it is judged, so a deep run holds one batch at a time.
    let started = Instant::now();
    let mut out_of_time = None;
    while let Some(batch) = plan.next_batch() {
        if let Some(limit) = config.max_time.filter(|limit| started.elapsed() >= *limit) {
            out_of_time = Some(format!(
                "--max-time {}s was reached after {} of the {} cases; the rest were not generated",
                limit.as_secs_f64(),
                checks.len(),
                plan.total
            ));
            break;
        }
        let Batch {
            ready,
            skipped,
            mut trees,
        } = batch?;
        sender.skipped(skipped.len());
        let mut results: Vec<(usize, CheckResult)> = skipped
            .into_iter()
            .map(|(index, s)| (index, skipped_result(&s.case, s.reason)))
            .collect();
        let answers = sender.send(ready).await;
        diagnostics.observe(&answers, endpoint);
        own_requests += answers
            .iter()
            .filter(|(_, _, a, _)| !matches!(a, Err(TransportError::NotSent(_))))
            .count();
        let mut created: Vec<Created> = Vec::new();
        for (index, ready, answer, sent) in answers {
            if let Err(TransportError::NotSent(reason)) = &answer {
                results.push((index, skipped_result(&ready.case, reason.clone())));
                continue;
            }
            let mut verdict = judge::judge(&ready.case, &ready.documented, &answer, config.profile);
            if let (true, Ok(http), true) = (
                config.snapshots.is_some(),
                &answer,
                index < plan.fixture_count,
            ) {
                // Checked once the run is over: answers that never came from the API (a
                // redirect, a front's page, a dropped key) must not become the baseline.
                pending_snapshots.push((
                    ready.case.id.clone(),
                    snapshot::content(http, key, run_id),
                    verdict.class,
                ));
            }
            let mut ready = ready;
            let mut shrunk_in = None;
            // Status and media type (R-STATUS, R-BODY's 413) do not depend on the values:
            // nothing to shrink. A run cut short sends nothing more. One shrink per finding,
            // none while one run-level cause explains the failures, and the extra requests
            // capped at a share of the run's own (issue 17: shrinking multiplied the traffic).
            let shrinkable = matches!(verdict.class, Class::Fail | Class::NonStrict)
                && !verdict.status_only()
                && config.interrupt.raised().is_none()
                && !sender.stopped();
            if let Some(tree) = trees.remove(&index).filter(|_| shrinkable) {
                let finding = finding_key(&verdict);
                if diagnostics.explains_failures() {
                    shrinking.run_level += 1;
                } else if shrinking.done.contains(&finding) {
                    shrinking.same_finding += 1;
                } else {
                    let left = (own_requests / SHRINK_SHARE).saturating_sub(shrinking.sent);
                    let shrunk = shrink(
                        tree,
                        &ready.case,
                        &verdict,
                        cx,
                        target,
                        config.profile,
                        seed ^ index as u64,
                        left,
                    )
                    .await;
                    shrinking.sent += shrunk.sent;
                    if left == 0 {
                        shrinking.over_cap += 1;
                    } else {
                        shrinking.done.insert(finding);
                    }
                    if let Some((shrunk, v, steps)) = shrunk.found {
                        ready = shrunk;
                        verdict = v;
                        shrunk_in = Some(Shrunk { steps });
                    }
                }
            }
            if let (Some(id), false) = (verdict.report_id(), cx.may_write()) {
                read_only_creates.push(ReadOnlyCreate {
                    check: ready.case.id.clone(),
                    report_id: id,
                });
            }
            if let Some(id) = verdict.report_id() {
                created.push(Created {
                    check: ready.case.id.clone(),
                    id,
                    stored: ready.stored.clone(),
                    documented: ready.documented.clone(),
                    sent,
                });
            }
            results.push((
                index,
                finish(&ready, &verdict, target, answer.as_ref().ok(), shrunk_in),
            ));
        }
        results.sort_by_key(|(index, _)| *index);
        checks.extend(results.into_iter().map(|(_, r)| r));
        if config.interrupt.raised().is_none() {
            stored.extend(stored_checks(config.observing(), target, &created).await);
        }
        ids.extend(created.iter().map(IdSeen::from));
    }
    let stop = sender.finish();
    if let Some(snapshots) = &config.snapshots {
        let reached_api = !diagnostics.explains_failures()
            && stop.as_ref().is_none_or(|s| s.cause == StopCause::Broken);
        if reached_api {
            for (id, content, class) in &pending_snapshots {
                match snapshots.check(id, content, Some(*class)) {
                    Ok(outcome) => snapshot_outcomes.push(outcome),
                    Err(e) => {
                        snapshot_notes.push(format!(
                            "cannot write snapshots in {}: {e}",
                            snapshots.dir().display()
                        ));
                        break;
                    }
                }
            }
        } else if !pending_snapshots.is_empty() {
            snapshot_notes.push(format!(
                "the baseline in {} was neither compared nor extended: this run did not reach \
                 the API (see the notes above), so its answers say nothing of the API's",
                snapshots.dir().display()
            ));
        }
    }
    drop(pending_snapshots);
    if let Some(why) = sender.unreachable() {
        return Err(RunError::Unreachable(format!(
            "{endpoint}: {}",
            key.redact(&why)
        )));
    }
    let interrupted = config.interrupt.raised();
    // A run cut short sends nothing more: no stateful probes.
    let cut_short = stop.is_some() || interrupted.is_some();
    let cases = checks.len();
    checks.extend(stored);
    // The baseline of a real target remembers its ids across runs (the embedded server is a
    // new server every run).
    // A replay re-judges recorded requests only: no stateful checks.
    let cut_short = cut_short || config.replay.is_some();
    let remember = config
        .snapshots
        .as_ref()
        .filter(|_| !embedded && !cut_short && !ids.is_empty());
    if let Some(snapshots) = remember {
        let observe = config
            .observer
            .as_ref()
            .map(|observer| (observer, target, config.timeout));
        checks.push(across_runs(snapshots.dir(), &ids, run_id, snapshots.writes(), observe).await);
    }
    if !cut_short {
        checks.extend(stateful(config.observing(), cx, target, ids, plan.probe_budget).await);
    }
    let mut notes = diagnostics.notes(endpoint, target.observations());
    notes.extend(shrinking.note(own_requests));
    notes.extend(snapshot_notes);
    notes.extend(out_of_time);
    notes.extend(stop.as_ref().map(|s| s.reason.clone()));
    if let Some(signal) = interrupted {
        notes.push(format!(
            "interrupted by {signal}: the report covers what was answered before, and is \
             incomplete; reports this run created carry `amp-conformance run {run_id}` in \
             admin_notes"
        ));
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
        outage: stop.as_ref().is_some_and(|s| s.cause == StopCause::Outage),
        misconfigured: stop
            .as_ref()
            .is_some_and(|s| s.cause == StopCause::Configuration),
        stopped: stop.map(|s| s.reason),
        interrupted: interrupted.map(str::to_owned),
        unmatched_known_failures: Vec::new(),
        context: run_context(config, cx),
        cases,
        read_only_creates,
        passed: false,
        seconds: 0.0,
    };
    redact(&mut report, key);
    report.apply_known_failures(&config.known_failures);
    report.settle();
    Ok(report)
}
