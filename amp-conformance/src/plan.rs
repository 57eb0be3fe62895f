//! The planner: the safety filter between cases and the target (CONTRACT.md §6). It resolves
//! service placeholders, adds the purge marker, skips what this run may not send, and asks the
//! contract what each exact request must get when the case leaves that to it.

use amp_contract::ResolvedCreate;
use amp_contract::documented;
use amp_contract::envelope::{DedicatedIp, ServiceDirectory};
use amp_contract::rules::Rule;

use std::collections::{HashMap, HashSet};

use crate::cases::properties::{self, PropertyCase, PropertyContext, TreeSeed};
use crate::cases::{Case, Expectation, Generator, Need, Origin, WireRequest};
use crate::config::{Planning, RunError};
use crate::safety::{self, Assessment};

/// What the planner knows about this run.
#[derive(Debug, Clone)]
pub(crate) struct PlanContext {
    /// The embedded reference server (everything allowed) rather than a `--target`.
    pub(crate) embedded: bool,
    /// Services known to exist, in the order given.
    pub(crate) services: Vec<(u32, DedicatedIp)>,
    /// An id known not to exist.
    pub(crate) missing_service: Option<u32>,
    /// `--allow-writes`.
    pub(crate) allow_writes: bool,
    /// `--allow-suspend`.
    pub(crate) allow_suspend: bool,
    /// The run id, for the purge marker.
    pub(crate) run_id: String,
}

impl ServiceDirectory for PlanContext {
    fn dedicated_ip(&self, service_id: u32) -> Option<DedicatedIp> {
        self.services
            .iter()
            .find(|(id, _)| *id == service_id)
            .map(|(_, ip)| *ip)
    }
}

impl PlanContext {
    /// The purge marker written into `admin_notes` (CONTRACT.md §6).
    pub(crate) fn marker(&self) -> String {
        format!("{}{}", crate::config::MARKER, self.run_id)
    }

    /// Whether the run may create reports (the embedded server, or `--allow-writes`).
    pub(crate) fn may_write(&self) -> bool {
        self.embedded || self.allow_writes
    }

    /// The service ids a request may name where some server could accept it as a create: the
    /// missing one always; the `--service` ones only with `--allow-writes`.
    fn may_name(&self, id: u64) -> bool {
        self.missing_service.is_some_and(|m| u64::from(m) == id)
            || (self.allow_writes && self.services.iter().any(|(s, _)| u64::from(*s) == id))
    }

    /// The safety gate every request to a real target passes, whatever made it (CONTRACT.md
    /// §6): the purge marker wherever its parameters travel, then the service ids the most
    /// lenient server the page allows could read from it moved to one the run may name
    /// ([`safety::pin_services`]); a request that could still create a report for a service
    /// the run may not touch is not sent. The embedded reference server is exempt (it is
    /// strict, and its services are the run's own).
    pub(crate) fn guard(
        &self,
        wire: WireRequest,
        marker: Option<&str>,
    ) -> Result<WireRequest, String> {
        if self.embedded {
            return Ok(wire);
        }
        let wire = match marker {
            Some(marker) => safety::mark(wire, marker),
            None => wire,
        };
        let unsafe_ids = |wire: &WireRequest| match safety::assess(wire) {
            Assessment::Rejected(_) => Vec::new(),
            Assessment::MayCreate(ids) => {
                ids.into_iter().filter(|id| !self.may_name(*id)).collect()
            }
        };
        if unsafe_ids(&wire).is_empty() {
            return Ok(wire);
        }
        let pin_to = if self.allow_writes {
            self.services.first().map(|(id, _)| *id)
        } else {
            self.missing_service
        };
        let Some(to) = pin_to else {
            return Err(if self.allow_writes {
                "a lenient server could read a service id from it and create a report: pass \
                 --service ID to name the services it may use"
                    .to_owned()
            } else {
                "a lenient server could read a service id from it and create a report: pass \
                 --missing-service-id ID (an id that names no service) to send it in a read-only run"
                    .to_owned()
            });
        };
        let pinned = safety::pin_services(&wire, to);
        let left = unsafe_ids(&pinned);
        if left.is_empty() {
            return Ok(pinned);
        }
        let ids: Vec<String> = left.iter().map(u64::to_string).collect();
        Err(if self.allow_writes {
            format!(
                "a lenient server could read service id {} from it (intval(), an array, another \
                 source), which is not one of --service: not sent",
                ids.join(" or ")
            )
        } else {
            format!(
                "a lenient server could read service id {} from it (intval(), an array, another \
                 source) and create a report: pass --allow-writes (and --service) to run it",
                ids.join(" or ")
            )
        })
    }

