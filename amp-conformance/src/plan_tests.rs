//! The planner against the contract: every fixture's expectation is what the contract answers
//! its exact request, and a seed replays the same generated requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use super::*;
use crate::cases::{Case, fixtures, properties};
use crate::server::Registry;

const KEY: &str = "plan-test-key";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn registry() -> Registry {
    Registry::from_file(&workspace().join("fixtures/services.toml")).expect("registry")
}

fn fixture_cases() -> Vec<Case> {
    fixtures::load_dir(&workspace().join("fixtures/cases")).expect("fixtures load")
}

fn context() -> PlanContext {
    let registry = registry();
    PlanContext {
        embedded: true,
        services: registry.iter().collect(),
        missing_service: Some(registry.missing_id()),
        allow_writes: true,
        allow_suspend: true,
        run_id: "test".to_owned(),
    }
}

#[test]
fn every_fixture_expectation_is_what_the_contract_answers() {
    let cx = context();
    for case in fixture_cases() {
        let Planned::Send(ready) = plan(case.clone(), &cx, KEY, 1) else {
            panic!("{} skipped against the embedded server", case.id);
        };
        let oracle = ready.wire.oracle(KEY, &cx);
        use crate::cases::Expectation;
        match (&ready.case.expect, &oracle) {
            (Expectation::Info, _) | (Expectation::Success, Ok(_)) => {}
            (
                Expectation::Error {
                    code,
                    params,
                    status,
                },
                Err(rejection),
            ) => {
                assert_eq!(*code, rejection.error.code, "{}", case.id);
                assert_eq!(*status, rejection.status.as_u16(), "{}", case.id);
                let named: Vec<&str> = params.iter().map(String::as_str).collect();
                assert_eq!(named, rejection.error.params, "{}", case.id);
            }
            (expect, got) => panic!(
                "{}: fixture expects {expect}, contract says {got:?}",
                case.id
            ),
        }
    }
}

#[test]
fn the_seed_replays_the_same_property_cases() {
    let cx = properties::PropertyContext {
        cases: 60,
        seed: 99,
        services: vec![1, 2, 3],
        missing_service: Some(4),
        allow_writes: true,
        allow_suspend: true,
    };
    let bodies = |seed: u64| -> Vec<(String, Vec<u8>)> {
        let cx = properties::PropertyContext { seed, ..cx.clone() };
        properties::generate(&cx, &context())
            .expect("generate")
            .into_iter()
            .map(|p| match plan(p.case, &context(), KEY, 5) {
                Planned::Send(r) => (r.case.id, r.wire.body),
                Planned::Skip(c, _) => (c.id, Vec::new()),
            })
            .collect()
    };
    assert_eq!(bodies(99), bodies(99));
    assert_ne!(bodies(99), bodies(100));
}

#[test]
fn a_tree_seed_grows_the_tree_each_case_was_drawn_from() {
    // Cases are planned on another thread than the one that shrinks them, so a failing case
    // keeps the seed of its value tree, not the tree: growing it again must give the same
    // request, for every kind of case (valid, invalid, each mutation).
    let cx = properties::PropertyContext {
        cases: 120,
        seed: 7,
        services: vec![1, 2, 3],
        missing_service: Some(4),
        allow_writes: true,
        allow_suspend: false,
    };
    let generated = properties::generate(&cx, &context()).expect("generate");
    assert_eq!(generated.len(), 120);
    for p in &generated {
        let tree = p.tree.grow().expect("the seed grows its tree");
        let again = tree.current(&p.case);
        assert_eq!(again.request, p.case.request, "{}", p.case.id);
        assert_eq!(again.rules, p.case.rules, "{}", p.case.id);
    }
    // And a grown tree still shrinks: some simpler value exists for a generated valid create.
    let mut tree = generated[0].tree.grow().expect("grow");
    assert!(tree.simplify(), "a generated create has something simpler");
    assert_ne!(
        tree.current(&generated[0].case).request,
        generated[0].case.request
    );
}
