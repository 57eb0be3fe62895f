//! The reference server over real loopback HTTP: one test (or a few) per rule id of
//! CONTRACT.md, named after it, plus the observer (§5) and the JSON 404s.
//!
//! Bodies are built the way real clients send them: `application/x-www-form-urlencoded` exactly
//! as PHP's `http_build_query` encodes its array (see [`http_build_query`], itself checked
//! against literal PHP output), and `multipart/form-data` exactly as PHP's curl extension sends
//! it when `CURLOPT_POSTFIELDS` is an array (see [`curl_multipart`]). A few framing cases go
//! over a raw TCP socket, since reqwest cannot send them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use amp_conformance::server::{Registry, RunningServer, ServerConfig, start_local};
use amp_contract::Action;
use amp_contract::envelope::{ApiIds, BODY_LIMIT};
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "test-key";
const FORM: &str = "application/x-www-form-urlencoded";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");

// ---------------------------------------------------------------------------------------------
// Encoders: PHP's http_build_query and curl's multipart, written independently of the contract.
// ---------------------------------------------------------------------------------------------

/// A PHP value as `http_build_query` sees it.
#[derive(Debug, Clone)]
enum Php<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    /// `['x', 'y']`: keys 0, 1, …
    List(Vec<&'a str>),
    /// `['k' => 'x']`.
    Map(Vec<(&'a str, &'a str)>),
}

/// PHP's `urlencode`: ASCII letters, digits and `-_.` stay, a space is `+`, every other byte
/// is `%XX` with upper-case hex.
fn urlencode(raw: &[u8]) -> String {
    let mut out = String::new();
    for &b in raw {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// PHP's `http_build_query($array)` with the default separator and `PHP_QUERY_RFC1738`:
/// `true` is `1`, `false` is `0`, arrays become `key%5B0%5D=…` / `key%5Bk%5D=…`.
fn http_build_query(params: &[(&str, Php<'_>)]) -> String {
    let mut parts = Vec::new();
    for (key, value) in params {
        match value {
            Php::Str(s) => parts.push(format!(
                "{}={}",
                urlencode(key.as_bytes()),
                urlencode(s.as_bytes())
            )),
            Php::Int(n) => parts.push(format!("{}={n}", urlencode(key.as_bytes()))),
            Php::Bool(b) => parts.push(format!("{}={}", urlencode(key.as_bytes()), u8::from(*b))),
            Php::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    let k = format!("{key}[{i}]");
                    parts.push(format!(
                        "{}={}",
                        urlencode(k.as_bytes()),
                        urlencode(item.as_bytes())
                    ));
                }
            }
            Php::Map(items) => {
                for (sub, item) in items {
                    let k = format!("{key}[{sub}]");
                    parts.push(format!(
                        "{}={}",
                        urlencode(k.as_bytes()),
                        urlencode(item.as_bytes())
                    ));
                }
            }
        }
    }
    parts.join("&")
}

/// The boundary curl generates: 24 dashes and 16 hex digits.
const CURL_BOUNDARY: &str = "------------------------d74496d66958873e";

/// One part of a curl multipart body.
enum Part<'a> {
    /// `'name' => 'value'`.
    Field(&'a str, &'a [u8]),
    /// `'name' => new CURLFile(...)`: a file upload with this file name and content.
    File(&'a str, &'a str, &'a [u8]),
}

/// The body PHP's curl sends for `CURLOPT_POSTFIELDS => [...]`, and its content type.
fn curl_multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{CURL_BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value);
            }
            Part::File(name, filename, content) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{CURL_BOUNDARY}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={CURL_BOUNDARY}"),
        body,
    )
}

// ---------------------------------------------------------------------------------------------
// A server per test, a client, and the checks every answer must pass.
// ---------------------------------------------------------------------------------------------

struct Srv {
    server: RunningServer,
    client: reqwest::Client,
}

