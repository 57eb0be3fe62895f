//! Serving the API with axum (feature `axum`): an extractor that runs the [`envelope`] and
//! yields the accepted create, and [`IntoResponse`] for the AMP answers with the exact wire
//! shape and status of R-STATUS and R-BODY.
//!
//! The state of the router supplies the credential check and the service lookup by
//! implementing [`EnvelopeState`]; a handler that takes an [`Accepted`] then only stores the
//! report and answers. A refused request never reaches such a handler: axum answers with the
//! [`EnvelopeRejection`]. A handler that wants to see refusals too (to log them) takes
//! `Result<Accepted, EnvelopeRejection>` instead.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use amp_contract::ApiResponse;
//! use amp_contract::axum::EnvelopeState;
//! use amp_contract::envelope::{Accepted, ApiIds, DedicatedIp};
//! use axum::{Router, extract::State, routing::any};
//!
//! struct App {
//!     api_ids: ApiIds,
//!     services: fn(u32) -> Option<DedicatedIp>, // or your registry's type
//!     next_id: AtomicU64,
//! }
//!
//! impl EnvelopeState for App {
//!     type Credentials = ApiIds;
//!     type Services = fn(u32) -> Option<DedicatedIp>;
//!     fn credentials(&self) -> &ApiIds {
//!         &self.api_ids
//!     }
//!     fn services(&self) -> &Self::Services {
//!         &self.services
//!     }
//! }
//!
//! async fn api(State(app): State<Arc<App>>, accepted: Accepted) -> ApiResponse {
//!     // Store `accepted.resolved` here.
//!     let report_id = app.next_id.fetch_add(1, Ordering::Relaxed);
//!     ApiResponse::Success { report_id }
//! }
//!
//! let app = Arc::new(App {
//!     api_ids: ApiIds::from_list("dev-key"),
//!     // Services 1..=100 exist, none with a dedicated IP.
//!     services: |id| (1..=100).contains(&id).then_some(DedicatedIp::None),
//!     next_id: AtomicU64::new(1),
//! });
//! let router: Router = Router::new()
//!     .route("/modules/addons/abusemanagerpro/includes/api.php", any(api))
//!     .with_state(app);
//! ```

use std::sync::Arc;

use ::axum::body::Body;
use ::axum::extract::{FromRequest, Request};
use ::axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use ::axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::envelope::{self, Accepted, BODY_LIMIT, Credentials, Rejection, ServiceDirectory};
use crate::error::AmpError;
use crate::response::ApiResponse;

/// What the envelope needs from the router's state: the credential check (D-AUTH) and the
/// service lookup (R-SERVICE-ID, D-DEFAULTS).
///
/// Implemented for `Arc<T>` whenever `T` implements it, so a router state of `Arc<App>` works
/// with an implementation for `App`. A trait rather than axum's `FromRef`: the credential
/// store and the service directory are borrowed from the state for each request, never cloned.
pub trait EnvelopeState {
    /// The credential store.
    type Credentials: Credentials;
    /// The service directory.
    type Services: ServiceDirectory;
    /// Checks presented `API_ID` values.
    fn credentials(&self) -> &Self::Credentials;
    /// Knows which services exist and their dedicated IPs.
    fn services(&self) -> &Self::Services;
}

impl<T: EnvelopeState + ?Sized> EnvelopeState for Arc<T> {
    type Credentials = T::Credentials;
    type Services = T::Services;

    fn credentials(&self) -> &Self::Credentials {
        (**self).credentials()
    }

    fn services(&self) -> &Self::Services {
        (**self).services()
    }
}

/// Why the extractor yields no [`Accepted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeRejection {
    /// The envelope refused the request with an AMP error: HTTP 200 (R-STATUS), or 413 for an
    /// authenticated oversize body (R-BODY).
    Refused(Rejection),
    /// The client stopped sending in the middle of the body: broken HTTP framing, answered by
    /// the HTTP layer with 400 and a JSON body without an AMP code (D-NO-5XX allows it).
    UnreadableBody,
}

impl From<Rejection> for EnvelopeRejection {
    fn from(rejection: Rejection) -> Self {
        Self::Refused(rejection)
    }
}

impl std::fmt::Display for EnvelopeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(rejection) => write!(f, "{} ({})", rejection.error, rejection.rule),
            Self::UnreadableBody => f.write_str("the request body could not be read"),
        }
    }
}

impl std::error::Error for EnvelopeRejection {}

/// The body of the 400 answer to an unreadable body.
const UNREADABLE_BODY: &str =
    r#"{"status":"error","error_description":"The request body could not be read."}"#;

