//! One test (or a few) per rule id of CONTRACT.md §2 and §3 that concerns reading a request,
//! plus the page's own contradictions of §1. Test names start with the rule id they check.
//!
//! Requests go through [`amp_contract::envelope::handle`] exactly as a server would call it;
//! the parameter rules are also checked through [`Action::from_form`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use amp_contract::envelope::{
    self, Accepted, ApiIds, BODY_LIMIT, Body, DedicatedIp, Rejection, Request,
};
use amp_contract::form::FormPairs;
use amp_contract::{
    Action, ApiResponse, CreateAbuseReport, ErrorCode, NO_DEDICATED_IP, SuspendMethod,
};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};

const KEY: &str = "k3y-0001";
const URLENCODED: &str = "application/x-www-form-urlencoded";

/// The service registry of these tests: 1 has no dedicated IP, 2 has one, 2147483647 exists.
fn services(id: u32) -> Option<DedicatedIp> {
    match id {
        1 | 7 | 2_147_483_647 => Some(DedicatedIp::None),
        2 => Some(DedicatedIp::Address("203.0.113.10".parse().unwrap())),
        _ => None,
    }
}

/// A request under construction: authenticated, POST, urlencoded unless changed.
struct Req {
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

fn post(body: impl AsRef<[u8]>) -> Req {
    let mut headers = HeaderMap::new();
    headers.insert("api_id", HeaderValue::from_static(KEY));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(URLENCODED));
    Req {
        method: Method::POST,
        headers,
        body: Some(body.as_ref().to_vec()),
    }
}

impl Req {
    fn unauthenticated(mut self) -> Self {
        self.headers.remove("api_id");
        self
    }

    fn header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
        self
    }

    fn content_type(mut self, value: Option<&str>) -> Self {
        self.headers.remove(CONTENT_TYPE);
        if let Some(value) = value {
            self.headers
                .insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        self
    }

    fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    fn too_large(mut self) -> Self {
        self.body = None;
        self
    }

    fn send(&self) -> Result<Accepted, Rejection> {
        let body = match &self.body {
            Some(body) => Body::Complete(body),
            None => Body::TooLarge,
        };
        let request = Request {
            method: &self.method,
            headers: &self.headers,
            body,
        };
        envelope::handle(&request, &ApiIds::from_list(KEY), &services)
    }

    fn ok(&self) -> Accepted {
        match self.send() {
            Ok(accepted) => accepted,
            Err(rejection) => panic!("expected success, got {rejection:?}"),
        }
    }

    fn err(&self) -> Rejection {
        match self.send() {
            Ok(accepted) => panic!("expected an error, got {accepted:?}"),
            Err(rejection) => rejection,
        }
    }

    fn code(&self) -> ErrorCode {
        self.err().error.code
    }

    /// Asserts AMP003 naming exactly `params`, in that order.
    fn amp003(&self, params: &[&str]) -> Rejection {
        let rejection = self.err();
        assert_eq!(
            rejection.error.code,
            ErrorCode::MissingParameters,
            "{rejection:?}"
        );
        assert_eq!(rejection.error.params, params, "{rejection:?}");
        assert_eq!(rejection.status, StatusCode::OK);
        rejection
    }
}

/// A valid minimal create with `extra` appended (already encoded).
fn create(extra: &str) -> Req {
    post(format!("action=create&service_id=1&category=Spam{extra}"))
}

fn enc(value: &str) -> String {
    let mut out = String::new();
    amp_contract::form::php_urlencode_into(value.as_bytes(), &mut out);
    out
}

fn parse(body: &[u8]) -> Result<CreateAbuseReport, Vec<&'static str>> {
    CreateAbuseReport::from_form(&FormPairs::from_urlencoded(body)).map_err(|v| v.params())
}

// ---------------------------------------------------------------- §1: the page's contradictions

#[test]
fn page_contradiction_1_r_suspend_rejects_page_example_value() {
    // The page's PHP example, as http_build_query sends it.
    let body = "action=create&service_id=1&category=Spam&service_ip=192.0.2.1\
                &suspend_method=suspend&allow_unsuspend=1\
                &additional_info=Please+stop&admin_notes=Checked";
    let rejection = post(body).amp003(&["suspend_method"]);
    assert_eq!(rejection.rule, "R-SUSPEND");
    assert!(rejection.error.description.contains("suspend_method"));
    assert!(
        rejection
            .error
            .description
            .contains("nosuspend, immediate, timelimit")
    );
    assert_eq!(parse(body.as_bytes()).unwrap_err(), ["suspend_method"]);
}

