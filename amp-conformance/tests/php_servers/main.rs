//! The kit against an independent PHP implementation of the API (`tests/php/page_server.php`,
//! served by `php -S`), in its bug-free form and with one realistic PHP bug at a time
//! (`AMP_PHP_BUG`). Each test asserts the verdicts CONTRACT.md §4 demands: a broken documented
//! rule is `FAIL` under that `D-` rule; a deviation from a reference resolution only is
//! `NON-STRICT` under its `R-` rule, and stored values are compared at both layers.
//!
//! The harness starts `php -S 127.0.0.1:PORT page_server.php` on a free port (retrying on a
//! clash), waits for PHP's startup line on stderr, runs the kit in process against it with an
//! observer (`GET /reports/{report_id}`), and kills the server on drop. PHP's log (its stderr)
//! is kept: a PHP warning or fatal error in it fails the test, since it is a broken harness
//! script rather than the bug under test.
//!
//! Without `php` (with pdo_sqlite) the tests print why and pass, unless `AMP_REQUIRE_PHP=1`
//! (set by .ci/run).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use amp_conformance::config::RunConfig;
use amp_conformance::judge::{Class, Profile};
use amp_conformance::observer::Observer;
use amp_conformance::report::{CheckResult, RunReport};
use amp_conformance::runner::run;
use amp_conformance::target::Secret;
use amp_contract::envelope::DedicatedIp;

const KEY: &str = "php-page-server-key-5b1e";
const SEED: u64 = 20_261_127;
const API: &str = "/modules/addons/abusemanagerpro/includes/api.php";
/// Worker processes of `php -S` (PHP_CLI_SERVER_WORKERS): the kit sends 4 requests at once.
const WORKERS: &str = "4";
/// How long PHP may take to print its startup line.
const STARTUP: Duration = Duration::from_secs(20);

/// Whether `php` with pdo_sqlite can run; panics when it cannot but is required.
fn php_ready() -> bool {
    let required = std::env::var("AMP_REQUIRE_PHP").is_ok_and(|v| v == "1");
    let probe = Command::new("php")
        .args(["-r", "exit(extension_loaded('pdo_sqlite') ? 0 : 3);"])
        .output();
    let reason = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) if out.status.code() == Some(3) => "php has no pdo_sqlite extension (php-sqlite3)",
        Ok(_) => "php does not run",
        Err(_) => "php is not installed (php-cli)",
    };
    assert!(!required, "AMP_REQUIRE_PHP=1 but {reason}");
    eprintln!("SKIPPED: {reason}; set AMP_REQUIRE_PHP=1 to make this a failure");
    false
}

