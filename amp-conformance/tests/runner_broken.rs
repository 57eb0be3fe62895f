//! The runner against deliberately broken servers: each misbehaviour is caught with the right
//! rule id and class (a broken documented rule is FAIL; a broken reference resolution is
//! NON-STRICT and passes without --strict), and a correct implementation that is not the
//! reference server passes with --strict.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use amp_conformance::judge::Class;
use amp_conformance::report::findings::parse_known_failures;
use amp_conformance::report::{Format, RunReport};
use amp_conformance::runner::run;
use support::{Mutant, config_for, spawn};

const SEED: u64 = 20_261_127;

async fn report(mutant: Mutant, strict: bool) -> RunReport {
    let server = spawn(mutant).await;
    let mut config = config_for(&server, SEED);
    config.strict = strict;
    run(config).await.expect("run")
}

fn findings<'a>(report: &'a RunReport, class: Class, rule: &str) -> Vec<&'a str> {
    let rule: amp_contract::rules::Rule = rule.parse().expect("a rule id");
    report
        .checks
        .iter()
        .filter(|c| c.class == class && c.rule == rule)
        .map(|c| c.id.as_str())
        .collect()
}

fn classes(report: &RunReport) -> Vec<(String, Class, String)> {
    report
        .checks
        .iter()
        .filter(|c| !matches!(c.class, Class::Pass | Class::Info))
        .map(|c| (c.id.clone(), c.class, c.rule.to_string()))
        .collect()
}

#[tokio::test]
async fn correct_other_implementation_passes_strict() {
    let report = report(Mutant::Different, true).await;
    assert!(report.passed, "false findings: {:#?}", classes(&report));
    assert!(findings(&report, Class::Skipped, "D-DEFAULTS").is_empty());
}

#[tokio::test]
async fn d_success_report_id_zero_is_fail() {
    let report = report(Mutant::IdsFromZero, false).await;
    assert!(!report.passed);
    assert!(
        !findings(&report, Class::Fail, "D-SUCCESS").is_empty(),
        "{:#?}",
        classes(&report)
    );
}

#[tokio::test]
async fn d_unique_repeated_ids_are_fail() {
    let report = report(Mutant::RepeatingIds, false).await;
    assert!(!report.passed);
    assert_eq!(
        findings(&report, Class::Fail, "D-UNIQUE"),
        ["stateful/d-unique"]
    );
    assert_eq!(
        findings(&report, Class::NonStrict, "R-IDS"),
        ["stateful/r-ids"]
    );
}

#[tokio::test]
async fn r_suspend_accepting_suspend_is_non_strict_and_passes_without_strict() {
    let lenient = report(Mutant::AcceptsSuspend, false).await;
    assert!(lenient.passed, "{:#?}", classes(&lenient));
    assert!(
        findings(&lenient, Class::NonStrict, "R-SUSPEND").contains(&"values/suspend-page-example")
    );
    let strict = report(Mutant::AcceptsSuspend, true).await;
    assert!(!strict.passed);
}

#[tokio::test]
async fn d_required_amp009_is_non_strict() {
    let report = report(Mutant::Amp009, false).await;
    assert!(report.passed, "{:#?}", classes(&report));
    let amp009 = findings(&report, Class::NonStrict, "D-REQUIRED");
    assert!(
        amp009.contains(&"required/page-example-error-code"),
        "{amp009:?}"
    );
    assert!(findings(&report, Class::Fail, "D-REQUIRED").is_empty());
}

#[tokio::test]
async fn d_auth_not_checking_api_id_is_fail() {
    let report = report(Mutant::NoAuth, false).await;
    assert!(!report.passed);
    let fails = findings(&report, Class::Fail, "D-AUTH");
    for id in [
        "auth/missing-header",
        "auth/empty-header",
        "auth/wrong-identifier",
    ] {
        assert!(fails.contains(&id), "{id} not caught: {fails:?}");
    }
    let failing = report
        .checks
        .iter()
        .find(|c| c.id == "auth/wrong-identifier")
        .expect("check");
    let repro = failing.reproduction.as_deref().expect("reproduction");
    assert!(repro.starts_with("curl "), "{repro}");
    assert!(!repro.contains(support::KEY));
}

