//! The `amp-conformance` binary: exit codes, the default run, safety toward a `--target`, and
//! the API_ID never printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Output};

use support::{KEY, Mutant, spawn, workspace};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amp-conformance"));
    cmd.current_dir(workspace())
        .env_remove("AMP_API_ID")
        .env("NO_COLOR", "1");
    cmd
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn default_run_passes_against_the_embedded_server_with_a_random_key() {
    let output = bin()
        .args(["--quiet", "--seed", "5", "--cases", "60"])
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("seed: 5 (replay with --seed 5)"),
        "{stdout}"
    );
    assert!(stdout.contains("=> PASS"), "{stdout}");
}

#[test]
fn usage_errors_exit_2_with_what_to_fix() {
    let output = bin()
        .args(["run", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("--output"), "{:?}", text(&output));

    let output = bin()
        .args(["run", "--target", "http://127.0.0.1:9/api.php"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("AMP_API_ID"),
        "{:?}",
        text(&output)
    );

    let output = bin()
        .args(["run", "--service", "1=not-an-ip"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));

    let output = bin()
        .args(["run", "--target", "http://x/a.php", "--service", "abc"])
        .env("AMP_API_ID", KEY)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("--service \"abc\""),
        "{:?}",
        text(&output)
    );

    let output = bin().args(["--no-such-flag"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_malformed_fixture_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("amp-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.toml"), "[[case]]\nid = \"x\"\nrules = [\"R-NOPE\"]\ntitle = \"t\"\nexpect = { outcome = \"info\" }\n")
        .expect("write");
    let output = bin()
        .args(["list", "--fixtures"])
        .arg(&dir)
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output).1;
    assert!(
        stderr.contains("bad.toml:1:") && stderr.contains("R-NOPE"),
        "{stderr}"
    );
}

#[test]
fn unreachable_target_exits_3() {
    // Port 9 (discard) on loopback: nothing listens there on a test machine.
    let output = bin()
        .args([
            "run",
            "--quiet",
            "--target",
            "http://127.0.0.1:9/modules/addons/abusemanagerpro/includes/api.php",
        ])
        .args(["--missing-service-id", "999", "--timeout", "2"])
        .env("AMP_API_ID", KEY)
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
}

#[test]
fn list_prints_every_check_with_its_rule() {
    let output = bin().args(["list"]).output().expect("run");
    let stdout = text(&output).0;
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("values/suspend-page-example") && l.contains("R-SUSPEND")),
        "{stdout}"
    );
    assert!(stdout.contains("stateful/d-unique"));
}

#[tokio::test]
async fn against_a_target_without_allow_writes_creates_nothing_and_says_which_flag() {
    let server = spawn(Mutant::Different).await;
    let endpoint = server.endpoint.clone();
    let output = tokio::task::spawn_blocking(move || {
        bin()
            .args([
                "run",
                "--quiet",
                "--target",
                &endpoint,
                "--missing-service-id",
                "4",
                "--seed",
                "3",
            ])
            .args(["--format", "json", "--output", "-", "--no-snapshots"])
            .env("AMP_API_ID", KEY)
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("pass --allow-writes to run it"), "{stderr}");
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the API_ID leaked"
    );
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is the JSON report");
    let checks = report["checks"].as_array().expect("checks");
    // Nothing was created: every success-expecting check was skipped.
    assert!(
        checks.iter().all(|c| c["class"] != "PASS"
            || !c["expected"].as_str().unwrap_or("").starts_with("success"))
    );
    assert!(checks.iter().any(|c| {
        c["class"] == "SKIPPED"
            && c["reason"]
                .as_str()
                .is_some_and(|r| r.contains("--allow-writes"))
    }));
}

#[test]
fn dry_run_against_the_embedded_server_prints_the_plan() {
    let output = bin()
        .args(["--dry-run", "--seed", "5", "--cases", "4"])
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let curls: Vec<&str> = stdout.lines().filter(|l| l.starts_with("curl ")).collect();
    assert!(curls.len() > 20, "{stdout}");
    assert!(
        curls.iter().all(|l| l.contains("'http://127.0.0.1:PORT/")),
        "{stdout}"
    );
    assert!(
        curls
            .iter()
            .any(|l| l.contains(r#"-H "API_ID: $AMP_API_ID""#)),
        "{stdout}"
    );
}

/// In a CI log (stderr not a terminal) progress is a line per tenth of the run, never one per
/// check; the summary is the same.
#[test]
fn ci_logs_get_a_progress_line_per_tenth_not_per_check() {
    let output = bin()
        .args(["--seed", "5", "--cases", "300"])
        .env("CI", "true")
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let progress = stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .count();
    assert!((1..=12).contains(&progress), "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with('[')),
        "no per-check lines: {stderr}"
    );
    assert!(stdout.contains("=> PASS"), "{stdout}");
    // Progress and summary count the same thing: the last progress line's cases are the
    // summary's.
    let last = stderr
        .lines()
        .rfind(|l| l.starts_with("progress: "))
        .expect("a progress line");
    let total = last
        .split(['(', '/'])
        .nth(2)
        .and_then(|t| t.split(' ').next())
        .expect("n/total cases");
    assert!(last.contains(&format!("({total}/{total} cases")), "{last}");
    assert!(
        stdout.contains(&format!("({total} cases, ")),
        "{last}\n{stdout}"
    );
}

/// `--known-failures FILE`: a rule id and a finding name with `#` comments; the run passes under
/// `--strict`, and an entry that matched nothing is listed in the terminal and the JSON report.
#[tokio::test]
async fn known_failures_file_accepts_rules_and_lists_stale_entries() {
    let server = spawn(Mutant::AcceptsSuspend).await;
    let dir = std::env::temp_dir().join(format!("amp-known-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("known.txt");
    std::fs::write(
        &file,
        "# accepted until the server follows R-SUSPEND\nR-SUSPEND   # ticket 12\n\n\
         # without --allow-writes, `suspend` against the missing service reads as R-ORDER\n\
         R-ORDER:amp003-omits-parameters\nR-STATUS:http-400-instead-of-200\n",
    )
    .expect("write");
    let endpoint = server.endpoint.clone();
    let json = dir.join("report.json");
    let (file_arg, json_arg) = (file.clone(), json.clone());
    let run = move |known: bool| {
        let mut cmd = bin();
        cmd.args(["run", "--quiet", "--strict", "--target", &endpoint])
            .args(["--missing-service-id", "4", "--seed", "3", "--no-snapshots"])
            .env("AMP_API_ID", KEY);
        if known {
            cmd.arg("--known-failures")
                .arg(&file_arg)
                .args(["--format", "json", "--output"])
                .arg(&json_arg);
        }
        cmd.output().expect("run")
    };
    let (plain, output) = tokio::task::spawn_blocking(move || (run(false), run(true)))
        .await
        .expect("join");
    assert_eq!(plain.status.code(), Some(1), "{:?}", text(&plain));
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("(known failure)"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l
            .starts_with("known failures that matched no FAIL or NON-STRICT check")
            && l.ends_with(": R-STATUS:http-400-instead-of-200")),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
    assert_eq!(
        report["unmatched_known_failures"],
        serde_json::json!(["R-STATUS:http-400-instead-of-200"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
