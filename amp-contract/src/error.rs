//! AMP error codes, the problems a parameter can have, and the one error a request gets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::meta::{ACTION_PARAM, FieldMeta};
use crate::rules::Rule;
use crate::value_rules::boolean_spellings;

/// An AMP error code: the three the page documents, and any other `AMPnnn` preserved as sent.
///
/// ```
/// use amp_contract::ErrorCode;
/// let code: ErrorCode = "AMP009".parse().unwrap();
/// assert_eq!(code, ErrorCode::Other(9));
/// assert_eq!(code.to_string(), "AMP009");
/// assert_eq!(ErrorCode::MissingParameters.to_string(), "AMP003");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// `AMP001`: a valid `API_ID` header is missing (D-AUTH).
    Unauthorized,
    /// `AMP002`: the action is missing or invalid (D-ACTION).
    InvalidAction,
    /// `AMP003`: required parameters are missing, or a parameter is invalid (D-REQUIRED).
    MissingParameters,
    /// Any other `AMPnnn` (0..=999, not 1–3), such as the page's example `AMP009`.
    Other(u16),
}

impl ErrorCode {
    /// The numeric part, `1` for `AMP001`.
    pub fn number(self) -> u16 {
        match self {
            Self::Unauthorized => 1,
            Self::InvalidAction => 2,
            Self::MissingParameters => 3,
            Self::Other(n) => n,
        }
    }

    /// The code for a number in 0..=999.
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            1 => Some(Self::Unauthorized),
            2 => Some(Self::InvalidAction),
            3 => Some(Self::MissingParameters),
            0..=999 => Some(Self::Other(n)),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AMP{:03}", self.number())
    }
}

/// A string that is not `AMP` followed by exactly three digits (D-ERROR-SHAPE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an AMP error code (expected AMP followed by three digits, e.g. AMP003)")]
pub struct InvalidErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = InvalidErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix("AMP")
            .filter(|digits| digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok())
            .and_then(Self::from_number)
            .ok_or_else(|| InvalidErrorCode(s.to_owned()))
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What is wrong with one parameter. Each problem names the rule that it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not sent, empty, or only whitespace, while required (D-REQUIRED, R-EMPTY).
    Missing,
    /// The last occurrence used array syntax such as `name[]` (R-DUPLICATE).
    ArraySyntax,
    /// Not valid UTF-8 after percent-decoding (R-UTF8).
    InvalidUtf8,
    /// Contains a NUL character.
    ContainsNul,
    /// Longer than the limit, in characters after trimming.
    TooManyChars {
        /// The limit.
        max: usize,
    },
    /// Longer than the limit, in bytes of UTF-8.
    TooManyBytes {
        /// The limit.
        max: usize,
    },
    /// Not a canonical decimal integer (digits only, no sign, no leading zero).
    NotAnInteger,
    /// An integer outside the allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// Not one of the allowed values (case-sensitive).
    NotAllowed {
        /// The allowed spellings.
        allowed: &'static [&'static str],
    },
    /// Not a boolean as PHP's `FILTER_VALIDATE_BOOLEAN` reads one.
    NotABoolean,
    /// Not an IPv4 address in dotted-quad form or an IPv6 address without zone id.
    NotAnIpAddress,
    /// Well-formed, but the caller's lookup knows no such entity ("service not found").
    NotFound,
    /// A default declared on the field did not parse: a defect in the action's definition.
    BadDefault,
}

impl Problem {
    /// The rule id this problem breaks, for a field described by `meta`.
    pub fn rule(&self, meta: &FieldMeta) -> &'static str {
        match self {
            Self::Missing => Rule::DRequired.id(),
            Self::ArraySyntax => Rule::RDuplicate.id(),
            Self::InvalidUtf8 => Rule::RUtf8.id(),
            _ => meta.rule,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("missing"),
            Self::ArraySyntax => f.write_str("sent as an array"),
            Self::InvalidUtf8 => f.write_str("not valid UTF-8"),
            Self::ContainsNul => f.write_str("contains a NUL character"),
            Self::TooManyChars { max } => write!(f, "longer than {max} characters"),
            Self::TooManyBytes { max } => write!(f, "longer than {max} bytes"),
            Self::NotAnInteger => f.write_str("not a positive decimal integer"),
            Self::OutOfRange { min, max } => write!(f, "not in {min}..={max}"),
            Self::NotAllowed { allowed } => write!(f, "not one of {}", allowed.join(", ")),
            Self::NotABoolean => write!(f, "not a boolean ({})", boolean_spellings()),
            Self::NotAnIpAddress => f.write_str("not an IPv4 or IPv6 address"),
            Self::NotFound => f.write_str("not found"),
            Self::BadDefault => f.write_str("has a default that does not parse"),
        }
    }
}

