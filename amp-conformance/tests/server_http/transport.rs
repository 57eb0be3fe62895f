//! The reference resolutions of transport (CONTRACT.md §3: R-METHOD, R-BODY, R-DUPLICATE,
//! R-UTF8, R-STATUS) over real HTTP.

use super::*;

#[tokio::test]
async fn r_method_query_string_ignored() {
    let s = server().await;
    let url = format!("{}?{MINIMAL}", s.endpoint());
    let post = || {
        s.client
            .post(&url)
            .header("api_id", KEY)
            .header("content-type", FORM)
    };
    s.send(post().body("")).await.error("AMP002");
    s.send(post().body("action=create"))
        .await
        .amp003_naming(&["service_id", "category"]);
    // Body parameters win and are the only ones read.
    let url = format!("{}?category=FromQuery&service_id=2", s.endpoint());
    let id = s
        .send(
            s.client
                .post(&url)
                .header("api_id", KEY)
                .header("content-type", FORM)
                .body(MINIMAL),
        )
        .await
        .success();
    let record = s.observe(id).await;
    assert_eq!(
        (record["category"].as_str(), record["service_id"].as_u64()),
        (Some("Spam"), Some(1))
    );
    assert_eq!(s.stored(), 1);
}

#[tokio::test]
async fn r_method_non_post_methods_have_no_parameters() {
    let s = server().await;
    for method in ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let authenticated = s
            .request(method.clone())
            .header("content-type", FORM)
            .body(MINIMAL);
        s.send(authenticated).await.error("AMP002");
        let anonymous = s
            .client
            .request(method.clone(), s.endpoint())
            .header("content-type", FORM)
            .body(MINIMAL);
        s.send(anonymous).await.error("AMP001");
    }
    // GET with the parameters in the query string is still no parameters.
    let url = format!("{}?{MINIMAL}", s.endpoint());
    s.send(s.client.get(url).header("api_id", KEY))
        .await
        .error("AMP002");
    // HEAD: same status, no body.
    let head = s.request(Method::HEAD).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn r_body_413_authenticated_oversize_is_amp003_before_action() {
    let s = server().await;
    // 5 MiB with a Content-Length: refused from the declared length.
    let big = vec![b'a'; 5 * 1024 * 1024];
    let r = s.form(big.clone()).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json["status"], "error");
    assert_eq!(r.code(), "AMP003");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    // The same without a length (chunked): refused once the limit is passed.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..80).map(|_| Ok(vec![b'a'; 64 * 1024])).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = s
        .send(
            s.request(Method::POST)
                .header("content-type", FORM)
                .body(streamed),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "AMP003"), "{r:?}");
    // Oversize with no action at all: the body cannot be read, so AMP003, not AMP002.
    let r = s
        .send(
            s.request(Method::POST)
                .header("content-type", "text/plain")
                .body(big),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "AMP003"), "{r:?}");
    // One byte over the limit.
    let r = s.form(vec![b'a'; BODY_LIMIT + 1]).await;
    assert_eq!((r.status, r.code()), (413, "AMP003"), "{r:?}");
    assert_eq!(s.stored(), 0);
}

#[tokio::test]
async fn r_body_limit_exactly_one_mib_is_read() {
    let s = server().await;
    let prefix = format!("{MINIMAL}&padding=");
    let mut body = prefix.into_bytes();
    body.resize(BODY_LIMIT, b'p');
    assert_eq!(body.len(), 1024 * 1024);
    s.form(body.clone()).await.success();
    // Streamed without a length, in chunks: the same.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    s.send(
        s.request(Method::POST)
            .header("content-type", FORM)
            .body(streamed),
    )
    .await
    .success();
    assert_eq!(s.stored(), 2);
}

#[tokio::test]
async fn r_body_unauthenticated_oversize_is_amp001() {
    let s = server().await;
    let big = vec![b'a'; 5 * 1024 * 1024];
    let r = s
        .send(
            s.client
                .post(s.endpoint())
                .header("content-type", FORM)
                .body(big.clone()),
        )
        .await;
    assert_eq!((r.status, r.code()), (200, "AMP001"), "{r:?}");
    let r = s
        .send(
            s.client
                .post(s.endpoint())
                .header("api_id", "wrong")
                .body(big),
        )
        .await;
    assert_eq!((r.status, r.code()), (200, "AMP001"), "{r:?}");
}

#[tokio::test]
async fn r_body_other_content_types_are_no_parameters() {
    let s = server().await;
    for ct in [
        "text/plain",
        "application/json",
        "application/octet-stream",
        "form-urlencoded",
        "application/x-www-form-urlencodedx",
    ] {
        s.send(
            s.request(Method::POST)
                .header("content-type", ct)
                .body(MINIMAL),
        )
        .await
        .error("AMP002");
    }
    s.send(s.request(Method::POST).body(MINIMAL))
        .await
        .error("AMP002");
    let json = r#"{"action":"create","service_id":1,"category":"Spam"}"#;
    s.send(
        s.request(Method::POST)
            .header("content-type", "application/json")
            .body(json),
    )
    .await
    .error("AMP002");
    assert_eq!(s.stored(), 0);
    // The media type is matched case-insensitively and parameters are allowed.
    for ct in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        s.send(
            s.request(Method::POST)
                .header("content-type", ct)
                .body(MINIMAL),
        )
        .await
        .success();
    }
}

