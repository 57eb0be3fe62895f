//! The stored record of `create`, generated from the action (`#[amp(stored = "ResolvedCreate")]`),
//! and its comparison (D-DEFAULTS' equality against the reference's exact forms): the JSON
//! shape observers and the PHP test servers rely on, and every kind of difference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amp_contract::create::{DedicatedIp, ServiceLookup};
use amp_contract::stored::{Record, StoredRecord, StoredValue, compare};
use amp_contract::{
    Action, CreateAbuseReport, NO_DEDICATED_IP, ReportRecord, ResolvedCreate, SuspendMethod,
};

fn services(id: u32) -> Option<DedicatedIp> {
    match id {
        1 => Some(DedicatedIp::None),
        2 => Some(DedicatedIp::Address("2001:db8::1".parse().unwrap())),
        _ => None,
    }
}

fn resolved(report: &CreateAbuseReport) -> ResolvedCreate {
    let mut lookup = ServiceLookup::new(&services);
    // The lookup learns the service while parsing, as the envelope asks it.
    CreateAbuseReport::from_form_with(&report.to_form(), &mut lookup).unwrap();
    report.resolve(&mut lookup)
}

fn full() -> CreateAbuseReport {
    let mut report = CreateAbuseReport::new(2, "Spam");
    report.service_ip = "::ffff:192.0.2.1".parse().ok();
    report.suspend_method = SuspendMethod::Timelimit;
    report.allow_unsuspend = true;
    report.additional_info = " for the customer ".to_owned();
    report.admin_notes = "admins only".to_owned();
    report
}

#[test]
fn json_shape_is_the_observers() {
    let record = ReportRecord {
        report_id: 7,
        values: resolved(&CreateAbuseReport::new(1, "Spam")),
    };
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(
        json,
        r#"{"report_id":7,"service_id":1,"category":"Spam","service_ip":"(No Dedicated IP)","suspend_method":"nosuspend","allow_unsuspend":false,"additional_info":"","admin_notes":""}"#
    );
    assert_eq!(serde_json::from_str::<ReportRecord>(&json).unwrap(), record);
    // The generic record serialises to the same object.
    assert_eq!(
        record.values.record().to_json(),
        serde_json::to_value(&record.values).unwrap()
    );
}

#[test]
fn resolved_defaults_come_from_the_service() {
    let stored = resolved(&CreateAbuseReport::new(2, "Spam"));
    assert_eq!(stored.service_ip, "2001:db8::1");
    assert_eq!(
        resolved(&CreateAbuseReport::new(1, "Spam")).service_ip,
        NO_DEDICATED_IP
    );
    let stored = resolved(&full());
    assert_eq!(stored.service_ip, "::ffff:192.0.2.1");
    assert_eq!(stored.suspend_method, SuspendMethod::Timelimit);
    assert_eq!(stored.additional_info, " for the customer ");
}

