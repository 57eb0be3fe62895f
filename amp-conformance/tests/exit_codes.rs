//! Exit codes as CONTRACT.md §4 gives them, through the installed binary's command line: a run
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
    assert!(front.backend.count() > 10, "the run's requests went through the HTTPS front");

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
        // Ready once it accepts a connection.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, port, dir });
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("openssl s_server did not start");
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
            let (status, body, _) = raw::amp_answer(&request, KEY, &ids);
            let status = if status == 413 {
                "413 Too Large"
            } else {
                "200 OK"
            };
            reply(
                stream,
                response(
                    status,
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                ),
            )
            .await
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
