//! The command line as a user follows it literally: each subcommand's `--help` gives examples,
//! environment variables and exit codes and offers only the flags it uses; `diff` exits as a
//! run does and writes its JSON; a `--target` without a scheme says what to type; "your cases
//! only" runs no generated case; `serve` writes no colour codes into a log file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use raw::{bin, text};

async fn help(subcommand: &str) -> String {
    let output = bin().args([subcommand, "--help"]).output().await.unwrap();
    assert!(output.status.success());
    text(&output).0
}

#[tokio::test]
async fn every_subcommand_that_sends_documents_examples_environment_and_exit_codes() {
    for subcommand in ["run", "diff", "replay", "serve"] {
        let help = help(subcommand).await;
        for section in ["Examples:", "Environment:", "Exit codes:", "AMP_API_ID"] {
            assert!(
                help.contains(section),
                "{subcommand} --help lacks {section}:\n{help}"
            );
        }
    }
    let serve = help("serve").await;
    assert!(
        serve.contains("AMP_LOG") && serve.contains("/_amp/reports/"),
        "{serve}"
    );
    let run = help("run").await;
    assert!(
        run.contains("amp-baseline/<scheme>_<host>_<port>"),
        "the snapshot default as it is:\n{run}"
    );
}

#[tokio::test]
async fn a_subcommand_offers_only_the_flags_it_uses() {
    let diff = help("diff").await;
    for flag in [
        "--observe-url",
        "--snapshots",
        "--update-snapshots",
        "--dry-run",
        "--strict",
        "--known-failures",
        "--verbose",
    ] {
        assert!(!diff.contains(flag), "diff offers {flag}:\n{diff}");
    }
    let replay = help("replay").await;
    for flag in [
        "--cases",
        "--seed",
        "--fixtures",
        "--max-time",
        "--snapshots",
        "--observe-url",
        "--dry-run",
    ] {
        assert!(!replay.contains(flag), "replay offers {flag}:\n{replay}");
    }
    // And a flag it does not offer is refused, not ignored.
    let output = bin()
        .args([
            "diff",
            "--target",
            "reference",
            "--target",
            "reference",
            "--snapshots",
            "x",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn diff_against_an_unreachable_side_exits_3_at_once() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = bin()
        .args(["diff", "--target", "reference", "--target"])
        .arg(format!("http://127.0.0.1:{port}/api.php"))
        .args(["--missing-service-id", "999", "--quiet"])
        .env("AMP_API_ID", "diff-key-123456")
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(3), "{out}{err}");
    assert!(
        !out.contains("DIFFERS"),
        "no difference blocks for an outage:\n{out}"
    );
    assert!(err.contains("TCP connect"), "{err}");
}

#[tokio::test]
async fn diff_writes_its_json_where_asked() {
    let dir = raw::temp_dir("diff-json");
    let path = dir.join("diff.json");
    let output = bin()
        .args([
            "diff",
            "--target",
            "reference",
            "--target",
            "reference",
            "--cases",
            "10",
            "--quiet",
        ])
        .args(["--format", "json", "--output"])
        .arg(&path)
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        json["diff"]["differences"].as_array().map(Vec::len),
        Some(0)
    );
    assert!(json["seed"].is_string(), "the seed as a string: {json}");
    assert!(json["diff"]["compared"].as_u64().unwrap() > 10);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_target_without_a_scheme_says_what_to_type() {
    let output = bin()
        .args([
            "run",
            "--target",
            "localhost:8000",
            "--missing-service-id",
            "9",
        ])
        .env("AMP_API_ID", "scheme-key-123456")
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("has no scheme") && err.contains("http://localhost:8000/modules/"),
        "{err}"
    );
}

#[tokio::test]
async fn your_cases_only_runs_no_generated_case() {
    let dir = raw::temp_dir("own-cases");
    std::fs::write(
        dir.join("mine.toml"),
        "[[case]]\nid = \"no-key\"\nrules = [\"D-AUTH\"]\ntitle = \"no API_ID\"\nauth = \"missing\"\n\
         form = [[\"action\", \"create\"]]\nexpect = { outcome = \"error\", code = \"AMP001\" }\n",
    )
    .unwrap();
    let output = bin()
        .args([
            "run",
            "--quiet",
            "--no-snapshots",
            "--format",
            "json",
            "--output",
            "-",
            "--no-builtin-cases",
            "--fixtures",
        ])
        .arg(&dir)
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The seed reads the same in every JSON reader: as a string, and a number below 2^53.
    assert_eq!(
        report["seed_string"].as_str().map(str::to_owned),
        report["seed"].as_u64().map(|s| s.to_string())
    );
    assert!(report["seed"].as_u64().unwrap() < 1 << 53);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| !id.starts_with("prop/")), "{ids:?}");
    assert!(ids.iter().any(|id| id.ends_with("no-key")), "{ids:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_logs_carry_no_colour_codes_off_a_terminal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = bin()
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("AMP_API_ID", "serve-key-123456")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(ready, "serve did not start");
    let pid = child.id().unwrap().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let output = child.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!log.is_empty(), "serve logs its start");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log:?}"
    );
}

/// `list --coverage` prints the coverage model: value cells with layer, rule and what each
/// reveals, and the request-part forms.
#[test]
fn list_coverage_prints_the_model() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .args(["list", "--coverage"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.starts_with("# coverage model:"), "{out}");
    for cell in [
        "additional_info/newline",
        "category/lower-case-start",
        "allow_unsuspend/false",
        "service_ip/ipv6-uncompressed",
        "request/key-comparison/other-case",
        "request/key-place/query",
    ] {
        assert!(out.contains(cell), "{cell} missing:\n{out}");
    }
    assert!(out.contains("documented-valid") && out.contains("nl2br()"));
}