/// A running `php -S` with the page server; killed (with its workers) on drop.
struct PhpServer {
    child: Child,
    port: u16,
    db: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

enum StartError {
    /// Another process took the port between our probe and PHP's bind.
    PortTaken,
    /// PHP did not start: the reason, with its log.
    Failed(String),
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// The registry's services as `AMP_PHP_SERVICES` spells them: `1=203.0.113.10,3=none`.
fn services_env() -> String {
    support::registry()
        .iter()
        .map(|(id, ip)| match ip {
            DedicatedIp::Address(ip) => format!("{id}={ip}"),
            DedicatedIp::None => format!("{id}=none"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl PhpServer {
    fn start(bug: &str) -> Self {
        Self::start_script("page_server.php", bug, &[("AMP_PHP_BUG", bug)])
    }

    /// Starts `tests/php/{script}` with the key, the services, a fresh database and `env`;
    /// `label` names its database file.
    fn start_script(script: &str, label: &str, env: &[(&str, &str)]) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start(script, label, env, free_port()) {
                Ok(server) => return server,
                Err(StartError::PortTaken) => last = "the port was taken".to_owned(),
                Err(StartError::Failed(why)) => panic!("php -S did not start: {why}"),
            }
        }
        panic!("php -S did not start after 5 ports: {last}");
    }

    fn try_start(
        script: &str,
        label: &str,
        env: &[(&str, &str)],
        port: u16,
    ) -> Result<Self, StartError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let db = std::env::temp_dir().join(format!(
            "amp-php-{}-{port}-{nanos}-{}.sqlite",
            std::process::id(),
            if label.is_empty() { "default" } else { label }
        ));
        let router = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/php")
            .join(script);
        let mut child = Command::new("php")
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg(&router)
            .current_dir(router.parent().expect("tests/php"))
            .env("PHP_CLI_SERVER_WORKERS", WORKERS)
            .env("AMP_PHP_KEY", KEY)
            .env("AMP_PHP_SERVICES", services_env())
            .env("AMP_PHP_DB", &db)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: the workers are killed with it.
            .process_group(0)
            .spawn()
            .map_err(|e| StartError::Failed(format!("cannot run php: {e}")))?;
        // php -S logs every request on stderr (PHP 7 printed its banner on stdout): a thread per
        // pipe keeps reading (a full pipe would block the server) and keeps the lines, which
        // also go to the channel that startup waits on.
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let pipes: [Box<dyn std::io::Read + Send>; 2] = [Box::new(stdout), Box::new(stderr)];
        for pipe in pipes {
            let (tx, lines) = (tx.clone(), Arc::clone(&log));
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("log").push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let mut server = Self {
            child,
            port,
            db,
            log,
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("Development Server") && line.contains("started") => {
                    return Ok(server);
                }
                Ok(line) if line.contains("Failed to listen") => {
                    drop(server);
                    return Err(StartError::PortTaken);
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    let log = server.log_text();
                    return Err(StartError::Failed(format!(
                        "no startup line within {STARTUP:?}:\n{log}"
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().map(|s| s.to_string());
                    let log = server.log_text();
                    return Err(StartError::Failed(format!(
                        "php exited ({status:?}) before it started:\n{log}"
                    )));
                }
            }
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}{API}", self.port)
    }

    fn observe_template(&self) -> String {
        format!("http://127.0.0.1:{}/reports/{{report_id}}", self.port)
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// Lines of PHP's log that are PHP errors, warnings or notices (not request lines).
    fn php_problems(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| {
                [
                    "PHP Fatal",
                    "PHP Warning",
                    "PHP Notice",
                    "PHP Deprecated",
                    "PHP Parse",
                ]
                .iter()
                .any(|p| l.contains(p))
            })
            .cloned()
            .collect()
    }
}

impl Drop for PhpServer {
    fn drop(&mut self) {
        // The process group of our own php -S: the master and the workers it forked.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut path = self.db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A run against `server` with every permission and its observer, as tests/support does.
fn config_for(server: &PhpServer) -> RunConfig {
    let registry = support::registry();
    let mut config = RunConfig::owned_target(
        &server.endpoint(),
        Secret::new(KEY),
        registry.iter().collect(),
        Some(registry.missing_id()),
        Some(Observer::Url(server.observe_template())),
    );
    config.seed = Some(SEED);
    config.cases = 120;
    config.timeout = Duration::from_secs(10);
    config.known_failures = HashSet::new();
    config
}

/// Runs the kit against `server`; the harness itself must have worked: the server answered,
/// the run was not stopped, creates were read back through the observer, and PHP logged no
/// error of its own.
async fn checked_run(server: &PhpServer, config: RunConfig) -> RunReport {
    let report = run(config).await.unwrap_or_else(|e| {
        panic!(
            "the run against php -S failed: {e}\nPHP log:\n{}",
            server.log_text()
        )
    });
    assert!(
        report.stopped.is_none(),
        "run stopped: {:?}",
        report.stopped
    );
    assert!(
        report.checks.iter().any(|c| c.class == Class::Pass),
        "not a single PASS: the server does not work\n{}",
        listing(&report)
    );
    server.assert_no_php_problems();
    report
}

impl PhpServer {
    /// PHP logged no error of its own: a broken harness script, not the server under test.
    fn assert_no_php_problems(&self) {
        let problems = self.php_problems();
        assert!(
            problems.is_empty(),
            "PHP logged errors:\n{}",
            problems.join("\n")
        );
    }
}

/// Starts a server with `bug` and runs the kit with the default config.
async fn run_with(bug: &str) -> (PhpServer, RunReport) {
    let server = PhpServer::start(bug);
    let report = checked_run(&server, config_for(&server)).await;
    (server, report)
}

fn is_finding(c: &CheckResult) -> bool {
    matches!(c.class, Class::Fail | Class::NonStrict)
}

fn stored(c: &CheckResult) -> bool {
    c.id.ends_with("#stored")
}

/// Every check that is not PASS, INFO or SKIPPED, one per line.
fn listing(report: &RunReport) -> String {
    let lines: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !matches!(c.class, Class::Pass | Class::Info | Class::Skipped))
        .map(line)
        .collect();
    format!(
        "{} ({} non-pass)\n{}",
        report.summary_line(),
        lines.len(),
        lines.join("\n")
    )
}

fn line(c: &CheckResult) -> String {
    format!(
        "  {} {} [{}] expected {} | actual {} | {}",
        c.class, c.id, c.rule, c.expected, c.actual, c.reason
    )
}

fn of<'a>(report: &'a RunReport, class: Class, rule: &str) -> Vec<&'a CheckResult> {
    let rule: amp_contract::rules::Rule = rule.parse().expect("a rule id");
    report
        .checks
        .iter()
        .filter(|c| c.class == class && c.rule == rule)
        .collect()
}

/// The expectations of one test, all evaluated: the run's non-pass checks are printed first, and
/// the test fails at the end with every unmet expectation, so one run shows everything the
/// judge still gets wrong.
struct Expectations {
    title: &'static str,
    met: Vec<String>,
    unmet: Vec<String>,
}

impl Expectations {
    fn new(title: &'static str, report: &RunReport) -> Self {
        println!("{title}: {}", listing(report));
        Self {
            title,
            met: Vec::new(),
            unmet: Vec::new(),
        }
    }

    /// Records `what`; when it does not hold, `why` says what was found instead.
    fn that(&mut self, holds: bool, what: &str, why: impl FnOnce() -> String) {
        if holds {
            self.met.push(what.to_owned());
        } else {
            self.unmet
                .push(format!("{what}\n    {}", why().replace('\n', "\n    ")));
        }
    }

    fn check(self) {
        for what in &self.met {
            println!("{}: met: {what}", self.title);
        }
        assert!(
            self.unmet.is_empty(),
            "{}: {} of {} expectations unmet:\n- {}",
            self.title,
            self.unmet.len(),
            self.unmet.len() + self.met.len(),
            self.unmet.join("\n- ")
        );
    }
}

fn lines(checks: &[&CheckResult]) -> String {
    if checks.is_empty() {
        return "(none)".to_owned();
    }
    checks
        .iter()
        .map(|c| line(c))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ids(checks: &[&CheckResult]) -> String {
    format!(
        "{:?}",
        checks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()
    )
}

fn matching(report: &RunReport, keep: impl Fn(&CheckResult) -> bool) -> Vec<&CheckResult> {
    report.checks.iter().filter(|c| keep(c)).collect()
}

mod coverage;
mod lenient;
mod verdicts;
