//! Bodies exactly as real PHP clients send them: `http_build_query` (the documented encoding)
//! and curl's multipart encoding when `CURLOPT_POSTFIELDS` is an array. Each literal below is
//! the byte-exact output of the PHP expression in its comment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amp_contract::envelope::{self, Accepted, ApiIds, Body, DedicatedIp, Rejection, Request};
use amp_contract::form::FormPairs;
use amp_contract::{Action, CreateAbuseReport, ErrorCode, SuspendMethod};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method};

const KEY: &str = "php-client";
/// curl's boundary: 24 dashes and 16 hex digits (so the delimiter line starts with 26 dashes).
const CURL_BOUNDARY: &str = "------------------------d74496d66958873e";

fn services(id: u32) -> Option<DedicatedIp> {
    (id != 404).then_some(DedicatedIp::None)
}

fn send(content_type: &str, body: &[u8]) -> Result<Accepted, Rejection> {
    let mut headers = HeaderMap::new();
    headers.insert("api_id", HeaderValue::from_static(KEY));
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    let request = Request {
        method: &Method::POST,
        headers: &headers,
        body: Body::Complete(body),
    };
    envelope::handle(&request, &ApiIds::from_list(KEY), &services)
}

/// What PHP's `curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query($params))` sends.
fn php_query(body: &str) -> Result<Accepted, Rejection> {
    send("application/x-www-form-urlencoded", body.as_bytes())
}

/// What PHP's `curl_setopt($ch, CURLOPT_POSTFIELDS, $params)` (an array) sends.
fn curl_multipart(body: &str) -> Result<Accepted, Rejection> {
    send(
        &FormPairs::multipart_content_type(CURL_BOUNDARY),
        body.as_bytes(),
    )
}