/// One parameter and its problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, from the action's metadata.
    pub field: &'static FieldMeta,
    /// What is wrong with it.
    pub problem: Problem,
}

impl Violation {
    /// The rule id this violation breaks.
    pub fn rule(&self) -> &'static str {
        self.problem.rule(self.field)
    }
}

/// Every problem of one request's parameters, in the order of the action's table (R-ORDER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// No violation yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem of `field`.
    pub fn push(&mut self, field: &'static FieldMeta, problem: Problem) {
        self.0.push(Violation { field, problem });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Violation> {
        self.0.iter()
    }

    /// Wire names of the offending parameters, in table order.
    pub fn params(&self) -> Vec<&'static str> {
        self.0.iter().map(|v| v.field.name).collect()
    }

    /// Puts the violations in table order (stable, so a field keeps its first problem first).
    pub fn sort(&mut self) {
        self.0.sort_by_key(|v| v.field.index);
    }

    /// The AMP003 error naming every offending parameter in table order (R-ORDER).
    pub fn into_error(mut self) -> AmpError {
        self.sort();
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{} ({})", v.field.name, v.problem))
            .collect();
        AmpError {
            code: ErrorCode::MissingParameters,
            description: format!("Missing or invalid parameters: {}.", parts.join("; ")),
            params: self.params(),
        }
    }
}

/// The one AMP error a request gets: its code, its description and the parameters it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct AmpError {
    /// The AMP code.
    pub code: ErrorCode,
    /// The `error_description` sent on the wire.
    pub description: String,
    /// Wire names of the parameters the description names, in table order.
    pub params: Vec<&'static str>,
}

impl AmpError {
    /// AMP001: no valid `API_ID` header (D-AUTH, R-AUTH).
    pub fn unauthorized() -> Self {
        Self {
            code: ErrorCode::Unauthorized,
            description: "Unauthorized: a valid API_ID header is required.".to_owned(),
            params: Vec::new(),
        }
    }

    /// AMP002: the action is missing, or not one of `known` (D-ACTION, R-ACTION).
    pub fn invalid_action(sent: bool, known: &[&str]) -> Self {
        let what = if sent {
            "Invalid action"
        } else {
            "Missing action"
        };
        Self {
            code: ErrorCode::InvalidAction,
            description: format!("{what}: action must be one of: {}.", known.join(", ")),
            params: vec![ACTION_PARAM],
        }
    }

    /// AMP002 for a POST whose body was not read because of its content type (R-BODY): none,
    /// or one other than the two form types PHP reads into `$_POST`. The description names
    /// the type received and what to send instead, so that a client sending JSON (Python
    /// `requests.post(json=…)`, axios, httpie) learns why `action` went unseen.
    pub fn unread_body(content_type: Option<&str>, known: &[&str]) -> Self {
        let received = match content_type {
            Some(ct) => format!("its Content-Type is {}", shorten(ct, MAX_ECHOED_TYPE)),
            None => "it has no Content-Type".to_owned(),
        };
        Self {
            code: ErrorCode::InvalidAction,
            description: format!(
                "Missing action: nothing was read from the request body, because {received}; \
                 send the parameters as application/x-www-form-urlencoded (what PHP's \
                 http_build_query and curl with a string send) or multipart/form-data (curl \
                 with an array). action must be one of: {}.",
                known.join(", ")
            ),
            params: vec![ACTION_PARAM],
        }
    }

    /// AMP003 for a body over the limit, whose parameters cannot be read (R-BODY).
    pub fn body_too_large(limit: usize) -> Self {
        Self {
            code: ErrorCode::MissingParameters,
            description: format!(
                "Request body exceeds the limit of {limit} bytes; its parameters cannot be read."
            ),
            params: Vec::new(),
        }
    }
}

/// Longest content type echoed in a description, in characters: the header is the client's
/// text, and a description is not the place to repeat a long one.
const MAX_ECHOED_TYPE: usize = 100;

/// `text` cut to `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