    fn resolve(&self, need: Need, writes: bool) -> Option<String> {
        // A request not meant to write names a service that does not exist when the run may
        // not write, so that a server that wrongly accepts it creates nothing.
        if !writes && !self.may_write() && need != Need::MissingService {
            if let Some(missing) = self.missing_service {
                return Some(missing.to_string());
            }
        }
        let pick = |want: fn(&DedicatedIp) -> bool| {
            self.services
                .iter()
                .find(|(_, ip)| want(ip))
                .map(|(id, _)| id.to_string())
        };
        match need {
            Need::Service => pick(|_| true),
            Need::ServiceWithIp => pick(|ip| matches!(ip, DedicatedIp::Address(_))),
            Need::ServiceWithoutIp => pick(|ip| matches!(ip, DedicatedIp::None)),
            Need::MissingService => self.missing_service.map(|m| m.to_string()),
        }
    }
}

/// A case ready to send, or the reason it is not sent.
#[derive(Debug, Clone)]
pub(crate) enum Planned {
    /// Send it.
    Send(Box<Ready>),
    /// Do not: the reason names what would enable it.
    Skip(Box<Case>, String),
}

/// A case with its exact request.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    /// The case (for generated mutations, its expectation now set by the contract).
    pub(crate) case: Case,
    /// The exact request.
    pub(crate) wire: WireRequest,
    /// What a conforming server stores when it accepts it (D-DEFAULTS).
    pub(crate) stored: Option<ResolvedCreate>,
    /// What the page itself demands of the exact request (the documented layer).
    pub(crate) documented: documented::Verdict,
}

/// Plans one case; `key` is the valid identifier (to ask the contract), `seed` makes the
/// multipart boundary reproducible.
pub(crate) fn plan(case: Case, cx: &PlanContext, key: &str, seed: u64) -> Planned {
    let writes = case.writes();
    if writes && !cx.may_write() {
        return Planned::Skip(
            Box::new(case),
            "creates a report: pass --allow-writes to run it".to_owned(),
        );
    }
    if case.request.may_suspend() && !cx.embedded && !cx.allow_suspend {
        return Planned::Skip(
            Box::new(case),
            "sends a suspending suspend_method: pass --allow-suspend to run it".to_owned(),
        );
    }
    let mut subst = Vec::new();
    for need in case.request.needs() {
        match cx.resolve(need, writes) {
            Some(value) => subst.push((need, value)),
            None => {
                let reason = format!(
                    "needs {} (what {} stands for)",
                    need.flag(),
                    need.placeholder()
                );
                return Planned::Skip(Box::new(case), reason);
            }
        }
    }
    // A near miss of the key that is the key itself would be a valid request labelled invalid.
    if let crate::cases::Auth::NearMiss(miss) = &case.request.auth {
        let value = miss.apply(key);
        if value == key || value.is_empty() {
            let reason = format!(
                "the key has no `{}` near miss that differs from it (a key of letters and \
                 digits longer than one character has)",
                miss.name()
            );
            return Planned::Skip(Box::new(case), reason);
        }
    }
    let marker = (!case.admin_notes_under_test).then(|| cx.marker());
    let wire = case.request.render(&subst, marker.as_deref(), seed);
    let wire = match cx.guard(wire, marker.as_deref()) {
        Ok(wire) => wire,
        Err(reason) => return Planned::Skip(Box::new(case), reason),
    };
    let mut case = case;
    // The contract is asked only where its answer is used: a mutation's expectation, and the
    // stored values of a create (D-DEFAULTS).
    let mutation = matches!(
        case.origin,
        Origin::Property {
            generator: Generator::Mutation | Generator::Coverage,
            ..
        }
    );
    // One reference answer serves both (a mutation that creates used to ask twice), and
    // where both layers are asked, the body is decoded once for them.
    let (documented, reference) = if mutation || case.writes() {
        let (documented, reference) = wire.oracles(key, cx);
        (documented, Some(reference))
    } else {
        (wire.documented(key, cx), None)
    };
    if let (true, Some(answer)) = (mutation, &reference) {
        case.expect = match answer {
            Ok(_) => Expectation::Success,
            Err(rejection) => Expectation::Error {
                code: rejection.error.code,
                params: rejection
                    .error
                    .params
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
                status: rejection.status.as_u16(),
            },
        };
        if case.writes() && !cx.may_write() {
            return Planned::Skip(
                Box::new(case),
                "creates a report: pass --allow-writes to run it".to_owned(),
            );
        }
    }
    let stored = match reference {
        Some(Ok(accepted)) if case.writes() => Some(accepted.resolved),
        _ => None,
    };
    Planned::Send(Box::new(Ready {
        case,
        wire,
        stored,
        documented,
    }))
}

