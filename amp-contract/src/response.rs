//! The JSON answers of the API (CONTRACT.md §1) and the stored report an observer shows (§5);
//! the stored values themselves ([`ResolvedCreate`]) are generated from the `create` action.

use serde::{Deserialize, Serialize};

pub use crate::create::{NO_DEDICATED_IP, ResolvedCreate};
use crate::error::{AmpError, ErrorCode};

/// An answer of the API, with its exact wire shape.
///
/// ```
/// use amp_contract::{ApiResponse, ErrorCode};
/// let ok = ApiResponse::Success { report_id: 92 };
/// assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"status":"success","report_id":92}"#);
///
/// let err: ApiResponse = serde_json::from_str(
///     r#"{"status":"error","error_code":"AMP009","error_description":"Missing required parameters."}"#,
/// ).unwrap();
/// assert!(matches!(err, ApiResponse::Error { error_code: ErrorCode::Other(9), .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ApiResponse {
    /// `{"status":"success","report_id":92}` (D-SUCCESS).
    Success {
        /// The new report's id, ≥ 1.
        report_id: u64,
    },
    /// `{"status":"error","error_code":"AMP003","error_description":"…"}` (D-ERROR-SHAPE).
    Error {
        /// The AMP code.
        error_code: ErrorCode,
        /// What went wrong, naming the offending parameters.
        error_description: String,
    },
}

impl From<&AmpError> for ApiResponse {
    fn from(err: &AmpError) -> Self {
        Self::Error {
            error_code: err.code,
            error_description: err.description.clone(),
        }
    }
}

impl ApiResponse {
    /// The JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        // Serialising these two shapes cannot fail: every key is a string and no map is used.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"status":"error"}"#))
    }
}

/// A stored report as an observer shows it (CONTRACT.md §5).
///
/// ```
/// use amp_contract::ReportRecord;
/// let json = r#"{"report_id":3,"service_id":1,"category":"Spam","service_ip":"203.0.113.10",
///   "suspend_method":"nosuspend","allow_unsuspend":false,"additional_info":"","admin_notes":""}"#;
/// let record: ReportRecord = serde_json::from_str(json).unwrap();
/// assert_eq!(record.values.category, "Spam");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The report's id.
    pub report_id: u64,
    /// Its stored values.
    #[serde(flatten)]
    pub values: ResolvedCreate,
}
