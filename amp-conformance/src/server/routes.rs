//! HTTP routes: the API endpoint, the observer of CONTRACT.md §5, and JSON 404s. Parsing and
//! validation all happen in `amp_contract::envelope`; this file adds transport only.

use std::sync::Arc;

use amp_contract::ApiResponse;
use amp_contract::axum::{EnvelopeRejection, EnvelopeState};
use amp_contract::envelope::{self, Accepted, ApiIds};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

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

/// The envelope's credential check and service lookup, for the extractor.
impl EnvelopeState for AppState {
    type Credentials = ApiIds;
    type Services = Registry;

    fn credentials(&self) -> &ApiIds {
        &self.api_ids
    }

    fn services(&self) -> &Registry {
        &self.registry
    }
}

/// The API endpoint: every method, every content type; the envelope (run by the extractor,
/// body limit included) decides.
pub(super) async fn api(
    State(state): State<Arc<AppState>>,
    accepted: Result<Accepted, EnvelopeRejection>,
) -> Response {
    match accepted {
        Ok(accepted) => {
            let report_id = state.store.insert(accepted.resolved);
            // Per-request lines are DEBUG (`AMP_LOG=debug`): at the default INFO, a formatted,
            // unbuffered stderr line per request cost about a third of the server's CPU time
            // per create (BENCHMARKS.md, "Reference server").
            tracing::debug!(
                report_id,
                service_id = accepted.action.service_id,
                "report created"
            );
            ApiResponse::Success { report_id }.into_response()
        }
        Err(EnvelopeRejection::Refused(rejection)) => {
            tracing::debug!(code = %rejection.error.code, rule = rejection.rule, "request rejected");
            rejection.into_response()
        }
        Err(unreadable) => unreadable.into_response(),
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
