//! The run, along its data flow: cases → plan → send → judge (with shrinking) → stateful
//! checks → report. Each stage owns its module ([`crate::cases`], `plan`, `send`,
//! [`crate::judge`], `shrink`, `stateful`, [`crate::report`]); this file only wires them.

use std::time::Instant;

use crate::config::Side;
use crate::config::random_token;
use crate::config::{RunConfig, RunError};
use crate::judge::{self, Class};
use crate::plan::{Batch, PlanContext, Ready, prepare};
use crate::report::checks::{finish, redact, redact_check, skipped_result};
use crate::report::diagnose::Diagnostics;
use crate::report::log::CheckLog;
use crate::report::{CheckResult, ReadOnlyCreate, RunContext, RunReport, Shrunk};
use crate::send::{Sender, StopCause};
use crate::server;
use crate::session::Session;
use crate::shrink::{SHRINK_SHARE, shrink};
use crate::snapshot::{self, SnapshotState};
use crate::stateful::{Created, IdLedger, IdSeen, across_runs, stateful, stored_checks};
use crate::target::{Target, TransportError};

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
    while let Some(batch) = plan.next_batch_here() {
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
            crate::stateful::R_IDS,
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

/// One run under way: the session it sends through, the plan's stream of batches, and what
/// the run keeps until its report (checks, ids, the baseline's pending answers). Its steps:
/// [`Run::batch`] per batch (send, judge, shrink, read stored values back), then
/// [`Run::baseline`], the checks over the whole run ([`Run::run_level`]) and the report.
struct Run<'a> {
    config: &'a RunConfig,
    session: &'a Session,
    target: &'a Target,
    sender: Sender<'a>,
    diagnostics: Diagnostics,
    /// Every check so far, counted as it comes (a deep run keeps only the first ones in
    /// memory).
    checks: CheckLog,
    /// How many of them are cases (the rest are stored-value and run-level checks).
    cases: usize,
    ids: IdLedger,
    read_only_creates: Vec<ReadOnlyCreate>,
    /// Fixture answers for the baseline, checked once the run is over: answers that never
    /// came from the API (a redirect, a front's page, a dropped key) must not become it.
    /// With the check's class, which the baseline remembers (a fix is told from a regression).
    pending_snapshots: Vec<(String, String, Class)>,
    own_requests: usize,
    shrinking: Shrinking,
}

async fn run_against(config: &RunConfig, session: &Session) -> Result<RunReport, RunError> {
    let target = session
        .targets
        .first()
        .ok_or_else(|| RunError::Config("a run needs a target".to_owned()))?;
    let mut plan = session.plan(config)?;
    let mut run = Run {
        config,
        session,
        target,
        sender: Sender::new(target, config.sending(), plan.total),
        diagnostics: Diagnostics::new(session.cx.services.iter().map(|(id, _)| *id).collect()),
        checks: CheckLog::with_known_failures(config.known_failures.clone()),
        cases: 0,
        ids: IdLedger::default(),
        read_only_creates: Vec::new(),
        pending_snapshots: Vec::new(),
        own_requests: 0,
        shrinking: Shrinking::default(),
    };
    // Batch by batch (the fixtures, then the property cases as they are generated): what a
    // batch needs is dropped once it is judged, so a deep run holds one batch at a time.
    let started = Instant::now();
    let mut out_of_time = None;
    while let Some(batch) = plan.next_batch().await {
        // Interrupted: nothing more is sent, so nothing more is planned (the report says it is
        // incomplete).
        if config.interrupt.raised().is_some() {
            break;
        }
        if let Some(limit) = config.max_time.filter(|limit| started.elapsed() >= *limit) {
            out_of_time = Some(format!(
                "--max-time {}s was reached after {} of the {} cases; the rest were not sent",
                limit.as_secs_f64(),
                run.cases,
                plan.total
            ));
            break;
        }
        run.batch(batch?, plan.fixture_count).await;
        // Stopped (the breaker, or one cause shown by the first answers): nothing more is
        // sent, so nothing more is planned; the stop's note counts the cases left. A deep run
        // against a wrong --target ends at once instead of planning every case to skip it.
        if run.sender.stopped() {
            run.sender.not_planned(plan.total.saturating_sub(run.cases));
            break;
        }
    }
    run.finish(plan.probe_budget, out_of_time).await
}

