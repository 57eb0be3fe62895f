//! Interrupting a run (issue: Ctrl-C and SIGTERM mid-run). The requests in flight are abandoned
//! within a second, what was answered is reported and the report is marked incomplete, the run
//! id is printed (to purge what was created), and the exit status says which signal: 130 for
//! SIGINT, 143 for SIGTERM, never a pass or a plain failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::sync::Arc;
use std::time::{Duration, Instant};

use raw::RawRequest;
use tokio::net::TcpStream;

const KEY: &str = "interrupt-test-key";

/// A target that answers the first `answered` requests at once and then holds every
/// connection open without a word; `seen` is notified at each request.
async fn holding_target(answered: usize, seen: Arc<tokio::sync::Notify>) -> raw::RawServer {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    raw::spawn(move |stream: TcpStream, request: RawRequest| {
        let (seen, count) = (seen.clone(), count.clone());
        async move {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            seen.notify_one();
            if n < answered {
                let (_, body, _) =
                    raw::amp_answer(&request, KEY, &std::sync::atomic::AtomicU64::new(1));
                raw::reply(stream, raw::json(&body)).await
            } else {
                std::future::pending::<()>().await;
                None
            }
        }
    })
    .await
}

/// Starts the kit with `args` against `server` and waits until a request is held in flight
/// (more than the answered ones have arrived); returns the process and its pid.
async fn started_and_held(
    args: &[&str],
    server: &raw::RawServer,
    seen: &tokio::sync::Notify,
) -> (tokio::process::Child, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .args(args)
        .env("AMP_API_ID", KEY)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    while server.count() < 4 {
        if tokio::time::timeout(Duration::from_secs(30), seen.notified())
            .await
            .is_err()
        {
            let output = child.wait_with_output().await.unwrap();
            panic!(
                "{} requests arrived; the run: {:?}",
                server.count(),
                raw::text(&output)
            );
        }
    }
    (child, pid)
}

async fn interrupted_by(signal: &str, status: i32) {
    let seen = Arc::new(tokio::sync::Notify::new());
    let server = holding_target(3, seen.clone()).await;
    let dir = raw::temp_dir("interrupt");
    let report = dir.join("report.json");
    let endpoint = server.endpoint();
    let report_path = report.to_string_lossy().into_owned();
    let args = [
        "run",
        "--quiet",
        "--no-snapshots",
        "--cases",
        "0",
        "--timeout",
        "60",
        "--concurrency",
        "2",
        "--target",
        &endpoint,
        "--missing-service-id",
        "999",
        "--format",
        "json",
        "--output",
        &report_path,
    ];
    let (child, pid) = started_and_held(&args, &server, &seen).await;
    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the run ended after the signal")
        .unwrap();
    let took = signalled.elapsed();
    let (stdout, stderr) = raw::text(&output);
    assert_eq!(output.status.code(), Some(status), "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(3), "{took:?} after {signal}");
    assert!(
        stdout.contains(&format!("INTERRUPTED by SIG{signal}")),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["interrupted"], format!("SIG{signal}"));
    assert_eq!(json["passed"], false);
    let run_id = json["run_id"].as_str().unwrap();
    assert!(stdout.contains(run_id), "the run id is printed: {stdout}");
    let checks = json["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["class"] == "PASS"),
        "what was answered is judged"
    );
    assert!(
        checks.iter().any(|c| c["class"] == "SKIPPED"
            && c["reason"].as_str().unwrap_or("").contains("interrupted")),
        "what was not sent or was abandoned says so"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_ends_the_run_within_a_second_with_an_incomplete_report() {
    interrupted_by("INT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_run_with_status_143() {
    interrupted_by("TERM", 143).await;
}

/// `diff` sends through the same session and sender as `run`: a signal ends it within a
/// second too, with the same status, saying it was interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_ends_a_diff_within_a_second() {
    let seen = Arc::new(tokio::sync::Notify::new());
    let server = holding_target(3, seen.clone()).await;
    let endpoint = server.endpoint();
    let args = [
        "diff",
        "--quiet",
        "--cases",
        "0",
        "--timeout",
        "60",
        "--concurrency",
        "2",
        "--target",
        "reference",
        "--target",
        &endpoint,
        "--missing-service-id",
        "999",
    ];
    let (child, pid) = started_and_held(&args, &server, &seen).await;
    let signalled = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the diff ended after the signal")
        .unwrap();
    let (stdout, stderr) = raw::text(&output);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(signalled.elapsed() < Duration::from_secs(3));
    assert!(stdout.contains("SIGINT"), "{stdout}");
}

/// The breaker holds for `diff` as for `run`: a side that refuses every connection stops the
/// diff as an outage (exit 3), instead of a list of differences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_side_that_is_down_is_an_outage() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/modules/addons/abusemanagerpro/includes/api.php");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .args(["diff", "--quiet", "--cases", "0", "--timeout", "5"])
        .args(["--target", "reference", "--target", &down])
        .args(["--missing-service-id", "999"])
        .env("AMP_API_ID", KEY)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = raw::text(&output);
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
}
