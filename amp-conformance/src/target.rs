//! Sending requests to the implementation under test: header names exactly as each
//! [`WireRequest`] spells them (over the kit's own HTTP/1.1 client, `src/transport.rs`), a
//! capped response body and per-request timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cases::WireRequest;
use crate::transport::{self, Client, Destination};

/// The `API_ID` value: never printed (its `Debug` hides it).
#[derive(Clone)]
pub struct Secret {
    key: String,
    /// The texts output is scrubbed of, with what replaces them: the key, then its near
    /// misses long enough to be told from ordinary text. Made once: every check's texts are
    /// scrubbed.
    scrubbed: Arc<[(String, &'static str)]>,
}

impl Secret {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        use crate::cases::coverage::NearMiss;
        let key = key.into();
        let mut scrubbed = Vec::new();
        if key.len() >= Self::MIN_REDACTED {
            scrubbed.push((key.clone(), "$AMP_API_ID"));
            for miss in NearMiss::ALL {
                let value = miss.apply(&key);
                // Half a short key can be an ordinary word (`interrupt` of
                // `interrupt-key-1`): a prefix is scrubbed only where it is long enough to be
                // told from text.
                let shortest = match miss {
                    NearMiss::Prefix => Self::MIN_REDACTED_PREFIX,
                    _ => Self::MIN_REDACTED,
                };
                if value.len() >= shortest && value != key {
                    scrubbed.push((value, miss.shell()));
                }
            }
        }
        Self {
            key,
            scrubbed: scrubbed.into(),
        }
    }

    /// The key, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.key
    }

    /// Replaces every occurrence of the key in `text` with `$AMP_API_ID`. Keys shorter than
    /// [`Secret::MIN_REDACTED`] are left alone: such a key cannot be told from ordinary text
    /// (the CLI warns about it).
    /// A near miss of the key ([`crate::cases::coverage::NearMiss`]) that a server echoes is
    /// as secret as the key: it is written as the shell's transformation of `$AMP_API_ID`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        self.redact_in_place(&mut out);
        out
    }

    /// [`Secret::redact`] in place: a text without the key is left untouched (no copy).
    pub fn redact_in_place(&self, text: &mut String) {
        for (value, shell) in self.scrubbed.iter() {
            if text.contains(value.as_str()) {
                *text = text.replace(value.as_str(), shell);
            }
        }
    }

    /// Shortest key that output is scrubbed of.
    pub const MIN_REDACTED: usize = 4;

    /// Shortest prefix of the key (a near miss) that output is scrubbed of: half of a real
    /// WHMCS identifier (32 random characters).
    pub const MIN_REDACTED_PREFIX: usize = 16;
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What the observer's reads got in a run: how many were made, how many gave no report, and
/// the first that did not, with the URL requested and what came back (an observer URL with a
/// typo answers a 404 page or JSON that is not a report: the note shows both). The target
/// carries it, so every read of a run lands in one place; the observer records, the
/// diagnoses read it.
#[derive(Debug, Default)]
pub struct ObserverLog(std::sync::Mutex<Reads>);

#[derive(Debug, Default)]
struct Reads {
    made: usize,
    unusable: usize,
    /// The URL requested, the HTTP status (none: no answer) and what came back.
    first: Option<(String, Option<u16>, String)>,
}

impl ObserverLog {
    /// Notes one read: `failure` is its HTTP status (none: no answer) and what came back
    /// when it gave no report.
    pub(crate) fn record(&self, url: &str, failure: Option<(Option<u16>, String)>) {
        // A poisoned lock only loses an observation: the note is a help, not a verdict.
        if let Ok(mut reads) = self.0.lock() {
            reads.made += 1;
            if let Some((status, what)) = failure {
                reads.unusable += 1;
                if reads.first.is_none() {
                    reads.first = Some((url.to_owned(), status, what));
                }
            }
        }
    }

