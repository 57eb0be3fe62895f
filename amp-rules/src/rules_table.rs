//! The rule catalogue of CONTRACT.md, written once: every rule id, its layer and a one-line
//! title.
//!
//! It lives in this small crate because two crates need it: `amp_contract::rules` re-exports
//! it, and the `amp-macros` derive (a proc-macro crate, which can export nothing but macros)
//! rejects a misspelt `#[amp(rule = "...")]` at compile time. Add a rule here and both know it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whether a rule is the page's (documented) or this project's resolution (reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// CONTRACT.md §2: breaking it is a `FAIL`.
    Documented,
    /// CONTRACT.md §3: deviating is `NON-STRICT`.
    Reference,
}

macro_rules! catalogue {
    ($($variant:ident = $id:literal, $layer:ident, $title:literal;)*) => {
        /// A rule of CONTRACT.md: `D-…` documented (§2), `R-…` reference (§3).
        ///
        /// Its wire and report form is its id ([`Rule::id`]); the variant names are the ids in
        /// camel case.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $(
                #[doc = concat!("`", $id, "`: ", $title, ".")]
                $variant,
            )*
        }

        impl Rule {
            /// Every rule, in the order of CONTRACT.md.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The id as CONTRACT.md writes it, e.g. `R-SERVICE-ID`.
            pub const fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            /// The layer the rule belongs to.
            pub const fn layer(self) -> Layer {
                match self {
                    $(Rule::$variant => Layer::$layer,)*
                }
            }

            /// A one-line summary.
            pub const fn title(self) -> &'static str {
                match self {
                    $(Rule::$variant => $title,)*
                }
            }

            /// The variant's name, e.g. `RServiceId` (what generated code names).
            pub const fn variant_name(self) -> &'static str {
                match self {
                    $(Rule::$variant => stringify!($variant),)*
                }
            }
        }

        /// Every rule id with its one-line summary, in the order of CONTRACT.md.
        pub const RULES: &[(&str, &str)] = &[$(($id, $title)),*];
    };
}

catalogue! {
    DAuth = "D-AUTH", Documented,
        "missing, empty or invalid API_ID header is AMP001 and creates nothing";
    DAction = "D-ACTION", Documented,
        "missing or unknown action is AMP002 and creates nothing";
    DRequired = "D-REQUIRED", Documented,
        "create without service_id or category is AMP003 and creates nothing";
    DSuccess = "D-SUCCESS", Documented,
        "a valid create answers status success with an integer report_id >= 1";
    DErrorShape = "D-ERROR-SHAPE", Documented,
        "errors are JSON with status error, code AMPnnn and a description";
    DUnique = "D-UNIQUE", Documented,
        "two successful creates never share a report_id";
    DOptionals = "D-OPTIONALS", Documented,
        "documented values of optional parameters never turn a request into an error";
    DDefaults = "D-DEFAULTS", Documented,
        "omitted parameters are stored with their defaults, sent ones with their meaning";
    DNo5xx = "D-NO-5XX", Documented,
        "no well-framed request gets HTTP 5xx or a non-JSON body";
    RMethod = "R-METHOD", Reference,
        "parameters come from the POST body only";
    RBody = "R-BODY", Reference,
        "form and multipart bodies are read; over 1 MiB is HTTP 413 with AMP003";
    RDuplicate = "R-DUPLICATE", Reference,
        "the last occurrence of a key wins; array syntax is invalid";
    RUtf8 = "R-UTF8", Reference,
        "values must be UTF-8; invalid escapes are kept literally; + is a space";
    RStatus = "R-STATUS", Reference,
        "every AMP answer is HTTP 200 with Content-Type application/json";
    ROrder = "R-ORDER", Reference,
        "AMP001 before AMP002 before AMP003; AMP003 names every parameter in table order";
    RAuth = "R-AUTH", Reference,
        "header name case-insensitive; several API_ID headers are AMP001";
    RAction = "R-ACTION", Reference,
        "action is case-sensitive and untrimmed";
    REmpty = "R-EMPTY", Reference,
        "empty or whitespace-only parameters count as absent";
    RServiceId = "R-SERVICE-ID", Reference,
        "decimal 1..=2147483647 without sign or leading zero, of an existing service";
    RCategory = "R-CATEGORY", Reference,
        "at most 255 characters after trimming, stored trimmed, no NUL";
    RServiceIp = "R-SERVICE-IP", Reference,
        "IPv4 dotted quad or IPv6 without zone, stored canonical";
    RSuspend = "R-SUSPEND", Reference,
        "exactly nosuspend, immediate or timelimit";
    RBool = "R-BOOL", Reference,
        "allow_unsuspend as PHP's FILTER_VALIDATE_BOOLEAN reads it";
    RText = "R-TEXT", Reference,
        "notes at most 65535 bytes, stored exactly as sent, no NUL";
    RIds = "R-IDS", Reference,
        "report ids increase strictly within one server's life";
}

impl Rule {
    /// The rule with this id (exact, case-sensitive), if the catalogue has one.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.id() == id)
    }
}

/// Whether `id` lies in the contract's own namespaces (`D-…`, `R-…`), where only catalogue ids
/// exist. Other prefixes name the rules of another API's actions.
pub fn in_contract_namespace(id: &str) -> bool {
    id.starts_with("D-") || id.starts_with("R-")
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A string that is no rule id of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown rule id `{}` (CONTRACT.md names D-AUTH … R-IDS)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::from_id(s).ok_or_else(|| UnknownRule(s.to_owned()))
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl From<Rule> for &'static str {
    fn from(rule: Rule) -> Self {
        rule.id()
    }
}
