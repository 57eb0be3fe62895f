//! `amp-conformance serve`: the reference server as a process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use amp_contract::envelope::ApiIds;

use super::{ServerConfig, load_registry, open_file_limit, start};

/// Options of `amp-conformance serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Service registry (TOML). Default: fixtures/services.toml, or its built-in copy.
    #[arg(long, value_name = "FILE")]
    pub services: Option<PathBuf>,
    /// Longest a request may take once its head has arrived, in seconds (a JSON 408 after).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub request_timeout: u64,
    /// Longest a request head may take to arrive, from its first byte, in seconds; the
    /// connection is closed after it (slow-header clients).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub header_timeout: u64,
    /// Longest a connection may stay open with no request in progress and nothing received,
    /// in seconds (new and keep-alive connections).
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    pub idle_timeout: u64,
    /// Most connections open at once; over it a new client closes the connection that has
    /// waited longest without a request. Default: the open-file limit less 64, at most 4096.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

/// Runs the server until SIGINT or SIGTERM. Valid identifiers come from `AMP_API_ID`.
pub async fn serve(args: ServeArgs) -> ExitCode {
    let api_ids = ApiIds::from_list(&std::env::var("AMP_API_ID").unwrap_or_default());
    if api_ids.is_empty() {
        eprintln!(
            "error: no API_ID configured. Set AMP_API_ID to one or more comma-separated \
             identifiers, e.g.\n  AMP_API_ID=dev-key amp-conformance serve"
        );
        return ExitCode::from(2);
    }
    let registry = match load_registry(args.services.as_deref()) {
        Ok(registry) => registry,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let mut config = ServerConfig::new(api_ids, registry);
    config.request_timeout = Duration::from_secs(args.request_timeout.max(1));
    config.header_timeout = Duration::from_secs(args.header_timeout.max(1));
    config.idle_timeout = Duration::from_secs(args.idle_timeout.max(1));
    if let Some(max) = args.max_connections {
        config.max_connections = max as usize;
        if let Some(limit) = open_file_limit().filter(|&limit| u64::from(max) + 64 > limit) {
            eprintln!(
                "warning: --max-connections {max} leaves fewer than 64 of the {limit} open files \
                 for the rest of the server; once they run out, each new client closes the \
                 connection that has waited longest"
            );
        }
    }
    tracing::info!(
        max_connections = config.max_connections,
        header_timeout_s = config.header_timeout.as_secs(),
        idle_timeout_s = config.idle_timeout.as_secs(),
        "connection limits"
    );
    let server = match start(config, args.listen).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.listen);
            return ExitCode::from(2);
        }
    };
    // The handlers are installed before the readiness line: a supervisor (or test) that signals
    // as soon as it reads that line gets a graceful exit, not death by the default action.
    let shutdown = shutdown_signal();
    println!("listening on {}", server.base_url());
    println!("endpoint {}", server.endpoint());
    shutdown.await;
    tracing::info!("shutting down");
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: server failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers now, and returns a future that completes on the
/// first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Ok(mut interrupt), Err(_)) => {
                    interrupt.recv().await;
                }
                (Err(_), Ok(mut terminate)) => {
                    terminate.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
