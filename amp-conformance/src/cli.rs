//! The command line: `run` (the default), `serve`, `list`.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use amp_contract::envelope::DedicatedIp;
use clap::{Args, Parser, Subcommand};

use crate::cases::fixtures::FixtureSource;
use crate::judge::{Class, Profile};
use crate::report::findings::parse_known_failures;
use crate::report::{Format, terminal};
use crate::runner::{self, Observer, RunConfig, RunError};
use crate::server::ServeArgs;
use crate::session::Side;
use crate::snapshot::Snapshots;

/// Where a `--target`'s baseline lives by default, relative to the working directory (the
/// user's project): `amp-baseline/<host>`, one directory per host whatever its port.
pub const BASELINE_DIR: &str = "amp-baseline";
use crate::target::{Secret, Target};

/// Conformance kit for the Abuse Manager Pro API.
///
/// Without a subcommand it runs every check against the embedded reference server.
#[derive(Debug, Parser)]
#[command(
    name = "amp-conformance",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every check (the default).
    Run(Box<RunArgs>),
    /// Run the reference server.
    Serve(ServeArgs),
    /// List every check with its rule id.
    List(ListArgs),
    /// Print the OpenAPI 3.1 description of the API, generated from the contract.
    Openapi(OpenapiArgs),
    /// Send the recorded requests of a JSON report's findings again, and judge them again.
    Replay(Box<ReplayArgs>),
    /// Send the same requests to two implementations (`--target A --target B`, `reference`
    /// for the embedded server) and list every difference in outcome, by the rule deciding it.
    Diff(Box<RunArgs>),
}

/// Options of `amp-conformance replay`: the report, what to replay, and the run's options
/// (`--target`, the key, `--service`, `--allow-writes`, ... as for `run`).
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A JSON report written with `--format json --output PATH`.
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
    /// Only this check id, rule id or finding name (default: every recorded finding).
    #[arg(value_name = "CHECK_ID|RULE|FINDING")]
    filter: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// Options of `amp-conformance openapi`.
#[derive(Debug, Clone, Args)]
pub struct OpenapiArgs {
    /// Write the document to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
}

fn openapi(args: &OpenapiArgs) -> ExitCode {
    let text = crate::openapi::to_string_pretty();
    match &args.output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage(format!("cannot write {}: {e}", path.display())),
        },
        None => match std::io::stdout().write_all(text.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage(format!("cannot write to stdout: {e}")),
        },
    }
}

/// Options of `amp-conformance run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Full endpoint URL of the implementation to check. Without it, the embedded reference
    /// server is started and checked. (`diff` takes it twice; `reference` names the embedded
    /// server there.)
    #[arg(long = "target", value_name = "URL")]
    targets: Vec<String>,
    /// A service that exists on the target, with its dedicated IP or `none` (repeatable).
    #[arg(long = "service", value_name = "ID[=IP|none]")]
    services: Vec<String>,
    /// A service id known not to exist on the target.
    #[arg(long, value_name = "ID")]
    missing_service_id: Option<u32>,
    /// Allow cases that create reports against --target (a real create may e-mail a customer).
    #[arg(long)]
    allow_writes: bool,
    /// Allow sending `immediate` or `timelimit`, which suspend a real service.
    #[arg(long)]
    allow_suspend: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = runner::DEFAULT_CONCURRENCY, value_name = "N")]
    concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = runner::DEFAULT_TIMEOUT_SECS, value_name = "SECS")]
    timeout: f64,
    /// Read the API_ID from this file instead of AMP_API_ID.
    #[arg(long, value_name = "PATH")]
    api_id_file: Option<PathBuf>,
    /// Number of property cases.
    #[arg(long, default_value_t = runner::DEFAULT_CASES, value_name = "N")]
    cases: usize,
    /// Seed of the property cases; the run prints it, and the same seed replays the run.
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Which rules count: the page's only, or with this project's resolutions.
    #[arg(long, value_enum, default_value_t = Profile::Reference)]
    profile: Profile,
    /// NON-STRICT findings fail the run too.
    #[arg(long)]
    strict: bool,
    /// File of known failures, one a line: a check id, a rule id (`R-BODY`) or a finding name
    /// as the report prints it (`R-STATUS:http-400-instead-of-200`); `#` comments. Their FAIL
    /// or NON-STRICT is reported but accepted; entries that matched nothing are listed.
    #[arg(long, value_name = "FILE")]
    known_failures: Option<PathBuf>,
    /// Observer URL template with `{report_id}`, sent with the same API_ID (D-DEFAULTS).
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "observe_cmd")]
    observe_url: Option<String>,
    /// Observer command with `{report_id}` that prints the stored report as JSON.
    #[arg(long, value_name = "CMD")]
    observe_cmd: Option<String>,
    /// Report format written to the matching --output (repeatable, paired in order).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Vec<Format>,
    /// Where the matching --format goes (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    output: Vec<PathBuf>,
    #[command(flatten)]
    fixtures: FixtureArgs,
    /// Most requests expected to create a report (default 25 against --target; no limit for
    /// the embedded server). Once spent, further write cases are SKIPPED.
    #[arg(long, value_name = "N")]
    max_writes: Option<usize>,
    /// Most requests per second (default 5 for a target that is not on this machine).
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// Stop generating property cases after this many seconds (the run reports what it ran):
    /// for a nightly job, `--cases 1000000 --max-time 600` runs as many as fit in 10 minutes.
    #[arg(long, value_name = "SECS")]
    max_time: Option<f64>,
    /// Print the planned requests as curl commands and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Snapshot directory for the fixture answers (default `fixtures/snapshots/<host>`; for the
    /// embedded server `fixtures/snapshots/reference`, compared only where it exists).
    #[arg(long, value_name = "DIR", conflicts_with = "no_snapshots")]
    snapshots: Option<PathBuf>,
    /// Accept new and changed snapshots.
    #[arg(long)]
    update_snapshots: bool,
    /// Do not compare or write snapshots.
    #[arg(long)]
    no_snapshots: bool,
    /// Print every check, one block each, not only the findings grouped by root cause (in the
    /// terminal and the Markdown report).
    #[arg(long, short)]
    verbose: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

