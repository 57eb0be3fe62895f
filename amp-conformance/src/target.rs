//! Sending requests to the implementation under test, over HTTP with reqwest, with a capped
//! response body and per-request timeouts.

use std::time::{Duration, Instant};

use crate::cases::WireRequest;

/// The `API_ID` value: never printed (its `Debug` hides it).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the key in `text` with `$AMP_API_ID`. Keys shorter than
    /// [`Secret::MIN_REDACTED`] are left alone: such a key cannot be told from ordinary text
    /// (the CLI warns about it).
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < Self::MIN_REDACTED {
            text.to_owned()
        } else {
            text.replace(&self.0, "$AMP_API_ID")
        }
    }

    /// Shortest key that output is scrubbed of.
    pub const MIN_REDACTED: usize = 4;
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An HTTP answer, body capped.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Body bytes (at most the cap).
    pub body: Vec<u8>,
    /// `Location`, if any (redirects are not followed).
    pub location: Option<String>,
    /// Time to the end of the body.
    pub elapsed: Duration,
}

/// Why no usable HTTP answer came (outcome class `ERROR`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be made; `step` says where it failed (DNS lookup, TCP
    /// connect, TLS handshake).
    #[error("{step} failed: {detail}")]
    Connect {
        /// Which step failed.
        step: &'static str,
        /// What the client said.
        detail: String,
    },
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The status and headers came, but not the whole body within the timeout (a target
    /// that hangs or drip-feeds the body).
    #[error(
        "the body did not complete within {0:?} (the status line and headers came, then the answer stalled)"
    )]
    BodyTimeout(Duration),
    /// The answer's body exceeds the cap.
    #[error("response body larger than the {0}-byte limit")]
    TooLarge(usize),
    /// Not sent: the run stopped sending (the reason says why).
    #[error("{0}")]
    NotSent(String),
    /// Anything else: reset mid-answer, malformed HTTP.
    #[error("{0}")]
    Broken(String),
}

impl TransportError {
    /// Whether nothing reached the target (for exit code 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
}

/// An implementation under test.
#[derive(Debug, Clone)]
pub struct Target {
    client: reqwest::Client,
    title_case: reqwest::Client,
    endpoint: String,
    key: Secret,
    timeout: Duration,
    max_body: usize,
    marker: String,
    pacer: Option<std::sync::Arc<Pacer>>,
}

