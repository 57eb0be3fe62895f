//! Findings: the checks of a run grouped by root cause, and the known failures matched against
//! them.
//!
//! A server that answers every error with HTTP 400 breaks R-STATUS in a hundred checks; the
//! reports say so once. Checks that end in the same class under the same rule with the same
//! *deviation* form one [`Finding`]. The deviation is a normalised statement of what differs,
//! derived from the check's result ([`deviation`]): the HTTP status and the outcome (`success`
//! or the AMP code) of the answer against the outcome due, never descriptions, report ids or
//! other numbers; for status and content-type matters (R-STATUS, R-BODY's 413) the status and
//! media type; for stored values (`…#stored`) the names of the fields that differ. A finding's
//! [name](Finding::name), `RULE:slug` such as `R-STATUS:http-400-instead-of-200`, depends on
//! nothing else, so it is the same for every seed and every order of the checks, and a
//! `--known-failures` file can name it ([`RunReport::apply_known_failures`]).

use std::collections::{BTreeMap, HashSet};

use amp_contract::{Action, CreateAbuseReport};
use serde::Serialize;

use super::{CheckResult, RunReport};
use crate::judge::Class;

/// How many of the smallest reproductions a finding keeps.
pub const EXAMPLES: usize = 3;

/// The longest slug of a finding name, in bytes.
const SLUG_MAX: usize = 64;

/// Checks that fail the same rule in the same way: one root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable name, `RULE:slug` (e.g. `R-STATUS:http-400-instead-of-200`): the same for every
    /// seed and every check order; a `--known-failures` entry may name it.
    pub name: String,
    /// Outcome class of every check in it.
    pub class: Class,
    /// The rule every check in it concerns.
    pub rule: String,
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

/// The normalised statement of how a check departs from the contract: with the class and the
/// rule, what makes checks one finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deviation {
    /// One line for people (`HTTP 400 instead of HTTP 200`).
    pub summary: String,
    /// The same as a slug for the finding name (`http-400-instead-of-200`).
    pub slug: String,
}

impl Deviation {
    fn new(summary: impl Into<String>, slug: &str) -> Self {
        Self {
            summary: summary.into(),
            slug: slugify(slug),
        }
    }

    fn from_summary(summary: String) -> Self {
        let slug = slugify(&summary);
        Self { summary, slug }
    }
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
    type Key = (u8, String, String);
    let mut groups: BTreeMap<Key, Vec<(usize, Deviation)>> = BTreeMap::new();
    for (index, check) in checks.iter().enumerate() {
        if !grouped(check.class) {
            continue;
        }
        let deviation = deviation(check);
        groups
            .entry((
                severity(check.class),
                check.rule.clone(),
                deviation.slug.clone(),
            ))
            .or_default()
            .push((index, deviation));
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
            name = format!("{name}-{}", slugify(&class.to_string()));
            names.insert(name.clone());
        }
        let summary = members
            .iter()
            .map(|(_, d)| d.summary.as_str())
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

/// How `check` departs from the contract, normalised so that the same root cause gives the
/// same statement whatever the request, the seed, the report id or the wording of the answer.
pub fn deviation(check: &CheckResult) -> Deviation {
    if let Some(deviation) = status_deviation(&check.reason) {
        return deviation;
    }
    if check.id.ends_with("#stored") {
        if let Some(fields) = stored_fields(&check.actual) {
            let fields = fields.join(", ");
            return Deviation::new(
                format!("stored {fields} differ from what was sent"),
                &format!("stored {fields}"),
            );
        }
    }
    if check.class == Class::Error {
        return Deviation::from_summary(plain(&check.actual, false));
    }
    if let Some(answer) = Answer::parse(&check.actual) {
        return answer_deviation(check, &answer);
    }
    match plain(&check.reason, true) {
        reason if !reason.is_empty() => Deviation::from_summary(reason),
        _ => Deviation::from_summary(plain(&check.actual, true)),
    }
}

/// The reason without the shrinker's note.
fn unshrunk(reason: &str) -> &str {
    reason
        .find(" (shrunk in ")
        .map_or(reason, |at| &reason[..at])
}

/// R-STATUS and R-BODY's 413: `expected HTTP 200 with application/json, got HTTP 400 with
/// text/html` gives the status and the media type that differ.
fn status_deviation(reason: &str) -> Option<Deviation> {
    let rest = unshrunk(reason).strip_prefix("expected HTTP ")?;
    let (want, rest) = rest.split_once(" with application/json, got HTTP ")?;
    let want: u16 = want.parse().ok()?;
    let (got, content_type) = rest.split_once(" with ")?;
    let got: u16 = got.parse().ok()?;
    let media = match content_type {
        "no content type" => "no content type".to_owned(),
        other => other
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .chars()
            .take(60)
            .collect(),
    };
    let json = media == "application/json";
    Some(match (got != want, json) {
        (true, true) => Deviation::new(
            format!("HTTP {got} instead of HTTP {want}"),
            &format!("http {got} instead of {want}"),
        ),
        (false, false) => Deviation::new(
            format!("{media} instead of application/json"),
            &format!("{media} instead of application/json"),
        ),
        (true, false) => Deviation::new(
            format!("HTTP {got} with {media} instead of HTTP {want} with application/json"),
            &format!("http {got} {media} instead of {want} application/json"),
        ),
        (false, true) => return None,
    })
}

/// The fields a stored-value check names: `report 7: category "x", expected "y"; admin_notes
/// "a", expected "b"` gives `category`, `admin_notes`. Values are skipped as Rust string
/// literals, so text that looks like another field does not count.
fn stored_fields(actual: &str) -> Option<Vec<&str>> {
    let rest = actual.strip_prefix("report ")?;
    let (id, mut rest) = rest.split_once(": ")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        let (field, after) = rest.split_once(' ')?;
        CreateAbuseReport::field(field)?;
        fields.push(field);
        let after = skip_value(after)?.strip_prefix(", expected ")?;
        let after = skip_value(after)?;
        if after.is_empty() {
            return Some(fields);
        }
        rest = after.strip_prefix("; ")?;
    }
}

