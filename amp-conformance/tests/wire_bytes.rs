//! What goes on the wire, byte for byte (CONTRACT.md §4): every ordinary request carries the
//! key under `API_ID`, exactly as the page spells it; a header-case check sends exactly the
//! casing it names. A raw TCP server records each request's bytes; a PHP server shows what
//! `getallheaders()` makes of them. Also the transport's reading of answers: chunked,
//! close-delimited, keep-alive reuse, a stale pooled connection, framing errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp_conformance::cases::{Auth, WireRequest};
use amp_conformance::runner::{dry_run, run};
use amp_conformance::target::{Secret, Target, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "wire-key-3b9e51";
const ANSWER: &str = r#"{"status":"error","error_code":"AMP003","error_description":"Missing required parameters."}"#;

/// One request as it arrived: the connection it came on and its exact bytes.
#[derive(Debug, Clone)]
struct Recorded {
    connection: usize,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Recorded {
    /// Header lines as sent (name bytes untouched).
    fn headers(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(&self.head)
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// The names under which the key arrived, in order.
    fn key_names(&self) -> Vec<String> {
        self.headers()
            .into_iter()
            .filter(|(_, v)| v == KEY)
            .map(|(n, _)| n)
            .collect()
    }
}

/// What the server does with a request.
enum Reply {
    /// Write these bytes and wait for the next request on the connection.
    Keep(Vec<u8>),
    /// Write these bytes and close.
    Close(Vec<u8>),
    /// Close without a byte.
    Hang,
}

struct Recorder {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request: the head up to the blank line, and a `Content-Length` body.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut chunk = vec![0u8; 64 * 1024];
    let end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = buffer[..end].to_vec();
    let length: usize = String::from_utf8_lossy(&head)
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[end..end + length].to_vec();
    buffer.drain(..end + length);
    Some((head, body))
}

/// A server that records every request and answers as `reply` says, given the index of the
/// request on the whole server.
async fn recorder<F, Fut>(reply: F) -> Recorder
where
    F: Fn(usize, Recorded) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let reply = Arc::new(reply);
    let (recorded, counted) = (Arc::clone(&requests), Arc::clone(&connections));
    let task = tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut stream, _)) = accepted else { break };
                    let connection = counted.fetch_add(1, Ordering::SeqCst);
                    let (recorded, reply) = (Arc::clone(&recorded), Arc::clone(&reply));
                    tasks.spawn(async move {
                        let mut buffer = Vec::new();
                        while let Some((head, body)) = read_request(&mut stream, &mut buffer).await {
                            let request = Recorded { connection, head, body };
                            let index = {
                                let mut all = recorded.lock().unwrap();
                                all.push(request.clone());
                                all.len() - 1
                            };
                            match reply(index, request).await {
                                Reply::Keep(bytes) => {
                                    if stream.write_all(&bytes).await.is_err() {
                                        return;
                                    }
                                }
                                Reply::Close(bytes) => {
                                    let _ = stream.write_all(&bytes).await;
                                    return;
                                }
                                Reply::Hang => return,
                            }
                        }
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
    });
    Recorder {
        addr,
        requests,
        connections,
        task,
    }
}

fn fixed_json() -> Reply {
    Reply::Keep(raw::json(ANSWER))
}

/// The key-header names of each planned request, from the dry run's curl commands (the same
/// plan a run with this config and seed sends).
fn planned_names(plan: &str) -> Vec<Vec<String>> {
    plan.lines()
        .filter(|l| l.starts_with("curl "))
        .map(|line| {
            line.split("-H \"")
                .skip(1)
                .filter_map(|h| h.split_once(": $AMP_API_ID\""))
                .map(|(name, _)| name.to_owned())
                .collect()
        })
        .collect()
}

fn multiset(names: impl IntoIterator<Item = Vec<String>>) -> BTreeMap<Vec<String>, usize> {
    let mut counts = BTreeMap::new();
    for n in names {
        *counts.entry(n).or_insert(0) += 1;
    }
    counts
}

