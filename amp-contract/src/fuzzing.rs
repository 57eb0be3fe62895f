//! The invariants the fuzz targets (`amp-contract/fuzz/`) check, shared with the stable test
//! that replays the committed corpus on every `cargo test` (`tests/fuzz_corpus.rs`): more than
//! "no panic". Each check panics with what broke, which is how libFuzzer learns of it.
//!
//! - **Envelope** (`envelope`): the answer is deterministic; an error has a code of the form
//!   `AMPnnn` and a non-empty description; AMP001 comes before everything for a request without
//!   exactly one valid key (D-AUTH, R-ORDER); HTTP 413 only for an authenticated oversize body
//!   (R-BODY); an accepted create round-trips through `http_build_query`; and the page's layer
//!   never contradicts the reference layer (where the page demands an outcome, the reference
//!   gives it).
//! - **Form** (`form`): decoding never panics, and decoding what the encoder writes of the
//!   decoded pairs gives the same pairs.
//! - **Multipart** (`multipart`): decoding never panics, and the encoder's output of the
//!   decoded pairs decodes to the same pairs.

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header::CONTENT_TYPE};

use crate::action::Action;
use crate::create::{CreateAbuseReport, DedicatedIp};
use crate::documented::{self, Demand};
use crate::envelope::{self, ApiIds, BODY_LIMIT, Body, Request};
use crate::error::ErrorCode;
use crate::form::{self, FormPairs};

/// The valid key of fuzzed requests.
pub const KEY: &str = "fuzz-key";

/// The boundary the multipart target and structured inputs use.
pub const BOUNDARY: &str = "------------------------fuzzfuzzfuzzfuzz";

const METHODS: [&str; 4] = ["POST", "GET", "PUT", "post"];
const AUTH_NAMES: [&str; 4] = ["API_ID", "api_id", "Api_Id", "API-ID"];
const CONTENT_TYPES: [&str; 5] = [
    form::FORM_URLENCODED,
    "multipart/form-data; boundary=------------------------fuzzfuzzfuzzfuzz",
    "text/plain",
    "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
    "",
];
const KEYS: [&str; 4] = [KEY, "", "wrong-key", KEY];

/// Services of fuzzed requests: 1 with a dedicated IP, 2 without, no other.
fn services(id: u32) -> Option<DedicatedIp> {
    match id {
        1 => Some(DedicatedIp::Address([192, 0, 2, 1].into())),
        2 => Some(DedicatedIp::None),
        _ => None,
    }
}

/// A request read from fuzzer bytes: the first byte picks the method, the second the key
/// header (name, value, how many), the third the content type; the rest is the body.
pub struct Structured<'a> {
    method: Method,
    headers: HeaderMap,
    body: &'a [u8],
    /// Whether exactly one header carries the valid key under a name equal to `api_id`.
    authenticated: bool,
}

impl<'a> Structured<'a> {
    /// Reads `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let byte = |i: usize| data.get(i).copied().unwrap_or(0) as usize;
        let method =
            Method::from_bytes(METHODS[byte(0) % METHODS.len()].as_bytes()).unwrap_or(Method::POST);
        let mut headers = HeaderMap::new();
        let auth = byte(1);
        let name = AUTH_NAMES[auth % AUTH_NAMES.len()];
        let key = KEYS[(auth / 4) % KEYS.len()];
        let copies = (auth / 16) % 3;
        for _ in 0..copies {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(key),
            ) {
                headers.append(n, v);
            }
        }
        let content_type = CONTENT_TYPES[byte(2) % CONTENT_TYPES.len()];
        if let Ok(value) = HeaderValue::from_str(content_type) {
            if !content_type.is_empty() {
                headers.insert(CONTENT_TYPE, value);
            }
        }
        let authenticated = copies == 1 && key == KEY && !name.contains('-');
        Self {
            method,
            headers,
            body: data.get(3..).unwrap_or_default(),
            authenticated,
        }
    }
}

/// The envelope invariants for one structured request.
pub fn envelope(data: &[u8]) {
    let input = Structured::new(data);
    let body = if input.body.len() > BODY_LIMIT {
        Body::TooLarge
    } else {
        Body::Complete(input.body)
    };
    let request = Request {
        method: &input.method,
        headers: &input.headers,
        body,
    };
    let ids = ApiIds::new([KEY]);
    let answer = envelope::handle(&request, &ids, &services);
    assert_eq!(
        answer,
        envelope::handle(&request, &ids, &services),
        "not deterministic"
    );
    match &answer {
        Ok(accepted) => {
            assert!(
                input.authenticated,
                "accepted without exactly one valid key"
            );
            let body = accepted.action.to_body();
            let again = CreateAbuseReport::from_form(&FormPairs::from_urlencoded(body.as_bytes()));
            assert_eq!(
                again.as_ref().ok(),
                Some(&accepted.action),
                "the accepted create does not round-trip through http_build_query"
            );
        }
        Err(rejection) => {
            let code = rejection.error.code.to_string();
            assert!(
                code.len() == 6
                    && code.starts_with("AMP")
                    && code[3..].bytes().all(|b| b.is_ascii_digit()),
                "error code {code:?} is not AMPnnn"
            );
            assert!(
                !rejection.error.description.trim().is_empty(),
                "empty error description"
            );
            if !input.authenticated {
                assert_eq!(
                    rejection.error.code,
                    ErrorCode::Unauthorized,
                    "AMP001 must come first"
                );
            }
            if rejection.status == StatusCode::PAYLOAD_TOO_LARGE {
                assert!(
                    input.authenticated && matches!(body, Body::TooLarge),
                    "413 for a request that is not an authenticated oversize one"
                );
            }
        }
    }
    if let documented::Verdict::Demands { demand, rule } =
        documented::answer(&request, None, &ids, &services)
    {
        let agrees = match (demand, &answer) {
            (Demand::Success, Ok(_)) => true,
            (Demand::Error(code), Err(rejection)) => rejection.error.code == code,
            _ => false,
        };
        assert!(
            agrees,
            "the page demands {demand:?} ({rule}); the reference answers otherwise"
        );
    }
}

/// The form decoder's invariants.
pub fn form(data: &[u8]) {
    let decoded = FormPairs::from_urlencoded(data);
    let encoded = decoded.to_urlencoded();
    let again = FormPairs::from_urlencoded(encoded.as_bytes());
    let pairs = |f: &FormPairs<'_>| -> Vec<(Vec<u8>, Vec<u8>)> {
        f.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    };
    // Empty keys with empty values are segments the decoder skips once encoded (`=`).
    let kept = |f: &FormPairs<'_>| -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs(f)
            .into_iter()
            .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
            .collect()
    };
    assert_eq!(
        kept(&decoded),
        kept(&again),
        "decode(encode(decode(x))) differs"
    );
}

/// The multipart decoder's invariants.
pub fn multipart(data: &[u8]) {
    let decoded = form::from_multipart(data, BOUNDARY);
    // Values that hold the boundary cannot be framed again; the rest must round-trip.
    let framable = decoded.iter().all(|(k, v)| {
        !v.windows(BOUNDARY.len()).any(|w| w == BOUNDARY.as_bytes())
            && !k.contains(&b'"')
            && !k.contains(&b'\r')
            && !k.contains(&b'\n')
    });
    if framable {
        let again = form::from_multipart(&decoded.to_multipart(BOUNDARY), BOUNDARY);
        let pairs = |f: &FormPairs<'_>| -> Vec<(Vec<u8>, Vec<u8>)> {
            f.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
        };
        assert_eq!(
            pairs(&decoded),
            pairs(&again),
            "multipart does not round-trip"
        );
    }
}
