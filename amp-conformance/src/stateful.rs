//! The stateful checks, a case source over the whole run: D-UNIQUE and R-IDS across every create
//! the run made (with sequential probes only where the run offers no ordered pair), and
//! D-DEFAULTS through the observer, judged at both layers.

use std::time::Instant;

use amp_contract::rules::Rule;

use amp_contract::{ResolvedCreate, documented};
use futures_util::StreamExt;

use crate::cases::{Case, Expectation, Origin, RequestSpec};
use crate::config::{MARKER, Observing};
use crate::judge::stored::{compare_stored, stored_class};
use crate::judge::{self, Class, Deviation, Profile};
use crate::observer::read_record;
use crate::plan::{self, PlanContext, Planned};
use crate::report::CheckResult;
use crate::report::checks::{Stateful, finish};
use crate::send::Sent;
use crate::target::Target;

/// Sequential creates sent for R-IDS when the run's own creates give no ordered pair (a create
/// answered before another was sent), budget permitting.
/// The R-IDS check over the run's creates.
pub(crate) const R_IDS: &str = "stateful/r-ids";
/// The D-UNIQUE check over the run's creates.
pub(crate) const D_UNIQUE: &str = "stateful/d-unique";
/// The D-DEFAULTS check when no observer is given (one `<case>#stored` check per create
/// otherwise).
pub(crate) const D_DEFAULTS: &str = "stateful/d-defaults";

/// D-UNIQUE across runs, through the baseline directory's memory of ids.
pub(crate) const ACROSS_RUNS: &str = "stateful/ids-across-runs";

/// The checks this source adds to a run, as `list` shows them: id, rule, title.
pub(crate) const CHECKS: [(&str, Rule, &str); 4] = [
    (
        ACROSS_RUNS,
        Rule::DUnique,
        "report ids are never reused across runs (the baseline remembers them)",
    ),
    (
        R_IDS,
        Rule::RIds,
        "report ids increase strictly (creates answered before another was sent)",
    ),
    (
        D_UNIQUE,
        Rule::DUnique,
        "no two successful creates share a report_id",
    ),
    (
        "<case>#stored",
        Rule::DDefaults,
        "each create's stored report, through an observer, at both layers",
    ),
];

/// A successful create of the run: what the stateful checks need of it.
#[derive(Debug, Clone)]
pub(crate) struct Created {
    /// The check that made it.
    pub(crate) check: String,
    /// Its `report_id`.
    pub(crate) id: u64,
    /// What a conforming server stores for it (the reference layer's exact values).
    pub(crate) stored: Option<ResolvedCreate>,
    /// The page's verdict on its request.
    pub(crate) documented: documented::Verdict,
    /// When it was sent and answered.
    pub(crate) sent: Sent,
}

/// What R-IDS and D-UNIQUE keep of each create over the whole run (a deep run keeps this much,
/// not the create).
#[derive(Debug, Clone)]
pub(crate) struct IdSeen {
    /// The check that made it.
    pub(crate) check: String,
    /// Its `report_id`.
    pub(crate) id: u64,
    /// When it was sent and answered.
    pub(crate) sent: Sent,
}

impl From<&Created> for IdSeen {
    fn from(created: &Created) -> Self {
        Self {
            check: created.check.clone(),
            id: created.id,
            sent: created.sent,
        }
    }
}

/// R-IDS over creates sent concurrently: wherever one create was answered before another was
/// sent, the later one's id must be larger. Returns the number of such ordered pairs the run
/// offers, and the first violations (earlier create, its id, later create, its id).
fn ids_in_order(created: &[IdSeen]) -> (usize, Vec<(String, u64, String, u64)>) {
    let mut by_answer: Vec<&IdSeen> = created.iter().collect();
    by_answer.sort_by_key(|c| c.sent.answered);
    let mut by_send: Vec<&IdSeen> = created.iter().collect();
    by_send.sort_by_key(|c| c.sent.at);
    let (mut pairs, mut seen, mut highest) = (0usize, 0usize, None::<&IdSeen>);
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
                violations.push((
                    earlier.check.clone(),
                    earlier.id,
                    later.check.clone(),
                    later.id,
                ));
            }
        }
    }
    (pairs, violations)
}

