//! Replay: the exact requests of a recorded failure, sent again and judged again. Against the
//! broken server they fail as before; against a fixed one they pass. The report keeps no key:
//! it is supplied again at replay time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use amp_conformance::judge::Class;
use amp_conformance::report::Format;
use amp_conformance::runner::run;
use support::{KEY, Mutant, config_for, spawn};

/// The flags of the recorded run (tests/support's services and missing id), as a user
/// repeats them.
fn run_flags() -> Vec<String> {
    use amp_contract::envelope::DedicatedIp;
    let registry = support::registry();
    let mut flags: Vec<String> = registry
        .iter()
        .flat_map(|(id, ip)| {
            let ip = match ip {
                DedicatedIp::Address(ip) => ip.to_string(),
                DedicatedIp::None => "none".to_owned(),
            };
            ["--service".to_owned(), format!("{id}={ip}")]
        })
        .collect();
    flags.extend([
        "--missing-service-id".to_owned(),
        registry.missing_id().to_string(),
    ]);
    flags
}

async fn replay(report: &std::path::Path, filter: &str, endpoint: &str) -> (Option<i32>, String) {
    replay_with(report, filter, endpoint, &run_flags()).await
}

async fn replay_with(
    report: &std::path::Path,
    filter: &str,
    endpoint: &str,
    flags: &[String],
) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .arg("replay")
        .arg(report)
        .arg(filter)
        .args(["--target", endpoint])
        .args(flags)
        .env("AMP_API_ID", KEY)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_failure_fails_before_the_fix_and_passes_after() {
    let broken = spawn(Mutant::NoAuth).await;
    let report = run(config_for(&broken, 7)).await.unwrap();
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Fail && c.rule == amp_contract::rules::Rule::DAuth)
        .collect();
    assert!(!failing.is_empty());
    let json = Format::Json.render(&report);
    assert!(!json.contains(KEY), "the report holds no key");
    let dir = std::env::temp_dir().join(format!("amp-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    std::fs::write(&path, json).unwrap();

    let mut verbose = run_flags();
    verbose.push("--verbose".to_owned());
    // Before the fix: the same requests fail the same way (`--verbose` lists every check: a
    // finding names only its first check ids).
    let (code, out) = replay_with(&path, "D-AUTH", &broken.endpoint, &verbose).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("D-AUTH"), "{out}");
    for check in &failing {
        assert!(out.contains(&check.id), "{} replayed: {out}", check.id);
    }
    // One check by its id.
    let (code, _) = replay(&path, &failing[0].id, &broken.endpoint).await;
    assert_eq!(code, Some(1));

    // After the fix: they pass.
    let fixed = spawn(Mutant::Different).await;
    let (code, out) = replay(&path, "D-AUTH", &fixed.endpoint).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("=> PASS"), "{out}");

    // Nothing recorded under that name: a usage error that says what to give.
    let (code, out) = replay(&path, "no-such-check", &fixed.endpoint).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("records no request for `no-such-check`"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A replay confirms only what it judged, under the run's services (CONTRACT.md §6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_under_other_services_or_that_judges_nothing_does_not_pass() {
    use amp_conformance::cases::recorded::RecordedExpect;
    // Every answer text/html: creates are findings too (R-STATUS), with their requests.
    let broken = spawn(Mutant::HtmlContentType).await;
    let report = run(config_for(&broken, 7)).await.unwrap();
    let create = report
        .checks
        .iter()
        .find(|c| {
            c.request
                .as_ref()
                .is_some_and(|r| r.expect == RecordedExpect::Success)
        })
        .expect("a create among the findings")
        .id
        .clone();
    let dir = std::env::temp_dir().join(format!("amp-replay-ctx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    std::fs::write(&path, Format::Json.render(&report)).unwrap();
    let fixed = spawn(Mutant::Different).await;

    // Other services than the run's: refused before anything is sent, naming the run's flags.
    let other = ["--missing-service-id".to_owned(), "999".to_owned()];
    let (code, out) = replay_with(&path, &create, &fixed.endpoint, &other).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--service 1="), "names the run's flags: {out}");

    // The run's services without its --allow-writes: the create is skipped, nothing is judged,
    // nothing is confirmed.
    let (code, out) = replay_with(&path, &create, &fixed.endpoint, &run_flags()).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("judged nothing"), "{out}");

    // With the run's flags and --allow-writes the fix is confirmed.
    let mut flags = run_flags();
    flags.push("--allow-writes".to_owned());
    let (code, out) = replay_with(&path, &create, &fixed.endpoint, &flags).await;
    assert_eq!(code, Some(0), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
