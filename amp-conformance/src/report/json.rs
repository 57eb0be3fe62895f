//! The JSON report: the whole [`RunReport`], every check.

use super::RunReport;

/// Renders the report as pretty JSON.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
