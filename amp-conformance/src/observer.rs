//! The observer (CONTRACT.md §5): reads a stored report back by id, through a URL template
//! sent with the same `API_ID`, or a command that prints it as JSON.

use std::time::Duration;

use amp_contract::ReportRecord;

use crate::judge::AnswerBody;
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
            let log = target.observations();
            let answer = match target.observe(&url).await {
                Ok(answer) => answer,
                Err(e) => {
                    log.record(&url, Some((None, format!("no answer: {e}"))));
                    return Err(format!("observer GET {url}: {e}"));
                }
            };
            let record = (answer.status == 200)
                .then(|| serde_json::from_slice::<ReportRecord>(&answer.body).ok())
                .flatten();
            return match record {
                Some(record) => {
                    log.record(&url, None);
                    Ok(record)
                }
                None => {
                    // What came back is read only when it is not a report (a read's record
                    // holds texts up to 64 KiB: reading it three times was 3 % of a run).
                    let what = AnswerBody::of(&answer.body).describe();
                    log.record(&url, Some((Some(answer.status), what.clone())));
                    Err(format!(
                        "observer GET {url} answered HTTP {} with {what}, not a stored report",
                        answer.status
                    ))
                }
            };
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