#[tokio::test]
async fn d_no_5xx_fatal_error_page_is_fail() {
    let report = report(Mutant::FatalOnEmpty, false).await;
    assert!(!report.passed);
    let fails = findings(&report, Class::Fail, "D-NO-5XX");
    assert!(fails.contains(&"transport/get-authenticated"), "{fails:?}");
}

#[tokio::test]
async fn r_status_html_content_type_is_non_strict() {
    let report = report(Mutant::HtmlContentType, false).await;
    assert!(report.passed, "{:#?}", classes(&report));
    assert!(findings(&report, Class::NonStrict, "R-STATUS").len() > 10);
}

#[tokio::test]
async fn d_defaults_swapped_notes_is_fail_through_the_observer() {
    let report = report(Mutant::SwapsNotes, false).await;
    assert!(!report.passed);
    let fails = findings(&report, Class::Fail, "D-DEFAULTS");
    assert!(fails.contains(&"success/notes-exact#stored"), "{fails:?}");
}

#[tokio::test]
async fn r_order_reversed_names_is_non_strict() {
    let report = report(Mutant::ReversedNames, false).await;
    assert!(report.passed, "{:#?}", classes(&report));
    let order = findings(&report, Class::NonStrict, "R-ORDER");
    assert!(
        order.contains(&"order/all-invalid-in-table-order"),
        "{order:?}"
    );
}

#[tokio::test]
async fn known_failures_are_reported_but_do_not_fail_a_strict_run() {
    let lenient = report(Mutant::AcceptsSuspend, false).await;
    let non_strict: std::collections::HashSet<String> = lenient
        .checks
        .iter()
        .filter(|c| c.class == Class::NonStrict)
        .map(|c| c.id.clone())
        .collect();
    assert!(!non_strict.is_empty());
    let server = spawn(Mutant::AcceptsSuspend).await;
    let mut config = config_for(&server, SEED);
    config.strict = true;
    config.known_failures = non_strict;
    let report = run(config).await.expect("run");
    assert!(report.passed, "{:#?}", classes(&report));
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.known_failure && c.class == Class::NonStrict)
    );
}

/// A known failure named by its rule lasts: generated check ids change with the seed, the rule
/// does not (a `--known-failures` file with `R-SUSPEND`, seeds 1, 2 and 3, `--strict`).
#[tokio::test]
async fn a_known_rule_keeps_a_strict_run_green_for_every_seed() {
    let server = spawn(Mutant::AcceptsSuspend).await;
    let entries = parse_known_failures("# the page's own example, accepted until v2\nR-SUSPEND\n");
    for seed in [1, 2, 3] {
        let mut config = config_for(&server, seed);
        config.strict = true;
        let plain = run(config.clone()).await.expect("run");
        assert!(!plain.passed, "seed {seed}: R-SUSPEND fails a strict run");
        config.known_failures = entries.clone();
        let report = run(config).await.expect("run");
        assert!(report.passed, "seed {seed}: {:#?}", classes(&report));
        assert!(report.unmatched_known_failures().is_empty());
        assert!(
            report
                .checks
                .iter()
                .filter(|c| c.class == Class::NonStrict)
                .all(|c| c.known_failure && c.rule == amp_contract::rules::Rule::RSuspend)
        );
    }
}