/// A JSON answer with exactly `Content-Type: application/json` (R-STATUS).
fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

impl IntoResponse for EnvelopeRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(rejection) => rejection.into_response(),
            Self::UnreadableBody => json(StatusCode::BAD_REQUEST, UNREADABLE_BODY.to_owned()),
        }
    }
}

/// The AMP error JSON with the rejection's status: 200 (R-STATUS) or 413 (R-BODY).
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        json(self.status, self.response().to_json())
    }
}

/// HTTP 200 with the answer's JSON (R-STATUS).
impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        json(StatusCode::OK, self.to_json())
    }
}

/// HTTP 200 with the error's JSON (R-STATUS). For the 413 of R-BODY answer with the
/// envelope's [`Rejection`], which carries its status.
impl IntoResponse for AmpError {
    fn into_response(self) -> Response {
        ApiResponse::from(&self).into_response()
    }
}

/// Runs the envelope: reads the body up to [`BODY_LIMIT`] without buffering more, checks the
/// `API_ID` with [`EnvelopeState::credentials`], dispatches the action and parses the create,
/// asking [`EnvelopeState::services`] whether the service exists (the order of R-ORDER, see
/// [`envelope::handle`]).
///
/// Generic over the action: a handler may take `Accepted<MyAction>` for any action the derive
/// defines (a `create` with a new parameter, or another action), with no other edit.
impl<S, A> FromRequest<S> for Accepted<A>
where
    S: EnvelopeState + Send + Sync,
    A: crate::action::Action + Send,
    Accepted<A>: envelope::ActionSet<S::Services>,
{
    type Rejection = EnvelopeRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_limited(&parts.headers, body).await?;
        let body = match &bytes {
            Some(bytes) => envelope::Body::Complete(bytes),
            None => envelope::Body::TooLarge,
        };
        let request = envelope::Request {
            method: &parts.method,
            headers: &parts.headers,
            body,
        };
        Ok(envelope::dispatch::<Accepted<A>, _>(
            &request,
            state.credentials(),
            state.services(),
        )?)
    }
}

/// Most bytes read and thrown away after the limit, so that a client still sending an
/// oversize body can read its 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

/// Reads at most [`BODY_LIMIT`] bytes; more is `None`, never buffered. A declared
/// `Content-Length` over the limit is refused before reading; otherwise the frames are
/// collected until the limit would be passed.
async fn read_limited(
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<bytes::Bytes>, EnvelopeRejection> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        drain(stream).await;
        return Ok(None);
    }
    let mut collected = bytes::BytesMut::new();
    loop {
        match stream.next().await {
            None => return Ok(Some(collected.freeze())),
            Some(Ok(data)) => {
                if collected.len().saturating_add(data.len()) > BODY_LIMIT {
                    drop(collected);
                    drain(stream).await;
                    return Ok(None);
                }
                collected.extend_from_slice(&data);
            }
            // The client stopped mid-body: framing is broken, the HTTP layer's 4xx.
            Some(Err(_)) => return Err(EnvelopeRejection::UnreadableBody),
        }
    }
}

