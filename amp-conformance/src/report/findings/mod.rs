//! Findings: the checks of a run grouped by root cause, and the known failures matched against
//! them.
//!
//! A server that answers every error with HTTP 400 breaks R-STATUS in a hundred checks; the
//! reports say so once. Checks that end in the same class under the same rule with the same
//! *deviation* form one [`Finding`]. The deviation is the judge's typed statement of what
//! differs ([`Deviation`]): the HTTP status and the outcome (`success` or the AMP code) of the
//! answer against the outcome due; for status and content-type matters (R-STATUS, R-BODY's
//! 413) the status and media type; for stored values the fields that differ. Its slug leaves
//! out descriptions, report ids and values. A finding's [name](Finding::name), `RULE:slug`
//! such as `R-STATUS:http-400-instead-of-200`, is a function of the rule and the deviation
//! ([`name`]) and of nothing else, so it is the same for every seed and every order of the checks, and a
//! `--known-failures` file can name it ([`RunReport::apply_known_failures`]).

use std::collections::{BTreeMap, HashSet};

use amp_contract::rules::Rule;
use serde::Serialize;

use super::{CheckResult, RunReport, render};
use crate::judge::{Class, Deviation};

/// How many of the smallest reproductions a finding keeps.
pub const EXAMPLES: usize = 3;

/// Checks that fail the same rule in the same way: one root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable name, `RULE:slug` (e.g. `R-STATUS:http-400-instead-of-200`): the same for every
    /// seed and every check order; a `--known-failures` entry may name it.
    pub name: String,
    /// Outcome class of every check in it.
    pub class: Class,
    /// The rule every check in it concerns.
    pub rule: Rule,
    /// What differs, in one line (`HTTP 400 instead of HTTP 200`).
    pub summary: String,
    /// How many checks.
    pub count: usize,
    /// How many of them are known failures.
    pub known_failures: usize,
    /// The check ids, in run order.
    pub checks: Vec<String>,
    /// The checks with the shortest reproductions (at most [`EXAMPLES`]), shortest first.
    pub examples: Vec<Example>,
}

/// One check of a finding, shown as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// Check id.
    pub check: String,
    /// What came back.
    pub actual: String,
    /// Why it is a finding.
    pub reason: String,
    /// The reproduction, when the check has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduction: Option<String>,
}

/// What makes checks one finding, with the class: the rule and the slug of the typed
/// deviation (`report::render::slug`).
fn slug_of(check: &CheckResult) -> String {
    check
        .deviation
        .as_ref()
        .map_or_else(|| "other".to_owned(), render::slug)
}

/// A finding's name: `RULE:slug`, a function of the rule and the typed deviation alone (the
/// class is added only where two classes share both).
pub fn name(rule: Rule, deviation: Option<&Deviation>) -> String {
    let slug = deviation.map_or_else(|| "other".to_owned(), render::slug);
    format!("{rule}:{slug}")
}

/// Whether a check of this class is grouped into a finding (INFO included: recorded
/// behaviour is shown once per kind too).
pub fn grouped(class: Class) -> bool {
    matches!(
        class,
        Class::Fail | Class::NonStrict | Class::Error | Class::Info
    )
}

/// Findings first by how much they matter: FAIL, ERROR, NON-STRICT, INFO.
fn severity(class: Class) -> u8 {
    match class {
        Class::Fail => 0,
        Class::Error => 1,
        Class::NonStrict => 2,
        Class::Info => 3,
        Class::Skipped => 4,
        Class::Pass => 5,
    }
}

/// The findings of `checks` (FAIL, ERROR, NON-STRICT and INFO checks), most severe first,
/// then the largest; ties by name.
pub fn group(checks: &[CheckResult]) -> Vec<Finding> {
    let mut tally = Tally::default();
    for check in checks {
        tally.add(check);
    }
    tally.findings()
}

/// How many check ids a finding lists (its `count` says how many it has).
pub const LISTED_CHECKS: usize = 1000;

