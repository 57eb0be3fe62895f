//! A typed HTTP client for the `create` action (feature `client`), over the kit's exact-wire
//! HTTP/1.1 transport ([`crate::wire`]: tokio, rustls with the platform's trust store).
//!
//! The client sends exactly what PHP's `http_build_query` sends for a [`CreateAbuseReport`](crate::CreateAbuseReport)
//! ([`Action::to_body`]) as `application/x-www-form-urlencoded`, with the header spelt
//! `API_ID` as the page spells it (D-AUTH): a PHP server reading
//! `getallheaders()['API_ID']` finds it, where clients that lower-case header names (reqwest,
//! hyper: `api_id`) are missed. It decodes the answer into the typed [`ApiResponse`] shapes of D-SUCCESS and
//! D-ERROR-SHAPE. Codes the page does not document, such as its own example's `AMP009`, are kept
//! as [`ErrorCode::Other`].
//!
//! ```no_run
//! use std::time::Duration;
//! use amp_contract::client::{Client, ClientError};
//! use amp_contract::{CreateAbuseReport, ErrorCode};
//!
//! # async fn example() -> Result<(), ClientError> {
//! let client = Client::builder(
//!     "https://whmcs.example.invalid/modules/addons/abusemanagerpro/includes/api.php",
//!     std::env::var("AMP_API_ID").unwrap_or_default(),
//! )
//! .timeout(Duration::from_secs(10))
//! .build()?;
//!
//! let mut report = CreateAbuseReport::new(42, "Spam");
//! report.admin_notes = "reported by the mail filter".to_owned();
//! match client.create(&report).await {
//!     Ok(created) => println!("report {} opened", created.report_id),
//!     Err(ClientError::Amp { code: ErrorCode::MissingParameters, description, .. }) => {
//!         eprintln!("refused: {description}");
//!     }
//!     Err(other) => return Err(other),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The client connects directly: proxy settings of the environment (`HTTPS_PROXY`, …) are not
//! used. To send through your own HTTP client (a `reqwest::Client` with a proxy, say), take
//! [`Client::build_request`] and decode the answer with [`Client::decode`]; such clients
//! usually lower-case the header name, which PHP's `getallheaders()['API_ID']` misses.
//!
//! Reaching the server: the platform's trust store, plus [`ClientBuilder::ca_certs`] for a
//! private CA or a self-signed server certificate; the proxy variables of the environment as
//! curl reads them (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), or
//! [`ClientBuilder::proxy`] / [`ClientBuilder::no_proxy`]. The conformance kit reaches targets
//! the same way (`--ca-cert`, `--proxy`): it is the same wire ([`crate::wire`]).
//!
//! Safety: the `API_ID` is a credential. It is sent only in its header, redirects are never
//! followed (a redirect could carry the header to another host), and it never appears in
//! `Debug` output or error messages: text taken from a server's answer is redacted before it
//! is stored in a [`ClientError`] or an [`Answer`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, StatusCode};
use url::Url;

use crate::action::Action;
use crate::error::ErrorCode;
use crate::response::ApiResponse;
use crate::wire::{self, Destination, WireError};

/// The header name as the page spells it; the wire sends it so, byte for byte.
pub const API_ID_HEADER: &str = "API_ID";

/// The content type of every request: what PHP's curl sends for a string body
/// ([`crate::form::FORM_URLENCODED`]).
pub const FORM_CONTENT_TYPE: &str = crate::form::FORM_URLENCODED;

/// Default limit of the whole exchange, body included: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default limit for establishing the connection (TCP and TLS): 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on the answer's body: 64 KiB (an AMP answer is a few hundred bytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What replaces the `API_ID` wherever a server echoes it back in text the client keeps.
pub const REDACTED: &str = "[API_ID]";

/// Longest `first_line` kept in an error, in characters.
const FIRST_LINE_CHARS: usize = 200;

/// The `API_ID` value: sent in its header, never printed.
#[derive(Clone)]
struct ApiId {
    header: HeaderValue,
    text: String,
}

impl ApiId {
    fn new(text: String) -> Result<Self, ClientError> {
        let invalid = |reason| Err(ClientError::InvalidApiId { reason });
        if text.is_empty() {
            return invalid("it is empty");
        }
        if text.trim() != text {
            return invalid("it has leading or trailing whitespace, which HTTP would strip");
        }
        match HeaderValue::from_str(&text) {
            Ok(mut header) => {
                header.set_sensitive(true);
                Ok(Self { header, text })
            }
            Err(_) => invalid("it contains characters an HTTP header cannot carry"),
        }
    }

    /// `text` with every occurrence of the identifier replaced by [`REDACTED`].
    fn redact(&self, text: &str) -> String {
        text.replace(&self.text, REDACTED)
    }
}

