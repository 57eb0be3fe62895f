//! Unit tests of the grouping key and of known failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::judge::Profile;

fn check(id: &str, class: Class, rule: &str, actual: &str, reason: &str) -> CheckResult {
    CheckResult {
        id: id.to_owned(),
        rule: rule.to_owned(),
        rules: vec![rule.to_owned()],
        title: format!("title of {id}"),
        class,
        expected: "AMP003 naming category (HTTP 200)".to_owned(),
        actual: actual.to_owned(),
        reason: reason.to_owned(),
        request: None,
        reproduction: Some(format!("curl {id}")),
        origin: "test".to_owned(),
        known_failure: false,
        elapsed_ms: None,
    }
}

fn status(id: &str, got: u16, ct: &str, actual_code: &str) -> CheckResult {
    check(
        id,
        Class::NonStrict,
        "R-STATUS",
        &format!("HTTP {got} {actual_code} \"Missing {id}.\""),
        &format!("expected HTTP 200 with application/json, got HTTP {got} with {ct}"),
    )
}

fn report(checks: Vec<CheckResult>) -> RunReport {
    RunReport {
        tool: "test".to_owned(),
        target: "test".to_owned(),
        seed: 1,
        run_id: "run".to_owned(),
        profile: Profile::Reference,
        strict: true,
        cases: checks.len(),
        checks,
        notes: Vec::new(),
        snapshots: Vec::new(),
        snapshot_dir: None,
        stopped: None,
        outage: false,
        misconfigured: false,
        interrupted: None,
        unmatched_known_failures: Vec::new(),
        context: Default::default(),
        read_only_creates: Vec::new(),
        coverage: Default::default(),
        passed: false,
        seconds: 0.0,
    }
}

#[test]
fn status_groups_ignore_the_code_the_description_and_the_shrinker() {
    let mut shrunk = status("b", 400, "application/json", "AMP003");
    shrunk
        .reason
        .push_str(" (shrunk in 4 steps; the shrunk request still breaks R-STATUS)");
    let findings = group(&[
        status("a", 400, "application/json", "AMP002"),
        shrunk,
        status("c", 400, "application/json; charset=utf-8", "AMP001"),
        status("d", 200, "text/html; charset=UTF-8", "AMP001"),
        status("e", 400, "text/html", "AMP001"),
        status("f", 200, "no content type", "AMP001"),
    ]);
    let names: Vec<(&str, usize, &str)> = findings
        .iter()
        .map(|f| (f.name.as_str(), f.count, f.summary.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "R-STATUS:http-400-instead-of-200",
                3,
                "HTTP 400 instead of HTTP 200"
            ),
            (
                "R-STATUS:http-400-text-html-instead-of-200-application-json",
                1,
                "HTTP 400 with text/html instead of HTTP 200 with application/json"
            ),
            (
                "R-STATUS:no-content-type-instead-of-application-json",
                1,
                "no content type instead of application/json"
            ),
            (
                "R-STATUS:text-html-instead-of-application-json",
                1,
                "text/html instead of application/json"
            ),
        ]
    );
    assert_eq!(findings[0].checks, ["a", "b", "c"]);
}

#[test]
fn names_do_not_depend_on_check_order_ids_or_report_ids() {
    let make = |n: u64| {
        vec![
            check(
                &format!("prop/invalid/{n:04}"),
                Class::NonStrict,
                "R-SUSPEND",
                &format!("HTTP 200 success, report_id {n}"),
                &format!(
                    "expected AMP003 naming suspend_method (HTTP 200) by R-SUSPEND, got \
                     success: report {n} was created; the page does not decide this request \
                     (R-SUSPEND does)"
                ),
            ),
            check(
                &format!("prop/other/{n}"),
                Class::Fail,
                "D-AUTH",
                &format!("HTTP 200 AMP002 \"nope {n}\""),
                "the page demands AMP001 (D-AUTH)",
            ),
        ]
    };
    let mut one = make(7);
    one.extend(make(12));
    let mut other = make(91);
    other.reverse();
    let names = |checks: &[CheckResult]| {
        group(checks)
            .into_iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&one),
        [
            "D-AUTH:amp002-instead-of-amp001",
            "R-SUSPEND:success-instead-of-amp003"
        ]
    );
    assert_eq!(names(&one), names(&other));
}