/// A finding's name, as the report prints it, is a known failure too; an entry that matched
/// nothing is reported so that it can be removed.
#[tokio::test]
async fn a_finding_name_is_a_known_failure_and_stale_entries_are_listed() {
    let lenient = report(Mutant::AcceptsSuspend, false).await;
    let mut text: String = lenient
        .findings()
        .iter()
        .filter(|f| f.class == Class::NonStrict)
        .map(|f| format!("{}\n", f.name))
        .collect();
    assert!(
        text.contains("R-SUSPEND:success-instead-of-amp003"),
        "{text}"
    );
    text.push_str("R-STATUS:http-400-instead-of-200  # fixed in 2.1\nvalues/no-such-check\n");
    let server = spawn(Mutant::AcceptsSuspend).await;
    let mut config = config_for(&server, 2);
    config.strict = true;
    config.known_failures = parse_known_failures(&text);
    let report = run(config).await.expect("run");
    assert!(report.passed, "{:#?}", classes(&report));
    assert_eq!(
        report.unmatched_known_failures(),
        ["R-STATUS:http-400-instead-of-200", "values/no-such-check"]
    );
    let mut terminal = Vec::new();
    amp_conformance::report::terminal::write(&report, &mut terminal, false, false).expect("write");
    let terminal = String::from_utf8(terminal).expect("UTF-8");
    let listed = terminal
        .lines()
        .find(|l| l.starts_with("known failures that matched no FAIL or NON-STRICT check"))
        .expect("unmatched entries listed");
    assert!(
        listed.contains("R-STATUS:http-400-instead-of-200, values/no-such-check"),
        "{terminal}"
    );
    assert!(terminal.contains("(known failure)"), "{terminal}");
    let markdown = Format::Markdown.render(&report);
    assert!(
        markdown.contains("## Known failures that matched nothing")
            && markdown.contains("- `values/no-such-check`"),
        "{markdown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&Format::Json.render(&report)).expect("json");
    assert_eq!(
        json["unmatched_known_failures"],
        serde_json::json!(["R-STATUS:http-400-instead-of-200", "values/no-such-check"])
    );
}

#[tokio::test]
async fn documented_profile_records_reference_deviations_as_info() {
    let server = spawn(Mutant::AcceptsSuspend).await;
    let mut config = config_for(&server, SEED);
    config.profile = amp_conformance::judge::Profile::Documented;
    config.strict = true;
    let report = run(config).await.expect("run");
    assert!(report.passed, "{:#?}", classes(&report));
    let suspend = report
        .checks
        .iter()
        .find(|c| c.id == "values/suspend-page-example")
        .expect("check");
    assert_eq!(suspend.class, Class::Info);
}

#[tokio::test]
async fn observer_command_reads_stored_reports() {
    let server = spawn(Mutant::SwapsNotes).await;
    let mut config = config_for(&server, SEED);
    let url = server.observe.clone();
    config.observer = Some(amp_conformance::observer::Observer::Command(format!(
        "python3 -c \"import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('{url}').read().decode())\""
    )));
    let report = run(config).await.expect("run");
    let stored: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.rule == amp_contract::rules::Rule::DDefaults)
        .collect();
    assert!(
        stored.iter().any(|c| c.class == Class::Pass),
        "no stored report read back"
    );
    assert!(
        stored
            .iter()
            .any(|c| c.id == "success/notes-exact#stored" && c.class == Class::Fail)
    );
}

