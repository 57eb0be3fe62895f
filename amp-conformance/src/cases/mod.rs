//! Cases: requests with their expected outcome, from fixture files ([`fixtures`]) and from
//! the contract's generated strategies ([`properties`]).

pub mod coverage;
pub mod fixtures;
pub mod properties;
pub mod recorded;

use amp_contract::rules::Rule;
use std::fmt;

use amp_contract::ErrorCode;
use amp_contract::documented;
use amp_contract::envelope::{self, ApiIds, Body, Request, ServiceDirectory};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// How a request authenticates (D-AUTH, R-AUTH). Every header it sends is named `API_ID`,
/// exactly as the public page spells it (CONTRACT.md §4), except [`Auth::ValidAs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `API_ID: $AMP_API_ID`.
    Valid,
    /// The valid key under another spelling of the header name (`api_id`, `Api_Id`,
    /// `API-ID`), sent byte for byte as given: the header-case checks.
    ValidAs(String),
    /// No header.
    Missing,
    /// An empty `API_ID` header.
    Empty,
    /// An `API_ID` whose value is not a valid identifier.
    Invalid,
    /// The valid key twice, in two `API_ID` headers.
    Twice,
    /// A near miss of the valid key in the `API_ID` header (D-AUTH: the key changed by one
    /// transformation is not a valid identifier). Secret: its value derives from the key.
    NearMiss(coverage::NearMiss),
    /// The valid key offered somewhere other than the `API_ID` header, with no such header
    /// (D-AUTH: the page names the header only).
    Elsewhere(coverage::KeyPlace),
}

impl fmt::Display for Auth {
    /// Its spelling in fixture files and recorded requests: `valid`, `missing`, `empty`,
    /// `invalid`, `twice` or `header:NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::ValidAs(name) => write!(f, "header:{name}"),
            Self::Missing => f.write_str("missing"),
            Self::Empty => f.write_str("empty"),
            Self::Invalid => f.write_str("invalid"),
            Self::Twice => f.write_str("twice"),
            Self::NearMiss(miss) => write!(f, "near:{}", miss.name()),
            Self::Elsewhere(place) => write!(f, "place:{}", place.name()),
        }
    }
}

impl std::str::FromStr for Auth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "valid" => Self::Valid,
            "missing" => Self::Missing,
            "empty" => Self::Empty,
            "invalid" => Self::Invalid,
            "twice" => Self::Twice,
            other => {
                if let Some(miss) = other
                    .strip_prefix("near:")
                    .and_then(coverage::NearMiss::from_name)
                {
                    return Ok(Self::NearMiss(miss));
                }
                if let Some(place) = other
                    .strip_prefix("place:")
                    .and_then(coverage::KeyPlace::from_name)
                {
                    return Ok(Self::Elsewhere(place));
                }
                match other.strip_prefix("header:") {
                    Some(name) if !name.is_empty() => Self::ValidAs(name.to_owned()),
                    _ => {
                        return Err(format!(
                            "auth `{other}`: use valid, missing, empty, invalid, twice, \
                             header:NAME, near:NAME or place:NAME"
                        ));
                    }
                }
            }
        })
    }
}

impl Auth {
    /// The header lines this sends, names exactly as they go on the wire, with `key` as the
    /// valid identifier.
    pub fn headers(&self, key: &str) -> Vec<(String, String)> {
        let h = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        match self {
            Self::Valid => vec![h(Self::HEADER, key)],
            Self::ValidAs(name) => vec![h(name, key)],
            Self::Missing => Vec::new(),
            Self::Empty => vec![h(Self::HEADER, "")],
            Self::Invalid => vec![h(Self::HEADER, "amp-conformance-not-a-valid-identifier")],
            Self::Twice => vec![h(Self::HEADER, key), h(Self::HEADER, key)],
            Self::NearMiss(miss) => vec![h(Self::HEADER, &miss.apply(key))],
            Self::Elsewhere(coverage::KeyPlace::Cookie) => {
                vec![h("Cookie", &format!("{}={key}", Self::HEADER))]
            }
            Self::Elsewhere(_) => Vec::new(),
        }
    }

