//! The OpenAPI export: its content checked against the contract's metadata, and the document
//! checked by real tools (openapi-spec-validator, then openapi-core replaying exchanges with the
//! reference server against it).
//!
//! The tool check needs a Python with `openapi-spec-validator` and `openapi-core`, named by
//! `AMP_OPENAPI_VALIDATOR` (.ci/run creates the venv and sets it). Without the variable the
//! check prints why and passes; with it, any failure of the tools fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use amp_conformance::openapi;
use amp_conformance::server::{API_PATH, Registry, ServerConfig, start_local};
use amp_contract::action::ACTION_PARAM;
use amp_contract::envelope::{API_ID_HEADER, ApiIds, BODY_LIMIT};
use amp_contract::field::{BOOLEAN_FALSE, BOOLEAN_TRUE, Kind, Presence, Visibility};
use amp_contract::{Action, CreateAbuseReport, ErrorCode};
use serde_json::{Value, json};

const KEY: &str = "openapi-test-key";
const FORM: &str = "application/x-www-form-urlencoded";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");

fn schema(doc: &Value) -> &Value {
    &doc["components"]["schemas"][openapi::REQUEST_SCHEMA]
}

#[test]
fn every_field_is_described_from_its_metadata() {
    let doc = openapi::document();
    let schema = schema(&doc);
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(
        properties.len(),
        CreateAbuseReport::FIELDS.len() + 1,
        "action + every field, nothing else"
    );
    assert_eq!(
        properties[ACTION_PARAM]["enum"],
        json!([CreateAbuseReport::NAME])
    );
    let mut required = vec![ACTION_PARAM];
    for field in CreateAbuseReport::FIELDS {
        let p = &properties[field.name];
        assert!(p.is_object(), "{} missing", field.name);
        let description = p["description"].as_str().unwrap();
        assert!(description.contains(field.doc.trim()), "{}", field.name);
        for rule in field.rules {
            assert!(description.contains(rule), "{}: {rule}", field.name);
        }
        assert_eq!(p["x-amp-rules"], json!(field.rules), "{}", field.name);
        assert_eq!(p["x-amp-rule"], field.rule);
        assert_eq!(p["x-amp-kind"], field.kind.name());
        assert_eq!(p["x-amp-trim"], field.trim);
        let visibility = match field.visibility {
            Visibility::Customer => "customer",
            Visibility::Admin => "admin",
        };
        assert_eq!(p["x-amp-visibility"], visibility, "{}", field.name);
        match field.kind {
            Kind::Integer => {
                assert_eq!(p["type"], "integer");
                assert_eq!(p["minimum"], json!(field.limits.min.unwrap()));
                assert_eq!(p["maximum"], json!(field.limits.max.unwrap()));
            }
            Kind::Text => {
                assert_eq!(p["type"], "string");
                match field.limits.max_chars {
                    Some(max) => assert_eq!(p["maxLength"], json!(max)),
                    None => assert!(p.get("maxLength").is_none()),
                }
                match field.limits.max_bytes {
                    Some(max) => assert_eq!(p["x-amp-max-bytes"], json!(max)),
                    None => assert!(p.get("x-amp-max-bytes").is_none()),
                }
            }
            Kind::Enumeration => {
                assert_eq!(p["type"], "string");
                assert_eq!(p["enum"], json!(field.allowed));
            }
            Kind::Boolean => {
                assert_eq!(p["type"], "string");
                assert_eq!(p["x-amp-boolean"]["true"], json!(BOOLEAN_TRUE));
                assert_eq!(p["x-amp-boolean"]["false"], json!(BOOLEAN_FALSE));
                assert!(p["pattern"].is_string());
            }
            Kind::Ip => {
                assert_eq!(p["type"], "string");
                assert_eq!(
                    p["anyOf"],
                    json!([{ "format": "ipv4" }, { "format": "ipv6" }])
                );
            }
        }
        match field.presence {
            Presence::Required => {
                required.push(field.name);
                assert!(p.get("default").is_none());
            }
            Presence::Optional => assert!(p.get("default").is_none()),
            Presence::Default(wire) => {
                let default = &p["default"];
                let text = default
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| default.to_string());
                assert_eq!(text, wire, "{}", field.name);
            }
            Presence::ResolvedDefault(text) => {
                assert_eq!(p["x-amp-default"], text);
                assert!(p.get("default").is_none());
            }
        }
    }
    assert_eq!(schema["required"], json!(required));
    assert_eq!(
        schema["x-amp-parameter-order"],
        json!(
            std::iter::once(ACTION_PARAM)
                .chain(CreateAbuseReport::FIELDS.iter().map(|f| f.name))
                .collect::<Vec<_>>()
        )
    );
}

#[test]
fn path_security_and_answers() {
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let op = &doc["paths"][API_PATH]["post"];
    assert!(op.is_object(), "POST {API_PATH}");
    let scheme = &doc["components"]["securitySchemes"][openapi::SECURITY_SCHEME];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert!(
        scheme["name"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(API_ID_HEADER)
    );
    for media_type in openapi::FORM_MEDIA_TYPES {
        assert!(
            op["requestBody"]["content"][media_type]["schema"]["$ref"].is_string(),
            "{media_type}"
        );
    }
    let error = &doc["components"]["schemas"][openapi::ERROR_SCHEMA];
    assert_eq!(
        error["properties"]["error_code"]["pattern"],
        "^AMP[0-9]{3}$"
    );
    let documented: Vec<String> = error["properties"]["error_code"]["x-amp-documented-codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = [
        ErrorCode::Unauthorized,
        ErrorCode::InvalidAction,
        ErrorCode::MissingParameters,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(documented, expected);
    assert_eq!(error["properties"]["status"]["const"], "error");
    let success = &doc["components"]["schemas"][openapi::SUCCESS_SCHEMA];
    assert_eq!(success["properties"]["status"]["const"], "success");
    assert_eq!(success["properties"]["report_id"]["minimum"], 1);
    let responses = op["responses"].as_object().unwrap();
    assert!(responses.contains_key("200"));
    assert!(responses.contains_key("413"));
    assert_eq!(
        responses["413"]["content"]["application/json"]["example"]["error_code"],
        "AMP003"
    );
    assert!(
        responses["413"]["description"]
            .as_str()
            .unwrap()
            .contains(&BODY_LIMIT.to_string())
    );
}

#[test]
fn the_cli_prints_the_same_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, openapi::document());
}

