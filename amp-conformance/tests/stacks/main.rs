//! The kit against real deployments: the correct PHP implementation (`tests/php/page_server.php`)
//! under php-fpm behind nginx, under Apache with mod_php or proxy_fcgi, over HTTPS with a CA the
//! test makes, through Debian's tinyproxy; and against each misconfiguration users meet
//! (underscore headers dropped, an http→https redirect, the application down behind its front,
//! a wrong path, a stock body limit, ModSecurity with the OWASP CRS and a PHP firewall rule, a
//! wrong --service id, an observer URL typo),
//! checking the exit code CONTRACT.md §4 gives and the note that names the cause.
//!
//! Each test starts its daemons on free loopback ports with configurations written into a
//! temporary directory, and kills them on drop (`daemons.rs`). Without nginx, apache2, php-fpm,
//! mod_php, ModSecurity's CRS or tinyproxy a test prints why and passes, unless `AMP_REQUIRE_STACKS=1` (set by .ci/run,
//! which installs them).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../raw/mod.rs"]
mod raw;

mod daemons;

use std::path::Path;

use daemons::{API, KEY, MISSING, Stack, have};

/// The first note the run printed (`note: ...`), or "" when none.
fn first_note(out: &str) -> &str {
    out.lines()
        .find_map(|l| l.strip_prefix("note: "))
        .unwrap_or("")
}