/// A case the run does not send, and why (the reason names what would enable it).
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    pub(crate) case: Case,
    pub(crate) reason: String,
}

/// A batch of planned cases: what will be sent and what is skipped (by case index), and the
/// seeds of its property cases' value trees, for shrinking.
pub(crate) struct Batch {
    /// What will be sent, by case index.
    pub(crate) ready: Vec<(usize, Ready)>,
    /// What is not sent, with the reason, by case index.
    pub(crate) skipped: Vec<(usize, Skipped)>,
    /// The seeds of the value trees of the property cases in the batch, by case index.
    pub(crate) trees: HashMap<usize, TreeSeed>,
    /// Writes the budget leaves for the R-IDS probes once this batch is sent.
    probe_budget: usize,
}

pub(crate) const IDS_PROBES: usize = 3;

/// Property cases planned at once when the run streams them (a deep run keeps no more).
const BATCH: usize = 32;

/// Batches planned ahead of the one being sent: the planner thread waits once this many are
/// ready, so that a run holds at most this many plus the one in flight and the one planned.
const AHEAD: usize = 1;

/// The cases of a run, planned batch by batch: the fixture cases first, then the property
/// cases as they are generated, so that a deep run holds a few batches at a time. A run plans
/// on a thread of its own ([`Plan::ahead`]), one batch ahead of the batch being sent: planning
/// (generating, rendering, asking both oracles) is most of a run's own work, and it no longer
/// waits for the answers, nor they for it.
pub(crate) struct Plan {
    /// How many cases are fixtures (they come first).
    pub(crate) fixture_count: usize,
    /// How many cases the run has.
    pub(crate) total: usize,
    /// Writes left for the R-IDS probes, sent only when the run's creates give no ordered pair.
    pub(crate) probe_budget: usize,
    source: Source,
}

enum Source {
    /// A replay's recorded requests, planned at once.
    Whole(Option<Batch>),
    /// Planned here, as the batches are asked for (`--dry-run`, and until [`Plan::ahead`]).
    Here {
        planner: Box<Planner>,
        /// Made on first use: the generators cannot move to another thread.
        properties: Option<Box<properties::Cases>>,
    },
    /// Planned ahead on the planner thread.
    Ahead {
        batches: tokio::sync::mpsc::Receiver<Result<Batch, RunError>>,
        worker: Option<std::thread::JoinHandle<()>>,
    },
}

/// What plans the streamed cases: the fixtures, the generators' settings, the run's context
/// and the write budget. Plain data, so that it can plan on a thread of its own.
struct Planner {
    fixtures: Option<Vec<Case>>,
    properties: PropertyContext,
    cx: PlanContext,
    key: String,
    seed: u64,
    next_index: usize,
    budget: Option<Budget>,
}

impl Plan {
    /// Moves the planning of the streamed cases to a thread of its own, which keeps [`AHEAD`]
    /// batches ready; a replay is planned already. Dropping the plan stops the thread after
    /// the batch it is planning (`--max-time`, an interrupt).
    pub(crate) fn ahead(self) -> Self {
        let Source::Here {
            planner,
            properties: None,
        } = self.source
        else {
            return self;
        };
        let (sender, batches) = tokio::sync::mpsc::channel(AHEAD);
        // The thread takes the planner from here; if no thread can be started, it stays and
        // the run plans here, as the batches are asked for.
        let handed = std::sync::Arc::new(std::sync::Mutex::new(Some(planner)));
        let taken = handed.clone();
        let spawned = std::thread::Builder::new()
            .name("amp-planner".to_owned())
            .spawn(move || {
                let planner = taken
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                if let Some(planner) = planner {
                    planner.run(&sender);
                }
            });
        let source = match spawned {
            Ok(worker) => Source::Ahead {
                batches,
                worker: Some(worker),
            },
            Err(_) => {
                let planner = handed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                match planner {
                    Some(planner) => Source::Here {
                        planner,
                        properties: None,
                    },
                    None => Source::Whole(None),
                }
            }
        };
        Self { source, ..self }
    }

