//! The reference server: `amp_contract`'s envelope behind axum, with in-memory storage and a
//! service registry. It adds transport, storage and services, never a rule of its own.

mod command;
mod connections;
mod registry;
mod routes;
mod store;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amp_contract::envelope::ApiIds;
use axum::Router;
use axum::routing::{any, get};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::util::MapFutureLayer;
use tower_http::trace::TraceLayer;

pub use command::{ServeArgs, serve};
pub use connections::{default_max_connections, open_file_limit};
pub use registry::{Registry, RegistryError};
pub use routes::{API_PATH, AppState, OBSERVER_PATH};
pub use store::Store;
pub use wire::{MAX_HEAD_BYTES, MAX_HEADER_FIELDS};

/// How a reference server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Valid `API_ID` values.
    pub api_ids: ApiIds,
    /// Existing services.
    pub registry: Registry,
    /// Longest a request may take, body included, counted from when its head has arrived.
    pub request_timeout: Duration,
    /// Longest a request head may take to arrive, counted from its first byte; a connection
    /// over it is closed without an answer (slow-header clients).
    pub header_timeout: Duration,
    /// Longest a connection may stay open with no request in progress and nothing received
    /// (a new connection, or a keep-alive one after its last answer).
    pub idle_timeout: Duration,
    /// Most connections open at once. A new one over the cap closes the connection that has
    /// waited longest without a request in progress; if every one has a request in progress,
    /// the new one is closed unread.
    pub max_connections: usize,
    /// Most reports kept (the oldest are forgotten beyond); `None` keeps every one.
    pub max_reports: Option<usize>,
}

impl ServerConfig {
    /// A configuration with the defaults of `serve`: request timeout 30 s, header timeout
    /// 10 s, idle timeout 20 s, and [`default_max_connections`].
    pub fn new(api_ids: ApiIds, registry: Registry) -> Self {
        Self {
            api_ids,
            registry,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(20),
            max_connections: default_max_connections(),
            max_reports: None,
        }
    }
}

/// The axum application, for tests that drive it without a socket.
pub fn app(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route(API_PATH, any(routes::api))
        .route(OBSERVER_PATH, get(routes::observe))
        .fallback(routes::not_found)
        .with_state(state)
        .layer(MapFutureLayer::new(move |future| {
            within(future, request_timeout)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// The per-request timeout. A request whose body has already arrived (nearly all of them)
/// completes on its first poll and never arms a timer; only one still waiting for its body
/// does, and gets a 408 with a JSON body once `limit` has passed. (`tower_http`'s
/// `TimeoutLayer` armed a timer for every request, a measurable share of the server's
/// per-request cost, and answered 408 with an empty body.)
async fn within<F, E>(future: F, limit: Duration) -> Result<axum::response::Response, E>
where
    F: std::future::Future<Output = Result<axum::response::Response, E>>,
{
    let mut future = std::pin::pin!(future);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(output) = first {
        return output;
    }
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => {
            use axum::response::IntoResponse;
            let body = serde_json::json!({
                "status": "error",
                "error_description": format!(
                    "The request was not received within {} s.",
                    limit.as_secs()
                ),
            })
            .to_string();
            Ok((
                http::StatusCode::REQUEST_TIMEOUT,
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response())
        }
    }
}

/// The span of one request: method and path only. Never headers (so never `API_ID`), and never
/// the query string, where a misconfigured client may have put its identifier (`?API_ID=…`);
/// the default span records the whole URI.
fn request_span(request: &http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// A server running in this process.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    connections: Arc<connections::Tracker>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full API endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("{}{API_PATH}", self.base_url())
    }

    /// The observer URL template, with `{report_id}`.
    pub fn observe_template(&self) -> String {
        format!("{}{OBSERVER_PATH}", self.base_url())
    }

    /// Its state (stored reports, registry).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Connections open now (one the server has just closed may still count for a moment).
    pub fn open_connections(&self) -> usize {
        self.connections.len()
    }

    /// Stops accepting, finishes requests in flight, and waits for the server to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

/// Starts a server on `addr` (port 0 picks a free port) and returns once it accepts.
pub async fn start(config: ServerConfig, addr: SocketAddr) -> std::io::Result<RunningServer> {
    let listener = listen(addr)?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        api_ids: config.api_ids,
        registry: config.registry,
        store: config.max_reports.map_or_else(Store::new, Store::bounded),
    });
    let app = app(Arc::clone(&state), config.request_timeout);
    let limits = connections::Limits {
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
        max_connections: config.max_connections.max(1),
    };
    let tracker = Arc::new(connections::Tracker::default());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(connections::serve(
        listener,
        app,
        limits,
        Arc::clone(&tracker),
        async move {
            let _ = rx.await;
        },
    ));
    Ok(RunningServer {
        addr,
        state,
        connections: tracker,
        shutdown: Some(tx),
        task,
    })
}

/// Connections the kernel completes and queues before the server accepts them. tokio's
/// `TcpListener::bind` asks for 128: a burst of a few hundred new connections (the runner's
/// `--concurrency` goes up to 256) then overflowed the queue while the accept loop waited
/// its turn, and each dropped SYN cost its client a second (measured: one connect in about
/// 130 took 1 s when 2,000 connected in a row).
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server can bind at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Starts a server on `127.0.0.1:0`: the runner's embedded default target and the tests'.
pub async fn start_local(config: ServerConfig) -> std::io::Result<RunningServer> {
    start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// The registry the embedded server uses when no file is named and `fixtures/services.toml`
/// is not in the working directory: the same file, compiled in.
pub const DEFAULT_SERVICES: &str = include_str!("../../fixtures/services.toml");

/// The default registry path, relative to the working directory.
pub const DEFAULT_SERVICES_PATH: &str = "fixtures/services.toml";

/// Loads the registry named on the command line, or the default one.
pub fn load_registry(path: Option<&std::path::Path>) -> Result<Registry, RegistryError> {
    match path {
        Some(path) => Registry::from_file(path),
        None if std::path::Path::new(DEFAULT_SERVICES_PATH).is_file() => {
            Registry::from_file(std::path::Path::new(DEFAULT_SERVICES_PATH))
        }
        None => Registry::from_toml_str(DEFAULT_SERVICES, "(built-in fixtures/services.toml)"),
    }
}