/// A curl multipart body from `(name, value)` parts; CRLF line endings throughout.
fn curl_body(parts: &[(&str, &str)]) -> String {
    let form = FormPairs::from_pairs(parts.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
    String::from_utf8(form.to_multipart(CURL_BOUNDARY)).unwrap()
}

fn amp003(outcome: Result<Accepted, Rejection>, params: &[&str]) {
    let rejection = outcome.unwrap_err();
    assert_eq!(rejection.error.code, ErrorCode::MissingParameters);
    assert_eq!(rejection.error.params, params);
}

// ------------------------------------------------------------------ http_build_query

#[test]
fn http_build_query_page_example_with_nosuspend() {
    // http_build_query(['action' => 'create', 'service_id' => 42, 'category' => 'High I/O',
    //   'service_ip' => '192.0.2.10', 'suspend_method' => 'nosuspend',
    //   'allow_unsuspend' => true, 'additional_info' => 'Please check your server & reply.',
    //   'admin_notes' => 'Ticket #123 = 50% done'])
    let body = "action=create&service_id=42&category=High+I%2FO&service_ip=192.0.2.10\
                &suspend_method=nosuspend&allow_unsuspend=1\
                &additional_info=Please+check+your+server+%26+reply.\
                &admin_notes=Ticket+%23123+%3D+50%25+done";
    let accepted = php_query(body).unwrap();
    let report = &accepted.action;
    assert_eq!(report.service_id, 42);
    assert_eq!(report.category, "High I/O");
    assert_eq!(report.service_ip, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(report.suspend_method, SuspendMethod::NoSuspend);
    assert!(report.allow_unsuspend);
    assert_eq!(report.additional_info, "Please check your server & reply.");
    assert_eq!(report.admin_notes, "Ticket #123 = 50% done");
    // And the contract sends exactly what PHP sends for the same array.
    assert_eq!(report.to_body(), body);
}

#[test]
fn http_build_query_false_is_zero_and_null_is_left_out() {
    // http_build_query(['action' => 'create', 'service_id' => 7, 'category' => 'Spam',
    //   'service_ip' => null, 'allow_unsuspend' => false])
    let body = "action=create&service_id=7&category=Spam&allow_unsuspend=0";
    let accepted = php_query(body).unwrap();
    assert!(!accepted.action.allow_unsuspend);
    assert_eq!(accepted.action.service_ip, None);
}

#[test]
fn http_build_query_unicode_and_reserved_characters() {
    // http_build_query(['action' => 'create', 'service_id' => 1,
    //   'category' => 'Müller ~ 中文 😀', 'additional_info' => "a+b=c&d*e'f!(g)\nh"])
    let body = "action=create&service_id=1&category=M%C3%BCller+%7E+%E4%B8%AD%E6%96%87+%F0%9F%98%80\
                &additional_info=a%2Bb%3Dc%26d%2Ae%27f%21%28g%29%0Ah";
    let accepted = php_query(body).unwrap();
    assert_eq!(accepted.action.category, "Müller ~ 中文 😀");
    assert_eq!(accepted.action.additional_info, "a+b=c&d*e'f!(g)\nh");
    let mut expected = CreateAbuseReport::new(1, "Müller ~ 中文 😀");
    expected.additional_info = "a+b=c&d*e'f!(g)\nh".to_owned();
    assert_eq!(accepted.action, expected);
    // The contract's encoder produces PHP's bytes, `-_.` unescaped and uppercase hex.
    let form = FormPairs::from_pairs([(&b"x"[..], "Müller ~ a-b_c.d".as_bytes())]);
    assert_eq!(form.to_urlencoded(), "x=M%C3%BCller+%7E+a-b_c.d");
}

#[test]
fn http_build_query_rfc3986_and_lowercase_escapes_decode_too() {
    // http_build_query([...], '', '&', PHP_QUERY_RFC3986): spaces as %20.
    let accepted =
        php_query("action=create&service_id=1&category=High%20I%2FO&admin_notes=m%c3%bcller")
            .unwrap();
    assert_eq!(accepted.action.category, "High I/O");
    assert_eq!(accepted.action.admin_notes, "müller");
}

#[test]
fn http_build_query_list_array_is_amp003() {
    // http_build_query(['action' => 'create', 'service_id' => 1, 'category' => ['Spam', 'Ham']])
    let body = "action=create&service_id=1&category%5B0%5D=Spam&category%5B1%5D=Ham";
    amp003(php_query(body), &["category"]);
}

#[test]
fn http_build_query_assoc_array_is_amp003() {
    // http_build_query(['action' => 'create', 'service_id' => ['a' => 1], 'category' => 'Spam'])
    let body = "action=create&service_id%5Ba%5D=1&category=Spam";
    amp003(php_query(body), &["service_id"]);
}

#[test]
fn hand_written_bracket_keys_are_arrays_too() {
    amp003(
        php_query("action=create&service_id=1&category[]=Spam"),
        &["category"],
    );
    amp003(
        php_query("action=create&service_id=1&category=Spam&category[a]="),
        &["category"],
    );
    amp003(
        php_query("action=create&service_id=1&category=Spam&suspend_method[]=immediate"),
        &["suspend_method"],
    );
}

#[test]
fn http_build_query_array_action_is_amp002() {
    // http_build_query(['action' => ['create'], 'service_id' => 1, 'category' => 'Spam'])
    let rejection = php_query("action%5B0%5D=create&service_id=1&category=Spam").unwrap_err();
    assert_eq!(rejection.error.code, ErrorCode::InvalidAction);
}

#[test]
fn http_build_query_page_example_suspend_is_amp003() {
    // The page's own PHP example: 'suspend_method' => 'suspend' (R-SUSPEND).
    let body = "action=create&service_id=1&category=Spam&suspend_method=suspend&allow_unsuspend=1";
    amp003(php_query(body), &["suspend_method"]);
}

// ------------------------------------------------------------------ curl multipart

#[test]
fn curl_multipart_page_example() {
    // curl_setopt($ch, CURLOPT_POSTFIELDS, ['action' => 'create', 'service_id' => 42,
    //   'category' => 'High I/O', 'suspend_method' => 'timelimit', 'allow_unsuspend' => true,
    //   'additional_info' => "Line 1\r\nLine 2", 'admin_notes' => 'a & b = c']);
    let body = curl_body(&[
        ("action", "create"),
        ("service_id", "42"),
        ("category", "High I/O"),
        ("suspend_method", "timelimit"),
        ("allow_unsuspend", "1"),
        ("additional_info", "Line 1\r\nLine 2"),
        ("admin_notes", "a & b = c"),
    ]);
    assert!(body.starts_with(
        "--------------------------d74496d66958873e\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n"
    ));
    let accepted = curl_multipart(&body).unwrap();
    let report = accepted.action;
    assert_eq!(report.service_id, 42);
    assert_eq!(report.category, "High I/O");
    assert_eq!(report.suspend_method, SuspendMethod::Timelimit);
    assert!(report.allow_unsuspend);
    assert_eq!(report.additional_info, "Line 1\r\nLine 2");
    assert_eq!(report.admin_notes, "a & b = c");
}

#[test]
fn curl_multipart_php_false_is_an_empty_part() {
    // PHP casts false to "" in a CURLOPT_POSTFIELDS array: R-EMPTY applies the default.
    let body = curl_body(&[
        ("action", "create"),
        ("service_id", "1"),
        ("category", "Spam"),
        ("allow_unsuspend", ""),
    ]);
    assert!(!curl_multipart(&body).unwrap().action.allow_unsuspend);
}

#[test]
fn curl_multipart_values_are_not_percent_decoded() {
    let body = curl_body(&[
        ("action", "create"),
        ("service_id", "1"),
        ("category", "50%25+off"),
    ]);
    assert_eq!(curl_multipart(&body).unwrap().action.category, "50%25+off");
}

#[test]
fn curl_multipart_file_part_is_ignored() {
    // curl_setopt($ch, CURLOPT_POSTFIELDS, ['action' => 'create', 'service_id' => 1,
    //   'category' => 'Spam', 'admin_notes' => new CURLFile('notes.txt', 'text/plain')]);
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nSpam\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"admin_notes\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nsecret %00 \0 notes\r\n\
         --{b}--\r\n",
        b = CURL_BOUNDARY
    );
    let accepted = curl_multipart(&body).unwrap();
    assert_eq!(accepted.action.admin_notes, "");
}

#[test]
fn curl_multipart_file_part_does_not_count_as_the_parameter() {
    // A required parameter sent only as a file (even with an empty filename) is missing.
    for filename in ["\"\"", "\"category.txt\""] {
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"category\"; filename={filename}\r\n\
             Content-Type: application/octet-stream\r\n\r\nSpam\r\n\
             --{b}--\r\n",
            b = CURL_BOUNDARY
        );
        amp003(curl_multipart(&body), &["category"]);
    }
}

