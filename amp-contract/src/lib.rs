//! The executable contract of the Abuse Manager Pro API (`create` action).
//!
//! The action is declared once, in [`CreateAbuseReport`], with `#[derive(AmpAction)]`: its
//! parsing (PHP semantics), validation, defaults, AMP error mapping, `http_build_query`
//! serialisation, field metadata ([`Action::FIELDS`]) and, behind the `proptest` feature, the
//! strategies for valid and invalid requests all come from that one definition. The
//! [`envelope`] adds authentication, the body limit and action dispatch in the order of
//! R-ORDER. Rule ids such as `R-SUSPEND` refer to the project's CONTRACT.md.
//!
//! ```
//! use amp_contract::{Action, CreateAbuseReport, ErrorCode, form::FormPairs};
//!
//! let form = FormPairs::from_urlencoded(b"action=create&category=Spam&suspend_method=suspend");
//! let err = CreateAbuseReport::from_form(&form).unwrap_err().into_error();
//! assert_eq!(err.code, ErrorCode::MissingParameters);
//! assert_eq!(err.params, ["service_id", "suspend_method"]); // table order (R-ORDER)
//! ```

extern crate self as amp_contract;

pub mod action;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "client")]
pub mod client;
pub mod create;
pub mod documented;
pub mod envelope;
pub mod error;
pub mod field;
pub mod form;
pub mod response;
#[cfg(feature = "proptest")]
pub mod strategy;

pub use action::{Action, AssumeExists, Lookup};
pub use amp_macros::{AmpAction, AmpEnum};
pub use create::{CreateAbuseReport, SuspendMethod};
pub use error::{AmpError, ErrorCode, Problem, Violation, Violations};
pub use response::{ApiResponse, NO_DEDICATED_IP, ReportRecord, ResolvedCreate};

/// Emits its input only when this crate's `proptest` feature is on. The derive wraps the
/// strategy impl in it, since a `cfg` written by a proc macro would test the user's features.
#[cfg(feature = "proptest")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_proptest {
    ($($item:item)*) => { $($item)* };
}

/// Emits nothing: this crate's `proptest` feature is off.
#[cfg(not(feature = "proptest"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_proptest {
    ($($item:item)*) => {};
}
