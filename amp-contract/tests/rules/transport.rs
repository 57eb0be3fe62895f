//! CONTRACT.md §3: transport, and the order of checks.

use super::*;

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

/// A JSON body (Python `requests.post(json=…)`, axios, httpie) carries `action`, yet nothing
/// is read: the AMP002 says why, naming the type received and the two that are read.
#[test]
fn r_body_an_unread_content_type_is_named_with_what_to_send() {
    let json = br#"{"action":"create","service_id":1,"category":"Spam"}"#;
    for (ct, named) in [
        (
            Some("application/json"),
            "its Content-Type is application/json",
        ),
        (
            Some("application/json; charset=utf-8"),
            "its Content-Type is application/json;",
        ),
        (Some("text/plain"), "its Content-Type is text/plain"),
        (
            Some("application/x-www-form-urlencodedx"),
            "its Content-Type is application/x-www-form-urlencodedx",
        ),
        (None, "it has no Content-Type"),
    ] {
        let rejection = post(json).content_type(ct).err();
        let description = &rejection.error.description;
        assert_eq!(rejection.error.code, ErrorCode::InvalidAction, "{ct:?}");
        assert_eq!(rejection.error.params, ["action"], "{ct:?}");
        assert_eq!(rejection.status, StatusCode::OK, "{ct:?}");
        assert!(description.starts_with("Missing action"), "{description}");
        assert!(description.contains("nothing was read"), "{description}");
        assert!(description.contains(named), "{ct:?}: {description}");
        assert!(
            description.contains("application/x-www-form-urlencoded")
                && description.contains("multipart/form-data")
                && description.contains("action must be one of: create."),
            "{description}"
        );
    }
    // A long content type is cut, not echoed whole.
    let long = format!("application/{}", "x".repeat(5000));
    let description = post(json).content_type(Some(&long)).err().error.description;
    assert!(description.len() < 600, "{description}");
}

/// Where the body was read, or there was none, AMP002 keeps its plain wording.
#[test]
fn r_body_a_read_or_empty_body_keeps_the_plain_amp002() {
    for req in [
        post("service_id=1&category=Spam"),
        post("").content_type(None),
        post("").content_type(Some("application/json")),
        create("")
            .method(Method::GET)
            .content_type(Some("application/json")),
    ] {
        let description = req.err().error.description;
        assert_eq!(
            description, "Missing action: action must be one of: create.",
            "{description}"
        );
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