    /// The header name as the page spells it, which every ordinary request uses.
    pub const HEADER: &'static str = "API_ID";
}

/// A request as it goes on the wire, with the credential left symbolic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRequest {
    /// HTTP method.
    pub method: String,
    /// Authentication.
    pub auth: Auth,
    /// Other headers, in order (`content-type` among them).
    pub headers: Vec<(String, String)>,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl WireRequest {
    /// The request with the key put where [`Auth::Elsewhere`] says when that is the query or
    /// the body (the recorded request never holds the key: it is added as the bytes are sent).
    pub fn with_key_placed(&self, key: &str) -> std::borrow::Cow<'_, WireRequest> {
        use coverage::KeyPlace;
        let Auth::Elsewhere(place) = &self.auth else {
            return std::borrow::Cow::Borrowed(self);
        };
        let pair = |name: &str| {
            amp_contract::form::FormPairs::from_pairs([(name.as_bytes(), key.as_bytes())])
                .to_urlencoded()
        };
        let mut placed = self.clone();
        match place {
            KeyPlace::Query => {
                let pair = pair(Auth::HEADER);
                placed.query = Some(match &self.query {
                    Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                    _ => pair,
                });
            }
            KeyPlace::Body | KeyPlace::BodyLower => {
                let name = if *place == KeyPlace::Body {
                    Auth::HEADER.to_owned()
                } else {
                    Auth::HEADER.to_ascii_lowercase()
                };
                if !placed.body.is_empty() {
                    placed.body.push(b'&');
                }
                placed.body.extend_from_slice(pair(&name).as_bytes());
            }
            KeyPlace::Cookie => return std::borrow::Cow::Borrowed(self),
        }
        std::borrow::Cow::Owned(placed)
    }

    /// The value of the first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What the contract itself answers to this request at the reference layer, given the
    /// valid `key` and the services: the oracle for generated cases and the yardstick for
    /// fixtures.
    pub fn oracle(
        &self,
        key: &str,
        services: &impl ServiceDirectory,
    ) -> Result<envelope::Accepted, envelope::Rejection> {
        self.ask(key, |request| {
            envelope::handle(request, &ApiIds::new([key]), services)
        })
    }

    /// Both layers' answers to this request ([`WireRequest::documented`] and
    /// [`WireRequest::oracle`]), its body decoded once.
    pub fn oracles(
        &self,
        key: &str,
        services: &impl ServiceDirectory,
    ) -> (
        documented::Verdict,
        Result<envelope::Accepted, envelope::Rejection>,
    ) {
        self.ask(key, |request| {
            documented::both(
                request,
                self.query.as_deref(),
                &ApiIds::new([key]),
                services,
            )
        })
    }

    /// Whether the exact bytes could make a server suspend a service (guarded by
    /// `--allow-suspend`): the body read as urlencoded and as its content type says. Conservative on purpose: it guards real services
    /// (CONTRACT.md §6).
    pub fn may_suspend(&self) -> bool {
        use amp_contract::create::{body_may_suspend, pairs_may_suspend};
        use amp_contract::form::FORM_URLENCODED;
        // Read as urlencoded whatever the headers say, then as a POST of its content type
        // (multipart) when that is another reading.
        body_may_suspend(&self.body)
            || self.ask("", |request| {
                let urlencoded = envelope::media_type(request.headers)
                    .is_some_and(|m| m.eq_ignore_ascii_case(FORM_URLENCODED));
                !urlencoded
                    && pairs_may_suspend(
                        envelope::read_params(&Method::POST, request.headers, &self.body).iter(),
                    )
            })
    }

    /// What the page itself demands of this request (the documented layer), or which
    /// reference rules decide where it is silent (CONTRACT.md §4).
    pub fn documented(&self, key: &str, services: &impl ServiceDirectory) -> documented::Verdict {
        self.ask(key, |request| {
            documented::answer(
                request,
                self.query.as_deref(),
                &ApiIds::new([key]),
                services,
            )
        })
    }

    /// Builds the envelope's view of this request (`key` in the auth header) for `question`.
    fn ask<T>(&self, key: &str, question: impl FnOnce(&Request<'_>) -> T) -> T {
        let mut headers = HeaderMap::new();
        for (name, value) in self.auth.headers(key).iter().chain(&self.headers) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.append(name, value);
            }
        }
        let method = Method::from_bytes(self.method.as_bytes()).unwrap_or(Method::POST);
        let body = if self.body.len() > envelope::BODY_LIMIT {
            Body::TooLarge
        } else {
            Body::Complete(&self.body)
        };
        question(&Request {
            method: &method,
            headers: &headers,
            body,
        })
    }
}