/// With the default write budget (CONTRACT.md §6: 25) and an observer, every rule that needs a
/// create is exercised by at least one create that was sent, and its stored values are read.
#[tokio::test]
async fn default_write_budget_covers_every_rule_that_needs_a_write() {
    const NEEDS_A_WRITE: [amp_contract::rules::Rule; 14] = [
        amp_contract::rules::Rule::DSuccess,
        amp_contract::rules::Rule::DOptionals,
        amp_contract::rules::Rule::DDefaults,
        amp_contract::rules::Rule::RBool,
        amp_contract::rules::Rule::RDuplicate,
        amp_contract::rules::Rule::RBody,
        amp_contract::rules::Rule::RUtf8,
        amp_contract::rules::Rule::RCategory,
        amp_contract::rules::Rule::RServiceIp,
        amp_contract::rules::Rule::RText,
        amp_contract::rules::Rule::REmpty,
        amp_contract::rules::Rule::RSuspend,
        amp_contract::rules::Rule::DUnique,
        amp_contract::rules::Rule::RIds,
    ];
    let server = spawn(Mutant::Different).await;
    let mut config = config_for(&server, SEED);
    config.max_writes = Some(25);
    let report = run(config).await.expect("run");
    assert!(report.passed, "{:#?}", classes(&report));
    let creates: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Pass && c.expected.starts_with("success"))
        .collect();
    assert!(creates.len() <= 25, "{} creates", creates.len());
    for rule in NEEDS_A_WRITE {
        let exercised = creates.iter().any(|c| c.rules.contains(&rule))
            || report
                .checks
                .iter()
                .any(|c| c.rule == rule && c.id.starts_with("stateful/") && c.class == Class::Pass);
        assert!(
            exercised,
            "no create exercised {rule}: {:#?}",
            creates
                .iter()
                .map(|c| (&c.id, &c.rules))
                .collect::<Vec<_>>()
        );
    }
    let stored = report
        .checks
        .iter()
        .filter(|c| c.id.ends_with("#stored") && c.class == Class::Pass)
        .count();
    assert_eq!(
        stored,
        creates.len(),
        "every create's stored values are read back"
    );
}

/// D-UNIQUE across runs (CONTRACT.md): the baseline remembers the first run's ids. A server
/// restarted with a fresh database gives the same ids again, which is what a CI job that
/// starts the implementation anew looks like: INFO, saying the ids restarted, and the run
/// passes. A server restarted with its id counter reset but its database kept answers ids
/// whose earlier reports are still stored (the observer reads them with the first run's
/// marker): FAIL, naming both runs.
#[tokio::test]
async fn d_unique_across_runs_needs_evidence_that_the_earlier_report_is_stored() {
    let dir = std::env::temp_dir().join(format!("amp-ids-across-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run_once = |dir: std::path::PathBuf, store: support::Store| async move {
        let server = support::spawn_with(Mutant::Different, store).await;
        let mut config = config_for(&server, SEED);
        config.snapshots = Some(amp_conformance::snapshot::Snapshots::new(dir, false, true));
        run(config).await.expect("run")
    };
    let check = |report: &RunReport| {
        report
            .checks
            .iter()
            .find(|c| c.id == "stateful/ids-across-runs")
            .cloned()
            .expect("the across-runs check")
    };
    let kept = support::Store::default();
    let first = run_once(dir.clone(), kept.clone()).await;
    assert_eq!(check(&first).class, Class::Skipped, "{:?}", check(&first));
    assert!(first.passed, "{:#?}", classes(&first));

    // A fresh database: the same ids again, no earlier report behind them.
    let fresh = run_once(dir.clone(), support::Store::default()).await;
    let across = check(&fresh);
    assert_eq!(
        (across.class, across.rule),
        (Class::Info, amp_contract::rules::Rule::DUnique),
        "{across:?}"
    );
    assert!(across.reason.contains("restarted"), "{}", across.reason);
    assert!(fresh.passed, "{:#?}", classes(&fresh));

    // The database kept: the observer shows the first run's reports under the new ids.
    let second = run_once(dir.clone(), kept).await;
    let across = check(&second);
    assert_eq!(
        (across.class, across.rule),
        (Class::Fail, amp_contract::rules::Rule::DUnique),
        "{across:?}"
    );
    assert!(
        across.reason.contains(&first.run_id),
        "the earlier run is named: {}",
        across.reason
    );
    assert!(!second.passed);
    // The finding's name holds no run id: a known-failures entry matches it every time.
    let findings = second.findings();
    let finding = findings
        .iter()
        .find(|f| f.checks.iter().any(|c| c == "stateful/ids-across-runs"))
        .expect("finding");
    assert_eq!(
        finding.name,
        "D-UNIQUE:report-ids-of-stored-earlier-reports-answered-again"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