#[test]
fn deserialising_is_as_strict_as_the_types() {
    let ok = r#"{"service_id":1,"category":"Spam","service_ip":"x","suspend_method":"immediate","allow_unsuspend":true,"additional_info":"","admin_notes":""}"#;
    let values: ResolvedCreate = serde_json::from_str(ok).unwrap();
    assert_eq!(values.suspend_method, SuspendMethod::Immediate);
    for bad in [
        ok.replace(r#""service_id":1"#, r#""service_id":"1""#),
        ok.replace(r#""service_id":1"#, r#""service_id":4294967296"#),
        ok.replace("immediate", "suspend"),
        ok.replace("true", "1"),
        ok.replace(r#""category":"Spam","#, ""),
    ] {
        assert!(
            serde_json::from_str::<ResolvedCreate>(&bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn identical_records_have_no_difference() {
    let expected = resolved(&full()).record();
    assert!(compare(&expected, &expected).is_empty());
    assert_eq!(expected.fields(), CreateAbuseReport::FIELDS);
}

#[test]
fn differences_in_table_order_with_their_rules_and_layers() {
    let expected = resolved(&full());
    let mut got = expected.clone();
    got.service_id = 3;
    got.category = "Spam\n".to_owned();
    got.service_ip = "::FFFF:192.0.2.1".to_owned();
    got.suspend_method = SuspendMethod::NoSuspend;
    got.allow_unsuspend = false;
    got.additional_info = "for the customer".to_owned();
    got.admin_notes = "someone else's".to_owned();
    let diffs = compare(&expected.record(), &got.record());
    let seen: Vec<(&str, bool, &str, String)> = diffs
        .iter()
        .map(|d| (d.field.name, d.documented, d.rule.id(), d.to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "service_id",
                true,
                "R-SERVICE-ID",
                "service_id 3, expected 2".to_owned()
            ),
            (
                "category",
                false,
                "R-CATEGORY",
                r#"category "Spam\n", expected "Spam""#.to_owned()
            ),
            (
                "service_ip",
                false,
                "R-SERVICE-IP",
                r#"service_ip "::FFFF:192.0.2.1", expected "::ffff:192.0.2.1""#.to_owned()
            ),
            (
                "suspend_method",
                true,
                "R-SUSPEND",
                "suspend_method nosuspend, expected timelimit".to_owned()
            ),
            (
                "allow_unsuspend",
                true,
                "R-BOOL",
                "allow_unsuspend false, expected true".to_owned()
            ),
            (
                "additional_info",
                false,
                "R-TEXT",
                r#"additional_info "for the customer", expected " for the customer ""#.to_owned()
            ),
            (
                "admin_notes",
                true,
                "R-TEXT",
                r#"admin_notes "someone else's", expected "admins only""#.to_owned()
            ),
        ]
    );
}

#[test]
fn literal_and_address_are_different_meanings() {
    let expected = resolved(&CreateAbuseReport::new(1, "Spam"));
    let mut got = expected.clone();
    got.service_ip = "0.0.0.0".to_owned();
    let diffs = compare(&expected.record(), &got.record());
    assert_eq!(diffs.len(), 1);
    assert!(diffs[0].documented);
    got.service_ip = format!(" {NO_DEDICATED_IP}");
    assert!(compare(&expected.record(), &got.record())[0].documented);
}

#[test]
fn an_observers_json_compares_like_the_typed_record() {
    let expected = resolved(&full()).record();
    let json = serde_json::json!({
        "report_id": 9,
        "service_id": 2,
        "category": " Spam",
        "service_ip": "::ffff:192.0.2.1",
        "suspend_method": "timelimit",
        "allow_unsuspend": true,
        "additional_info": " for the customer ",
    });
    let got = StoredRecord::from_json(CreateAbuseReport::FIELDS, &json).unwrap();
    assert_eq!(got.get("admin_notes"), None);
    let diffs = compare(&expected, &got);
    let names: Vec<(&str, bool)> = diffs.iter().map(|d| (d.field.name, d.documented)).collect();
    assert_eq!(names, [("category", false), ("admin_notes", true)]);
    assert_eq!(
        diffs[1].to_string(),
        r#"admin_notes absent, expected "admins only""#
    );
    let wrong_type = serde_json::json!({ "allow_unsuspend": "yes" });
    let err = StoredRecord::from_json(CreateAbuseReport::FIELDS, &wrong_type).unwrap_err();
    assert!(err.contains("allow_unsuspend"), "{err}");
}

#[test]
fn generic_record_values_are_typed_by_kind() {
    let record = resolved(&full()).record();
    assert_eq!(record.get("service_id"), Some(&StoredValue::Integer(2)));
    assert_eq!(
        record.get("allow_unsuspend"),
        Some(&StoredValue::Boolean(true))
    );
    assert_eq!(
        record.get("suspend_method"),
        Some(&StoredValue::Enumeration("timelimit".to_owned()))
    );
    assert_eq!(
        record.get("service_ip"),
        Some(&StoredValue::Ip("::ffff:192.0.2.1".to_owned()))
    );
    assert_eq!(
        record.get("category"),
        Some(&StoredValue::Text("Spam".to_owned()))
    );
}
