//! CONTRACT.md §3: values, and the same rules without the envelope.

use super::*;

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
