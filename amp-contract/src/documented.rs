//! The documented layer as an oracle: what the public page itself demands of a request
//! (CONTRACT.md §2), which may be "the page does not say".
//!
//! [`crate::envelope::handle`] is the reference layer: it always has an exact answer. This
//! module answers the same request a second time, at the page's layer, so that a judge needs no
//! per-case attribution: a target that disagrees with a demand here breaks a documented rule
//! (`FAIL`); one that agrees here but not with the reference deviates from a reference
//! resolution (`NON-STRICT`); where the page is silent, only `NON-STRICT` is possible. The
//! silence names the reference rules that decide instead (CONTRACT.md §4: a check is only as
//! strict as the weakest rule its expectation depends on).
//!
//! ```
//! use amp_contract::rules::Rule;
//! use amp_contract::documented::{self, Demand, Verdict};
//! use amp_contract::envelope::{ApiIds, Body, DedicatedIp, Request};
//! use http::{HeaderMap, Method, header::CONTENT_TYPE};
//!
//! let services = |id: u32| (id == 1).then_some(DedicatedIp::None);
//! let mut headers = HeaderMap::new();
//! headers.insert("api_id", "secret".parse().unwrap());
//! headers.insert(CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
//! let ask = |body: &'static [u8]| {
//!     let request = Request { method: &Method::POST, headers: &headers, body: Body::Complete(body) };
//!     documented::answer(&request, None, &ApiIds::from_list("secret"), &services)
//! };
//! // `1` is how PHP sends true: documented, so the page demands success.
//! assert_eq!(
//!     ask(b"action=create&service_id=1&category=Spam&allow_unsuspend=1"),
//!     Verdict::Demands { demand: Demand::Success, rule: Rule::DOptionals }
//! );
//! // `on` is valid only by R-BOOL: the page is silent, R-BOOL decides.
//! assert_eq!(
//!     ask(b"action=create&service_id=1&category=Spam&allow_unsuspend=on"),
//!     Verdict::Silent { rules: vec![Rule::RBool], authenticated: true }
//! );
//! ```

use std::borrow::Cow;

use http::Method;

use crate::action::{ACTION_PARAM, Action};
use crate::create::{CreateAbuseReport, DedicatedIp, ServiceDirectory};
use crate::envelope::{API_ID_HEADER, Body, Credentials, Request, media_type};
use crate::error::ErrorCode;
use crate::form::{FORM_URLENCODED, php_urldecode_checked};
use crate::meta::{FieldMeta, Kind};
use crate::rules::Rule;
use crate::value_rules::{parse_canonical_integer, parse_ip, php_trim};

/// Longest free text the page documents (D-OPTIONALS: "up to 255 characters").
pub const DOCUMENTED_TEXT_CHARS: usize = 255;

/// The spellings of a boolean the page documents (D-OPTIONALS): PHP's `1`/`0`, and
/// `true`/`false`. R-BOOL accepts more; those are valid only at the reference layer.
pub const DOCUMENTED_BOOLEANS: [&str; 4] = ["1", "0", "true", "false"];

/// An outcome the page demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// `{"status":"success","report_id":N}` with N ≥ 1.
    Success,
    /// An error with this code.
    Error(ErrorCode),
}

/// The documented layer's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The page demands this outcome, by this documented rule.
    Demands {
        /// The outcome.
        demand: Demand,
        /// The `D-…` rule that demands it.
        rule: Rule,
    },
    /// The page does not decide this request; these reference rules do (at least one, the
    /// first in table order first, each once).
    Silent {
        /// The `R-…` rules that make the request leave the documented layer.
        rules: Vec<Rule>,
        /// Whether the request carries exactly one valid `API_ID` header (any name case): then
        /// an `AMP001` answer still breaks D-AUTH, whatever the page leaves open elsewhere.
        authenticated: bool,
    },
}

impl Verdict {
    /// Whether the page demands success: every value the request carries is one the page
    /// documents.
    pub fn documented_valid(&self) -> bool {
        matches!(
            self,
            Self::Demands {
                demand: Demand::Success,
                ..
            }
        )
    }

    fn silent(rule: Rule, authenticated: bool) -> Self {
        Self::Silent {
            rules: vec![rule],
            authenticated,
        }
    }
}

/// One `key=value` of the body, as the page's reading sees it.
struct RawPair<'a> {
    key: Cow<'a, [u8]>,
    value: Cow<'a, [u8]>,
    /// Every `%` starts a valid escape (invalid ones are left to R-UTF8).
    clean: bool,
}

