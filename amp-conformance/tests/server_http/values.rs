//! The reference resolutions of order and values (CONTRACT.md §3: R-ORDER, R-AUTH, R-ACTION,
//! R-EMPTY and the value rules) over real HTTP.

use super::*;

#[tokio::test]
async fn r_order_amp001_then_amp002_then_amp003_in_table_order() {
    let s = server().await;
    // Everything wrong: the authentication decides.
    s.send(
        s.client
            .post(s.endpoint())
            .header("content-type", FORM)
            .body("action=x&suspend_method=suspend"),
    )
    .await
    .error("AMP001");
    // Authenticated, bad action and bad parameters: the action decides.
    s.form("action=Create&service_id=0&suspend_method=suspend")
        .await
        .error("AMP002");
    // Every parameter wrong: all named, in the order of the table.
    let r = s
        .form("action=create&admin_notes=%00&additional_info=%00&allow_unsuspend=maybe&suspend_method=suspend&service_ip=x&service_id=0")
        .await;
    r.amp003_naming(&[]);
    let order = [
        "service_id",
        "category",
        "service_ip",
        "suspend_method",
        "allow_unsuspend",
        "additional_info",
        "admin_notes",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|f| {
            r.description()
                .find(&format!("{f} "))
                .unwrap_or_else(|| panic!("{f} missing: {r:?}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{positions:?}: {r:?}"
    );
    // The order the contract declares is the table's.
    let declared: Vec<&str> = amp_contract::CreateAbuseReport::FIELDS
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(declared, order);
    assert_eq!(s.stored(), 0);
}

// ---------------------------------------------------------------------------------------------
// Reference rules: values.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn r_auth_several_headers_is_amp001() {
    let s = server().await;
    let post = || {
        s.client
            .post(s.endpoint())
            .header("content-type", FORM)
            .body(MINIMAL)
    };
    s.send(post().header("api_id", KEY).header("api_id", KEY))
        .await
        .error("AMP001");
    s.send(post().header("api_id", KEY).header("api_id", "other"))
        .await
        .error("AMP001");
    s.send(post().header("api_id", "other").header("api_id", KEY))
        .await
        .error("AMP001");
    assert_eq!(s.stored(), 0);
    // Several configured identifiers: each one works.
    let mut config = config();
    config.api_ids = ApiIds::from_list("alpha, beta");
    let multi = start_local(config).await.unwrap();
    for key in ["alpha", "beta"] {
        let r = reply(
            s.client
                .post(multi.endpoint())
                .header("api_id", key)
                .header("content-type", FORM)
                .body(MINIMAL)
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.success();
    }
    multi.shutdown().await.unwrap();
}

#[tokio::test]
async fn r_auth_hyphen_api_id_does_not_authenticate() {
    let s = server().await;
    let r = s
        .send(
            s.client
                .post(s.endpoint())
                .header("API-ID", KEY)
                .header("content-type", FORM)
                .body(MINIMAL),
        )
        .await;
    r.error("AMP001");
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn r_action_case_sensitive_and_untrimmed() {
    let s = server().await;
    for action in [
        "Create",
        "CREATE",
        "+create",
        "create+",
        "%09create",
        "create%00",
        "creat",
    ] {
        s.form(format!("action={action}&service_id=1&category=Spam"))
            .await
            .error("AMP002");
    }
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn r_empty_present_but_blank_counts_as_absent() {
    let s = server().await;
    for blank in ["", "+", "%20%09%0A%0D%0B", "++++"] {
        s.form(format!("action=create&service_id={blank}&category=Spam"))
            .await
            .amp003_naming(&["service_id"]);
        s.form(format!("action=create&service_id=1&category={blank}"))
            .await
            .amp003_naming(&["category"]);
        let record = s
            .create_and_observe(&format!(
                "&service_ip={blank}&suspend_method={blank}&allow_unsuspend={blank}&additional_info={blank}&admin_notes={blank}"
            ))
            .await;
        assert_eq!(record["service_ip"], "203.0.113.10");
        assert_eq!(record["suspend_method"], "nosuspend");
        assert_eq!(record["allow_unsuspend"], false);
        assert_eq!(record["additional_info"], "");
        assert_eq!(record["admin_notes"], "");
    }
    // NUL is not in the whitespace set.
    s.form("action=create&service_id=1&category=%00")
        .await
        .amp003_naming(&["category"]);
}

#[tokio::test]
async fn r_service_id_digits_range_and_existence() {
    let s = server().await;
    for bad in [
        "0",
        "01",
        "+1",
        "%2B1",
        "-1",
        "1.0",
        "1e0",
        "0x1",
        "abc",
        "1a",
        "2147483648",
        "99999999999999999999",
        "%201",
        "1%20",
    ] {
        s.form(format!("action=create&service_id={bad}&category=Spam"))
            .await
            .amp003_naming(&["service_id"]);
    }
    // Well-formed but unknown: "service not found".
    for missing in ["4", "2147483647"] {
        let r = s
            .form(format!("action=create&service_id={missing}&category=Spam"))
            .await;
        r.amp003_naming(&["service_id"]);
        assert!(r.description().contains("not found"), "{r:?}");
    }
    assert_eq!(s.stored(), 0);
    for ok in [1, 2, 3] {
        s.form(format!("action=create&service_id={ok}&category=Spam"))
            .await
            .success();
    }
}

#[tokio::test]
async fn r_category_trimmed_at_most_255_chars_no_nul() {
    let s = server().await;
    let max = "😀".repeat(255);
    let record = s
        .create_and_observe(&format!(
            "&category={}",
            urlencode(format!(" \t{max}\n ").as_bytes())
        ))
        .await;
    assert_eq!(record["category"], max);
    let too_long = "a".repeat(256);
    s.form(format!("action=create&service_id=1&category={too_long}"))
        .await
        .amp003_naming(&["category"]);
    s.form(format!(
        "action=create&service_id=1&category={}",
        urlencode("é".repeat(256).as_bytes())
    ))
    .await
    .amp003_naming(&["category"]);
    s.form("action=create&service_id=1&category=Sp%00am")
        .await
        .amp003_naming(&["category"]);
    let record = s.create_and_observe("&category=++High+I%2FO%0B").await;
    assert_eq!(record["category"], "High I/O");
}

#[tokio::test]
async fn r_service_ip_canonical_form_stored() {
    let s = server().await;
    for (sent, stored) in [
        ("192.0.2.1", "192.0.2.1"),
        ("+192.0.2.1%09", "192.0.2.1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
        ("::ffff:c000:0201", "::ffff:192.0.2.1"),
        ("::1", "::1"),
        ("FE80::1", "fe80::1"),
    ] {
        let record = s
            .create_and_observe(&format!("&service_ip={}", sent.replace(':', "%3A")))
            .await;
        assert_eq!(record["service_ip"], stored, "{sent}");
    }
    for bad in [
        "192.0.2.01",
        "192.0.2",
        "1.2.3.4.5",
        "256.1.1.1",
        "fe80::1%25eth0",
        "[::1]",
        "example.com",
        "192.0.2.1/24",
        "0x7f.0.0.1",
        "::ffff:192.0.2.256",
    ] {
        s.form(format!("{MINIMAL}&service_ip={bad}"))
            .await
            .amp003_naming(&["service_ip"]);
    }
}

#[tokio::test]
async fn r_suspend_exact_values_only() {
    let s = server().await;
    for value in ["nosuspend", "immediate", "timelimit"] {
        let record = s
            .create_and_observe(&format!("&suspend_method={value}"))
            .await;
        assert_eq!(record["suspend_method"], value);
    }
    // `suspend` is the page's own example value.
    for bad in [
        "suspend",
        "Immediate",
        "NOSUSPEND",
        "time+limit",
        "none",
        "1",
    ] {
        s.form(format!("{MINIMAL}&suspend_method={bad}"))
            .await
            .amp003_naming(&["suspend_method"]);
    }
}

#[tokio::test]
async fn r_bool_as_filter_validate_boolean() {
    let s = server().await;
    for (sent, truth) in [
        ("1", true),
        ("true", true),
        ("TRUE", true),
        ("On", true),
        ("yes", true),
        ("+yes%09", true),
        ("0", false),
        ("false", false),
        ("Off", false),
        ("NO", false),
    ] {
        let record = s
            .create_and_observe(&format!("&allow_unsuspend={sent}"))
            .await;
        assert_eq!(record["allow_unsuspend"], truth, "{sent}");
    }
    for bad in ["2", "-1", "y", "n", "truee", "t", "null", "%00"] {
        s.form(format!("{MINIMAL}&allow_unsuspend={bad}"))
            .await
            .amp003_naming(&["allow_unsuspend"]);
    }
}

#[tokio::test]
async fn r_text_stored_exactly_at_most_65535_bytes_no_nul() {
    let s = server().await;
    let record = s
        .create_and_observe("&additional_info=++two+spaces+&admin_notes=%0Aline%0D%0A")
        .await;
    assert_eq!(record["additional_info"], "  two spaces ");
    assert_eq!(record["admin_notes"], "\nline\r\n");
    let max = "ü".repeat(65535 / 2) + "x"; // 65535 bytes
    assert_eq!(max.len(), 65535);
    let record = s
        .create_and_observe(&format!("&additional_info={}", urlencode(max.as_bytes())))
        .await;
    assert_eq!(record["additional_info"], max);
    for field in ["additional_info", "admin_notes"] {
        s.form(format!("{MINIMAL}&{field}={}", "b".repeat(65536)))
            .await
            .amp003_naming(&[field]);
        s.form(format!("{MINIMAL}&{field}=a%00b"))
            .await
            .amp003_naming(&[field]);
    }
}

#[tokio::test]
async fn r_ids_strictly_increase() {
    let s = server().await;
    let mut last = 0;
    for i in 0..20 {
        if i % 3 == 0 {
            s.form("action=create").await.error("AMP003");
        }
        let id = s.form(MINIMAL).await.success();
        assert!(id > last, "{id} after {last}");
        last = id;
    }
}

// ---------------------------------------------------------------------------------------------
// The observer and the other paths.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn observer_requires_api_id_401() {
    let s = server().await;
    let id = s.form(MINIMAL).await.success();
    let url = s
        .server
        .observe_template()
        .replace("{report_id}", &id.to_string());
    for key in [None, Some(""), Some("wrong")] {
        let mut request = s.client.get(&url);
        if let Some(key) = key {
            request = request.header("api_id", key);
        }
        let r = s.send(request).await;
        assert_eq!((r.status, r.code()), (401, "AMP001"), "{r:?}");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert!(r.json.get("category").is_none());
    }
}

#[tokio::test]
async fn observer_unknown_id_is_404_json() {
    let s = server().await;
    s.form(MINIMAL).await.success();
    for id in ["2", "0", "abc", "-1", "99999999999999999999999"] {
        let url = s.server.observe_template().replace("{report_id}", id);
        let r = reply_json(
            s.client
                .get(url)
                .header("api_id", KEY)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 404, "{id}: {r:?}");
        assert_eq!(r.json["status"], "error");
        assert!(!r.description().is_empty(), "{r:?}");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
    }
}

#[tokio::test]
async fn other_paths_are_404_json() {
    let s = server().await;
    let base = s.server.base_url();
    for path in [
        "/",
        "/api.php",
        "/modules/addons/abusemanagerpro/includes/api.php/",
        "/modules/addons/abusemanagerpro/",
        "/_amp/reports",
        "/_amp/reports/1/x",
    ] {
        for method in [Method::GET, Method::POST] {
            let response = s
                .client
                .request(method.clone(), format!("{base}{path}"))
                .header("api_id", KEY)
                .header("content-type", FORM)
                .body(MINIMAL)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{method} {path}");
            let r = reply_json(response).await;
            assert_eq!(r.content_type.as_deref(), Some("application/json"));
            assert_eq!(r.json["status"], "error");
            assert!(
                r.description().contains(amp_conformance::server::API_PATH),
                "{r:?}"
            );
        }
    }
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn shutdown_finishes_and_stops_accepting() {
    let s = server().await;
    s.form(MINIMAL).await.success();
    let addr = s.server.addr();
    s.server.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn request_timeout_is_408_json_for_a_body_that_never_arrives() {
    // D-NO-5XX: a client that stops sending mid-body gets a JSON 408 once the per-request
    // timeout passes (1 s here), not a hung connection or a 5xx.
    let mut config = config();
    config.request_timeout = Duration::from_secs(1);
    let server = start_local(config).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\napi_id: {KEY}\r\nContent-Type: {FORM}\r\n\
         Content-Length: 100\r\n\r\naction=create",
        amp_conformance::server::API_PATH
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read until the whole JSON body is in (at most 30 reads, each bounded).
    let mut answer = String::new();
    for _ in 0..30 {
        let mut chunk = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .expect("answered within the bound")
            .unwrap();
        answer.push_str(&String::from_utf8_lossy(&chunk[..n]));
        let complete = answer
            .split_once("\r\n\r\n")
            .is_some_and(|(_, body)| serde_json::from_str::<Value>(body).is_ok());
        if n == 0 || complete {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let json: Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["status"], "error");
    assert_eq!(server.state().store.len(), 0);
}
