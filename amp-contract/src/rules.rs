//! The rule catalogue of CONTRACT.md, typed: every id that checks, fixtures, field metadata,
//! errors and reports cite is a [`Rule`] (defined once, in `rules_table.rs`, which the derive
//! shares so that a misspelt `#[amp(rule = "...")]` does not compile).
//!
//! ```
//! use amp_contract::rules::{Layer, Rule};
//! let rule: Rule = "R-SERVICE-ID".parse().unwrap();
//! assert_eq!(rule, Rule::RServiceId);
//! assert_eq!(rule.layer(), Layer::Reference);
//! assert_eq!(Rule::DRequired.to_string(), "D-REQUIRED");
//! assert_eq!(serde_json::to_string(&Rule::DAuth).unwrap(), r#""D-AUTH""#);
//! assert!("R-SERVCE-ID".parse::<Rule>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::rules_table::{Layer, RULES, Rule, in_contract_namespace};

/// The layer of a rule id: `D-…` documented, anything else reference (ids of other APIs
/// included, which can only be reported as deviations).
pub fn layer(rule: &str) -> Layer {
    match Rule::from_id(rule) {
        Some(rule) => rule.layer(),
        None if rule.starts_with("D-") => Layer::Documented,
        None => Layer::Reference,
    }
}

/// Whether `rule` is a rule id of CONTRACT.md.
pub fn is_known(rule: &str) -> bool {
    Rule::from_id(rule).is_some()
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A string that is no rule id of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule id `{0}` (CONTRACT.md names D-AUTH … R-IDS)")]
pub struct UnknownRule(pub String);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_layers_follow_the_prefix() {
        for (i, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(Rule::from_id(rule.id()), Some(*rule));
            assert_eq!(RULES[i], (rule.id(), rule.title()));
            let documented = rule.id().starts_with("D-");
            assert_eq!(rule.layer() == Layer::Documented, documented, "{rule}");
            assert!(in_contract_namespace(rule.id()));
        }
        assert_eq!(layer("X-TICKET"), Layer::Reference);
        assert!(!is_known("X-TICKET"));
    }
}