/// Every check of a run, counted as it comes: by class, by finding (with the smallest
/// reproductions and the first check ids), and the skipped ones by reason. What the reports
/// need of a run of a million checks, in memory independent of their number.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    groups: BTreeMap<(u8, Rule, String), Group>,
    counts: BTreeMap<Class, usize>,
    /// Checks by class that are not known failures (what fails a run).
    unaccepted: BTreeMap<Class, usize>,
    skipped: BTreeMap<String, usize>,
    total: usize,
}

/// One finding under way.
#[derive(Debug, Clone)]
struct Group {
    class: Class,
    summary: String,
    count: usize,
    known_failures: usize,
    checks: Vec<String>,
    /// The smallest examples so far, smallest first.
    examples: Vec<((bool, usize), Example)>,
}

/// How many distinct skip reasons are kept apart; the rest are counted together.
const SKIP_REASONS: usize = 64;

impl Tally {
    /// Counts `check`.
    pub fn add(&mut self, check: &CheckResult) {
        self.total += 1;
        *self.counts.entry(check.class).or_insert(0) += 1;
        if !check.known_failure {
            *self.unaccepted.entry(check.class).or_insert(0) += 1;
        }
        if check.class == Class::Skipped {
            let reason =
                if self.skipped.len() < SKIP_REASONS || self.skipped.contains_key(&check.reason) {
                    check.reason.clone()
                } else {
                    "other reasons".to_owned()
                };
            *self.skipped.entry(reason).or_insert(0) += 1;
        }
        if !grouped(check.class) {
            return;
        }
        let summary = check
            .deviation
            .as_ref()
            .map_or_else(|| check.title.clone(), render::summary);
        let group = self
            .groups
            .entry((severity(check.class), check.rule, slug_of(check)))
            .or_insert_with(|| Group {
                class: check.class,
                summary: summary.clone(),
                count: 0,
                known_failures: 0,
                checks: Vec::new(),
                examples: Vec::new(),
            });
        group.count += 1;
        group.known_failures += usize::from(check.known_failure);
        if summary < group.summary {
            group.summary = summary;
        }
        if group.checks.len() < LISTED_CHECKS {
            group.checks.push(check.id.clone());
        }
        // The shortest reproductions first; checks without one (stored values, stateful
        // checks) after them, by the length of what came back.
        let size = match &check.reproduction {
            Some(repro) => (false, repro.len()),
            None => (true, check.actual.len()),
        };
        // Compared borrowed; only an example that is kept is copied.
        let key = (size, check.reproduction.as_deref(), check.id.as_str());
        let smaller = group.examples.len() < EXAMPLES
            || group.examples.last().is_some_and(|(worst, e)| {
                key < (*worst, e.reproduction.as_deref(), e.check.as_str())
            });
        if smaller {
            let example = Example {
                check: check.id.clone(),
                actual: check.actual.clone(),
                reason: check.reason.clone(),
                reproduction: check.reproduction.clone(),
            };
            group.examples.push((size, example));
            group.examples.sort_by(|(sa, a), (sb, b)| {
                (sa, a.reproduction.as_deref(), a.check.as_str()).cmp(&(
                    sb,
                    b.reproduction.as_deref(),
                    b.check.as_str(),
                ))
            });
            group.examples.truncate(EXAMPLES);
        }
    }

    /// How many checks were counted.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Counts by class, in class order.
    pub fn counts(&self) -> &BTreeMap<Class, usize> {
        &self.counts
    }

    /// Whether a check fails the run (`strict`: NON-STRICT too), known failures aside.
    pub fn fails(&self, strict: bool) -> bool {
        let n = |class| self.unaccepted.get(&class).copied().unwrap_or(0);
        n(Class::Fail) + n(Class::Error) > 0 || (strict && n(Class::NonStrict) > 0)
    }

    /// Skipped checks by reason.
    pub fn skipped(&self) -> &BTreeMap<String, usize> {
        &self.skipped
    }

