//! The rule catalogue and the value rules of the Abuse Manager Pro contract kit, shared by
//! [`amp-contract`](https://docs.rs/amp-contract) and its derive,
//! [`amp-macros`](https://docs.rs/amp-macros).
//!
//! A proc-macro crate can export nothing but macros, so the definitions both need live here,
//! once: the derive checks `#[amp(rule = "...")]` ids and declared defaults with exactly the
//! runtime's definitions. Use them through `amp_contract` (`amp_contract::rules`,
//! `amp_contract::field`); this crate's API follows theirs.

pub mod rules_table;
pub mod value_rules;
