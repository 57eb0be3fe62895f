//! Diff of two implementations: the same planned requests sent to both, every difference in
//! outcome reported side by side (success or AMP code, the parameters an AMP003 names, HTTP
//! status, media type), each classified by the rule that decides it. For a team porting or
//! upgrading the add-on, this is the migration check. Either side may be the embedded
//! reference server; the safety rules of CONTRACT.md §6 apply to each side as to a run.

use std::fmt;

use crate::config::RunConfig;
use crate::config::RunError;
use crate::judge::{self, AmpAnswer, Class};
use crate::plan::{Batch, Ready};
use crate::send::{Sender, StopCause};
use crate::session::Session;
use crate::target::{HttpAnswer, TransportError};

use crate::config::Side;

/// What one answer comes to, for comparison: the parts an implementation must agree on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
                Ok(AmpAnswer::Success(_)) => "success".to_owned(),
                Ok(AmpAnswer::Error(code, description)) => {
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
                Err(body) => crate::report::render::not_amp(&body),
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
#[derive(Debug, Clone, serde::Serialize)]
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
#[derive(Debug, Clone, serde::Serialize)]
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
    /// The seed of the generated cases (`--seed` plans the same requests again).
    pub seed: u64,
    /// Why sending stopped before the end, if it did.
    pub stopped: Option<String>,
    /// The exit code the stop gives (CONTRACT.md §4): 2 configuration, 3 outage, 1 broken.
    #[serde(skip)]
    stop_code: Option<u8>,
    /// The signal that interrupted the diff.
    pub interrupted: Option<String>,
}

impl DiffReport {
    /// The exit code (as a run's, CONTRACT.md §4): 0 no difference, 1 differences or a
    /// success in a read-only diff, 2 a configuration the sides cannot be reached through,
    /// 3 an outage, 130/143 interrupted.
    pub fn exit_code(&self) -> u8 {
        match (&self.interrupted, self.stop_code) {
            (Some(signal), _) if signal == "SIGTERM" => 143,
            (Some(_), _) => 130,
            (None, Some(code)) => code,
            (None, None) if self.differences.is_empty() && self.read_only_creates.is_empty() => 0,
            (None, None) => 1,
        }
    }

    /// The differences as JSON, with the two sides named.
    pub fn to_json(&self, a: &str, b: &str) -> String {
        let value = serde_json::json!({
            "tool": format!("amp-conformance {}", env!("CARGO_PKG_VERSION")),
            "a": a,
            "b": b,
            "seed": self.seed.to_string(),
            "diff": self,
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }

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
        if let Some(stopped) = &self.stopped {
            out.push_str(&format!("STOPPED    {stopped}\n"));
        }
        if let Some(signal) = &self.interrupted {
            out.push_str(&format!(
                "INTERRUPTED by {signal}: the listing covers what both sides answered before\n"
            ));
        }
        out.push_str(&format!(
            "A: {a}\nB: {b}\nseed {}, run {}: {} requests compared, {} not sent, {} differ\n",
            self.seed,
            self.run_id,
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
    let mut plan = session.plan(config)?;
    // One sender per side, as a run has: the breaker, the interrupt, and progress (shown once).
    let quiet = RunConfig {
        progress: false,
        ..config.clone()
    };
    let (sender_a, sender_b) = (
        Sender::new(target_a, config.sending(), plan.total),
        Sender::new(target_b, quiet.sending(), plan.total),
    );
    let mut report = DiffReport {
        compared: 0,
        skipped: 0,
        differences: Vec::new(),
        read_only_creates: Vec::new(),
        run_id: session.run_id.clone(),
        seed: session.seed,
        stopped: None,
        stop_code: None,
        interrupted: None,
    };
    let read_only = !session.cx.may_write();
    while let Some(batch) = plan.next_batch().await {
        if config.interrupt.raised().is_some() {
            break;
        }
        let Batch { ready, skipped, .. } = batch?;
        report.skipped += skipped.len();
        let (answers_a, answers_b) =
            tokio::join!(sender_a.send(ready.clone()), sender_b.send(ready));
        let mut by_index: std::collections::HashMap<usize, _> = answers_b
            .into_iter()
            .map(|(index, _, answer, _)| (index, answer))
            .collect();
        let mut answered: Vec<_> = answers_a
            .into_iter()
            .filter_map(|(index, r, a, _)| by_index.remove(&index).map(|b| (index, r, a, b)))
            .collect();
        answered.sort_by_key(|(index, ..)| *index);
        for (_, r, answer_a, answer_b) in answered {
            let not_sent = |a: &Result<HttpAnswer, TransportError>| {
                matches!(a, Err(TransportError::NotSent(_)))
            };
            if not_sent(&answer_a) || not_sent(&answer_b) {
                report.skipped += 1;
                continue;
            }
            report.compared += 1;
            let (d, differs, created) = compare(&r, &answer_a, &answer_b, config.profile);
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
    for (name, sender) in [("A", &sender_a), ("B", &sender_b)] {
        if let Some(why) = sender.unreachable() {
            return Err(RunError::Unreachable(format!(
                "side {name}: {}",
                session.key.redact(&why)
            )));
        }
        if let (Some(stop), None) = (sender.finish(), &report.stopped) {
            report.stop_code = Some(match stop.cause {
                StopCause::Broken => 1,
                StopCause::Configuration => 2,
                StopCause::Outage => 3,
            });
            report.stopped = Some(format!("side {name}: {}", stop.reason));
        }
    }
    report.interrupted = config.interrupt.raised().map(str::to_owned);
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
        (true, false) => va.rule.to_string(),
        (false, true) => vb.rule.to_string(),
        (true, true) if va.rule == vb.rule => va.rule.to_string(),
        (true, true) => format!("{} / {}", va.rule, vb.rule),
        (false, false) => ready.case.rule().to_string(),
    };
    let differs = oa != ob;
    let created = [va.report_id(), vb.report_id()];
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
