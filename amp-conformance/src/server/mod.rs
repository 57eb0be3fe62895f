//! The reference server: `amp_contract`'s envelope behind axum, with in-memory storage and a
//! service registry. It adds transport, storage and services, never a rule of its own.

mod command;
mod registry;
mod routes;
mod store;

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
pub use registry::{Registry, RegistryError};
pub use routes::{API_PATH, AppState, OBSERVER_PATH};
pub use store::Store;

/// How a reference server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Valid `API_ID` values.
    pub api_ids: ApiIds,
    /// Existing services.
    pub registry: Registry,
    /// Longest a request may take, body included.
    pub request_timeout: Duration,
}

impl ServerConfig {
    /// A configuration with the default 30 s request timeout.
    pub fn new(api_ids: ApiIds, registry: Registry) -> Self {
        Self {
            api_ids,
            registry,
            request_timeout: Duration::from_secs(30),
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
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        api_ids: config.api_ids,
        registry: config.registry,
        store: Store::new(),
    });
    let app = app(Arc::clone(&state), config.request_timeout);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// Starts a server on `127.0.0.1:0`: the runner's embedded default target and the tests'.
pub async fn start_local(config: ServerConfig) -> std::io::Result<RunningServer> {
    start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// The registry the embedded server uses when no file is named and `fixtures/services.toml`
/// is not in the working directory: the same file, compiled in.
pub const DEFAULT_SERVICES: &str = include_str!("../../../fixtures/services.toml");

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