/// An answer, already checked for D-NO-5XX and D-ERROR-SHAPE.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    json: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.json["error_code"].as_str().unwrap_or("")
    }

    fn description(&self) -> &str {
        self.json["error_description"].as_str().unwrap_or("")
    }

    /// Asserts a D-SUCCESS answer (with R-STATUS) and returns its `report_id`.
    #[track_caller]
    fn success(&self) -> u64 {
        assert_eq!(self.json["status"], "success", "{self:?}");
        assert_eq!(self.status, 200, "{self:?}");
        self.json["report_id"]
            .as_u64()
            .filter(|&id| id >= 1)
            .unwrap_or_else(|| panic!("{self:?}"))
    }

    /// Asserts an AMP error with this code and HTTP 200 (R-STATUS).
    #[track_caller]
    fn error(&self, code: &str) -> &Self {
        assert_eq!(self.json["status"], "error", "{self:?}");
        assert_eq!(self.code(), code, "{self:?}");
        assert_eq!(self.status, 200, "{self:?}");
        self
    }

    /// Asserts AMP003 naming each of `fields` in the description.
    #[track_caller]
    fn amp003_naming(&self, fields: &[&str]) -> &Self {
        self.error("AMP003");
        for field in fields {
            assert!(
                self.description().contains(field),
                "{field} not named: {self:?}"
            );
        }
        self
    }
}

fn config() -> ServerConfig {
    ServerConfig::new(
        ApiIds::from_list(KEY),
        Registry::from_file(Path::new(SERVICES)).unwrap(),
    )
}

async fn server() -> Srv {
    let server = start_local(config()).await.unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Srv { server, client }
}

/// D-NO-5XX and D-ERROR-SHAPE, checked on every answer of the API.
async fn reply(response: reqwest::Response) -> Reply {
    let reply = reply_json(response).await;
    let json = &reply.json;
    if json["status"] == "error" {
        let code = json["error_code"]
            .as_str()
            .unwrap_or_else(|| panic!("D-ERROR-SHAPE: {json}"));
        assert!(
            code.len() == 6
                && code.starts_with("AMP")
                && code[3..].bytes().all(|b| b.is_ascii_digit()),
            "D-ERROR-SHAPE: {json}"
        );
        let description = json["error_description"].as_str().unwrap_or("");
        assert!(!description.is_empty(), "D-ERROR-SHAPE: {json}");
    }
    reply
}

/// An answer that is not a 5xx and whose body is JSON (every path of the server).
async fn reply_json(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    assert!(status < 500, "D-NO-5XX: HTTP {status}");
    let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "D-NO-5XX: not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Reply {
        status,
        content_type,
        json,
    }
}

impl Srv {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn stored(&self) -> usize {
        self.server.state().store.len()
    }

    /// An authenticated request to the API.
    fn request(&self, method: Method) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.endpoint())
            .header("api_id", KEY)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        reply(request.send().await.unwrap()).await
    }

    /// An authenticated urlencoded POST.
    async fn form(&self, body: impl Into<Vec<u8>>) -> Reply {
        let body: Vec<u8> = body.into();
        self.send(
            self.request(Method::POST)
                .header("content-type", FORM)
                .body(body),
        )
        .await
    }

    /// An authenticated POST of `http_build_query($params)`.
    async fn php(&self, params: &[(&str, Php<'_>)]) -> Reply {
        self.form(http_build_query(params)).await
    }

    /// The observer's record of a report.
    async fn observe(&self, report_id: u64) -> Value {
        let url = self
            .server
            .observe_template()
            .replace("{report_id}", &report_id.to_string());
        let response = self
            .client
            .get(url)
            .header("api_id", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// Creates with `extra` appended to a valid minimal body and returns the stored record.
    async fn create_and_observe(&self, extra: &str) -> Value {
        let id = self
            .form(format!("action=create&service_id=1&category=Spam{extra}"))
            .await
            .success();
        self.observe(id).await
    }
}

/// Sends raw bytes and reads the whole answer (the request asks the server to close).
async fn raw_http(server: &RunningServer, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(answer[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, answer[split + 4..].to_vec())
}

const MINIMAL: &str = "action=create&service_id=1&category=Spam";

// ---------------------------------------------------------------------------------------------
// The encoders themselves.
// ---------------------------------------------------------------------------------------------

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