/// Skips one value: a `{:?}` string literal, or a bare word up to `,` or `;`.
fn skip_value(text: &str) -> Option<&str> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find([',', ';']).unwrap_or(text.len());
        return Some(&text[end..]);
    };
    let mut escaped = false;
    for (at, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&quoted[at + 1..]),
            _ => {}
        }
    }
    None
}

/// An answer as the judge writes it: `HTTP 400 AMP002 "…"`, `HTTP 200 success, report_id 7`,
/// `HTTP 500 HTML, not JSON: "…"`.
struct Answer {
    status: u16,
    outcome: Outcome,
}

enum Outcome {
    Success,
    Amp(String),
    /// Not an AMP answer: what the body is instead (`HTML, not JSON`, `redirect`).
    Other(String),
}

impl Answer {
    fn parse(actual: &str) -> Option<Self> {
        let rest = actual.strip_prefix("HTTP ")?;
        let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = status.parse().ok()?;
        let word = rest.split([' ', ',']).next().unwrap_or("");
        let outcome = if word == "success" {
            Outcome::Success
        } else if is_amp_code(word) {
            Outcome::Amp(word.to_owned())
        } else {
            Outcome::Other(body_kind(rest))
        };
        Some(Self { status, outcome })
    }

    /// `AMP002`, `success`, with the status when it is not 200; `HTTP 500 HTML, not JSON`.
    fn text(&self) -> String {
        match (&self.outcome, self.status) {
            (Outcome::Success, 200) => "success".to_owned(),
            (Outcome::Amp(code), 200) => code.clone(),
            (Outcome::Success, status) => format!("HTTP {status} success"),
            (Outcome::Amp(code), status) => format!("HTTP {status} {code}"),
            (Outcome::Other(kind), status) => format!("HTTP {status} {kind}"),
        }
    }

    fn word(&self) -> &str {
        match &self.outcome {
            Outcome::Success => "success",
            Outcome::Amp(code) => code,
            Outcome::Other(kind) => kind,
        }
    }
}

fn is_amp_code(word: &str) -> bool {
    word.len() == 6 && word.starts_with("AMP") && word[3..].bytes().all(|b| b.is_ascii_digit())
}

/// What a body that is not an AMP answer is, without its content.
fn body_kind(rest: &str) -> String {
    if rest.starts_with("redirect") {
        return "redirect".to_owned();
    }
    if rest.contains("not UTF-8") {
        return "not UTF-8, not JSON".to_owned();
    }
    if rest.starts_with("malformed JSON") {
        return "malformed JSON".to_owned();
    }
    if rest.starts_with("report_id ") && rest.contains(" is not a JSON integer") {
        return "report_id is not a JSON integer >= 1".to_owned();
    }
    plain(rest, true)
}

fn answer_deviation(check: &CheckResult, answer: &Answer) -> Deviation {
    let got = answer.text();
    // A 5xx or a body that is not an AMP answer is the deviation itself, whatever was due.
    if matches!(answer.outcome, Outcome::Other(_)) || answer.status >= 500 {
        return Deviation::from_summary(got);
    }
    let reason = unshrunk(&check.reason);
    if reason.contains("a valid API_ID was refused with AMP001") {
        return Deviation::new(
            format!("a valid API_ID is refused with {got}"),
            &format!("valid api_id refused {got}"),
        );
    }
    if reason.contains("but not in table order") {
        return Deviation::new(
            format!("{got} names the parameters out of table order"),
            &format!("{got} names out of table order"),
        );
    }
    if reason.contains("that value was accepted") {
        return Deviation::new(
            format!("{got} without naming the parameter whose value was accepted"),
            &format!("{got} value accepted"),
        );
    }
    if reason.contains("the description does not name") {
        return Deviation::new(
            format!("{got} does not name every rejected parameter"),
            &format!("{got} omits parameters"),
        );
    }
    // What was due: the page's demand when it decided, else the case's expectation.
    let due = reason
        .strip_prefix("the page demands ")
        .unwrap_or(&check.expected);
    let due = due.split([' ', ',']).next().unwrap_or("");
    if (due == "success" || is_amp_code(due)) && due != answer.word() {
        return Deviation::new(
            format!("{got} instead of {due}"),
            &format!("{got} instead of {due}"),
        );
    }
    Deviation::new(format!("answered {got}"), &format!("answered {got}"))
}

/// A text without what varies from check to check: quoted parts and numbers (as `N`); with
/// `clause`, only up to the first `:`.
fn plain(text: &str, clause: bool) -> String {
    let text = unshrunk(text);
    let text = if clause {
        text.split(':').next().unwrap_or("")
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                out.push('…');
            }
            '0'..='9' => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('N');
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let out = out.trim().trim_end_matches(['.', ',', ';']);
    let mut cut: String = out.chars().take(120).collect();
    if cut.len() < out.len() {
        cut.push('…');
    }
    cut
}

/// Lower-case ASCII letters, digits and `_`, words joined by `-`, at most [`SLUG_MAX`] bytes.
fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len().min(SLUG_MAX));
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > SLUG_MAX {
        let cut = slug[..SLUG_MAX].rfind('-').unwrap_or(SLUG_MAX);
        slug.truncate(cut);
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "other".to_owned()
    } else {
        slug.to_owned()
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
            for key in [Some(check.id.as_str()), Some(check.rule.as_str()), name]
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