async fn drain(mut stream: ::axum::body::BodyDataStream) {
    let mut seen = 0usize;
    while seen < DRAIN_LIMIT {
        match stream.next().await {
            Some(Ok(data)) => seen = seen.saturating_add(data.len()),
            _ => break,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use ::axum::http::Method;

    use super::*;
    use crate::ErrorCode;
    use crate::envelope::{ApiIds, DedicatedIp};

    /// Drives a future whose every step is ready (in-memory bodies only).
    fn ready<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1_000_000 {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
        panic!("the future did not complete with in-memory input");
    }

    struct App {
        ids: ApiIds,
        services: fn(u32) -> Option<DedicatedIp>,
    }

    impl EnvelopeState for App {
        type Credentials = ApiIds;
        type Services = fn(u32) -> Option<DedicatedIp>;
        fn credentials(&self) -> &ApiIds {
            &self.ids
        }
        fn services(&self) -> &Self::Services {
            &self.services
        }
    }

    fn app() -> Arc<App> {
        Arc::new(App {
            ids: ApiIds::from_list("k"),
            services: |id| (id == 1).then_some(DedicatedIp::None),
        })
    }

    fn request(api_id: Option<&str>, content_length: Option<usize>, body: Body) -> Request {
        let mut builder = ::axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api.php")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(id) = api_id {
            builder = builder.header("api_id", id);
        }
        if let Some(n) = content_length {
            builder = builder.header(header::CONTENT_LENGTH, n);
        }
        builder.body(body).unwrap()
    }

    fn extract(req: Request) -> Result<Accepted, EnvelopeRejection> {
        ready(Accepted::from_request(req, &app()))
    }

    fn parts(response: Response) -> (u16, String, String) {
        let status = response.status().as_u16();
        let ct = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let mut stream = response.into_body().into_data_stream();
        let mut body = Vec::new();
        while let Some(chunk) = ready(stream.next()) {
            body.extend_from_slice(&chunk.unwrap());
        }
        (status, ct, String::from_utf8(body).unwrap())
    }

    fn chunks(sizes: &[usize]) -> Body {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = sizes
            .iter()
            .map(|&n| Ok(bytes::Bytes::from(vec![b'a'; n])))
            .collect();
        Body::from_stream(futures_util::stream::iter(items))
    }

    #[test]
    fn d_success_accepted_create() {
        let body = Body::from("action=create&service_id=1&category=Spam");
        let accepted = extract(request(Some("k"), None, body)).unwrap();
        assert_eq!(accepted.action.service_id, 1);
        assert_eq!(accepted.resolved.service_ip, crate::NO_DEDICATED_IP);
    }

    #[test]
    fn d_auth_refusal_is_200_amp001_json() {
        let body = Body::from("action=create&service_id=1&category=Spam");
        let rejection = extract(request(Some("wrong"), None, body)).unwrap_err();
        let EnvelopeRejection::Refused(r) = &rejection else {
            panic!("{rejection:?}")
        };
        assert_eq!(r.error.code, ErrorCode::Unauthorized);
        let (status, ct, body) = parts(rejection.into_response());
        assert_eq!((status, ct.as_str()), (200, "application/json"));
        let expected = ApiResponse::from(&AmpError::unauthorized()).to_json();
        assert_eq!(body, expected);
    }

    #[test]
    fn r_body_declared_oversize_is_413_amp003() {
        let body = Body::from("action=create");
        let rejection = extract(request(Some("k"), Some(BODY_LIMIT + 1), body)).unwrap_err();
        let (status, ct, body) = parts(rejection.into_response());
        assert_eq!((status, ct.as_str()), (413, "application/json"));
        assert!(body.contains(r#""error_code":"AMP003""#), "{body}");
    }

    #[test]
    fn r_body_streamed_oversize_stops_at_the_limit() {
        let half = BODY_LIMIT / 2;
        let rejection = extract(request(Some("k"), None, chunks(&[half, half, 1]))).unwrap_err();
        let EnvelopeRejection::Refused(r) = rejection else {
            panic!("{rejection:?}")
        };
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        // Exactly the limit is read (and is then no parameters: AMP002).
        let rejection = extract(request(Some("k"), None, chunks(&[half, half]))).unwrap_err();
        let EnvelopeRejection::Refused(r) = rejection else {
            panic!("{rejection:?}")
        };
        assert_eq!(
            (r.status, r.error.code),
            (StatusCode::OK, ErrorCode::InvalidAction)
        );
    }

    #[test]
    fn r_body_unauthenticated_oversize_is_amp001() {
        let rejection = extract(request(None, Some(BODY_LIMIT + 1), Body::empty())).unwrap_err();
        let EnvelopeRejection::Refused(r) = rejection else {
            panic!("{rejection:?}")
        };
        assert_eq!(
            (r.status, r.error.code),
            (StatusCode::OK, ErrorCode::Unauthorized)
        );
    }

    #[test]
    fn broken_body_is_400_json_without_code() {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from_static(b"action=cr")),
            Err(std::io::Error::other("reset")),
        ];
        let body = Body::from_stream(futures_util::stream::iter(items));
        let rejection = extract(request(Some("k"), None, body)).unwrap_err();
        assert_eq!(rejection, EnvelopeRejection::UnreadableBody);
        let (status, ct, body) = parts(rejection.into_response());
        assert_eq!(
            (status, ct.as_str(), body.as_str()),
            (400, "application/json", UNREADABLE_BODY)
        );
    }

    #[test]
    fn r_status_answers_are_200_json_with_the_wire_shape() {
        let (status, ct, body) = parts(ApiResponse::Success { report_id: 92 }.into_response());
        assert_eq!(
            (status, ct.as_str(), body.as_str()),
            (
                200,
                "application/json",
                r#"{"status":"success","report_id":92}"#
            )
        );
        let (status, _, body) = parts(AmpError::invalid_action(false, &["create"]).into_response());
        assert_eq!(status, 200);
        assert!(
            body.starts_with(r#"{"status":"error","error_code":"AMP002""#),
            "{body}"
        );
    }
}