/// The `application/x-www-form-urlencoded` media type.
pub const FORM: &str = amp_contract::form::FORM_URLENCODED;

/// What a case must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `{"status":"success","report_id":N}` with N ≥ 1 (D-SUCCESS).
    Success,
    /// An error with this code, naming these parameters; `status` is the HTTP status of the
    /// reference profile (200 unless R-BODY's 413).
    Error {
        /// The code.
        code: ErrorCode,
        /// Parameters the description must name.
        params: Vec<String>,
        /// Reference HTTP status.
        status: u16,
    },
    /// No rule: the behaviour is recorded (`INFO`).
    Info,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success => f.write_str("success with report_id >= 1"),
            Self::Error {
                code,
                params,
                status,
            } if params.is_empty() => {
                write!(f, "{code} (HTTP {status})")
            }
            Self::Error {
                code,
                params,
                status,
            } => {
                write!(f, "{code} naming {} (HTTP {status})", params.join(", "))
            }
            Self::Info => f.write_str("any answer (recorded)"),
        }
    }
}

/// Where a case comes from, for reports and replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A fixture file and the line of its `[[case]]`.
    Fixture {
        /// File.
        path: String,
        /// Line.
        line: usize,
    },
    /// A generated case: replay with the run's seed.
    Property {
        /// Which generator.
        generator: Generator,
        /// Index in the run.
        index: usize,
    },
    /// A check over the whole run.
    Stateful,
    /// A request replayed from a JSON report.
    Replay {
        /// The report.
        report: String,
    },
}

/// The generators of property cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Valid creates from the contract's strategy.
    Valid,
    /// Invalid creates, each with the error the contract expects.
    Invalid,
    /// Wire-level mutations of valid creates, judged by the contract's answer to the bytes.
    Mutation,
    /// The coverage model's cases ([`coverage`]), judged by the contract's answer to the bytes.
    Coverage,
}

impl Generator {
    /// Its name in check ids (`prop/valid/0003`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Mutation => "mutation",
            Self::Coverage => "coverage",
        }
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Placeholders that fixture values use for services, resolved per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// `{service}`: any existing service.
    Service,
    /// `{service_with_ip}`: a service with a dedicated IP.
    ServiceWithIp,
    /// `{service_without_ip}`: a service without one.
    ServiceWithoutIp,
    /// `{missing_service}`: an id known not to exist.
    MissingService,
}

impl Need {
    /// Every placeholder.
    pub const ALL: [Need; 4] = [
        Need::Service,
        Need::ServiceWithIp,
        Need::ServiceWithoutIp,
        Need::MissingService,
    ];

    /// Its spelling in fixture values.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Service => "{service}",
            Self::ServiceWithIp => "{service_with_ip}",
            Self::ServiceWithoutIp => "{service_without_ip}",
            Self::MissingService => "{missing_service}",
        }
    }

    /// The flag that provides it against a `--target`.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Service => "--service ID",
            Self::ServiceWithIp => "--service ID=IP",
            Self::ServiceWithoutIp => "--service ID=none",
            Self::MissingService => "--missing-service-id ID",
        }
    }
}