// ---------------------------------------------------------------------------------------------
// Real tools
// ---------------------------------------------------------------------------------------------

/// One request to the reference server and its answer, for openapi-core to check.
struct Exchange {
    name: &'static str,
    auth: bool,
    content_type: String,
    body: String,
    /// Whether the document accepts the request; `None`: not checked (openapi-core keeps
    /// multipart parts as text and so rejects every integer sent that way).
    request_valid: Option<bool>,
}

fn exchange(name: &'static str, body: String, request_valid: bool) -> Exchange {
    Exchange {
        name,
        auth: true,
        content_type: FORM.to_owned(),
        body,
        request_valid: Some(request_valid),
    }
}

fn exchanges() -> Vec<Exchange> {
    let minimal = CreateAbuseReport::new(1, "Spam");
    let mut full = CreateAbuseReport::new(2, "Hacking Attempts & more: ü 🚀 / = + %");
    full.service_ip = "::ffff:192.0.2.1".parse().ok();
    full.allow_unsuspend = true;
    full.additional_info = "line 1\nline 2".to_owned();
    full.admin_notes = "admin only".to_owned();
    let boundary = "------------------------d74496d66958873e";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nSpam\r\n\
         --{boundary}--\r\n"
    );
    vec![
        exchange("minimal create", minimal.to_body(), true),
        exchange("every parameter", full.to_body(), true),
        Exchange {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            request_valid: None,
            ..exchange("multipart create", multipart, true)
        },
        exchange(
            "allow_unsuspend=Yes",
            "action=create&service_id=1&category=Spam&allow_unsuspend=+Yes".to_owned(),
            true,
        ),
        exchange(
            "allow_unsuspend=maybe",
            "action=create&service_id=1&category=Spam&allow_unsuspend=maybe".to_owned(),
            false,
        ),
        exchange(
            "suspend_method=suspend (the page's example)",
            "action=create&service_id=1&category=Spam&suspend_method=suspend".to_owned(),
            false,
        ),
        exchange(
            "missing category",
            "action=create&service_id=1".to_owned(),
            false,
        ),
        exchange(
            "service_id=0",
            "action=create&service_id=0&category=Spam".to_owned(),
            false,
        ),
        exchange(
            "service_ip=999.1.1.1",
            "action=create&service_id=1&category=Spam&service_ip=999.1.1.1".to_owned(),
            false,
        ),
        exchange(
            "category of 256 characters",
            format!("action=create&service_id=1&category={}", "é".repeat(256)),
            false,
        ),
        exchange(
            "action=Create (the page's table)",
            "action=Create&service_id=1&category=Spam".to_owned(),
            false,
        ),
        Exchange {
            auth: false,
            ..exchange("no API_ID", minimal.to_body(), false)
        },
        exchange(
            "body over the limit",
            format!(
                "action=create&service_id=1&category={}",
                "a".repeat(BODY_LIMIT)
            ),
            false,
        ),
    ]
}

fn validator() -> Option<PathBuf> {
    match std::env::var_os("AMP_OPENAPI_VALIDATOR") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => None,
    }
}

#[tokio::test]
async fn real_tools_accept_the_document_and_the_servers_answers() {
    let Some(python) = validator() else {
        eprintln!(
            "SKIPPED: AMP_OPENAPI_VALIDATOR is not set (a Python with openapi-spec-validator and \
             openapi-core; .ci/run creates one); the document was not checked by real tools"
        );
        return;
    };
    let registry = Registry::from_file(Path::new(SERVICES)).unwrap();
    let server = start_local(ServerConfig::new(ApiIds::from_list(KEY), registry))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let mut recorded = Vec::new();
    for ex in exchanges() {
        let mut request = client
            .post(server.endpoint())
            .header(reqwest::header::CONTENT_TYPE, &ex.content_type)
            .body(ex.body.clone());
        let mut headers = serde_json::Map::new();
        if ex.auth {
            request = request.header(API_ID_HEADER, KEY);
            headers.insert(API_ID_HEADER.to_ascii_uppercase(), json!(KEY));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let response_content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap();
        recorded.push(json!({
            "name": ex.name,
            "host": server.base_url(),
            "path": API_PATH,
            "headers": headers,
            "content_type": ex.content_type,
            "body": ex.body,
            "request_valid": ex.request_valid,
            "status": status,
            "response_content_type": response_content_type,
            "response": text,
        }));
    }
    server.shutdown().await.unwrap();

    let dir = std::env::temp_dir().join(format!("amp-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let doc_path = dir.join("openapi.json");
    let exchanges_path = dir.join("exchanges.json");
    std::fs::write(&doc_path, openapi::to_string_pretty()).unwrap();
    std::fs::write(&exchanges_path, serde_json::to_vec(&recorded).unwrap()).unwrap();

    // The validator's own command line first, as a user would run it.
    let cli = Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&doc_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let cli_out = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "openapi-spec-validator rejects the document:\n{cli_out}\n{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    println!("{}", cli_out.trim());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/validate.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&doc_path)
        .arg(&exchanges_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "openapi-core disagrees with the document:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
