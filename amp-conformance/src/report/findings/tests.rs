//! Unit tests of the grouping key, of finding names (one per deviation kind, pinned) and of
//! known failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amp_contract::ErrorCode;
use amp_contract::stored::{Record, compare};
use amp_contract::{Action, AssumeExists, CreateAbuseReport};

use super::*;
use crate::judge::{Body, BodyKind, Due, NotAmp, Outcome, Profile};
use crate::target::TransportError;

/// A check whose texts are deliberately unlike anything the renderer writes: names must come
/// from the typed deviation alone.
fn check(id: &str, class: Class, rule: Rule, deviation: Deviation) -> CheckResult {
    CheckResult {
        id: id.to_owned(),
        rule,
        rules: vec![rule],
        title: format!("title of {id}"),
        class,
        expected: format!("expected text {id}"),
        actual: format!("actual text {id} 123"),
        reason: format!("reason text {id} \"quoted\" 42 (shrunk in 9 steps)"),
        deviation: Some(deviation),
        finding: None,
        shrunk: None,
        request: None,
        reproduction: Some(format!("curl {id}")),
        origin: "test".to_owned(),
        known_failure: false,
        elapsed_ms: None,
    }
}

fn status(id: &str, got: u16, media: Option<&str>) -> CheckResult {
    check(
        id,
        Class::NonStrict,
        Rule::RStatus,
        Deviation::Status {
            expected: 200,
            got,
            media: media.map(str::to_owned),
        },
    )
}

fn page(due: Outcome, got: Outcome, rule: Rule) -> Deviation {
    Deviation::Outcome {
        due,
        by: Due::Page(rule),
        got,
        status: 200,
    }
}

