//! CONTRACT.md §1 (the page's own contradictions) and §2 (the documented rules).

use super::*;

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
