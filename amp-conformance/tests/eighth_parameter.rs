//! An eighth, optional parameter declared only in its struct (a copy of `create` with
//! `priority`, as `amp-macros/tests/eighth_parameter.rs` declares it) reaches the OpenAPI
//! export's request schema, the typed client and the axum extractor with no edit outside the
//! struct. (Parser, defaults, stored record and comparison, strategies and the envelope:
//! amp-macros' test. The reference server stores the extractor's derived record as it is.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amp_contract::{AmpAction, SuspendMethod};
use std::net::IpAddr;

/// `create` as the contract defines it, plus `priority`.
#[derive(Debug, Clone, PartialEq, Eq, AmpAction)]
#[amp(action = "create", stored = "StoredWithPriority")]
pub struct CreateWithPriority {
    /// WHMCS id of the service the report is for.
    #[amp(integer, required, min = 1, max = 2147483647, lookup)]
    #[amp(rule = "R-SERVICE-ID", rule = "D-REQUIRED", rule = "R-EMPTY")]
    pub service_id: u32,
    /// Free text naming the kind of abuse.
    #[amp(text, required, trim, max_chars = 255)]
    #[amp(rule = "R-CATEGORY", rule = "D-REQUIRED", rule = "R-EMPTY")]
    pub category: String,
    /// The address the report is about.
    #[amp(ip, trim, rule = "R-SERVICE-IP", rule = "D-DEFAULTS")]
    #[amp(resolved_default = "the service's main dedicated IP, or `(No Dedicated IP)`")]
    pub service_ip: Option<IpAddr>,
    /// Whether and when the service is suspended.
    #[amp(enumeration, default = "nosuspend", rule = "R-SUSPEND")]
    pub suspend_method: SuspendMethod,
    /// Whether the customer may unsuspend the service themselves.
    #[amp(boolean, default = "0", trim, rule = "R-BOOL")]
    pub allow_unsuspend: bool,
    /// Free text visible to the customer.
    #[amp(text, default = "", max_bytes = 65535, rule = "R-TEXT")]
    pub additional_info: String,
    /// Free text visible to admins only.
    #[amp(
        text,
        default = "",
        max_bytes = 65535,
        visibility = "admin",
        rule = "R-TEXT"
    )]
    pub admin_notes: String,
    /// The eighth: how urgent the report is, 1 and up.
    #[amp(integer, optional, min = 1, rule = "D-OPTIONALS")]
    pub priority: Option<u16>,
}

#[test]
fn the_openapi_schema_lists_the_eighth_parameter_in_table_order() {
    let schema = amp_conformance::openapi::request_schema_for::<CreateWithPriority>();
    let order: Vec<&str> = schema["x-amp-parameter-order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(order.last(), Some(&"priority"), "{order:?}");
    let priority = &schema["properties"]["priority"];
    assert!(priority.is_object(), "{schema}");
    assert!(
        !schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "priority"),
        "optional"
    );
}

#[test]
fn the_client_sends_the_eighth_parameter() {
    let client = amp_contract::client::Client::builder("http://127.0.0.1:9/api.php", "k-e-y")
        .build()
        .unwrap();
    let mut report = CreateWithPriority {
        service_id: 1,
        category: "Spam".to_owned(),
        service_ip: None,
        suspend_method: SuspendMethod::NoSuspend,
        allow_unsuspend: false,
        additional_info: String::new(),
        admin_notes: String::new(),
        priority: Some(3),
    };
    let request = client.build_request(&report).unwrap();
    let body = request.body();
    assert!(body.ends_with("&priority=3"), "{body}");
    report.priority = None;
    let request = client.build_request(&report).unwrap();
    let body = request.body();
    assert!(!body.contains("priority"), "{body}");
}

/// The axum extractor takes the action as a type parameter: a handler of the copy gets the
/// eighth parameter parsed, checked and resolved, with no edit outside the struct.
#[tokio::test]
async fn the_axum_extractor_parses_the_eighth_parameter() {
    use amp_contract::ApiResponse;
    use amp_contract::axum::EnvelopeState;
    use amp_contract::envelope::{Accepted, ApiIds, DedicatedIp};
    use axum::routing::any;
    use tower::ServiceExt;

    struct App {
        ids: ApiIds,
        services: fn(u32) -> Option<DedicatedIp>,
    }
    impl EnvelopeState for App {
        type Credentials = ApiIds;
        type Services = fn(u32) -> Option<DedicatedIp>;
        fn credentials(&self) -> &ApiIds {
            &self.ids
        }
        fn services(&self) -> &Self::Services {
            &self.services
        }
    }
    // The handler answers with the priority as the report id, to show it arrived.
    async fn api(accepted: Accepted<CreateWithPriority>) -> ApiResponse {
        ApiResponse::Success {
            report_id: u64::from(accepted.action.priority.unwrap_or(0)),
        }
    }
    let app = std::sync::Arc::new(App {
        ids: ApiIds::from_list("k-e-y"),
        services: |id| (id == 1).then_some(DedicatedIp::None),
    });
    let router = axum::Router::new().route("/api", any(api)).with_state(app);
    let call = |body: &'static str| {
        let router = router.clone();
        async move {
            let request = http::Request::post("/api")
                .header("api_id", "k-e-y")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    let ok = call("action=create&service_id=1&category=Spam&priority=7").await;
    assert_eq!(ok, r#"{"status":"success","report_id":7}"#);
    let bad = call("action=create&service_id=1&category=Spam&priority=0").await;
    assert!(bad.contains("AMP003") && bad.contains("priority"), "{bad}");
}
