//! Raw HTTP/1.1 test servers on loopback, written byte by byte with `tokio::net`: every request
//! is read and recorded (method, target, headers, body, arrival time), and a behaviour decides
//! what goes back, if anything: a correct AMP answer, garbage, half an answer, or silence.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amp_conformance::config::RunConfig;
use amp_conformance::target::Secret;
use amp_contract::envelope::{self, ApiIds, Body, DedicatedIp, Request};
use amp_contract::{ApiResponse, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The documented endpoint path.
pub const API: &str = "/modules/addons/abusemanagerpro/includes/api.php";

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Method.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// Headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// When the request head had arrived.
    pub at: Instant,
}

impl RawRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of parameter `name`, from a urlencoded or multipart body.
    pub fn param(&self, name: &str) -> Option<String> {
        let content_type = self.header("content-type").unwrap_or("");
        if content_type.starts_with("multipart/form-data") {
            let text = String::from_utf8_lossy(&self.body);
            let needle = format!("name=\"{name}\"\r\n\r\n");
            let at = text.rfind(&needle)? + needle.len();
            let end = text[at..].find("\r\n--").map_or(text.len(), |e| at + e);
            return Some(text[at..end].to_owned());
        }
        let text = String::from_utf8_lossy(&self.body);
        text.split('&')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k) == name).then(|| decode(v))
            })
            .next_back()
    }
}

/// Percent-decodes a form value (`+` is a space).
pub fn decode(text: &str) -> String {
    let plus = text.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// A running raw server; dropping it stops it and every connection it holds.
pub struct RawServer {
    /// The listening address.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    /// The API endpoint URL on this server.
    pub fn endpoint(&self) -> String {
        format!("http://{}{API}", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// How many requests were received.
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// Starts a server on 127.0.0.1:0. `behaviour` gets the connection and the request; it returns
/// the connection to keep it open for the next request, or `None` to close it.
pub async fn spawn<F, Fut>(behaviour: F) -> RawServer
where
    F: Fn(TcpStream, RawRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<TcpStream>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let behaviour = Arc::new(behaviour);
    let recorded = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        // Connections live in the set: aborting the server aborts them all.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    // A failing accept ends the server: the test then fails on what it missed.
                    let Ok((stream, _)) = accepted else { break };
                    let behaviour = Arc::clone(&behaviour);
                    let recorded = Arc::clone(&recorded);
                    connections.spawn(async move {
                        let mut stream = stream;
                        let mut buffer = Vec::new();
                        for _ in 0..100_000 {
                            let Some(request) = read_request(&mut stream, &mut buffer).await else {
                                return;
                            };
                            recorded.lock().unwrap().push(request.clone());
                            match behaviour(stream, request).await {
                                Some(s) => stream = s,
                                None => return,
                            }
                        }
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    RawServer {
        addr,
        requests,
        task,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request (head and `Content-Length` body) from `stream`; bytes after it stay in
/// `buffer` for the next one.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<RawRequest> {
    let mut chunk = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 256 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > 64 * 1024 * 1024 {
        return None;
    }
    let start = head_end + 4;
    while buffer.len() < start + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[start..start + length].to_vec();
    buffer.drain(..start + length);
    Some(RawRequest {
        method,
        target,
        headers,
        body,
        at,
    })
}

/// An HTTP/1.1 answer with `Content-Length`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `bytes` and keeps the connection.
pub async fn reply(mut stream: TcpStream, bytes: Vec<u8>) -> Option<TcpStream> {
    stream.write_all(&bytes).await.ok()?;
    Some(stream)
}

/// A 200 JSON answer.
pub fn json(body: &str) -> Vec<u8> {
    response(
        "200 OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// The services the correct raw server knows: 1 with a dedicated IP, 2 without; 999 is missing.
pub fn services() -> Vec<(u32, DedicatedIp)> {
    vec![
        (1, DedicatedIp::Address("192.0.2.10".parse().unwrap())),
        (2, DedicatedIp::None),
    ]
}

/// A service id that does not exist.
pub const MISSING: u32 = 999;

/// What a correct AMP server answers (the contract's envelope); `ids` numbers the creates.
/// Returns the status, the JSON body and whether a report was created.
pub fn amp_answer(request: &RawRequest, key: &str, ids: &AtomicU64) -> (u16, String, bool) {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &request.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    let method = http::Method::from_bytes(request.method.as_bytes()).unwrap_or(http::Method::POST);
    let body = if request.body.len() > envelope::BODY_LIMIT {
        Body::TooLarge
    } else {
        Body::Complete(&request.body)
    };
    let known = services();
    let directory = move |id: u32| known.iter().find(|(s, _)| *s == id).map(|(_, ip)| *ip);
    let envelope_request = Request {
        method: &method,
        headers: &headers,
        body,
    };
    match envelope::handle(&envelope_request, &ApiIds::new([key]), &directory) {
        Ok(_) => {
            let id = ids.fetch_add(1, Ordering::SeqCst) + 1;
            (200, ApiResponse::Success { report_id: id }.to_json(), true)
        }
        Err(rejection) => (
            rejection.status.as_u16(),
            ApiResponse::from(&rejection.error).to_json(),
            false,
        ),
    }
}

/// The whole HTTP answer of a correct AMP server (HTTP 200, or R-BODY's 413, with JSON), and
/// whether a report was created.
pub fn amp_http_answer(request: &RawRequest, key: &str, ids: &AtomicU64) -> (Vec<u8>, bool) {
    let (status, body, created) = amp_answer(request, key, ids);
    let status = if status == 413 {
        "413 Too Large"
    } else {
        "200 OK"
    };
    let answer = response(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    (answer, created)
}

/// A raw AMP error body.
pub fn amp_error(code: ErrorCode, description: &str) -> String {
    serde_json::json!({
        "status": "error",
        "error_code": code.to_string(),
        "error_description": description,
    })
    .to_string()
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A run against `endpoint`: the raw server's services, no property cases, 1 s timeouts,
/// two requests in flight, the default stop after consecutive transport errors.
pub fn config(endpoint: &str, key: &str) -> RunConfig {
    let mut config = RunConfig::embedded();
    config.target = Some(endpoint.to_owned());
    config.key = Some(Secret::new(key));
    config.services = services();
    config.missing_service = Some(MISSING);
    config.cases = 0;
    config.seed = Some(7);
    config.timeout = Duration::from_secs(1);
    config.concurrency = 2;
    config
}

/// A fresh, empty temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("amp-{name}-{}-{nanos:08x}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The kit's binary, run from the workspace root, without `AMP_API_ID`, `CI` or colours.
pub fn bin() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_amp-conformance"));
    cmd.current_dir(workspace())
        .env_remove("AMP_API_ID")
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    cmd
}

/// Stdout and stderr as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A random hex token.
pub fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}