/// How a form body is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As `http_build_query` sends it: `+` for spaces.
    Urlencoded,
    /// Percent-encoded with `%20` for spaces (what many non-PHP clients send).
    UrlencodedPercent20,
    /// `multipart/form-data` as curl sends an array `CURLOPT_POSTFIELDS`.
    Multipart,
}

/// A request body before placeholders are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySpec {
    /// Decoded pairs and how to encode them.
    Form {
        /// Pairs, in order (bytes: values may be invalid UTF-8 on purpose).
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        /// Encoding.
        encoding: Encoding,
    },
    /// Exact bytes.
    Raw(Vec<u8>),
}

/// A request before it is planned: placeholders unresolved, marker not yet added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: String,
    /// Authentication.
    pub auth: Auth,
    /// `Content-Type`: `None` derives it from the body (form encodings), `Some("")` sends none.
    pub content_type: Option<String>,
    /// Other headers.
    pub headers: Vec<(String, String)>,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// Body.
    pub body: BodySpec,
}

impl RequestSpec {
    /// A form POST of `pairs`, authenticated, as PHP sends it.
    pub fn form(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        Self {
            method: "POST".to_owned(),
            auth: Auth::Valid,
            content_type: None,
            headers: Vec::new(),
            query: None,
            body: BodySpec::Form {
                pairs,
                encoding: Encoding::Urlencoded,
            },
        }
    }

    /// The placeholders it uses.
    pub fn needs(&self) -> Vec<Need> {
        // Placeholders sit in short fixture values, but generated texts are up to 64 KiB and
        // often carry a `{`: one pass over each value's braces, every placeholder tried there.
        let mut found = [false; Need::ALL.len()];
        let mut scan = |hay: &[u8]| {
            for at in memchr::memchr_iter(b'{', hay) {
                for (seen, need) in found.iter_mut().zip(Need::ALL) {
                    *seen |= hay[at..].starts_with(need.placeholder().as_bytes());
                }
            }
        };
        match &self.body {
            BodySpec::Form { pairs, .. } => pairs.iter().for_each(|(_, v)| scan(v)),
            BodySpec::Raw(raw) => scan(raw),
        }
        Need::ALL
            .into_iter()
            .zip(found)
            .filter_map(|(need, seen)| seen.then_some(need))
            .collect()
    }

    /// Whether a value of this request would suspend a service if a server accepted it
    /// (guarded by `--allow-suspend`). Conservative: any pair whose key names the field.
    pub fn may_suspend(&self) -> bool {
        match &self.body {
            BodySpec::Form { pairs, .. } => amp_contract::create::pairs_may_suspend(
                pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
            ),
            BodySpec::Raw(raw) => amp_contract::create::body_may_suspend(raw),
        }
    }

    /// The request as sent: placeholders replaced by `subst`, the purge marker added to
    /// `admin_notes` when `marker` is given and the field is absent.
    pub fn render(
        &self,
        subst: &[(Need, String)],
        marker: Option<&str>,
        boundary_seed: u64,
    ) -> WireRequest {
        let mut headers = Vec::new();
        let (content_type, body) = match &self.body {
            BodySpec::Raw(raw) => {
                let mut body = substitute(raw, subst).into_owned();
                // An exact urlencoded body gets the purge marker appended, unless it already
                // names the admin-only field: a create from exact bytes is still findable.
                let urlencoded = self.content_type.as_deref().is_some_and(|ct| {
                    ct.split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case(FORM))
                });
                if let (true, Some(marker), Some(notes)) =
                    (urlencoded, marker, amp_contract::create::admin_notes_name())
                {
                    // Only the keys are decoded: the body may be a megabyte of one value.
                    let named = amp_contract::form::segments(&body).any(|(k, _)| {
                        amp_contract::form::php_urldecode(k).starts_with(notes.as_bytes())
                    });
                    if !named {
                        let pair = amp_contract::form::FormPairs::from_pairs([(
                            notes.as_bytes(),
                            marker.as_bytes(),
                        )]);
                        if !body.is_empty() {
                            body.push(b'&');
                        }
                        body.extend_from_slice(pair.to_urlencoded().as_bytes());
                    }
                }
                (None, body)
            }
            BodySpec::Form { pairs, encoding } => {
                let mut pairs: Vec<(&[u8], std::borrow::Cow<'_, [u8]>)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_slice(), substitute(v, subst)))
                    .collect();
                if let (Some(marker), Some(notes)) =
                    (marker, amp_contract::create::admin_notes_name())
                {
                    let notes = notes.as_bytes();
                    if !pairs.iter().any(|(k, _)| k.starts_with(notes)) {
                        pairs.push((notes, marker.as_bytes().into()));
                    }
                }
                encode(&pairs, *encoding, boundary_seed)
            }
        };
        match (&self.content_type, content_type) {
            (Some(ct), _) if ct.is_empty() => {}
            (Some(ct), _) => headers.push(("content-type".to_owned(), ct.clone())),
            (None, Some(ct)) => headers.push(("content-type".to_owned(), ct)),
            (None, None) => {}
        }
        headers.extend(self.headers.iter().cloned());
        WireRequest {
            method: self.method.clone(),
            auth: self.auth.clone(),
            headers,
            query: self.query.clone(),
            body,
        }
    }
}

