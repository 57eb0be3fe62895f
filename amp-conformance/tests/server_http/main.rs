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

mod documented;
mod transport;
mod values;
