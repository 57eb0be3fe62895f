//! The stateful checks, a case source over the whole run: D-UNIQUE and R-IDS across every create
//! the run made (with sequential probes only where the run offers no ordered pair), and
//! D-DEFAULTS through the observer, judged at both layers.

use amp_contract::rules::Rule;
use std::collections::HashSet;
use std::time::Instant;

use amp_contract::{ResolvedCreate, documented};
use futures_util::StreamExt;

use super::{Case, Expectation, Origin, RequestSpec};
use crate::config::RunConfig;
use crate::judge::stored::{compare_stored, stored_class};
use crate::judge::{self, Class, Profile};
use crate::observer::read_record;
use crate::plan::{self, PlanContext, Planned};
use crate::report::CheckResult;
use crate::report::checks::{finish, stateful_result};
use crate::send::Sent;
use crate::target::Target;

/// Sequential creates sent for R-IDS when the run's own creates give no ordered pair (a create
/// answered before another was sent), budget permitting.
/// The R-IDS check over the run's creates.
pub const R_IDS: &str = "stateful/r-ids";
/// The D-UNIQUE check over the run's creates.
pub const D_UNIQUE: &str = "stateful/d-unique";
/// The D-DEFAULTS check when no observer is given (one `<case>#stored` check per create
/// otherwise).
pub const D_DEFAULTS: &str = "stateful/d-defaults";

/// D-UNIQUE across runs, through the baseline directory's memory of ids.
pub const ACROSS_RUNS: &str = "stateful/ids-across-runs";

/// The checks this source adds to a run, as `list` shows them: id, rule, title.
pub const CHECKS: [(&str, &str, &str); 4] = [
    (
        ACROSS_RUNS,
        Rule::DUnique.id(),
        "report ids are never reused across runs (the baseline remembers them)",
    ),
    (
        R_IDS,
        Rule::RIds.id(),
        "report ids increase strictly (creates answered before another was sent)",
    ),
    (
        D_UNIQUE,
        Rule::DUnique.id(),
        "no two successful creates share a report_id",
    ),
    (
        "<case>#stored",
        Rule::DDefaults.id(),
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
/// offers, and the first violations (later create, its id, earlier create, its id).
fn ids_in_order(created: &[IdSeen]) -> (usize, Vec<String>) {
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
                violations.push(format!(
                    "{} got {} after {} had got {}",
                    later.check, later.id, earlier.check, earlier.id
                ));
            }
        }
    }
    (pairs, violations)
}

/// D-UNIQUE and R-IDS across every create of the run (with sequential probes where the run gave
/// no ordered pair), and, without an observer, the SKIPPED D-DEFAULTS check.
pub(crate) async fn stateful(
    config: &RunConfig,
    cx: &PlanContext,
    target: &Target,
    mut created: Vec<IdSeen>,
    probes: usize,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    // R-IDS: ids of creates answered before another was sent must increase. Sequential probes
    // are sent only when the run's own creates give no such pair, budget permitting.
    // The probe names a service of the run: the parameter that is looked up (service_id).
    let lookup_field = <amp_contract::CreateAbuseReport as amp_contract::Action>::FIELDS
        .iter()
        .find(|f| f.lookup)
        .map(|f| f.name.as_bytes());
    let probe = Case {
        id: R_IDS.to_owned(),
        rules: vec![Rule::RIds.id().to_owned(), Rule::DUnique.id().to_owned()],
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
                    if v == b"1" && Some(k) == lookup_field {
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
                    Some(id) if verdict.class != Class::Fail => created.push(IdSeen {
                        check: probe.id.clone(),
                        id,
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
            R_IDS,
            Rule::RIds.id(),
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
            D_UNIQUE,
            Rule::DUnique.id(),
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
            D_UNIQUE,
            Rule::DUnique.id(),
            title,
            class,
            "unique ids",
            format!("{} creates", created.len()),
            reason,
        ));
    }
    if config.observer.is_none() {
        out.push(stateful_result(
            D_DEFAULTS,
            Rule::DDefaults.id(),
            "stored values and defaults, read back through an observer",
            Class::Skipped,
            "stored values as sent, defaults applied",
            "no observer".to_owned(),
            "needs an observer: pass --observe-url TEMPLATE or --observe-cmd CMD".to_owned(),
        ));
    }
    out
}

/// D-DEFAULTS through the observer, at both layers, for a batch of creates (nothing without an
/// observer: [`stateful`] says so once).
pub(crate) async fn stored_checks(
    config: &RunConfig,
    target: &Target,
    created: &[Created],
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let observed: Vec<&Created> = created.iter().filter(|c| c.stored.is_some()).collect();
    match &config.observer {
        None => {}
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
                    Err(e) => (Class::Error, Rule::DDefaults.id(), e.clone(), e),
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
                            let what: Vec<String> = diffs.iter().map(ToString::to_string).collect();
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
                result.rules = vec![Rule::DDefaults.id().to_owned(), rule.to_owned()];
                result.rules.dedup();
                out.push(result);
            }
        }
    }
    out
}

/// D-UNIQUE across runs: the ids this run got against the ids the baseline directory `dir`
/// remembers of the same target; then this run's ids are remembered (when `write`).
pub(crate) fn across_runs(
    dir: &std::path::Path,
    ids: &[IdSeen],
    run_id: &str,
    write: bool,
) -> CheckResult {
    use crate::memory::IdMemory;
    let title = "report ids are never reused across runs (the baseline remembers them)";
    let result = |class, rule: &str, actual: String, reason: String| {
        stateful_result(
            ACROSS_RUNS,
            rule,
            title,
            class,
            "ids never seen before",
            actual,
            reason,
        )
    };
    let mut memory = match IdMemory::load(dir) {
        Ok(memory) => memory,
        Err(e) => return result(Class::Skipped, Rule::DUnique.id(), e.clone(), e),
    };
    let earlier = memory.clone();
    if write {
        memory.add(ids.iter().map(|c| c.id), run_id);
        if let Err(e) = memory.save(dir) {
            let why = format!("cannot remember the ids in {}: {e}", dir.display());
            return result(Class::Skipped, Rule::DUnique.id(), why.clone(), why);
        }
    }
    if earlier.ranges.is_empty() {
        return result(
            Class::Skipped,
            Rule::DUnique.id(),
            format!("{} ids", ids.len()),
            format!(
                "no earlier run is remembered in {}: this run's ids are{} kept for the next",
                dir.display(),
                if write { "" } else { " not (CI)" }
            ),
        );
    }
    let reused: Vec<String> = ids
        .iter()
        .filter(|c| earlier.contains(c.id))
        .take(5)
        .map(|c| format!("{} (by {})", c.id, c.check))
        .collect();
    let actual = format!(
        "{} ids; the highest seen before is {} (run {})",
        ids.len(),
        earlier.highest,
        earlier.highest_run
    );
    if reused.is_empty() {
        return result(Class::Pass, Rule::DUnique.id(), actual, String::new());
    }
    result(
        Class::Fail,
        Rule::DUnique.id(),
        actual,
        format!(
            "run {run_id} got report ids that earlier runs had already got (runs {}): {}; a \
             server restarted with its id counter reset, or reusing deleted reports' ids",
            earlier.runs.join(", "),
            reused.join(", ")
        ),
    )
}
