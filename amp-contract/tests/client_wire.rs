//! The typed client's exact request bytes, captured by a raw TCP listener: the header line is
//! `API_ID: <key>` byte for byte, the spelling PHP's `getallheaders()['API_ID']` finds.

#![cfg(feature = "client")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use amp_contract::client::Client;
use amp_contract::{Action, CreateAbuseReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "wire-test-key-5f1c";

/// Accepts one connection, reads one request (head and `Content-Length` body), answers a
/// success, and returns the bytes read.
async fn capture_one(listener: TcpListener) -> Vec<u8> {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client closed before a whole request");
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| line.strip_prefix("Content-Length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if bytes.len() >= end + 4 + length {
                break;
            }
        }
    }
    let body = r#"{"status":"success","report_id":7}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(answer.as_bytes()).await.unwrap();
    bytes
}

#[tokio::test]
async fn the_client_sends_api_id_spelt_as_the_page_spells_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(capture_one(listener));

    let client = Client::builder(format!("http://{addr}/api.php"), KEY)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let report = CreateAbuseReport::new(1, "Spam");
    let created = client.create(&report).await.unwrap();
    assert_eq!(created.report_id, 7);

    let bytes = server.await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("POST /api.php HTTP/1.1"));
    let api_id: Vec<&str> = lines
        .filter(|line| line.to_ascii_lowercase().starts_with("api_id:"))
        .collect();
    assert_eq!(api_id, [format!("API_ID: {KEY}")], "{head}");
    assert!(
        head.ends_with("\r\nContent-Type: application/x-www-form-urlencoded"),
        "{head}"
    );
    assert_eq!(body, report.to_body());
}

/// Through a forward proxy: the request goes to the proxy in absolute form, with the proxy's
/// credentials and `API_ID` as the page spells it; the endpoint's host is never looked up here.
#[tokio::test]
async fn the_client_goes_through_a_forward_proxy_in_absolute_form() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let server = tokio::spawn(capture_one(listener));

    let endpoint = "http://whmcs.example.invalid/modules/addons/abusemanagerpro/includes/api.php";
    let client = Client::builder(endpoint, KEY)
        .proxy(format!("http://user:secret@{proxy}"))
        .build()
        .unwrap();
    let created = client
        .create(&CreateAbuseReport::new(1, "Spam"))
        .await
        .unwrap();
    assert_eq!(created.report_id, 7);

    let bytes = server.await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(format!("POST {endpoint} HTTP/1.1").as_str())
    );
    let lines: Vec<&str> = lines.collect();
    assert!(
        lines.contains(&"Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="),
        "{head}"
    );
    assert!(lines.contains(&format!("API_ID: {KEY}").as_str()), "{head}");

    // A proxy URL that is not one is refused when the client is built.
    let bad = Client::builder(endpoint, KEY)
        .proxy("socks5://127.0.0.1:1")
        .build();
    assert!(bad.is_err());
}
