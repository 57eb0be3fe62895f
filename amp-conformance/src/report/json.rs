//! The JSON report: the whole [`RunReport`] with every check, the findings (the checks grouped
//! by root cause) and the `--known-failures` entries that matched nothing.

use serde::Serialize;

use super::RunReport;
use super::findings::Finding;

#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    /// The seed as text: a JSON number above 2^53 is read as another number by `jq` and
    /// JavaScript, and a replay with it would plan other cases.
    seed_string: String,
    findings: Vec<Finding>,
}

/// Renders the report as pretty JSON.
pub fn render(report: &RunReport) -> String {
    let json = Json {
        report,
        seed_string: report.seed.to_string(),
        findings: report.findings(),
    };
    serde_json::to_string_pretty(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