#[test]
fn page_contradiction_2_amp009_parses_as_other_and_round_trips() {
    let code: ErrorCode = "AMP009".parse().unwrap();
    assert_eq!(code, ErrorCode::Other(9));
    assert_eq!(code.to_string(), "AMP009");
    let json = r#"{"status":"error","error_code":"AMP009","error_description":"Missing required parameters."}"#;
    let response: ApiResponse = serde_json::from_str(json).unwrap();
    assert_eq!(
        response,
        ApiResponse::Error {
            error_code: ErrorCode::Other(9),
            error_description: "Missing required parameters.".to_owned()
        }
    );
    assert_eq!(serde_json::to_string(&response).unwrap(), json);
    // The table's code for the same situation.
    // The contract answers with the table's code for the same situation (D-REQUIRED).
    assert_eq!(
        post("action=create&category=Spam").code(),
        ErrorCode::MissingParameters
    );
    assert_eq!(ErrorCode::MissingParameters.to_string(), "AMP003");
    assert_eq!(ErrorCode::Other(9).number(), 9);
    for bad in ["AMP9", "AMP0009", "amp003", "AMP00a", "XYZ003", ""] {
        assert!(bad.parse::<ErrorCode>().is_err(), "{bad}");
    }
}

#[test]
fn page_contradiction_3_r_action_capitalised_create_is_amp002() {
    let rejection = post("action=Create&service_id=1&category=Spam").err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
    assert_eq!(rejection.error.params, ["action"]);
    assert_eq!(rejection.rule, "D-ACTION");
}

// ---------------------------------------------------------------- §2: documented rules

#[test]
fn d_auth_missing_header_is_amp001_whatever_the_body() {
    for body in [
        "action=create&service_id=1&category=Spam",
        "",
        "action=delete",
        "action=create",
    ] {
        let rejection = post(body).unauthenticated().err();
        assert_eq!(rejection.error.code, ErrorCode::Unauthorized, "{body}");
        assert_eq!(rejection.rule, "D-AUTH");
        assert_eq!(rejection.status, StatusCode::OK);
        assert!(rejection.error.params.is_empty());
    }
}

#[test]
fn d_auth_empty_header_is_amp001() {
    let req = create("").unauthenticated().header("api_id", b"");
    assert_eq!(req.code(), ErrorCode::Unauthorized);
}

#[test]
fn d_auth_invalid_identifier_is_amp001() {
    for presented in [
        &b"k3y-0002"[..],
        b"k3y-000",
        b"k3y-00011",
        b"K3Y-0001",
        b" k3y-0001",
        b"x",
    ] {
        let req = create("").unauthenticated().header("api_id", presented);
        assert_eq!(req.code(), ErrorCode::Unauthorized, "{presented:?}");
    }
}

#[test]
fn d_auth_header_name_case_insensitive() {
    for name in ["API_ID", "api_id", "Api_Id", "aPI_iD"] {
        let req = create("").unauthenticated().header(name, KEY.as_bytes());
        assert!(req.send().is_ok(), "{name}");
    }
}

#[test]
fn d_auth_configured_without_identifiers_authenticates_nothing() {
    let headers = post("").headers;
    let request = Request {
        method: &Method::POST,
        headers: &headers,
        body: Body::Complete(b"action=create&service_id=1&category=Spam"),
    };
    let rejection = envelope::handle(&request, &ApiIds::from_list(" , "), &services).unwrap_err();
    assert_eq!(rejection.error.code, ErrorCode::Unauthorized);
}

#[test]
fn d_action_missing_is_amp002() {
    let rejection = post("service_id=1&category=Spam").err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
    assert_eq!(rejection.error.params, ["action"]);
    assert!(rejection.error.description.starts_with("Missing action"));
}

#[test]
fn d_action_unknown_is_amp002() {
    for action in ["delete", "list", "creat", "create2", "%00create"] {
        let rejection = post(format!("action={action}&service_id=1&category=Spam")).err();
        assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{action}");
        assert!(rejection.error.description.starts_with("Invalid action"));
        assert!(rejection.error.description.contains("create"));
    }
}

#[test]
fn d_required_missing_service_id_is_amp003() {
    post("action=create&category=Spam").amp003(&["service_id"]);
}

#[test]
fn d_required_missing_category_is_amp003() {
    let rejection = post("action=create&service_id=1").amp003(&["category"]);
    assert_eq!(rejection.rule, "D-REQUIRED");
}

#[test]
fn d_required_missing_both_names_both() {
    let rejection = post("action=create").amp003(&["service_id", "category"]);
    let description = &rejection.error.description;
    assert!(
        description.contains("service_id (missing)"),
        "{description}"
    );
    assert!(description.contains("category (missing)"), "{description}");
}

#[test]
fn d_success_minimal_request_with_defaults() {
    let accepted = create("").ok();
    assert_eq!(accepted.action, CreateAbuseReport::new(1, "Spam"));
}