#[test]
fn a_refused_api_id_is_one_finding_whatever_was_due() {
    let refused = |id: &str, due: &str| {
        let mut c = check(
            id,
            Class::Fail,
            "D-AUTH",
            "HTTP 200 AMP001 \"Unauthorized\"",
            &format!(
                "a valid API_ID was refused with AMP001 (header names are \
                 case-insensitive); the page demands {due} (D-SUCCESS)"
            ),
        );
        c.expected = due.to_owned();
        c
    };
    let findings = group(&[
        refused("a", "success with report_id >= 1"),
        refused("b", "AMP003"),
        refused("c", "AMP002"),
    ]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].name, "D-AUTH:valid-api_id-refused-amp001");
}

#[test]
fn stored_checks_group_by_the_fields_that_differ() {
    let stored = |id: &str, actual: &str| {
        check(
            &format!("{id}#stored"),
            Class::Fail,
            "D-DEFAULTS",
            actual,
            "stored values differ beyond surrounding whitespace",
        )
    };
    let findings = group(&[
        stored(
            "a",
            r#"report 3: additional_info "x", expected "y"; admin_notes "y", expected "x""#,
        ),
        // A value that looks like another field, quotes and escapes inside.
        stored(
            "b",
            r#"report 41: additional_info "q\"; category \"", expected ""; admin_notes "", expected "q\"; category \"""#,
        ),
        stored(
            "c",
            r#"report 5: suspend_method nosuspend, expected immediate"#,
        ),
    ]);
    let names: Vec<(&str, usize)> = findings
        .iter()
        .map(|f| (f.name.as_str(), f.count))
        .collect();
    assert_eq!(
        names,
        [
            ("D-DEFAULTS:stored-additional_info-admin_notes", 2),
            ("D-DEFAULTS:stored-suspend_method", 1),
        ]
    );
    assert_eq!(
        findings[0].summary,
        "stored additional_info, admin_notes differ from what was sent"
    );
}

#[test]
fn other_deviations_are_normalised() {
    let d = |class, rule: &str, actual: &str, reason: &str| {
        deviation(&check("x", class, rule, actual, reason)).slug
    };
    assert_eq!(
        d(
            Class::Fail,
            "D-NO-5XX",
            "HTTP 500 HTML, not JSON: \"Fatal error: Uncaught TypeError in api.php on line 42\"",
            "HTTP 500 for a well-framed request"
        ),
        "http-500-html-not-json"
    );
    assert_eq!(
        d(
            Class::Fail,
            "D-SUCCESS",
            "HTTP 200 report_id 0 is not a JSON integer >= 1",
            "report_id 0 is not a JSON integer >= 1"
        ),
        "http-200-report_id-is-not-a-json-integer-1"
    );
    assert_eq!(
        d(
            Class::NonStrict,
            "D-REQUIRED",
            "HTTP 413 AMP009 \"Missing required parameters.\"",
            "AMP009 instead of AMP003: matches the page's example, not its code table"
        ),
        "http-413-amp009-instead-of-amp003"
    );
    assert_eq!(
        d(
            Class::NonStrict,
            "R-ORDER",
            "HTTP 200 AMP003 \"Invalid: category, service_id.\"",
            "AMP003 names service_id, category but not in table order (shrunk in 3 steps)"
        ),
        "amp003-names-out-of-table-order"
    );
    assert_eq!(
        d(
            Class::Error,
            "R-BODY",
            "no answer within 10s",
            "no answer within 10s"
        ),
        "no-answer-within-ns"
    );
    assert_eq!(
        d(
            Class::NonStrict,
            "R-IDS",
            "8 creates, 7 ordered pairs",
            "ids did not increase strictly: a got 3 after b had got 5"
        ),
        "ids-did-not-increase-strictly"
    );
    let mut recorded = check("x", Class::Info, "R-AUTH", "HTTP 200 AMP001 \"No.\"", "");
    recorded.expected = "any answer (recorded)".to_owned();
    assert_eq!(deviation(&recorded).slug, "answered-amp001");
    assert_eq!(
        d(
            Class::Fail,
            "D-NO-5XX",
            "HTTP 302 redirect to https://example.com/login",
            "a redirect instead of the API's JSON"
        ),
        "http-302-redirect"
    );
}

