//! Test servers: deliberately broken implementations of the contract, and a correct one that
//! is not the reference server, all on loopback.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp_conformance::config::RunConfig;
use amp_conformance::observer::Observer;
use amp_conformance::server::Registry;
use amp_conformance::target::Secret;
use amp_contract::envelope::{self, ApiIds, Body, Request};
use amp_contract::{ApiResponse, ErrorCode, ReportRecord};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

pub const KEY: &str = "test-key-7f3a";
pub const API: &str = "/modules/addons/abusemanagerpro/includes/api.php";

/// How a test server departs from the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// None: a correct implementation with other incidental choices than the reference
    /// server (ids from 1000 in steps of 7, other wording, a charset on the content type).
    Different,
    /// The first report id is 0 (D-SUCCESS).
    IdsFromZero,
    /// Ids repeat every three creates (D-UNIQUE).
    RepeatingIds,
    /// `suspend_method=suspend` is accepted (R-SUSPEND, a reference rule).
    AcceptsSuspend,
    /// AMP009 wherever AMP003 is due (D-REQUIRED's noted exception).
    Amp009,
    /// API_ID is not checked (D-AUTH).
    NoAuth,
    /// HTTP 500 with a PHP error page for a body without parameters (D-NO-5XX).
    FatalOnEmpty,
    /// Every answer says `text/html` (R-STATUS).
    HtmlContentType,
    /// Customer text is stored in the admin field and the reverse (D-DEFAULTS).
    SwapsNotes,
    /// AMP003 names the parameters in reverse table order (R-ORDER).
    ReversedNames,
    /// Every AMP error the contract answers with HTTP 200 is answered with HTTP 400 (R-STATUS);
    /// the oversize body keeps its 413.
    ErrorsHttp400,
    /// Like [`Mutant::ErrorsHttp400`], and the oversize body's 413 becomes 400 too (R-BODY).
    AllErrorsHttp400,
}

struct AppState {
    mutant: Mutant,
    ids: ApiIds,
    registry: Registry,
    reports: Arc<Mutex<Vec<ReportRecord>>>,
    next: Mutex<u64>,
}

/// A report store that outlives one server: what a restarted implementation with a
/// persistent database keeps.
pub type Store = Arc<Mutex<Vec<ReportRecord>>>;

pub fn registry() -> Registry {
    Registry::from_file(&workspace().join("fixtures/services.toml")).expect("registry")
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn api(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let m = state.mutant;
    let content_type = match m {
        Mutant::HtmlContentType => "text/html",
        Mutant::Different => "application/json; charset=utf-8",
        _ => "application/json",
    };
    if m == Mutant::FatalOnEmpty && body.is_empty() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<br />\n<b>Fatal error</b>: Uncaught TypeError in api.php on line 42<br />",
        )
            .into_response();
    }
    let mut headers = headers;
    if m == Mutant::NoAuth {
        headers.remove("api_id");
        headers.insert("api_id", KEY.parse().expect("header"));
    }
    let mut owned = body.to_vec();
    if m == Mutant::AcceptsSuspend {
        let text = String::from_utf8_lossy(&owned)
            .replace("suspend_method=suspend", "suspend_method=nosuspend");
        owned = text.into_bytes();
    }
    let body = if owned.len() > envelope::BODY_LIMIT {
        Body::TooLarge
    } else {
        Body::Complete(&owned)
    };
    let request = Request {
        method: &method,
        headers: &headers,
        body,
    };
    match envelope::handle(&request, &state.ids, &state.registry) {
        Ok(accepted) => {
            let mut next = state.next.lock().expect("lock");
            let id = match m {
                Mutant::Different => 1000 + 7 * *next,
                Mutant::IdsFromZero => *next,
                Mutant::RepeatingIds => *next % 3 + 1,
                _ => *next + 1,
            };
            *next += 1;
            let mut values = accepted.resolved;
            if m == Mutant::SwapsNotes {
                std::mem::swap(&mut values.additional_info, &mut values.admin_notes);
            }
            let mut reports = state.reports.lock().expect("lock");
            // A reused id keeps the stored report it already names (`INSERT IGNORE` on a
            // primary key), so the new report is lost; only repeating ids reach this.
            if m == Mutant::RepeatingIds || reports.iter().all(|r| r.report_id != id) {
                reports.push(ReportRecord {
                    report_id: id,
                    values,
                });
            }
            drop(reports);
            json(
                StatusCode::OK,
                content_type,
                ApiResponse::Success { report_id: id }.to_json(),
            )
        }
        Err(rejection) => {
            let mut error = rejection.error;
            if error.code == ErrorCode::MissingParameters {
                if m == Mutant::Amp009 {
                    error.code = ErrorCode::Other(9);
                }
                if m == Mutant::ReversedNames && error.params.len() > 1 {
                    let mut names = error.params.clone();
                    names.reverse();
                    error.description = format!("Invalid parameters: {}.", names.join(", "));
                }
                if m == Mutant::Different && !error.params.is_empty() {
                    error.description = format!("Please check: {}", error.params.join(" / "));
                }
            }
            let status = match m {
                Mutant::ErrorsHttp400 if rejection.status == StatusCode::OK => {
                    StatusCode::BAD_REQUEST
                }
                Mutant::AllErrorsHttp400 => StatusCode::BAD_REQUEST,
                _ => rejection.status,
            };
            json(status, content_type, ApiResponse::from(&error).to_json())
        }
    }
}

async fn observe(State(state): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    let reports = state.reports.lock().expect("lock");
    match reports.iter().rev().find(|r| r.report_id == id) {
        Some(record) => json(
            StatusCode::OK,
            "application/json",
            serde_json::to_string(record).expect("json"),
        ),
        None => json(StatusCode::NOT_FOUND, "application/json", "{}".to_owned()),
    }
}

/// A running test server.
pub struct TestServer {
    pub endpoint: String,
    pub observe: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The test server's application, to serve or to call in process; its observer is
/// `/observe/{report_id}`.
pub fn router(mutant: Mutant) -> axum::Router {
    router_with(mutant, Store::default())
}

/// [`router`] over `reports`, a store another server may have filled.
pub fn router_with(mutant: Mutant, reports: Store) -> axum::Router {
    let state = Arc::new(AppState {
        mutant,
        ids: ApiIds::new([KEY]),
        registry: registry(),
        reports,
        next: Mutex::new(0),
    });
    axum::Router::new()
        .route(API, any(api))
        .route("/observe/{id}", get(observe))
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(state)
}

pub async fn spawn(mutant: Mutant) -> TestServer {
    spawn_with(mutant, Store::default()).await
}

/// [`spawn`] over `reports`: a server restarted with its id counter reset and its database
/// kept.
pub async fn spawn_with(mutant: Mutant, reports: Store) -> TestServer {
    let app = router_with(mutant, reports);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    TestServer {
        endpoint: format!("http://{addr}{API}"),
        observe: format!("http://{addr}/observe/{{report_id}}"),
        shutdown: Some(tx),
    }
}

/// A run against `server` with every permission and its observer.
pub fn config_for(server: &TestServer, seed: u64) -> RunConfig {
    let registry = registry();
    let mut config = RunConfig::owned_target(
        &server.endpoint,
        Secret::new(KEY),
        registry.iter().collect(),
        Some(registry.missing_id()),
        Some(Observer::Url(server.observe.clone())),
    );
    config.seed = Some(seed);
    config.cases = 120;
    config.timeout = Duration::from_secs(10);
    config.known_failures = HashSet::new();
    config
}
