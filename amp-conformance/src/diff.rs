//! Diff of two implementations: the same planned requests sent to both, every difference in
//! outcome reported side by side (success or AMP code, the parameters an AMP003 names, HTTP
//! status, media type), each classified by the rule that decides it. For a team porting or
//! upgrading the add-on, this is the migration check. Either side may be the embedded
//! reference server; the safety rules of CONTRACT.md §6 apply to each side as to a run.

use std::fmt;

use futures_util::StreamExt;

use crate::config::RunConfig;
use crate::judge::{self, Answer, Class};
use crate::plan::{Batch, Ready, prepare};
use crate::runner::RunError;
use crate::session::Session;
use crate::target::{HttpAnswer, TransportError};

pub use crate::session::Side;

/// What one answer comes to, for comparison: the parts an implementation must agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `success`, `AMP003 naming category, service_ip`, or what came instead of JSON.
    pub answer: String,
    /// HTTP status.
    pub status: Option<u16>,
    /// Media type, without parameters.
    pub media_type: Option<String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status} ")?,
            None => f.write_str("no answer: ")?,
        }
        f.write_str(&self.answer)?;
        if let Some(media) = &self.media_type {
            write!(f, " ({media})")?;
        }
        Ok(())
    }
}

/// The outcome of one exchange; `params` are the parameters the case expects an AMP003 to
/// name (whether each side names them is part of the outcome).
pub fn outcome(answer: &Result<HttpAnswer, TransportError>, params: &[String]) -> Outcome {
    match answer {
        Err(e) => Outcome {
            answer: e.to_string(),
            status: None,
            media_type: None,
        },
        Ok(http) => {
            let answer = match judge::parse_answer(&http.body) {
                Ok(Answer::Success(_)) => "success".to_owned(),
                Ok(Answer::Error(code, description)) => {
                    let named: Vec<&str> = params
                        .iter()
                        .map(String::as_str)
                        .filter(|p| judge::names(&description, p).is_some())
                        .collect();
                    if named.is_empty() {
                        code.to_string()
                    } else {
                        format!("{code} naming {}", named.join(", "))
                    }
                }
                Err((_, what)) => what,
            };
            Outcome {
                answer,
                status: Some(http.status),
                media_type: http.content_type.as_deref().map(|ct| {
                    ct.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                }),
            }
        }
    }
}

/// One request the two sides answered differently.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The check.
    pub check: String,
    /// The rule that decides it: that of the side that breaks the contract (both, if both do,
    /// joined by ` / `), or the case's own when neither breaks it.
    pub rule: String,
    /// The class the contract gives each side's answer.
    pub classes: (Class, Class),
    /// Side A's outcome.
    pub a: Outcome,
    /// Side B's outcome.
    pub b: Outcome,
}

/// The result of a diff.
#[derive(Debug, Clone)]
pub struct DiffReport {
    /// How many requests both sides were sent.
    pub compared: usize,
    /// How many were not sent (the reason is the safety rule's).
    pub skipped: usize,
    /// The differences, in case order.
    pub differences: Vec<Difference>,
    /// Reports a side created although the diff was read-only (CONTRACT.md §6): check id,
    /// side (`A` or `B`) and report id. Said first; the diff fails.
    pub read_only_creates: Vec<(String, char, u64)>,
    /// The run id to purge by.
    pub run_id: String,
}

