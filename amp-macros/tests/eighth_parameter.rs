//! A copy of `create` with an eighth, optional parameter, declared in its struct and nowhere
//! else: the parser, the defaults, the stored record (typed and generic, with its JSON), the
//! comparison of stored records, the strategies and the envelope all handle it. The eighth
//! parameter is a `u16` without a declared maximum, so its type's range is the limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use amp_contract::create::{DedicatedIp, ServiceLookup};
use amp_contract::envelope::{self, Accepted, ApiIds, Body, Request};
use amp_contract::form::FormPairs;
use amp_contract::stored::{Record, StoredRecord, StoredValue, compare};
use amp_contract::strategy::{ActionStrategies, GenConfig};
use amp_contract::{Action, AmpAction, ErrorCode, NO_DEDICATED_IP, Problem, SuspendMethod};
use http::{HeaderMap, Method, header::CONTENT_TYPE};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

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

fn services(id: u32) -> Option<DedicatedIp> {
    match id {
        1 => Some(DedicatedIp::None),
        2 => Some(DedicatedIp::Address("192.0.2.7".parse().unwrap())),
        _ => None,
    }
}

fn parse(body: &str) -> Result<CreateWithPriority, Vec<(&'static str, Problem)>> {
    CreateWithPriority::from_form(&FormPairs::from_urlencoded(body.as_bytes())).map_err(|v| {
        v.iter()
            .map(|v| (v.field.name, v.problem.clone()))
            .collect()
    })
}

/// Through the envelope, as a server receives it.
fn accept(body: &str) -> Accepted<CreateWithPriority> {
    let mut headers = HeaderMap::new();
    headers.insert("api_id", "k".parse().unwrap());
    headers.insert(
        CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let request = Request {
        method: &Method::POST,
        headers: &headers,
        body: Body::Complete(body.as_bytes()),
    };
    envelope::dispatch(&request, &ApiIds::from_list("k"), &services).unwrap()
}

#[test]
fn the_table_has_eight_parameters() {
    let names: Vec<&str> = CreateWithPriority::FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(names.len(), 8);
    assert_eq!(names[7], "priority");
    let priority = CreateWithPriority::field("priority").unwrap();
    assert_eq!(priority.type_max, Some(u64::from(u16::MAX)));
    assert_eq!(priority.integer_range(), (1, 65535));
    assert_eq!(priority.rule, "D-OPTIONALS");
}

#[test]
fn parser_and_defaults() {
    let minimal = parse("service_id=1&category=Spam").unwrap();
    assert_eq!(minimal.priority, None);
    assert_eq!(minimal.suspend_method, SuspendMethod::NoSuspend);
    assert_eq!(
        parse("service_id=1&category=Spam&priority=+")
            .unwrap()
            .priority,
        None
    );
    assert_eq!(
        parse("service_id=1&category=Spam&priority=65535")
            .unwrap()
            .priority,
        Some(65535)
    );
    assert_eq!(
        parse("service_id=1&category=Spam&priority=65536").unwrap_err(),
        [("priority", Problem::OutOfRange { min: 1, max: 65535 })]
    );
    // Table order: the eighth parameter comes last in an AMP003.
    let err = parse("priority=0&category=&service_id=x").unwrap_err();
    let names: Vec<&str> = err.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["service_id", "category", "priority"]);
    let mut report = minimal;
    report.priority = Some(9);
    assert!(report.to_body().ends_with("&allow_unsuspend=0&priority=9"));
}

#[test]
fn stored_record_typed_and_generic() {
    let accepted = accept("action=create&service_id=2&category=+Spam+&priority=4");
    let stored: &StoredWithPriority = &accepted.resolved;
    assert_eq!(stored.service_ip, "192.0.2.7");
    assert_eq!(stored.category, "Spam");
    assert_eq!(stored.priority, Some(4));
    let json = serde_json::to_value(stored).unwrap();
    assert_eq!(json["priority"], 4);
    assert_eq!(
        serde_json::from_value::<StoredWithPriority>(json.clone()).unwrap(),
        *stored
    );
    assert_eq!(stored.record().to_json(), json);
    assert_eq!(
        stored.record().get("priority"),
        Some(&StoredValue::Integer(4))
    );

    let none = accept("action=create&service_id=1&category=Spam");
    assert_eq!(none.resolved.service_ip, NO_DEDICATED_IP);
    assert_eq!(none.resolved.priority, None);
    assert_eq!(
        serde_json::to_value(&none.resolved).unwrap()["priority"],
        serde_json::Value::Null
    );
}

#[test]
fn comparison_covers_the_eighth_parameter() {
    let expected = accept("action=create&service_id=1&category=Spam&priority=4").resolved;
    let mut got = expected.clone();
    got.priority = Some(5);
    let diffs = compare(&expected.record(), &got.record());
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].field.name, "priority");
    assert_eq!(diffs[0].rule, amp_contract::rules::Rule::DOptionals);
    assert!(diffs[0].documented);
    assert_eq!(diffs[0].to_string(), "priority 5, expected 4");

    // An observer that drops the parameter.
    let mut json = serde_json::to_value(&expected).unwrap();
    json.as_object_mut().unwrap().remove("priority");
    let read_back = StoredRecord::from_json(CreateWithPriority::FIELDS, &json).unwrap();
    let diffs = compare(&expected.record(), &read_back);
    assert_eq!(diffs[0].to_string(), "priority absent, expected 4");
}

#[test]
fn resolving_without_the_envelope() {
    let report = parse("service_id=2&category=Spam").unwrap();
    let stored = report.resolve(&mut ServiceLookup::new(&services));
    // The lookup was never asked about the service, so nothing resolves the address.
    assert_eq!(stored.service_ip, NO_DEDICATED_IP);
    let mut lookup = ServiceLookup::new(&services);
    let form = FormPairs::from_urlencoded(b"service_id=2&category=Spam");
    let report = CreateWithPriority::from_form_with(&form, &mut lookup).unwrap();
    assert_eq!(report.resolve(&mut lookup).service_ip, "192.0.2.7");
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x0008),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Valid values of the eighth parameter span its type's range, and each parses back.
    #[test]
    fn strategies_know_the_eighth_parameter(request in CreateWithPriority::valid_requests(&GenConfig::new())) {
        let value = CreateWithPriority::from_form(&request.form).unwrap();
        prop_assert_eq!(&value, &request.value);
        if let Some(priority) = value.priority {
            prop_assert!(priority >= 1);
        }
    }

    #[test]
    fn invalid_requests_name_the_eighth_parameter_in_order(
        request in CreateWithPriority::invalid_requests(&GenConfig::new())
    ) {
        if request.expected.code == ErrorCode::MissingParameters {
            let violations = CreateWithPriority::from_form(&request.form).unwrap_err();
            prop_assert_eq!(violations.params(), request.expected.params.clone(), "{}", request.summary);
        }
    }
}
