//! The README's example, compiled and run: a small axum implementation of the API built on
//! amp-contract's `axum` feature (the extractor does authentication, the body limit, dispatch
//! and every AMP error), with an observer route, checked in process by the whole suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use amp_conformance::inprocess;
use amp_contract::axum::EnvelopeState;
use amp_contract::envelope::{Accepted, ApiIds, DedicatedIp};
use amp_contract::{ApiResponse, ReportRecord};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Json, Router};

/// The implementation's state: keys, services, and the stored reports.
struct App {
    api_ids: ApiIds,
    services: fn(u32) -> Option<DedicatedIp>,
    next_id: AtomicU64,
    reports: Mutex<HashMap<u64, ReportRecord>>,
}

impl EnvelopeState for App {
    type Credentials = ApiIds;
    type Services = fn(u32) -> Option<DedicatedIp>;
    fn credentials(&self) -> &ApiIds {
        &self.api_ids
    }
    fn services(&self) -> &Self::Services {
        &self.services
    }
}

async fn api(State(app): State<Arc<App>>, accepted: Accepted) -> ApiResponse {
    let report_id = app.next_id.fetch_add(1, Ordering::SeqCst);
    let record = ReportRecord {
        report_id,
        values: accepted.resolved,
    };
    app.reports.lock().unwrap().insert(report_id, record);
    ApiResponse::Success { report_id }
}

async fn observe(State(app): State<Arc<App>>, Path(id): Path<u64>) -> axum::response::Response {
    match app.reports.lock().unwrap().get(&id) {
        Some(record) => Json(record.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"status": "error"})),
        )
            .into_response(),
    }
}

/// The implementation: the page's endpoint and an observer route.
fn router() -> Router {
    let app = Arc::new(App {
        api_ids: ApiIds::from_list("test-key"),
        // Service 1 has a dedicated IP, 2 has none; no other exists.
        services: |id| match id {
            1 => Some(DedicatedIp::Address([203, 0, 113, 10].into())),
            2 => Some(DedicatedIp::None),
            _ => None,
        },
        next_id: AtomicU64::new(1),
        reports: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/modules/addons/abusemanagerpro/includes/api.php", any(api))
        .route("/reports/{id}", get(observe))
        .with_state(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_server_conforms() {
    let config = inprocess::config(
        router(),
        "test-key", // an API_ID it accepts
        vec![
            (1, DedicatedIp::Address([203, 0, 113, 10].into())),
            (2, DedicatedIp::None),
        ], // its services
        Some(999),  // an id it does not know
        Some("/reports/{report_id}"), // its observer route
    );
    inprocess::assert_conforms(config).await;
}