/// Where the fixture cases come from: the built-in set, and the user's own directories.
#[derive(Debug, Clone, Args)]
pub struct FixtureArgs {
    /// A directory of your own fixture cases (`*.toml`, the format of the repository's
    /// fixtures/cases), added to the built-in cases (repeatable).
    #[arg(long = "fixtures", value_name = "DIR")]
    fixtures: Vec<PathBuf>,
    /// Use only the cases of --fixtures, instead of the built-in ones.
    #[arg(long, requires = "fixtures")]
    no_builtin_cases: bool,
}

impl FixtureArgs {
    fn source(&self) -> FixtureSource {
        FixtureSource {
            builtin: !self.no_builtin_cases,
            dirs: self.fixtures.clone(),
        }
    }
}

/// Options of `amp-conformance list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    fixtures: FixtureArgs,
    /// Number of property cases to list.
    #[arg(long, default_value_t = runner::DEFAULT_CASES, value_name = "N")]
    cases: usize,
    /// Seed of the property cases.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn parse_service(text: &str) -> Result<(u32, DedicatedIp), String> {
    let (id, ip) = match text.split_once('=') {
        Some((id, ip)) => (id, Some(ip)),
        None => (text, None),
    };
    let id = id
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|id| (1..=2_147_483_647).contains(id))
        .ok_or_else(|| {
            format!("--service {text:?}: the id must be a whole number in 1..=2147483647")
        })?;
    let ip = match ip.map(str::trim) {
        None | Some("none") => DedicatedIp::None,
        Some(ip) => DedicatedIp::Address(ip.parse().map_err(|_| {
            format!("--service {text:?}: {ip:?} is not an IPv4 or IPv6 address (or `none`)")
        })?),
    };
    Ok((id, ip))
}

fn read_key(args: &RunArgs) -> Result<Option<Secret>, String> {
    if let Some(path) = &args.api_id_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --api-id-file {}: {e}", path.display()))?;
        let key = text.trim();
        if key.is_empty() {
            return Err(format!("--api-id-file {} is empty", path.display()));
        }
        return Ok(Some(Secret::new(key)));
    }
    Ok(std::env::var("AMP_API_ID")
        .ok()
        .and_then(|list| {
            list.split(',')
                .map(str::trim)
                .find(|k| !k.is_empty())
                .map(str::to_owned)
        })
        .map(Secret::new))
}

