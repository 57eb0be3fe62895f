//! PHP interoperability: real PHP (php-cli with the curl extension) sends requests to the
//! reference server exactly as the AMP page's example does, and the scripts in `tests/php/`
//! assert on the answers. This test then checks what PHP actually put on the wire (against
//! the contract's own `http_build_query` encoder, and curl's raw multipart bytes through a
//! capturing socket) and what the server stored (through the observer, D-DEFAULTS).
//!
//! Without `php` the test prints why and passes, unless `AMP_REQUIRE_PHP=1` (set by .ci/run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use amp_conformance::server::{Registry, RunningServer, ServerConfig, start_local};
use amp_contract::envelope::{API_ID_HEADER, ApiIds};
use amp_contract::{Action, CreateAbuseReport, ReportRecord, SuspendMethod};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "php-interop-key";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php")
}

/// Whether `php` with the curl extension can run; panics when it cannot but is required.
fn php_ready() -> bool {
    let required = std::env::var("AMP_REQUIRE_PHP").is_ok_and(|v| v == "1");
    let probe = Command::new("php")
        .args(["-r", "exit(function_exists('curl_init') ? 0 : 3);"])
        .output();
    let reason = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) if out.status.code() == Some(3) => "php has no curl extension (php-curl)",
        Ok(_) => "php does not run",
        Err(_) => "php is not installed (php-cli)",
    };
    assert!(!required, "AMP_REQUIRE_PHP=1 but {reason}");
    eprintln!("SKIPPED: {reason}; set AMP_REQUIRE_PHP=1 to make this a failure");
    false
}

async fn server() -> RunningServer {
    let registry = Registry::from_file(Path::new(SERVICES)).unwrap();
    start_local(ServerConfig::new(ApiIds::from_list(KEY), registry))
        .await
        .unwrap()
}

/// Runs a script; its own assertions must all hold. Returns its JSON report.
async fn run_php(script: &str, endpoint: &str, capture: Option<&str>) -> Value {
    let mut command = tokio::process::Command::new("php");
    command
        .arg(scripts().join(script))
        .env("AMP_PHP_ENDPOINT", endpoint)
        .env("AMP_PHP_KEY", KEY)
        .env("AMP_PHP_CAPTURE", capture.unwrap_or(""));
    let out = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success(),
        "{script}: assertions failed: {:#}",
        report["failures"]
    );
    assert_eq!(report["failures"], serde_json::json!([]));
    assert_eq!(
        report["warnings"],
        serde_json::json!([]),
        "{script}: PHP warnings"
    );
    report
}

fn case<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

async fn stored(server: &RunningServer, report_id: &Value) -> ReportRecord {
    let id = report_id.as_u64().unwrap();
    let url = server
        .observe_template()
        .replace("{report_id}", &id.to_string());
    let response = reqwest::Client::new()
        .get(url)
        .header(API_ID_HEADER, KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn php_http_build_query_as_the_page_sends_it() {
    if !php_ready() {
        return;
    }
    let server = server().await;
    let report = run_php("urlencoded.php", &server.endpoint(), None).await;
    println!(
        "PHP {} / curl {}",
        report["php_version"], report["curl_version"]
    );

    // What PHP actually sends: the contract's encoder produces the same bytes.
    let every = case(&report, "every-value");
    let mut typed = CreateAbuseReport::new(1, "High I/O");
    typed.service_ip = "192.0.2.7".parse().ok();
    typed.allow_unsuspend = true;
    typed.additional_info = "Spam & more = \"50%\" + 'quotes' / üñï 🚀".to_owned();
    typed.admin_notes = "line 1\nline 2\ttab".to_owned();
    assert_eq!(every["sent"], typed.to_body().as_str());
    // Spaces are `+`, every other byte but letters, digits and `-_.` is `%XX` in upper case.
    assert_eq!(
        every["sent"],
        "action=create&service_id=1&category=High+I%2FO&service_ip=192.0.2.7\
         &suspend_method=nosuspend&allow_unsuspend=1\
         &additional_info=Spam+%26+more+%3D+%2250%25%22+%2B+%27quotes%27+%2F+%C3%BC%C3%B1%C3%AF+%F0%9F%9A%80\
         &admin_notes=line+1%0Aline+2%09tab"
    );
    let record = stored(&server, &every["report_id"]).await;
    assert_eq!(record.values, typed_resolved(&typed, "192.0.2.7"));

    // false is 0, null is left out; the defaults apply (D-DEFAULTS).
    let false_null = case(&report, "false-and-null");
    assert_eq!(
        false_null["sent"],
        "action=create&service_id=3&category=Hacking+Attempts&allow_unsuspend=0"
    );
    let record = stored(&server, &false_null["report_id"]).await;
    assert!(!record.values.allow_unsuspend);
    assert_eq!(record.values.admin_notes, "");
    assert_eq!(record.values.suspend_method, SuspendMethod::NoSuspend);
    assert_eq!(record.values.service_ip, amp_contract::NO_DEDICATED_IP);

    // Arrays: key[0]=…, key[k]=…, brackets percent-encoded.
    assert_eq!(
        case(&report, "array-category")["sent"],
        "action=create&service_id=1&category%5B0%5D=Spam&category%5B1%5D=Phishing"
    );
    assert_eq!(
        case(&report, "array-service-id")["sent"],
        "action=create&service_id%5Bid%5D=1&category=Spam"
    );
    assert_eq!(
        case(&report, "array-unknown")["sent"],
        "action=create&service_id=2&category=Spam&tags%5B0%5D=a+b&tags%5B1%5D=c%26d"
    );
    let suspend = case(&report, "page-example-suspend");
    assert!(
        suspend["answer"]["error_description"]
            .as_str()
            .unwrap()
            .contains("suspend_method")
    );
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["http_code"], 200, "{}", result["case"]);
        assert_eq!(
            result["content_type"], "application/json",
            "{}",
            result["case"]
        );
    }
    server.shutdown().await.unwrap();
}

