//! Checks per second of a full conformance run against the reference server, beside a plain
//! load generator's rate against the same server in the same run, and the same run in process.
//!
//! The reference server is started in-process once. Each round runs the whole runner against
//! it over loopback (fixtures, property cases, stateful and observer checks, with the runner's
//! default concurrency), then the same run in process (its Router called without a socket),
//! then `wrk` with as many connections sending one valid create, then `wrk` replaying the very
//! requests of a run (recorded once, before the rounds, by a recording copy of the server:
//! creates, errors, observer reads, the 1 MiB bodies, in the run's order). Each ratio is taken
//! within a round, so that the machine's drift hits both sides alike; medians are reported.
//!
//! The first wrk ratio is issue 21's yardstick: the runner beside the cheapest request the
//! server answers. The second says what the runner costs beside the server's own work on the
//! same requests: a client that only replays bytes, on the same cores. Each run's cores busy
//! and CPU per check are printed too.
//!
//! ```text
//! cargo bench -p amp-conformance --bench runner
//! AMP_BENCH_CASES=20000 AMP_BENCH_ROUNDS=5 cargo bench -p amp-conformance --bench runner
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it) it makes one small run and needs no
//! `wrk`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use amp_conformance::config::RunConfig;
use amp_conformance::judge::Class;
use amp_conformance::observer::Observer;
use amp_conformance::runner::run;
use amp_conformance::server::{Registry, ServerConfig, start_local};
use amp_conformance::target::Secret;
use amp_contract::envelope::ApiIds;

const KEY: &str = "bench-key";

// The allocator of the binary this bench stands for (`--no-default-features` measures the
// system's).
#[cfg(all(feature = "jemalloc", unix, not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    run_wrk(&script, endpoint, connections, secs, &[])
}

/// wrk replaying the requests of `recorded` (see [`Recording::write`]) in order, round and
/// round.
fn wrk_replay(recorded: &Path, endpoint: &str, connections: u64, secs: u64) -> f64 {
    let script = std::env::temp_dir().join(format!("amp-runner-replay-{}.lua", std::process::id()));
    std::fs::write(&script, REPLAY_LUA).unwrap();
    run_wrk(
        &script,
        endpoint,
        connections,
        secs,
        &[recorded.to_str().unwrap()],
    )
}

/// Reads the recorded requests once per wrk thread and hands them out in order.
const REPLAY_LUA: &str = r#"
local requests = {}
local next_one = 0
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local method, path, count, len = data:sub(pos, nl - 1):match("^(%S+) (%S+) (%d+) (%d+)$")
    pos = nl + 1
    local headers = {}
    for _ = 1, tonumber(count) do
      local eol = data:find("\n", pos, true)
      local line = data:sub(pos, eol - 1)
      local colon = line:find(":", 1, true)
      headers[line:sub(1, colon - 1)] = line:sub(colon + 1)
      pos = eol + 1
    end
    len = tonumber(len)
    local body = data:sub(pos, pos + len - 1)
    pos = pos + len + 1
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
end
function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end
"#;

fn run_wrk(script: &Path, endpoint: &str, connections: u64, secs: u64, args: &[&str]) -> f64 {
    let mut command = Command::new("wrk");
    command
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "-s",
        ])
        .arg(script)
        .arg(endpoint);
    if !args.is_empty() {
        command.arg("--").args(args);
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run wrk ({e}); install it with `apt-get install -y wrk`")
    });
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Requests/sec:")
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or_else(|| {
            panic!(
                "no Requests/sec in wrk output:\n{text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// The requests a server received, in the form `REPLAY_LUA` reads: a line
/// `METHOD PATH HEADERS BODY-LENGTH`, a `name:value` line per header, the body and a newline.
/// `Host` and the framing headers are left to wrk.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Recorded>>);

#[derive(Default)]
struct Recorded {
    bytes: Vec<u8>,
    requests: usize,
}

impl Recording {
    fn add(&self, parts: &http::request::Parts, body: &[u8]) {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let headers: Vec<_> = parts
            .headers
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "host" | "content-length" | "transfer-encoding"
                )
            })
            .collect();
        let mut recorded = self.0.lock().unwrap();
        recorded.requests += 1;
        let out = &mut recorded.bytes;
        out.extend_from_slice(
            format!("{} {path} {} {}\n", parts.method, headers.len(), body.len()).as_bytes(),
        );
        for (name, value) in headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(body);
        out.push(b'\n');
    }

    fn write(&self, path: &Path) -> usize {
        let recorded = self.0.lock().unwrap();
        std::fs::write(path, &recorded.bytes).unwrap();
        recorded.requests
    }
}

async fn record(State(recording): State<Recording>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    recording.add(&parts, &body);
    next.run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await
}

