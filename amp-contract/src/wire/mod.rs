//! The kit's HTTP/1.1 transport (feature `client`), used by the typed [`client`](crate::client)
//! and by the `amp-conformance` runner. It writes every request head itself, so header names
//! go out byte for byte as the caller spells them, in its order: general-purpose clients
//! (hyper, reqwest) normalise names to lower or title case, and a PHP server reading
//! `getallheaders()['API_ID']` then sees nothing (CONTRACT.md §4).
//!
//! Plain TCP for `http://`, rustls with the platform's trust store for `https://` (the same
//! TLS stack reqwest used). Answers are parsed with `httparse`; a body is framed by
//! `Content-Length`, chunked encoding or the end of the connection, and is never read past the
//! cap. Idle keep-alive connections are pooled per origin, so a run of thousands of requests
//! does not pay a handshake for each.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

mod response;

pub use response::Answer;
use response::*;

/// Why no usable HTTP answer came. Texts name a header, never its value (it may be the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The connection could not be made; `step` says where it failed (DNS lookup, TCP
    /// connect, TLS handshake).
    #[error("{step} failed: {detail}")]
    Connect {
        /// Which step failed.
        step: &'static str,
        /// What the system or TLS library said.
        detail: String,
    },
    /// The server's certificate does not verify against the trusted roots (a private CA not
    /// named, a name that does not match, an expired certificate): retrying changes nothing.
    #[error(
        "the server's certificate does not verify ({0}): name the CA that signed it, or the \
         server's own self-signed certificate, with --ca-cert FILE (PEM)"
    )]
    Certificate(String),
    /// An `https://` URL whose server answered in plain HTTP, not TLS.
    #[error(
        "the server answered plain HTTP to a TLS handshake: use http:// for this port, or the \
         port that serves HTTPS"
    )]
    PlainHttp,
    /// No connection within the connect timeout ([`Client::with_connect_timeout`]).
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    /// No answer's head within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The status and headers came, but not the whole body within the timeout.
    #[error(
        "the body did not complete within {0:?} (the status line and headers came, then the answer stalled)"
    )]
    BodyTimeout(Duration),
    /// The answer's body exceeds the cap; it was not read further.
    #[error("response body larger than the {limit}-byte limit")]
    TooLarge {
        /// The answer's status code.
        status: u16,
        /// The cap.
        limit: usize,
    },
    /// Anything else: a request that cannot be written, a reset mid-answer, malformed HTTP.
    #[error("{0}")]
    Broken(String),
}

/// Longest status line and header block accepted.
const MAX_HEAD: usize = 256 * 1024;
/// Most header lines accepted in one answer.
const MAX_HEADERS: usize = 256;
/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Longest trailer section accepted after the last chunk.
const MAX_TRAILERS: usize = 64 * 1024;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Idle connections kept per origin: the CLI caps `--concurrency` at 256, so a run never has
/// more than that many to give back at once.
const MAX_IDLE_PER_ORIGIN: usize = 256;
/// An idle connection older than this is closed rather than reused: servers close idle
/// connections after a few seconds to a minute, and a fresh one costs less than a failed reuse.
const MAX_IDLE_AGE: Duration = Duration::from_secs(30);

/// Scheme, host and port: what a connection can be reused for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    tls: bool,
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A URL the transport can send to: where to connect, and what goes into the request line and
/// `Host`.
#[derive(Debug, Clone)]
pub struct Destination {
    origin: Origin,
    /// `Host` header value: host, and port when it is not the scheme's default.
    authority: String,
    /// Request target: path and query.
    target: String,
    /// `Authorization` value from credentials in the URL (`https://user:pass@host/`), which
    /// reqwest and curl both send as basic authentication.
    basic_auth: Option<String>,
}

impl Destination {
    /// Parses an `http://` or `https://` URL. The error says what is wrong (never a header).
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let url = url::Url::parse(text).map_err(|e| UrlError::Invalid(e.to_string()))?;
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(UrlError::Scheme(other.to_owned())),
        };
        let host = match url.host() {
            Some(url::Host::Domain(name)) => Host::Name(name.to_owned()),
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
            None => return Err(UrlError::Invalid("no host".to_owned())),
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        let host_str = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host_str}:{port}"),
            None => host_str.to_owned(),
        };
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let basic_auth = (!url.username().is_empty() || url.password().is_some()).then(|| {
            let decode =
                |text: &str| percent_encoding::percent_decode_str(text).collect::<Vec<u8>>();
            let mut credentials = decode(url.username());
            credentials.push(b':');
            credentials.extend(decode(url.password().unwrap_or_default()));
            format!("Basic {}", base64(&credentials))
        });
        Ok(Self {
            origin: Origin { tls, host, port },
            authority,
            target,
            basic_auth,
        })
    }
}

