//! Fields of an action: the metadata the derive records about each parameter
//! ([`FieldMeta`]), the value types and how they parse ([`AmpValue`], [`AmpField`]), and the
//! value rules they share with the derive's compile-time checks ([`php_trim`],
//! [`BOOLEAN_TRUE`], ...).
//!
//! This module only gathers them: the metadata, the value types and the value rules each live
//! in a module of their own, which depend on one another in one direction only.

pub use crate::meta::{ACTION_PARAM, FieldMeta, Kind, Limits, Presence, Visibility};
pub use crate::value::{AmpField, AmpValue, UnknownSpelling};
pub use crate::value_rules::{
    BOOLEAN_FALSE, BOOLEAN_TRUE, IntegerError, TextError, allowed_contains, boolean_spellings,
    check_text, is_blank, is_php_space, parse_bool, parse_canonical_integer, parse_ip, php_trim,
};
