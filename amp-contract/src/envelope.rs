//! The request envelope: authentication, body reading, action dispatch and server-state rules,
//! in the order of R-ORDER, transport-agnostic (method, headers and body bytes in; the parsed
//! action or the one AMP error out).

use http::{HeaderMap, Method, StatusCode, header::CONTENT_TYPE};
use subtle::{Choice, ConstantTimeEq};

pub use crate::create::{DedicatedIp, ServiceDirectory, ServiceLookup};

use crate::action::{ACTION_PARAM, Action, Lookup};
use crate::create::CreateAbuseReport;
use crate::error::AmpError;
use crate::form::{self, FORM_URLENCODED, FormPairs, MULTIPART_FORM_DATA, Occurrence};
use crate::response::ApiResponse;
use crate::rules::Rule;

/// Largest body whose parameters are read: 1 MiB (R-BODY).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The authentication header, as HTTP compares it (case-insensitively, D-AUTH).
pub const API_ID_HEADER: &str = "api_id";

/// The request body as the transport delivered it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// All of it, at most [`BODY_LIMIT`] bytes.
    Complete(&'a [u8]),
    /// More than [`BODY_LIMIT`] bytes; the transport stopped reading.
    TooLarge,
}

/// What the envelope needs of an HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: Body<'a>,
}

/// Decides whether a presented `API_ID` is valid. Implement it for your credential store.
pub trait Credentials {
    /// Whether `presented` (the raw header value) is a valid identifier.
    fn verify(&self, presented: &[u8]) -> bool;
}

/// A fixed set of valid identifiers, compared in constant time (R-AUTH).
///
/// ```
/// use amp_contract::envelope::{ApiIds, Credentials};
/// let ids = ApiIds::from_list("alpha, beta");
/// assert!(ids.verify(b"beta"));
/// assert!(!ids.verify(b"bet"));
/// ```
#[derive(Clone, Default)]
pub struct ApiIds {
    ids: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ApiIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the identifiers themselves.
        write!(f, "ApiIds({} identifiers)", self.ids.len())
    }
}

impl ApiIds {
    /// Identifiers from a comma-separated list (as in `AMP_API_ID`); blanks are dropped.
    pub fn from_list(list: &str) -> Self {
        Self::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Identifiers from any strings.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> Self {
        Self {
            ids: ids
                .into_iter()
                .map(|s| s.as_ref().as_bytes().to_vec())
                .collect(),
        }
    }

    /// Whether no identifier is configured (then nothing authenticates).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Compares without an early exit on the first differing byte. Time depends only on the
/// lengths, never on where the values differ.
fn ct_equal(a: &[u8], b: &[u8]) -> Choice {
    let len = a.len().max(b.len());
    let mut same = (a.len() as u64).ct_eq(&(b.len() as u64));
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        same &= x.ct_eq(&y);
    }
    same
}

impl Credentials for ApiIds {
    fn verify(&self, presented: &[u8]) -> bool {
        // Every configured identifier is compared, so the time does not tell which one matched.
        let mut any = Choice::from(0);
        for id in &self.ids {
            any |= ct_equal(id, presented);
        }
        bool::from(any) && !presented.is_empty()
    }
}

/// An accepted request of action `A` (by default `create`): the parsed request and the values
/// to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<A: Action = CreateAbuseReport> {
    /// The request as sent (after defaults).
    pub action: A,
    /// The values to store, with server-resolved defaults.
    pub resolved: A::Stored,
}

/// A refused request: the HTTP status, the AMP error and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 200 for every AMP error (R-STATUS), 413 for an oversize body (R-BODY).
    pub status: StatusCode,
    /// The one error.
    pub error: AmpError,
    /// The rule id that produced it.
    pub rule: &'static str,
}

impl Rejection {
    fn new(error: AmpError, rule: &'static str) -> Self {
        Self {
            status: StatusCode::OK,
            error,
            rule,
        }
    }

    /// The JSON answer.
    pub fn response(&self) -> ApiResponse {
        ApiResponse::from(&self.error)
    }
}

/// Checks the `API_ID` header (D-AUTH, R-AUTH): exactly one, non-empty, and valid.
pub fn authenticate(headers: &HeaderMap, credentials: &impl Credentials) -> Result<(), Rejection> {
    let mut values = headers.get_all(API_ID_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(value), None) if !value.is_empty() && credentials.verify(value.as_bytes()) => Ok(()),
        _ => Err(Rejection::new(AmpError::unauthorized(), Rule::DAuth.id())),
    }
}

