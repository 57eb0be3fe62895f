//! amp-contract's typed client (feature `client`) against the reference server, and against a
//! stub server for the answers the reference server never gives (non-JSON, an HTML 500,
//! AMP009, oversize, redirects, hangs). Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use amp_conformance::server::{Registry, RunningServer, ServerConfig, start_local};
use amp_contract::client::{Answer, Client, ClientError, FORM_CONTENT_TYPE, REDACTED};
use amp_contract::envelope::{ApiIds, DedicatedIp};
use amp_contract::{Action, ApiResponse, CreateAbuseReport, ErrorCode, SuspendMethod};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;

const KEY: &str = "client-test-key-93be";

fn registry() -> Registry {
    Registry::from_services([
        (1, DedicatedIp::Address("203.0.113.10".parse().unwrap())),
        (2, DedicatedIp::None),
    ])
}

async fn reference() -> RunningServer {
    start_local(ServerConfig::new(ApiIds::from_list(KEY), registry()))
        .await
        .unwrap()
}

fn client(endpoint: &str, key: &str) -> Client {
    Client::builder(endpoint, key)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Every way an error can be shown, for the secret search.
fn shown(err: &ClientError) -> String {
    format!("{err} | {err:?} | {:?}", std::error::Error::source(err))
}

#[tokio::test]
async fn d_success_create_returns_the_report_id_and_the_server_stores_what_was_sent() {
    let server = reference().await;
    let client = client(&server.endpoint(), KEY);
    let mut report = CreateAbuseReport::new(1, "Hacking Attempts");
    report.suspend_method = SuspendMethod::Timelimit;
    report.allow_unsuspend = true;
    report.service_ip = Some("2001:db8::1".parse().unwrap());
    report.additional_info = "a & b = c + d 100% \"quoted\" / Grüße 🚀\nline two".to_owned();
    report.admin_notes = "admin only".to_owned();

    let created = client.create(&report).await.unwrap();
    assert!(created.report_id >= 1, "D-SUCCESS: {created:?}");
    assert_eq!(created.status, StatusCode::OK, "R-STATUS");

    let stored = server.state().store.get(created.report_id).unwrap().values;
    assert_eq!(stored.service_id, 1);
    assert_eq!(stored.category, "Hacking Attempts");
    assert_eq!(stored.service_ip, "2001:db8::1");
    assert_eq!(stored.suspend_method, SuspendMethod::Timelimit);
    assert!(stored.allow_unsuspend);
    assert_eq!(stored.additional_info, report.additional_info);
    assert_eq!(stored.admin_notes, "admin only");

    // D-DEFAULTS: the server resolves the omitted service_ip.
    let created = client
        .create(&CreateAbuseReport::new(2, "Spam"))
        .await
        .unwrap();
    let stored = server.state().store.get(created.report_id).unwrap().values;
    assert_eq!(stored.service_ip, amp_contract::NO_DEDICATED_IP);
}

#[tokio::test]
async fn d_unique_successive_creates_get_distinct_increasing_ids() {
    let server = reference().await;
    let client = client(&server.endpoint(), KEY);
    let mut last = 0;
    for _ in 0..5 {
        let id = client
            .create(&CreateAbuseReport::new(1, "Spam"))
            .await
            .unwrap()
            .report_id;
        assert!(id > last, "D-UNIQUE, R-IDS: {id} after {last}");
        last = id;
    }
    assert_eq!(server.state().store.len(), 5);
}

#[tokio::test]
async fn the_request_is_http_build_query_as_a_form_with_the_api_id_header() {
    let client = client("http://127.0.0.1:9/api.php", KEY);
    let mut report = CreateAbuseReport::new(7, "High I/O");
    report.additional_info = "x&y=z 🚀".to_owned();
    // What it sends: the exact bytes, the header spelt as the page spells it.
    let wire = client.wire_request(&report).unwrap();
    let expected = format!(
        "POST /api.php HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: amp-contract/{}\r\n\
         Accept: */*\r\nContent-Length: {}\r\nAPI_ID: {KEY}\r\nContent-Type: {FORM_CONTENT_TYPE}\r\n\r\n{}",
        env!("CARGO_PKG_VERSION"),
        report.to_body().len(),
        report.to_body()
    );
    assert_eq!(String::from_utf8_lossy(wire.as_bytes()), expected);
    assert!(!format!("{wire:?}").contains(KEY), "{wire:?}");
    // What another HTTP client would send (lower-cased by `http`, as documented).
    let request = client.build_request(&report).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "http://127.0.0.1:9/api.php");
    assert_eq!(request.headers()[header::CONTENT_TYPE], FORM_CONTENT_TYPE);
    assert_eq!(request.headers()["api_id"], KEY);
    assert!(request.headers()["api_id"].is_sensitive());
    assert_eq!(request.body(), &report.to_body());
    assert!(!format!("{request:?}").contains(KEY), "{request:?}");
}