/// Two header-case checks of this test's own, in a temporary directory (added to the built-in
/// cases, which have their own).
fn fixtures_with_casings() -> std::path::PathBuf {
    let dir = raw::temp_dir("wire-bytes-fixtures");
    let mut extra = String::new();
    for (id, name) in [("lower", "api_id"), ("mixed", "Api_Id")] {
        extra.push_str(&format!(
            "[[case]]\nid = \"header-{id}\"\nrules = [\"D-AUTH\"]\n\
             title = \"the key under {name}\"\nauth = \"header:{name}\"\n\
             form = [[\"action\", \"create\"], [\"category\", \"Spam\"]]\n\
             expect = {{ outcome = \"error\", code = \"AMP003\", params = [\"service_id\"] }}\n\n"
        ));
    }
    std::fs::write(dir.join("zz_wire_bytes.toml"), extra).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_sends_each_key_header_exactly_as_its_request_names_it() {
    let server = recorder(|_, _| async { fixed_json() }).await;
    let fixtures = fixtures_with_casings();
    let config = || {
        let mut config = raw::config(&server.url(raw::API), KEY);
        config.fixtures =
            amp_conformance::cases::fixtures::FixtureSource::builtin().with_dir(fixtures.clone());
        config.timeout = Duration::from_secs(5);
        config
    };
    let plan = dry_run(config()).unwrap();
    let planned = planned_names(&plan);
    assert!(planned.len() > 20, "{plan}");
    let report = run(config()).await.unwrap();
    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    let requests = server.requests();
    let received: Vec<Vec<String>> = requests.iter().map(Recorded::key_names).collect();

    // Each planned request arrived carrying the key under exactly the names it claims.
    assert_eq!(multiset(received.clone()), multiset(planned.clone()));
    // Ordinary requests say API_ID; the header-case checks arrive in their own casing.
    let names: Vec<&String> = received.iter().flatten().collect();
    for name in ["API_ID", "api_id", "Api_Id", "API-ID"] {
        assert!(names.iter().any(|n| *n == name), "no request with {name}");
    }
    let ordinary = received.iter().filter(|n| *n == &["API_ID"]).count();
    assert!(ordinary > 10, "{received:?}");
    assert!(
        received.contains(&vec!["API_ID".to_owned(), "API_ID".to_owned()]),
        "the twice check sends two API_ID headers"
    );

    // Every request names the kit and the run, and frames its body.
    let marker = format!(
        "x-amp-conformance: amp-conformance/{}",
        env!("CARGO_PKG_VERSION")
    );
    let agent = format!("User-Agent: amp-conformance/{}", env!("CARGO_PKG_VERSION"));
    for r in &requests {
        let head = String::from_utf8_lossy(&r.head);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap();
        assert!(request_line.ends_with(" HTTP/1.1"), "{head}");
        assert_eq!(
            lines.next(),
            Some(format!("Host: {}", server.addr).as_str())
        );
        assert!(
            head.contains(&format!("\r\n{marker} run={}\r\n", report.run_id)),
            "{head}"
        );
        assert!(head.contains(&format!("\r\n{agent}\r\n")), "{head}");
        if request_line.starts_with("POST ") {
            assert!(
                head.contains(&format!("\r\nContent-Length: {}\r\n", r.body.len())),
                "{head}"
            );
        }
    }
    // Keep-alive: far fewer connections than requests.
    assert!(
        server.connections() * 4 < requests.len(),
        "{} connections for {} requests",
        server.connections(),
        requests.len()
    );
    let _ = std::fs::remove_dir_all(&fixtures);
}

fn target(url: &str) -> Target {
    Target::new(
        url,
        Secret::new(KEY),
        Duration::from_secs(5),
        1024 * 1024,
        "wire-test",
    )
    .unwrap()
}

fn request(auth: Auth) -> WireRequest {
    WireRequest {
        method: "POST".to_owned(),
        auth,
        headers: vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )],
        query: None,
        body: b"action=create".to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_puts_exactly_the_named_bytes_in_the_head() {
    let server = recorder(|_, _| async { fixed_json() }).await;
    let target = target(&server.url(raw::API));
    let cases = [
        (Auth::ValidAs("api_id".to_owned()), "api_id"),
        (Auth::ValidAs("Api_Id".to_owned()), "Api_Id"),
        (Auth::Valid, "API_ID"),
    ];
    for (auth, _) in &cases {
        let answer = target.send(&request(auth.clone())).await.unwrap();
        assert_eq!(answer.body, ANSWER.as_bytes());
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for (recorded, (_, name)) in requests.iter().zip(cases) {
        let head = &recorded.head;
        let line = format!("\r\n{name}: {KEY}\r\n");
        assert!(
            find(head, line.as_bytes()).is_some(),
            "{name}: {}",
            String::from_utf8_lossy(head)
        );
        // The key appears once, under that name only.
        assert_eq!(recorded.key_names(), vec![name.to_owned()]);
        // Auth comes before the request's own headers, in their order; then the body.
        let auth_at = find(head, line.as_bytes()).unwrap();
        let ct_at = find(
            head,
            b"\r\ncontent-type: application/x-www-form-urlencoded\r\n",
        )
        .unwrap();
        assert!(auth_at < ct_at);
        assert!(head.ends_with(b"\r\n\r\n"));
        assert_eq!(recorded.body, b"action=create");
    }
    // One connection served all three.
    assert_eq!(server.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_close_delimited_and_keep_alive_answers_are_read() {
    let chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5;ext=1\r\n{\"sta\r\n3\r\ntus\r\n0000A\r\n\":\"error\",\r\n\
                    0\r\nX-Trailer: yes\r\n\r\n"
            .to_vec();
    let close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".to_vec();
    let server = recorder(move |index, _| {
        let (chunked, close) = (chunked.clone(), close.clone());
        async move {
            match index {
                // Two keep-alive answers on one connection, one of them chunked.
                0 => Reply::Keep(raw::json("{}")),
                1 => Reply::Keep(chunked),
                2 => Reply::Keep(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
                3 => Reply::Keep(
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                        .to_vec(),
                ),
                // Read to the close: the connection cannot be reused.
                4 => Reply::Close(close),
                _ => Reply::Keep(raw::json("[]")),
            }
        }
    })
    .await;
    let target = target(&server.url(raw::API));
    let valid = request(Auth::Valid);
    let send = || target.send(&valid);
    assert_eq!(send().await.unwrap().body, b"{}");
    let answer = send().await.unwrap();
    assert_eq!(answer.body, b"{\"status\":\"error\",");
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    let answer = send().await.unwrap();
    assert_eq!((answer.status, answer.body.len()), (204, 0));
    let answer = send().await.unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(
        server.connections(),
        1,
        "keep-alive answers share one connection"
    );
    let answer = send().await.unwrap();
    assert_eq!(answer.body, b"until the end");
    assert_eq!(answer.content_type.as_deref(), Some("text/plain"));
    assert_eq!(send().await.unwrap().body, b"[]");
    assert_eq!(
        server.connections(),
        2,
        "a close-delimited answer ends its connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_the_server_dropped_is_replaced_once() {
    // The second request on the first connection is read and dropped without a byte, as a
    // server closing an idle keep-alive connection does; the client must resend it.
    let server = recorder(|index, _| async move {
        match index {
            1 => Reply::Hang,
            _ => Reply::Keep(raw::json("{\"n\":1}")),
        }
    })
    .await;
    let target = target(&server.url(raw::API));
    for _ in 0..3 {
        let answer = target.send(&request(Auth::Valid)).await.unwrap();
        assert_eq!(answer.body, b"{\"n\":1}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "the dropped request was sent again");
    assert_eq!(server.connections(), 2);
    assert_eq!(requests[2].connection, 1);
    assert_eq!(requests[3].connection, 1);

    // A fresh connection that fails the same way is an error, not retried forever.
    let silent = recorder(|_, _| async { Reply::Hang }).await;
    let err = target_send(&silent).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "no valid HTTP answer: the connection closed before an answer"
    );
    assert_eq!(silent.requests().len(), 1);
}

async fn target_send(
    server: &Recorder,
) -> Result<amp_conformance::target::HttpAnswer, TransportError> {
    target(&server.url(raw::API))
        .send(&request(Auth::Valid))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_errors_are_classified() {
    let server = recorder(|index, _| async move {
        match index {
            0 => Reply::Close(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n{}".to_vec()),
            1 => Reply::Close(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            ),
            2 => Reply::Close(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\"".to_vec(),
            ),
            3 => Reply::Close(b"{\"status\":\"success\",\"report_id\":1}".to_vec()),
            4 => Reply::Close(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
            ),
            _ => Reply::Close(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx\r\n0\r\n\r\n"
                    .to_vec(),
            ),
        }
    })
    .await;
    let target = target(&server.url(raw::API));
    let valid = request(Auth::Valid);
    let send = || target.send(&valid);
    assert_eq!(
        send().await.unwrap_err(),
        TransportError::TooLarge(1024 * 1024)
    );
    assert_eq!(
        send().await.unwrap_err().to_string(),
        "the answer broke off in the body (HTTP 200): invalid chunk size line"
    );
    assert_eq!(
        send().await.unwrap_err().to_string(),
        "the answer broke off in the body (HTTP 200): end of file before message length reached"
    );
    let err = send().await.unwrap_err().to_string();
    assert!(err.starts_with("no valid HTTP answer: "), "{err}");
    assert_eq!(
        send().await.unwrap_err().to_string(),
        "no valid HTTP answer: conflicting Content-Length values"
    );
    assert_eq!(
        send().await.unwrap_err().to_string(),
        "the answer broke off in the body (HTTP 200): chunk data not followed by a line end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_that_speaks_plain_http_fails_the_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let target = target(&format!("https://{addr}{}", raw::API));
    match target.send(&request(Auth::Valid)).await {
        Err(e @ TransportError::Connect { step, .. }) => {
            assert_eq!(step, "TLS handshake", "{e}");
            assert!(e.is_unreachable());
            // Not rustls' "received corrupt message of type InvalidContentType": what to change.
            assert!(
                e.to_string().contains("answered plain HTTP") && e.to_string().contains("http://"),
                "{e}"
            );
            assert!(!e.to_string().contains(KEY));
        }
        other => panic!("expected a TLS handshake failure, got {other:?}"),
    }
    task.abort();
}

/// Whether `php` runs; panics when it does not but `AMP_REQUIRE_PHP=1` requires it.
fn php_ready() -> bool {
    if std::process::Command::new("php")
        .args(["-r", "exit(0);"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert!(
        !std::env::var("AMP_REQUIRE_PHP").is_ok_and(|v| v == "1"),
        "AMP_REQUIRE_PHP=1 but php does not run"
    );
    eprintln!(
        "SKIPPED: php is not installed (php-cli); set AMP_REQUIRE_PHP=1 to make this a failure"
    );
    false
}

/// The issue this transport exists for: a PHP server reading `getallheaders()['API_ID']`
/// (an array with case-sensitive keys) finds the key the kit sends, and only under the
/// spelling that was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_getallheaders_sees_api_id_as_the_page_spells_it() {
    if !php_ready() {
        return;
    }
    let dir = raw::temp_dir("wire-bytes-php");
    std::fs::write(
        dir.join("router.php"),
        "<?php\n$h = getallheaders();\nheader('Content-Type: application/json');\n\
         echo json_encode(['names' => array_keys($h), 'api_id' => $h['API_ID'] ?? null]);\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _php = tokio::process::Command::new("php")
        .arg("-S")
        .arg(format!("127.0.0.1:{port}"))
        .arg(dir.join("router.php"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let target = target(&format!("http://127.0.0.1:{port}{}", raw::API));
    let seen = |answer: amp_conformance::target::HttpAnswer| -> serde_json::Value {
        serde_json::from_slice(&answer.body).unwrap()
    };
    let valid = seen(target.send(&request(Auth::Valid)).await.unwrap());
    assert_eq!(valid["api_id"], KEY, "{valid}");
    let lower = seen(
        target
            .send(&request(Auth::ValidAs("api_id".to_owned())))
            .await
            .unwrap(),
    );
    assert!(lower["api_id"].is_null(), "{lower}");
    assert!(
        lower["names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "api_id"),
        "{lower}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server that refuses a large body before reading it (nginx's `client_max_body_size`
/// answers 413 so) is heard: the answer is read while the request is still being written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_before_the_whole_body_was_sent_is_read() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\n\
                          Content-Length: 9\r\n\r\ntoo large",
                    )
                    .await;
                let _ = stream.shutdown().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    let target = target(&format!("http://{addr}{}", raw::API));
    let mut big = request(Auth::Valid);
    big.body = vec![b'a'; 16 * 1024 * 1024];
    let answer = target.send(&big).await.unwrap();
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (413, &b"too large"[..])
    );
    task.abort();
}