/// Spaces requests evenly: at most `rate` per second across every task (CONTRACT.md §6).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// A pacer for `rate` requests per second.
    pub fn new(rate: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The header that names the kit and the run on every request (CONTRACT.md §6).
pub const MARKER_HEADER: &str = "x-amp-conformance";

/// Describes a reqwest error with its causes (never a header value).
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl Target {
    /// A target at `endpoint` (the full API URL).
    pub fn new(
        endpoint: &str,
        key: Secret,
        timeout: Duration,
        max_body: usize,
        run_id: &str,
    ) -> Result<Self, String> {
        let build = |title_case: bool| {
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(concat!("amp-conformance/", env!("CARGO_PKG_VERSION")));
            if title_case {
                builder = builder.http1_title_case_headers();
            }
            builder
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {}", describe(&e)))
        };
        reqwest::Url::parse(endpoint)
            .map_err(|e| format!("--target {endpoint:?} is not a URL: {e}"))?;
        Ok(Self {
            client: build(false)?,
            title_case: build(true)?,
            endpoint: endpoint.to_owned(),
            key,
            timeout,
            max_body,
            marker: format!("amp-conformance/{} run={run_id}", env!("CARGO_PKG_VERSION")),
            pacer: None,
        })
    }

    /// Limits the rate to `rate` requests per second (`None`: no limit).
    pub fn with_rate(mut self, rate: Option<f64>) -> Self {
        self.pacer = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| std::sync::Arc::new(Pacer::new(r)));
        self
    }

    /// Whether the endpoint's host is on this machine (no default rate limit then).
    pub fn is_loopback(endpoint: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(endpoint) else {
            return false;
        };
        let host = url
            .host_str()
            .unwrap_or("")
            .trim_matches(|c| c == '[' || c == ']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The host part, for naming a snapshot directory.
    pub fn host_label(endpoint: &str) -> String {
        let Ok(url) = reqwest::Url::parse(endpoint) else {
            return "target".to_owned();
        };
        let host = url
            .host_str()
            .unwrap_or("target")
            .trim_matches(|c| c == '[' || c == ']');
        let label = match url.port() {
            Some(port) => format!("{host}_{port}"),
            None => host.to_owned(),
        };
        label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The key (to redact output and to ask the oracle).
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// The URL a request goes to.
    pub fn url_for(&self, request: &WireRequest) -> String {
        match &request.query {
            Some(q) if self.endpoint.contains('?') => format!("{}&{q}", self.endpoint),
            Some(q) => format!("{}?{q}", self.endpoint),
            None => self.endpoint.clone(),
        }
    }

    /// Sends one request and reads at most the capped body.
    pub async fn send(&self, request: &WireRequest) -> Result<HttpAnswer, TransportError> {
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        let started = Instant::now();
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::Broken(format!("invalid method {:?}", request.method)))?;
        let auth = request.auth.headers(self.key.expose());
        let client = if auth
            .iter()
            .any(|(n, _)| n.bytes().any(|b| b.is_ascii_uppercase()))
        {
            &self.title_case
        } else {
            &self.client
        };
        let mut builder = client
            .request(method, self.url_for(request))
            .header(MARKER_HEADER, &self.marker)
            .body(request.body.clone());
        for (name, value) in auth.iter().chain(&request.headers) {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let headers_came = std::sync::atomic::AtomicBool::new(false);
        let send = async {
            let mut response = builder
                .send()
                .await
                .map_err(|e| classify(&e, self.timeout))?;
            headers_came.store(true, std::sync::atomic::Ordering::SeqCst);
            let status = response.status().as_u16();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(reqwest::header::CONTENT_TYPE);
            let location = header(reqwest::header::LOCATION);
            if response
                .content_length()
                .is_some_and(|n| n > self.max_body as u64)
            {
                return Err(TransportError::TooLarge(self.max_body));
            }
            let mut body = Vec::new();
            while let Some(chunk) =
                response
                    .chunk()
                    .await
                    .map_err(|e| match classify(&e, self.timeout) {
                        TransportError::Timeout(d) => TransportError::BodyTimeout(d),
                        TransportError::Broken(_) => TransportError::Broken(format!(
                            "the answer broke off in the body (HTTP {status}): {}",
                            innermost(&e)
                        )),
                        other => other,
                    })?
            {
                if body.len() + chunk.len() > self.max_body {
                    return Err(TransportError::TooLarge(self.max_body));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpAnswer {
                status,
                content_type,
                body,
                location,
                elapsed: started.elapsed(),
            })
        };
        // reqwest's timeout covers the whole exchange; this outer one also bounds a drip-fed body.
        match tokio::time::timeout(self.timeout + Duration::from_millis(500), send).await {
            Ok(result) => result,
            Err(_) if headers_came.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(TransportError::BodyTimeout(self.timeout))
            }
            Err(_) => Err(TransportError::Timeout(self.timeout)),
        }
    }

    /// GETs an observer URL with the same `API_ID`.
    pub async fn observe(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        let request = WireRequest {
            method: "GET".to_owned(),
            auth: crate::cases::Auth::Valid,
            headers: Vec::new(),
            query: None,
            body: Vec::new(),
        };
        let other = Self {
            endpoint: url.to_owned(),
            ..self.clone()
        };
        other.send(&request).await
    }
}

/// The innermost cause of a reqwest error: what happened ("Connection refused", "end of file
/// before message length reached"); the outer layers only repeat the URL and the phase.
fn innermost(err: &reqwest::Error) -> String {
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    detail
}

fn classify(err: &reqwest::Error, timeout: Duration) -> TransportError {
    if err.is_timeout() {
        TransportError::Timeout(timeout)
    } else if err.is_connect() {
        let detail = innermost(err);
        let lower = detail.to_ascii_lowercase();
        let step = if ["dns", "lookup", "resolve", "name or service"]
            .iter()
            .any(|w| lower.contains(w))
        {
            "DNS lookup"
        } else if ["tls", "certificate", "handshake", "rustls"]
            .iter()
            .any(|w| lower.contains(w))
        {
            "TLS handshake"
        } else {
            "TCP connect"
        };
        TransportError::Connect { step, detail }
    } else if err.is_request() {
        // Sent, but what came back was no HTTP answer (closed, reset, garbage).
        TransportError::Broken(format!("no valid HTTP answer: {}", innermost(err)))
    } else {
        TransportError::Broken(describe(err))
    }
}
