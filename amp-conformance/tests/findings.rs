//! Findings grouped by root cause: a server that answers every error with HTTP 400 breaks
//! R-STATUS in a hundred checks and gets one finding, a short terminal report and a short
//! Markdown summary, with the same finding name for every seed; JUnit and JSON keep every
//! check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use amp_conformance::judge::Class;
use amp_conformance::report::{Format, RunReport, terminal};
use amp_conformance::runner::run;
use support::{Mutant, config_for, spawn};

const NAME: &str = "R-STATUS:http-400-instead-of-200";

async fn errors_as_400(seed: u64) -> RunReport {
    let server = spawn(Mutant::ErrorsHttp400).await;
    let mut config = config_for(&server, seed);
    config.cases = 100; // the command line's default
    run(config).await.expect("run")
}

fn terminal_text(report: &RunReport, verbose: bool) -> String {
    let mut out = Vec::new();
    terminal::write(report, &mut out, false, verbose).expect("write");
    String::from_utf8(out).expect("UTF-8")
}

/// Lines that open a finding block (INFO lines record behaviour, they are not findings).
fn finding_headers(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            ["FAIL ", "NON-STRICT ", "ERROR "]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect()
}

#[tokio::test]
async fn every_error_as_http_400_is_one_finding_in_under_30_lines() {
    let report = errors_as_400(1).await;
    let deviating: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::NonStrict)
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        deviating.len() > 90,
        "{} NON-STRICT checks",
        deviating.len()
    );
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.class == Class::NonStrict)
            .all(|c| c.rule == amp_contract::rules::Rule::RStatus)
    );

    let text = terminal_text(&report, false);
    let headers = finding_headers(&text);
    assert_eq!(headers.len(), 1, "{text}");
    assert!(
        headers[0].starts_with(&format!("NON-STRICT {NAME} ({} checks)", deviating.len())),
        "{text}"
    );
    assert!(
        text.lines().count() < 30,
        "{} lines:\n{text}",
        text.lines().count()
    );
    assert!(
        text.contains("differs:   HTTP 400 instead of HTTP 200"),
        "{text}"
    );
    let reproductions = text
        .lines()
        .filter(|l| l.starts_with("    reproduce: curl "))
        .count();
    assert_eq!(reproductions, 3, "{text}");

    // --verbose shows every check, one block each, as before.
    let verbose = terminal_text(&report, true);
    for id in &deviating {
        assert!(
            verbose
                .lines()
                .any(|l| l.starts_with("NON-STRICT ") && l.contains(&format!(" {id} [R-STATUS]"))),
            "{id} missing from --verbose"
        );
    }
    assert!(verbose.lines().count() > 5 * deviating.len());

    // JUnit keeps one test case per check.
    let xml = Format::Junit.render(&report);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses back");
    let cases: usize = parsed.test_suites.iter().map(|s| s.test_cases.len()).sum();
    assert_eq!(cases, report.checks.len());

    // JSON: every check, and the finding with its checks and smallest reproductions.
    let json: serde_json::Value =
        serde_json::from_str(&Format::Json.render(&report)).expect("json");
    assert_eq!(
        json["checks"].as_array().map(Vec::len),
        Some(report.checks.len())
    );
    let findings: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["class"] != "INFO")
        .collect();
    assert_eq!(findings.len(), 1, "{:#}", json["findings"]);
    let finding = findings[0];
    assert_eq!(finding["name"], NAME);
    assert_eq!(finding["class"], "NON-STRICT");
    assert_eq!(finding["rule"], "R-STATUS");
    assert_eq!(finding["summary"], "HTTP 400 instead of HTTP 200");
    assert_eq!(finding["count"], deviating.len());
    let ids: Vec<&str> = finding["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(ids, deviating);
    let lengths: Vec<usize> = finding["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| e["reproduction"].as_str().expect("reproduction").len())
        .collect();
    assert_eq!(lengths.len(), 3);
    assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");
    let shortest = report
        .checks
        .iter()
        .filter(|c| c.class == Class::NonStrict)
        .filter_map(|c| c.reproduction.as_ref().map(String::len))
        .min();
    assert_eq!(Some(lengths[0]), shortest);
    assert_eq!(json["unmatched_known_failures"], serde_json::json!([]));

    // Markdown: one row and one block for the finding, no row per check.
    let markdown = Format::Markdown.render(&report);
    assert_eq!(
        markdown
            .lines()
            .filter(|l| l.starts_with("| NON-STRICT | `"))
            .count(),
        1,
        "{markdown}"
    );
    assert!(markdown.contains(&format!("### NON-STRICT `{NAME}`")));
    let verbose_markdown = Format::Markdown.render_with(&report, true);
    assert_eq!(
        verbose_markdown
            .lines()
            .filter(|l| l.starts_with("| NON-STRICT | `"))
            .count(),
        1 + deviating.len()
    );
}

#[tokio::test]
async fn finding_names_are_the_same_for_every_seed() {
    let names = |report: &RunReport| -> Vec<String> {
        report
            .findings()
            .into_iter()
            .filter(|f| f.class != Class::Info)
            .map(|f| f.name)
            .collect()
    };
    let one = errors_as_400(2).await;
    let other = errors_as_400(3).await;
    assert_eq!(names(&one), [NAME]);
    assert_eq!(names(&one), names(&other));
    // The same name, for other requests: the generated cases differ with the seed.
    let examples = |report: &RunReport| report.findings()[0].examples.clone();
    assert_ne!(examples(&one), examples(&other));
}
