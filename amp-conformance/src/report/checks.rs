//! Building a check's result: from a sent case and its verdict, a skipped case and its reason,
//! or a stateful check; and scrubbing the key from a finished report.

use amp_contract::documented;

use super::{CheckResult, RunReport, curl};
use crate::cases::{Case, Origin};
use crate::judge::{Class, Verdict};
use crate::plan::Ready;
use crate::replay::Recorded;
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
        request: None,
        origin: origin_text(case),
        known_failure: false,
        elapsed_ms: None,
    }
}

/// The result of a sent check. Its rules are the case's own and the reference rules its exact
/// request depends on (a generated create with `allow_unsuspend=on` names R-BOOL too).
pub(crate) fn finish(
    ready: &Ready,
    verdict: &Verdict,
    target: &Target,
    answer: Option<&HttpAnswer>,
) -> CheckResult {
    let (case, wire) = (&ready.case, &ready.wire);
    let finding = matches!(
        verdict.class,
        Class::Fail | Class::NonStrict | Class::Error | Class::Info
    );
    let mut rules = case.rules.clone();
    if let documented::Verdict::Silent { rules: silent, .. } = &ready.documented {
        for rule in silent {
            if !rules.iter().any(|r| r == rule) {
                rules.push((*rule).to_owned());
            }
        }
    }
    CheckResult {
        id: case.id.clone(),
        rule: verdict.rule.clone(),
        rules,
        title: case.title.clone(),
        class: verdict.class,
        expected: case.expect.to_string(),
        actual: verdict.actual.clone(),
        reason: verdict.reason.clone(),
        reproduction: finding.then(|| curl::command(&target.url_for(wire), wire)),
        request: finding.then(|| Recorded::of(wire, &case.expect)),
        origin: origin_text(case),
        known_failure: false,
        elapsed_ms: answer.map(|a| a.elapsed.as_millis() as u64),
    }
}

pub(crate) fn stateful_result(
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
        request: None,
        origin: "stateful check over the run".to_owned(),
        known_failure: false,
        elapsed_ms: None,
    }
}

/// Replaces the key in every text of `report` that a target's answer could have filled
/// (CONTRACT.md §6: the `API_ID` appears in no output).
pub(crate) fn redact(report: &mut RunReport, key: &Secret) {
    for check in &mut report.checks {
        for text in [&mut check.actual, &mut check.reason, &mut check.expected] {
            *text = key.redact(text);
        }
    }
    for note in report.notes.iter_mut().chain(report.stopped.as_mut()) {
        *note = key.redact(note);
    }
}