/// The media type of the request, without parameters (compare it case-insensitively).
pub fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim())
}

/// The parameters of a request as PHP's `$_POST` would hold them (R-METHOD, R-BODY): POST
/// bodies of the two form types only, everything else no parameters.
pub fn read_params<'a>(method: &Method, headers: &HeaderMap, body: &'a [u8]) -> FormPairs<'a> {
    if method != Method::POST {
        return FormPairs::new();
    }
    let media_type = media_type(headers).unwrap_or("");
    if media_type.eq_ignore_ascii_case(FORM_URLENCODED) {
        FormPairs::from_urlencoded(body)
    } else if media_type.eq_ignore_ascii_case(MULTIPART_FORM_DATA) {
        headers
            .get(CONTENT_TYPE)
            .and_then(|ct| ct.to_str().ok())
            .and_then(|ct| multer::parse_boundary(ct).ok())
            .map(|boundary| form::from_multipart(body, &boundary))
            .unwrap_or_default()
    } else {
        FormPairs::new()
    }
}

/// Why a request's body went unread (R-BODY): a POST with a non-empty body whose content type
/// is missing or not one of the two form types. `Some(None)` is a body without a content type,
/// `Some(Some(type))` one of another type (its media type, or the whole value when that is not
/// text); `None` when the body was read or there is nothing to read.
pub fn unread_body<'h>(
    method: &Method,
    headers: &'h HeaderMap,
    body: &[u8],
) -> Option<Option<&'h str>> {
    if method != Method::POST || body.is_empty() {
        return None;
    }
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Some(None);
    };
    let media_type = media_type(headers).unwrap_or("a value that is not text");
    let readable = media_type.eq_ignore_ascii_case(FORM_URLENCODED)
        || media_type.eq_ignore_ascii_case(MULTIPART_FORM_DATA);
    // An empty header value reads like no content type at all.
    (!readable).then_some((!value.is_empty()).then_some(media_type))
}

/// Server state that answers the lookups and resolved defaults of an action set: a fresh
/// [`Lookup`] per request. Every [`ServiceDirectory`] is one, for `create`
/// ([`ServiceLookup`]).
pub trait LookupState {
    /// The lookup of one request.
    fn lookup(&self) -> impl Lookup + '_;
}

impl<D: ServiceDirectory + ?Sized> LookupState for D {
    fn lookup(&self) -> impl Lookup + '_ {
        ServiceLookup::new(self)
    }
}

/// A set of actions one endpoint serves: the envelope reads `action` and hands the parameters
/// to the action of the set it names (D-ACTION, R-ACTION), with the server state `S`.
///
/// One action's [`Accepted`] is a set (over any [`LookupState`]; `Accepted` of `create` over a
/// [`ServiceDirectory`] is the API the page documents), and [`OneOf`] joins two sets.
pub trait ActionSet<S: ?Sized>: Sized {
    /// The action names of the set (each an [`Action::NAME`]), in the order an AMP002 lists
    /// them.
    fn names() -> Vec<&'static str>;

    /// Parses the parameters as the action `name`, asking `state`; `None` when the set has no
    /// action of that name (exact, case-sensitive: R-ACTION).
    fn accept(name: &[u8], form: &FormPairs<'_>, state: &S) -> Option<Result<Self, Rejection>>;
}

impl<A: Action, S: LookupState + ?Sized> ActionSet<S> for Accepted<A> {
    fn names() -> Vec<&'static str> {
        vec![A::NAME]
    }

    fn accept(name: &[u8], form: &FormPairs<'_>, state: &S) -> Option<Result<Self, Rejection>> {
        (name == A::NAME.as_bytes()).then(|| accept(form, &mut state.lookup()))
    }
}

/// Two action sets served by one endpoint: `OneOf<Accepted, Accepted<CloseTicket>>` answers
/// `action=create` and `action=close_ticket` (the first set wins a name both have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOf<A, B> {
    /// A request of the first set.
    First(A),
    /// A request of the second set.
    Second(B),
}

impl<S: ?Sized, A: ActionSet<S>, B: ActionSet<S>> ActionSet<S> for OneOf<A, B> {
    fn names() -> Vec<&'static str> {
        let mut names = A::names();
        for name in B::names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    fn accept(name: &[u8], form: &FormPairs<'_>, state: &S) -> Option<Result<Self, Rejection>> {
        match A::accept(name, form, state) {
            Some(first) => Some(first.map(Self::First)),
            None => B::accept(name, form, state).map(|second| second.map(Self::Second)),
        }
    }
}

