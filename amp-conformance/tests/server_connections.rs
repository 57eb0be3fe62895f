//! The reference server under hostile or unusual connections (issue 13), over raw loopback
//! sockets: slow headers are closed after the header timeout, silent connections after the
//! idle timeout, a new client is served with the connection cap held by others, a request
//! followed at once by the client's FIN is answered every time, and heads the HTTP layer
//! refuses get JSON bodies (D-NO-5XX).
//!
//! Timeouts are configured short (a few hundred milliseconds) so the tests run fast; every
//! wait is for an event (an answer, the server's close) bounded by [`BOUND`] to fail rather
//! than hang; the only sleeps pace a slow client's bytes, which is the behaviour under test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amp_conformance::server::{
    API_PATH, MAX_HEAD_BYTES, MAX_HEADER_FIELDS, Registry, ServerConfig, start_local,
};
use amp_contract::envelope::ApiIds;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "test-key";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");
const MINIMAL: &str = "action=create&service_id=1&category=Spam";
/// Longest any awaited event may take before the test fails.
const BOUND: Duration = Duration::from_secs(20);

fn config() -> ServerConfig {
    ServerConfig::new(
        ApiIds::from_list(KEY),
        Registry::from_file(Path::new(SERVICES)).unwrap(),
    )
}

/// A complete create request, `extra` header lines (each ending in CRLF) added.
fn create(extra: &str) -> String {
    format!(
        "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{extra}Content-Length: {}\r\n\r\n\
         {MINIMAL}",
        MINIMAL.len()
    )
}

/// One answer as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// D-NO-5XX: a JSON body with `status`.
    fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let json: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"));
        assert!(json["status"].is_string(), "{json}");
        json
    }

    /// A successful create: its report id.
    fn success(&self) -> u64 {
        assert_eq!(self.status, 200, "{self:?}");
        let json = self.json();
        assert_eq!(json["status"], "success", "{json}");
        json["report_id"].as_u64().unwrap()
    }

    /// An error from the HTTP layer: the status, and a JSON body of the 404/408 kind.
    fn http_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let json = self.json();
        assert_eq!(json["status"], "error", "{json}");
        let description = json["error_description"].as_str().unwrap().to_owned();
        assert!(!description.is_empty());
        description
    }
}

/// Reads one answer (head, then the `Content-Length` body; none after HEAD or 1xx), keeping
/// surplus bytes in `buf` for the next one. `None` if the connection ends first.
async fn read_answer(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    to_head: bool,
) -> Option<Answer> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head_len) = response.parse(buf).unwrap() {
            let status = response.code.unwrap();
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let length = if to_head || (100..200).contains(&status) {
                0
            } else {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse::<usize>().unwrap())
            };
            if buf.len() >= head_len + length {
                let body = buf[head_len..head_len + length].to_vec();
                buf.drain(..head_len + length);
                return Some(Answer {
                    status,
                    headers,
                    body,
                });
            }
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(BOUND, stream.read(&mut chunk))
            .await
            .expect("an answer or a close within the bound")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Waits until the server closes the connection (end of stream or reset) and returns what it
/// sent before.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut chunk))
            .await
            .expect("the server closes the connection within the bound")
        {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `request` on a new connection and reads one answer.
async fn ask(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_answer(&mut stream, &mut Vec::new(), false)
        .await
        .expect("an answer")
}

// ---------------------------------------------------------------------------------------------
// Header and idle timeouts.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn slow_header_connections_are_closed_after_the_header_timeout() {
    let header_timeout = Duration::from_millis(400);
    let mut config = config();
    config.header_timeout = header_timeout;
    config.idle_timeout = Duration::from_secs(60); // not what closes them
    let server = start_local(config).await.unwrap();
    let addr = server.addr();

    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let started = Instant::now();
            writer
                .write_all(format!("POST {API_PATH} HTTP/1.1\r\nX-Slow: ").as_bytes())
                .await
                .unwrap();
            // One byte every 50 ms, as long as the server lets it; the head never ends.
            let drip = tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                loop {
                    tick.tick().await;
                    if writer.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            });
            let received = until_closed(&mut reader).await;
            let lived = started.elapsed();
            drip.abort();
            (lived, received)
        }));
    }
    for client in clients {
        let (lived, received) = client.await.unwrap();
        assert!(lived >= header_timeout, "closed after {lived:?}");
        assert!(
            received.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&received)
        );
    }
    // The server still serves.
    ask(addr, create("").as_bytes()).await.success();
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let idle_timeout = Duration::from_millis(300);
    let mut config = config();
    config.idle_timeout = idle_timeout;
    config.header_timeout = Duration::from_secs(60);
    let server = start_local(config).await.unwrap();
    let addr = server.addr();
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let received = until_closed(&mut stream).await;
            (started.elapsed(), received)
        }));
    }
    for client in clients {
        let (lived, received) = client.await.unwrap();
        assert!(lived >= idle_timeout, "closed after {lived:?}");
        assert!(received.is_empty());
    }
    ask(addr, create("").as_bytes()).await.success();
}