fn config_from(args: &RunArgs) -> Result<RunConfig, String> {
    if args.format.len() != args.output.len() {
        return Err(format!(
            "{} --format but {} --output: give each --format its --output PATH (or -)",
            args.format.len(),
            args.output.len()
        ));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err("--timeout must be a positive number of seconds".to_owned());
    }
    if args.targets.len() > 1 {
        return Err(
            "--target is given more than once: give one URL (two only with `diff`)".to_owned(),
        );
    }
    let target = args.targets.first();
    if target.is_none() && (!args.services.is_empty() || args.missing_service_id.is_some()) {
        return Err("--service and --missing-service-id describe a --target; the embedded server uses fixtures/services.toml".to_owned());
    }
    let known_failures = match &args.known_failures {
        None => HashSet::new(),
        Some(path) => parse_known_failures(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --known-failures {}: {e}", path.display()))?,
        ),
    };
    let observer = match (&args.observe_url, &args.observe_cmd) {
        (Some(url), _) if !url.contains("{report_id}") => {
            return Err("--observe-url needs {report_id} where the report id goes".to_owned());
        }
        (Some(url), _) => Some(Observer::Url(url.clone())),
        (None, Some(cmd)) => Some(Observer::Command(cmd.clone())),
        (None, None) => None,
    };
    if args.max_time.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
        return Err("--max-time must be a positive number of seconds".to_owned());
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err("--rate must be a positive number of requests per second".to_owned());
    }
    let snapshot_dir = match (&args.snapshots, target) {
        _ if args.no_snapshots => None,
        (Some(dir), _) => Some(dir.clone()),
        (None, Some(target)) => Some(PathBuf::from(BASELINE_DIR).join(Target::host_label(target))),
        (None, None) => {
            // The embedded server's baseline is the repository's fixtures/snapshots/reference.
            // Run anywhere else (an installed binary), there is nothing to compare with, and a
            // check of the built-in server must not fail nor write into the working directory.
            let dir = PathBuf::from("fixtures/snapshots/reference");
            if args.update_snapshots || dir.is_dir() {
                Some(dir)
            } else {
                if !(args.quiet || args.dry_run) {
                    eprintln!(
                        "note: no snapshot comparison: {} is not in this directory \
                         (--snapshots DIR compares with, or records, a baseline elsewhere)",
                        dir.display()
                    );
                }
                None
            }
        }
    };
    // Under CI nothing is written unless --update-snapshots asks: a new answer is reported, a
    // changed one fails the run.
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let snapshots = snapshot_dir.map(|dir| Snapshots::new(dir, args.update_snapshots, !ci));
    let key = read_key(args)?;
    if key
        .as_ref()
        .is_some_and(|k| k.expose().len() < Secret::MIN_REDACTED)
    {
        eprintln!(
            "warning: the API_ID is shorter than {} characters, too short to be scrubbed from the \
             output reliably",
            Secret::MIN_REDACTED
        );
    }
    Ok(RunConfig {
        target: target.cloned(),
        key,
        services: args
            .services
            .iter()
            .map(|s| parse_service(s))
            .collect::<Result<_, _>>()?,
        missing_service: args.missing_service_id,
        allow_writes: args.allow_writes,
        allow_suspend: args.allow_suspend,
        concurrency: args.concurrency.clamp(1, 256),
        timeout: Duration::from_secs_f64(args.timeout),
        cases: args.cases,
        seed: args.seed,
        profile: args.profile,
        strict: args.strict,
        known_failures,
        observer,
        fixtures: args.fixtures.source(),
        progress: !args.quiet,
        max_writes: match target {
            Some(_) => Some(args.max_writes.unwrap_or(runner::DEFAULT_MAX_WRITES)),
            None => args.max_writes,
        },
        rate: args.rate,
        max_time: args.max_time.map(Duration::from_secs_f64),
        snapshots,
        ..RunConfig::default()
    })
}

fn write_output(path: &PathBuf, text: &str) -> std::io::Result<()> {
    if path.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
    }
}

async fn replay(args: ReplayArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.report) {
        Ok(text) => text,
        Err(e) => {
            return usage(format!(
                "cannot read {}: {e} (give the JSON report of a run: --format json --output PATH)",
                args.report.display()
            ));
        }
    };
    let origin = args.report.display().to_string();
    let cases = match crate::replay::cases(&text, args.filter.as_deref(), &origin) {
        Ok(cases) => cases,
        Err(message) => return usage(message),
    };
    let mut run_args = args.run;
    // A replay judges recorded findings; it neither extends nor compares a baseline.
    run_args.no_snapshots = true;
    let config = match config_from(&run_args) {
        Ok(config) => config,
        Err(message) => return usage(message),
    };
    let planned =
        match crate::runner::planned_context(&config, &[crate::session::Side::of(&config)]) {
            Ok(planned) => planned,
            Err(e) => return usage(e),
        };
    match crate::replay::context(&text) {
        Some(recorded) => {
            if let Some(why) = crate::replay::context_mismatch(&recorded, &planned) {
                return usage(format!("cannot replay {origin}: {why}"));
            }
        }
        None => eprintln!(
            "note: {origin} records no safety context (an older report): the replay cannot \
             check that it judges under the run's services"
        ),
    }
    run_with(run_args, Some(cases)).await
}