/// What R-IDS and D-UNIQUE keep of a run's creates, in memory independent of their number:
/// the ids as ranges, the ordered pairs counted batch by batch (every create of a batch was
/// sent after every create of the batches before it was answered), the first violations, and
/// the check names of the first creates (to name them in a finding).
#[derive(Debug, Default)]
pub(crate) struct IdLedger {
    count: usize,
    pairs: usize,
    /// The create with the highest id among the earlier batches'.
    highest: Option<(String, u64)>,
    violations: Vec<(String, u64, String, u64)>,
    ids: IdSet,
    repeated: Vec<(u64, String)>,
    named: Vec<(u64, String)>,
}

/// How many violations, repeats and named creates a ledger keeps.
const LEDGER_SAMPLES: usize = 64;

impl IdLedger {
    /// Adds the creates of one batch.
    pub(crate) fn add_batch(&mut self, batch: &[IdSeen]) {
        let (pairs, violations) = ids_in_order(batch);
        self.pairs += pairs + self.count * batch.len();
        if let Some((earlier, highest)) = &self.highest {
            for later in batch.iter().filter(|c| c.id <= *highest) {
                self.violations
                    .push((earlier.clone(), *highest, later.check.clone(), later.id));
            }
        }
        self.violations.extend(violations);
        self.violations.truncate(3);
        for create in batch {
            if !self.ids.insert(create.id) && self.repeated.len() < LEDGER_SAMPLES {
                self.repeated.push((create.id, create.check.clone()));
            }
            if self.named.len() < LEDGER_SAMPLES {
                self.named.push((create.id, create.check.clone()));
            }
        }
        if let Some(top) = batch.iter().max_by_key(|c| c.id) {
            if self.highest.as_ref().is_none_or(|(_, h)| top.id > *h) {
                self.highest = Some((top.check.clone(), top.id));
            }
        }
        self.count += batch.len();
    }

    /// How many creates.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The ids as sorted, disjoint, inclusive ranges.
    pub(crate) fn ranges(&self) -> &[(u64, u64)] {
        &self.ids.0
    }

    /// The check that got `id`, when it is among the first creates.
    fn check_of(&self, id: u64) -> String {
        self.named
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| "a create".to_owned(), |(_, c)| c.clone())
    }
}

/// A set of ids as sorted, disjoint, inclusive ranges: a run's ids mostly follow each other.
#[derive(Debug, Default)]
struct IdSet(Vec<(u64, u64)>);

impl IdSet {
    /// Adds `id`; false if it was there.
    fn insert(&mut self, id: u64) -> bool {
        let at = self.0.partition_point(|&(_, end)| end < id);
        if self.0.get(at).is_some_and(|&(start, _)| start <= id) {
            return false;
        }
        let joins_previous = at > 0 && self.0[at - 1].1.checked_add(1) == Some(id);
        let joins_next = self
            .0
            .get(at)
            .is_some_and(|&(start, _)| id.checked_add(1) == Some(start));
        match (joins_previous, joins_next) {
            (true, true) => {
                self.0[at - 1].1 = self.0[at].1;
                self.0.remove(at);
            }
            (true, false) => self.0[at - 1].1 = id,
            (false, true) => self.0[at].0 = id,
            (false, false) => self.0.insert(at, (id, id)),
        }
        true
    }
}

/// The class of a deviation the page allows under `profile`.
fn deviation_class(profile: Profile) -> Class {
    match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    }
}

