//! Secret hygiene (CONTRACT.md §6): a target echoes the API_ID back in JSON error
//! descriptions (plain and `\u`-escaped), in raw text, in an HTML page, in a redirect's
//! Location and in response headers. The binary runs against it with a marker key, writing
//! every report format, snapshots (`.snap.new` outside CI, then accepted), a dry run, progress
//! lines and the terminal report; then every byte written is searched for the key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use raw::{RawRequest, bin, reply, response, spawn, text};
use tokio::net::TcpStream;

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The echo, in turn: JSON, escaped JSON, text, HTML, a redirect, a correct answer; the key
/// is in a header of every answer.
fn echo(n: usize, request: &RawRequest, key: &str, ids: &AtomicU64) -> Vec<u8> {
    let presented = request.header("api_id").unwrap_or("none").to_owned();
    let escaped: String = presented
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let headers_json = [
        ("Content-Type", format!("application/json; key={presented}")),
        ("X-Echo-Api-Id", presented.clone()),
        ("Set-Cookie", format!("k={presented}")),
    ];
    let headers: Vec<(&str, &str)> = headers_json.iter().map(|(n, v)| (*n, v.as_str())).collect();
    match n % 6 {
        0 => {
            let body = raw::amp_error(
                amp_contract::ErrorCode::Unauthorized,
                &format!("API_ID {presented} is not valid"),
            );
            response("200 OK", &headers, body.as_bytes())
        }
        1 => {
            let body = format!(
                "{{\"status\":\"error\",\"error_code\":\"AMP003\",\"error_description\":\"key {escaped}\"}}"
            );
            response("200 OK", &headers, body.as_bytes())
        }
        2 => response(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("X-Echo-Api-Id", &presented),
            ],
            format!("the key {presented} is wrong\nsecond line {presented}").as_bytes(),
        ),
        3 => response(
            "403 Forbidden",
            &[("Content-Type", "text/html"), ("X-Echo-Api-Id", &presented)],
            format!("<html>\n<h1>Forbidden: {presented}</h1>\n<p>{presented}</p></html>")
                .as_bytes(),
        ),
        4 => response(
            "302 Found",
            &[("Location", &format!("{}?api_id={presented}", raw::API))],
            b"",
        ),
        _ => {
            let (_, body, _) = raw::amp_answer(request, key, ids);
            let body = body.replace("\"}", &format!(" {presented}\"}}"));
            response("200 OK", &headers, body.as_bytes())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_appears_in_no_byte_written() {
    let key = format!("amp-secret-marker-{}", raw::token());
    let served = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(AtomicU64::new(0));
    let server = {
        let (key, served, ids) = (key.clone(), Arc::clone(&served), Arc::clone(&ids));
        spawn(move |stream: TcpStream, request: RawRequest| {
            let n = served.fetch_add(1, Ordering::SeqCst);
            let answer = echo(n, &request, &key, &ids);
            async move { reply(stream, answer).await }
        })
        .await
    };
    let endpoint = server.endpoint();
    let out = raw::temp_dir("secrets-out");
    let key_file = raw::temp_dir("secrets-key").join("api_id");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let snaps = out.join("snapshots");
    let common = |cmd: &mut tokio::process::Command| {
        cmd.args(["run", "--target", &endpoint])
            .args([
                "--allow-writes",
                "--service",
                "1=192.0.2.10",
                "--service",
                "2=none",
            ])
            .args([
                "--missing-service-id",
                "999",
                "--cases",
                "6",
                "--timeout",
                "2",
                "--seed",
                "11",
            ])
            .arg("--snapshots")
            .arg(&snaps)
            .env("AMP_LOG", "trace")
            .env("RUST_BACKTRACE", "1");
    };
    let mut captured: Vec<(String, Vec<u8>)> = Vec::new();

    // Every report format to files, the terminal report with every check, progress lines on
    // stderr (no --quiet), the recorded baseline (CI unset).
    let mut cmd = bin();
    common(&mut cmd);
    for (format, name) in [("json", "r.json"), ("junit", "r.xml"), ("markdown", "r.md")] {
        cmd.args(["--format", format, "--output"])
            .arg(out.join(name));
    }
    let output = cmd
        .arg("--verbose")
        .env("AMP_API_ID", &key)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{:?}", text(&output));
    assert!(!raw::text(&output).1.is_empty(), "progress lines on stderr");
    captured.push(("run 1 stdout".into(), output.stdout));
    captured.push(("run 1 stderr".into(), output.stderr));
    assert!(
        files(&snaps)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".snap")),
        "the baseline was recorded"
    );

    // The key from a file; snapshots accepted; the JSON report on stdout.
    let mut cmd = bin();
    common(&mut cmd);
    let output = cmd
        .arg("--api-id-file")
        .arg(&key_file)
        .args(["--update-snapshots", "--format", "json", "--output", "-"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{:?}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    captured.push(("run 2 stdout".into(), output.stdout));
    captured.push(("run 2 stderr".into(), output.stderr));

    // A dry run.
    let mut cmd = bin();
    common(&mut cmd);
    let output = cmd
        .arg("--dry-run")
        .env("AMP_API_ID", &key)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let dry = String::from_utf8_lossy(&output.stdout).into_owned();
    captured.push(("dry run stdout".into(), output.stdout));
    captured.push(("dry run stderr".into(), output.stderr));

    // The key did go out, and came back in every kind of answer.
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.header("api_id") == Some(key.as_str()))
    );
    assert!(served.load(Ordering::SeqCst) > 60);

    for path in files(&out) {
        captured.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    assert!(
        captured.len() > 20,
        "{:?}",
        captured.iter().map(|c| &c.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &captured {
        assert!(
            !contains(bytes, key.as_bytes()),
            "the key leaked into {name}"
        );
    }

    // A near miss of the key (the coverage model's probes send them, and this target echoes
    // them) is as secret as the key: written as a transformation of `$AMP_API_ID`.
    let other_case: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let truncated = &key[..key.len() - 1];
    assert!(
        requests
            .iter()
            .any(|r| r.header("api_id") == Some(other_case.as_str())),
        "the near misses of the key were sent"
    );
    for (name, bytes) in &captured {
        for near in [other_case.as_str(), truncated] {
            assert!(
                !contains(bytes, near.as_bytes()),
                "a near miss of the key leaked into {name}"
            );
        }
    }

    // Reproductions and the plan say `$AMP_API_ID`.
    let reproductions: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["reproduction"].as_str())
        .collect();
    assert!(!reproductions.is_empty());
    assert!(
        reproductions
            .iter()
            .any(|r| r.contains(r#"-H "API_ID: $AMP_API_ID""#))
    );
    assert!(dry.contains(r#"-H "API_ID: $AMP_API_ID""#));
    // The echoed key is shown as `$AMP_API_ID` where it was echoed.
    let text = String::from_utf8_lossy(&captured[0].1).into_owned();
    assert!(text.contains("API_ID $AMP_API_ID is not valid"), "{text}");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(key_file.parent().unwrap());
}