/// Standard base64 with padding (RFC 4648 §4), for basic authentication.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a URL cannot be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Not a URL at all.
    Invalid(String),
    /// A URL of another scheme.
    Scheme(String),
}

impl std::error::Error for UrlError {}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(why) => f.write_str(why),
            Self::Scheme(scheme) => write!(
                f,
                "the scheme is {scheme:?}; only http:// and https:// are supported"
            ),
        }
    }
}

/// Whether `name` is an HTTP field name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` can go into a header line: no control characters but tab (a CR or LF would
/// split the request).
fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The bytes of one request: request line, `Host`, the `kit` headers (unless `headers` has its
/// own of that name), `Content-Length` (unless `headers` frames the body itself), then
/// `headers` exactly as given, a blank line and the body. Error texts name a header, never its
/// value (it may be the key).
pub fn encode(
    method: &str,
    destination: &Destination,
    kit: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, WireError> {
    if !is_token(method) {
        return Err(WireError::Broken(format!("invalid method {method:?}")));
    }
    for (name, value) in kit.iter().chain(headers) {
        if !is_token(name) {
            return Err(WireError::Broken(format!("invalid header name {name:?}")));
        }
        if !is_field_value(value) {
            return Err(WireError::Broken(format!(
                "invalid value for header {name:?} (control characters)"
            )));
        }
    }
    let has = |wanted: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {} HTTP/1.1\r\n", destination.target).as_bytes());
    let mut line = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    if !has("host") {
        line("Host", &destination.authority);
    }
    if let Some(credentials) = destination
        .basic_auth
        .as_deref()
        .filter(|_| !has("authorization"))
    {
        line("Authorization", credentials);
    }
    for (name, value) in kit {
        if !has(name) {
            line(name, value);
        }
    }
    // A body, or a method that carries one, gets its length; a request that sets its own
    // framing (a test of broken framing) is sent as it says.
    let carries_body = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    if carries_body && !has("content-length") && !has("transfer-encoding") {
        line("Content-Length", &body.len().to_string());
    }
    for (name, value) in headers {
        line(name, value);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// A connection: plain TCP or TLS over TCP.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection with the bytes read from it but not yet used.
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    idle_since: Instant,
    /// Plain HTTP through a forward proxy: requests go in absolute form (`POST http://host/…`)
    /// with the proxy's credentials.
    via: Option<AbsoluteForm>,
}

/// How a request goes to a forward proxy for a plain-HTTP origin (RFC 9112 §3.2.2).
#[derive(Debug, Clone)]
struct AbsoluteForm {
    /// `http://host:port`, put before the request target.
    origin: String,
    /// `Proxy-Authorization` value, from credentials in the proxy URL.
    auth: Option<String>,
}

impl AbsoluteForm {
    /// `request` with its target in absolute form and the proxy's credentials.
    fn rewrite(&self, request: &[u8]) -> Vec<u8> {
        let Some(space) = request.iter().position(|&b| b == b' ') else {
            return request.to_vec();
        };
        let line_end = request
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(request.len());
        let mut out = Vec::with_capacity(request.len() + self.origin.len() + 64);
        out.extend_from_slice(&request[..=space]);
        out.extend_from_slice(self.origin.as_bytes());
        out.extend_from_slice(&request[space + 1..line_end]);
        if let Some(auth) = &self.auth {
            out.extend_from_slice(b"\r\nProxy-Authorization: ");
            out.extend_from_slice(auth.as_bytes());
        }
        out.extend_from_slice(&request[line_end..]);
        out
    }
}

/// Which forward proxy, if any, a connection goes through: the standard variables
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as curl reads them) by default, or
/// one given URL (`--proxy`), or none.
#[derive(Debug)]
pub struct Proxy(Option<hyper_util::client::proxy::matcher::Matcher>);

impl Proxy {
    /// The proxy the environment names, as curl reads it.
    pub fn from_env() -> Self {
        Self(Some(hyper_util::client::proxy::matcher::Matcher::from_env()))
    }

    /// Every destination through `url` (`http://[user:pass@]host:port`), except those
    /// `NO_PROXY` names.
    pub fn to(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a proxy URL: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "{url:?}: give the proxy as http://host:port (an HTTP forward proxy)"
            ));
        }
        let no = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| std::env::var(name).ok())
            .unwrap_or_default();
        Ok(Self(Some(
            hyper_util::client::proxy::matcher::Matcher::builder()
                .all(url.to_owned())
                .no(no)
                .build(),
        )))
    }

    /// No proxy at all.
    pub fn none() -> Self {
        Self(None)
    }

    /// The proxy for `origin`: where to connect, and the `Proxy-Authorization` value.
    fn route(&self, origin: &Origin) -> Option<(String, u16, Option<String>)> {
        let matcher = self.0.as_ref()?;
        let host = match &origin.host {
            Host::Name(name) => name.clone(),
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Host::Ip(ip) => ip.to_string(),
        };
        let scheme = if origin.tls { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{host}:{}/", origin.port).parse().ok()?;
        let intercept = matcher.intercept(&uri)?;
        let proxy = intercept.uri();
        let auth = intercept
            .basic_auth()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Some((
            proxy.host()?.trim_matches(['[', ']']).to_owned(),
            proxy.port_u16().unwrap_or(80),
            auth,
        ))
    }
}