/// Handles one request in the order of R-ORDER for the actions of `T`: authentication
/// (AMP001), the body limit (R-BODY), the action (AMP002), then every parameter of the action
/// it names (AMP003, table order).
pub fn dispatch<T: ActionSet<S>, S: ?Sized>(
    request: &Request<'_>,
    credentials: &impl Credentials,
    state: &S,
) -> Result<T, Rejection> {
    dispatch_read(request, None, credentials, state)
}

/// [`dispatch`], given the body's parameters when the caller has read them already (what
/// [`read_params`] returns for this request): a body is then decoded once for every reader.
pub(crate) fn dispatch_read<T: ActionSet<S>, S: ?Sized>(
    request: &Request<'_>,
    params: Option<&FormPairs<'_>>,
    credentials: &impl Credentials,
    state: &S,
) -> Result<T, Rejection> {
    authenticate(request.headers, credentials)?;
    let body = match request.body {
        Body::Complete(body) => body,
        Body::TooLarge => {
            return Err(Rejection {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                error: AmpError::body_too_large(BODY_LIMIT),
                rule: Rule::RBody.id(),
            });
        }
    };
    let read;
    let form = match params {
        Some(form) => form,
        None => {
            read = read_params(request.method, request.headers, body);
            &read
        }
    };
    let occurrence = form.last(ACTION_PARAM);
    let accepted = match occurrence {
        Occurrence::Value(name) => T::accept(name, form, state),
        _ => None,
    };
    accepted.unwrap_or_else(|| {
        let sent = !matches!(occurrence, Occurrence::Absent);
        let error = match unread_body(request.method, request.headers, body) {
            Some(content_type) if !sent => AmpError::unread_body(content_type, &T::names()),
            _ => AmpError::invalid_action(sent, &T::names()),
        };
        Err(Rejection::new(error, Rule::DAction.id()))
    })
}

/// Handles one request of the page's API (`create`) in the order of R-ORDER: authentication
/// (AMP001), the body limit (R-BODY), the action (AMP002), then every parameter (AMP003, table
/// order); [`dispatch`] over [`Accepted`].
///
/// ```
/// use amp_contract::envelope::{self, ApiIds, Body, DedicatedIp, Request};
/// use http::{HeaderMap, Method, header::CONTENT_TYPE};
///
/// let services = |id: u32| (id == 1).then_some(DedicatedIp::None);
/// let mut headers = HeaderMap::new();
/// headers.insert("api_id", "secret".parse().unwrap());
/// headers.insert(CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
/// let body = b"action=create&service_id=1&category=Spam";
/// let request = Request { method: &Method::POST, headers: &headers, body: Body::Complete(body) };
///
/// let accepted = envelope::handle(&request, &ApiIds::from_list("secret"), &services).unwrap();
/// assert_eq!(accepted.resolved.service_ip, "(No Dedicated IP)");
/// ```
pub fn handle(
    request: &Request<'_>,
    credentials: &impl Credentials,
    services: &impl ServiceDirectory,
) -> Result<Accepted, Rejection> {
    dispatch(request, credentials, services)
}

/// Parses an action `A` whose name was already dispatched, asking `lookup` about its lookup
/// fields and resolved defaults, and resolves the values to store. A refusal carries the rule
/// of the first offending parameter in table order.
pub fn accept<A: Action>(
    form: &FormPairs<'_>,
    lookup: &mut dyn Lookup,
) -> Result<Accepted<A>, Rejection> {
    let action = A::from_form_with(form, lookup).map_err(|violations| {
        let rule = violations
            .iter()
            .next()
            .map_or(Rule::DRequired.id(), |v| v.rule());
        Rejection::new(violations.into_error(), rule)
    })?;
    let resolved = action.resolve(lookup);
    Ok(Accepted { action, resolved })
}

/// Parses a `create` whose action was already dispatched, asking `services` whether the
/// service exists, and resolves the values to store.
pub fn create(
    form: &FormPairs<'_>,
    services: &(impl ServiceDirectory + ?Sized),
) -> Result<Accepted, Rejection> {
    accept(form, &mut ServiceLookup::new(services))
}