#[test]
fn curl_multipart_later_plain_part_wins_over_earlier() {
    let body = curl_body(&[
        ("action", "create"),
        ("service_id", "404"),
        ("category", "Spam"),
        ("service_id", "2"),
    ]);
    assert_eq!(curl_multipart(&body).unwrap().action.service_id, 2);
}

#[test]
fn curl_multipart_invalid_utf8_names_the_field() {
    let mut body = Vec::new();
    body.extend_from_slice(
        curl_body(&[("action", "create"), ("service_id", "1")])
            .trim_end_matches(&format!("--{CURL_BOUNDARY}--\r\n"))
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{CURL_BOUNDARY}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(b"Sp\xffam\r\n");
    body.extend_from_slice(format!("--{CURL_BOUNDARY}--\r\n").as_bytes());
    let outcome = send(
        &format!("multipart/form-data; boundary={CURL_BOUNDARY}"),
        &body,
    );
    amp003(outcome, &["category"]);
}

#[test]
fn curl_multipart_quoted_boundary_parameter() {
    let body = curl_body(&[
        ("action", "create"),
        ("service_id", "1"),
        ("category", "Spam"),
    ]);
    let outcome = send(
        &format!("multipart/form-data; boundary=\"{CURL_BOUNDARY}\""),
        body.as_bytes(),
    );
    assert_eq!(outcome.unwrap().action, CreateAbuseReport::new(1, "Spam"));
}
