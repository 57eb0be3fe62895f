//! Derive macros for the Abuse Manager Pro contract kit.
//!
//! `#[derive(AmpAction)]` turns a struct whose fields read like the parameter table of an API
//! action into its parser, validator, defaults, AMP error mapping, `http_build_query`
//! serialisation, field metadata and proptest strategies (through `amp_contract`'s runtime).
//! `#[derive(AmpEnum)]` gives a fieldless enum its wire spellings.
//!
//! The pipeline is syntax (`attr`) → model (`model`) → checks (`check`) → code
//! (`expand`); every attribute error is collected (`ctxt`) and reported at once, beside a
//! stub implementation so that the user sees the real mistake and not a cascade.
//!
//! ```
//! use amp_contract::{Action, AmpAction, form::FormPairs};
//!
//! /// Closes a ticket.
//! #[derive(Debug, Clone, PartialEq, AmpAction)]
//! #[amp(action = "close")]
//! struct CloseTicket {
//!     /// The ticket.
//!     #[amp(integer, required, min = 1, rule = "X-TICKET")]
//!     ticket_id: u32,
//!     /// Why.
//!     #[amp(text, default = "", max_chars = 100, rule = "X-REASON")]
//!     reason: String,
//! }
//!
//! let form = FormPairs::from_urlencoded(b"action=close&ticket_id=7");
//! let close = CloseTicket::from_form(&form).unwrap();
//! assert_eq!(close, CloseTicket { ticket_id: 7, reason: String::new() });
//! assert_eq!(close.to_body(), "action=close&ticket_id=7");
//! ```

mod attr;
mod check;
mod ctxt;
mod enumeration;
mod expand;
mod model;
mod record;

// The rule catalogue and the value rules amp-contract uses too: the derive checks rule ids
// and defaults with exactly the runtime's definitions.
use amp_rules::{rules_table, value_rules};

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `amp_contract::Action` (and its proptest strategies when `amp_contract` has its
/// `proptest` feature) from `#[amp(...)]` attributes.
///
/// Struct attributes: `#[amp(action = "create")]`, and optionally `stored = "ResolvedCreate"`
/// to generate the typed record a server stores (see below).
///
/// Field attributes, inside one or more `#[amp(...)]`:
///
/// | attribute | meaning |
/// |---|---|
/// | `text`, `integer`, `boolean`, `ip`, `enumeration` | the value kind (exactly one) |
/// | `required` / `optional` / `default = "wire"` / `resolved_default = "what"` | presence (exactly one) |
/// | `name = "wire_name"` | wire name (default: the field's name) |
/// | `max_chars = N`, `max_bytes = N` | text limits |
/// | `min = N`, `max = N` | integer limits |
/// | `trim` | trim R-EMPTY's whitespace before parsing |
/// | `lookup` | the caller's lookup must know a well-formed value |
/// | `visibility = "customer" \| "admin"` | who sees the stored value (default customer) |
/// | `rule = "R-..."` | a rule id the field enforces (at least one; the first governs its values) |
///
/// A rule id in the contract's namespaces (`D-…`, `R-…`) must be one of
/// `amp_contract::rules::Rule`: a misspelt one does not compile. An action of another API
/// names its own rules with another prefix (`X-TICKET`), checked for shape only.
///
/// Besides `amp_contract::Action`, the derive generates what a server stores
/// (`Action::resolve`): the generic `amp_contract::stored::StoredRecord`, or with
/// `stored = "Name"` a struct `Name` with one field per parameter (a `resolved_default` field
/// as its stored text), serialisable as an observer's JSON and comparable field by field
/// (`amp_contract::stored::Record`).
#[proc_macro_derive(AmpAction, attributes(amp))]
pub fn derive_amp_action(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::action(&input).into()
}

/// Derives `amp_contract::field::AmpValue` for a fieldless enum: each variant's wire spelling
/// is its name in lower case, or `#[amp(rename = "...")]`.
#[proc_macro_derive(AmpEnum, attributes(amp))]
pub fn derive_amp_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enumeration::expand(&input).into()
}