    /// The run-level note when most reads gave no report: the observer is unusable.
    pub(crate) fn note(&self) -> Option<String> {
        let reads = self.0.lock().ok()?;
        let (url, status, what) = reads.first.as_ref()?;
        if reads.unusable * 2 < reads.made {
            return None;
        }
        let answer = match status {
            Some(status) => format!("HTTP {status} with {what}"),
            None => what.clone(),
        };
        Some(format!(
            "the observer is unusable: {} of {} reads gave no stored report. The first requested \
             GET {url} and got {answer}. --observe-url must answer a stored report as JSON with \
             HTTP 200 ({{report_id}} is replaced by the id the create returned); check the URL \
             with curl -sS -H \"API_ID: $AMP_API_ID\" '{url}'. The stored-value checks \
             (D-DEFAULTS) are not judged without it.",
            reads.unusable, reads.made
        ))
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
    /// `Server`, if any: which hop answered.
    pub server: Option<String>,
    /// Time to the end of the body.
    pub elapsed: Duration,
}

pub use crate::transport::TransportError;

/// A Rust implementation called in process, with no socket: any `tower::Service` over
/// `http` requests, such as an axum `Router` (see [`crate::inprocess`]).
pub type InProcessService = tower::util::BoxCloneSyncService<
    http::Request<axum::body::Body>,
    http::Response<axum::body::Body>,
    std::convert::Infallible,
>;

/// The origin an in-process target's URLs use (`http://in-process/<path>`).
pub const IN_PROCESS_ORIGIN: &str = "http://in-process";

/// An implementation under test.
#[derive(Clone)]
pub struct Target {
    service: Option<InProcessService>,
    client: Arc<Client>,
    destination: Destination,
    endpoint: String,
    key: Secret,
    timeout: Duration,
    max_body: usize,
    marker: String,
    pacer: Option<Arc<Pacer>>,
    rate: Option<f64>,
    /// What the observer's reads got, for the run's notes (shared by the run's clones).
    observations: Arc<ObserverLog>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("endpoint", &self.endpoint)
            .field("in_process", &self.service.is_some())
            .finish_non_exhaustive()
    }
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

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("amp-conformance/", env!("CARGO_PKG_VERSION"));

impl Target {
    /// A target at `endpoint` (the full API URL).
    pub fn new(
        endpoint: &str,
        key: Secret,
        timeout: Duration,
        max_body: usize,
        run_id: &str,
    ) -> Result<Self, String> {
        let destination = Destination::parse(endpoint).map_err(|e| match e {
            transport::UrlError::Invalid(why) => {
                format!("--target {endpoint:?} is not a URL: {why}")
            }
            transport::UrlError::Scheme(_) => format!("--target {endpoint:?}: {e}"),
        })?;
        Ok(Self {
            service: None,
            client: Arc::new(Client::new()),
            destination,
            endpoint: endpoint.to_owned(),
            key,
            timeout,
            max_body,
            marker: format!("amp-conformance/{} run={run_id}", env!("CARGO_PKG_VERSION")),
            pacer: None,
            rate: None,
            observations: Arc::default(),
        })
    }

    /// What the observer's reads through this target got (issue 20: an observer URL with a
    /// typo must be shown with what came back).
    pub(crate) fn observations(&self) -> &ObserverLog {
        &self.observations
    }

    /// How the target is reached: `ca_pem`, certificates trusted besides the platform's roots
    /// (`--ca-cert`: a private CA, or the server's own self-signed certificate); `proxy`, the
    /// forward proxy (`Some(url)` for `--proxy`, `None` for the proxy variables of the
    /// environment); `direct`, no proxy at all (the embedded server). The observer's reads go
    /// through this target too.
    pub fn with_network(
        mut self,
        ca_pem: Option<&[u8]>,
        proxy: Option<&str>,
        direct: bool,
    ) -> Result<Self, String> {
        use amp_contract::wire::{Proxy, TrustedCerts};
        let certs = match ca_pem {
            Some(pem) => TrustedCerts::from_pem(pem).map_err(|e| format!("--ca-cert: {e}"))?,
            None => TrustedCerts::default(),
        };
        let proxy = match (direct, proxy) {
            (true, _) => Proxy::none(),
            (false, Some(url)) => Proxy::to(url).map_err(|e| format!("--proxy {e}"))?,
            (false, None) => Proxy::from_env(),
        };
        self.client = Arc::new(Client::configured(certs, proxy));
        Ok(self)
    }

    /// Limits the rate to `rate` requests per second (`None`: no limit).
    pub fn with_rate(mut self, rate: Option<f64>) -> Self {
        self.rate = rate.filter(|r| r.is_finite() && *r > 0.0);
        self.pacer = self.rate.map(|r| Arc::new(Pacer::new(r)));
        self
    }