#[tokio::test]
async fn amp_errors_from_the_reference_server_are_typed() {
    let server = reference().await;

    // D-AUTH: an identifier the server does not know.
    let other_key = "not-the-servers-key-5521";
    let err = client(&server.endpoint(), other_key)
        .create(&CreateAbuseReport::new(1, "Spam"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Amp {
                status: StatusCode::OK,
                code: ErrorCode::Unauthorized,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.amp_code(), Some(ErrorCode::Unauthorized));
    assert!(!err.is_transport());
    assert!(!shown(&err).contains(other_key), "{}", shown(&err));

    let client = client(&server.endpoint(), KEY);
    // R-SERVICE-ID: no such service.
    let err = client
        .create(&CreateAbuseReport::new(999, "Spam"))
        .await
        .unwrap_err();
    let ClientError::Amp {
        code, description, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*code, ErrorCode::MissingParameters);
    assert!(description.contains("service_id"), "{description}");

    // R-EMPTY: the struct does not validate; the server does, and `send` shows the raw answer.
    let answer = client
        .send(&CreateAbuseReport::new(1, "   "))
        .await
        .unwrap();
    let Answer {
        status,
        response:
            ApiResponse::Error {
                error_code,
                error_description,
            },
    } = answer
    else {
        panic!("expected an error answer")
    };
    assert_eq!(
        (status, error_code),
        (StatusCode::OK, ErrorCode::MissingParameters)
    );
    assert!(
        error_description.contains("category"),
        "{error_description}"
    );

    // R-BODY: an oversize body is 413 with AMP003; the status is kept.
    let mut huge = CreateAbuseReport::new(1, "Spam");
    huge.admin_notes = "n".repeat(amp_contract::envelope::BODY_LIMIT);
    let err = client.create(&huge).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Amp {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: ErrorCode::MissingParameters,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.state().store.len(), 0);
}

#[tokio::test]
async fn a_wrong_path_on_the_reference_server_is_an_http_error() {
    let server = reference().await;
    let err = client(&format!("{}/api.php", server.base_url()), KEY)
        .create(&CreateAbuseReport::new(1, "Spam"))
        .await
        .unwrap_err();
    let ClientError::Http { status, first_line } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, StatusCode::NOT_FOUND);
    assert!(first_line.contains("No AMP endpoint"), "{first_line}");
}

#[test]
fn the_builder_refuses_bad_settings_without_showing_the_key() {
    let err = Client::builder("http://127.0.0.1:9/api.php", "")
        .build()
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidApiId { .. }), "{err:?}");
    let bad = "line\nbreak-secret";
    let err = Client::builder("http://127.0.0.1:9/api.php", bad)
        .build()
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidApiId { .. }), "{err:?}");
    assert!(!shown(&err).contains("break-secret"), "{}", shown(&err));
    let err = Client::builder("http://127.0.0.1:9/api.php", " padded")
        .build()
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidApiId { .. }), "{err:?}");

    for endpoint in ["not a url", "ftp://127.0.0.1/api.php", "/relative/api.php"] {
        let err = Client::builder(endpoint, KEY).build().unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidEndpoint { .. }),
            "{endpoint}: {err:?}"
        );
        assert!(!shown(&err).contains(KEY));
    }

    let builder = Client::builder("http://127.0.0.1:9/api.php", KEY);
    assert!(!format!("{builder:?}").contains(KEY), "{builder:?}");
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(KEY), "{client:?}");
}

// ---- a stub server for the answers the reference server never gives ----

#[derive(Default)]
struct Hits(AtomicUsize);

async fn stub() -> (SocketAddr, Arc<Hits>) {
    let hits = Arc::new(Hits::default());
    let echo = |headers: &HeaderMap| {
        headers
            .get("api_id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let app = Router::new()
        .route(
            "/text",
            any(|| async { ([(header::CONTENT_TYPE, "text/plain")], "\n  hello\nworld\n") }),
        )
        .route(
            "/html500",
            any(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<!DOCTYPE html>\n<h1>Fatal error: Uncaught Error</h1>",
                )
            }),
        )
        .route(
            "/amp009",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"error","error_code":"AMP009","error_description":"Missing required parameters."}"#,
                )
            }),
        )
        .route(
            "/other-json",
            any(|| async { ([(header::CONTENT_TYPE, "application/json")], r#"{"ok":true}"#) }),
        )
        .route(
            "/echo-text",
            any(move |headers: HeaderMap| async move {
                format!("Unknown key {} for this installation", echo(&headers))
            }),
        )
        .route(
            "/echo-500",
            any(move |headers: HeaderMap| async move {
                (StatusCode::INTERNAL_SERVER_ERROR, format!("bad key {}", echo(&headers)))
            }),
        )
        .route(
            "/echo-json",
            any(move |headers: HeaderMap| async move {
                ApiResponse::Error {
                    error_code: ErrorCode::Unauthorized,
                    error_description: format!("API_ID {} is not valid", echo(&headers)),
                }
            }),
        )
        .route(
            "/redirect",
            any(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/counted")], "").into_response()
            }),
        )
        .route(
            "/counted",
            any(|State(hits): State<Arc<Hits>>| async move {
                hits.0.fetch_add(1, Ordering::SeqCst);
                ApiResponse::Success { report_id: 1 }
            }),
        )
        .route(
            "/big",
            any(|| async { ([(header::CONTENT_TYPE, "application/json")], "x".repeat(4096)) }),
        )
        .route(
            "/big-chunked",
            any(|| async {
                let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 256])));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route("/hang", any(|| async { std::future::pending::<Response>().await }))
        .route(
            "/drip",
            any(|| async {
                use futures_util::StreamExt;
                let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(
                    "{\"status\":",
                ))]);
                Body::from_stream(first.chain(futures_util::stream::pending()))
            }),
        )
        .with_state(Arc::clone(&hits));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

