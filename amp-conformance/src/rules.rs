//! The rule ids of CONTRACT.md, with the layer each belongs to: the catalogue that fixtures,
//! checks and reports cite.

/// Whether a rule is the page's (documented) or this project's resolution (reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// CONTRACT.md §2: breaking it is a `FAIL`.
    Documented,
    /// CONTRACT.md §3: deviating is `NON-STRICT`.
    Reference,
}

/// Every rule id, with a one-line summary.
pub const RULES: &[(&str, &str)] = &[
    (
        "D-AUTH",
        "missing, empty or invalid API_ID header is AMP001 and creates nothing",
    ),
    (
        "D-ACTION",
        "missing or unknown action is AMP002 and creates nothing",
    ),
    (
        "D-REQUIRED",
        "create without service_id or category is AMP003 and creates nothing",
    ),
    (
        "D-SUCCESS",
        "a valid create answers status success with an integer report_id >= 1",
    ),
    (
        "D-ERROR-SHAPE",
        "errors are JSON with status error, code AMPnnn and a description",
    ),
    ("D-UNIQUE", "two successful creates never share a report_id"),
    (
        "D-OPTIONALS",
        "documented values of optional parameters never turn a request into an error",
    ),
    (
        "D-DEFAULTS",
        "omitted parameters are stored with their defaults, sent ones with their meaning",
    ),
    (
        "D-NO-5XX",
        "no well-framed request gets HTTP 5xx or a non-JSON body",
    ),
    ("R-METHOD", "parameters come from the POST body only"),
    (
        "R-BODY",
        "form and multipart bodies are read; over 1 MiB is HTTP 413 with AMP003",
    ),
    (
        "R-DUPLICATE",
        "the last occurrence of a key wins; array syntax is invalid",
    ),
    (
        "R-UTF8",
        "values must be UTF-8; invalid escapes are kept literally; + is a space",
    ),
    (
        "R-STATUS",
        "every AMP answer is HTTP 200 with Content-Type application/json",
    ),
    (
        "R-ORDER",
        "AMP001 before AMP002 before AMP003; AMP003 names every parameter in table order",
    ),
    (
        "R-AUTH",
        "header name case-insensitive; several API_ID headers are AMP001",
    ),
    ("R-ACTION", "action is case-sensitive and untrimmed"),
    (
        "R-EMPTY",
        "empty or whitespace-only parameters count as absent",
    ),
    (
        "R-SERVICE-ID",
        "decimal 1..=2147483647 without sign or leading zero, of an existing service",
    ),
    (
        "R-CATEGORY",
        "at most 255 characters after trimming, stored trimmed, no NUL",
    ),
    (
        "R-SERVICE-IP",
        "IPv4 dotted quad or IPv6 without zone, stored canonical",
    ),
    ("R-SUSPEND", "exactly nosuspend, immediate or timelimit"),
    (
        "R-BOOL",
        "allow_unsuspend as PHP's FILTER_VALIDATE_BOOLEAN reads it",
    ),
    (
        "R-TEXT",
        "notes at most 65535 bytes, stored exactly as sent, no NUL",
    ),
    (
        "R-IDS",
        "report ids increase strictly within one server's life",
    ),
];

/// The layer of a rule id (`D-…` documented, anything else reference).
pub fn layer(rule: &str) -> Layer {
    if rule.starts_with("D-") {
        Layer::Documented
    } else {
        Layer::Reference
    }
}

/// Whether `rule` is a rule id of CONTRACT.md.
pub fn is_known(rule: &str) -> bool {
    RULES.iter().any(|(id, _)| *id == rule)
}
