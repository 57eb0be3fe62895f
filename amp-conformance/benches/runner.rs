//! Checks per second of a full conformance run against the reference server, beside a plain
//! load generator's rate against the same server in the same run.
//!
//! The reference server is started in-process once; each round runs the whole runner against
//! it (fixtures, property cases, stateful and observer checks, with the runner's default
//! concurrency) and then `wrk` with as many connections, sending a valid create. Rounds
//! alternate so that noise hits both alike; the median round is reported.
//!
//! ```text
//! cargo bench -p amp-conformance --bench runner
//! AMP_BENCH_CASES=20000 AMP_BENCH_ROUNDS=5 cargo bench -p amp-conformance --bench runner
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it) it makes one small run and needs no
//! `wrk`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use amp_conformance::config::RunConfig;
use amp_conformance::judge::Class;
use amp_conformance::observer::Observer;
use amp_conformance::runner::run;
use amp_conformance::server::{Registry, ServerConfig, start_local};
use amp_conformance::target::Secret;
use amp_contract::envelope::ApiIds;

const KEY: &str = "bench-key";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wrk(endpoint: &str, connections: u64, secs: u64) -> f64 {
    let script = std::env::temp_dir().join(format!("amp-runner-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = \"action=create&service_id=1&category=Spam\"\n\
             wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
             wrk.headers[\"API_ID\"] = \"{KEY}\"\n"
        ),
    )
    .unwrap();
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "-s",
        ])
        .arg(&script)
        .arg(endpoint)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run wrk ({e}); install it with `apt-get install -y wrk`")
        });
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Requests/sec:")
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
}

/// The checks of a run that were not skipped: every one, counted by the run's tally (a deep
/// run keeps only its first checks in memory).
fn sent_checks(report: &amp_conformance::report::RunReport) -> usize {
    let tally = report.checks.tally();
    tally.total() - tally.counts().get(&Class::Skipped).copied().unwrap_or(0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let cases = env_or("AMP_BENCH_CASES", if bench { 5000 } else { 20 }) as usize;
    let rounds = env_or("AMP_BENCH_ROUNDS", if bench { 3 } else { 1 });
    let secs = env_or("AMP_BENCH_SECS", 3);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let registry = Registry::from_file(&workspace().join("fixtures/services.toml")).unwrap();
        let server = start_local(ServerConfig::new(ApiIds::new([KEY]), registry.clone())).await.unwrap();
        let mut config = RunConfig::owned_target(
            &server.endpoint(),
            Secret::new(KEY),
            registry.iter().collect(),
            Some(registry.missing_id()),
            Some(Observer::Url(server.observe_template())),
        );
        config.cases = cases;
        config.seed = Some(1);
        let connections = config.concurrency as u64;
        let (mut checks_rate, mut wrk_rate, mut checks) = (Vec::new(), Vec::new(), 0);
        for _ in 0..rounds {
            let started = Instant::now();
            let report = run(config.clone()).await.unwrap();
            let secs_taken = started.elapsed().as_secs_f64();
            assert!(report.passed, "the run must pass against the reference server");
            checks = sent_checks(&report);
            checks_rate.push(checks as f64 / secs_taken);
            if bench {
                let endpoint = server.endpoint();
                wrk_rate.push(tokio::task::spawn_blocking(move || wrk(&endpoint, connections, secs)).await.unwrap());
            }
        }
        // The same run in process (no socket): the reference server's Router as a Service.
        let state = std::sync::Arc::new(amp_conformance::server::AppState {
            api_ids: ApiIds::new([KEY]),
            registry: registry.clone(),
            store: amp_conformance::server::Store::new(),
        });
        let mut in_process = amp_conformance::inprocess::config(
            amp_conformance::server::app(state, std::time::Duration::from_secs(30)),
            KEY,
            registry.iter().collect(),
            Some(registry.missing_id()),
            Some("/_amp/reports/{report_id}"),
        );
        in_process.cases = cases;
        in_process.seed = Some(1);
        let mut in_process_rate = Vec::new();
        for _ in 0..rounds {
            let started = Instant::now();
            let report = run(in_process.clone()).await.unwrap();
            let secs_taken = started.elapsed().as_secs_f64();
            assert!(report.passed, "the in-process run must pass against the reference Router");
            let n = sent_checks(&report);
            in_process_rate.push(n as f64 / secs_taken);
        }
        let in_process_rate = median(&mut in_process_rate);
        let runner = median(&mut checks_rate);
        if !bench {
            println!("runner smoke run: {checks} checks at {runner:.0} checks/s (no wrk without --bench)");
            return;
        }
        let load = median(&mut wrk_rate);
        println!("full run: {checks} checks ({cases} property cases), concurrency {connections}, {rounds} rounds (median)");
        println!("runner     {runner:>10.0} checks/s");
        println!("wrk        {load:>10.0} requests/s  (wrk -t1 -c{connections} -d{secs}s, valid create)");
        println!("ratio      {:>10.2}  (target >= 0.5, aim 0.8)", runner / load);
        println!("in process {in_process_rate:>10.0} checks/s  (the same run, the Router called without a socket: {:.2}x loopback)", in_process_rate / runner);
        let _ = server.shutdown().await;
    });
}
