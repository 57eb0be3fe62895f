//! The documented rules (CONTRACT.md §2) over real HTTP, and the PHP encoder the requests use.

use super::*;

#[test]
fn encoder_matches_php_http_build_query_output() {
    // php -r 'echo http_build_query(["action"=>"create","service_id"=>1,"category"=>"High I/O",
    //   "allow_unsuspend"=>true,"x"=>false,"additional_info"=>"Ünï & = + % \"q\" 😀~*",
    //   "a"=>["x","y"],"m"=>["k"=>"v"]]);'
    let body = http_build_query(&[
        ("action", Php::Str("create")),
        ("service_id", Php::Int(1)),
        ("category", Php::Str("High I/O")),
        ("allow_unsuspend", Php::Bool(true)),
        ("x", Php::Bool(false)),
        ("additional_info", Php::Str("Ünï & = + % \"q\" 😀~*")),
        ("a", Php::List(vec!["x", "y"])),
        ("m", Php::Map(vec![("k", "v")])),
    ]);
    assert_eq!(
        body,
        "action=create&service_id=1&category=High+I%2FO&allow_unsuspend=1&x=0\
         &additional_info=%C3%9Cn%C3%AF+%26+%3D+%2B+%25+%22q%22+%F0%9F%98%80%7E%2A\
         &a%5B0%5D=x&a%5B1%5D=y&m%5Bk%5D=v"
    );
    // The contract's own encoder agrees with this independent one.
    let mut report = amp_contract::CreateAbuseReport::new(2, "High I/O & more");
    report.allow_unsuspend = true;
    report.additional_info = "Ünï = + % 😀".to_owned();
    let expected = http_build_query(&[
        ("action", Php::Str("create")),
        ("service_id", Php::Int(2)),
        ("category", Php::Str("High I/O & more")),
        ("suspend_method", Php::Str("nosuspend")),
        ("allow_unsuspend", Php::Bool(true)),
        ("additional_info", Php::Str("Ünï = + % 😀")),
    ]);
    assert_eq!(report.to_body(), expected);
}

// ---------------------------------------------------------------------------------------------
// Documented rules.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn d_auth_missing_empty_or_invalid_api_id_is_amp001_and_creates_nothing() {
    let s = server().await;
    let post = || {
        s.client
            .post(s.endpoint())
            .header("content-type", FORM)
            .body(MINIMAL)
    };
    s.send(post()).await.error("AMP001");
    s.send(post().header("api_id", "")).await.error("AMP001");
    s.send(post().header("api_id", "wrong-key"))
        .await
        .error("AMP001");
    s.send(post().header("api_id", "test-ke"))
        .await
        .error("AMP001");
    s.send(post().header("api_id", "test-key2"))
        .await
        .error("AMP001");
    s.send(post().header("api_id", "test-key,other"))
        .await
        .error("AMP001");
    // Identifiers are compared exactly, case included.
    s.send(post().header("api_id", "TEST-KEY"))
        .await
        .error("AMP001");
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn d_auth_header_name_is_case_insensitive() {
    let s = server().await;
    for name in ["API_ID", "api_id", "Api_Id"] {
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{name}: {KEY}\r\nContent-Type: {FORM}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{MINIMAL}",
            amp_conformance::server::API_PATH,
            MINIMAL.len()
        );
        let (status, _, body) = raw_http(&s.server, request.as_bytes()).await;
        assert_eq!(status, 200);
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["status"], "success", "{name}: {json}");
    }
    assert_eq!(s.stored(), 3);
}