#[tokio::test]
async fn keep_alive_connections_are_closed_after_the_idle_timeout_not_before() {
    let idle_timeout = Duration::from_secs(1);
    let mut config = config();
    config.idle_timeout = idle_timeout;
    config.header_timeout = Duration::from_secs(60);
    let server = start_local(config).await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut buf = Vec::new();
    let mut last_sent = Instant::now();
    // Gaps well under the idle timeout keep the connection: three creates on it.
    for round in 0..3 {
        if round > 0 {
            tokio::time::sleep(idle_timeout / 5).await;
        }
        last_sent = Instant::now();
        stream.write_all(create("").as_bytes()).await.unwrap();
        read_answer(&mut stream, &mut buf, false)
            .await
            .expect("the connection is still open")
            .success();
    }
    let received = until_closed(&mut stream).await;
    assert!(received.is_empty());
    assert!(last_sent.elapsed() >= idle_timeout);
    assert_eq!(server.state().store.len(), 3);
}

#[tokio::test]
async fn a_request_in_progress_is_not_idle_it_gets_the_408() {
    // The idle timeout is shorter than the request timeout: a request waiting for its body is
    // answered by the request timeout (JSON 408), never closed as idle.
    let mut config = config();
    config.idle_timeout = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(1);
    let server = start_local(config).await.unwrap();
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\naction=create"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream, &mut Vec::new(), false)
        .await
        .expect("a 408, not a silent close");
    answer.http_error(408);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.state().store.len(), 0);
}