impl Default for Proxy {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Conn {
    /// Whether an idle connection has nothing to say: bytes waiting (garbage after the last
    /// answer) or an end of stream (the server closed it) make it unusable. Polls once without
    /// waiting; a pending read means quiet.
    fn is_quiet(&mut self) -> bool {
        let mut byte = [0u8; 1];
        let mut probe = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(&mut self.stream)
            .poll_read(&mut cx, &mut probe)
            .is_pending()
    }
}

/// Certificates trusted beyond the platform's roots (`--ca-cert FILE`): a private CA, or a
/// server's own self-signed certificate.
///
/// A certificate given here is trusted two ways: as a root for the chains the server presents,
/// and, when the server presents exactly this certificate, as that server's certificate
/// whatever its extensions and names. The second is what `openssl req -x509` makes (a
/// certificate marked as a CA and used by the server itself), which WebPKI alone refuses
/// (`CaUsedAsEndEntity`); trusting the exact bytes the user named is as strict as pinning.
#[derive(Debug, Clone, Default)]
pub struct TrustedCerts(Vec<rustls::pki_types::CertificateDer<'static>>);

impl TrustedCerts {
    /// The certificates of a PEM file's text; the error says what is wrong with it.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM certificate file: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in it (expected -----BEGIN CERTIFICATE-----)".to_owned());
        }
        Ok(Self(certs))
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The platform's verifier with the user's certificates as extra roots, and those exact
/// certificates accepted as a server's own (see [`TrustedCerts`]).
#[derive(Debug)]
struct PinningVerifier {
    inner: rustls_platform_verifier::Verifier,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Opens a tunnel to `authority` through the proxy `tcp` is connected to (`CONNECT`, RFC 9110
/// §9.3.6); a proxy that refuses is a connection not made.
async fn tunnel(tcp: &mut TcpStream, authority: &str, auth: Option<&str>) -> Result<(), WireError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let failed = |detail: String| WireError::Connect {
        step: "proxy CONNECT",
        detail,
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = auth {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes())
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        if answer.len() > MAX_HEAD {
            return Err(failed(
                "the proxy's answer to CONNECT never ended".to_owned(),
            ));
        }
        // One byte at a time: whatever follows the head belongs to the tunnel.
        let n = tcp
            .read(&mut chunk[..1])
            .await
            .map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            return Err(failed("the proxy closed the connection".to_owned()));
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(()),
        _ => Err(failed(format!(
            "the proxy refused to tunnel to {authority}: {}",
            line.lines().next().unwrap_or("")
        ))),
    }
}

/// Sends requests over pooled connections; share one (in an `Arc`) among the tasks that send.
pub struct Client {
    idle: Mutex<HashMap<Origin, Vec<Conn>>>,
    trusted: TrustedCerts,
    proxy: Proxy,
    /// Built on the first `https://` request: loading the platform's trust store is wasted on
    /// plain HTTP, and a failure belongs to the TLS step of that request.
    tls: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
    connect_timeout: Option<Duration>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self
            .idle
            .lock()
            .map_or(0, |idle| idle.values().map(Vec::len).sum::<usize>());
        f.debug_struct("Client").field("idle", &idle).finish()
    }
}

impl Client {
    /// A client with an empty pool.
    pub fn new() -> Self {
        Self {
            idle: Mutex::new(HashMap::new()),
            trusted: TrustedCerts::default(),
            proxy: Proxy::from_env(),
            tls: OnceLock::new(),
            connect_timeout: None,
        }
    }

    /// A client that goes through `proxy` (by default, the one the environment names).
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// A client that also trusts `certs` (see [`TrustedCerts`]).
    pub fn with_trusted(mut self, certs: TrustedCerts) -> Self {
        self.trusted = certs;
        self
    }

    /// A client whose connections (DNS, TCP and TLS together) must be made within `timeout`,
    /// or fail as [`WireError::ConnectTimeout`]; by default only the exchange's deadline limits them.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    fn tls(&self) -> Result<tokio_rustls::TlsConnector, String> {
        self.tls
            .get_or_init(|| {
                use rustls_platform_verifier::BuilderVerifierExt;
                // Like reqwest: a provider the process installed, else aws-lc-rs.
                let provider = rustls::crypto::CryptoProvider::get_default()
                    .cloned()
                    .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
                let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?;
                let mut config = if self.trusted.is_empty() {
                    builder
                        .with_platform_verifier()
                        .map_err(|e| e.to_string())?
                        .with_no_client_auth()
                } else {
                    let inner = rustls_platform_verifier::Verifier::new_with_extra_roots(
                        self.trusted.0.iter().cloned(),
                        provider,
                    )
                    .map_err(|e| format!("the --ca-cert certificates cannot be used: {e}"))?;
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(PinningVerifier {
                            inner,
                            pinned: self.trusted.0.clone(),
                        }))
                        .with_no_client_auth()
                };
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
            })
            .clone()
    }

