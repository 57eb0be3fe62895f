//! Building a check's result: from a sent case and its verdict, a skipped case and its reason,
//! or a stateful check; and scrubbing the key from a finished report.

use amp_contract::documented;

use amp_contract::rules::Rule;

use super::{CheckResult, RunReport, Shrunk, curl, render};
use crate::cases::recorded::Recorded;
use crate::cases::{Case, Origin};
use crate::judge::{Class, Deviation, Verdict};
use crate::plan::Ready;
use crate::target::{HttpAnswer, Secret, Target};

pub(crate) fn origin_text(case: &Case) -> String {
    match &case.origin {
        Origin::Fixture { path, line } => format!("{path}:{line}"),
        Origin::Property { generator, index } => format!("seed, {generator} #{index}"),
        Origin::Stateful => "stateful check over the run".to_owned(),
        Origin::Replay { report } => format!("replayed from {report}"),
    }
}

pub(crate) fn skipped_result(case: &Case, reason: String) -> CheckResult {
    let expected = case.expect.to_string();
    let check = Stateful {
        id: &case.id,
        rule: case.rule(),
        title: &case.title,
        expected: &expected,
    };
    CheckResult {
        rules: case.rules.clone(),
        origin: origin_text(case),
        ..check.skipped("not sent".to_owned(), reason)
    }
}

/// The result of a sent check. Its rules are the case's own and the reference rules its exact
/// request depends on (a generated create with `allow_unsuspend=on` names R-BOOL too).
pub(crate) fn finish(
    ready: &Ready,
    verdict: &Verdict,
    target: &Target,
    answer: Option<&HttpAnswer>,
    shrunk: Option<Shrunk>,
) -> CheckResult {
    let (case, wire) = (&ready.case, &ready.wire);
    let expected = case.expect.to_string();
    let finding = matches!(
        verdict.class,
        Class::Fail | Class::NonStrict | Class::Error | Class::Info
    );
    let mut rules = case.rules.clone();
    if let documented::Verdict::Silent { rules: silent, .. } = &ready.documented {
        for rule in silent {
            if !rules.contains(rule) {
                rules.push(*rule);
            }
        }
    }
    CheckResult {
        id: case.id.clone(),
        rule: verdict.rule,
        rules,
        title: case.title.clone(),
        class: verdict.class,
        expected: expected.clone(),
        actual: render::seen(&verdict.seen),
        reason: verdict.deviation.as_ref().map_or_else(String::new, |d| {
            render::reason(verdict.rule, d, Some(&verdict.seen), &expected, shrunk)
        }),
        deviation: verdict.deviation.clone(),
        finding: None,
        shrunk,
        reproduction: finding.then(|| curl::command(&target.url_for(wire), wire)),
        request: finding.then(|| Recorded::of(wire, &case.expect)),
        origin: origin_text(case),
        known_failure: false,
        elapsed_ms: answer.map(|a| a.elapsed.as_millis() as u64),
    }
}

/// A check over the whole run (ids, stored values): `actual` says what it looked at; the
/// reason is rendered from `deviation` (a skipped one gives its reason instead).
pub(crate) struct Stateful<'a> {
    pub(crate) id: &'a str,
    pub(crate) rule: Rule,
    pub(crate) title: &'a str,
    pub(crate) expected: &'a str,
}

impl Stateful<'_> {
    /// Its result: `class`, what it saw, and how it deviates (`None` for a pass).
    pub(crate) fn result(
        &self,
        class: Class,
        actual: String,
        deviation: Option<Deviation>,
    ) -> CheckResult {
        let reason = deviation.as_ref().map_or_else(String::new, |d| {
            render::reason(self.rule, d, None, self.expected, None)
        });
        let mut result = self.skipped(actual, reason);
        result.class = class;
        result.deviation = deviation;
        result
    }

    /// Not run, for `reason`.
    pub(crate) fn skipped(&self, actual: String, reason: String) -> CheckResult {
        CheckResult {
            id: self.id.to_owned(),
            rule: self.rule,
            rules: vec![self.rule],
            title: self.title.to_owned(),
            class: Class::Skipped,
            expected: self.expected.to_owned(),
            actual,
            reason,
            deviation: None,
            finding: None,
            shrunk: None,
            reproduction: None,
            request: None,
            origin: "stateful check over the run".to_owned(),
            known_failure: false,
            elapsed_ms: None,
        }
    }
}

/// Replaces the key in every text of `check` that a target's answer could have filled
/// (CONTRACT.md §6: the `API_ID` appears in no output).
pub(crate) fn redact_check(check: &mut CheckResult, key: &Secret) {
    for text in [&mut check.actual, &mut check.reason, &mut check.expected] {
        key.redact_in_place(text);
    }
}

/// Replaces the key in every text of `report` that a target's answer could have filled
/// (CONTRACT.md §6: the `API_ID` appears in no output).
pub(crate) fn redact(report: &mut RunReport, key: &Secret) {
    for check in report.checks.iter_mut() {
        redact_check(check, key);
    }
    for note in report.notes.iter_mut().chain(report.stopped.as_mut()) {
        *note = key.redact(note);
    }
}