#[test]
fn examples_are_the_shortest_reproductions() {
    let mut checks: Vec<CheckResult> = (0..6)
        .map(|i| status(&format!("c{i}"), 400, "application/json", "AMP003"))
        .collect();
    for (i, c) in checks.iter_mut().enumerate() {
        c.reproduction = Some("x".repeat(10 - i));
    }
    let findings = group(&checks);
    let examples: Vec<&str> = findings[0]
        .examples
        .iter()
        .map(|e| e.check.as_str())
        .collect();
    assert_eq!(examples, ["c5", "c4", "c3"]);
}

#[test]
fn known_failures_match_check_ids_rules_and_finding_names() {
    let mut run = report(vec![
        status("a", 400, "application/json", "AMP002"),
        status("b", 400, "application/json", "AMP003"),
        check(
            "suspend",
            Class::NonStrict,
            "R-SUSPEND",
            "HTTP 200 success, report_id 4",
            "expected AMP003 by R-SUSPEND, got success: report 4 was created",
        ),
        check(
            "auth",
            Class::Fail,
            "D-AUTH",
            "HTTP 200 AMP002 \"x\"",
            "the page demands AMP001 (D-AUTH)",
        ),
        check(
            "timeout",
            Class::Error,
            "D-AUTH",
            "no answer within 1s",
            "-",
        ),
    ]);
    let entries: HashSet<String> = [
        "R-STATUS:http-400-instead-of-200",
        "R-SUSPEND",
        "auth",
        "timeout",
        "R-NOPE",
        "stale/check",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    run.apply_known_failures(&entries);
    let known: Vec<&str> = run
        .checks
        .iter()
        .filter(|c| c.known_failure)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(known, ["a", "b", "suspend", "auth"]);
    // An ERROR is never a known failure: the run still fails, and the entry is unmatched.
    assert!(!run.passed);
    assert_eq!(
        run.unmatched_known_failures(),
        ["R-NOPE", "stale/check", "timeout"]
    );
    // Applying again replaces the previous result.
    run.checks.retain(|c| c.class != Class::Error);
    run.apply_known_failures(&entries);
    assert!(run.passed);
    assert_eq!(run.unmatched_known_failures().len(), 3);
    assert_eq!(run.plain_notes().count(), 0);
    assert_eq!(run.findings()[0].known_failures, 1);
}

#[test]
fn known_failures_file_comments() {
    let entries = parse_known_failures(
        "# header\n  R-BODY  \n\t\nx/y#stored # why\n#all comment\nR-STATUS:http-400-instead-of-200#x\n",
    );
    let mut entries: Vec<String> = entries.into_iter().collect();
    entries.sort();
    assert_eq!(
        entries,
        ["R-BODY", "R-STATUS:http-400-instead-of-200#x", "x/y#stored"]
    );
}

#[test]
fn slugs_are_short_and_plain() {
    assert_eq!(slugify("HTTP 400 → text/HTML; ü"), "http-400-text-html");
    assert_eq!(slugify("…"), "other");
    let long = slugify(&"word ".repeat(40));
    assert!(long.len() <= SLUG_MAX && !long.ends_with('-'), "{long}");
}