#[tokio::test]
async fn d_action_missing_or_unknown_is_amp002_and_creates_nothing() {
    let s = server().await;
    for body in [
        "service_id=1&category=Spam",
        "action=&service_id=1&category=Spam",
        "action=delete&service_id=1&category=Spam",
        "action=list&service_id=1&category=Spam",
        "",
    ] {
        let r = s.form(body).await;
        r.error("AMP002");
        assert!(r.description().contains("action"), "{r:?}");
    }
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn d_required_missing_service_id_or_category_is_amp003() {
    let s = server().await;
    s.form("action=create&category=Spam")
        .await
        .amp003_naming(&["service_id"]);
    s.form("action=create&service_id=1")
        .await
        .amp003_naming(&["category"]);
    let both = s.form("action=create").await;
    both.amp003_naming(&["service_id", "category"]);
    // AMP003, as the table says, never the example's AMP009.
    assert_ne!(both.code(), "AMP009");
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn d_success_minimal_create_returns_integer_report_id() {
    let s = server().await;
    let r = s
        .php(&[
            ("action", Php::Str("create")),
            ("service_id", Php::Int(1)),
            ("category", Php::Str("Spam")),
        ])
        .await;
    let id = r.success();
    assert!(id >= 1);
    let keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "exactly status and report_id: {r:?}");
    assert_eq!(s.stored(), 1);
}

#[tokio::test]
async fn d_error_shape_every_error_kind() {
    let s = server().await;
    // `reply` checks the shape of each; here every code path is exercised once.
    s.send(s.client.post(s.endpoint()).body(MINIMAL))
        .await
        .error("AMP001");
    s.form("action=nope").await.error("AMP002");
    s.form("action=create").await.error("AMP003");
    s.form("action=create&service_id=1&category=Spam&suspend_method=suspend")
        .await
        .error("AMP003");
    let big = s.form(vec![b'a'; BODY_LIMIT + 1]).await;
    assert_eq!(big.json["status"], "error");
    assert_eq!(big.code(), "AMP003");
}

#[tokio::test]
async fn d_unique_report_ids_never_repeat() {
    let s = server().await;
    let mut ids = std::collections::BTreeSet::new();
    for service in [1, 2, 3, 1, 2, 3, 1, 2, 3, 1] {
        let id = s
            .form(format!("action=create&service_id={service}&category=Spam"))
            .await
            .success();
        assert!(ids.insert(id), "report_id {id} repeated");
    }
}

#[tokio::test]
async fn d_optionals_each_documented_value_succeeds() {
    let s = server().await;
    let long_category: String = "é😀".repeat(127) + "x"; // 255 characters
    let text = "a/b & c=d + e % f \"q\" 'q' Ünïcödé 😀\ttab\nnewline";
    let cases: Vec<Vec<(&str, Php<'_>)>> = vec![
        vec![("suspend_method", Php::Str("nosuspend"))],
        vec![("suspend_method", Php::Str("immediate"))],
        vec![("suspend_method", Php::Str("timelimit"))],
        vec![("allow_unsuspend", Php::Bool(true))],
        vec![("allow_unsuspend", Php::Bool(false))],
        vec![("allow_unsuspend", Php::Str("true"))],
        vec![("allow_unsuspend", Php::Str("false"))],
        vec![("service_ip", Php::Str("192.0.2.1"))],
        vec![("service_ip", Php::Str("2001:db8::1"))],
        vec![("service_ip", Php::Str("::ffff:192.0.2.1"))],
        vec![("additional_info", Php::Str(text))],
        vec![("admin_notes", Php::Str(text))],
    ];
    for extra in cases {
        let mut params = vec![
            ("action", Php::Str("create")),
            ("service_id", Php::Int(1)),
            ("category", Php::Str("Spam")),
        ];
        params.extend(extra.clone());
        let r = s.php(&params).await;
        assert_eq!(r.json["status"], "success", "{extra:?}: {r:?}");
    }
    for category in [text, long_category.as_str()] {
        let r = s
            .php(&[
                ("action", Php::Str("create")),
                ("service_id", Php::Int(2)),
                ("category", Php::Str(category)),
            ])
            .await;
        let id = r.success();
        assert_eq!(s.observe(id).await["category"], category);
    }
}

#[tokio::test]
async fn d_defaults_via_observer_omitted_and_sent_values() {
    let s = server().await;
    for (service, ip) in [
        (1, "203.0.113.10"),
        (2, "2001:db8::10"),
        (3, "(No Dedicated IP)"),
    ] {
        let id = s
            .form(format!("action=create&service_id={service}&category=Spam"))
            .await
            .success();
        let record = s.observe(id).await;
        assert_eq!(
            record,
            serde_json::json!({
                "report_id": id,
                "service_id": service,
                "category": "Spam",
                "service_ip": ip,
                "suspend_method": "nosuspend",
                "allow_unsuspend": false,
                "additional_info": "",
                "admin_notes": "",
            })
        );
    }
    // Sent values keep their meaning, each in its own field.
    let id = s
        .php(&[
            ("action", Php::Str("create")),
            ("service_id", Php::Int(3)),
            ("category", Php::Str(" Hacking Attempts ")),
            ("service_ip", Php::Str("2001:DB8:0:0:0:0:0:7")),
            ("suspend_method", Php::Str("timelimit")),
            ("allow_unsuspend", Php::Bool(true)),
            ("additional_info", Php::Str("for the customer")),
            ("admin_notes", Php::Str("for admins only")),
        ])
        .await
        .success();
    let record = s.observe(id).await;
    assert_eq!(record["service_id"], 3);
    assert_eq!(record["category"], "Hacking Attempts");
    assert_eq!(record["service_ip"], "2001:db8::7");
    assert_eq!(record["suspend_method"], "timelimit");
    assert_eq!(record["allow_unsuspend"], true);
    assert_eq!(record["additional_info"], "for the customer");
    assert_eq!(record["admin_notes"], "for admins only");
}

#[tokio::test]
async fn d_no_5xx_malformed_parameters_and_bodies() {
    let s = server().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"%".to_vec(),
        b"=".to_vec(),
        b"&&&===&&".to_vec(),
        b"action=create&service_id=1&category=%FF%FE%00".to_vec(),
        b"action=create&service_id=99999999999999999999999&category=Spam".to_vec(),
        b"action%00=create".to_vec(),
        vec![0xff; 4096],
        (0..=255u8).cycle().take(70_000).collect(),
        "action=create&".repeat(50_000).into_bytes(),
        b"action[=create&service_id]=1&category[[]]=x".to_vec(),
    ];
    for body in &bodies {
        s.form(body.clone()).await; // `reply` asserts no 5xx and a JSON body
        for ct in [
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "text/plain",
        ] {
            s.send(
                s.request(Method::POST)
                    .header("content-type", ct)
                    .body(body.clone()),
            )
            .await;
        }
    }
    // A multipart body cut in the middle of a part.
    let (ct, mut body) = curl_multipart(&[
        Part::Field("action", b"create"),
        Part::Field("category", b"Spam"),
    ]);
    body.truncate(body.len() - 20);
    s.send(
        s.request(Method::POST)
            .header("content-type", ct)
            .body(body),
    )
    .await;
    // Broken framing may be refused by the HTTP layer, with a 4xx and never a 5xx.
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\napi_id: {KEY}\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
        amp_conformance::server::API_PATH
    );
    let (status, _, _) = raw_http(&s.server, request.as_bytes()).await;
    assert!((400..500).contains(&status), "HTTP {status}");
}

// ---------------------------------------------------------------------------------------------
// Reference rules: transport.
// ---------------------------------------------------------------------------------------------
