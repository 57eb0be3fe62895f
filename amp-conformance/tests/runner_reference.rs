//! The runner against the embedded reference server: every check passes, every rule id of
//! CONTRACT.md is exercised, the seed replays the run, fixtures agree with the contract, and
//! the reports carry what they promise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use amp_conformance::cases::{Case, fixtures};
use amp_conformance::config::RunConfig;
use amp_conformance::judge::Class;
use amp_conformance::report::Format;
use amp_conformance::runner::run;
use amp_conformance::snapshot::Snapshots;
use amp_conformance::target::Secret;
use amp_contract::rules::RULES;
use support::{KEY, workspace};

fn embedded(seed: u64) -> RunConfig {
    let mut config = RunConfig::embedded();
    config.seed = Some(seed);
    config.cases = 200;
    config.key = Some(Secret::new(KEY));
    config
}

fn fixture_cases() -> Vec<Case> {
    fixtures::load_dir(&workspace().join("fixtures/cases")).expect("fixtures load")
}

#[tokio::test]
async fn every_check_passes_strict_against_the_reference_server() {
    let mut config = embedded(7);
    config.strict = true;
    // The committed snapshots of the reference server's fixture answers must match.
    config.snapshots = Some(Snapshots::new(
        workspace().join("fixtures/snapshots/reference"),
        false,
        false,
    ));
    let report = run(config).await.expect("run");
    assert!(
        report.snapshots.is_empty(),
        "snapshots differ: {:#?}",
        report.snapshots
    );
    let findings: Vec<_> = report
        .checks
        .iter()
        .filter(|c| !matches!(c.class, Class::Pass | Class::Info))
        .map(|c| (c.id.clone(), c.class, c.reason.clone(), c.actual.clone()))
        .collect();
    assert!(report.passed && findings.is_empty(), "{findings:#?}");
    // D-DEFAULTS ran through the embedded observer for every create.
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.rule == amp_contract::rules::Rule::DDefaults && c.class == Class::Pass)
            .count()
            > 30
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id == "stateful/r-ids" && c.class == Class::Pass)
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id == "stateful/d-unique" && c.class == Class::Pass)
    );
}

#[test]
fn every_rule_id_has_a_fixture() {
    let cases = fixture_cases();
    let covered: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.rules.iter().map(|r| r.id()))
        .collect();
    // Stateful rules are checked over the whole run, not by one fixture.
    let stateful = ["D-UNIQUE", "R-IDS"];
    let missing: Vec<&str> = RULES
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !covered.contains(id) && !stateful.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn page_contradictions_each_have_a_case_that_explains_itself() {
    let cases = fixture_cases();
    for n in 1..=3 {
        let needle = format!("page contradiction {n}");
        assert!(
            cases.iter().any(|c| c.title.contains(&needle)),
            "no case for {needle}"
        );
    }
}

#[tokio::test]
async fn reports_carry_every_check_and_junit_parses_back() {
    let report = run(embedded(11)).await.expect("run");
    let json: serde_json::Value =
        serde_json::from_str(&Format::Json.render(&report)).expect("json");
    assert_eq!(
        json["checks"].as_array().map(Vec::len),
        Some(report.checks.len())
    );
    assert_eq!(json["seed"], 11);
    assert_eq!(json["passed"], true);

    let xml = Format::Junit.render(&report);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses back");
    let cases: usize = parsed.test_suites.iter().map(|s| s.test_cases.len()).sum();
    assert_eq!(cases, report.checks.len());
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.failures).sum::<usize>(),
        0
    );

    let markdown = Format::Markdown.render(&report);
    assert!(
        markdown.starts_with("# AMP conformance: passed"),
        "{markdown}"
    );
    for text in [json.to_string(), xml, markdown] {
        assert!(!text.contains(KEY), "the API_ID leaked into a report");
    }
}
