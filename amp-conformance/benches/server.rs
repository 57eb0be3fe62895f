//! Requests per second of the reference server on loopback, under `wrk`, beside a ceiling: a
//! minimal hyper server answering a constant JSON body, measured in the same run.
//!
//! Three targets, each sent the same `POST` of a valid create body:
//! - **ceiling**: hyper `http1` + `service_fn`, constant `{"status":"success","report_id":1}`;
//! - **create**: the reference server, authenticated (a report is stored per request);
//! - **amp001**: the reference server, without `API_ID`.
//!
//! The reference server runs as `amp-conformance serve` runs it: in-process via
//! [`start_local`], with a tracing subscriber at `info` (the `serve` default) writing to a sink,
//! so log formatting is paid but no terminal is. Rounds alternate the targets so that noise from
//! other processes hits them alike; the median round is reported.
//!
//! ```text
//! cargo bench -p amp-conformance --bench server
//! AMP_BENCH_SECS=10 AMP_BENCH_ROUNDS=5 AMP_BENCH_CONNECTIONS=64 cargo bench -p amp-conformance --bench server
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it) it only checks that each target
//! answers as expected, and needs no `wrk`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;

use amp_conformance::server::{API_PATH, Registry, ServerConfig, start_local};
use amp_contract::envelope::ApiIds;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const KEY: &str = "bench-key";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");
const BODY: &str = "action=create&service_id=1&category=Spam";
const CEILING_ANSWER: &str = r#"{"status":"success","report_id":1}"#;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The ceiling: hyper answering a constant JSON body, nothing else. With `read_body`, it first
/// reads the request body (as any server that parses parameters must).
async fn start_ceiling(read_body: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| async move {
                        if read_body {
                            let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                        }
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header(hyper::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(Bytes::from_static(CEILING_ANSWER.as_bytes())))
                                .unwrap(),
                        )
                    },
                );
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

struct Target {
    name: &'static str,
    url: String,
    api_id: Option<&'static str>,
    expect: &'static str,
}

/// One request over a plain socket (a smoke check that each target answers as expected).
fn check(target: &Target) {
    let rest = target.url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    let auth = target
        .api_id
        .map_or(String::new(), |key| format!("API_ID: {key}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{BODY}",
        BODY.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}: {answer}",
        target.name
    );
    assert!(answer.contains(target.expect), "{}: {answer}", target.name);
}

/// The wrk script: the same POST for every target, `API_ID` only where authenticated.
fn script(target: &Target) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "amp-bench-{}-{}.lua",
        std::process::id(),
        target.name
    ));
    let auth = target.api_id.map_or(String::new(), |key| {
        format!("wrk.headers[\"API_ID\"] = \"{key}\"\n")
    });
    let text = format!(
        "wrk.method = \"POST\"\nwrk.body = \"{BODY}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n{auth}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// CPU time this process (the servers) has used so far, in seconds (Linux `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0 // USER_HZ
}

/// Runs wrk against one target and returns its requests per second and the servers' CPU
/// time per request in microseconds.
fn measure(target: &Target, secs: u64, threads: u64, connections: u64) -> (f64, f64) {
    let script = script(target);
    let cpu_before = cpu_seconds();
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(&script)
        .arg(&target.url)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run wrk ({e}); install it with `apt-get install -y wrk`")
        });
    let cpu = cpu_seconds() - cpu_before;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{}: errors under load:\n{text}",
        target.name
    );
    let requests: f64 = text
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    let rps = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    (rps, cpu * 1e6 / requests.max(1.0))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // As `amp-conformance serve` logs by default (info), but into a sink; AMP_BENCH_LOG=off
    // measures without a subscriber.
    let log = std::env::var("AMP_BENCH_LOG").unwrap_or_else(|_| "info".to_owned());
    if log != "off" {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(log))
            .with_writer(std::io::sink)
            .try_init();
    }

    let (server, ceiling, ceiling_body) = runtime.block_on(async {
        let config = ServerConfig::new(
            ApiIds::from_list(KEY),
            Registry::from_file(Path::new(SERVICES)).unwrap(),
        );
        (
            start_local(config).await.unwrap(),
            start_ceiling(false).await,
            start_ceiling(true).await,
        )
    });
    let targets = [
        Target {
            name: "ceiling",
            url: format!("http://{ceiling}{API_PATH}"),
            api_id: Some(KEY),
            expect: CEILING_ANSWER,
        },
        Target {
            name: "hyper+body",
            url: format!("http://{ceiling_body}{API_PATH}"),
            api_id: Some(KEY),
            expect: CEILING_ANSWER,
        },
        Target {
            name: "create",
            url: server.endpoint(),
            api_id: Some(KEY),
            expect: r#""status":"success""#,
        },
        Target {
            name: "amp001",
            url: server.endpoint(),
            api_id: None,
            expect: r#""error_code":"AMP001""#,
        },
    ];
    for target in &targets {
        check(target);
    }
    if !benchmarking {
        println!("server bench: targets answer as expected (run with `cargo bench` to measure)");
        return;
    }

    let secs = env_or("AMP_BENCH_SECS", 5);
    let rounds = env_or("AMP_BENCH_ROUNDS", 3).max(1);
    let threads = env_or("AMP_BENCH_THREADS", 1);
    let connections = env_or("AMP_BENCH_CONNECTIONS", 32);
    println!(
        "wrk -t{threads} -c{connections} -d{secs}s, {rounds} rounds, server runtime: {} workers",
        runtime.metrics().num_workers()
    );
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut cpu_results: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    // AMP_BENCH_ONLY=create measures one target (for profiling).
    let only = std::env::var("AMP_BENCH_ONLY").ok();
    for round in 1..=rounds {
        for ((target, result), cpu_result) in targets.iter().zip(&mut results).zip(&mut cpu_results)
        {
            if only.as_deref().is_some_and(|name| name != target.name) {
                result.push(f64::NAN);
                cpu_result.push(f64::NAN);
                continue;
            }
            let (rps, cpu_us) = measure(target, secs, threads, connections);
            println!(
                "round {round}: {:<8} {rps:>10.0} req/s {cpu_us:>6.1} µs server CPU/request",
                target.name
            );
            result.push(rps);
            cpu_result.push(cpu_us);
        }
    }
    let medians: Vec<f64> = results.iter_mut().map(|r| median(r)).collect();
    let cpu_medians: Vec<f64> = cpu_results.iter_mut().map(|r| median(r)).collect();
    let ceiling_rps = medians[0];
    println!();
    println!(
        "| target | req/s (median of {rounds}) | ratio to ceiling | server CPU µs/request (median) |"
    );
    println!("|---|---|---|---|");
    for ((target, rps), cpu_us) in targets.iter().zip(&medians).zip(&cpu_medians) {
        println!(
            "| {} | {rps:.0} | {:.2}x | {cpu_us:.1} |",
            target.name,
            rps / ceiling_rps
        );
    }
    println!(
        "stored reports: {} (one per successful create)",
        server.state().store.len()
    );
    runtime.block_on(async { server.shutdown().await.unwrap() });
}