    /// The requests per second this target is limited to (`None`: no limit).
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Whether the endpoint's host is on this machine (no default rate limit then).
    pub fn is_loopback(endpoint: &str) -> bool {
        let Ok(url) = url::Url::parse(endpoint) else {
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

    /// The name of a target's baseline directory: its host, without the port, so that the same
    /// server restarted on another port keeps its baseline; every loopback address is
    /// `localhost`.
    ///
    /// ```
    /// use amp_conformance::target::Target;
    /// assert_eq!(Target::host_label("http://127.0.0.1:8123/api.php"), "localhost");
    /// assert_eq!(Target::host_label("https://whmcs.example.com/m/api.php"), "whmcs.example.com");
    /// ```
    pub fn host_label(endpoint: &str) -> String {
        let Ok(url) = url::Url::parse(endpoint) else {
            return "target".to_owned();
        };
        if Self::is_loopback(endpoint) {
            return "localhost".to_owned();
        }
        url.host_str()
            .unwrap_or("target")
            .trim_matches(|c| c == '[' || c == ']')
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
        url_for(&self.endpoint, request)
    }

    /// Sends one request and reads at most the capped body. The head carries `Host`, the
    /// run's [`MARKER_HEADER`], `User-Agent: amp-conformance/<version>`, `Accept: */*`,
    /// `Content-Length`, then the authentication and the other headers exactly as `request`
    /// names and orders them.
    pub async fn send(&self, request: &WireRequest) -> Result<HttpAnswer, TransportError> {
        // A key offered in the query or the body is put there only now: what is recorded and
        // reproduced never holds it.
        let placed = request.with_key_placed(self.key.expose());
        let request = placed.as_ref();
        if let Some(service) = &self.service {
            return self.call(service, &self.url_for(request), request).await;
        }
        match &request.query {
            None => self.send_to(&self.destination, request).await,
            // The query is appended to the endpoint's as text; parsing the result encodes
            // what cannot stand in a request line, as the reproduction's curl would.
            Some(_) => {
                let url = self.url_for(request);
                let destination = Destination::parse(&url)
                    .map_err(|e| TransportError::Broken(format!("invalid URL {url:?}: {e}")))?;
                self.send_to(&destination, request).await
            }
        }
    }

    async fn send_to(
        &self,
        destination: &Destination,
        request: &WireRequest,
    ) -> Result<HttpAnswer, TransportError> {
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        let started = Instant::now();
        let auth = request.auth.headers(self.key.expose());
        let headers: Vec<(&str, &str)> = auth
            .iter()
            .chain(&request.headers)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let bytes = transport::encode(
            &request.method,
            destination,
            &self.kit_headers(),
            &headers,
            &request.body,
        )?;
        let deadline = tokio::time::Instant::from_std(started + self.timeout);
        let answer = self
            .client
            .exchange(
                destination,
                &bytes,
                request.method == "HEAD",
                self.max_body,
                deadline,
                self.timeout,
            )
            .await?;
        Ok(HttpAnswer {
            status: answer.status,
            content_type: answer.content_type,
            body: answer.body,
            location: answer.location,
            server: answer.server,
            elapsed: started.elapsed(),
        })
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
        if let Some(service) = &self.service {
            return self.call(service, url, &request).await;
        }
        let destination = Destination::parse(url)
            .map_err(|e| TransportError::Broken(format!("invalid observer URL {url:?}: {e}")))?;
        self.send_to(&destination, &request).await
    }

    /// The headers the kit adds to every request, on the wire and in process alike: the run's
    /// marker (CONTRACT.md §6), the user agent, and `Accept` (reqwest sent it, and curl and PHP's
    /// clients do: some firewalls refuse requests without one).
    fn kit_headers(&self) -> [(&str, &str); 3] {
        [
            (MARKER_HEADER, self.marker.as_str()),
            ("User-Agent", USER_AGENT),
            ("Accept", "*/*"),
        ]
    }

    /// Calls this target's service in process instead of sending over a socket (see
    /// [`crate::inprocess`]).
    pub fn with_service(mut self, service: InProcessService) -> Self {
        self.service = Some(service);
        self
    }

    /// One exchange with an in-process service. A check that claims a header-name case cannot
    /// be made: `http` keeps names in lower case, so the service cannot see the difference.
    async fn call(
        &self,
        service: &InProcessService,
        url: &str,
        request: &WireRequest,
    ) -> Result<HttpAnswer, TransportError> {
        use tower::ServiceExt;
        if let crate::cases::Auth::ValidAs(name) = &request.auth {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(TransportError::NotSent(format!(
                    "not sent: the header-name case `{name}` cannot reach an in-process service \
                     (http keeps header names in lower case); run it against a --target"
                )));
            }
        }
        let started = Instant::now();
        let path = url.strip_prefix(IN_PROCESS_ORIGIN).unwrap_or(url);
        let broken = |what: String| TransportError::Broken(what);
        let mut builder = http::Request::builder()
            .method(
                http::Method::from_bytes(request.method.as_bytes())
                    .map_err(|e| broken(format!("invalid method {:?}: {e}", request.method)))?,
            )
            .uri(if path.is_empty() { "/" } else { path });
        let auth = request.auth.headers(self.key.expose());
        let length = request.body.len().to_string();
        for (name, value) in self
            .kit_headers()
            .into_iter()
            .chain([("Content-Length", length.as_str())])
            .chain(auth.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .chain(
                request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            )
        {
            let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) else {
                return Err(broken(format!(
                    "the header {name:?} cannot be given to an in-process service"
                )));
            };
            builder = builder.header(name, value);
        }
        let http_request = builder
            .body(axum::body::Body::from(request.body.clone()))
            .map_err(|e| broken(format!("cannot build the request: {e}")))?;
        let response = tokio::time::timeout(self.timeout, service.clone().oneshot(http_request))
            .await
            .map_err(|_| TransportError::Timeout(self.timeout))?
            .map_err(|never| match never {})?;
        let header = |name: http::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, location, server) = (
            header(http::header::CONTENT_TYPE),
            header(http::header::LOCATION),
            header(http::header::SERVER),
        );
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), self.max_body)
            .await
            .map_err(|_| TransportError::TooLarge(self.max_body))?;
        Ok(HttpAnswer {
            status,
            content_type,
            body: body.to_vec(),
            location,
            server,
            elapsed: started.elapsed(),
        })
    }
}

/// The URL `request` goes to at `endpoint`: the endpoint with the request's query string.
pub fn url_for(endpoint: &str, request: &WireRequest) -> String {
    match &request.query {
        Some(q) if endpoint.contains('?') => format!("{endpoint}&{q}"),
        Some(q) => format!("{endpoint}?{q}"),
        None => endpoint.to_owned(),
    }
}
