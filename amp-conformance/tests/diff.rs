//! `amp-conformance diff`: the same requests to two implementations. Between the reference
//! server and a server that accepts the page's own `suspend_method=suspend`, exactly that
//! behaviour differs (R-SUSPEND); between the reference and a correct implementation with other
//! incidental choices (ids, wording, a charset), nothing does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use amp_contract::envelope::DedicatedIp;
use support::{KEY, Mutant, spawn};

async fn diff(other: &str) -> (Option<i32>, String) {
    let registry = support::registry();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"));
    command
        .args(["diff", "--target", "reference", "--target", other])
        .args(["--allow-writes", "--allow-suspend", "--max-writes", "1000"])
        .args(["--seed", "7", "--cases", "60"])
        .args(["--missing-service-id", &registry.missing_id().to_string()])
        .env("AMP_API_ID", KEY)
        .env("NO_COLOR", "1");
    for (id, ip) in registry.iter() {
        command.arg("--service").arg(match ip {
            DedicatedIp::Address(ip) => format!("{id}={ip}"),
            DedicatedIp::None => format!("{id}=none"),
        });
    }
    let output = command.output().await.unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_lists_exactly_the_broken_behaviour() {
    let broken = spawn(Mutant::AcceptsSuspend).await;
    let (code, out) = diff(&broken.endpoint).await;
    assert_eq!(code, Some(1), "{out}");
    let differs: Vec<&str> = out.lines().filter(|l| l.starts_with("DIFFERS")).collect();
    assert!(!differs.is_empty(), "{out}");
    assert!(
        differs.iter().all(|l| l.ends_with("[R-SUSPEND]")),
        "only R-SUSPEND differs: {out}"
    );
    assert!(
        differs
            .iter()
            .any(|l| l.contains("values/suspend-page-example")),
        "{out}"
    );
    assert!(!out.contains(KEY), "the key is in no output");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_implementation_differs_in_nothing_that_matters() {
    let other = spawn(Mutant::Different).await;
    let (code, out) = diff(&other.endpoint).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(" 0 differ"), "{out}");
}
