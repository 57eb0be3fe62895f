//! The suite in process, in `cargo test`, with no socket: against the reference server's
//! `Router` it passes; against a broken service it fails with the right finding; header-name
//! case checks are SKIPPED, saying why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use amp_conformance::inprocess;
use amp_conformance::judge::Class;
use amp_conformance::server::{self, AppState, Store};
use amp_contract::envelope::ApiIds;
use support::{KEY, Mutant};

fn services() -> (Vec<(u32, amp_contract::envelope::DedicatedIp)>, Option<u32>) {
    let registry = support::registry();
    (registry.iter().collect(), Some(registry.missing_id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_router_conforms_in_process() {
    let state = Arc::new(AppState {
        api_ids: ApiIds::new([KEY]),
        registry: support::registry(),
        store: Store::new(),
    });
    let router = server::app(state, Duration::from_secs(30));
    let (services, missing) = services();
    let mut config = inprocess::config(
        router,
        KEY,
        services,
        missing,
        Some("/_amp/reports/{report_id}"),
    );
    config.strict = true;
    config.seed = Some(20_261_127);
    let report = inprocess::assert_conforms(config).await;
    // Stored values were read back through the service's observer route.
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id.ends_with("#stored") && c.class == Class::Pass)
    );
    // Header-name case cannot reach a Service: skipped, saying why.
    let case = report
        .checks
        .iter()
        .find(|c| c.id == "auth/header-name-mixed-case")
        .expect("the mixed-case check");
    assert_eq!(case.class, Class::Skipped, "{case:?}");
    assert!(case.reason.contains("in-process"), "{}", case.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_service_fails_with_the_right_finding() {
    let (services, missing) = services();
    let config = inprocess::config(
        support::router(Mutant::NoAuth),
        KEY,
        services,
        missing,
        Some("/observe/{report_id}"),
    );
    let report = inprocess::check(config).await.unwrap();
    assert!(!report.passed);
    let fails: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Fail && c.rule == amp_contract::rules::Rule::DAuth)
        .map(|c| c.id.as_str())
        .collect();
    assert!(fails.contains(&"auth/missing-header"), "{fails:?}");
    // assert_conforms fails the test with the grouped findings (a run is not Send: it is
    // driven on a runtime of its own thread here).
    let config = inprocess::config(
        support::router(Mutant::NoAuth),
        KEY,
        support::registry().iter().collect(),
        Some(support::registry().missing_id()),
        None,
    );
    let panicked = std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(inprocess::assert_conforms(config))
    })
    .join();
    let payload = panicked.expect_err("assert_conforms fails the test");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("D-AUTH"), "{message}");
}