#[tokio::test]
async fn shutdown_closes_idle_and_slow_connections_at_once() {
    let mut config = config();
    config.idle_timeout = Duration::from_secs(120);
    config.header_timeout = Duration::from_secs(120);
    let server = start_local(config).await.unwrap();
    let addr = server.addr();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nX-Slow: a")
        .await
        .unwrap();
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(create("").as_bytes()).await.unwrap();
    read_answer(&mut kept, &mut Vec::new(), false)
        .await
        .unwrap()
        .success();
    let started = Instant::now();
    tokio::time::timeout(BOUND, server.shutdown())
        .await
        .expect("shutdown does not wait for the timeouts")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    for stream in [&mut idle, &mut slow, &mut kept] {
        assert!(until_closed(stream).await.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The connection cap.
// ---------------------------------------------------------------------------------------------

fn capped(max: usize) -> ServerConfig {
    let mut config = config();
    config.max_connections = max;
    config.idle_timeout = Duration::from_secs(120);
    config.header_timeout = Duration::from_secs(120);
    config
}

#[tokio::test]
async fn over_the_cap_silent_connections_make_room_for_a_new_client() {
    const CAP: usize = 8;
    let server = start_local(capped(CAP)).await.unwrap();
    let addr = server.addr();
    // Three times the cap in connections that never send a byte, then a real client.
    let mut silent = Vec::new();
    for _ in 0..3 * CAP {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    ask(addr, create("").as_bytes()).await.success();
    // Each connection over the cap closed the one waiting longest: the oldest 2 * CAP + 1.
    for stream in silent.iter_mut().take(2 * CAP + 1) {
        assert!(until_closed(stream).await.is_empty());
    }
    assert!(server.open_connections() <= CAP + 1);
}

#[tokio::test]
async fn over_the_cap_slow_headers_and_kept_alive_clients_make_room() {
    const CAP: usize = 4;
    let server = start_local(capped(CAP)).await.unwrap();
    let addr = server.addr();
    // Two keep-alive clients after one create each, then slow-header connections.
    let mut kept = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(create("").as_bytes()).await.unwrap();
        read_answer(&mut stream, &mut Vec::new(), false)
            .await
            .unwrap()
            .success();
        kept.push(stream);
    }
    let mut slow = Vec::new();
    for _ in 0..2 * CAP {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nX-Slow: a")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A new client is served; the kept-alive clients, waiting longest, went first.
    ask(addr, create("").as_bytes()).await.success();
    for stream in &mut kept {
        assert!(until_closed(stream).await.is_empty());
    }
    for stream in slow.iter_mut().take(CAP + 1) {
        assert!(until_closed(stream).await.is_empty());
    }
    assert_eq!(server.state().store.len(), 3);
}

#[tokio::test]
async fn at_the_cap_with_every_request_in_progress_a_new_connection_is_refused() {
    const CAP: usize = 2;
    let server = start_local(capped(CAP)).await.unwrap();
    let addr = server.addr();
    let body_later = format!(
        "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        MINIMAL.len()
    );
    let mut busy = Vec::new();
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(body_later.as_bytes()).await.unwrap();
        busy.push(stream);
    }
    // Both heads have reached the router once both requests count as in progress; a
    // connection is refused only then, so retry until one is (bounded).
    let deadline = Instant::now() + BOUND;
    loop {
        let mut fresh = TcpStream::connect(addr).await.unwrap();
        let _ = fresh.write_all(create("").as_bytes()).await;
        match read_answer(&mut fresh, &mut Vec::new(), false).await {
            None => break, // refused: closed unread, no answer
            Some(answer) => {
                // Accepted before both requests were in progress: it took an idle slot.
                answer.success();
                assert!(Instant::now() < deadline, "never refused");
                tokio::task::yield_now().await;
            }
        }
    }
    // The requests in progress were not disturbed.
    for stream in &mut busy {
        stream.write_all(MINIMAL.as_bytes()).await.unwrap();
        read_answer(stream, &mut Vec::new(), false)
            .await
            .expect("answered")
            .success();
    }
}

// ---------------------------------------------------------------------------------------------
// Half-close.
// ---------------------------------------------------------------------------------------------

/// Sends `requests` then FIN, and reads every answer until the server closes.
async fn half_closed(addr: SocketAddr, requests: &[u8], count: usize) -> Vec<Answer> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(requests).await.unwrap();
    stream.shutdown().await.unwrap(); // shutdown(SHUT_WR): the client's FIN
    let mut buf = Vec::new();
    let mut answers = Vec::new();
    while let Some(answer) = read_answer(&mut stream, &mut buf, false).await {
        answers.push(answer);
    }
    assert_eq!(answers.len(), count, "answers to {count} requests then FIN");
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_followed_by_fin_is_answered_every_time() {
    const SINGLE: usize = 1000;
    const PAIRS: usize = 200;
    const PARALLEL: usize = 8;
    let server = start_local(config()).await.unwrap();
    let addr = server.addr();
    let single = Arc::new(create(""));
    let pair = Arc::new(create("").repeat(2));
    let mut tasks = Vec::new();
    for lane in 0..PARALLEL {
        let (single, pair) = (Arc::clone(&single), Arc::clone(&pair));
        tasks.push(tokio::spawn(async move {
            for i in (lane..SINGLE).step_by(PARALLEL) {
                let answers = half_closed(addr, single.as_bytes(), 1).await;
                answers[0].success();
                if i < PAIRS {
                    for answer in half_closed(addr, pair.as_bytes(), 2).await {
                        answer.success();
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.state().store.len(), SINGLE + 2 * PAIRS);
}

// ---------------------------------------------------------------------------------------------
// The HTTP layer's own answers.
// ---------------------------------------------------------------------------------------------

/// `n` extra header lines.
fn fields(n: usize) -> String {
    (0..n).map(|i| format!("X-Field-{i}: {i}\r\n")).collect()
}

#[tokio::test]
async fn a_head_over_the_limits_gets_431_with_a_json_body() {
    let server = start_local(config()).await.unwrap();
    let addr = server.addr();
    // create() sends 4 header fields of its own.
    ask(addr, create(&fields(MAX_HEADER_FIELDS - 4)).as_bytes())
        .await
        .success();
    let description = ask(addr, create(&fields(MAX_HEADER_FIELDS - 3)).as_bytes())
        .await
        .http_error(431);
    assert!(description.contains("100 header fields"), "{description}");
    ask(addr, create(&fields(1000)).as_bytes())
        .await
        .http_error(431);
    // One header value as large as the head limit.
    let big = format!("X-Big: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
    ask(addr, create(&big).as_bytes()).await.http_error(431);
    // A request target as large as the head limit: 431 or 414, JSON either way.
    let long = format!(
        "GET {API_PATH}?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q".repeat(MAX_HEAD_BYTES)
    );
    let answer = ask(addr, long.as_bytes()).await;
    assert!(matches!(answer.status, 414 | 431), "{answer:?}");
    answer.http_error(answer.status);
    assert_eq!(server.state().store.len(), 1);
}

#[tokio::test]
async fn broken_framing_gets_400_with_a_json_body() {
    let server = start_local(config()).await.unwrap();
    let addr = server.addr();
    for request in [
        format!(
            "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\nContent-Length: abc\r\n\r\n"
        ),
        format!(
            "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"
        ),
        "GARBAGE\r\n\r\n".to_owned(),
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_owned(),
    ] {
        ask(addr, request.as_bytes()).await.http_error(400);
    }
    assert_eq!(server.state().store.len(), 0);
}

#[tokio::test]
async fn the_answers_before_a_refused_head_on_the_same_connection_are_untouched() {
    // The writer tells the router's answers from the HTTP layer's own by counting requests
    // and following each answer's framing: after a create, a HEAD (an answer head without a
    // body) and an expect-100 create (an interim answer), the refused head still gets JSON.
    let server = start_local(config()).await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut buf = Vec::new();
    let head = format!("HEAD {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\r\n");
    stream
        .write_all(format!("{}{head}", create("")).as_bytes())
        .await
        .unwrap();
    let first = read_answer(&mut stream, &mut buf, false).await.unwrap();
    let id = first.success();
    let to_head = read_answer(&mut stream, &mut buf, true).await.unwrap();
    assert_eq!(to_head.status, 200);
    assert_eq!(to_head.header("content-type"), Some("application/json"));
    assert_ne!(to_head.header("content-length"), Some("0"));
    // Expect: 100-continue, the body sent once the interim answer is in.
    let expect = format!(
        "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n\
         Content-Length: {}\r\n\r\n",
        MINIMAL.len()
    );
    stream.write_all(expect.as_bytes()).await.unwrap();
    let interim = read_answer(&mut stream, &mut buf, false).await.unwrap();
    assert_eq!(interim.status, 100);
    stream.write_all(MINIMAL.as_bytes()).await.unwrap();
    let second = read_answer(&mut stream, &mut buf, false).await.unwrap();
    assert_eq!(second.success(), id + 1);
    // Pipelined: a create and a head with too many fields.
    stream
        .write_all(format!("{}{}", create(""), create(&fields(200))).as_bytes())
        .await
        .unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut buf, false)
            .await
            .unwrap()
            .success(),
        id + 2
    );
    read_answer(&mut stream, &mut buf, false)
        .await
        .unwrap()
        .http_error(431);
    assert!(until_closed(&mut stream).await.is_empty() && buf.is_empty());
    assert_eq!(server.state().store.len(), 3);
}

#[tokio::test]
async fn large_answers_written_in_pieces_pass_unchanged() {
    // 100 pipelined reads of a 128 KiB report (13 MB, more than the socket buffers hold, and
    // nothing read until all are sent): the socket takes each answer in pieces, the writer
    // that follows them must pass every byte unchanged, and still give the refused head after
    // them its JSON.
    let server = start_local(config()).await.unwrap();
    let notes = "n".repeat(65535);
    let body = format!(
        "action=create&service_id=1&category=Spam&additional_info={notes}&admin_notes={notes}"
    );
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut buf = Vec::new();
    let request = format!(
        "POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let id = read_answer(&mut stream, &mut buf, false)
        .await
        .unwrap()
        .success();
    let observe = format!("GET /_amp/reports/{id} HTTP/1.1\r\nHost: x\r\nAPI_ID: {KEY}\r\n\r\n");
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        for _ in 0..100 {
            writer.write_all(observe.as_bytes()).await.unwrap();
        }
        writer
            .write_all(create(&fields(200)).as_bytes())
            .await
            .unwrap();
        writer
    });
    let _writer = sender.await.unwrap();
    for _ in 0..100 {
        let answer = read_answer(&mut reader, &mut buf, false).await.unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let record: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(record["additional_info"], notes.as_str());
        assert_eq!(record["admin_notes"], notes.as_str());
    }
    read_answer(&mut reader, &mut buf, false)
        .await
        .unwrap()
        .http_error(431);
}