impl DiffReport {
    /// The report as text: one block per difference, the two answers side by side.
    pub fn render(&self, a: &str, b: &str) -> String {
        let mut out = String::new();
        if !self.read_only_creates.is_empty() {
            let list: Vec<String> = self
                .read_only_creates
                .iter()
                .map(|(check, side, id)| format!("{side}: report {id} by {check}"))
                .collect();
            out.push_str(&format!(
                "FAIL       THIS READ-ONLY DIFF CREATED {} REPORT(S) ({}). Purge them: search \
                 admin_notes for `amp-conformance run {}`. CONTRACT.md §6.\n",
                list.len(),
                list.join("; "),
                self.run_id
            ));
        }
        for d in &self.differences {
            out.push_str(&format!(
                "DIFFERS    {} [{}]\n    A: {} [{}]\n    B: {} [{}]\n",
                d.check, d.rule, d.a, d.classes.0, d.b, d.classes.1
            ));
        }
        out.push_str(&format!(
            "A: {a}\nB: {b}\n{} requests compared, {} not sent, {} differ\n",
            self.compared,
            self.skipped,
            self.differences.len()
        ));
        out
    }
}

/// Sends the planned requests of `config` to both sides and compares the answers. The
/// session is a run's: the same key, services, safety flags and pacing per side.
pub async fn diff(config: RunConfig, a: Side, b: Side) -> Result<DiffReport, RunError> {
    let session = Session::open(&config, &[a, b]).await?;
    let result = compare_sides(&config, &session).await;
    session.close().await;
    result
}

async fn compare_sides(config: &RunConfig, session: &Session) -> Result<DiffReport, RunError> {
    let [target_a, target_b] = session.targets() else {
        return Err(RunError::Config("a diff needs two targets".to_owned()));
    };
    let mut plan = prepare(config, &session.cx, session.key.expose(), session.seed)?;
    let mut report = DiffReport {
        compared: 0,
        skipped: 0,
        differences: Vec::new(),
        read_only_creates: Vec::new(),
        run_id: session.run_id.clone(),
    };
    let read_only = !session.cx.may_write();
    while let Some(batch) = plan.next_batch() {
        let Batch { ready, skipped, .. } = batch?;
        report.skipped += skipped.len();
        let mut answered: Vec<(usize, Difference, bool, [Option<u64>; 2])> =
            futures_util::stream::iter(ready.into_iter().map(|(index, r)| {
                let profile = config.profile;
                async move {
                    let (answer_a, answer_b) =
                        tokio::join!(target_a.send(&r.wire), target_b.send(&r.wire));
                    let (d, differs, created) = compare(&r, &answer_a, &answer_b, profile);
                    (index, d, differs, created)
                }
            }))
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
        report.compared += answered.len();
        answered.sort_by_key(|(index, ..)| *index);
        for (_, d, differs, created) in answered {
            for (side, id) in ['A', 'B'].into_iter().zip(created) {
                if let (Some(id), true) = (id, read_only) {
                    report.read_only_creates.push((d.check.clone(), side, id));
                }
            }
            if differs {
                report.differences.push(d);
            }
        }
    }
    Ok(report)
}

fn compare(
    ready: &Ready,
    a: &Result<HttpAnswer, TransportError>,
    b: &Result<HttpAnswer, TransportError>,
    profile: judge::Profile,
) -> (Difference, bool, [Option<u64>; 2]) {
    let params: &[String] = match &ready.case.expect {
        crate::cases::Expectation::Error { params, .. } => params,
        _ => &[],
    };
    let (oa, ob) = (outcome(a, params), outcome(b, params));
    let va = judge::judge(&ready.case, &ready.documented, a, profile);
    let vb = judge::judge(&ready.case, &ready.documented, b, profile);
    let breaks = |class: Class| !matches!(class, Class::Pass | Class::Info);
    let rule = match (breaks(va.class), breaks(vb.class)) {
        (true, false) => va.rule.clone(),
        (false, true) => vb.rule.clone(),
        (true, true) if va.rule == vb.rule => va.rule.clone(),
        (true, true) => format!("{} / {}", va.rule, vb.rule),
        (false, false) => ready.case.rule().to_owned(),
    };
    let differs = oa != ob;
    let created = [va.report_id, vb.report_id];
    (
        Difference {
            check: ready.case.id.clone(),
            rule,
            classes: (va.class, vb.class),
            a: oa,
            b: ob,
        },
        differs,
        created,
    )
}
