//! Safety against the most lenient server the page allows (`tests/php/lenient_server.php`),
//! not against the reference (CONTRACT.md §6): it reads parameters from every source, in any
//! case and method, the service id with every PHP idiom, and knows every service id but the
//! missing one. A read-only run must create nothing on it, for any seed; a writing run's
//! creates must all carry the purge marker where their parameters travelled.

use super::*;

use amp_conformance::report::RunReport;
use serde_json::Value;

/// The lenient server; `missing` is the one id that names no service.
fn lenient(missing: u32) -> PhpServer {
    PhpServer::start_script(
        "lenient_server.php",
        "lenient",
        &[("AMP_PHP_MISSING", &missing.to_string())],
    )
}

/// The creates the server logged.
fn creates(server: &PhpServer) -> Vec<Value> {
    std::fs::read_to_string(&server.db)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// A run as a user starts it against a real target: read-only unless `writes`.
fn config(server: &PhpServer, seed: u64, services: bool, writes: bool) -> RunConfig {
    let registry = support::registry();
    let mut config = RunConfig::owned_target(
        &server.endpoint(),
        Secret::new(KEY),
        if services {
            registry.iter().collect()
        } else {
            Vec::new()
        },
        Some(registry.missing_id()),
        None,
    );
    config.allow_writes = writes;
    config.allow_suspend = false;
    config.max_writes = Some(25);
    config.seed = Some(seed);
    config.cases = 100;
    config
}

async fn run_against(server: &PhpServer, config: RunConfig) -> RunReport {
    let report = run(config)
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}\nPHP log:\n{}", server.log_text()));
    server.assert_no_php_problems();
    report
}

fn sent(report: &RunReport) -> usize {
    report
        .checks
        .iter()
        .filter(|c| c.class != Class::Skipped && !c.id.ends_with("#stored"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_run_creates_nothing_on_the_most_lenient_server() {
    if !php_ready() {
        return;
    }
    for (seed, services) in [(1, true), (2, false), (3, true), (20_261_127, false)] {
        let server = lenient(support::registry().missing_id());
        let report = run_against(&server, config(&server, seed, services, false)).await;
        let created = creates(&server);
        eprintln!(
            "seed {seed}, --service {}: {} requests sent, {} checks skipped, {} creates",
            if services { "given" } else { "not given" },
            sent(&report),
            report.of_class(Class::Skipped).len(),
            created.len()
        );
        assert!(
            created.is_empty(),
            "seed {seed}: a read-only run created reports on a conformant lenient server:\n{created:#?}"
        );
        assert!(report.read_only_creates.is_empty());
        let mut reasons = std::collections::BTreeMap::<&str, usize>::new();
        for c in report.of_class(Class::Skipped) {
            *reasons.entry(c.reason.as_str()).or_default() += 1;
        }
        eprintln!("{reasons:#?}");
        assert!(
            sent(&report) > 90,
            "seed {seed}: the run must still send what the page demands to reject"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_success_in_a_read_only_run_fails_it_and_says_what_to_purge_first() {
    if !php_ready() {
        return;
    }
    // Every id exists, the "missing" one too: the user named a service as missing.
    let server = lenient(0);
    let report = run_against(&server, config(&server, 1, false, false)).await;
    assert!(!creates(&server).is_empty(), "the server must have created");
    assert_eq!(report.read_only_creates.len(), creates(&server).len());
    assert!(!report.passed);
    let warning = report.read_only_warning().expect("a warning");
    assert!(warning.contains(&format!("amp-conformance run {}", report.run_id)));
    let mut text = Vec::new();
    amp_conformance::report::terminal::write(&report, &mut text, false, false).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.starts_with("FAIL       THIS READ-ONLY RUN CREATED"),
        "the warning comes first:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_create_carries_the_purge_marker_where_its_parameters_travel() {
    if !php_ready() {
        return;
    }
    let server = lenient(support::registry().missing_id());
    let report = run_against(&server, config(&server, 1, true, true)).await;
    let created = creates(&server);
    let marker = format!("amp-conformance run {}", report.run_id);
    assert!(
        created.len() > 30,
        "the lenient server accepts much: {} creates",
        created.len()
    );
    let mut marked = 0;
    // `success/notes-omitted` tests admin_notes by leaving it out (D-DEFAULTS: stored empty):
    // the one request that carries the marker in its header only (CONTRACT.md §6).
    let mut without_notes = Vec::new();
    for create in &created {
        let header = create["marker_header"].as_str().unwrap_or_default();
        assert!(
            header.contains(&format!("run={}", report.run_id)),
            "no marker header: {create}"
        );
        let notes = &create["admin_notes"];
        // Wherever the create's parameters travelled, admin_notes travelled too.
        let sources = create["sources"].as_array().expect("sources");
        if !sources
            .iter()
            .any(|source| notes.get(source.as_str().unwrap_or_default()).is_some())
        {
            without_notes.push(create.clone());
        }
        if notes.to_string().contains(&marker) {
            marked += 1;
        }
    }
    eprintln!(
        "{} creates, {marked} with the marker in admin_notes (the others test admin_notes itself)",
        created.len()
    );
    assert!(marked * 2 > created.len());
    assert!(
        without_notes.len() <= 1,
        "creates whose parameters travelled where no admin_notes was: {without_notes:#?}"
    );
}
