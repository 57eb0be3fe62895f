//! A second, independent action (`close_ticket`) proving that `#[derive(AmpAction)]` and
//! `#[derive(AmpEnum)]` are general: other field names, kinds, limits, defaults, a renamed wire
//! name, renamed enum variants, a `lookup` field, admin visibility, and the proptest strategies
//! derived from it. Nothing here is specific to `create`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use amp_contract::field::{AmpValue, FieldMeta, Kind, Limits, Presence, Visibility};
use amp_contract::form::{FormPairs, Occurrence};
use amp_contract::strategy::{ActionStrategies, GenConfig};
use amp_contract::{Action, AmpAction, AmpEnum, ErrorCode, Problem};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// How a ticket was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AmpEnum)]
enum Resolution {
    /// Fixed.
    Fixed,
    /// Will not be fixed.
    #[amp(rename = "wont-fix")]
    WontFix,
    /// A duplicate of another ticket.
    #[amp(rename = "dup")]
    Duplicate,
}

/// `action=close_ticket`: closes a support ticket.
#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close_ticket")]
struct CloseTicket {
    /// The ticket to close.
    #[amp(integer, required, min = 100, max = 999999, lookup, rule = "X-TICKET")]
    ticket_id: u64,
    /// One line for the customer.
    #[amp(text, required, trim, max_chars = 20, rule = "X-SUMMARY")]
    summary: String,
    /// How it was resolved.
    #[amp(
        enumeration,
        name = "resolution",
        default = "wont-fix",
        rule = "X-RESOLUTION"
    )]
    outcome: Resolution,
    /// Priority, 1 (highest) to 5.
    #[amp(integer, default = "3", min = 1, max = 5, rule = "X-PRIORITY")]
    priority: u16,
    /// Whether to e-mail the customer.
    #[amp(boolean, default = "1", rule = "X-NOTIFY", rule = "R-BOOL")]
    notify: bool,
    /// Where the closing request came from.
    #[amp(ip, optional, trim, rule = "X-ORIGIN")]
    origin: Option<IpAddr>,
    /// A note for staff, kept exactly as sent.
    #[amp(text, optional, max_bytes = 16, visibility = "admin", rule = "X-NOTE")]
    note: Option<String>,
}

const TABLE: [&str; 7] = [
    "ticket_id",
    "summary",
    "resolution",
    "priority",
    "notify",
    "origin",
    "note",
];

fn parse(body: &str) -> Result<CloseTicket, amp_contract::Violations> {
    CloseTicket::from_form(&FormPairs::from_urlencoded(body.as_bytes()))
}

fn problems(body: &str) -> Vec<(&'static str, Problem)> {
    parse(body)
        .unwrap_err()
        .iter()
        .map(|v| (v.field.name, v.problem.clone()))
        .collect()
}

fn minimal() -> CloseTicket {
    CloseTicket {
        ticket_id: 100,
        summary: "Done".to_owned(),
        outcome: Resolution::WontFix,
        priority: 3,
        notify: true,
        origin: None,
        note: None,
    }
}

#[test]
fn parses_with_defaults() {
    let ticket = parse("action=close_ticket&ticket_id=100&summary=+Done%09").unwrap();
    assert_eq!(ticket, minimal());
}

#[test]
fn parses_every_field() {
    let ticket = parse(
        "ticket_id=999999&summary=%C3%A9t%C3%A9&resolution=dup&priority=1&notify=OFF\
         &origin=+2001:DB8::1+&note=+keep+me+",
    )
    .unwrap();
    assert_eq!(
        ticket,
        CloseTicket {
            ticket_id: 999_999,
            summary: "été".to_owned(),
            outcome: Resolution::Duplicate,
            priority: 1,
            notify: false,
            origin: Some("2001:db8::1".parse().unwrap()),
            note: Some(" keep me ".to_owned()),
        }
    );
}

#[test]
fn blank_optionals_take_their_defaults() {
    let ticket =
        parse("ticket_id=100&summary=Done&resolution=&priority=+&notify=%09&origin=&note=++")
            .unwrap();
    assert_eq!(ticket, minimal());
}

#[test]
fn wire_name_is_the_renamed_one() {
    // The Rust field is `outcome`; the wire parameter is `resolution`.
    let ticket = parse("ticket_id=100&summary=Done&outcome=fixed&resolution=fixed").unwrap();
    assert_eq!(ticket.outcome, Resolution::Fixed);
    assert!(parse("ticket_id=100&summary=Done&outcome=bogus").is_ok());
}