#[tokio::test]
async fn r_body_multipart_as_curl_sends_it() {
    let s = server().await;
    let (ct, body) = curl_multipart(&[
        Part::Field("action", b"create"),
        Part::Field("service_id", b"2"),
        Part::Field("category", "High I/O & more =+%".as_bytes()),
        Part::Field("suspend_method", b"immediate"),
        Part::Field("allow_unsuspend", b"1"),
        Part::Field("additional_info", "line 1\r\nline 2 😀".as_bytes()),
        Part::Field("admin_notes", b"run 42"),
    ]);
    assert!(ct.ends_with("boundary=------------------------d74496d66958873e"));
    assert!(body.starts_with(b"--------------------------d74496d66958873e\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n"));
    let id = s
        .send(
            s.request(Method::POST)
                .header("content-type", ct)
                .body(body),
        )
        .await
        .success();
    let record = s.observe(id).await;
    assert_eq!(record["service_id"], 2);
    assert_eq!(record["category"], "High I/O & more =+%");
    assert_eq!(record["service_ip"], "2001:db8::10");
    assert_eq!(record["suspend_method"], "immediate");
    assert_eq!(record["allow_unsuspend"], true);
    assert_eq!(record["additional_info"], "line 1\r\nline 2 😀");
    assert_eq!(record["admin_notes"], "run 42");
}

#[tokio::test]
async fn r_body_multipart_file_part_ignored() {
    let s = server().await;
    // A file named like a required parameter does not supply it, even with an empty filename.
    for filename in ["report.txt", ""] {
        let (ct, body) = curl_multipart(&[
            Part::Field("action", b"create"),
            Part::Field("service_id", b"1"),
            Part::File("category", filename, b"Spam"),
        ]);
        s.send(
            s.request(Method::POST)
                .header("content-type", ct)
                .body(body),
        )
        .await
        .amp003_naming(&["category"]);
    }
    // A file part after a field does not override it (R-DUPLICATE counts parameters only).
    let (ct, body) = curl_multipart(&[
        Part::Field("action", b"create"),
        Part::Field("service_id", b"1"),
        Part::Field("category", b"Spam"),
        Part::File("service_id", "id.txt", b"999"),
        Part::File("upload", "evidence.log", &[0u8, 0xff, 0xfe]),
    ]);
    let id = s
        .send(
            s.request(Method::POST)
                .header("content-type", ct)
                .body(body),
        )
        .await
        .success();
    assert_eq!(s.observe(id).await["service_id"], 1);
}

#[tokio::test]
async fn r_duplicate_last_occurrence_wins_arrays_invalid() {
    let s = server().await;
    let record = s
        .create_and_observe("&category=Second&category=Third")
        .await;
    assert_eq!(record["category"], "Third");
    // Array syntax last, as http_build_query encodes it (category%5B0%5D) and raw.
    let php = http_build_query(&[
        ("action", Php::Str("create")),
        ("service_id", Php::Int(1)),
        ("category", Php::List(vec!["Spam"])),
    ]);
    assert!(php.contains("category%5B0%5D=Spam"));
    s.form(php).await.amp003_naming(&["category"]);
    let map = http_build_query(&[
        ("action", Php::Str("create")),
        ("service_id", Php::Map(vec![("a", "1")])),
        ("category", Php::Str("Spam")),
    ]);
    s.form(map).await.amp003_naming(&["service_id"]);
    s.form(format!("{MINIMAL}&category[]=x"))
        .await
        .amp003_naming(&["category"]);
    s.form(format!("{MINIMAL}&category[a]=x"))
        .await
        .amp003_naming(&["category"]);
    // Plain last after array: fine.
    let record = s.create_and_observe("&category[]=x&category=Plain").await;
    assert_eq!(record["category"], "Plain");
    // For action: AMP002.
    s.form("action[]=create&service_id=1&category=Spam")
        .await
        .error("AMP002");
    s.form(format!("{MINIMAL}&action%5Ba%5D=create"))
        .await
        .error("AMP002");
    let record = s.create_and_observe("").await;
    assert_eq!(record["category"], "Spam");
    // Unknown parameters ignored; keys not mangled (`service.id`, `service id`).
    s.form(format!("{MINIMAL}&unknown=1&token[]=2"))
        .await
        .success();
    s.form("action=create&service.id=1&category=Spam")
        .await
        .amp003_naming(&["service_id"]);
    s.form("action=create&service+id=1&category=Spam")
        .await
        .amp003_naming(&["service_id"]);
}

#[tokio::test]
async fn r_utf8_invalid_value_is_amp003_naming_the_field() {
    let s = server().await;
    s.form("action=create&service_id=1&category=%FF")
        .await
        .amp003_naming(&["category"]);
    s.form(format!("{MINIMAL}&additional_info=%C3%28"))
        .await
        .amp003_naming(&["additional_info"]);
    s.form(format!("{MINIMAL}&admin_notes=%ED%A0%80"))
        .await
        .amp003_naming(&["admin_notes"]);
    s.form("action=%FF&service_id=1&category=Spam")
        .await
        .error("AMP002");
    assert_eq!(s.stored(), 0);
    // Invalid escapes kept literally; `+` is a space.
    let record = s
        .create_and_observe("&additional_info=%zz+100%&admin_notes=a%2Bb+c%")
        .await;
    assert_eq!(record["additional_info"], "%zz 100%");
    assert_eq!(record["admin_notes"], "a+b c%");
    // Raw (unescaped) UTF-8 in a body is read as is.
    let record = s.create_and_observe("&additional_info=Grüße 😀").await;
    assert_eq!(record["additional_info"], "Grüße 😀");
}

#[tokio::test]
async fn r_status_200_json() {
    let s = server().await;
    let ok = s.form(MINIMAL).await;
    ok.success();
    assert_eq!(ok.content_type.as_deref(), Some("application/json"));
    for r in [
        s.send(s.client.post(s.endpoint()).body(MINIMAL)).await,
        s.form("action=x").await,
        s.form("action=create").await,
    ] {
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.content_type.as_deref(), Some("application/json"), "{r:?}");
    }
}
