//! A typed HTTP client for the `create` action (feature `client`; reqwest with rustls).
//!
//! The client sends exactly what PHP's `http_build_query` sends for a [`CreateAbuseReport`](crate::CreateAbuseReport)
//! ([`Action::to_body`]) as `application/x-www-form-urlencoded`, with the `API_ID` header
//! (D-AUTH), and decodes the answer into the typed [`ApiResponse`] shapes of D-SUCCESS and
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
//! Safety: the `API_ID` is a credential. It is sent only in its header, redirects are never
//! followed (a redirect could carry the header to another host), and it never appears in
//! `Debug` output or error messages: text taken from a server's answer is redacted before it
//! is stored in a [`ClientError`] or an [`Answer`].

use std::fmt;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use reqwest::{StatusCode, Url};

use crate::action::Action;
use crate::envelope::API_ID_HEADER;
use crate::error::ErrorCode;
use crate::response::ApiResponse;

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
    no_proxy: bool,
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
            .field("no_proxy", &self.no_proxy)
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

    /// Ignores the proxy settings of the environment (`HTTP_PROXY`, `HTTPS_PROXY`, …), which
    /// are honoured by default.
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails with [`ClientError::InvalidEndpoint`] unless the endpoint is an absolute `http` or
    /// `https` URL, with [`ClientError::InvalidApiId`] for an empty identifier or one an HTTP
    /// header cannot carry, and with [`ClientError::Setup`] if the TLS backend cannot start.
    pub fn build(self) -> Result<Client, ClientError> {
        let invalid = |reason: String| ClientError::InvalidEndpoint {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let endpoint = Url::parse(&self.endpoint).map_err(|e| invalid(e.to_string()))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the scheme must be http or https, not {}",
                endpoint.scheme()
            )));
        }
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ClientError::InvalidUserAgent {
                user_agent: self.user_agent.clone(),
            })?;
        let api_id = ApiId::new(self.api_id)?;
        let mut http = reqwest::Client::builder()
            // A redirect would carry the API_ID header to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout);
        if self.no_proxy {
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|source| ClientError::Setup { source })?;
        Ok(Client {
            http,
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
/// shared).
///
/// See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
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
    #[error("cannot connect to {endpoint}: {}", root_cause(source))]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        source: reqwest::Error,
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
        source: reqwest::Error,
    },
    /// The exchange failed after connecting (reset connection, broken HTTP, …).
    #[error("the request to {endpoint} failed: {}", root_cause(source))]
    Transport {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        source: reqwest::Error,
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
    /// The HTTP client could not be set up (TLS backend).
    #[error("cannot set up the HTTP client: {}", root_cause(source))]
    Setup {
        /// What failed.
        source: reqwest::Error,
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

/// The innermost cause of an error chain: reqwest's own message only names the URL.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
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
            no_proxy: false,
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

    /// The HTTP request an action sends (a create, or any action the derive defines), without
    /// sending it: `POST` to the endpoint, the body
    /// exactly [`Action::to_body`] (what `http_build_query` produces), content type
    /// [`FORM_CONTENT_TYPE`], and the `api_id` header (marked sensitive, so reqwest's `Debug`
    /// hides it).
    pub fn build_request<A: Action>(&self, report: &A) -> Result<reqwest::Request, ClientError> {
        self.http
            .post(self.endpoint.clone())
            .header(API_ID_HEADER, self.api_id.header.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .header(USER_AGENT, self.user_agent.clone())
            .body(report.to_body())
            .build()
            .map_err(|source| self.transport(source))
    }

    /// Sends a create and returns the AMP answer, success or error alike; fails only when no
    /// AMP answer arrived (transport failures, an oversize body, a body that is not AMP JSON).
    ///
    /// The body decides: an AMP JSON answer is decoded whatever the HTTP status (such as the
    /// 413 of R-BODY), and the status is kept in the [`Answer`].
    pub async fn send<A: Action>(&self, report: &A) -> Result<Answer, ClientError> {
        let request = self.build_request(report)?;
        let mut response = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = ClientError::TooLarge {
            status,
            limit: self.max_response_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_response_bytes as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len().saturating_add(chunk.len()) > self.max_response_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        self.decode(status, content_type, &body)
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

    fn decode(
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

    fn transport(&self, source: reqwest::Error) -> ClientError {
        let endpoint = self.endpoint.to_string();
        if source.is_timeout() {
            ClientError::Timeout {
                endpoint,
                timeout: self.timeout,
                connect_timeout: self.connect_timeout,
                source,
            }
        } else if source.is_connect() {
            ClientError::Connect { endpoint, source }
        } else {
            ClientError::Transport { endpoint, source }
        }
    }
}