/// Runs `config`'s run once against a recording copy of the reference server and writes the
/// requests it received to `path`; returns how many.
async fn record_a_run(config: &RunConfig, registry: &Registry, path: &Path) -> usize {
    let state = Arc::new(amp_conformance::server::AppState {
        api_ids: ApiIds::new([KEY]),
        registry: registry.clone(),
        store: amp_conformance::server::Store::new(),
    });
    let recording = Recording::default();
    let app = amp_conformance::server::app(state, std::time::Duration::from_secs(30)).layer(
        axum::middleware::from_fn_with_state(recording.clone(), record),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = config.clone();
    config.target = Some(format!("{base}{}", amp_conformance::server::API_PATH));
    config.observer = Some(Observer::Url(format!(
        "{base}{}",
        amp_conformance::server::OBSERVER_PATH
    )));
    let report = run(config).await.unwrap();
    assert!(
        report.passed,
        "the recorded run must pass against the reference server"
    );
    serving.abort();
    recording.write(path)
}

/// CPU time of this process so far (user and system, every thread), from `/proc/self/stat`;
/// 0 where there is no such file.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (in parentheses, which may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 a second
    // on Linux).
    (ticks(11) + ticks(12)) / 100.0
}

/// One run's figures.
struct Measured {
    /// Checks a second.
    rate: f64,
    /// Cores busy on average (CPU time over wall time).
    busy: f64,
    /// CPU seconds per check.
    cpu_per_check: f64,
}

/// The figures of one round: the run on loopback, the run in process, wrk's two rates.
struct Round {
    loopback: Measured,
    in_process: Measured,
    load: f64,
    same: f64,
}

/// Runs `config` once; its figures and how many checks were sent.
async fn measure(config: &RunConfig) -> (Measured, usize) {
    let (started, cpu) = (Instant::now(), cpu_secs());
    let report = run(config.clone()).await.unwrap();
    let (secs, cpu) = (started.elapsed().as_secs_f64(), cpu_secs() - cpu);
    assert!(
        report.passed,
        "the run must pass against the reference server"
    );
    let checks = sent_checks(&report);
    let measured = Measured {
        rate: checks as f64 / secs,
        busy: cpu / secs,
        cpu_per_check: cpu / checks as f64,
    };
    (measured, checks)
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
        let replay = std::env::temp_dir().join(format!("amp-runner-requests-{}.txt", std::process::id()));
        let replayed = if bench { record_a_run(&config, &registry, &replay).await } else { 0 };
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
        // Every round measures every figure, one after the other, and the ratios are taken
        // round by round: this machine's speed drifts over tens of seconds, and figures taken
        // in separate phases compared the drift.
        let mut rounds_seen: Vec<Round> = Vec::new();
        let mut checks = 0;
        for _ in 0..rounds {
            let (loopback, n) = measure(&config).await;
            checks = n;
            let (in_process, _) = measure(&in_process).await;
            let (mut load, mut same) = (f64::NAN, f64::NAN);
            if bench {
                let endpoint = server.endpoint();
                let again = endpoint.clone();
                load = tokio::task::spawn_blocking(move || wrk(&endpoint, connections, secs)).await.unwrap();
                let recorded = replay.clone();
                same = tokio::task::spawn_blocking(move || wrk_replay(&recorded, &again, connections, secs))
                    .await
                    .unwrap();
            }
            rounds_seen.push(Round { loopback, in_process, load, same });
        }
        let pick = |f: &dyn Fn(&Round) -> f64| median(&mut rounds_seen.iter().map(f).collect::<Vec<_>>());
        let runner = pick(&|r| r.loopback.rate);
        let in_process_rate = pick(&|r| r.in_process.rate);
        let in_process_ratio = pick(&|r| r.in_process.rate / r.loopback.rate);
        let (loopback_cpu, in_process_cpu) = (pick(&|r| r.loopback.cpu_per_check), pick(&|r| r.in_process.cpu_per_check));
        let (loopback_busy, in_process_busy) = (pick(&|r| r.loopback.busy), pick(&|r| r.in_process.busy));
        if !bench {
            println!(
                "runner smoke run: {checks} checks at {runner:.0} checks/s, {loopback_busy:.2} cores busy, {:.1} µs CPU per check; in process {in_process_rate:.0} checks/s, {in_process_busy:.2} cores busy, {:.1} µs CPU per check (no wrk without --bench)",
                loopback_cpu * 1e6,
                in_process_cpu * 1e6
            );
            return;
        }
        let load = pick(&|r| r.load);
        let same = pick(&|r| r.same);
        let _ = std::fs::remove_file(&replay);
        println!("full run: {checks} checks ({cases} property cases), concurrency {connections}, {rounds} rounds (medians; ratios taken round by round)");
        println!("runner     {runner:>10.0} checks/s");
        println!("wrk        {load:>10.0} requests/s  (wrk -t1 -c{connections} -d{secs}s, valid create)");
        println!("ratio      {:>10.2}  (target >= 0.5, aim 0.8)", pick(&|r| r.loopback.rate / r.load));
        println!("wrk replay {same:>10.0} requests/s  (wrk -t1 -c{connections} -d{secs}s, the {replayed} requests of one run, in order)");
        println!("ratio      {:>10.2}  (the runner beside a client that only replays its requests)", pick(&|r| r.loopback.rate / r.same));
        println!("in process {in_process_rate:>10.0} checks/s  (the same run, the Router called without a socket: {in_process_ratio:.2}x loopback)");
        println!(
            "cores busy {loopback_busy:>10.2}  loopback (the kit and the server in this process: {:.1} µs CPU per check), {in_process_busy:.2} in process ({:.1} µs)",
            loopback_cpu * 1e6,
            in_process_cpu * 1e6
        );
        let _ = server.shutdown().await;
    });
}
