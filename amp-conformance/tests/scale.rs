//! Deep runs hold one batch at a time: the peak memory of a run of 20,000 property cases stays
//! under a bound that keeping every request, answer and value tree to the end (about 50 KB a
//! check before) would break by far; and `--max-time` ends the generation of cases on time.
//! Speed is measured in BENCHMARKS.md, never asserted here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn twenty_thousand_cases_run_in_bounded_memory() {
    let time = std::path::Path::new("/usr/bin/time");
    if !Command::new(time)
        .args(["-v", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("note: /usr/bin/time -v is not available; the memory bound is not measured");
        return;
    }
    let output = Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_amp-conformance"))
        .args([
            "--quiet",
            "--no-snapshots",
            "--seed",
            "5",
            "--cases",
            "20000",
        ])
        .env_remove("CI")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("=> PASS"), "{stdout}");
    let kib: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("max RSS in /usr/bin/time's output");
    eprintln!("peak RSS of a 20,000-case run: {} MiB", kib / 1024);
    // 28,000 checks at 50 KB each would be 1.4 GB; the run keeps a small record per check.
    assert!(kib < 256 * 1024, "peak RSS {kib} KiB");
}

#[test]
fn max_time_ends_case_generation_and_the_run_reports_what_it_ran() {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .args(["--quiet", "--no-snapshots", "--seed", "5"])
        .args(["--cases", "10000000", "--max-time", "1"])
        .env_remove("CI")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("--max-time 1s was reached"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