    /// The findings, most severe first, then the largest; ties by name.
    pub fn findings(&self) -> Vec<Finding> {
        let mut names = HashSet::new();
        let mut findings: Vec<Finding> = self
            .groups
            .iter()
            .map(|((_, rule, slug), group)| {
                let mut name = format!("{rule}:{slug}");
                if !names.insert(name.clone()) {
                    // The same rule and deviation in another class (rare): the less severe
                    // one says its class.
                    name = format!("{name}-{}", render::slugify(&group.class.to_string()));
                    names.insert(name.clone());
                }
                Finding {
                    name,
                    class: group.class,
                    rule: *rule,
                    summary: group.summary.clone(),
                    count: group.count,
                    known_failures: group.known_failures,
                    checks: group.checks.clone(),
                    examples: group.examples.iter().map(|(_, e)| e.clone()).collect(),
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            severity(a.class)
                .cmp(&severity(b.class))
                .then(b.count.cmp(&a.count))
                .then_with(|| a.name.cmp(&b.name))
        });
        findings
    }
}

/// Reads a `--known-failures` file: one entry a line (a check id, a rule id or a finding
/// name); `#` starts a comment at the beginning of a line or after whitespace (a check id such
/// as `success/notes-exact#stored` keeps its `#`); blank lines are ignored.
///
/// ```
/// use amp_conformance::report::findings::parse_known_failures;
/// let entries = parse_known_failures(
///     "# accepted until the next release\nR-SUSPEND\n\nsuccess/notes-exact#stored  # ticket 12\n",
/// );
/// assert!(entries.contains("R-SUSPEND"));
/// assert!(entries.contains("success/notes-exact#stored"));
/// assert_eq!(entries.len(), 2);
/// ```
pub fn parse_known_failures(text: &str) -> HashSet<String> {
    text.lines()
        .map(|line| {
            let comment = line
                .char_indices()
                .find(|&(at, c)| {
                    c == '#'
                        && line[..at]
                            .chars()
                            .next_back()
                            .is_none_or(char::is_whitespace)
                })
                .map_or(line.len(), |(at, _)| at);
            line[..comment].trim()
        })
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `check` is accepted by `entries` (its id, its rule or its finding's name), and
/// which entry accepted it. Only FAIL and NON-STRICT checks can be known failures.
pub(crate) fn accepted_by<'e>(check: &CheckResult, entries: &'e HashSet<String>) -> Vec<&'e str> {
    if !matches!(check.class, Class::Fail | Class::NonStrict) {
        return Vec::new();
    }
    let finding = name(check.rule, check.deviation.as_ref());
    [check.id.as_str(), check.rule.id(), finding.as_str()]
        .into_iter()
        .filter_map(|key| entries.get(key).map(String::as_str))
        .collect()
}

impl RunReport {
    /// The findings of the run: its FAIL, ERROR, NON-STRICT and INFO checks grouped by root
    /// cause (see the [module](crate::report::findings) documentation).
    pub fn findings(&self) -> Vec<Finding> {
        self.checks.tally().findings()
    }

    /// Marks as known failures the FAIL and NON-STRICT checks whose id, rule or finding name
    /// is in `entries`; each entry that marked none is kept (see
    /// [`RunReport::unmatched_known_failures`]), so that stale entries can be removed. Then
    /// recomputes `passed`.
    pub fn apply_known_failures(&mut self, entries: &HashSet<String>) {
        self.checks.accept(entries);
        let mut unmatched: Vec<String> = entries
            .iter()
            .filter(|e| !self.checks.matched().contains(e.as_str()))
            .cloned()
            .collect();
        unmatched.sort();
        self.unmatched_known_failures = unmatched;
        self.settle();
    }

    /// The `--known-failures` entries that matched no FAIL or NON-STRICT check, sorted.
    pub fn unmatched_known_failures(&self) -> Vec<&str> {
        self.unmatched_known_failures
            .iter()
            .map(String::as_str)
            .collect()
    }

    /// The run-level notes.
    pub fn plain_notes(&self) -> impl Iterator<Item = &str> {
        self.notes.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