fn reference(due: Outcome, got: Outcome, rule: Rule) -> Deviation {
    Deviation::Outcome {
        due,
        by: Due::Reference {
            rule,
            silent: vec![rule],
        },
        got,
        status: 200,
    }
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
        checks: checks.into(),
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
    let mut shrunk = status("b", 400, Some("application/json"));
    shrunk.shrunk = Some(crate::report::Shrunk { steps: 4 });
    let findings = group(&[
        status("a", 400, Some("application/json")),
        shrunk,
        status("c", 400, Some("application/json")),
        status("d", 200, Some("text/html")),
        status("e", 400, Some("text/html")),
        status("f", 200, None),
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
fn names_do_not_depend_on_check_order_ids_or_texts() {
    let make = |n: u64| {
        vec![
            check(
                &format!("prop/invalid/{n:04}"),
                Class::NonStrict,
                Rule::RSuspend,
                reference(
                    Outcome::Error(ErrorCode::MissingParameters),
                    Outcome::Success,
                    Rule::RSuspend,
                ),
            ),
            check(
                &format!("prop/other/{n}"),
                Class::Fail,
                Rule::DAuth,
                page(
                    Outcome::Error(ErrorCode::Unauthorized),
                    Outcome::Error(ErrorCode::InvalidAction),
                    Rule::DAuth,
                ),
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
    let refused = |id: &str, due: Option<(Outcome, Rule)>| {
        check(
            id,
            Class::Fail,
            Rule::DAuth,
            Deviation::RefusedKey { due, status: 200 },
        )
    };
    let findings = group(&[
        refused("a", Some((Outcome::Success, Rule::DSuccess))),
        refused(
            "b",
            Some((
                Outcome::Error(ErrorCode::MissingParameters),
                Rule::DRequired,
            )),
        ),
        refused("c", None),
    ]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].name, "D-AUTH:valid-api_id-refused-amp001");
}

/// One create's stored-value differences, as the judge hands them over.
fn stored_diffs(edit: impl FnOnce(&mut amp_contract::ResolvedCreate)) -> Deviation {
    let sent = CreateAbuseReport::new(1, "Spam");
    let expected = sent.resolve(&mut AssumeExists);
    let mut got = expected.clone();
    edit(&mut got);
    Deviation::Stored {
        report_id: 41,
        diffs: compare(&expected.record(), &got.record()),
    }
}

/// Every kind of deviation has a pinned finding name: rewording a message renames nothing,
/// and only what identifies the deviation (status, outcome, media type, fields, body kind)
/// is in it, never a value, an id, a description or a run id.
#[test]
fn finding_names_are_pinned_for_every_deviation_kind() {
    let mut cases = answer_deviations();
    cases.extend(body_and_run_deviations());
    for (rule, deviation, want) in cases {
        assert_eq!(name(rule, Some(&deviation)), want, "{deviation:?}");
        // Grouping gives the same name, whatever the check's texts say.
        let findings = group(&[check("x", Class::Fail, rule, deviation)]);
        assert_eq!(findings[0].name, want);
    }
}

/// Deviations of an AMP answer, with the finding name each must have.
fn answer_deviations() -> Vec<(Rule, Deviation, &'static str)> {
    let amp003 = Outcome::Error(ErrorCode::MissingParameters);
    let params = vec!["category".to_owned()];
    let json = || Some("application/json".to_owned());
    vec![
        (
            Rule::RStatus,
            Deviation::Status {
                expected: 200,
                got: 400,
                media: json(),
            },
            "R-STATUS:http-400-instead-of-200",
        ),
        (
            Rule::RBody,
            Deviation::Status {
                expected: 413,
                got: 200,
                media: json(),
            },
            "R-BODY:http-200-instead-of-413",
        ),
        (
            Rule::DSuccess,
            Deviation::Outcome {
                due: Outcome::Success,
                by: Due::Page(Rule::DSuccess),
                got: amp003,
                status: 400,
            },
            "D-SUCCESS:http-400-amp003-instead-of-success",
        ),
        (
            Rule::RBool,
            reference(Outcome::Success, amp003, Rule::RBool),
            "R-BOOL:amp003-instead-of-success",
        ),
        (
            Rule::DAuth,
            Deviation::RefusedKey {
                due: None,
                status: 403,
            },
            "D-AUTH:valid-api_id-refused-http-403-amp001",
        ),
        (
            Rule::DRequired,
            Deviation::Amp009 { status: 413 },
            "D-REQUIRED:http-413-amp009-instead-of-amp003",
        ),
        (
            Rule::ROrder,
            Deviation::Unnamed {
                code: ErrorCode::MissingParameters,
                status: 200,
                params: params.clone(),
            },
            "R-ORDER:amp003-omits-parameters",
        ),
        (
            Rule::RText,
            Deviation::Accepted {
                code: ErrorCode::MissingParameters,
                status: 200,
                params: params.clone(),
            },
            "R-TEXT:amp003-value-accepted",
        ),
        (
            Rule::ROrder,
            Deviation::OutOfOrder {
                code: ErrorCode::MissingParameters,
                status: 200,
                params,
            },
            "R-ORDER:amp003-names-out-of-table-order",
        ),
    ]
}

/// Deviations of other bodies, transports and checks over the run, with their names.
fn body_and_run_deviations() -> Vec<(Rule, Deviation, &'static str)> {
    let excerpt = |kind| NotAmp {
        kind,
        excerpt: "Fatal error on line 42 of /var/www/api.php".to_owned(),
    };
    vec![
        (
            Rule::DNo5xx,
            Deviation::ServerError {
                status: 500,
                body: Body::Other(BodyKind::Html),
            },
            "D-NO-5XX:http-500-html-not-json",
        ),
        (
            Rule::RBody,
            Deviation::HopLimit {
                status: 413,
                body: Body::Other(BodyKind::Html),
            },
            "R-BODY:http-413-html-not-json",
        ),
        (
            Rule::DNo5xx,
            Deviation::NotAmp {
                status: 200,
                body: excerpt(BodyKind::Text),
            },
            "D-NO-5XX:http-200-text-not-json",
        ),
        (
            Rule::DSuccess,
            Deviation::NotAmp {
                status: 200,
                body: excerpt(BodyKind::BadReportId),
            },
            "D-SUCCESS:http-200-report_id-is-not-a-json-integer-1",
        ),
        (
            Rule::DNo5xx,
            Deviation::Redirect { status: 302 },
            "D-NO-5XX:http-302-redirect",
        ),
        (
            Rule::RAuth,
            Deviation::Recorded {
                got: Body::Amp(Outcome::Error(ErrorCode::Unauthorized)),
                status: 200,
            },
            "R-AUTH:answered-amp001",
        ),
        (
            Rule::RBody,
            Deviation::Transport(TransportError::Timeout(std::time::Duration::from_secs(10))),
            "R-BODY:no-answer-within-the-timeout",
        ),
        (
            Rule::DDefaults,
            stored_diffs(|got| {
                got.category = "Spam &amp; more".to_owned();
                got.admin_notes = "x".to_owned();
            }),
            "D-DEFAULTS:stored-category-admin_notes",
        ),
        (
            Rule::DDefaults,
            Deviation::Unobservable {
                error: "observer answered HTTP 404 for report 7".to_owned(),
            },
            "D-DEFAULTS:the-observer-could-not-read-the-report",
        ),
        (
            Rule::RIds,
            Deviation::IdsNotIncreasing {
                pairs: vec![("a".to_owned(), 5, "b".to_owned(), 3)],
            },
            "R-IDS:ids-did-not-increase-strictly",
        ),
        (
            Rule::DUnique,
            Deviation::IdsRepeated {
                ids: vec![(4, "c".to_owned())],
            },
            "D-UNIQUE:repeated-report-ids-within-the-run",
        ),
        (
            Rule::DUnique,
            Deviation::IdsReused {
                ids: vec![(4, "c".to_owned(), "run-abc123".to_owned())],
            },
            "D-UNIQUE:report-ids-of-stored-earlier-reports-answered-again",
        ),
        (
            Rule::DUnique,
            Deviation::IdsRestarted {
                ids: vec![(4, "c".to_owned())],
                runs: vec!["run-x9".to_owned()],
            },
            "D-UNIQUE:report-ids-restarted-since-an-earlier-run",
        ),
    ]
}

#[test]
fn stored_checks_group_by_the_fields_that_differ() {
    let stored = |id: &str, deviation| {
        check(
            &format!("{id}#stored"),
            Class::Fail,
            Rule::DDefaults,
            deviation,
        )
    };
    let findings = group(&[
        stored(
            "a",
            stored_diffs(|g| {
                g.additional_info = "x".to_owned();
                g.admin_notes = "y".to_owned();
            }),
        ),
        // Values that look like another field change nothing.
        stored(
            "b",
            stored_diffs(|g| {
                g.additional_info = "q\"; category \"".to_owned();
                g.admin_notes = "q\"; category \"".to_owned();
            }),
        ),
        stored(
            "c",
            stored_diffs(|g| {
                g.suspend_method = amp_contract::SuspendMethod::Immediate;
            }),
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
fn known_failures_match_check_ids_rules_and_finding_names() {
    let mut run = report(vec![
        status("a", 400, Some("application/json")),
        status("b", 400, Some("application/json")),
        check(
            "suspend",
            Class::NonStrict,
            Rule::RSuspend,
            reference(
                Outcome::Error(ErrorCode::MissingParameters),
                Outcome::Success,
                Rule::RSuspend,
            ),
        ),
        check(
            "auth",
            Class::Fail,
            Rule::DAuth,
            page(
                Outcome::Error(ErrorCode::Unauthorized),
                Outcome::Error(ErrorCode::InvalidAction),
                Rule::DAuth,
            ),
        ),
        check(
            "timeout",
            Class::Error,
            Rule::DAuth,
            Deviation::Transport(TransportError::Timeout(std::time::Duration::from_secs(1))),
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
    assert_eq!(
        render::slugify("HTTP 400 → text/HTML; ü"),
        "http-400-text-html"
    );
    assert_eq!(render::slugify("…"), "other");
    let long = render::slugify(&"word ".repeat(40));
    assert!(long.len() <= 64 && !long.ends_with('-'), "{long}");
}

#[test]
fn examples_are_the_shortest_reproductions() {
    let mut checks: Vec<CheckResult> = (0..6)
        .map(|i| status(&format!("c{i}"), 400, Some("application/json")))
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