    /// The next batch, in case order; `None` at the end.
    pub(crate) async fn next_batch(&mut self) -> Option<Result<Batch, RunError>> {
        let next = match &mut self.source {
            Source::Ahead { batches, worker } => match batches.recv().await {
                Some(next) => next,
                None => {
                    // The planner ended: at the end of the cases, or by a panic, which is the
                    // run's as it would be without the thread.
                    if let Some(Err(panic)) = worker.take().map(std::thread::JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            },
            _ => return self.next_batch_here(),
        };
        self.took(next)
    }

    /// The next batch, planned on this thread (`--dry-run`).
    pub(crate) fn next_batch_here(&mut self) -> Option<Result<Batch, RunError>> {
        let next = match &mut self.source {
            Source::Whole(batch) => batch.take().map(Ok)?,
            Source::Here {
                planner,
                properties,
            } => {
                let properties = properties
                    .get_or_insert_with(|| Box::new(properties::Cases::new(&planner.properties)));
                planner.next_batch(properties)?
            }
            Source::Ahead { .. } => return None,
        };
        self.took(next)
    }

    fn took(&mut self, next: Result<Batch, RunError>) -> Option<Result<Batch, RunError>> {
        if let Ok(batch) = &next {
            self.probe_budget = batch.probe_budget;
        }
        Some(next)
    }
}

impl Planner {
    /// Plans every batch into `sender`, until the cases end or the run stops listening.
    fn run(mut self, sender: &tokio::sync::mpsc::Sender<Result<Batch, RunError>>) {
        let mut properties = properties::Cases::new(&self.properties);
        while let Some(batch) = self.next_batch(&mut properties) {
            if sender.blocking_send(batch).is_err() {
                return;
            }
        }
    }

    /// The next batch, in case order; `None` at the end.
    fn next_batch(
        &mut self,
        properties: &mut properties::Cases,
    ) -> Option<Result<Batch, RunError>> {
        let cases: Vec<(Case, Option<TreeSeed>)> = match self.fixtures.take() {
            Some(fixtures) => fixtures.into_iter().map(|c| (c, None)).collect(),
            None => {
                let mut cases = Vec::with_capacity(BATCH);
                for generated in properties.by_ref().take(BATCH) {
                    match generated {
                        Ok(PropertyCase { case, tree }) => cases.push((case, Some(tree))),
                        Err(e) => return Some(Err(RunError::Config(e))),
                    }
                }
                if cases.is_empty() {
                    return None;
                }
                cases
            }
        };
        let first = self.next_index;
        self.next_index += cases.len();
        let mut batch = plan_batch(
            cases.into_iter().enumerate().map(|(i, c)| (first + i, c)),
            &self.cx,
            &self.key,
            self.seed,
        );
        if let Some(budget) = &mut self.budget {
            budget.apply(&mut batch);
            batch.probe_budget = IDS_PROBES.min(budget.left);
        }
        Some(Ok(batch))
    }
}

/// Plans numbered cases into a batch.
fn plan_batch(
    cases: impl Iterator<Item = (usize, (Case, Option<TreeSeed>))>,
    cx: &PlanContext,
    key: &str,
    seed: u64,
) -> Batch {
    let mut batch = Batch {
        ready: Vec::new(),
        skipped: Vec::new(),
        trees: HashMap::new(),
        probe_budget: IDS_PROBES,
    };
    for (index, (case, tree)) in cases {
        match plan(case, cx, key, seed ^ index as u64) {
            Planned::Send(r) => {
                batch.ready.push((index, *r));
                if let Some(tree) = tree {
                    batch.trees.insert(index, tree);
                }
            }
            Planned::Skip(case, reason) => {
                batch.skipped.push((
                    index,
                    Skipped {
                        case: *case,
                        reason,
                    },
                ));
            }
        }
    }
    batch
}

/// The write priority of the coverage model's packed creates: before every other write.
const COVERAGE_PRIORITY: u8 = u8::MAX;

/// Where a write stands when the budget is short, once every rule has its create: D-SUCCESS
/// first, then D-DEFAULTS, then the other documented checks, then reference ones, then
/// generated cases.
fn write_priority(case: &Case) -> u8 {
    let fixture = matches!(case.origin, Origin::Fixture { .. });
    if matches!(
        case.origin,
        Origin::Property {
            generator: Generator::Coverage,
            ..
        }
    ) {
        return COVERAGE_PRIORITY;
    }
    match (fixture, case.rule()) {
        (true, Rule::DSuccess) => 0,
        (true, _) if case.rules.contains(&Rule::DDefaults) => 2,
        (true, rule) if rule.layer() == amp_contract::rules::Layer::Documented => 3,
        (true, _) => 4,
        (false, _)
            if matches!(
                case.origin,
                Origin::Property {
                    generator: Generator::Valid,
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
pub(crate) fn write_coverage(ready: &Ready) -> Vec<Rule> {
    let mut rules: Vec<Rule> = ready.case.rules.clone();
    match &ready.documented {
        documented::Verdict::Silent { rules: silent, .. } => rules.extend(silent.iter().copied()),
        documented::Verdict::Demands { rule, .. } => rules.push(*rule),
    }
    rules.extend([Rule::DDefaults, Rule::DUnique, Rule::RIds]);
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// Chooses which creates a budget of `budget` writes sends (CONTRACT.md §6): a plain D-SUCCESS
/// create, the coverage model's packed creates, then, greedily, the creates that exercise the most rules (documented ones first) no
/// chosen create exercises yet, so that every rule
/// that needs a write is exercised once; then the rest by [`write_priority`]. Returns the
/// indices of `ready` (positions) that are over budget.
fn over_budget(
    ready: &[(usize, Ready)],
    budget: usize,
    covered_before: &mut HashSet<Rule>,
) -> HashSet<usize> {
    let mut writes: Vec<(u8, usize, Vec<Rule>)> = ready
        .iter()
        .filter(|(_, r)| r.case.writes())
        .map(|(i, r)| (write_priority(&r.case), *i, write_coverage(r)))
        .collect();
    writes.sort_by_key(|(priority, index, _)| (*priority, *index));
    let mut covered: HashSet<Rule> = covered_before.clone();
    let mut chosen: Vec<usize> = Vec::new();
    // The page's most basic demand first: a plain D-SUCCESS create, the baseline that tells
    // a server refusing every create from one refusing some values.
    if let Some((0, index, rules)) = writes.first().filter(|_| budget > 0) {
        covered.extend(rules.iter().copied());
        chosen.push(*index);
    }
    // Then the coverage model's packed creates: together they carry every documented-valid
    // value class, each create a stored-value check of many fields at once.
    for (_, index, rules) in writes.iter().filter(|(p, _, _)| *p == COVERAGE_PRIORITY) {
        if chosen.len() >= budget {
            break;
        }
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
                let documented = new()
                    .filter(|r| r.layer() == amp_contract::rules::Layer::Documented)
                    .count();
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
    for (_, index, rules) in &writes {
        if chosen.contains(index) {
            covered_before.extend(rules.iter().copied());
        }
    }
    writes
        .iter()
        .map(|(_, index, _)| *index)
        .filter(|index| !chosen.contains(index))
        .collect()
}

/// The write budget as the cases stream (CONTRACT.md §6): coverage first within each batch
/// (the fixtures come first, so they get it first), then the stream, and whatever is left
/// at the end goes to the R-IDS probes. Nothing needs every create in view, so a deep run
/// with a budget holds one batch at a time like any other.
struct Budget {
    /// Creates left.
    left: usize,
    /// `--max-writes`, for the skip reason.
    max: usize,
    /// Rules the chosen creates exercise so far.
    covered: HashSet<Rule>,
}

impl Budget {
    /// Skips the creates of `batch` over the budget, and spends the rest.
    fn apply(&mut self, batch: &mut Batch) {
        let over = over_budget(&batch.ready, self.left, &mut self.covered);
        let planned = batch.ready.iter().filter(|(_, r)| r.case.writes()).count() - over.len();
        self.left -= planned.min(self.left);
        let reason = format!(
            "the write budget is spent: every rule that needs a create has one, and this create \
             would exercise them again (--max-writes {}; raise it to run this check too)",
            self.max
        );
        let Batch {
            ready,
            skipped,
            trees,
            ..
        } = batch;
        ready.retain(|(index, r)| {
            if over.contains(index) {
                skipped.push((
                    *index,
                    Skipped {
                        case: r.case.clone(),
                        reason: reason.clone(),
                    },
                ));
                trees.remove(index);
                false
            } else {
                true
            }
        });
    }
}

/// Loads the fixture cases, sets up the property cases and the write budget (CONTRACT.md §6:
/// every rule that needs a write gets one first).
pub(crate) fn prepare(
    config: Planning<'_>,
    cx: &PlanContext,
    key: &str,
    seed: u64,
) -> Result<Plan, RunError> {
    if let Some(replay) = config.replay {
        return Ok(replay_plan(replay, cx, key));
    }
    let fixtures = config
        .fixtures
        .load()
        .map_err(|e| RunError::Config(e.to_string()))?;
    let properties = PropertyContext {
        cases: config.cases,
        seed,
        services: cx.services.iter().map(|(id, _)| *id).collect(),
        missing_service: cx.missing_service,
        allow_writes: cx.may_write(),
        allow_suspend: cx.embedded || cx.allow_suspend,
    };
    let fixture_count = fixtures.len();
    // The coverage model's cases travel with the fixtures (after them: snapshots cover the
    // fixtures only), so that the write budget sees the packed creates first.
    // They are built-in cases: a run of only the user's own fixtures has none.
    let mut fixtures = fixtures;
    if config.fixtures.builtin {
        fixtures.extend(crate::cases::coverage::cases(
            crate::cases::coverage::CoverContext {
                allow_writes: cx.may_write(),
            },
        ));
    }
    let total = fixtures.len() + properties.cases;
    let budget = config.max_writes.map(|max| Budget {
        left: max,
        max,
        covered: HashSet::new(),
    });
    Ok(Plan {
        fixture_count,
        total,
        probe_budget: config
            .max_writes
            .map_or(IDS_PROBES, |max| IDS_PROBES.min(max)),
        source: Source::Here {
            planner: Box::new(Planner {
                fixtures: Some(fixtures),
                properties,
                cx: cx.clone(),
                key: key.to_owned(),
                seed,
                next_index: 0,
                budget,
            }),
            properties: None,
        },
    })
}

/// A plan of recorded requests (`amp-conformance replay`): sent as they were, but under the
/// same safety rules (CONTRACT.md §6) as a run; the page's demand is computed again.
fn replay_plan(replay: &[(Case, WireRequest)], cx: &PlanContext, key: &str) -> Plan {
    let mut batch = Batch {
        ready: Vec::new(),
        skipped: Vec::new(),
        trees: HashMap::new(),
        probe_budget: 0,
    };
    for (index, (case, wire)) in replay.iter().enumerate() {
        // Recorded bytes are sent as they are: a request the gate would change is not sent.
        let skip = if case.writes() && !cx.may_write() {
            Some("creates a report: pass --allow-writes to replay it".to_owned())
        } else if wire.may_suspend() && !cx.embedded && !cx.allow_suspend {
            Some("sends a suspending suspend_method: pass --allow-suspend to replay it".to_owned())
        } else {
            match cx.guard(wire.clone(), None) {
                Err(reason) => Some(reason),
                Ok(guarded) if guarded != *wire => Some(
                    "names a service id this replay may not name (a lenient server could create \
                     a report for it): pass the run's --service and --missing-service-id"
                        .to_owned(),
                ),
                Ok(_) => None,
            }
        };
        match skip {
            Some(reason) => batch.skipped.push((
                index,
                Skipped {
                    case: case.clone(),
                    reason,
                },
            )),
            None => batch.ready.push((
                index,
                Ready {
                    case: case.clone(),
                    wire: wire.clone(),
                    stored: None,
                    documented: wire.documented(key, cx),
                },
            )),
        }
    }
    Plan {
        fixture_count: 0,
        total: replay.len(),
        probe_budget: 0,
        source: Source::Whole(Some(batch)),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