fn stub_client(addr: SocketAddr, path: &str) -> Client {
    client(&format!("http://{addr}{path}"), KEY)
}

fn report() -> CreateAbuseReport {
    CreateAbuseReport::new(1, "Spam")
}

#[tokio::test]
async fn a_non_json_answer_is_not_json_with_status_and_first_line() {
    let (addr, _) = stub().await;
    let err = stub_client(addr, "/text")
        .create(&report())
        .await
        .unwrap_err();
    let ClientError::NotJson {
        status,
        content_type,
        first_line,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/plain"));
    assert_eq!(first_line, "hello");
    assert!(err.to_string().contains("hello"), "{err}");

    // JSON, but not of the AMP shape.
    let err = stub_client(addr, "/other-json")
        .send(&report())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotJson { .. }), "{err:?}");
}

#[tokio::test]
async fn an_html_500_is_an_http_error_with_status_and_first_line() {
    let (addr, _) = stub().await;
    let err = stub_client(addr, "/html500")
        .create(&report())
        .await
        .unwrap_err();
    let ClientError::Http { status, first_line } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first_line, "<!DOCTYPE html>");
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn amp009_is_kept_as_an_other_code() {
    let (addr, _) = stub().await;
    let client = stub_client(addr, "/amp009");
    let err = client.create(&report()).await.unwrap_err();
    assert_eq!(err.amp_code(), Some(ErrorCode::Other(9)), "{err:?}");
    assert!(err.to_string().contains("AMP009"), "{err}");
    let answer = client.send(&report()).await.unwrap();
    assert_eq!(
        answer.response,
        ApiResponse::Error {
            error_code: ErrorCode::Other(9),
            error_description: "Missing required parameters.".to_owned(),
        }
    );
}

#[tokio::test]
async fn an_api_id_echoed_by_a_server_is_redacted() {
    let (addr, _) = stub().await;
    for path in ["/echo-text", "/echo-500", "/echo-json"] {
        let err = stub_client(addr, path).create(&report()).await.unwrap_err();
        let text = shown(&err);
        assert!(!text.contains(KEY), "{path}: {text}");
        assert!(text.contains(REDACTED), "{path}: {text}");
    }
    let answer = stub_client(addr, "/echo-json")
        .send(&report())
        .await
        .unwrap();
    assert!(!format!("{answer:?}").contains(KEY), "{answer:?}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (addr, hits) = stub().await;
    let err = stub_client(addr, "/redirect")
        .create(&report())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Http {
                status: StatusCode::FOUND,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        hits.0.load(Ordering::SeqCst),
        0,
        "the API_ID went to the redirect target"
    );
}

#[tokio::test]
async fn an_answer_over_the_cap_is_too_large_declared_or_streamed() {
    let (addr, _) = stub().await;
    for path in ["/big", "/big-chunked"] {
        let client = Client::builder(format!("http://{addr}{path}"), KEY)
            .max_response_bytes(1024)
            .build()
            .unwrap();
        let err = client.create(&report()).await.unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::TooLarge {
                    status: StatusCode::OK,
                    limit: 1024
                }
            ),
            "{path}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_silent_server_or_a_stalled_body_is_a_timeout() {
    let (addr, _) = stub().await;
    for path in ["/hang", "/drip"] {
        let client = Client::builder(format!("http://{addr}{path}"), KEY)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let err = client.create(&report()).await.unwrap_err();
        assert!(
            matches!(err, ClientError::Timeout { .. }),
            "{path}: {err:?}"
        );
        assert!(err.is_transport());
        assert!(!shown(&err).contains(KEY));
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // A port that was just free: nothing listens on it any more.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = stub_client(addr, "/api.php")
        .create(&report())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert!(err.is_transport());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(!shown(&err).contains(KEY));
}