#[test]
fn each_problem_is_its_own() {
    assert_eq!(
        problems("ticket_id=99&summary=Done"),
        [(
            "ticket_id",
            Problem::OutOfRange {
                min: 100,
                max: 999_999
            }
        )]
    );
    assert_eq!(
        problems("ticket_id=0100&summary=Done"),
        [("ticket_id", Problem::NotAnInteger)]
    );
    assert_eq!(
        problems("ticket_id=100&summary=abcdefghijklmnopqrstu"),
        [("summary", Problem::TooManyChars { max: 20 })]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&resolution=wontfix"),
        [(
            "resolution",
            Problem::NotAllowed {
                allowed: &["fixed", "wont-fix", "dup"]
            }
        )]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&priority=6"),
        [("priority", Problem::OutOfRange { min: 1, max: 5 })]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&notify=maybe"),
        [("notify", Problem::NotABoolean)]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&origin=1.2.3"),
        [("origin", Problem::NotAnIpAddress)]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&note=12345678901234567"),
        [("note", Problem::TooManyBytes { max: 16 })]
    );
    assert_eq!(
        problems("ticket_id=100&summary=Done&note[]=x"),
        [("note", Problem::ArraySyntax)]
    );
    assert_eq!(
        problems("ticket_id=100&summary=%FF"),
        [("summary", Problem::InvalidUtf8)]
    );
}

#[test]
fn summary_limit_counts_characters_after_trimming() {
    let twenty = "😀".repeat(20);
    let mut body = String::from("ticket_id=100&summary=++");
    amp_contract::form::php_urlencode_into(twenty.as_bytes(), &mut body);
    body.push_str("++");
    assert_eq!(parse(&body).unwrap().summary, twenty);
}