impl fmt::Debug for ApiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Sets up a [`Client`]: endpoint, `API_ID`, timeouts and the answer size cap.
///
/// Made by [`Client::builder`]; nothing is checked until [`ClientBuilder::build`].
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: String,
    api_id: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_response_bytes: usize,
    user_agent: String,
    trusted: wire::TrustedCerts,
    proxy: ProxyChoice,
}

/// Which forward proxy a client goes through.
#[derive(Debug, Clone)]
enum ProxyChoice {
    /// The proxy variables of the environment, as curl reads them.
    Environment,
    /// This URL.
    Url(String),
    /// None.
    Direct,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("api_id", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .field("trusted", &self.trusted.len())
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl ClientBuilder {
    /// Limit of the whole exchange, from connecting until the answer's last byte
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Limit for establishing the connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Largest answer body read; a larger one is [`ClientError::TooLarge`], and is not
    /// buffered (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The `User-Agent` header (default `amp-contract/VERSION`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Trusts these certificates besides the platform's roots: a private CA, or the server's
    /// own self-signed certificate (see [`wire::TrustedCerts`]; the conformance kit's
    /// `--ca-cert`).
    pub fn ca_certs(mut self, certs: wire::TrustedCerts) -> Self {
        self.trusted = certs;
        self
    }

    /// Goes through this HTTP forward proxy (`http://[user:pass@]host:port`) instead of the
    /// one the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read
    /// by default as curl reads them). Checked by [`ClientBuilder::build`].
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Url(url.into());
        self
    }

    /// Connects directly, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails with [`ClientError::InvalidEndpoint`] unless the endpoint is an absolute `http` or
    /// `https` URL, with [`ClientError::InvalidApiId`] for an empty identifier or one an HTTP
    /// header cannot carry. A TLS setup failure shows on the first `https` request, as a
    /// [`ClientError::Connect`].
    pub fn build(self) -> Result<Client, ClientError> {
        let invalid = |reason: String| ClientError::InvalidEndpoint {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let endpoint = Url::parse(&self.endpoint).map_err(|e| invalid(e.to_string()))?;
        let destination = Destination::parse(endpoint.as_str()).map_err(|e| match e {
            wire::UrlError::Invalid(why) => invalid(why),
            wire::UrlError::Scheme(scheme) => {
                invalid(format!("the scheme must be http or https, not {scheme}"))
            }
        })?;
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ClientError::InvalidUserAgent {
                user_agent: self.user_agent.clone(),
            })?;
        let api_id = ApiId::new(self.api_id)?;
        let proxy = match &self.proxy {
            ProxyChoice::Environment => wire::Proxy::from_env(),
            ProxyChoice::Url(url) => {
                wire::Proxy::to(url).map_err(|reason| ClientError::InvalidEndpoint {
                    endpoint: url.clone(),
                    reason: format!("the proxy: {reason}"),
                })?
            }
            ProxyChoice::Direct => wire::Proxy::none(),
        };
        let wire = wire::Client::new()
            .with_connect_timeout(self.connect_timeout)
            .with_trusted(self.trusted.clone())
            .with_proxy(proxy);
        Ok(Client {
            wire: Arc::new(wire),
            destination,
            endpoint,
            api_id,
            user_agent,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// A client of one AMP endpoint with one `API_ID`. Cheap to clone (the connection pool is
/// shared). Redirects are never followed: a 3xx is an answer ([`ClientError::Http`]).
///
/// See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct Client {
    wire: Arc<wire::Client>,
    destination: Destination,
    endpoint: Url,
    api_id: ApiId,
    user_agent: HeaderValue,
    timeout: Duration,
    connect_timeout: Duration,
    max_response_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint.as_str())
            .field("api_id", &self.api_id)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// An AMP answer: the HTTP status and the decoded JSON, success or error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status: 200 for every AMP answer on a reference server (R-STATUS), 413 for an
    /// oversize body (R-BODY); other servers may differ.
    pub status: StatusCode,
    /// The answer. An `error_description` that echoes the `API_ID` has it replaced by
    /// [`REDACTED`].
    pub response: ApiResponse,
}

/// A successful create (D-SUCCESS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// The new report's id.
    pub report_id: u64,
    /// The HTTP status it came with.
    pub status: StatusCode,
}

/// Why a call did not yield an AMP success.
///
/// No variant ever holds the `API_ID`: text from a server's answer is redacted first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an AMP error (D-ERROR-SHAPE), such as `AMP001` for an
    /// identifier it does not accept. Unknown codes are kept ([`ErrorCode::Other`]).
    #[error("the API refused the request (HTTP {status}): {code}: {description}")]
    Amp {
        /// The HTTP status (200 on a reference server, 413 for an oversize body).
        status: StatusCode,
        /// The AMP code.
        code: ErrorCode,
        /// The `error_description`.
        description: String,
    },
    /// No connection could be made (DNS, TCP or TLS).
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        source: WireError,
    },
    /// The connection or the whole exchange took longer than its timeout.
    #[error(
        "timed out talking to {endpoint} (timeout {timeout:?}, connect timeout {connect_timeout:?})"
    )]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The configured limit of the whole exchange.
        timeout: Duration,
        /// The configured limit for connecting.
        connect_timeout: Duration,
        /// What timed out.
        source: WireError,
    },
    /// The exchange failed after connecting (reset connection, broken HTTP, …).
    #[error("the request to {endpoint} failed: {source}")]
    Transport {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        source: WireError,
    },
    /// An HTTP error status (not 2xx) whose body is not an AMP JSON answer: an error page of
    /// the web server or PHP, a proxy, a redirect (never followed), or a missing endpoint.
    #[error("HTTP {status} without an AMP JSON answer; the body starts: {first_line:?}")]
    Http {
        /// The HTTP status.
        status: StatusCode,
        /// The first non-blank line of the body, at most 200 characters.
        first_line: String,
    },
    /// A 2xx answer whose body is not an AMP JSON answer (not JSON, or JSON of another shape).
    #[error("the answer (HTTP {status}) is not AMP JSON; the body starts: {first_line:?}")]
    NotJson {
        /// The HTTP status.
        status: StatusCode,
        /// The `Content-Type` the server declared, if any.
        content_type: Option<String>,
        /// The first non-blank line of the body, at most 200 characters.
        first_line: String,
    },
    /// The answer's body is larger than the configured cap; it was not read further.
    #[error("the answer (HTTP {status}) is larger than {limit} bytes")]
    TooLarge {
        /// The HTTP status.
        status: StatusCode,
        /// The cap ([`ClientBuilder::max_response_bytes`]).
        limit: usize,
    },
    /// The endpoint given to the builder is not an absolute `http`/`https` URL.
    #[error("the endpoint {endpoint:?} cannot be used: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The `API_ID` given to the builder cannot be sent (its value is never shown).
    #[error("the API_ID cannot be sent: {reason}")]
    InvalidApiId {
        /// Why.
        reason: &'static str,
    },
    /// The `User-Agent` given to the builder is not a valid header value.
    #[error("the user agent {user_agent:?} is not a valid header value")]
    InvalidUserAgent {
        /// The value as given.
        user_agent: String,
    },
}