/// D-UNIQUE and R-IDS across every create of the run (with sequential probes where the run gave
/// no ordered pair), and, without an observer, the SKIPPED D-DEFAULTS check.
pub(crate) async fn stateful(
    config: Observing<'_>,
    cx: &PlanContext,
    target: &Target,
    mut created: IdLedger,
    probes: usize,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let probe = ids_probe();
    // Sequential probes are sent only when the run's own creates give no ordered pair, budget
    // permitting.
    let mut probe_problem = None;
    if created.pairs == 0 && probes >= 2 {
        probe_problem = send_probes(&probe, config, cx, target, probes, &mut created).await;
    }
    out.push(match probe_problem {
        Some(problem) if problem.class != Class::Pass => problem,
        _ => r_ids(&created, &probe.title, config.profile),
    });
    out.push(d_unique(&created));
    if config.observer.is_none() {
        out.push(
            Stateful {
                id: D_DEFAULTS,
                rule: Rule::DDefaults,
                title: "stored values and defaults, read back through an observer",
                expected: "stored values as sent, defaults applied",
            }
            .skipped(
                "no observer".to_owned(),
                "needs an observer: pass --observe-url TEMPLATE or --observe-cmd CMD".to_owned(),
            ),
        );
    }
    out
}

/// The R-IDS probe: a plain create naming a service of the run (the parameter that is looked
/// up, `service_id`).
fn ids_probe() -> Case {
    let lookup_field = <amp_contract::CreateAbuseReport as amp_contract::Action>::FIELDS
        .iter()
        .find(|f| f.lookup)
        .map(|f| f.name.as_bytes());
    let form = amp_contract::Action::to_form(&amp_contract::CreateAbuseReport::new(
        1,
        "amp-conformance R-IDS probe",
    ));
    let pairs = form
        .iter()
        .map(|(k, v)| {
            let value = if v == b"1" && Some(k) == lookup_field {
                b"{service}".to_vec()
            } else {
                v.to_vec()
            };
            (k.to_vec(), value)
        })
        .collect();
    Case {
        id: R_IDS.to_owned(),
        rules: vec![Rule::RIds, Rule::DUnique],
        title: "report ids increase strictly (creates answered before another was sent)".to_owned(),
        request: RequestSpec::form(pairs),
        expect: Expectation::Success,
        origin: Origin::Stateful,
        admin_notes_under_test: false,
    }
}

/// Sends `probes` sequential creates, adding their ids to `created`; a probe that got no id is
/// itself a finding, judged like any create, and returned.
async fn send_probes(
    probe: &Case,
    config: Observing<'_>,
    cx: &PlanContext,
    target: &Target,
    probes: usize,
    created: &mut IdLedger,
) -> Option<CheckResult> {
    let Planned::Send(ready) = plan::plan(probe.clone(), cx, target.key().expose(), 0) else {
        return None;
    };
    for _ in 0..probes {
        let at = Instant::now();
        let answer = target.send(&ready.wire).await;
        let sent = Sent {
            at,
            answered: Instant::now(),
        };
        let verdict = judge::judge(&ready.case, &ready.documented, &answer, config.profile);
        match verdict.report_id() {
            Some(id) if verdict.class != Class::Fail => created.add_batch(&[IdSeen {
                check: probe.id.clone(),
                id,
                sent,
            }]),
            _ => return Some(finish(&ready, &verdict, target, answer.as_ref().ok(), None)),
        }
    }
    None
}

fn r_ids(created: &IdLedger, title: &str, profile: Profile) -> CheckResult {
    let (pairs, violations) = (created.pairs, created.violations.clone());
    let check = Stateful {
        id: R_IDS,
        rule: Rule::RIds,
        title,
        expected: "strictly increasing ids",
    };
    let actual = format!("{} creates, {pairs} ordered pairs", created.count);
    if pairs == 0 {
        return check.skipped(
            format!(
                "{} creates, none answered before another was sent",
                created.count
            ),
            "needs two creates in sequence (--allow-writes, --service, and --max-writes of at \
             least 2)"
                .to_owned(),
        );
    }
    if violations.is_empty() {
        return check.result(Class::Pass, actual, None);
    }
    let deviation = Deviation::IdsNotIncreasing { pairs: violations };
    check.result(deviation_class(profile), actual, Some(deviation))
}