#[test]
fn errors_in_table_order() {
    let body = "note=%00&origin=x&notify=2&priority=0&resolution=Fixed&summary=&ticket_id=1";
    let violations = parse(body).unwrap_err();
    assert_eq!(violations.params(), TABLE);
    let error = violations.into_error();
    assert_eq!(error.code, ErrorCode::MissingParameters);
    assert_eq!(error.params, TABLE);
    let positions: Vec<usize> = TABLE
        .iter()
        .map(|name| error.description.find(&format!("{name} (")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn lookup_asks_the_caller_with_the_canonical_value() {
    let mut asked = Vec::new();
    let mut known = |meta: &FieldMeta, wire: &str| {
        asked.push((meta.name, wire.to_owned()));
        wire == "100"
    };
    let form = FormPairs::from_urlencoded(b"ticket_id=100&summary=Done");
    assert!(CloseTicket::from_form_with(&form, &mut known).is_ok());
    let form = FormPairs::from_urlencoded(b"ticket_id=101&summary=");
    let violations = CloseTicket::from_form_with(&form, &mut known).unwrap_err();
    let found: Vec<_> = violations
        .iter()
        .map(|v| (v.field.name, v.problem.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("ticket_id", Problem::NotFound),
            ("summary", Problem::Missing)
        ]
    );
    assert_eq!(
        asked,
        [
            ("ticket_id", "100".to_owned()),
            ("ticket_id", "101".to_owned())
        ]
    );
}

#[test]
fn to_form_as_http_build_query() {
    assert_eq!(
        minimal().to_body(),
        "action=close_ticket&ticket_id=100&summary=Done&resolution=wont-fix&priority=3&notify=1"
    );
    let full = CloseTicket {
        ticket_id: 4242,
        summary: "A & B = C/D".to_owned(),
        outcome: Resolution::Duplicate,
        priority: 5,
        notify: false,
        origin: Some("::ffff:192.0.2.1".parse().unwrap()),
        note: Some("  über ".to_owned()),
    };
    assert_eq!(
        full.to_body(),
        "action=close_ticket&ticket_id=4242&summary=A+%26+B+%3D+C%2FD&resolution=dup\
         &priority=5&notify=0&origin=%3A%3Affff%3A192.0.2.1&note=++%C3%BCber+"
    );
    for value in [minimal(), full] {
        let form = value.to_form();
        assert_eq!(
            form.last("action"),
            Occurrence::Value(b"close_ticket".as_slice())
        );
        assert_eq!(CloseTicket::from_form(&form).unwrap(), value);
        let body = value.to_body();
        assert_eq!(
            CloseTicket::from_form(&FormPairs::from_urlencoded(body.as_bytes())).unwrap(),
            value
        );
    }
}

#[test]
fn metadata_describes_the_table() {
    assert_eq!(CloseTicket::NAME, "close_ticket");
    let names: Vec<&str> = CloseTicket::FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(names, TABLE);
    for (i, field) in CloseTicket::FIELDS.iter().enumerate() {
        assert_eq!(field.index, i);
        assert_eq!(CloseTicket::field(field.name), Some(field));
    }
    let ticket = CloseTicket::field("ticket_id").unwrap();
    assert_eq!(ticket.kind, Kind::Integer);
    assert_eq!(ticket.presence, Presence::Required);
    assert!(ticket.required() && ticket.lookup && !ticket.trim);
    assert_eq!(
        ticket.limits,
        Limits {
            min: Some(100),
            max: Some(999_999),
            ..Limits::default()
        }
    );
    assert_eq!(ticket.doc, "The ticket to close.");
    assert_eq!(ticket.rule, "X-TICKET");

    let summary = CloseTicket::field("summary").unwrap();
    assert_eq!(summary.kind, Kind::Text);
    assert!(summary.trim && !summary.lookup);
    assert_eq!(summary.limits.max_chars, Some(20));
    assert_eq!(summary.visibility, Visibility::Customer);

    let resolution = CloseTicket::field("resolution").unwrap();
    assert_eq!(resolution.kind, Kind::Enumeration);
    assert_eq!(resolution.allowed, ["fixed", "wont-fix", "dup"]);
    assert_eq!(resolution.presence, Presence::Default("wont-fix"));
    assert_eq!(resolution.allowed, Resolution::ALLOWED);

    let priority = CloseTicket::field("priority").unwrap();
    assert_eq!(priority.presence, Presence::Default("3"));
    assert_eq!(
        (priority.limits.min, priority.limits.max),
        (Some(1), Some(5))
    );

    let notify = CloseTicket::field("notify").unwrap();
    assert_eq!(notify.kind, Kind::Boolean);
    assert_eq!(notify.rules, ["X-NOTIFY", "R-BOOL"]);
    assert!(notify.allowed.is_empty());

    let origin = CloseTicket::field("origin").unwrap();
    assert_eq!(
        (origin.kind, origin.presence),
        (Kind::Ip, Presence::Optional)
    );
    assert!(origin.trim);

    let note = CloseTicket::field("note").unwrap();
    assert_eq!(note.visibility, Visibility::Admin);
    assert_eq!(note.limits.max_bytes, Some(16));
    assert_eq!(note.doc, "A note for staff, kept exactly as sent.");
    assert!(CloseTicket::field("outcome").is_none());
}

#[test]
fn enum_spellings_come_from_the_enum() {
    assert_eq!(Resolution::WontFix.to_string(), "wont-fix");
    assert_eq!("dup".parse::<Resolution>().unwrap(), Resolution::Duplicate);
    let err = "Duplicate".parse::<Resolution>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "`Duplicate` is not one of: fixed, wont-fix, dup"
    );
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x000C_105E),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn valid_requests_parse_to_their_value(request in CloseTicket::valid_requests(&GenConfig::new())) {
        prop_assert_eq!(CloseTicket::from_form(&request.form).unwrap(), request.value.clone());
        let body = request.form.to_urlencoded();
        let reparsed = CloseTicket::from_form(&FormPairs::from_urlencoded(body.as_bytes()));
        prop_assert_eq!(reparsed.unwrap(), request.value);
    }

    #[test]
    fn valid_values_round_trip(value in CloseTicket::valid(&GenConfig::new())) {
        prop_assert_eq!(CloseTicket::from_form(&value.to_form()).unwrap(), value.clone());
        let body = value.to_body();
        prop_assert_eq!(
            CloseTicket::from_form(&FormPairs::from_urlencoded(body.as_bytes())).unwrap(),
            value
        );
    }

    #[test]
    fn invalid_requests_get_exactly_their_expected_error(
        request in CloseTicket::invalid_requests(&GenConfig::new().with_missing("ticket_id", ["777"]))
    ) {
        let known = |_: &FieldMeta, wire: &str| wire != "777";
        let dispatched = request.form.last("action") == Occurrence::Value(b"close_ticket".as_slice());
        match request.expected.code {
            ErrorCode::InvalidAction => {
                prop_assert!(!dispatched, "{}", request.summary);
                prop_assert_eq!(&request.expected.params, &["action"]);
            }
            ErrorCode::MissingParameters => {
                prop_assert!(dispatched, "{}", request.summary);
                let mut lookup = known;
                let violations = CloseTicket::from_form_with(&request.form, &mut lookup).unwrap_err();
                prop_assert_eq!(violations.params(), request.expected.params.clone(), "{}", request.summary);
                // Never byte-identical to a valid request.
                let body = request.form.to_urlencoded();
                let reparsed = FormPairs::from_urlencoded(body.as_bytes());
                let mut lookup = known;
                let rejected = CloseTicket::from_form_with(&reparsed, &mut lookup).is_err();
                prop_assert!(rejected, "{}", request.summary);
            }
            other => prop_assert!(false, "unexpected code {other}"),
        }
    }
}

// ---------------------------------------------------------------- one envelope, two actions

mod dispatch {
    use super::*;
    use amp_contract::create::DedicatedIp;
    use amp_contract::envelope::{
        self, Accepted, ApiIds, Body, LookupState, OneOf, Rejection, Request,
    };
    use amp_contract::stored::StoredValue;
    use amp_contract::{Lookup, NO_DEDICATED_IP, Rule};
    use http::{HeaderMap, Method, header::CONTENT_TYPE};

    /// A server with service 1 (no dedicated IP) and tickets 100..=200.
    struct Backend;

    struct BackendLookup {
        service: Option<DedicatedIp>,
    }

    impl Lookup for BackendLookup {
        fn exists(&mut self, field: &FieldMeta, wire: &str) -> bool {
            if field == &CloseTicket::FIELDS[0] {
                wire.parse::<u64>().is_ok_and(|t| (100..=200).contains(&t))
            } else {
                self.service = (wire == "1").then_some(DedicatedIp::None);
                self.service.is_some()
            }
        }

        fn resolve(&mut self, _field: &FieldMeta) -> String {
            NO_DEDICATED_IP.to_owned()
        }
    }

    impl LookupState for Backend {
        fn lookup(&self) -> impl Lookup + '_ {
            BackendLookup { service: None }
        }
    }

    type Endpoint = OneOf<Accepted, Accepted<CloseTicket>>;

    fn call(body: &str) -> Result<Endpoint, Rejection> {
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
        envelope::dispatch(&request, &ApiIds::from_list("k"), &Backend)
    }

    #[test]
    fn create_and_close_ticket_through_one_envelope() {
        let Ok(OneOf::First(created)) = call("action=create&service_id=1&category=Spam") else {
            panic!("create was not dispatched to create");
        };
        assert_eq!(created.action.category, "Spam");
        assert_eq!(created.resolved.service_ip, NO_DEDICATED_IP);

        let Ok(OneOf::Second(closed)) = call("action=close_ticket&ticket_id=150&summary=Done")
        else {
            panic!("close_ticket was not dispatched to close_ticket");
        };
        assert_eq!(closed.action.ticket_id, 150);
        let stored = &closed.resolved;
        assert_eq!(stored.get("ticket_id"), Some(&StoredValue::Integer(150)));
        assert_eq!(
            stored.get("resolution"),
            Some(&StoredValue::Enumeration("wont-fix".to_owned()))
        );
        assert_eq!(stored.get("notify"), Some(&StoredValue::Boolean(true)));
        assert_eq!(stored.get("origin"), None);
        assert_eq!(
            stored.to_json(),
            serde_json::json!({
                "ticket_id": 150, "summary": "Done", "resolution": "wont-fix", "priority": 3,
                "notify": true, "origin": null, "note": null,
            })
        );
    }

    #[test]
    fn each_action_keeps_its_own_rules_and_errors() {
        let rejection = call("action=close_ticket&ticket_id=300&summary=Done").unwrap_err();
        assert_eq!(rejection.error.code, ErrorCode::MissingParameters);
        assert_eq!(rejection.error.params, ["ticket_id"]);
        assert_eq!(rejection.rule, "X-TICKET");

        let rejection = call("action=create&service_id=2&category=Spam").unwrap_err();
        assert_eq!(rejection.error.params, ["service_id"]);
        assert_eq!(rejection.rule, Rule::RServiceId.id());
    }

    #[test]
    fn amp002_names_every_action_of_the_set() {
        for body in ["action=delete", "action=Close_ticket", "service_id=1"] {
            let rejection = call(body).unwrap_err();
            assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{body}");
            assert_eq!(rejection.rule, Rule::DAction.id());
            assert!(
                rejection
                    .error
                    .description
                    .ends_with("action must be one of: create, close_ticket."),
                "{}",
                rejection.error.description
            );
        }
    }

    #[test]
    fn an_action_alone_is_a_set_too() {
        let mut headers = HeaderMap::new();
        headers.insert("api_id", "k".parse().unwrap());
        headers.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let request = Request {
            method: &Method::POST,
            headers: &headers,
            body: Body::Complete(b"action=close_ticket&ticket_id=100&summary=Done"),
        };
        let closed: Accepted<CloseTicket> =
            envelope::dispatch(&request, &ApiIds::from_list("k"), &Backend).unwrap();
        assert_eq!(closed.action, minimal());
    }
}