#[test]
fn d_error_shape_every_error_is_status_code_description() {
    let rejections = [
        create("").unauthenticated().err(),
        post("action=nope").err(),
        post("action=create").err(),
        post("action=create&service_id=0&category=%00").err(),
        create("").too_large().err(),
    ];
    for rejection in rejections {
        let json: serde_json::Value =
            serde_json::from_str(&rejection.response().to_json()).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 3, "{json}");
        assert_eq!(json["status"], "error");
        let code = json["error_code"].as_str().unwrap();
        assert!(
            code.len() == 6
                && code.starts_with("AMP")
                && code[3..].bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
        assert!(!json["error_description"].as_str().unwrap().is_empty());
    }
}

#[test]
fn d_optionals_suspend_method_documented_values() {
    for (wire, value) in [
        ("nosuspend", SuspendMethod::NoSuspend),
        ("immediate", SuspendMethod::Immediate),
        ("timelimit", SuspendMethod::Timelimit),
    ] {
        let accepted = create(&format!("&suspend_method={wire}")).ok();
        assert_eq!(accepted.action.suspend_method, value);
        assert_eq!(accepted.resolved.suspend_method, value);
    }
}

#[test]
fn d_optionals_allow_unsuspend_as_php_and_as_words() {
    for (wire, value) in [("1", true), ("0", false), ("true", true), ("false", false)] {
        let accepted = create(&format!("&allow_unsuspend={wire}")).ok();
        assert_eq!(accepted.action.allow_unsuspend, value, "{wire}");
    }
}

#[test]
fn d_optionals_service_ip_v4_and_v6() {
    for ip in [
        "192.0.2.1",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8::1",
        "::1",
        "::",
    ] {
        let accepted = create(&format!("&service_ip={}", enc(ip))).ok();
        assert_eq!(
            accepted.action.service_ip,
            Some(ip.parse::<IpAddr>().unwrap())
        );
    }
}

#[test]
fn d_optionals_ordinary_free_text_in_every_text_field() {
    let samples = [
        "a/b & c=d + e% \"q\" 'q'",
        "Müller, São Paulo, Ωμέγα, 中文, 😀🎉",
        "tab\tand\nnewline",
        &"é".repeat(255),
        &"😀".repeat(255),
    ];
    for text in samples {
        let body = format!(
            "action=create&service_id=1&category={t}&additional_info={t}&admin_notes={t}",
            t = enc(text)
        );
        let accepted = post(body).ok();
        assert_eq!(accepted.action.category, text.trim());
        assert_eq!(accepted.action.additional_info, text);
        assert_eq!(accepted.action.admin_notes, text);
    }
}

#[test]
fn d_defaults_omitted_values() {
    let accepted = create("").ok();
    assert_eq!(accepted.resolved.suspend_method, SuspendMethod::NoSuspend);
    assert!(!accepted.resolved.allow_unsuspend);
    assert_eq!(accepted.resolved.service_ip, NO_DEDICATED_IP);
    assert_eq!(accepted.resolved.additional_info, "");
    assert_eq!(accepted.resolved.admin_notes, "");
}

#[test]
fn d_defaults_service_ip_is_the_dedicated_ip() {
    let accepted = post("action=create&service_id=2&category=Spam").ok();
    assert_eq!(accepted.action.service_ip, None);
    assert_eq!(accepted.resolved.service_ip, "203.0.113.10");
    // A sent address wins over the dedicated one.
    let accepted = post("action=create&service_id=2&category=Spam&service_ip=192.0.2.9").ok();
    assert_eq!(accepted.resolved.service_ip, "192.0.2.9");
}

#[test]
fn d_defaults_each_value_in_its_own_field() {
    let accepted = post(
        "action=create&service_id=7&category=+Phishing+&service_ip=2001:DB8::0:1\
         &suspend_method=timelimit&allow_unsuspend=yes&additional_info=for+you&admin_notes=for+us",
    )
    .ok();
    let r = accepted.resolved;
    assert_eq!(r.service_id, 7);
    assert_eq!(r.category, "Phishing");
    assert_eq!(r.service_ip, "2001:db8::1");
    assert_eq!(r.suspend_method, SuspendMethod::Timelimit);
    assert!(r.allow_unsuspend);
    assert_eq!(r.additional_info, "for you");
    assert_eq!(r.admin_notes, "for us");
    let meta = CreateAbuseReport::field("admin_notes").unwrap();
    assert_eq!(meta.visibility, amp_contract::field::Visibility::Admin);
    let meta = CreateAbuseReport::field("additional_info").unwrap();
    assert_eq!(meta.visibility, amp_contract::field::Visibility::Customer);
}