fn typed_resolved(typed: &CreateAbuseReport, ip: &str) -> amp_contract::ResolvedCreate {
    amp_contract::ResolvedCreate {
        service_id: typed.service_id,
        category: typed.category.clone(),
        service_ip: ip.to_owned(),
        suspend_method: typed.suspend_method,
        allow_unsuspend: typed.allow_unsuspend,
        additional_info: typed.additional_info.clone(),
        admin_notes: typed.admin_notes.clone(),
    }
}

/// Accepts one HTTP/1.1 request, answers a success, and returns its head and body.
async fn capture_one(listener: TcpListener) -> (String, Vec<u8>) {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the end of the head");
        data.extend_from_slice(&buf[..n]);
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length").unwrap().parse().unwrap();
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        socket
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .unwrap();
    }
    while data.len() < head_end + length {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the end of the body");
        data.extend_from_slice(&buf[..n]);
    }
    let answer = br#"{"status":"success","report_id":1}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.write_all(answer).await.unwrap();
    let _ = socket.shutdown().await;
    (head, data[head_end..head_end + length].to_vec())
}

#[tokio::test]
async fn php_curl_array_postfields_sends_multipart() {
    if !php_ready() {
        return;
    }
    let server = server().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let capture_url = format!("http://{}/capture", listener.local_addr().unwrap());
    let captured = tokio::spawn(capture_one(listener));
    let report = run_php("multipart.php", &server.endpoint(), Some(&capture_url)).await;
    let (head, body) = captured.await.unwrap();
    println!("{head}{}", String::from_utf8_lossy(&body));

    // curl's framing: a boundary of 24 dashes and random alphanumerics (16 hex digits in
    // curl 7.88), parts without a content type, CRLF line ends.
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let random = boundary.strip_prefix(&"-".repeat(24)).unwrap();
    assert!(random.len() >= 16 && random.chars().all(|c| c.is_ascii_alphanumeric()));
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.starts_with(&format!("--{boundary}\r\n")));
    assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    assert!(text.contains("Content-Disposition: form-data; name=\"allow_unsuspend\"\r\n\r\n1\r\n"));
    assert!(
        !text.contains("Content-Type"),
        "parts carry no content type"
    );
    assert!(
        head.contains("API_ID: php-interop-key"),
        "the header as the page writes it"
    );

    // The contract reads curl's bytes as the same values.
    let form = amp_contract::form::from_multipart(&body, boundary);
    let parsed = CreateAbuseReport::from_form(&form).unwrap();
    let mut typed = CreateAbuseReport::new(2, "High I/O");
    typed.service_ip = "2001:db8::7".parse().ok();
    typed.allow_unsuspend = true;
    typed.additional_info = "Spam & more = \"50%\" + / üñï 🚀".to_owned();
    typed.admin_notes = "line 1\r\nline 2".to_owned();
    assert_eq!(parsed, typed);

    let every = case(&report, "every-value");
    let record = stored(&server, &every["report_id"]).await;
    assert_eq!(record.values, typed_resolved(&typed, "2001:db8::7"));

    // false and null become empty parts, read as absent: the defaults apply.
    let record = stored(&server, &case(&report, "false-and-null")["report_id"]).await;
    assert!(!record.values.allow_unsuspend);
    assert_eq!(record.values.admin_notes, "");
    assert_eq!(record.values.service_ip, amp_contract::NO_DEDICATED_IP);
    server.shutdown().await.unwrap();
}