impl Run<'_> {
    /// Sends one batch and judges its answers, in case order.
    async fn batch(&mut self, batch: Batch, fixture_count: usize) {
        let Batch {
            ready,
            skipped,
            mut trees,
            ..
        } = batch;
        self.sender.skipped(skipped.len());
        let mut results: Vec<(usize, CheckResult)> = skipped
            .into_iter()
            .map(|(index, s)| (index, skipped_result(&s.case, s.reason)))
            .collect();
        let answers = self.sender.send(ready).await;
        self.diagnostics.observe(&answers, self.target.endpoint());
        self.own_requests += answers
            .iter()
            .filter(|(_, _, a, _)| !matches!(a, Err(TransportError::NotSent(_))))
            .count();
        let mut created: Vec<Created> = Vec::new();
        for (index, ready, answer, sent) in answers {
            if let Err(TransportError::NotSent(reason)) = &answer {
                results.push((index, skipped_result(&ready.case, reason.clone())));
                continue;
            }
            let verdict =
                judge::judge(&ready.case, &ready.documented, &answer, self.config.profile);
            if let (Some(_), Ok(http), true) =
                (&self.config.snapshots, &answer, index < fixture_count)
            {
                let content = snapshot::content(http, &self.session.key, &self.session.run_id);
                self.pending_snapshots
                    .push((ready.case.id.clone(), content, verdict.class));
            }
            let (ready, verdict, shrunk) = self
                .shrunk(ready, verdict, trees.remove(&index), index)
                .await;
            if let Some(id) = verdict.report_id() {
                if !self.session.cx.may_write() {
                    self.read_only_creates.push(ReadOnlyCreate {
                        check: ready.case.id.clone(),
                        report_id: id,
                    });
                }
                created.push(Created {
                    check: ready.case.id.clone(),
                    id,
                    stored: ready.stored.clone(),
                    documented: ready.documented.clone(),
                    sent,
                });
            }
            let result = finish(&ready, &verdict, self.target, answer.as_ref().ok(), shrunk);
            results.push((index, result));
        }
        results.sort_by_key(|(index, _)| *index);
        self.cases += results.len();
        for (_, check) in results {
            self.push(check);
        }
        if self.config.interrupt.raised().is_none() {
            let observing = self.config.observing();
            for check in stored_checks(observing, self.target, &created).await {
                self.push(check);
            }
        }
        let batch: Vec<IdSeen> = created.iter().map(IdSeen::from).collect();
        self.ids.add_batch(&batch);
    }

    /// Adds a check to the run's log, the key scrubbed from what a target's answer filled in.
    fn push(&mut self, mut check: CheckResult) {
        redact_check(&mut check, &self.session.key);
        self.checks.push(check);
    }

    /// The smallest request that still fails the same way, for a failing property case.
    /// Status and media type (R-STATUS, R-BODY's 413) do not depend on the values: nothing to
    /// shrink. A run cut short sends nothing more. One shrink per finding, none while one
    /// run-level cause explains the failures, and the extra requests capped at a share of the
    /// run's own (issue 17: shrinking multiplied the traffic).
    async fn shrunk(
        &mut self,
        ready: Ready,
        verdict: judge::Verdict,
        tree: Option<crate::cases::properties::TreeSeed>,
        index: usize,
    ) -> (Ready, judge::Verdict, Option<Shrunk>) {
        let shrinkable = matches!(verdict.class, Class::Fail | Class::NonStrict)
            && !verdict.status_only()
            && self.config.interrupt.raised().is_none()
            && !self.sender.stopped();
        let Some(tree) = tree.filter(|_| shrinkable) else {
            return (ready, verdict, None);
        };
        let finding = finding_key(&verdict);
        if self.diagnostics.explains_failures() {
            self.shrinking.run_level += 1;
            return (ready, verdict, None);
        }
        if self.shrinking.done.contains(&finding) {
            self.shrinking.same_finding += 1;
            return (ready, verdict, None);
        }
        let left = (self.own_requests / SHRINK_SHARE).saturating_sub(self.shrinking.sent);
        let shrunk = shrink(
            tree,
            &ready.case,
            &verdict,
            &self.session.cx,
            self.target,
            self.config.profile,
            self.session.seed ^ index as u64,
            left,
        )
        .await;
        self.shrinking.sent += shrunk.sent;
        if left == 0 {
            self.shrinking.over_cap += 1;
        } else {
            self.shrinking.done.insert(finding);
        }
        match shrunk.found {
            Some((smaller, verdict, steps)) => (smaller, verdict, Some(Shrunk { steps })),
            None => (ready, verdict, None),
        }
    }

    /// Compares the fixture answers with the baseline (or records them), when the run reached
    /// the API; returns the outcomes and the notes.
    fn baseline(
        &mut self,
        stop: Option<&crate::send::Stop>,
    ) -> (Vec<snapshot::SnapshotOutcome>, Vec<String>) {
        let (mut outcomes, mut notes) = (Vec::new(), Vec::new());
        let pending = std::mem::take(&mut self.pending_snapshots);
        let Some(snapshots) = &self.config.snapshots else {
            return (outcomes, notes);
        };
        let reached_api = !self.diagnostics.explains_failures()
            && stop.is_none_or(|s| s.cause == StopCause::Broken);
        if !reached_api {
            if !pending.is_empty() {
                notes.push(format!(
                    "the baseline in {} was neither compared nor extended: this run did not \
                     reach the API (see the notes above), so its answers say nothing of the API's",
                    snapshots.dir().display()
                ));
            }
            return (outcomes, notes);
        }
        for (id, content, class) in &pending {
            match snapshots.check(id, content, Some(*class)) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    notes.push(format!(
                        "cannot write snapshots in {}: {e}",
                        snapshots.dir().display()
                    ));
                    break;
                }
            }
        }
        (outcomes, notes)
    }

    /// The checks over the whole run: ids across runs (against the baseline's memory), R-IDS
    /// and D-UNIQUE with their probes, and the stored values read back. A run cut short or a
    /// replay sends nothing more.
    async fn run_level(&mut self, cut_short: bool, probe_budget: usize) {
        let config = self.config;
        let cut_short = cut_short || config.replay.is_some();
        // The baseline of a real target remembers its ids across runs (the embedded server is
        // a new server every run).
        let remember = config
            .snapshots
            .as_ref()
            .filter(|_| !self.session.embedded && !cut_short && self.ids.count() > 0);
        if let Some(snapshots) = remember {
            let observe = config
                .observer
                .as_ref()
                .map(|observer| (observer, self.target, config.timeout));
            let run_id = &self.session.run_id;
            let check = across_runs(
                snapshots.dir(),
                &self.ids,
                run_id,
                snapshots.writes(),
                observe,
            );
            let check = check.await;
            self.push(check);
        }
        if !cut_short {
            let ids = std::mem::take(&mut self.ids);
            let cx = &self.session.cx;
            let checks = stateful(config.observing(), cx, self.target, ids, probe_budget).await;
            for check in checks {
                self.push(check);
            }
        }
    }

    /// Ends the run: the baseline, the checks over the whole run, the notes, and the report.
    async fn finish(
        mut self,
        probe_budget: usize,
        out_of_time: Option<String>,
    ) -> Result<RunReport, RunError> {
        let (config, session) = (self.config, self.session);
        let endpoint = self.target.endpoint();
        let stop = self.sender.finish();
        let (snapshot_outcomes, snapshot_notes) = self.baseline(stop.as_ref());
        if let Some(why) = self.sender.unreachable() {
            return Err(RunError::Unreachable(format!(
                "{endpoint}: {}",
                session.key.redact(&why)
            )));
        }
        let interrupted = config.interrupt.raised();
        let cases = self.cases;
        self.run_level(stop.is_some() || interrupted.is_some(), probe_budget)
            .await;
        let mut notes = self.diagnostics.notes(endpoint, self.target.observations());
        notes.extend(self.shrinking.note(self.own_requests));
        notes.extend(snapshot_notes);
        notes.extend(out_of_time);
        notes.extend(stop.as_ref().map(|s| s.reason.clone()));
        if let Some(signal) = interrupted {
            notes.push(format!(
                "interrupted by {signal}: the report covers what was answered before, and is \
                 incomplete; reports this run created carry `amp-conformance run {}` in \
                 admin_notes",
                session.run_id
            ));
        }
        let mut report = RunReport {
            tool: format!("amp-conformance {}", env!("CARGO_PKG_VERSION")),
            target: if session.embedded {
                format!("embedded reference server ({endpoint})")
            } else {
                endpoint.to_owned()
            },
            seed: session.seed,
            run_id: session.run_id.clone(),
            profile: config.profile,
            strict: config.strict,
            checks: {
                self.checks.flush();
                self.checks
            },
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
            context: run_context(config, &session.cx),
            cases,
            read_only_creates: self.read_only_creates,
            coverage: Default::default(),
            passed: false,
            seconds: 0.0,
        };
        report.coverage =
            crate::report::coverage::summarise(&report.checks, config.observer.is_none());
        redact(&mut report, &session.key);
        report.apply_known_failures(&config.known_failures);
        report.settle();
        Ok(report)
    }
}