#[test]
fn d_no_5xx_malformed_bodies_get_an_amp_error_with_200() {
    let bodies: [&[u8]; 8] = [
        b"\xff\xfe\x00garbage",
        b"=&=&&==",
        b"%",
        b"action=create&service_id=%ff&category=%c3",
        b"action[]=create",
        b"action=create&service_id[a][b]=1&category[]=x",
        b"\x00\x00\x00",
        b"action=create&&&&service_id=1&category=Spam&=",
    ];
    for body in bodies {
        for ct in [
            URLENCODED,
            "multipart/form-data; boundary=x",
            "multipart/form-data",
        ] {
            match post(body).content_type(Some(ct)).send() {
                Ok(accepted) => assert_eq!(accepted.action.service_id, 1),
                Err(rejection) => {
                    assert!(!rejection.status.is_server_error());
                    assert_eq!(rejection.status, StatusCode::OK);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- §3: transport

#[test]
fn r_method_non_post_is_a_request_without_parameters() {
    for method in [
        Method::GET,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
    ] {
        let req = create("").method(method.clone());
        assert_eq!(req.code(), ErrorCode::InvalidAction, "{method}");
        assert!(req.err().error.description.starts_with("Missing action"));
        assert_eq!(
            req.unauthenticated().code(),
            ErrorCode::Unauthorized,
            "{method}"
        );
    }
}

#[test]
fn r_body_urlencoded_content_type_case_and_parameters() {
    for ct in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        " application/x-www-form-urlencoded ;charset=utf-8",
    ] {
        assert!(create("").content_type(Some(ct)).send().is_ok(), "{ct}");
    }
}

#[test]
fn r_body_other_content_types_count_as_no_parameters() {
    for ct in [
        Some("text/plain"),
        Some("application/json"),
        Some("application/octet-stream"),
        Some("application/x-www-form-urlencodedx"),
        None,
    ] {
        let rejection = create("").content_type(ct).err();
        assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{ct:?}");
        assert!(rejection.error.description.starts_with("Missing action"));
    }
}

#[test]
fn r_body_multipart_is_read() {
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
                --b0undary\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n\
                --b0undary\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nHigh I/O\r\n\
                --b0undary--\r\n";
    let accepted = post(body)
        .content_type(Some("multipart/form-data; boundary=b0undary"))
        .ok();
    assert_eq!(accepted.action.category, "High I/O");
}

#[test]
fn r_body_multipart_file_part_is_ignored() {
    for filename in ["\"\"", "\"report.txt\""] {
        let body = format!(
            "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
             --b\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n\
             --b\r\nContent-Disposition: form-data; name=\"category\"; filename={filename}\r\n\
             Content-Type: text/plain\r\n\r\nSpam\r\n--b--\r\n"
        );
        post(body)
            .content_type(Some("multipart/form-data; boundary=b"))
            .amp003(&["category"]);
    }
}

#[test]
fn r_body_multipart_without_boundary_is_no_parameters() {
    let rejection =
        post("--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n--b--\r\n")
            .content_type(Some("multipart/form-data"))
            .err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
}

#[test]
fn r_body_413_only_when_authenticated() {
    let rejection = create("").too_large().err();
    assert_eq!(rejection.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rejection.error.code, ErrorCode::MissingParameters);
    assert_eq!(rejection.rule, "R-BODY");
    assert!(
        rejection
            .error
            .description
            .contains(&BODY_LIMIT.to_string())
    );

    let rejection = create("").too_large().unauthenticated().err();
    assert_eq!(rejection.status, StatusCode::OK);
    assert_eq!(rejection.error.code, ErrorCode::Unauthorized);
}

#[test]
fn r_body_limit_is_one_mib() {
    assert_eq!(BODY_LIMIT, 1024 * 1024);
    // A body of exactly the limit is read (here: its notes are over R-TEXT's limit instead).
    let filler = BODY_LIMIT - "action=create&service_id=1&category=Spam&admin_notes=".len();
    let body = format!(
        "action=create&service_id=1&category=Spam&admin_notes={}",
        "a".repeat(filler)
    );
    assert_eq!(body.len(), BODY_LIMIT);
    post(body).amp003(&["admin_notes"]);
}

#[test]
fn r_duplicate_last_occurrence_wins() {
    let accepted = post(
        "action=create&service_id=99&category=Ham&service_id=1&category=Spam\
         &suspend_method=suspend&suspend_method=immediate",
    )
    .ok();
    assert_eq!(accepted.action.service_id, 1);
    assert_eq!(accepted.action.category, "Spam");
    assert_eq!(accepted.action.suspend_method, SuspendMethod::Immediate);
    // A valid value followed by an empty one: the empty one is what PHP sees.
    post("action=create&service_id=1&category=Spam&category=").amp003(&["category"]);
}

#[test]
fn r_duplicate_array_syntax_last_is_amp003() {
    for key in [
        "category[]",
        "category[a]",
        "category[0]",
        "category[a][b]",
        "category%5B%5D",
    ] {
        let rejection =
            post(format!("action=create&service_id=1&category=Spam&{key}=x")).amp003(&["category"]);
        assert_eq!(rejection.rule, "R-DUPLICATE", "{key}");
    }
    // Alone, too.
    post("action=create&service_id[]=1&category=Spam").amp003(&["service_id"]);
}

#[test]
fn r_duplicate_plain_after_array_wins() {
    assert!(
        post("action=create&service_id=1&category[]=x&category=Spam")
            .send()
            .is_ok()
    );
}

#[test]
fn r_duplicate_array_action_is_amp002() {
    for body in [
        "action[]=create&service_id=1&category=Spam",
        "action=create&action[x]=create&service_id=1&category=Spam",
    ] {
        let rejection = post(body).err();
        assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{body}");
        assert!(rejection.error.description.starts_with("Invalid action"));
    }
}

#[test]
fn r_duplicate_unknown_parameters_ignored() {
    let accepted = create("&foo=bar&token[]=x&Category=Ham&service_id_=5&=x").ok();
    assert_eq!(accepted.action, CreateAbuseReport::new(1, "Spam"));
}

#[test]
fn r_duplicate_keys_matched_exactly_no_php_mangling() {
    // PHP would turn `service.id` and `service id` into `service_id`; the contract does not.
    for key in [
        "service.id",
        "service+id",
        "service%20id",
        "SERVICE_ID",
        "service_id%00",
    ] {
        post(format!("action=create&{key}=1&category=Spam")).amp003(&["service_id"]);
    }
}

#[test]
fn r_utf8_invalid_value_is_amp003_naming_the_field() {
    for (field, extra) in [
        ("category", "&category=Sp%FFam"),
        ("service_ip", "&service_ip=%C3"),
        ("suspend_method", "&suspend_method=%ED%A0%80"),
        ("allow_unsuspend", "&allow_unsuspend=1%80"),
        ("additional_info", "&additional_info=%F8%88%80%80%80"),
        ("admin_notes", "&admin_notes=ok%C3%28"),
    ] {
        let rejection = create(extra).amp003(&[field]);
        assert_eq!(rejection.rule, "R-UTF8");
        assert!(rejection.error.description.contains("not valid UTF-8"));
    }
}

#[test]
fn r_utf8_invalid_action_is_amp002() {
    let rejection = post("action=create%FF&service_id=1&category=Spam").err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
}

#[test]
fn r_utf8_invalid_escapes_kept_literally() {
    let accepted = create("&additional_info=100%&admin_notes=%zz%4").ok();
    assert_eq!(accepted.action.additional_info, "100%");
    assert_eq!(accepted.action.admin_notes, "%zz%4");
    let accepted = post("action=create&service_id=1&category=50%+off%2").ok();
    assert_eq!(accepted.action.category, "50% off%2");
}

#[test]
fn r_utf8_plus_is_a_space_and_percent_2b_a_plus() {
    let accepted = post("action=create&service_id=1&category=C%2B%2B+spam").ok();
    assert_eq!(accepted.action.category, "C++ spam");
}

#[test]
fn r_status_every_amp_outcome_is_200_but_oversize() {
    let rejections = [
        create("").unauthenticated().err(),
        post("action=x").err(),
        post("action=create").err(),
        post("action=create&service_id=404&category=Spam").err(),
    ];
    for rejection in rejections {
        assert_eq!(rejection.status, StatusCode::OK, "{rejection:?}");
    }
    assert_eq!(
        create("").too_large().err().status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

// ---------------------------------------------------------------- §3: order of checks

#[test]
fn r_order_amp001_before_amp002() {
    let req = post("action=delete").unauthenticated();
    assert_eq!(req.code(), ErrorCode::Unauthorized);
    let req = post("").unauthenticated().header("api_id", b"wrong");
    assert_eq!(req.code(), ErrorCode::Unauthorized);
}

#[test]
fn r_order_amp001_before_amp003() {
    let req = post("action=create&service_id=abc").unauthenticated();
    assert_eq!(req.code(), ErrorCode::Unauthorized);
}

#[test]
fn r_order_amp002_before_amp003() {
    for body in [
        "service_id=abc",
        "action=Create&service_id=0&category=",
        "action[]=create",
    ] {
        assert_eq!(post(body).code(), ErrorCode::InvalidAction, "{body}");
    }
}

#[test]
fn r_order_oversize_is_amp003_before_the_action() {
    // The body cannot be read, so no action can be missing: AMP003 with 413.
    let rejection = post("").too_large().err();
    assert_eq!(rejection.error.code, ErrorCode::MissingParameters);
    assert_eq!(rejection.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn r_order_amp003_names_every_parameter_in_table_order() {
    // Sent in reverse table order, every parameter broken.
    let body = "action=create&admin_notes=a%00&additional_info=b%00&allow_unsuspend=maybe\
                &suspend_method=suspend&service_ip=1.2.3&category=&service_id=01";
    let table = [
        "service_id",
        "category",
        "service_ip",
        "suspend_method",
        "allow_unsuspend",
        "additional_info",
        "admin_notes",
    ];
    let rejection = post(body).amp003(&table);
    let description = &rejection.error.description;
    let positions: Vec<usize> = table
        .iter()
        .map(|name| description.find(&format!("{name} (")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{description}");
    assert_eq!(parse(body.as_bytes()).unwrap_err(), table);
    // The names in the table are the action's metadata, in that order.
    let names: Vec<&str> = CreateAbuseReport::FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(names, table);
}

#[test]
fn r_order_not_found_joins_other_problems_in_table_order() {
    let rejection = post("action=create&service_id=404&category=&allow_unsuspend=2").amp003(&[
        "service_id",
        "category",
        "allow_unsuspend",
    ]);
    assert!(
        rejection
            .error
            .description
            .contains("service_id (not found)")
    );
}

// ---------------------------------------------------------------- §3: values

#[test]
fn r_auth_several_api_id_headers_are_amp001() {
    let req = create("").header("api_id", KEY.as_bytes());
    assert_eq!(req.headers.get_all("api_id").iter().count(), 2);
    assert_eq!(req.code(), ErrorCode::Unauthorized);
    let req = create("").header("API_ID", b"other");
    assert_eq!(req.code(), ErrorCode::Unauthorized);
}

#[test]
fn r_auth_hyphenated_api_id_does_not_authenticate() {
    let req = create("")
        .unauthenticated()
        .header("API-ID", KEY.as_bytes());
    assert_eq!(req.code(), ErrorCode::Unauthorized);
    let req = create("").unauthenticated().header("apiid", KEY.as_bytes());
    assert_eq!(req.code(), ErrorCode::Unauthorized);
}

#[test]
fn r_auth_any_configured_identifier_and_nothing_else() {
    use amp_contract::envelope::Credentials;
    let ids = ApiIds::from_list("alpha, beta ,gamma");
    assert!(ids.verify(b"alpha") && ids.verify(b"beta") && ids.verify(b"gamma"));
    for wrong in [
        &b""[..],
        b"alph",
        b"alphaa",
        b" beta",
        b"Beta",
        b"alpha, beta",
        b"\0",
    ] {
        assert!(!ids.verify(wrong), "{wrong:?}");
    }
    assert!(!ApiIds::from_list("").verify(b""));
    // The Debug output never shows the identifiers.
    assert!(!format!("{ids:?}").contains("alpha"));
}

#[test]
fn r_action_case_sensitive_and_untrimmed() {
    for action in [
        "Create",
        "CREATE",
        "+create",
        "create+",
        "%20create",
        "create%09",
        "%0Bcreate",
        "cre+ate",
    ] {
        let rejection = post(format!("action={action}&service_id=1&category=Spam")).err();
        assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{action}");
        assert!(
            rejection.error.description.starts_with("Invalid action"),
            "{action}"
        );
    }
}

#[test]
fn r_action_empty_is_missing() {
    let rejection = post("action=&service_id=1&category=Spam").err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
}

#[test]
fn r_empty_blank_required_is_amp003() {
    for blank in ["", "+", "%09", "%0A", "%0D", "%0B", "+%09%0A%0D%0B+"] {
        post(format!("action=create&service_id={blank}&category={blank}"))
            .amp003(&["service_id", "category"]);
        let rejection =
            post(format!("action=create&service_id=1&category={blank}")).amp003(&["category"]);
        assert!(rejection.error.description.contains("category (missing)"));
    }
}

#[test]
fn r_empty_blank_optional_takes_the_default() {
    for blank in ["", "+", "%09%0A", "%0D%0B"] {
        let accepted = create(&format!(
            "&service_ip={blank}&suspend_method={blank}&allow_unsuspend={blank}\
             &additional_info={blank}&admin_notes={blank}"
        ))
        .ok();
        assert_eq!(
            accepted.action,
            CreateAbuseReport::new(1, "Spam"),
            "{blank:?}"
        );
        assert_eq!(accepted.resolved.service_ip, NO_DEDICATED_IP);
        assert_eq!(accepted.resolved.additional_info, "");
    }
}

#[test]
fn r_empty_nul_and_form_feed_are_not_whitespace() {
    // NUL is not trim()'s whitespace here: a lone NUL is a present, invalid category.
    let rejection = post("action=create&service_id=1&category=%00").amp003(&["category"]);
    assert!(rejection.error.description.contains("NUL"));
    // Form feed is in no trimming set: it is text.
    let accepted = post("action=create&service_id=1&category=%0C").ok();
    assert_eq!(accepted.action.category, "\u{c}");
}

#[test]
fn r_service_id_valid_range() {
    assert_eq!(
        post("action=create&service_id=1&category=Spam")
            .ok()
            .action
            .service_id,
        1
    );
    assert_eq!(
        post("action=create&service_id=2147483647&category=Spam")
            .ok()
            .action
            .service_id,
        2_147_483_647
    );
}

#[test]
fn r_service_id_rejects_non_canonical_decimal() {
    for id in [
        "0",
        "01",
        "00",
        "+1",
        "-1",
        "1.0",
        "1e3",
        "0x1",
        "1a",
        "%201",
        "1+",
        "2147483648",
        "4294967296",
        "99999999999999999999999",
        "١",
    ] {
        let rejection =
            post(format!("action=create&service_id={id}&category=Spam")).amp003(&["service_id"]);
        assert_eq!(rejection.rule, "R-SERVICE-ID", "{id}");
    }
}

#[test]
fn r_service_id_not_found_is_amp003() {
    let rejection = post("action=create&service_id=404&category=Spam").amp003(&["service_id"]);
    assert!(rejection.error.description.contains("not found"));
    // Without server state, the same id parses.
    assert_eq!(
        parse(b"service_id=404&category=Spam").unwrap().service_id,
        404
    );
}

#[test]
fn r_category_at_most_255_chars_after_trimming() {
    let ok = "😀".repeat(255);
    let accepted = post(format!(
        "action=create&service_id=1&category={}",
        enc(&format!("  {ok}\t\n"))
    ))
    .ok();
    assert_eq!(accepted.action.category, ok);
    let long = "x".repeat(256);
    let rejection =
        post(format!("action=create&service_id=1&category={long}")).amp003(&["category"]);
    assert_eq!(rejection.rule, "R-CATEGORY");
    assert!(rejection.error.description.contains("255 characters"));
    post(format!(
        "action=create&service_id=1&category={}",
        enc(&"é".repeat(256))
    ))
    .amp003(&["category"]);
}

#[test]
fn r_category_stored_trimmed() {
    let accepted = post("action=create&service_id=1&category=%0B%09+High+I%2FO+%0D%0A").ok();
    assert_eq!(accepted.action.category, "High I/O");
    assert_eq!(accepted.resolved.category, "High I/O");
}

#[test]
fn r_category_nul_anywhere_is_amp003() {
    for category in ["%00Spam", "Sp%00am", "Spam%00", "+%00+"] {
        post(format!("action=create&service_id=1&category={category}")).amp003(&["category"]);
    }
}

#[test]
fn r_service_ip_accepted_forms() {
    for ip in [
        "192.0.2.1",
        "10.0.0.255",
        "2001:db8::1",
        "fe80::1",
        "::ffff:192.0.2.1",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
    ] {
        assert!(
            create(&format!("&service_ip={}", enc(ip))).send().is_ok(),
            "{ip}"
        );
    }
}

#[test]
fn r_service_ip_rejects_everything_else() {
    for ip in [
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.04",
        "fe80::1%eth0",
        "fe80::1%1",
        "[2001:db8::1]",
        "192.0.2.1/24",
        "1.2.3.4:80",
        "localhost",
        "2001:db8:::1",
        "0x7f.0.0.1",
        "3232235777",
        "1.2.3.4%00",
    ] {
        let rejection = create(&format!("&service_ip={}", enc(ip))).amp003(&["service_ip"]);
        assert_eq!(rejection.rule, "R-SERVICE-IP", "{ip}");
    }
}

#[test]
fn r_service_ip_surrounding_whitespace_trimmed() {
    let accepted = create("&service_ip=+%09192.0.2.1%0D%0A+").ok();
    assert_eq!(accepted.resolved.service_ip, "192.0.2.1");
}

#[test]
fn r_service_ip_ipv6_stored_rfc5952() {
    for (sent, stored) in [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:DB8::ABCD", "2001:db8::abcd"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ] {
        let accepted = create(&format!("&service_ip={}", enc(sent))).ok();
        assert_eq!(accepted.resolved.service_ip, stored, "{sent}");
    }
}

#[test]
fn r_service_ip_ipv4_mapped_canonical() {
    for sent in [
        "::ffff:192.0.2.1",
        "::FFFF:c000:0201",
        "0:0:0:0:0:ffff:192.0.2.1",
        "::ffff:C000:201",
    ] {
        let accepted = create(&format!("&service_ip={}", enc(sent))).ok();
        assert_eq!(accepted.resolved.service_ip, "::ffff:192.0.2.1", "{sent}");
    }
}

#[test]
fn r_suspend_exact_spellings_only() {
    for bad in [
        "suspend",
        "Immediate",
        "NOSUSPEND",
        " immediate",
        "timelimit+",
        "time_limit",
        "none",
        "1",
    ] {
        let rejection = create(&format!("&suspend_method={bad}")).amp003(&["suspend_method"]);
        assert_eq!(rejection.rule, "R-SUSPEND", "{bad}");
    }
}

#[test]
fn r_suspend_spellings_come_from_the_enum() {
    let meta = CreateAbuseReport::field("suspend_method").unwrap();
    assert_eq!(meta.allowed, ["nosuspend", "immediate", "timelimit"]);
    assert_eq!(
        meta.presence,
        amp_contract::field::Presence::Default("nosuspend")
    );
}

#[test]
fn r_bool_filter_validate_boolean() {
    for wire in [
        "1", "true", "on", "yes", "TRUE", "True", "ON", "Yes", "+yes+", "%09On%0A",
    ] {
        assert!(
            create(&format!("&allow_unsuspend={wire}"))
                .ok()
                .action
                .allow_unsuspend,
            "{wire}"
        );
    }
    for wire in ["0", "false", "off", "no", "FALSE", "Off", "NO", "+0+"] {
        assert!(
            !create(&format!("&allow_unsuspend={wire}"))
                .ok()
                .action
                .allow_unsuspend,
            "{wire}"
        );
    }
}

#[test]
fn r_bool_anything_else_is_amp003() {
    for wire in [
        "2", "-1", "y", "n", "t", "f", "null", "truee", "o+n", "01", "1.0", "%00",
    ] {
        let rejection = create(&format!("&allow_unsuspend={wire}")).amp003(&["allow_unsuspend"]);
        assert_eq!(rejection.rule, "R-BOOL", "{wire}");
    }
}

#[test]
fn r_text_at_most_65535_bytes() {
    for field in ["additional_info", "admin_notes"] {
        let ok = "a".repeat(65_535);
        let accepted = create(&format!("&{field}={ok}")).ok();
        let stored = if field == "admin_notes" {
            &accepted.action.admin_notes
        } else {
            &accepted.action.additional_info
        };
        assert_eq!(stored.len(), 65_535);
        let rejection = create(&format!("&{field}={ok}a")).amp003(&[field]);
        assert_eq!(rejection.rule, "R-TEXT");
        assert!(rejection.error.description.contains("65535 bytes"));
        // Counted in bytes: 21846 three-byte characters are 65538 bytes.
        create(&format!("&{field}={}", enc(&"€".repeat(21_846)))).amp003(&[field]);
    }
}

#[test]
fn r_text_stored_exactly_as_sent() {
    let accepted = create("&additional_info=++two+spaces+%0A&admin_notes=%09tab%0D%0A").ok();
    assert_eq!(accepted.resolved.additional_info, "  two spaces \n");
    assert_eq!(accepted.resolved.admin_notes, "\ttab\r\n");
}

#[test]
fn r_text_only_whitespace_stored_as_empty() {
    let accepted = create("&additional_info=+++&admin_notes=%0A%0D").ok();
    assert_eq!(accepted.resolved.additional_info, "");
    assert_eq!(accepted.resolved.admin_notes, "");
}

#[test]
fn r_text_nul_rejected() {
    create("&additional_info=a%00b").amp003(&["additional_info"]);
    create("&admin_notes=%00").amp003(&["admin_notes"]);
}

// ---------------------------------------------------------------- the same rules without the envelope

#[test]
fn from_form_ignores_action_and_reports_all_problems() {
    // `Action::from_form` reads the parameters only; the envelope dispatches on `action`.
    assert_eq!(
        parse(b"service_id=1&category=Spam").unwrap(),
        CreateAbuseReport::new(1, "Spam")
    );
    assert_eq!(
        parse(b"action=Create&service_id=1&category=Spam")
            .unwrap()
            .service_id,
        1
    );
    assert_eq!(parse(b"").unwrap_err(), ["service_id", "category"]);
    let violations =
        CreateAbuseReport::from_form(&FormPairs::from_urlencoded(b"service_id=0&category=%ff"))
            .unwrap_err();
    let rules: Vec<&str> = violations.iter().map(|v| v.rule()).collect();
    assert_eq!(rules, ["R-SERVICE-ID", "R-UTF8"]);
}
