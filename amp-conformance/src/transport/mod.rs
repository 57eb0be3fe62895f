//! The kit's HTTP/1.1 transport, which writes every request head itself so that header names
//! go out byte for byte as a [`WireRequest`](crate::cases::WireRequest) spells them. It lives
//! in `amp_contract::wire`, shared with the typed client; this module gives the runner the
//! same calls with its own error type.

use std::time::Duration;

use amp_contract::wire::{self, WireError};
pub(crate) use amp_contract::wire::{Answer, Destination, UrlError};

use crate::target::TransportError;

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
