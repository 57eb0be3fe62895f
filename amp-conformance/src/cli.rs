//! The command line: `run` (the default), `serve`, `list`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::server::ServeArgs;

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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference server.
    Serve(ServeArgs),
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses the command line and runs it; the process exit code follows CONTRACT.md §4 and the
/// runner's documented codes (0 passed, 1 failed, 2 usage or configuration, 3 unreachable).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Some(Command::Serve(args)) => {
            init_tracing();
            runtime.block_on(crate::server::serve(args))
        }
        None => ExitCode::SUCCESS,
    }
}
