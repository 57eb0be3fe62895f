//! The command line: `run` (the default), `serve`, `list`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Side;
use crate::config::{self, RunConfig, RunError};
use crate::judge::Class;
use crate::report::terminal;
use crate::server::ServeArgs;

mod args;
mod help;

pub use args::BASELINE_DIR;
use args::{DiffArgs, DiffFormat, FixtureArgs, ReplayArgs, RunArgs, config_from};

/// Conformance kit for the Abuse Manager Pro API.
///
/// Without a subcommand it runs every check against the embedded reference server.
#[derive(Debug, Parser)]
#[command(
    name = "amp-conformance",
    version,
    args_conflicts_with_subcommands = true,
    after_help = help::RUN
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
    #[command(after_help = help::RUN)]
    Run(Box<RunArgs>),
    /// Run the reference server.
    #[command(after_help = help::SERVE)]
    Serve(ServeArgs),
    /// List every check with its rule id.
    List(ListArgs),
    /// Print the OpenAPI 3.1 description of the API, generated from the contract.
    Openapi(OpenapiArgs),
    /// Send the recorded requests of a JSON report's findings again, and judge them again.
    #[command(after_help = help::REPLAY)]
    Replay(Box<ReplayArgs>),
    /// Send the same requests to two implementations (`--target A --target B`, `reference`
    /// for the embedded server) and list every difference in outcome, by the rule deciding it.
    #[command(after_help = help::DIFF)]
    Diff(Box<DiffArgs>),
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

/// Options of `amp-conformance list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    fixtures: FixtureArgs,
    /// Number of property cases to list.
    #[arg(long, default_value_t = config::DEFAULT_CASES, value_name = "N")]
    cases: usize,
    /// Seed of the property cases.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Print the coverage model instead: each field's value classes (layer, rule, a revealing
    /// value, the PHP transformation it reveals) and the request-part forms.
    #[arg(long)]
    coverage: bool,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn write_output(path: &PathBuf, text: &str) -> std::io::Result<()> {
    if path.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
    }
}

async fn replay(args: ReplayArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.report_file) {
        Ok(text) => text,
        Err(e) => {
            return usage(format!(
                "cannot read {}: {e} (give the JSON report of a run: --format json --output PATH)",
                args.report_file.display()
            ));
        }
    };
    let origin = args.report_file.display().to_string();
    let cases = match crate::replay::cases(&text, args.filter.as_deref(), &origin) {
        Ok(cases) => cases,
        Err(message) => return usage(message),
    };
    // A replay judges recorded findings; it neither extends nor compares a baseline.
    let run_args = args.as_run();
    let config = match config_from(&run_args) {
        Ok(config) => config,
        Err(message) => return usage(message),
    };
    let planned = match crate::runner::planned_context(&config, &[Side::of(&config)]) {
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
fn diff_setup(args: &DiffArgs) -> Result<(RunConfig, [Side; 2]), String> {
    let [a, b] = <[String; 2]>::try_from(args.target.targets.clone()).map_err(|_| {
        "diff needs two targets: --target URL_A --target URL_B (`reference` for the embedded \
         reference server)"
            .to_owned()
    })?;
    let sides = [Side::parse(&a), Side::parse(&b)];
    let url = sides.iter().find_map(|s| match s {
        Side::Url(url) => Some(url.clone()),
        Side::Reference => None,
    });
    for side in &sides {
        if let Side::Url(url) = side {
            args::check_target(url)?;
        }
    }
    let config = config_from(&args.as_run(url))?;
    Ok((config, sides))
}

async fn diff(args: DiffArgs) -> ExitCode {
    let (config, [side_a, side_b]) = match diff_setup(&args) {
        Ok(setup) => setup,
        Err(message) => return usage(message),
    };
    let name = |side: &Side| match side {
        Side::Reference => "reference".to_owned(),
        Side::Url(url) => url.clone(),
    };
    let (a, b) = (name(&side_a), name(&side_b));
    let key = config.key.clone();
    let redact = |text: String| match &key {
        Some(key) => key.redact(&text),
        None => text,
    };
    install_interrupt(config.interrupt.clone());
    let report = match crate::diff::diff(config, side_a, side_b).await {
        Ok(report) => report,
        Err(RunError::Config(message)) => return usage(message),
        Err(err) => {
            eprintln!("error: {}", redact(err.to_string()));
            return ExitCode::from(3);
        }
    };
    let text = redact(report.render(&a, &b));
    let to_stdout = args.output.as_ref().is_some_and(|p| p.as_os_str() == "-");
    if to_stdout {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
    if let (Some(DiffFormat::Json), Some(path)) = (args.format, &args.output) {
        if let Err(e) = write_output(path, &redact(report.to_json(&a, &b))) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::from(report.exit_code())
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
    if args.state.dry_run {
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
        args.report.verbose,
    );
    let terminal_text = redact(String::from_utf8_lossy(&terminal_text).into_owned());
    // A report written to stdout keeps stdout machine-readable: the summary goes to stderr.
    if args.report.output.iter().any(|p| p.as_os_str() == "-") {
        let _ = std::io::stderr().write_all(terminal_text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(terminal_text.as_bytes());
    }
    for (format, path) in args.report.format.iter().zip(&args.report.output) {
        let text = redact(format.render_with(&report, args.report.verbose));
        if let Err(e) = write_output(path, &text) {
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
fn install_interrupt(interrupt: crate::config::Interrupt) {
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
    if args.coverage {
        let _ = std::io::stdout().write_all(crate::cases::coverage::listing().as_bytes());
        return ExitCode::SUCCESS;
    }
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
    let coverage =
        crate::cases::coverage::cases(crate::cases::coverage::CoverContext { allow_writes: true });
    for case in fixtures
        .iter()
        .chain(&coverage)
        .chain(property.iter().map(|p| &p.case))
    {
        out.push_str(&format!(
            "{:<48} {:<14} {}\n",
            case.id,
            case.rule(),
            case.title
        ));
    }
    for (id, rule, title) in crate::stateful::CHECKS {
        out.push_str(&format!("{id:<48} {rule:<14} {title}\n"));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: a log file or a journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_ansi(ansi)
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
        // Each call its own file: the tests of this module run in parallel.
        let key = std::env::temp_dir().join(format!(
            "amp-cli-key-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&key, "cli-test-key-123").unwrap();
        let mut full = vec!["amp-conformance"];
        full.extend_from_slice(argv);
        let key = key.display().to_string();
        full.extend(["--api-id-file", &key]);
        let cli = Cli::try_parse_from(full).unwrap();
        let setup = match cli.command {
            Some(Command::Run(args)) => {
                let config = config_from(&args).unwrap();
                let sides = vec![Side::of(&config)];
                (config, sides)
            }
            Some(Command::Replay(args)) => {
                let config = config_from(&args.as_run()).unwrap();
                let sides = vec![Side::of(&config)];
                (config, sides)
            }
            Some(Command::Diff(args)) => {
                let (config, sides) = diff_setup(&args).unwrap();
                (config, sides.to_vec())
            }
            _ => panic!("not a sending command: {argv:?}"),
        };
        let _ = std::fs::remove_file(&key);
        setup
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
                let expected = matches!(side, Side::Url(_)).then_some(config::DEFAULT_RATE);
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