impl ClientError {
    /// The AMP code of an [`ClientError::Amp`] answer.
    pub fn amp_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Amp { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether no usable HTTP answer arrived (connect, timeout, transport failures), as
    /// opposed to an answer that was not what the contract promises.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Timeout { .. } | Self::Transport { .. }
        )
    }
}

impl ClientBuilder {
    fn new(endpoint: String, api_id: String) -> Self {
        Self {
            endpoint,
            api_id,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: concat!("amp-contract/", env!("CARGO_PKG_VERSION")).to_owned(),
            trusted: wire::TrustedCerts::default(),
            proxy: ProxyChoice::Environment,
        }
    }
}

impl Client {
    /// Starts setting up a client of `endpoint`, the full API URL (on WHMCS
    /// `https://HOST/modules/addons/abusemanagerpro/includes/api.php`), authenticating with
    /// `api_id`, the identifier of a WHMCS API credential (D-AUTH).
    pub fn builder(endpoint: impl Into<String>, api_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(endpoint.into(), api_id.into())
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The exact bytes an action sends (a create, or any action the derive defines): `POST` to
    /// the endpoint with `Host`, `User-Agent`, `Accept: */*`, `Content-Length`, then
    /// `API_ID: <key>` and `Content-Type:` [`FORM_CONTENT_TYPE`], and the body exactly
    /// [`Action::to_body`] (what `http_build_query` produces). Its `Debug` hides the key.
    pub fn wire_request<A: Action>(&self, report: &A) -> Result<WireRequest, ClientError> {
        let user_agent = self.user_agent.to_str().unwrap_or_default();
        wire::encode(
            Method::POST.as_str(),
            &self.destination,
            &[("User-Agent", user_agent), ("Accept", "*/*")],
            &[
                (API_ID_HEADER, self.api_id.text.as_str()),
                ("Content-Type", FORM_CONTENT_TYPE),
            ],
            report.to_body().as_bytes(),
        )
        .map(|bytes| WireRequest {
            bytes,
            api_id: self.api_id.clone(),
        })
        .map_err(|source| self.transport(source))
    }

    /// The request an action sends, as an [`http::Request`], for sending through an HTTP
    /// client of your own (`reqwest::Request::try_from` takes it); decode its answer with
    /// [`Client::decode`]. The `API_ID` header is marked sensitive.
    ///
    /// Caveat: `http` header names are lower case, so this request carries `api_id`, and
    /// clients built on `http` (reqwest, hyper) send it so. The page's PHP reads
    /// `getallheaders()['API_ID']`, which misses that spelling; [`Client::send`] does not have
    /// this problem.
    pub fn build_request<A: Action>(
        &self,
        report: &A,
    ) -> Result<http::Request<String>, ClientError> {
        http::Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.as_str())
            .header(API_ID_HEADER, self.api_id.header.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .header(USER_AGENT, self.user_agent.clone())
            .body(report.to_body())
            .map_err(|e| {
                self.transport(WireError::Broken(format!("cannot build the request: {e}")))
            })
    }

    /// Sends a create and returns the AMP answer, success or error alike; fails only when no
    /// AMP answer arrived (transport failures, an oversize body, a body that is not AMP JSON).
    ///
    /// The body decides: an AMP JSON answer is decoded whatever the HTTP status (such as the
    /// 413 of R-BODY), and the status is kept in the [`Answer`].
    pub async fn send<A: Action>(&self, report: &A) -> Result<Answer, ClientError> {
        let request = self.wire_request(report)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let answer = self
            .wire
            .exchange(
                &self.destination,
                &request.bytes,
                false,
                self.max_response_bytes,
                deadline,
                self.timeout,
            )
            .await
            .map_err(|e| match e {
                WireError::TooLarge { status, limit } => ClientError::TooLarge {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                    limit,
                },
                other => self.transport(other),
            })?;
        let status = StatusCode::from_u16(answer.status).map_err(|_| {
            self.transport(WireError::Broken(format!(
                "invalid status code {}",
                answer.status
            )))
        })?;
        self.decode(status, answer.content_type, &answer.body)
    }

    /// Sends a create: its report id on success, [`ClientError::Amp`] for an AMP error.
    pub async fn create<A: Action>(&self, report: &A) -> Result<Created, ClientError> {
        let Answer { status, response } = self.send(report).await?;
        match response {
            ApiResponse::Success { report_id } => Ok(Created { report_id, status }),
            ApiResponse::Error {
                error_code,
                error_description,
            } => Err(ClientError::Amp {
                status,
                code: error_code,
                description: error_description,
            }),
        }
    }

    /// Decodes an answer the way [`Client::send`] does: an AMP JSON body whatever the status
    /// (an echoed `API_ID` redacted), else [`ClientError::Http`] or [`ClientError::NotJson`].
    /// For answers to [`Client::build_request`] sent by another HTTP client.
    pub fn decode(
        &self,
        status: StatusCode,
        content_type: Option<String>,
        body: &[u8],
    ) -> Result<Answer, ClientError> {
        match serde_json::from_slice::<ApiResponse>(body) {
            Ok(ApiResponse::Error {
                error_code,
                error_description,
            }) => Ok(Answer {
                status,
                response: ApiResponse::Error {
                    error_code,
                    error_description: self.api_id.redact(&error_description),
                },
            }),
            Ok(response) => Ok(Answer { status, response }),
            Err(_) => {
                let first_line = self.first_line(body);
                if status.is_success() {
                    Err(ClientError::NotJson {
                        status,
                        content_type: content_type.map(|ct| self.api_id.redact(&ct)),
                        first_line,
                    })
                } else {
                    Err(ClientError::Http { status, first_line })
                }
            }
        }
    }

    /// The first non-blank line of `body`, redacted, then cut to [`FIRST_LINE_CHARS`].
    fn first_line(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("");
        let line = self.api_id.redact(line);
        match line.char_indices().nth(FIRST_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line,
        }
    }

    fn transport(&self, source: WireError) -> ClientError {
        let endpoint = self.endpoint.to_string();
        match source {
            WireError::ConnectTimeout(_) | WireError::Timeout(_) | WireError::BodyTimeout(_) => {
                ClientError::Timeout {
                    endpoint,
                    timeout: self.timeout,
                    connect_timeout: self.connect_timeout,
                    source,
                }
            }
            WireError::Connect { .. } | WireError::Certificate(_) | WireError::PlainHttp => {
                ClientError::Connect { endpoint, source }
            }
            _ => ClientError::Transport { endpoint, source },
        }
    }
}

/// The bytes of one request, exactly as [`Client::send`] writes them; `Debug` shows them as
/// text with the `API_ID` replaced by [`REDACTED`].
#[derive(Clone)]
pub struct WireRequest {
    bytes: Vec<u8>,
    api_id: ApiId,
}

impl WireRequest {
    /// The bytes: request line, head, blank line and body.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(&self.bytes);
        f.debug_tuple("WireRequest")
            .field(&self.api_id.redact(&text))
            .finish()
    }
}
