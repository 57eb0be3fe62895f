//! The kit's HTTP/1.1 transport, which writes every request head itself so that header names
//! go out byte for byte as a [`WireRequest`](crate::cases::WireRequest) spells them. It lives
//! in `amp_contract::wire`, shared with the typed client; this module gives the runner the
//! same calls with its own error type.

use std::time::Duration;

use amp_contract::wire::{self, WireError};
pub(crate) use amp_contract::wire::{Answer, Destination, UrlError};

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
    /// The server's certificate does not verify against the trusted roots: a configuration
    /// matter (exit code 2), not an outage, since retrying changes nothing.
    #[error(
        "the server's certificate does not verify ({0}): name the CA that signed it, or the \
         server's own self-signed certificate, with --ca-cert FILE (PEM)"
    )]
    Certificate(String),
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

    /// Whether this is an outage (CONTRACT.md §4, exit code 3): the target could not be reached
    /// or did not answer at all. A target that answers wrongly (a broken or oversized answer, a
    /// body that never completes) is a finding, not an outage.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Timeout(_))
    }
}

/// The runner's error for the transport's. A function, not a `From` impl: a second `From`
/// into `TransportError` would leave `?` on an `Infallible` result without a type to infer.
fn runner_error(err: WireError) -> TransportError {
    match err {
        WireError::Connect { step, detail } => TransportError::Connect { step, detail },
        WireError::Certificate(why) => TransportError::Certificate(why),
        plain @ WireError::PlainHttp => TransportError::Connect {
            step: "TLS handshake",
            detail: plain.to_string(),
        },
        // The runner sets no connect timeout; were one set, it is a connection not made.
        WireError::ConnectTimeout(limit) => TransportError::Connect {
            step: "TCP connect",
            detail: format!("no connection within {limit:?}"),
        },
        WireError::Timeout(limit) => TransportError::Timeout(limit),
        WireError::BodyTimeout(limit) => TransportError::BodyTimeout(limit),
        WireError::TooLarge { limit, .. } => TransportError::TooLarge(limit),
        WireError::Broken(why) => TransportError::Broken(why),
    }
}

/// [`wire::encode`]: the bytes of one request.
pub(crate) fn encode(
    method: &str,
    destination: &Destination,
    kit: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, TransportError> {
    wire::encode(method, destination, kit, headers, body).map_err(runner_error)
}

/// [`wire::Client`]: pooled connections, shared by every clone of a
/// [`Target`](crate::target::Target).
#[derive(Debug, Default)]
pub(crate) struct Client(wire::Client);

impl Client {
    /// A client with an empty pool.
    pub(crate) fn new() -> Self {
        Self(wire::Client::new())
    }

    /// A client that trusts `certs` besides the platform's roots (`--ca-cert`) and goes
    /// through `proxy`.
    pub(crate) fn configured(certs: wire::TrustedCerts, proxy: wire::Proxy) -> Self {
        Self(wire::Client::new().with_trusted(certs).with_proxy(proxy))
    }

    /// [`wire::Client::exchange`].
    pub(crate) async fn exchange(
        &self,
        destination: &Destination,
        request: &[u8],
        head_request: bool,
        max_body: usize,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<Answer, TransportError> {
        self.0
            .exchange(
                destination,
                request,
                head_request,
                max_body,
                deadline,
                timeout,
            )
            .await
            .map_err(runner_error)
    }
}