    /// An idle connection to `origin` that is still quiet, if any.
    fn checkout(&self, origin: &Origin) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                idle.get_mut(origin)?.pop()?
            };
            if conn.idle_since.elapsed() < MAX_IDLE_AGE && conn.is_quiet() {
                return Some(conn);
            }
        }
    }

    fn checkin(&self, origin: &Origin, mut conn: Conn) {
        conn.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let conns = idle.entry(origin.clone()).or_default();
        if conns.len() < MAX_IDLE_PER_ORIGIN {
            conns.push(conn);
        }
    }

    /// [`Client::connect`] within the connect timeout, if one is set.
    async fn connect_within(&self, origin: &Origin) -> Result<Conn, WireError> {
        match self.connect_timeout {
            None => self.connect(origin).await,
            Some(limit) => tokio::time::timeout(limit, self.connect(origin))
                .await
                .unwrap_or(Err(WireError::ConnectTimeout(limit))),
        }
    }

    /// A fresh connection, each failure named by its step (DNS lookup, TCP connect, TLS
    /// handshake): they make a run's outage (exit code 3).
    async fn connect(&self, origin: &Origin) -> Result<Conn, WireError> {
        let failed = |step: &'static str, detail: String| WireError::Connect { step, detail };
        let route = self.proxy.route(origin);
        let (connect_host, connect_port) = match &route {
            Some((host, port, _)) => match host.parse::<IpAddr>() {
                Ok(ip) => (Host::Ip(ip), *port),
                Err(_) => (Host::Name(host.clone()), *port),
            },
            None => (origin.host.clone(), origin.port),
        };
        let addresses: Vec<SocketAddr> = match &connect_host {
            Host::Ip(ip) => vec![SocketAddr::new(*ip, connect_port)],
            Host::Name(name) => tokio::net::lookup_host((name.as_str(), connect_port))
                .await
                .map_err(|e| failed("DNS lookup", e.to_string()))?
                .collect(),
        };
        let mut last = None;
        let mut tcp = None;
        for address in &addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(tcp) = tcp else {
            return Err(match last {
                Some(e) => failed("TCP connect", e.to_string()),
                None => failed("DNS lookup", "the name has no address".to_owned()),
            });
        };
        // Head and body leave in one write; without this, a request split by the kernel
        // could wait for a delayed ACK.
        let _ = tcp.set_nodelay(true);
        let authority = match &origin.host {
            Host::Name(name) => format!("{name}:{}", origin.port),
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{}", origin.port),
            Host::Ip(ip) => format!("{ip}:{}", origin.port),
        };
        let mut tcp = tcp;
        let via = match (&route, origin.tls) {
            (Some((_, _, auth)), true) => {
                tunnel(&mut tcp, &authority, auth.as_deref()).await?;
                None
            }
            (Some((_, _, auth)), false) => Some(AbsoluteForm {
                // As the Host header has it: the default port left out.
                origin: format!(
                    "http://{}",
                    authority.strip_suffix(":80").unwrap_or(&authority)
                ),
                auth: auth.clone(),
            }),
            (None, _) => None,
        };
        let stream = if origin.tls {
            let connector = self.tls().map_err(|e| failed("TLS handshake", e))?;
            let name = match &origin.host {
                Host::Ip(ip) => rustls::pki_types::ServerName::IpAddress((*ip).into()),
                Host::Name(name) => rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| failed("TLS handshake", e.to_string()))?,
            };
            let tls = connector.connect(name, tcp).await.map_err(|e| {
                // rustls' typed error inside the io::Error tells the user's configuration
                // (a certificate, a scheme) from a connection that failed.
                match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    Some(rustls::Error::InvalidCertificate(why)) => {
                        WireError::Certificate(certificate_reason(why))
                    }
                    Some(rustls::Error::InvalidMessage(
                        rustls::InvalidMessage::InvalidContentType,
                    )) => WireError::PlainHttp,
                    _ => failed("TLS handshake", e.to_string()),
                }
            })?;
            Stream::Tls(Box::new(tls))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Conn {
            stream,
            buf: Vec::new(),
            idle_since: Instant::now(),
            via,
        })
    }

    /// Sends `request` (from [`encode`]) and reads the answer, within `deadline`: before the
    /// head has come, running out is [`WireError::Timeout`], after it
    /// [`WireError::BodyTimeout`]. A reused connection that fails before any byte of an
    /// answer is replaced by a fresh one, once.
    pub async fn exchange(
        &self,
        destination: &Destination,
        request: &[u8],
        head_request: bool,
        max_body: usize,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<Answer, WireError> {
        let origin = &destination.origin;
        let head_phase = async {
            let mut reuse = true;
            loop {
                let (mut conn, reused) = match reuse.then(|| self.checkout(origin)).flatten() {
                    Some(conn) => (conn, true),
                    None => (self.connect_within(origin).await?, false),
                };
                let proxied = conn.via.as_ref().map(|via| via.rewrite(request));
                let bytes = proxied.as_deref().unwrap_or(request);
                match exchange_head(&mut conn, bytes, head_request).await {
                    Ok(read) => return Ok((conn, read)),
                    Err(HeadError::Silent(_)) if reused => reuse = false,
                    Err(e) => return Err(e.into_transport()),
                }
            }
        };
        let (mut conn, read) = tokio::time::timeout_at(deadline, head_phase)
            .await
            .map_err(|_| WireError::Timeout(timeout))??;
        let (body, clean) =
            tokio::time::timeout_at(deadline, read_body(&mut conn, &read.head, max_body))
                .await
                .map_err(|_| WireError::BodyTimeout(timeout))??;
        // Bytes beyond the framed body mean the framing lied: the connection is not reused.
        if clean && read.head.keep_alive && read.request_complete && conn.buf.is_empty() {
            self.checkin(origin, conn);
        }
        let Head {
            status,
            content_type,
            location,
            server,
            ..
        } = read.head;
        Ok(Answer {
            status,
            content_type,
            location,
            server,
            body,
        })
    }
}

