//! The executable contract of the Abuse Manager Pro API (`create` action).
//!
//! The action is declared once, in [`CreateAbuseReport`], with `#[derive(AmpAction)]`: its
//! parsing (PHP semantics), validation, defaults, AMP error mapping, `http_build_query`
//! serialisation, field metadata ([`Action::FIELDS`]) and, behind the `proptest` feature, the
//! strategies for valid and invalid requests, and the record a server stores
//! ([`ResolvedCreate`], compared field by field by [`stored::compare`]) all come from that one
//! definition. The [`envelope`] adds authentication, the body limit and action dispatch in the
//! order of R-ORDER, over one action or a set of them ([`envelope::ActionSet`]). Rule ids such
//! as `R-SUSPEND` are [`Rule`]s of the catalogue in [`rules`], the project's CONTRACT.md typed.
//!
//! Modules depend on one another in one direction: the rule catalogue and the value rules
//! first, then field metadata, errors, value types, stored records, actions, `create`, the
//! envelope, and what builds on it (`documented`, `axum`, `client`, `strategy`).
//!
//! ```
//! use amp_contract::{Action, CreateAbuseReport, ErrorCode, form::FormPairs};
//!
//! let form = FormPairs::from_urlencoded(b"action=create&category=Spam&suspend_method=suspend");
//! let err = CreateAbuseReport::from_form(&form).unwrap_err().into_error();
//! assert_eq!(err.code, ErrorCode::MissingParameters);
//! assert_eq!(err.params, ["service_id", "suspend_method"]); // table order (R-ORDER)
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as amp_contract;

pub mod action;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod create;
pub mod documented;
pub mod envelope;
pub mod error;
pub mod field;
pub mod form;
/// The invariants the fuzz targets check (see `amp-contract/fuzz/`).
#[doc(hidden)]
pub mod fuzzing;
mod meta;
pub mod response;
pub mod rules;
use amp_rules::rules_table;
mod runtime;
pub mod stored;
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub mod strategy;
mod value;
use amp_rules::value_rules;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod wire;

pub use action::{Action, AssumeExists, Lookup};
pub use amp_macros::{AmpAction, AmpEnum};
pub use create::{CreateAbuseReport, SuspendMethod};
pub use error::{AmpError, ErrorCode, Problem, Violation, Violations};
pub use response::{ApiResponse, NO_DEDICATED_IP, ReportRecord, ResolvedCreate};
pub use rules::Rule;

/// What generated code calls: the derive's runtime. Not a public API (like serde's
/// `__private`): it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::*;
}