/// `bytes` with the placeholders of `subst` replaced; copied only when one is there.
fn substitute<'a>(bytes: &'a [u8], subst: &[(Need, String)]) -> std::borrow::Cow<'a, [u8]> {
    if subst.is_empty() || !bytes.contains(&b'{') {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = bytes.to_vec();
    for (need, value) in subst {
        let p = need.placeholder().as_bytes();
        while let Some(at) = memchr::memmem::find(&out, p) {
            out.splice(at..at + p.len(), value.bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Encodes pairs; returns the content type and the body.
fn encode(
    pairs: &[(&[u8], std::borrow::Cow<'_, [u8]>)],
    encoding: Encoding,
    seed: u64,
) -> (Option<String>, Vec<u8>) {
    let form = amp_contract::form::FormPairs::from_pairs(pairs.iter().map(|(k, v)| (*k, &**v)));
    match encoding {
        Encoding::Urlencoded => (Some(FORM.to_owned()), form.to_urlencoded().into_bytes()),
        Encoding::UrlencodedPercent20 => (
            Some(FORM.to_owned()),
            form.to_urlencoded().replace('+', "%20").into_bytes(),
        ),
        Encoding::Multipart => {
            // curl's boundary: 24 dashes and 16 hex digits.
            let boundary = format!("------------------------{seed:016x}");
            (
                Some(amp_contract::form::FormPairs::multipart_content_type(
                    &boundary,
                )),
                form.to_multipart(&boundary),
            )
        }
    }
}

/// One check to run: a request and what it must get.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable id, e.g. `fixture/r-suspend/page-example-value`.
    pub id: String,
    /// Rules, the governing one first.
    pub rules: Vec<Rule>,
    /// One line saying what it checks.
    pub title: String,
    /// The request.
    pub request: RequestSpec,
    /// What it must get.
    pub expect: Expectation,
    /// Where it comes from.
    pub origin: Origin,
    /// Whether `admin_notes` is under test (then the purge marker is not added).
    pub admin_notes_under_test: bool,
}

impl Case {
    /// The governing rule.
    pub fn rule(&self) -> Rule {
        self.rules.first().copied().unwrap_or(Rule::DErrorShape)
    }

    /// Whether the case is meant to create a report.
    pub fn writes(&self) -> bool {
        matches!(self.expect, Expectation::Success)
    }

    /// Whether its body is over the 1 MiB that D-NO-5XX covers (a web server's own limit may
    /// refuse it, and R-BODY decides the answer). Counted on the decoded pairs, which the
    /// encoded body is never shorter than.
    pub fn oversize(&self) -> bool {
        let len = match &self.request.body {
            BodySpec::Raw(raw) => raw.len(),
            BodySpec::Form { pairs, .. } => pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum(),
        };
        len > envelope::BODY_LIMIT
    }
}