/// Runs the installed binary with `args` (after `run`), the key in `AMP_API_ID`, in `cwd`
/// (the workspace when `None`); exit code and stdout + stderr.
async fn kit(args: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> (Option<i32>, String) {
    let mut command = raw::bin();
    command
        .arg("run")
        .args(["--missing-service-id", MISSING, "--seed", "1"])
        .args(args)
        .env("AMP_API_ID", KEY)
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .env_remove("all_proxy");
    for (name, value) in env {
        command.env(name, value);
    }
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let output = command.output().await.unwrap();
    let (out, err) = raw::text(&output);
    if std::env::var_os("AMP_SHOW_RUNS").is_some() {
        eprintln!("=== run {args:?}: {:?}\n{out}{err}", output.status.code());
    }
    (output.status.code(), out + &err)
}

/// nginx in front of php-fpm, plain HTTP, with `directives` in its server block.
fn nginx_fpm(stack: &mut Stack, directives: &str) -> String {
    stack.php_fpm(None);
    let php = stack.nginx_php();
    let ports = stack.nginx(1, |p| {
        format!(
            "server {{\n  listen 127.0.0.1:{};\n  {directives}\n  {php}\n}}",
            p[0]
        )
    });
    format!("http://127.0.0.1:{}{API}", ports[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_php_fpm_over_https_with_a_private_ca_through_a_proxy_passes() {
    if !have(&["nginx", "php-fpm", "tinyproxy", "openssl"]) {
        return;
    }
    let mut stack = Stack::new("https");
    daemons::private_ca(&stack.dir);
    stack.php_fpm(None);
    let php = stack.nginx_php();
    let dir = stack.dir.display().to_string();
    // Stock nginx but for the one directive the header needs: its 1 MiB body limit answers
    // the oversize cases with its own 413 page (NON-STRICT under R-BODY, not a failure).
    let port = stack.nginx(1, |p| {
        format!(
            "server {{\n  listen 127.0.0.1:{} ssl http2;\n  \
             ssl_certificate {dir}/server.pem;\n  ssl_certificate_key {dir}/server.key;\n  \
             underscores_in_headers on;\n  {php}\n}}",
            p[0]
        )
    })[0];
    let proxy = stack.tinyproxy();
    let base = format!("https://127.0.0.1:{port}");
    let target = format!("{base}{API}");
    let ca = stack.path("ca.pem").display().to_string();
    let observer = format!("{base}/reports/{{report_id}}");
    let (code, out) = kit(
        &[
            "--target",
            &target,
            "--ca-cert",
            &ca,
            "--proxy",
            &proxy,
            "--cases",
            "10",
            "--allow-writes",
            "--service",
            "1=203.0.113.10",
            "--service",
            "3=none",
            "--observe-url",
            &observer,
            "--no-snapshots",
            "--quiet",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code, Some(0), "{out}\n{}", stack.logs());
    assert!(out.contains("R-BODY"), "nginx's 413 page: {out}");
    let log = std::fs::read_to_string(stack.path("proxy.log")).unwrap_or_default();
    assert!(log.contains("CONNECT"), "through the proxy:\n{log}");
}

/// A read-only run of a few cases against `target`, no baseline.
async fn read_only(target: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "--target",
        target,
        "--cases",
        "5",
        "--no-snapshots",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    kit(&args, &[], None).await
}

/// The notes the run printed, in order.
fn notes(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("note: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_without_underscores_in_headers_is_named_with_its_fix() {
    if !have(&["nginx", "php-fpm"]) {
        return;
    }
    let mut stack = Stack::new("nginx-underscores");
    // Stock nginx: `underscores_in_headers` is off, so `API_ID` never reaches PHP.
    let target = nginx_fpm(&mut stack, "");
    let port: u16 = target
        .trim_end_matches(API)
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    let seen = get_with_key(port, "/headers.php");
    assert!(
        seen.contains("\"server\":null") && seen.contains("\"getallheaders\":null"),
        "nginx drops the header before PHP: {seen}"
    );
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(1), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    assert!(note.contains("AMP001"), "{out}");
    assert!(note.contains("`API-ID` (hyphen) was accepted"), "{note}");
    assert!(
        note.contains("nginx") && note.contains("underscores_in_headers on;"),
        "{note}"
    );
    assert_eq!(
        notes(&out)
            .iter()
            .filter(|n| n.contains("underscores_in_headers"))
            .count(),
        1,
        "said once: {out}"
    );
}

/// A raw GET of `path` on `port` with `API_ID` (and nothing else); the answer's body.
fn get_with_key(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAPI_ID: {KEY}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or(answer)
}

/// Apache's fix for the header: copy it into the variable PHP reads.
const APACHE_FIX: &str = "SetEnvIfNoCase ^API.ID$ ^(.*)$ HTTP_API_ID=$1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_proxy_fcgi_drops_underscore_headers_and_setenvif_restores_them() {
    if !have(&["apache2", "php-fpm"]) {
        return;
    }
    let mut stack = Stack::new("apache-fcgi");
    stack.php_fpm(None);
    let port = stack.apache(false, "");
    let target = format!("http://127.0.0.1:{port}{API}");
    let seen = get_with_key(port, "/headers.php");
    assert!(
        seen.contains("\"server\":null") && seen.contains("\"getallheaders\":null"),
        "Apache leaves API_ID out of the FastCGI variables, which php-fpm's getallheaders() \
         reads too: {seen}"
    );
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(1), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    assert!(
        note.contains("Apache") && note.contains("SetEnvIfNoCase"),
        "{note}"
    );
    assert!(
        !note.contains("underscores_in_headers"),
        "not nginx's fix: {note}"
    );
    drop(stack);

    // The documented fix, verified.
    let mut stack = Stack::new("apache-fcgi-fixed");
    stack.php_fpm(None);
    let port = stack.apache(false, APACHE_FIX);
    let target = format!("http://127.0.0.1:{port}{API}");
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(0), "{out}\n{}", stack.logs());
    assert!(!out.contains("AMP001 ("), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_mod_php_keeps_the_header_in_getallheaders_only() {
    if !have(&["apache2", "mod_php"]) {
        return;
    }
    let mut stack = Stack::new("apache-modphp");
    let port = stack.apache(true, "");
    let seen = get_with_key(port, "/headers.php");
    assert!(
        seen.contains("\"server\":null") && seen.contains(&format!("\"getallheaders\":\"{KEY}\"")),
        "{seen}\n{}",
        stack.logs()
    );
    let target = format!("http://127.0.0.1:{port}{API}");
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(1), "{out}\n{}", stack.logs());
    assert!(first_note(&out).contains("getallheaders()"), "{out}");
    drop(stack);

    let mut stack = Stack::new("apache-modphp-fixed");
    let port = stack.apache(true, APACHE_FIX);
    let target = format!("http://127.0.0.1:{port}{API}");
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(0), "{out}\n{}", stack.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_to_https_redirect_and_a_self_signed_certificate() {
    if !have(&["nginx", "php-fpm", "openssl"]) {
        return;
    }
    let mut stack = Stack::new("redirect");
    daemons::self_signed(&stack.dir);
    stack.php_fpm(None);
    let php = stack.nginx_php();
    let dir = stack.dir.display().to_string();
    let ports = stack.nginx(2, |p| {
        let (http, https) = (p[0], p[1]);
        format!(
            "server {{\n  listen 127.0.0.1:{http};\n  return 301 https://127.0.0.1:{https}$request_uri;\n}}\n\
             server {{\n  listen 127.0.0.1:{https} ssl;\n  ssl_certificate {dir}/self.pem;\n  \
             ssl_certificate_key {dir}/self.key;\n  underscores_in_headers on;\n  {php}\n}}"
        )
    });
    let (http, https) = (ports[0], ports[1]);
    let (code, out) = read_only(&format!("http://127.0.0.1:{http}{API}"), &[]).await;
    assert_eq!(code, Some(2), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    assert!(
        note.contains("redirect") && note.contains(&format!("https://127.0.0.1:{https}{API}")),
        "{out}"
    );
    // The final URL, with the certificate `openssl req -x509` made: refused until named.
    let target = format!("https://127.0.0.1:{https}{API}");
    let (code, out) = read_only(&target, &[]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--ca-cert"), "{out}");
    // In words that say what is wrong, not rustls' Debug text.
    assert!(
        out.contains("a CA certificate the server uses as its own") && !out.contains("Other("),
        "{out}"
    );
    let cert = stack.path("self.pem").display().to_string();
    let (code, out) = read_only(&target, &["--ca-cert", &cert]).await;
    assert_eq!(code, Some(0), "{out}\n{}", stack.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_down_behind_nginx_is_an_outage_naming_the_hop() {
    if !have(&["nginx"]) {
        return;
    }
    let mut stack = Stack::new("down");
    // php-fpm is not started: nginx answers 502 for every request. On the second port nginx
    // refuses everything itself (an allow-list, a firewall refusing all).
    let php = stack.nginx_php();
    let ports = stack.nginx(2, |p| {
        format!(
            "server {{\n  listen 127.0.0.1:{};\n  underscores_in_headers on;\n  {php}\n}}\n\
             server {{\n  listen 127.0.0.1:{};\n  location / {{ return 403; }}\n}}",
            p[0], p[1]
        )
    });
    let (code, out) = read_only(&format!("http://127.0.0.1:{}{API}", ports[0]), &[]).await;
    assert_eq!(code, Some(3), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    assert!(
        note.contains("502") && note.contains("nginx") && note.contains("application behind it"),
        "{out}"
    );
    assert!(
        !out.contains("answered HTML"),
        "the 502 page has its note: {out}"
    );

    let (code, out) = read_only(&format!("http://127.0.0.1:{}{API}", ports[1]), &[]).await;
    assert_eq!(code, Some(1), "{out}");
    let note = first_note(&out);
    assert!(
        note.contains("HTTP 403") && note.contains("refuses the kit's requests"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waf_rule_blocking_non_ascii_text_is_named_with_the_requests_it_blocked() {
    if !have(&["nginx", "php-fpm"]) {
        return;
    }
    let mut stack = Stack::new("waf");
    // What ModSecurity's CRS does to many non-Latin texts (its "restricted character" and
    // charset rules), as a PHP firewall installed with auto_prepend_file does it: the page of
    // the front, 403, before the application runs.
    stack.php_fpm(Some(
        "<?php\n$raw = (string) file_get_contents('php://input');\n\
         if (preg_match('/[\\x80-\\xff]/', urldecode($raw)) === 1) {\n\
         http_response_code(403);\nheader('Content-Type: text/html');\n\
         echo \"<html>\\r\\n<head><title>403 Forbidden</title></head>\\r\\n<body>\\r\\n\
         <center><h1>403 Forbidden</h1></center>\\r\\n<hr><center>nginx</center>\\r\\n</body>\\r\\n</html>\\r\\n\";\n\
         exit;\n}\n",
    ));
    let php = stack.nginx_php();
    let port = stack.nginx(1, |p| {
        format!(
            "server {{\n  listen 127.0.0.1:{};\n  underscores_in_headers on;\n  {php}\n}}",
            p[0]
        )
    })[0];
    let target = format!("http://127.0.0.1:{port}{API}");
    let (json, markdown) = (stack.path("report.json"), stack.path("report.md"));
    let (code, out) = kit(
        &[
            "--target",
            &target,
            "--cases",
            "5",
            "--no-snapshots",
            "--quiet",
            "--allow-writes",
            "--service",
            "1=203.0.113.10",
            "--service",
            "3=none",
            "--format",
            "json",
            "--output",
            &json.display().to_string(),
            "--format",
            "markdown",
            "--output",
            &markdown.display().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code, Some(1), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    assert!(
        note.contains("403") && note.contains("non-ASCII") && note.contains("blocked"),
        "{out}"
    );
    assert!(
        note.contains("are creates the page documents as valid") && note.contains("/create"),
        "names the documented-valid creates it blocked: {note}"
    );
    // Before the findings it explains, and in the reports too.
    let first_finding = out.find("FAIL ").unwrap_or(out.len());
    assert!(out.find("note: ").unwrap() < first_finding, "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["notes"][0].as_str(), Some(note), "{report:#}");
    let summary = std::fs::read_to_string(&markdown).unwrap();
    let at = summary.find("a firewall in front of the API").unwrap();
    assert!(
        at < summary.find("D-NO-5XX").unwrap_or(summary.len()),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modsecurity_crs_in_front_of_apache_is_named_with_the_creates_it_blocks() {
    if !have(&["apache2", "php-fpm", "modsecurity-crs"]) {
        return;
    }
    let mut stack = Stack::new("modsecurity");
    stack.php_fpm(None);
    // Paranoia level 1, the CRS's default.
    let crs = daemons::modsecurity_crs(&stack.dir, 1);
    let port = stack.apache(false, &format!("{APACHE_FIX}\n{crs}"));
    let target = format!("http://127.0.0.1:{port}{API}");
    let (code, out) = kit(
        &[
            "--target",
            &target,
            "--cases",
            "5",
            "--no-snapshots",
            "--quiet",
            "--allow-writes",
            "--service",
            "1=203.0.113.10",
            "--service",
            "3=none",
            // Every create of the fixtures, the page's own special-character text among them.
            "--max-writes",
            "200",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code, Some(1), "{out}\n{}", stack.logs());
    let note = first_note(&out);
    // The page's own kind of text (quotes, `&`, `=`, `%`, non-Latin letters, emoji) in a
    // create it documents as valid: the CRS refuses it.
    assert!(
        note.contains("a firewall in front of the API")
            && note.contains("Server: Apache")
            && note.contains("success/text-special-characters (non-ASCII text in additional_info and quotes, brackets or markup in category)")
            && note.contains("real reports like these are blocked"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_path_wrong_service_and_observer_typo_each_get_their_note() {
    if !have(&["nginx", "php-fpm"]) {
        return;
    }
    let mut stack = Stack::new("mistakes");
    let target = nginx_fpm(&mut stack, "underscores_in_headers on;");
    let base = target.trim_end_matches(API).to_owned();

    // A wrong path: the application's own 404 for it.
    let (code, out) = read_only(&format!("{base}/includes/api.php"), &[]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        first_note(&out).contains("404 for the path /includes/api.php"),
        "{out}"
    );

    // A --service id the target does not know: one run-level hint.
    let (code, out) = kit(
        &[
            "--target",
            &target,
            "--cases",
            "5",
            "--no-snapshots",
            "--quiet",
            "--allow-writes",
            "--service",
            "77=192.0.2.7",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    let note = first_note(&out);
    assert!(note.contains("--service") && note.contains("77"), "{out}");

    // An observer URL with a typo: the URL requested and what came back.
    let (code, out) = kit(
        &[
            "--target",
            &target,
            "--cases",
            "5",
            "--no-snapshots",
            "--quiet",
            "--allow-writes",
            "--service",
            "1=203.0.113.10",
            "--observe-url",
            &format!("{base}/report/{{report_id}}"),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    let note = notes(&out)
        .into_iter()
        .find(|n| n.contains("observer"))
        .unwrap_or_default();
    assert!(
        note.contains(&format!("{base}/report/")) && note.contains("HTTP 404"),
        "{out}"
    );
}

/// README's two steps against a real stack, in one directory, twice: each mode keeps its own
/// baseline for this endpoint (scheme, host, port), and a correct server passes every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_two_steps_keep_their_baselines_per_endpoint_and_mode() {
    if !have(&["nginx", "php-fpm"]) {
        return;
    }
    let mut stack = Stack::new("baseline");
    let target = nginx_fpm(
        &mut stack,
        "underscores_in_headers on;\n  client_max_body_size 2m;",
    );
    let base = target.trim_end_matches(API).to_owned();
    let port = base.rsplit(':').next().unwrap().to_owned();
    let project = stack.path("project");
    std::fs::create_dir_all(&project).unwrap();
    let observer = format!("{base}/reports/{{report_id}}");
    let read_only: &[&str] = &["--target", &target, "--cases", "5", "--quiet"];
    let writes: &[&str] = &[
        "--target",
        &target,
        "--cases",
        "5",
        "--quiet",
        "--allow-writes",
        "--service",
        "1=203.0.113.10",
        "--service",
        "3=none",
        "--observe-url",
        &observer,
    ];
    for round in 0..2 {
        for args in [read_only, writes] {
            let (code, out) = kit(args, &[], Some(&project)).await;
            assert_eq!(
                code,
                Some(0),
                "round {round} {args:?}:\n{out}\n{}",
                stack.logs()
            );
            assert!(!out.contains("CHANGED"), "{out}");
        }
    }
    let baseline = project.join(format!("amp-baseline/http_localhost_{port}"));
    for mode in ["read-only", "writes"] {
        let files = std::fs::read_dir(baseline.join(mode)).unwrap().count();
        assert!(files > 20, "{files} files in {mode}");
    }
}