fn raw_pairs(body: &[u8]) -> Vec<RawPair<'_>> {
    crate::form::segments(body)
        .map(|(key, value)| {
            let (key, key_clean) = php_urldecode_checked(key);
            let (value, value_clean) = php_urldecode_checked(value);
            RawPair {
                key,
                value,
                clean: key_clean && value_clean,
            }
        })
        .collect()
}

/// Keys that use PHP's array syntax for `name` (`name[]`, `name[k]`).
fn is_array_key(key: &[u8], name: &[u8]) -> bool {
    key.len() > name.len() && key.starts_with(name) && key[name.len()] == b'['
}

/// Collects silence rules without repeats, in the order found.
#[derive(Default)]
struct Reasons(Vec<Rule>);

impl Reasons {
    fn add(&mut self, rule: Rule) {
        if !self.0.contains(&rule) {
            self.0.push(rule);
        }
    }
}

/// Ordinary free text as D-OPTIONALS documents it: up to 255 characters of any Unicode except
/// control characters other than tab and newline. Surrounding whitespace is documented only
/// where the reference does not trim it (`trims`: R-CATEGORY does, R-TEXT does not).
fn documented_text(value: &str, trims: bool) -> bool {
    value.chars().count() <= DOCUMENTED_TEXT_CHARS
        && value
            .chars()
            .all(|c| !c.is_control() || c == '\t' || c == '\n')
        && !php_trim(value).is_empty()
        && (!trims || php_trim(value) == value)
}

/// Whether `value` is a value of `meta` that the page documents, given the server's state.
fn documented_value(meta: &FieldMeta, value: &str, services: &impl ServiceDirectory) -> bool {
    match meta.kind {
        Kind::Text => documented_text(value, meta.trim),
        Kind::Integer => {
            let (min, max) = meta.integer_range();
            let canonical = parse_canonical_integer(value, min, max).is_ok();
            // A lookup field is documented-valid only when it names something that exists
            // (D-SUCCESS: "a valid service_id").
            canonical
                && (!meta.lookup
                    || value
                        .parse::<u32>()
                        .ok()
                        .and_then(|id| services.dedicated_ip(id))
                        .is_some())
        }
        Kind::Boolean => DOCUMENTED_BOOLEANS.contains(&value),
        // Dotted quads without leading zeros, and IPv6 text without a zone id; surrounding
        // whitespace is R-SERVICE-IP's trimming, not the page's.
        Kind::Ip => parse_ip(value).is_some(),
        Kind::Enumeration => meta.allowed.contains(&value),
    }
}

/// The documented layer's answer to `request` (CONTRACT.md §2 and §4). `query` is the request
/// target's query string, if any: the page reads parameters from the POST body only, so a
/// request that also carries a query leaves the documented layer (R-METHOD).
pub fn answer(
    request: &Request<'_>,
    query: Option<&str>,
    credentials: &impl Credentials,
    services: &impl ServiceDirectory,
) -> Verdict {
    answer_for::<CreateAbuseReport>(request, query, credentials, services)
}

/// Both layers' answers to one `create` request: [`answer`] and [`crate::envelope::handle`],
/// its body decoded once (the page's reading of an urlencoded body and the envelope's are
/// the same pairs). For a caller that asks both, as the conformance kit's planner does for
/// every generated create.
///
/// ```
/// use amp_contract::documented::{self, Verdict};
/// use amp_contract::envelope::{self, ApiIds, Body, DedicatedIp, Request};
/// use http::{HeaderMap, Method, header::CONTENT_TYPE};
///
/// let services = |id: u32| (id == 1).then_some(DedicatedIp::None);
/// let mut headers = HeaderMap::new();
/// headers.insert("API_ID", "secret".parse().unwrap());
/// headers.insert(CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
/// let body = b"action=create&service_id=1&category=Spam";
/// let request = Request { method: &Method::POST, headers: &headers, body: Body::Complete(body) };
/// let ids = ApiIds::from_list("secret");
///
/// let (page, reference) = documented::both(&request, None, &ids, &services);
/// assert_eq!(page, documented::answer(&request, None, &ids, &services));
/// assert_eq!(reference.is_ok(), envelope::handle(&request, &ids, &services).is_ok());
/// ```
pub fn both(
    request: &Request<'_>,
    query: Option<&str>,
    credentials: &impl Credentials,
    services: &impl ServiceDirectory,
) -> (
    Verdict,
    Result<crate::envelope::Accepted, crate::envelope::Rejection>,
) {
    let urlencoded = request.method == Method::POST
        && media_type(request.headers).is_some_and(|m| m.eq_ignore_ascii_case(FORM_URLENCODED));
    match request.body {
        Body::Complete(body) if urlencoded => {
            let pairs = raw_pairs(body);
            let form = crate::form::FormPairs::from_pairs(
                pairs.iter().map(|p| (p.key.as_ref(), p.value.as_ref())),
            );
            (
                answer_read::<CreateAbuseReport>(
                    request,
                    query,
                    credentials,
                    services,
                    Some(&pairs),
                ),
                crate::envelope::dispatch_read(request, Some(&form), credentials, services),
            )
        }
        _ => (
            answer(request, query, credentials, services),
            crate::envelope::handle(request, credentials, services),
        ),
    }
}

