//! Hostile targets: raw TCP servers that misbehave at the transport level (refuse, reset, hang,
//! drip, answer 100 MB, garbage bodies, wrong Content-Length, redirect loops, PHP fatal pages,
//! an echoed key). Each run must end within a bound derived from its timeouts (never cases ×
//! timeout: the consecutive-error stop kicks in), without a panic, and say what happened in one
//! clear line per finding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::time::{Duration, Instant};

use amp_conformance::config::{RunConfig, RunError};
use amp_conformance::judge::Class;
use amp_conformance::report::{Format, RunReport};
use amp_conformance::runner::run;
use raw::{RawRequest, reply, response, spawn};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const KEY: &str = "hostile-key-5d1c9e";

/// The longest a run may take: the rounds needed to reach the consecutive-error stop, each one
/// timeout (plus the outer timeout's margin) long, plus a round in flight and some slack.
fn bound(config: &RunConfig) -> Duration {
    let rounds = config
        .stop_after_errors
        .div_ceil(config.concurrency.max(1))
        .max(1) as u32
        + 1;
    (config.timeout + Duration::from_millis(500)) * rounds + Duration::from_secs(3)
}

async fn timed(config: RunConfig) -> (Result<RunReport, RunError>, Duration, Duration) {
    let limit = bound(&config);
    let started = Instant::now();
    let result = tokio::time::timeout(limit * 3, run(config))
        .await
        .expect("the run hung");
    (result, started.elapsed(), limit)
}

/// Runs against `server` and checks the common promises: within the bound, a report, every
/// finding and note in one line, the key nowhere.
async fn run_checked(config: RunConfig) -> RunReport {
    let (result, took, limit) = timed(config).await;
    let report = match result {
        Ok(report) => report,
        Err(e) => panic!("the run failed: {e}"),
    };
    assert!(
        took <= limit,
        "the run took {took:?}, more than {limit:?}: {:?}",
        report.stopped
    );
    for check in &report.checks {
        if matches!(check.class, Class::Fail | Class::Error | Class::NonStrict) {
            for text in [&check.actual, &check.reason] {
                assert!(
                    !text.is_empty() && !text.contains('\n') && text.len() < 400,
                    "{}: not one clear line: {text:?}",
                    check.id
                );
            }
        }
    }
    for note in &report.notes {
        assert!(!note.contains('\n'), "note on several lines: {note:?}");
    }
    let json = Format::Json.render(&report);
    assert!(!json.contains(KEY), "the key leaked into the report");
    // What a user reads (shown with --nocapture).
    let first = report
        .checks
        .iter()
        .find(|c| matches!(c.class, Class::Fail | Class::Error));
    if let Some(c) = first {
        eprintln!(
            "{} {} [{}]: {} | {}",
            c.class, c.id, c.rule, c.actual, c.reason
        );
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    eprintln!("took {took:?} (bound {limit:?})");
    report
}

fn errors(report: &RunReport) -> Vec<&amp_conformance::report::CheckResult> {
    report
        .checks
        .iter()
        .filter(|c| c.class == Class::Error)
        .collect()
}

fn fails(report: &RunReport) -> Vec<&amp_conformance::report::CheckResult> {
    report
        .checks
        .iter()
        .filter(|c| c.class == Class::Fail)
        .collect()
}

/// A run that met only transport errors: it stopped after the default 5 in a row, said why
/// once, and reported the cases it did not send.
fn assert_stopped(report: &RunReport, says: &str) {
    let stopped = report.stopped.as_deref().expect("the run did not stop");
    // Only a target that answers nothing at all is an outage (exit code 3).
    let outage = says.starts_with("no answer within");
    assert_eq!(report.outage, outage, "outage for {says:?}: {stopped}");
    assert!(
        stopped.contains("5 consecutive transport errors") && stopped.contains(says),
        "{stopped}"
    );
    assert_eq!(
        report
            .notes
            .iter()
            .filter(|n| n.contains("consecutive transport errors"))
            .count(),
        1,
        "{:#?}",
        report.notes
    );
    assert!(!report.passed);
    let errors = errors(report);
    assert!(errors.len() >= 5, "{errors:#?}");
    for e in &errors {
        assert!(e.actual.contains(says), "{}: {}", e.id, e.actual);
    }
    let unsent = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Skipped && c.reason.contains("the run stopped after 5"))
        .count();
    assert!(unsent > 10, "the cases not sent are reported: {unsent}");
}

