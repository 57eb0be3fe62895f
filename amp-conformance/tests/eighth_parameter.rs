//! An eighth, optional parameter declared only in its struct (a copy of `create` with
//! `priority`, as `amp-macros/tests/eighth_parameter.rs` declares it) reaches the OpenAPI
//! export's request schema and the typed client with no edit outside the struct. (Parser,
//! defaults, stored record and comparison, strategies and the envelope: amp-macros' test.)

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
    let body = std::str::from_utf8(request.body().unwrap().as_bytes().unwrap()).unwrap();
    assert!(body.ends_with("&priority=3"), "{body}");
    report.priority = None;
    let request = client.build_request(&report).unwrap();
    let body = std::str::from_utf8(request.body().unwrap().as_bytes().unwrap()).unwrap();
    assert!(!body.contains("priority"), "{body}");
}