/// [`answer`] for any action `A` (the envelope knows one: `create`).
pub fn answer_for<A: Action>(
    request: &Request<'_>,
    query: Option<&str>,
    credentials: &impl Credentials,
    services: &impl ServiceDirectory,
) -> Verdict {
    answer_read::<A>(request, query, credentials, services, None)
}

/// [`answer_for`], given the body's pairs when the caller has read them already.
fn answer_read<A: Action>(
    request: &Request<'_>,
    query: Option<&str>,
    credentials: &impl Credentials,
    services: &impl ServiceDirectory,
    read: Option<&[RawPair<'_>]>,
) -> Verdict {
    // D-AUTH: AMP001 "whatever else it contains" for a missing, empty or invalid API_ID.
    let keys: Vec<&[u8]> = request
        .headers
        .get_all(API_ID_HEADER)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let valid = keys
        .iter()
        .filter(|k| !k.is_empty() && credentials.verify(k))
        .count();
    let hyphen = request.headers.contains_key("api-id");
    match (keys.len(), valid) {
        // Only `API-ID`: PHP behind CGI maps it to the same variable (R-AUTH, recorded).
        (0, _) if hyphen => return Verdict::silent(Rule::RAuth, false),
        (_, 0) => {
            return Verdict::Demands {
                demand: Demand::Error(ErrorCode::Unauthorized),
                rule: Rule::DAuth,
            };
        }
        // Several headers, one of them valid: the page does not say (R-AUTH).
        (1, 1) => {}
        _ => return Verdict::silent(Rule::RAuth, false),
    }
    let silent = |rule| Verdict::silent(rule, true);
    // The documented channel: a POST with an urlencoded body of at most 1 MiB, no query.
    if request.method != Method::POST || query.is_some_and(|q| !q.is_empty()) {
        return silent(Rule::RMethod);
    }
    let urlencoded =
        media_type(request.headers).is_some_and(|m| m.eq_ignore_ascii_case(FORM_URLENCODED));
    let body = match request.body {
        Body::Complete(body) if urlencoded => body,
        _ => return silent(Rule::RBody),
    };
    let owned;
    let pairs = match read {
        Some(pairs) => pairs,
        None => {
            owned = raw_pairs(body);
            &owned[..]
        }
    };
    let plain = |name: &str| -> Vec<&RawPair> {
        pairs.iter().filter(|p| p.key == name.as_bytes()).collect()
    };
    let array = |name: &str| pairs.iter().any(|p| is_array_key(&p.key, name.as_bytes()));

    // D-ACTION: a missing or unknown action is AMP002.
    let actions = plain(ACTION_PARAM);
    if array(ACTION_PARAM) || actions.len() > 1 {
        return silent(Rule::RDuplicate);
    }
    match actions.first() {
        None => {
            return Verdict::Demands {
                demand: Demand::Error(ErrorCode::InvalidAction),
                rule: Rule::DAction,
            };
        }
        Some(action) if action.value == A::NAME.as_bytes() => {}
        Some(action) => {
            // The page itself spells it `Create` once; any value a lenient reading takes for
            // the action (case, padding) is R-ACTION's to decide.
            let text = String::from_utf8_lossy(&action.value);
            if php_trim(&text).eq_ignore_ascii_case(A::NAME) {
                return silent(Rule::RAction);
            }
            return Verdict::Demands {
                demand: Demand::Error(ErrorCode::InvalidAction),
                rule: Rule::DAction,
            };
        }
    }

    // D-REQUIRED: a required parameter not sent at all is AMP003, whatever else is wrong.
    let missing = A::FIELDS
        .iter()
        .any(|f| f.required() && plain(f.name).is_empty() && !array(f.name));
    if missing {
        return Verdict::Demands {
            demand: Demand::Error(ErrorCode::MissingParameters),
            rule: Rule::DRequired,
        };
    }

    // Every value must be one the page documents; otherwise the reference rules decide.
    let mut reasons = Reasons::default();
    let mut optional_sent = false;
    for meta in A::FIELDS {
        let sent = plain(meta.name);
        if array(meta.name) || sent.len() > 1 {
            reasons.add(Rule::RDuplicate);
            continue;
        }
        let Some(pair) = sent.first() else { continue };
        optional_sent |= !meta.required();
        let Ok(value) = std::str::from_utf8(&pair.value) else {
            reasons.add(Rule::RUtf8);
            continue;
        };
        if !pair.clean {
            reasons.add(Rule::RUtf8);
        } else if php_trim(value).is_empty() {
            reasons.add(Rule::REmpty);
        } else if !documented_value(meta, value, services) {
            reasons.add(meta.contract_rule.unwrap_or(Rule::DSuccess));
        }
    }
    let known = |key: &[u8]| {
        key == ACTION_PARAM.as_bytes() || A::FIELDS.iter().any(|f| f.name.as_bytes() == key)
    };
    if pairs.iter().any(|p| !known(&p.key)) {
        // D-SUCCESS asks for "nothing else"; unknown parameters are R-DUPLICATE's.
        reasons.add(Rule::RDuplicate);
    }
    if reasons.0.is_empty() {
        Verdict::Demands {
            demand: Demand::Success,
            rule: if optional_sent {
                Rule::DOptionals
            } else {
                Rule::DSuccess
            },
        }
    } else {
        Verdict::Silent {
            rules: reasons.0,
            authenticated: true,
        }
    }
}

/// Whether the page documents `value` for the parameter `name` of `create` on its own: the
/// per-value half of [`answer`] (no service state: a lookup field's value is taken to exist).
///
/// ```
/// use amp_contract::documented::is_documented_value;
/// assert!(is_documented_value("allow_unsuspend", "true"));
/// assert!(!is_documented_value("allow_unsuspend", "yes")); // R-BOOL only
/// assert!(!is_documented_value("category", " Spam")); // R-CATEGORY trims it
/// assert!(is_documented_value("admin_notes", " padded ")); // R-TEXT stores it as sent
/// ```
pub fn is_documented_value(name: &str, value: &str) -> bool {
    let everything = |_: u32| Some(DedicatedIp::None);
    CreateAbuseReport::field(name).is_some_and(|meta| documented_value(meta, value, &everything))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::envelope::{ApiIds, DedicatedIp};
    use http::HeaderMap;

    fn ask(method: Method, headers: &[(&str, &str)], query: Option<&str>, body: &[u8]) -> Verdict {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let services = |id: u32| match id {
            1 => Some(DedicatedIp::None),
            2 => Some(DedicatedIp::Address("192.0.2.1".parse().unwrap())),
            _ => None,
        };
        let request = Request {
            method: &method,
            headers: &map,
            body: Body::Complete(body),
        };
        answer(&request, query, &ApiIds::new(["k"]), &services)
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    fn post(body: &[u8]) -> Verdict {
        ask(Method::POST, &[("API_ID", "k"), FORM], None, body)
    }

    fn silent(rules: &[&str]) -> Verdict {
        Verdict::Silent {
            rules: rules.iter().map(|r| r.parse().unwrap()).collect(),
            authenticated: rules != ["R-AUTH"],
        }
    }

    const AMP001: Verdict = Verdict::Demands {
        demand: Demand::Error(ErrorCode::Unauthorized),
        rule: Rule::DAuth,
    };

    #[test]
    fn d_auth_whatever_else_the_request_contains() {
        assert_eq!(ask(Method::GET, &[], Some("action=create"), b""), AMP001);
        assert_eq!(ask(Method::POST, &[("api_id", "")], None, b""), AMP001);
        assert_eq!(
            ask(Method::PUT, &[("Api_Id", "nope"), FORM], None, b"x"),
            AMP001
        );
        assert_eq!(
            ask(Method::POST, &[("api_id", "k"), ("api_id", "k")], None, b""),
            silent(&["R-AUTH"])
        );
        assert_eq!(
            ask(Method::POST, &[("api-id", "k")], None, b""),
            silent(&["R-AUTH"])
        );
    }

    #[test]
    fn channel_other_than_a_form_post_is_silent() {
        let body = b"action=create&service_id=1&category=Spam";
        assert_eq!(
            ask(Method::GET, &[("API_ID", "k"), FORM], None, body),
            silent(&["R-METHOD"])
        );
        assert_eq!(
            ask(Method::POST, &[("API_ID", "k"), FORM], Some("a=b"), body),
            silent(&["R-METHOD"])
        );
        assert_eq!(
            ask(Method::POST, &[("API_ID", "k")], None, body),
            silent(&["R-BODY"])
        );
    }

    #[test]
    fn d_action_and_d_required_even_with_reference_only_values() {
        let amp002 = Verdict::Demands {
            demand: Demand::Error(ErrorCode::InvalidAction),
            rule: Rule::DAction,
        };
        assert_eq!(post(b"service_id=1&category=%zz"), amp002);
        assert_eq!(post(b"action=delete"), amp002);
        assert_eq!(post(b"action=Create"), silent(&["R-ACTION"]));
        assert_eq!(post(b"action=+create"), silent(&["R-ACTION"]));
        assert_eq!(
            post(b"action=create&category=Spam&allow_unsuspend=on"),
            Verdict::Demands {
                demand: Demand::Error(ErrorCode::MissingParameters),
                rule: Rule::DRequired,
            }
        );
        assert_eq!(
            post(b"action=create&service_id=1&category="),
            silent(&["R-EMPTY"])
        );
    }

    #[test]
    fn documented_values_demand_success() {
        let ok = |rule| Verdict::Demands {
            demand: Demand::Success,
            rule,
        };
        assert_eq!(
            post(b"action=create&service_id=2&category=0"),
            ok(Rule::DSuccess)
        );
        let long = format!(
            "action=create&service_id=1&category=Spam&admin_notes={}",
            "%C3%A9".repeat(255)
        );
        assert_eq!(post(long.as_bytes()), ok(Rule::DOptionals));
        for value in ["1", "0", "true", "false"] {
            let body = format!("action=create&service_id=1&category=x&allow_unsuspend={value}");
            assert_eq!(post(body.as_bytes()), ok(Rule::DOptionals), "{value}");
        }
        assert_eq!(
            post(
                b"action=create&service_id=1&category=x&service_ip=2001:DB8::1&additional_info=+a+"
            ),
            ok(Rule::DOptionals)
        );
    }

    #[test]
    fn reference_only_values_name_their_rules() {
        let cases: [(&[u8], &[&str]); 10] = [
            (b"&allow_unsuspend=on", &["R-BOOL"]),
            (b"&allow_unsuspend=TRUE", &["R-BOOL"]),
            (b"&suspend_method=suspend", &["R-SUSPEND"]),
            (b"&service_ip=+192.0.2.1", &["R-SERVICE-IP"]),
            (b"&service_ip=010.0.0.1", &["R-SERVICE-IP"]),
            (b"&category=x", &["R-DUPLICATE"]),
            (b"&admin_notes=%FF", &["R-UTF8"]),
            (b"&admin_notes=100%+sure", &["R-UTF8"]),
            (b"&extra=1", &["R-DUPLICATE"]),
            (
                b"&admin_notes=a%0Db&allow_unsuspend=yes",
                &["R-BOOL", "R-TEXT"],
            ),
        ];
        for (tail, rules) in cases {
            let body = [b"action=create&service_id=1&category=Spam".as_slice(), tail].concat();
            assert_eq!(
                post(&body),
                silent(rules),
                "{}",
                String::from_utf8_lossy(tail)
            );
        }
        assert_eq!(
            post(b"action=create&service_id=1&category=+Spam"),
            silent(&["R-CATEGORY"])
        );
        assert_eq!(
            post(b"action=create&service_id=01&category=Spam"),
            silent(&["R-SERVICE-ID"])
        );
        assert_eq!(
            post(b"action=create&service_id=9&category=Spam"),
            silent(&["R-SERVICE-ID"])
        );
        let long = format!(
            "action=create&service_id=1&category=Spam&admin_notes={}",
            "a".repeat(256)
        );
        assert_eq!(post(long.as_bytes()), silent(&["R-TEXT"]));
    }
}