/// The run config and the two sides of `diff`: the safety of the checks follows the sides (a
/// real target on either side needs the flags, and is paced as in a run).
fn diff_setup(mut args: RunArgs) -> Result<(RunConfig, [Side; 2]), String> {
    let [a, b] = <[String; 2]>::try_from(std::mem::take(&mut args.targets)).map_err(|_| {
        "diff needs two targets: --target URL_A --target URL_B (`reference` for the embedded \
         reference server)"
            .to_owned()
    })?;
    let sides = [Side::parse(&a), Side::parse(&b)];
    if let Some(Side::Url(url)) = sides.iter().find(|s| matches!(s, Side::Url(_))) {
        args.targets = vec![url.clone()];
    }
    args.no_snapshots = true;
    let config = config_from(&args)?;
    Ok((config, sides))
}

async fn diff(args: RunArgs) -> ExitCode {
    let (config, [side_a, side_b]) = match diff_setup(args) {
        Ok(setup) => setup,
        Err(message) => return usage(message),
    };
    let name = |side: &Side| match side {
        Side::Reference => "reference".to_owned(),
        Side::Url(url) => url.clone(),
    };
    let (a, b) = (name(&side_a), name(&side_b));
    let key = config.key.clone();
    match crate::diff::diff(config, side_a, side_b).await {
        Ok(report) => {
            let text = report.render(&a, &b);
            let text = match &key {
                Some(key) => key.redact(&text),
                None => text,
            };
            let _ = std::io::stdout().write_all(text.as_bytes());
            if report.differences.is_empty() && report.read_only_creates.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(RunError::Config(message)) => usage(message),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(3)
        }
    }
}

async fn run(args: RunArgs) -> ExitCode {
    run_with(args, None).await
}

async fn run_with(
    args: RunArgs,
    replay: Option<Vec<(crate::cases::Case, crate::cases::WireRequest)>>,
) -> ExitCode {
    let mut config = match config_from(&args) {
        Ok(config) => config,
        Err(message) => return usage(message),
    };
    let replaying = replay.is_some();
    config.replay = replay;
    let key = config.key.clone();
    if args.dry_run {
        return match crate::runner::dry_run(config) {
            Ok(plan) => {
                let _ = std::io::stdout().write_all(plan.as_bytes());
                ExitCode::SUCCESS
            }
            Err(RunError::Config(message)) => usage(message),
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(3)
            }
        };
    }
    install_interrupt(config.interrupt.clone());
    let report = match crate::runner::run(config).await {
        Ok(report) => report,
        Err(RunError::Config(message)) => return usage(message),
        Err(err @ RunError::Unreachable(_)) => {
            eprintln!("error: {err}");
            return ExitCode::from(3);
        }
    };
    let redact = |text: String| match &key {
        Some(key) => key.redact(&text),
        None => text,
    };
    let mut terminal_text = Vec::new();
    let _ = terminal::write(
        &report,
        &mut terminal_text,
        terminal::use_color(),
        args.verbose,
    );
    let terminal_text = redact(String::from_utf8_lossy(&terminal_text).into_owned());
    // A report written to stdout keeps stdout machine-readable: the summary goes to stderr.
    if args.output.iter().any(|p| p.as_os_str() == "-") {
        let _ = std::io::stderr().write_all(terminal_text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(terminal_text.as_bytes());
    }
    for (format, path) in args.format.iter().zip(&args.output) {
        if let Err(e) = write_output(path, &redact(format.render_with(&report, args.verbose))) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let judged = report
        .checks
        .iter()
        .filter(|c| c.class != Class::Skipped)
        .count();
    if let Some(signal) = &report.interrupted {
        ExitCode::from(interrupted_status(signal))
    } else if replaying && judged == 0 {
        let reasons: std::collections::BTreeSet<&str> =
            report.checks.iter().map(|c| c.reason.as_str()).collect();
        usage(format!(
            "the replay judged nothing: every recorded request was skipped ({}); it confirms \
             no fix",
            reasons.into_iter().collect::<Vec<_>>().join("; ")
        ))
    } else if report.outage {
        ExitCode::from(3)
    } else if report.misconfigured {
        ExitCode::from(2)
    } else if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The shell's status for a run ended by `signal`: 128 + the signal number (130 for SIGINT,
/// 143 for SIGTERM), so a script tells an interrupted run from a failing one.
fn interrupted_status(signal: &str) -> u8 {
    match signal {
        "SIGTERM" => 143,
        _ => 130,
    }
}

/// Raises `interrupt` on the first SIGINT or SIGTERM; a second one ends the process at once.
fn install_interrupt(interrupt: crate::send::Interrupt) {
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        let signal = tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        eprintln!(
            "{signal}: finishing the requests in flight (press Ctrl-C again to quit at once)"
        );
        interrupt.raise(signal);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        std::process::exit(i32::from(interrupted_status(signal)));
    });
}

