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
    group_indexed(checks).0
}

/// The findings, and for each check the index of its finding.
fn group_indexed(checks: &[CheckResult]) -> (Vec<Finding>, Vec<Option<usize>>) {
    // Keyed by severity (one class each), rule and slug: a BTreeMap, so names are given in an
    // order that does not depend on the order of the checks.
    type Key = (u8, Rule, String);
    let mut groups: BTreeMap<Key, Vec<(usize, String)>> = BTreeMap::new();
    for (index, check) in checks.iter().enumerate() {
        if !grouped(check.class) {
            continue;
        }
        let summary = check
            .deviation
            .as_ref()
            .map_or_else(|| check.title.clone(), render::summary);
        groups
            .entry((severity(check.class), check.rule, slug_of(check)))
            .or_default()
            .push((index, summary));
    }
    let mut names = HashSet::new();
    let mut findings = Vec::with_capacity(groups.len());
    let mut members_of = Vec::with_capacity(groups.len());
    for ((_, rule, slug), members) in groups {
        let Some(&(first, _)) = members.first() else {
            continue;
        };
        let class = checks[first].class;
        let mut name = format!("{rule}:{slug}");
        if !names.insert(name.clone()) {
            // The same rule and deviation in another class (rare): the less severe one says
            // its class.
            name = format!("{name}-{}", render::slugify(&class.to_string()));
            names.insert(name.clone());
        }
        let summary = members
            .iter()
            .map(|(_, summary)| summary.as_str())
            .min()
            .unwrap_or_default()
            .to_owned();
        let mut smallest: Vec<&CheckResult> = members.iter().map(|&(i, _)| &checks[i]).collect();
        // The shortest reproductions first; checks without one (stored values, stateful
        // checks) after them, by the length of what came back.
        smallest.sort_by(|a, b| {
            let size = |c: &CheckResult| match &c.reproduction {
                Some(repro) => (false, repro.len()),
                None => (true, c.actual.len()),
            };
            size(a)
                .cmp(&size(b))
                .then_with(|| a.reproduction.cmp(&b.reproduction))
                .then_with(|| a.id.cmp(&b.id))
        });
        findings.push(Finding {
            name,
            class,
            rule,
            summary,
            count: members.len(),
            known_failures: members
                .iter()
                .filter(|&&(i, _)| checks[i].known_failure)
                .count(),
            checks: members.iter().map(|&(i, _)| checks[i].id.clone()).collect(),
            examples: smallest
                .into_iter()
                .take(EXAMPLES)
                .map(|c| Example {
                    check: c.id.clone(),
                    actual: c.actual.clone(),
                    reason: c.reason.clone(),
                    reproduction: c.reproduction.clone(),
                })
                .collect(),
        });
        members_of.push(members.into_iter().map(|(i, _)| i).collect::<Vec<_>>());
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&findings[a], &findings[b]);
        severity(a.class)
            .cmp(&severity(b.class))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut of_check = vec![None; checks.len()];
    for (position, &old) in order.iter().enumerate() {
        for &check in &members_of[old] {
            of_check[check] = Some(position);
        }
    }
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    let findings = order
        .iter()
        .filter_map(|&old| slots.get_mut(old).and_then(Option::take))
        .collect();
    (findings, of_check)
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

impl RunReport {
    /// The findings of the run: its FAIL, ERROR, NON-STRICT and INFO checks grouped by root
    /// cause (see the [module](crate::report::findings) documentation).
    pub fn findings(&self) -> Vec<Finding> {
        group(&self.checks)
    }

    /// Marks as known failures the FAIL and NON-STRICT checks whose id, rule or finding name
    /// is in `entries`; each entry that marked none is kept (see
    /// [`RunReport::unmatched_known_failures`]), so that stale entries can be removed. Then
    /// recomputes `passed`.
    pub fn apply_known_failures(&mut self, entries: &HashSet<String>) {
        let (findings, of_check) = group_indexed(&self.checks);
        let mut matched: HashSet<&str> = HashSet::new();
        for (check, finding) in self.checks.iter_mut().zip(&of_check) {
            check.known_failure = false;
            if !matches!(check.class, Class::Fail | Class::NonStrict) {
                continue;
            }
            let name = finding
                .and_then(|f| findings.get(f))
                .map(|f| f.name.as_str());
            for key in [Some(check.id.as_str()), Some(check.rule.id()), name]
                .into_iter()
                .flatten()
            {
                if let Some(entry) = entries.get(key) {
                    matched.insert(entry.as_str());
                    check.known_failure = true;
                }
            }
        }
        let mut unmatched: Vec<String> = entries
            .iter()
            .filter(|e| !matched.contains(e.as_str()))
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