/// Reads nothing more, writes `head` and then holds the connection for `hold`.
async fn write_then_hold(
    mut stream: TcpStream,
    head: Vec<u8>,
    hold: Duration,
) -> Option<TcpStream> {
    stream.write_all(&head).await.ok()?;
    tokio::time::sleep(hold).await;
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_unreachable_quickly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = raw::config(&format!("http://{addr}{}", raw::API), KEY);
    let (result, took, limit) = timed(config).await;
    assert!(took <= limit, "{took:?}");
    match result {
        Err(RunError::Unreachable(why)) => {
            assert!(why.contains("TCP connect failed"), "{why}");
            assert!(why.to_ascii_lowercase().contains("refused"), "{why}");
            assert!(!why.contains('\n') && !why.contains(KEY), "{why}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mid_answer_is_an_error_and_stops_the_run() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let mut stream = stream;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{\"status\":\"err")
            .await;
        let _ = stream.flush().await;
        // SO_LINGER 0: the close is a TCP reset.
        let _ = stream.set_zero_linger();
        drop(stream);
        None
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert_stopped(&report, "the answer broke off in the body (HTTP 200)");
    assert!(server.count() < 12, "sent {} requests", server.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_hanging_before_the_answer_times_out_and_stops_the_run() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        write_then_hold(stream, Vec::new(), Duration::from_secs(30)).await
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert_stopped(&report, "no answer within 1s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_hanging_during_the_body_times_out_and_stops_the_run() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":".to_vec();
        write_then_hold(stream, head, Duration::from_secs(30)).await
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert_stopped(&report, "the body did not complete within 1s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_dripping_a_byte_a_second_times_out_and_stops_the_run() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let mut stream = stream;
        let body = br#"{"status":"error","error_code":"AMP001","error_description":"x"}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.ok()?;
        for byte in body {
            stream.write_all(&[*byte]).await.ok()?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        None
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert_stopped(&report, "the body did not complete within 1s");
}

/// Streams up to 100 MB in 64 KiB chunks, chunked or with a declared length, until the client
/// hangs up.
async fn hundred_megabytes(stream: TcpStream, chunked: bool) -> Option<TcpStream> {
    const TOTAL: usize = 100 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let mut stream = stream;
    let head = if chunked {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_owned()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {TOTAL}\r\n\r\n"
        )
    };
    stream.write_all(head.as_bytes()).await.ok()?;
    let data = vec![b' '; CHUNK];
    for _ in 0..TOTAL / CHUNK {
        if chunked {
            stream
                .write_all(format!("{CHUNK:x}\r\n").as_bytes())
                .await
                .ok()?;
            stream.write_all(&data).await.ok()?;
            stream.write_all(b"\r\n").await.ok()?;
        } else {
            stream.write_all(&data).await.ok()?;
        }
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await.ok()?;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_answer_is_an_error_naming_the_limit_and_ends_quickly() {
    for chunked in [true, false] {
        let server = spawn(move |stream: TcpStream, _: RawRequest| async move {
            hundred_megabytes(stream, chunked).await
        })
        .await;
        let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
        assert_stopped(&report, "larger than the 1048576-byte limit");
    }
}

/// The kit's peak memory (max RSS of the binary, from `/usr/bin/time -v`) stays far below the
/// 100 MB it is sent: the body is read with a cap and dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_answer_costs_the_binary_little_memory() {
    let time = std::path::Path::new("/usr/bin/time");
    let probe = std::process::Command::new(time)
        .args(["-v", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("note: /usr/bin/time -v is not available; the memory bound is not measured");
        return;
    }
    let server =
        spawn(
            |stream: TcpStream, _: RawRequest| async move { hundred_megabytes(stream, true).await },
        )
        .await;
    let endpoint = server.endpoint();
    let started = Instant::now();
    let output = tokio::process::Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_amp-conformance"))
        .args([
            "run",
            "--quiet",
            "--no-snapshots",
            "--cases",
            "0",
            "--timeout",
            "2",
        ])
        .args(["--concurrency", "4", "--target", &endpoint])
        .args(["--missing-service-id", "999"])
        .current_dir(raw::workspace())
        .env("AMP_API_ID", KEY)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = raw::text(&output);
    // A target that answers wrongly, however badly, is a finding (exit 1), not an outage (3).
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("response body larger than the 1048576-byte limit"),
        "{stdout}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    let kib: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("max RSS in /usr/bin/time's output");
    eprintln!("max RSS of the kit against a 100 MB answer: {kib} KiB in {took:?}");
    assert!(kib < 64 * 1024, "max RSS {kib} KiB");
}

/// A target whose every answer is `answer`: the run completes (no transport errors), each
/// finding is a FAIL whose actual says `says`.
async fn garbage(answer: Vec<u8>, says: &str) -> RunReport {
    let server = spawn(move |stream: TcpStream, _: RawRequest| {
        let answer = answer.clone();
        async move { reply(stream, answer).await }
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    assert!(!report.passed);
    let fails = fails(&report);
    assert!(fails.len() > 10, "{:#?}", report.checks);
    for f in &fails {
        assert!(f.actual.contains(says), "{}: {}", f.id, f.actual);
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_a_fail_saying_so() {
    let body =
        b"{\"status\":\"error\",\"error_code\":\"AMP001\",\"error_description\":\"\xff\xfe\"}";
    let report = garbage(
        response("200 OK", &[("Content-Type", "application/json")], body),
        "not UTF-8",
    )
    .await;
    assert!(
        fails(&report)
            .iter()
            .all(|f| f.rule == amp_contract::rules::Rule::DNo5xx)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_is_a_fail_showing_it() {
    garbage(
        response(
            "200 OK",
            &[("Content-Type", "text/plain")],
            b"Access denied.\nContact your administrator.",
        ),
        "text, not JSON: \"Access denied.\"",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_is_a_fail_saying_where() {
    garbage(
        raw::json("{\"status\":\"error\",\"error_code\":\"AMP0"),
        "malformed JSON (EOF while parsing",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_array_is_a_shape_fail() {
    let report = garbage(raw::json("[1,2,3]"), "JSON array instead of an object").await;
    assert!(
        fails(&report)
            .iter()
            .all(|f| f.rule == amp_contract::rules::Rule::DErrorShape)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_shorter_than_the_body_is_judged_on_what_it_declares() {
    // 20 declared bytes of a 64-byte body: the client reads 20, the rest is garbage on the
    // connection (the next answer on it cannot be parsed, or the connection is dropped).
    let body = br#"{"status":"error","error_code":"AMP001","error_description":"x"}"#;
    let answer = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
            .as_slice(),
        body,
    ]
    .concat();
    let server = spawn(move |stream: TcpStream, _: RawRequest| {
        let answer = answer.clone();
        async move { reply(stream, answer).await }
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    let fails = fails(&report);
    assert!(!fails.is_empty(), "{:#?}", report.checks);
    for f in &fails {
        assert!(
            f.actual.contains("malformed JSON"),
            "{}: {}",
            f.id,
            f.actual
        );
    }
    for e in errors(&report) {
        assert!(e.actual.starts_with("no valid HTTP answer: "), "{e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_longer_than_the_body_is_an_error_and_stops_the_run() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let mut stream = stream;
        let body = br#"{"status":"error","error_code":"AMP001","error_description":"x"}"#;
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n";
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.write_all(body).await.ok()?;
        // Closed with 136 declared bytes missing.
        None
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert_stopped(
        &report,
        "the answer broke off in the body (HTTP 200): end of file before message length reached",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_not_followed_and_said_once() {
    let location = raw::API;
    let answer = response("301 Moved Permanently", &[("Location", location)], b"");
    let server = spawn(move |stream: TcpStream, _: RawRequest| {
        let answer = answer.clone();
        async move { reply(stream, answer).await }
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    // CONTRACT.md §4: every first answer a redirect is a configuration error (exit code 2),
    // said from the first answers, not after a hundred FAIL blocks.
    assert!(
        report.misconfigured && !report.passed,
        "{:#?}",
        report.notes
    );
    assert!(server.count() <= 5 + 2, "{} requests", server.count());
    for f in fails(&report) {
        let says = format!("HTTP 301 redirect to {location}");
        assert!(f.actual.contains(&says), "{}: {}", f.id, f.actual);
    }
    let notes: Vec<_> = report
        .notes
        .iter()
        .filter(|n| n.contains("redirect"))
        .collect();
    // The diagnosis (where it points, what to pass) and the stop that says why no more was sent.
    assert_eq!(notes.len(), 2, "{:#?}", report.notes);
    assert!(
        notes
            .iter()
            .all(|n| n.contains(location) && n.contains("--target")),
        "{notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_php_fatal_error_page_is_a_5xx_fail_with_its_text() {
    let page = "<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function mysql_connect() in \
                /var/www/whmcs/modules/addons/abusemanagerpro/includes/api.php:12\nStack trace:\n#0 {main}\n  \
                thrown in <b>/var/www/whmcs/modules/addons/abusemanagerpro/includes/api.php</b> on line <b>12</b><br />\n";
    let report = garbage(
        response(
            "500 Internal Server Error",
            &[("Content-Type", "text/html; charset=UTF-8")],
            page.as_bytes(),
        ),
        "Fatal error: Uncaught Error: Call to undefined function mysql_connect()",
    )
    .await;
    assert!(
        fails(&report)
            .iter()
            .all(|f| f.rule == amp_contract::rules::Rule::DNo5xx)
    );
    let html: Vec<_> = report
        .notes
        .iter()
        .filter(|n| n.contains("answered HTML"))
        .collect();
    assert_eq!(html.len(), 1, "{:#?}", report.notes);
    assert!(html[0].contains("Fatal error"), "{}", html[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_is_redacted_everywhere_in_the_report() {
    let server = spawn(|stream: TcpStream, request: RawRequest| async move {
        let key = request.header("api_id").unwrap_or("").to_owned();
        let body = raw::amp_error(
            amp_contract::ErrorCode::Unauthorized,
            &format!("API_ID {key} is not valid"),
        );
        let answer = response(
            "200 OK",
            &[
                ("Content-Type", &format!("application/json; key={key}")),
                ("X-Echo", &key),
            ],
            body.as_bytes(),
        );
        reply(stream, answer).await
    })
    .await;
    let report = run_checked(raw::config(&server.endpoint(), KEY)).await;
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.actual.contains("$AMP_API_ID")),
        "the echoed key is shown as $AMP_API_ID"
    );
    for format in [Format::Json, Format::Junit, Format::Markdown] {
        assert!(!format.render(&report).contains(KEY), "{format:?}");
    }
}
