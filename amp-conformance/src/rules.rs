//! The rule ids of CONTRACT.md, with the layer each belongs to: the catalogue that fixtures,
//! checks and reports cite. Defined once, typed, in [`amp_contract::rules`]; re-exported here.

pub use amp_contract::rules::{Layer, RULES, Rule, UnknownRule, is_known, layer};