fn list(args: &ListArgs) -> ExitCode {
    let fixtures = match args.fixtures.source().load() {
        Ok(cases) => cases,
        Err(e) => return usage(e),
    };
    let property = crate::cases::properties::generate(
        &crate::cases::properties::PropertyContext {
            cases: args.cases,
            seed: args.seed,
            services: vec![1],
            missing_service: None,
            allow_writes: true,
            allow_suspend: true,
        },
        &|_: u32| None,
    );
    let property = match property {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let mut out = String::new();
    for case in fixtures.iter().chain(property.iter().map(|p| &p.case)) {
        out.push_str(&format!(
            "{:<48} {:<14} {}\n",
            case.id,
            case.rule(),
            case.title
        ));
    }
    for (id, rule, title) in crate::cases::stateful::CHECKS {
        out.push_str(&format!("{id:<48} {rule:<14} {title}\n"));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses the command line and runs it. Exit codes: 0 passed, 1 a failing check, 2 usage or
/// configuration error, 3 the target could not be reached at all.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return usage(format!("cannot start the async runtime: {err}")),
    };
    match cli.command {
        Some(Command::Serve(args)) => {
            init_tracing();
            runtime.block_on(crate::server::serve(args))
        }
        Some(Command::List(args)) => list(&args),
        Some(Command::Openapi(args)) => openapi(&args),
        Some(Command::Run(args)) => runtime.block_on(run(*args)),
        Some(Command::Replay(args)) => runtime.block_on(replay(*args)),
        Some(Command::Diff(args)) => runtime.block_on(diff(*args)),
        None => runtime.block_on(run(cli.run)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::session::Session;

    /// A host that is not this machine (TEST-NET-1: nothing is sent to it).
    const REMOTE: &str = "http://192.0.2.1/modules/addons/abusemanagerpro/includes/api.php";

    /// The config and sides each sending command gives, from its command line.
    fn setup(argv: &[&str]) -> (RunConfig, Vec<Side>) {
        let key = std::env::temp_dir().join(format!("amp-cli-key-{}", std::process::id()));
        std::fs::write(&key, "cli-test-key-123").unwrap();
        let mut full = vec!["amp-conformance"];
        full.extend_from_slice(argv);
        let key = key.display().to_string();
        full.extend(["--api-id-file", &key, "--no-snapshots"]);
        let cli = Cli::try_parse_from(full).unwrap();
        match cli.command {
            Some(Command::Run(args)) => {
                let config = config_from(&args).unwrap();
                let sides = vec![Side::of(&config)];
                (config, sides)
            }
            Some(Command::Replay(args)) => {
                let config = config_from(&args.run).unwrap();
                let sides = vec![Side::of(&config)];
                (config, sides)
            }
            Some(Command::Diff(args)) => {
                let (config, sides) = diff_setup(*args).unwrap();
                (config, sides.to_vec())
            }
            _ => panic!("not a sending command: {argv:?}"),
        }
    }

    #[tokio::test]
    async fn every_command_that_sends_paces_a_target_that_is_not_on_this_machine() {
        for argv in [
            &["run", "--target", REMOTE][..],
            &["replay", "report.json", "--target", REMOTE],
            &["diff", "--target", REMOTE, "--target", "reference"],
            &["diff", "--target", "reference", "--target", REMOTE],
        ] {
            let (config, sides) = setup(argv);
            let session = Session::open(&config, &sides).await.unwrap();
            let rates: Vec<Option<f64>> = session.targets().iter().map(|t| t.rate()).collect();
            for (side, rate) in sides.iter().zip(&rates) {
                let expected = matches!(side, Side::Url(_)).then_some(runner::DEFAULT_RATE);
                assert_eq!(*rate, expected, "{argv:?}: {side:?}");
            }
            session.close().await;
        }
        // `--rate` overrides the default on every side, the loopback one included.
        let (config, sides) = setup(&[
            "diff",
            "--target",
            REMOTE,
            "--target",
            "reference",
            "--rate",
            "2",
        ]);
        let session = Session::open(&config, &sides).await.unwrap();
        assert_eq!(session.targets()[0].rate(), Some(2.0));
        session.close().await;
    }
}
