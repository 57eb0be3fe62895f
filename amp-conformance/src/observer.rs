//! The observer (CONTRACT.md §5): reads a stored report back by id, through a URL template
//! sent with the same `API_ID`, or a command that prints it as JSON.

use std::sync::Mutex;
use std::time::Duration;

use amp_contract::ReportRecord;

use crate::report::diagnose::BodyKind;
use crate::target::Target;

/// What the observer's reads got in a run: how many were made, how many gave no report, and
/// the first that did not, with the URL requested and what came back (an observer URL with a
/// typo answers a 404 page or JSON that is not a report: the note shows both).
#[derive(Debug, Default)]
pub struct ObserverLog(Mutex<Reads>);

#[derive(Debug, Default)]
struct Reads {
    made: usize,
    unusable: usize,
    /// The URL requested, the HTTP status (none: no answer) and what came back.
    first: Option<(String, Option<u16>, String)>,
}

impl ObserverLog {
    fn record(&self, url: &str, failure: Option<(Option<u16>, String)>) {
        // A poisoned lock only loses an observation: the note is a help, not a verdict.
        if let Ok(mut reads) = self.0.lock() {
            reads.made += 1;
            if let Some((status, what)) = failure {
                reads.unusable += 1;
                if reads.first.is_none() {
                    reads.first = Some((url.to_owned(), status, what));
                }
            }
        }
    }

    /// The run-level note when most reads gave no report: the observer is unusable.
    pub(crate) fn note(&self) -> Option<String> {
        let reads = self.0.lock().ok()?;
        let (url, status, what) = reads.first.as_ref()?;
        if reads.unusable * 2 < reads.made {
            return None;
        }
        let answer = match status {
            Some(status) => format!("HTTP {status} with {what}"),
            None => what.clone(),
        };
        Some(format!(
            "the observer is unusable: {} of {} reads gave no stored report. The first requested \
             GET {url} and got {answer}. --observe-url must answer a stored report as JSON with \
             HTTP 200 ({{report_id}} is replaced by the id the create returned); check the URL \
             with curl -sS -H \"API_ID: $AMP_API_ID\" '{url}'. The stored-value checks \
             (D-DEFAULTS) are not judged without it.",
            reads.unusable, reads.made
        ))
    }
}

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
            let kind = BodyKind::of(&answer.body);
            let record = (answer.status == 200)
                .then(|| serde_json::from_slice::<ReportRecord>(&answer.body).ok())
                .flatten();
            return match record {
                Some(record) => {
                    log.record(&url, None);
                    Ok(record)
                }
                None => {
                    let what = kind.describe();
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
