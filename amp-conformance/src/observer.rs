//! The observer (CONTRACT.md §5): reads a stored report back by id, through a URL template
//! sent with the same `API_ID`, or a command that prints it as JSON.

use std::time::Duration;

use amp_contract::ReportRecord;

use crate::target::Target;

/// Where D-DEFAULTS reads stored reports from (CONTRACT.md §5).
#[derive(Debug, Clone)]
pub enum Observer {
    /// A URL template with `{report_id}`, sent with the same `API_ID`.
    Url(String),
    /// A shell command with `{report_id}` that prints the report as JSON.
    Command(String),
}

pub(crate) async fn read_record(
    observer: &Observer,
    id: u64,
    target: &Target,
    timeout: Duration,
) -> Result<ReportRecord, String> {
    let body = match observer {
        Observer::Url(template) => {
            let url = template.replace("{report_id}", &id.to_string());
            let answer = target
                .observe(&url)
                .await
                .map_err(|e| format!("observer: {e}"))?;
            if answer.status != 200 {
                return Err(format!(
                    "observer answered HTTP {} for report {id}",
                    answer.status
                ));
            }
            answer.body
        }
        Observer::Command(command) => {
            let command = command.replace("{report_id}", &id.to_string());
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .env("AMP_API_ID", target.key().expose())
                .kill_on_drop(true)
                .output();
            let output = tokio::time::timeout(timeout, child)
                .await
                .map_err(|_| format!("observer command took longer than {timeout:?}"))?
                .map_err(|e| format!("observer command failed to start: {e}"))?;
            if !output.status.success() {
                return Err(format!("observer command exited with {}", output.status));
            }
            output.stdout
        }
    };
    serde_json::from_slice(&body).map_err(|e| format!("observer output is not a report: {e}"))
}