fn d_unique(created: &IdLedger) -> CheckResult {
    let check = Stateful {
        id: D_UNIQUE,
        rule: Rule::DUnique,
        title: "no two successful creates share a report_id",
        expected: "unique ids",
    };
    if created.count < 2 {
        return check.skipped(
            "fewer than two creates".to_owned(),
            "needs at least two successful creates (--allow-writes and --service)".to_owned(),
        );
    }
    let repeated = created.repeated.clone();
    let actual = format!("{} creates", created.count);
    if repeated.is_empty() {
        return check.result(Class::Pass, actual, None);
    }
    check.result(
        Class::Fail,
        actual,
        Some(Deviation::IdsRepeated { ids: repeated }),
    )
}

/// D-DEFAULTS through the observer, at both layers, for a batch of creates (nothing without an
/// observer: [`stateful`] says so once).
pub(crate) async fn stored_checks(
    config: Observing<'_>,
    target: &Target,
    created: &[Created],
) -> Vec<CheckResult> {
    let Some(observer) = config.observer else {
        return Vec::new();
    };
    // Reports are read back as many at a time as the run sends requests.
    let observed = created.iter().filter(|c| c.stored.is_some());
    futures_util::stream::iter(observed.map(|created| async move {
        let record = read_record(observer, created.id, target, config.timeout).await;
        stored_check(created, record, config.profile)
    }))
    .buffered(config.concurrency.max(1))
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// One create's stored values against what the reference layer stores for its request.
fn stored_check(
    created: &Created,
    record: Result<amp_contract::ReportRecord, String>,
    profile: Profile,
) -> Option<CheckResult> {
    let expected = created.stored.as_ref()?;
    let id = format!("{}#stored", created.check);
    let check = |rule| Stateful {
        id: &id,
        rule,
        title: "the stored report holds what was sent and the defaults",
        expected: "stored values as sent, defaults applied",
    };
    let report_id = created.id;
    let mut result = match record {
        Err(error) => check(Rule::DDefaults).result(
            Class::Error,
            error.clone(),
            Some(Deviation::Unobservable { error }),
        ),
        Ok(record) => {
            let diffs = compare_stored(expected, &record);
            let (class, rule) = stored_class(&diffs, &created.documented, profile);
            if diffs.is_empty() {
                check(rule).result(class, format!("report {report_id} as expected"), None)
            } else {
                let actual = crate::report::render::stored(report_id, &diffs);
                check(rule).result(class, actual, Some(Deviation::Stored { report_id, diffs }))
            }
        }
    };
    result.rules = vec![Rule::DDefaults, result.rule];
    result.rules.dedup();
    Some(result)
}

/// The run id in a stored `admin_notes` purge marker, if it carries one.
fn marked_run(notes: &str) -> Option<&str> {
    let at = notes.find(MARKER)? + MARKER.len();
    let rest = &notes[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|run| !run.is_empty())
}

/// D-UNIQUE across runs, through the baseline directory's memory of ids (CONTRACT.md
/// D-UNIQUE): an id an earlier run got, answered again, is a `FAIL` only where the observer
/// shows the earlier report still stored under it (its `admin_notes` carry another run's
/// marker); without that evidence the ids restarted (a fresh database), which is `INFO`. This
/// run's ids are then remembered (when `write`).
pub(crate) async fn across_runs(
    dir: &std::path::Path,
    ids: &IdLedger,
    run_id: &str,
    write: bool,
    observe: Option<(&crate::observer::Observer, &Target, std::time::Duration)>,
) -> CheckResult {
    use crate::memory::IdMemory;
    let check = Stateful {
        id: ACROSS_RUNS,
        rule: Rule::DUnique,
        title: "report ids are never reused across runs (the baseline remembers them)",
        expected: "ids never seen before, or seen before with no earlier report still stored",
    };
    let mut memory = match IdMemory::load(dir) {
        Ok(memory) => memory,
        Err(e) => return check.skipped(e.clone(), e),
    };
    let earlier = memory.clone();
    if write {
        memory.add_ranges(ids.ranges(), run_id);
        if let Err(e) = memory.save(dir) {
            let why = format!("cannot remember the ids in {}: {e}", dir.display());
            return check.skipped(why.clone(), why);
        }
    }
    if earlier.ranges.is_empty() {
        return check.skipped(
            format!("{} ids", ids.count()),
            format!(
                "no earlier run is remembered in {}: this run's ids are{} kept for the next",
                dir.display(),
                if write { "" } else { " not (CI)" }
            ),
        );
    }
    // The ids of this run that earlier runs got: the ranges' overlaps.
    let again: Vec<(u64, u64)> = ids
        .ranges()
        .iter()
        .flat_map(|&(start, end)| {
            earlier.ranges.iter().filter_map(move |&(s, e)| {
                let (from, to) = (start.max(s), end.min(e));
                (from <= to).then_some((from, to))
            })
        })
        .collect();
    let again_count: u64 = again.iter().map(|(from, to)| to - from + 1).sum();
    let first_again = || {
        again
            .iter()
            .flat_map(|&(from, to)| from..=to)
            .map(|id| (id, ids.check_of(id)))
    };
    let actual = format!(
        "{} ids, {again_count} seen by earlier runs; the highest seen before is {} (run {})",
        ids.count(),
        earlier.highest,
        earlier.highest_run
    );
    if again.is_empty() {
        return check.result(Class::Pass, actual, None);
    }
    // The evidence: the report stored under each repeated id, read back.
    let mut reused = Vec::new();
    if let Some((observer, target, timeout)) = observe {
        for (id, check) in first_again().take(20) {
            let Ok(record) = read_record(observer, id, target, timeout).await else {
                continue;
            };
            if let Some(run) = marked_run(&record.values.admin_notes).filter(|r| *r != run_id) {
                reused.push((id, check, run.to_owned()));
            }
        }
    }
    if !reused.is_empty() {
        return check.result(
            Class::Fail,
            actual,
            Some(Deviation::IdsReused { ids: reused }),
        );
    }
    let restarted = Deviation::IdsRestarted {
        ids: first_again().take(5).collect(),
        runs: earlier.runs.clone(),
    };
    check.result(Class::Info, actual, Some(restarted))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn create(check: &str, id: u64, at: Instant, answered: Instant) -> IdSeen {
        IdSeen {
            check: check.to_owned(),
            id,
            sent: Sent { at, answered },
        }
    }

    /// Batch by batch, the ledger counts the ordered pairs the whole list would give (every
    /// create of a batch sent after every earlier one was answered) and finds the same
    /// violations and repeats, holding ranges instead of every create.
    #[test]
    fn the_ledger_counts_pairs_and_repeats_across_batches() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let first = [create("a", 1, ms(0), ms(5)), create("b", 2, ms(1), ms(6))];
        let second = [
            create("c", 3, ms(10), ms(12)),
            create("d", 2, ms(11), ms(13)),
        ];
        let mut ledger = IdLedger::default();
        ledger.add_batch(&first);
        ledger.add_batch(&second);
        let whole: Vec<IdSeen> = first.iter().chain(&second).cloned().collect();
        assert_eq!(ledger.pairs, ids_in_order(&whole).0);
        assert_eq!(ledger.count(), 4);
        assert_eq!(ledger.repeated, [(2, "d".to_owned())]);
        assert_eq!(ledger.violations, [("b".to_owned(), 2, "d".to_owned(), 2)]);
        assert_eq!(ledger.ranges(), [(1, 3)]);
    }

    #[test]
    fn an_id_set_merges_neighbours() {
        let mut set = IdSet::default();
        for id in [5, 3, 4, 10, 12, 11, 1] {
            assert!(set.insert(id));
        }
        assert!(!set.insert(4));
        assert_eq!(set.0, [(1, 1), (3, 5), (10, 12)]);
        assert!(set.insert(2));
        assert_eq!(set.0, [(1, 5), (10, 12)]);
    }
}
