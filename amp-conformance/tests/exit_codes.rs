//! Reaching a target, through the installed binary's command line: certificates (`--ca-cert`),
//! forward proxies (`--proxy` and the proxy variables, through Debian's tinyproxy), and the
//! exit codes CONTRACT.md §4 gives when the API cannot be reached. A run
//! that cannot reach the API because of what it was told (every answer a redirect, a 404 for
//! the path, a certificate that does not verify) exits 2 with the note that says what to
//! change; a front whose application is down (every answer 502, 503 or 504) is an outage,
//! exit 3. Each stops after its first few answers instead of reporting a hundred checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use raw::{RawRequest, bin, reply, response, spawn, text};
use tokio::net::TcpStream;

const KEY: &str = "exit-code-test-key";

/// Runs the binary against `endpoint` read-only, as a user does; exit code, stdout + stderr.
async fn run_against(endpoint: &str) -> (Option<i32>, String) {
    let output = bin()
        .args(["run", "--target", endpoint, "--missing-service-id", "999"])
        .args(["--no-snapshots", "--quiet", "--seed", "1", "--rate", "1000"])
        .env("AMP_API_ID", KEY)
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    (output.status.code(), out + &err)
}

/// A server that answers every request with `status`, `headers` and `body`.
async fn answering(
    status: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> raw::RawServer {
    spawn(move |stream: TcpStream, _: RawRequest| async move {
        reply(stream, response(status, headers, body.as_bytes())).await
    })
    .await
}

/// Requests the kit may send before the first five answers stop it (four more in flight).
const FEW: usize = 5 + 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_a_redirect_is_a_configuration_error() {
    let server = answering(
        "301 Moved Permanently",
        &[
            ("Location", "https://whmcs.example.invalid/api.php"),
            ("Content-Type", "text/html"),
        ],
        "<html>moved</html>",
    )
    .await;
    let (code, out) = run_against(&server.endpoint()).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("Pass the final URL as --target"), "{out}");
    assert!(
        out.contains("https://whmcs.example.invalid/api.php"),
        "{out}"
    );
    assert!(server.count() <= FEW, "{} requests", server.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_a_404_is_a_configuration_error() {
    let server = answering(
        "404 Not Found",
        &[("Content-Type", "text/html")],
        "<h1>Not Found</h1>",
    )
    .await;
    let (code, out) = run_against(&server.endpoint()).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is the endpoint right?"), "{out}");
    assert!(server.count() <= FEW, "{} requests", server.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_a_gateway_error_is_an_outage() {
    for status in [
        "502 Bad Gateway",
        "503 Service Unavailable",
        "504 Gateway Timeout",
    ] {
        let server = answering(
            status,
            &[("Server", "nginx/1.22.1"), ("Content-Type", "text/html")],
            "<html><center><h1>bad gateway</h1></center><hr><center>nginx</center></html>",
        )
        .await;
        let (code, out) = run_against(&server.endpoint()).await;
        assert_eq!(code, Some(3), "{status}: {out}");
        assert!(out.contains("the application behind it is down"), "{out}");
        assert!(server.count() <= FEW, "{} requests", server.count());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_a_configuration_error_naming_the_ca() {
    let Some(server) = SelfSigned::start() else {
        return;
    };
    let endpoint = format!(
        "https://127.0.0.1:{}/modules/addons/abusemanagerpro/includes/api.php",
        server.port
    );
    let (code, out) = run_against(&endpoint).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("certificate does not verify"), "{out}");
    assert!(out.contains("--ca-cert FILE"), "{out}");

    // Named with --ca-cert, the same self-signed certificate (marked as a CA, used by the
    // server itself: what `openssl req -x509` makes) is trusted: in front of a correct AMP
    // server, the read-only run passes over HTTPS.
    let front = https_front(&server.dir).await;
    let output = bin()
        .args(["run", "--target"])
        .arg(format!(
            "https://127.0.0.1:{}/modules/addons/abusemanagerpro/includes/api.php",
            front.port
        ))
        .args(["--missing-service-id", &raw::MISSING.to_string()])
        .args(["--no-snapshots", "--quiet", "--seed", "1", "--ca-cert"])
        .arg(server.dir.join("cert.pem"))
        .args(
            raw::services()
                .iter()
                .flat_map(|(id, _)| ["--service".to_owned(), id.to_string()]),
        )
        .env("AMP_API_ID", KEY)
        .output()
        .await
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{err}");
    assert!(front.served() > 0, "TLS connections through the front");
    assert!(
        front.backend.count() > 10,
        "the run's requests went through the HTTPS front"
    );

    // A file that is no certificate is a usage error naming it.
    let output = bin()
        .args(["run", "--target", &endpoint, "--ca-cert"])
        .arg(server.dir.join("key.pem"))
        .env("AMP_API_ID", KEY)
        .output()
        .await
        .unwrap();
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--ca-cert") && err.contains("key.pem"),
        "{err}"
    );
}

/// Waits until `child` accepts connections on `port` (polling, 5 s at most); kills it and
/// fails the test if it never does.
fn ready(child: &mut std::process::Child, port: u16, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not start on port {port}");
}

/// `openssl s_server` with a certificate `openssl req -x509` made for the test: nothing trusts it.
struct SelfSigned {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl SelfSigned {
    /// `None` (the test passes, saying why) when openssl is missing, unless `AMP_REQUIRE_PHP=1`
    /// (CI, which installs it).
    fn start() -> Option<Self> {
        use std::process::{Command, Stdio};
        let dir = raw::temp_dir("self-signed");
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=amp-test", "-keyout"])
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            assert!(
                !std::env::var("AMP_REQUIRE_PHP").is_ok_and(|v| v == "1"),
                "openssl is required (CI installs it)"
            );
            eprintln!("SKIPPED: no openssl to make a certificate");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let mut child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(port.to_string())
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ready(&mut child, port, "openssl s_server");
        Some(Self { child, port, dir })
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTPS front (rustls, with the test's self-signed certificate) for a correct AMP server.
struct HttpsFront {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    backend: raw::RawServer,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsFront {
    fn served(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for HttpsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn https_front(dir: &std::path::Path) -> HttpsFront {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let ids = Arc::new(AtomicU64::new(0));
    let backend = spawn(move |stream: TcpStream, request: RawRequest| {
        let ids = Arc::clone(&ids);
        async move {
            let (answer, _) = raw::amp_http_answer(&request, KEY, &ids);
            reply(stream, answer).await
        }
    })
    .await;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend_addr = backend.addr;
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counted) = (acceptor.clone(), Arc::clone(&counted));
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut plain) = TcpStream::connect(backend_addr).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    HttpsFront {
        port,
        connections,
        backend,
        task,
    }
}

/// Debian's tinyproxy on a free loopback port, with its log in a file; killed on drop.
struct Tinyproxy {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Tinyproxy {
    /// `None` (the test passes, saying why) without tinyproxy, unless `AMP_REQUIRE_PHP=1`
    /// (CI, which installs it). `extra` goes into its configuration.
    fn start(extra: &str) -> Option<Self> {
        use std::process::{Command, Stdio};
        if Command::new("tinyproxy").arg("-v").output().is_err() {
            assert!(
                !std::env::var("AMP_REQUIRE_PHP").is_ok_and(|v| v == "1"),
                "tinyproxy is required (CI installs it)"
            );
            eprintln!("SKIPPED: tinyproxy is not installed");
            return None;
        }
        let dir = raw::temp_dir("tinyproxy");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nMaxClients 64\nAllow 127.0.0.1\n{extra}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let mut child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        ready(&mut child, port, "tinyproxy");
        Some(Self { child, port, dir })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A read-only run of the binary against `endpoint` with `args` and `env`; exit code and text.
async fn run_with(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = bin();
    command
        .args(["run", "--target", endpoint, "--missing-service-id"])
        .arg(raw::MISSING.to_string())
        .args(["--no-snapshots", "--quiet", "--seed", "1", "--cases", "20"])
        .args(args)
        .env("AMP_API_ID", KEY);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    let (out, err) = text(&output);
    (output.status.code(), out + &err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_target_through_a_forward_proxy() {
    let Some(proxy) = Tinyproxy::start("") else {
        return;
    };
    let ids = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let server = spawn(move |stream: TcpStream, request: RawRequest| {
        let ids = std::sync::Arc::clone(&ids);
        async move {
            let (_, body, _) = raw::amp_answer(&request, KEY, &ids);
            reply(
                stream,
                response(
                    "200 OK",
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                ),
            )
            .await
        }
    })
    .await;
    let (code, out) = run_with(&server.endpoint(), &["--proxy", &proxy.url()], &[]).await;
    // tinyproxy merges the two API_ID headers of auth/several-headers: a finding a real hop
    // causes, not a failure of the run.
    assert!(matches!(code, Some(0 | 1)), "{out}");
    assert!(!out.contains("connect failed"), "{out}");
    let log = proxy.log();
    let through = log.matches("Request (file").count();
    assert!(through > 10, "{through} requests through the proxy:\n{log}");
    assert!(
        log.contains(&format!("POST {}", server.endpoint())),
        "absolute form:\n{log}"
    );
    assert!(
        server.requests().iter().all(|r| r.header("via").is_some()),
        "every request came through the proxy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_through_the_proxy_variables_is_tunnelled() {
    let Some(proxy) = Tinyproxy::start("") else {
        return;
    };
    let Some(cert) = SelfSigned::start() else {
        return;
    };
    let front = https_front(&cert.dir).await;
    let endpoint = format!(
        "https://127.0.0.1:{}/modules/addons/abusemanagerpro/includes/api.php",
        front.port
    );
    let ca = cert.dir.join("cert.pem").display().to_string();
    let (code, out) = run_with(
        &endpoint,
        &["--ca-cert", &ca],
        &[("HTTPS_PROXY", &proxy.url())],
    )
    .await;
    assert!(matches!(code, Some(0 | 1)), "{out}");
    assert!(
        proxy.log().contains("CONNECT"),
        "tunnelled:\n{}",
        proxy.log()
    );
    assert!(front.backend.count() > 10);
    // NO_PROXY names the host: straight to it.
    let before = proxy.log().matches("CONNECT").count();
    let (code, out) = run_with(
        &endpoint,
        &["--ca-cert", &ca],
        &[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "127.0.0.1")],
    )
    .await;
    assert!(matches!(code, Some(0 | 1)), "{out}");
    assert_eq!(
        proxy.log().matches("CONNECT").count(),
        before,
        "NO_PROXY bypasses it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_refuses_the_tunnel_is_an_outage_saying_so() {
    // Tunnels only to port 443: the target's port is refused.
    let Some(proxy) = Tinyproxy::start("ConnectPort 443") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("https://127.0.0.1:{port}/api.php");
    let (code, out) = run_with(&endpoint, &["--proxy", &proxy.url()], &[]).await;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("the proxy refused to tunnel"), "{out}");
}