/// What is wrong with a server's certificate, in words that point to the fix (issue 20: users
/// were shown rustls' `Other(OtherError(CaUsedAsEndEntity))`).
fn certificate_reason(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => "it is signed by a CA this machine does not trust".to_owned(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "it was issued for another host name than the URL's".to_owned()
        }
        E::Expired | E::ExpiredContext { .. } => "it has expired".to_owned(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".to_owned(),
        E::Revoked => "it has been revoked".to_owned(),
        E::BadSignature => "its signature does not verify".to_owned(),
        // webpki's reason inside `Other` has no public type to match on; its name does.
        E::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "it is a CA certificate the server uses as its own, as `openssl req -x509` makes \
             by default; pass that very certificate"
                .to_owned()
        }
        other => format!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"1A;name=value"), Some(26));
        assert_eq!(chunk_size(b"  0 "), Some(0));
        assert_eq!(chunk_size(b"0000000000000000000010"), Some(16));
        assert_eq!(chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(chunk_size(b"1ffffffffffffffff"), None);
        assert_eq!(chunk_size(b""), None);
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"-1"), None);
        assert_eq!(chunk_size(b"+1"), None);
    }

    fn head(bytes: &[u8]) -> Head {
        match parse_head(bytes, false) {
            Parsed::Done(head, len) => {
                assert_eq!(len, bytes.len());
                head
            }
            Parsed::Partial => panic!("partial"),
            Parsed::Interim(_) => panic!("interim"),
            Parsed::Invalid(why) => panic!("invalid: {why}"),
        }
    }

    #[test]
    fn framing_and_keep_alive() {
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
        let h = head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));
        let h = head(b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(0), false));
        let h = head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        assert!(h.keep_alive);
        let h = head(b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(h.framing, Framing::Empty);
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(7));
        let h = head(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Type: text/html\r\n\r\n");
        assert_eq!(h.location.as_deref(), Some("/x"));
        assert_eq!(h.content_type.as_deref(), Some("text/html"));
        assert_eq!(h.framing, Framing::Close);
    }

    #[test]
    fn bad_heads() {
        for bytes in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"{\"status\":\"success\"}",
        ] {
            assert!(matches!(parse_head(bytes, false), Parsed::Invalid(_)));
        }
        assert!(matches!(
            parse_head(b"HTTP/1.1 100 Continue\r\n\r\n", false),
            Parsed::Interim(25)
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-", false),
            Parsed::Partial
        ));
    }

    #[test]
    fn the_head_keeps_names_and_order() {
        let destination = Destination::parse("http://example.test:8080/a/b.php?x=1").unwrap();
        let bytes = encode(
            "POST",
            &destination,
            &[("X-Kit", "1"), ("User-Agent", "kit")],
            &[("API_ID", "k"), ("content-type", "a/b"), ("Api_Id", "")],
            b"body",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /a/b.php?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Kit: 1\r\n\
             User-Agent: kit\r\nContent-Length: 4\r\nAPI_ID: k\r\ncontent-type: a/b\r\n\
             Api_Id: \r\n\r\nbody"
        );
        let empty_post = encode("POST", &destination, &[], &[], b"").unwrap();
        assert!(
            String::from_utf8(empty_post)
                .unwrap()
                .contains("Content-Length: 0\r\n")
        );
        let get = encode("GET", &destination, &[], &[], b"").unwrap();
        assert!(!String::from_utf8(get).unwrap().contains("Content-Length"));
        let own = encode(
            "POST",
            &destination,
            &[],
            &[("Content-Length", "abc")],
            b"x",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(own)
                .unwrap()
                .matches("Content-Length")
                .count(),
            1
        );
    }

    #[test]
    fn injected_lines_are_refused_without_their_value() {
        let destination = Destination::parse("https://example.test/").unwrap();
        let err = encode(
            "POST",
            &destination,
            &[],
            &[("API_ID", "secret\r\nX: y")],
            b"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("API_ID") && !err.contains("secret"), "{err}");
        assert!(encode("PO ST", &destination, &[], &[], b"").is_err());
        assert!(encode("POST", &destination, &[], &[("a b", "x")], b"").is_err());
    }

    #[test]
    fn destinations() {
        let d = Destination::parse("http://[::1]:80/p").unwrap();
        assert_eq!((d.authority.as_str(), d.origin.port), ("[::1]", 80));
        assert_eq!(d.origin.host, Host::Ip("::1".parse().unwrap()));
        let d = Destination::parse("https://Example.TEST").unwrap();
        assert_eq!(
            (d.authority.as_str(), d.target.as_str()),
            ("example.test", "/")
        );
        assert_eq!(d.origin.port, 443);
        assert!(matches!(
            Destination::parse("ftp://example.test/"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            Destination::parse("nope"),
            Err(UrlError::Invalid(_))
        ));
    }
}
