//! HTTP routes: the API endpoint, the observer of CONTRACT.md §5, and JSON 404s. Parsing and
//! validation all happen in `amp_contract::envelope`; this file adds transport only.

use std::sync::Arc;

use amp_contract::envelope::{self, BODY_LIMIT, Body as EnvelopeBody, Request};
use amp_contract::{ApiResponse, envelope::ApiIds};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::{Registry, Store};

/// The path real installations serve the API on.
pub const API_PATH: &str = "/modules/addons/abusemanagerpro/includes/api.php";

/// The observer route (CONTRACT.md §5).
pub const OBSERVER_PATH: &str = "/_amp/reports/{report_id}";

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Valid identifiers.
    pub api_ids: ApiIds,
    /// Services.
    pub registry: Registry,
    /// Reports.
    pub store: Store,
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Most bytes read and thrown away after the limit, so that a client still sending an
/// oversize body can read its 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

/// Reads at most [`BODY_LIMIT`] bytes; more is `None`, never buffered.
async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Option<bytes::Bytes>, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        drain(body).await;
        return Ok(None);
    }
    let mut body = body;
    let mut collected = bytes::BytesMut::new();
    loop {
        match body.frame().await {
            None => return Ok(Some(collected.freeze())),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if collected.len() + data.len() > BODY_LIMIT {
                        drop(collected);
                        drain(body).await;
                        return Ok(None);
                    }
                    collected.extend_from_slice(data);
                }
            }
            Some(Err(_)) => {
                // The client stopped mid-body: framing is broken, the HTTP layer's 4xx.
                return Err(json(
                    StatusCode::BAD_REQUEST,
                    r#"{"status":"error","error_description":"The request body could not be read."}"#
                        .to_owned(),
                ));
            }
        }
    }
}

async fn drain(mut body: Body) {
    let mut seen = 0usize;
    while seen < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

/// The API endpoint: every method, every content type; the envelope decides.
pub(super) async fn api(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_limited(&headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let body = match &bytes {
        Some(bytes) => EnvelopeBody::Complete(bytes),
        None => EnvelopeBody::TooLarge,
    };
    let request = Request {
        method: &method,
        headers: &headers,
        body,
    };
    match envelope::handle(&request, &state.api_ids, &state.registry) {
        Ok(accepted) => {
            let report_id = state.store.insert(accepted.resolved);
            tracing::info!(
                report_id,
                service_id = accepted.action.service_id,
                "report created"
            );
            json(StatusCode::OK, ApiResponse::Success { report_id }.to_json())
        }
        Err(rejection) => {
            tracing::info!(code = %rejection.error.code, rule = rejection.rule, "request rejected");
            json(rejection.status, rejection.response().to_json())
        }
    }
}

/// `GET /_amp/reports/{report_id}`: a stored report, for D-DEFAULTS checks.
pub(super) async fn observe(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(report_id): Path<String>,
) -> Response {
    if let Err(rejection) = envelope::authenticate(&headers, &state.api_ids) {
        return json(StatusCode::UNAUTHORIZED, rejection.response().to_json());
    }
    let record = report_id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.store.get(id));
    match record.and_then(|r| serde_json::to_string(&r).ok()) {
        Some(body) => json(StatusCode::OK, body),
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({
                "status": "error",
                "error_description": format!("No report with id {report_id:?}."),
            })
            .to_string(),
        ),
    }
}

/// Any other path: 404 with a JSON body that says where the API is.
pub(super) async fn not_found(uri: Uri) -> Response {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "status": "error",
            "error_description": format!(
                "No AMP endpoint at {}; the API is served at {API_PATH}.",
                uri.path()
            ),
        })
        .to_string(),
    )
}
