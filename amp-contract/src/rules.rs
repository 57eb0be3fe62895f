//! The rule catalogue of CONTRACT.md, typed: every id that checks, fixtures, field metadata,
//! errors and reports cite is a [`Rule`] (defined once, in the `amp-rules` crate, which the derive
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

pub use crate::rules_table::{Layer, RULES, Rule, UnknownRule, in_contract_namespace};

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
