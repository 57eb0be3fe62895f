//! Replay: a case source read from a JSON report. Every finding of a run records the exact
//! request it sent (method, header names as sent, headers, query, body bytes; never the key,
//! only how it was sent) and what it had to get; `amp-conformance replay REPORT.json [FILTER]`
//! sends those bytes again, to the same or another target, and judges them again, so a
//! developer confirms a fix without a full run.

use amp_contract::rules::Rule;
use serde::{Deserialize, Serialize};

use crate::cases::{Auth, Case, Expectation, Origin, RequestSpec, WireRequest};

/// A request as it was sent, with what it had to get (the `request` of a finding in the JSON
/// report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// How the key was sent (`valid`, `header:api_id`, `missing`, ...): the key itself is
    /// supplied again at replay time.
    pub auth: String,
    /// The other headers, in order.
    pub headers: Vec<(String, String)>,
    /// The query string, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The body, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in hexadecimal, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hex: Option<String>,
    /// What it had to get (the reference layer; the page's demand is recomputed).
    pub expect: RecordedExpect,
}

/// What a recorded request had to get, in the fixture files' terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum RecordedExpect {
    /// Success.
    Success,
    /// An error with this code naming these parameters, with this reference HTTP status.
    Error {
        /// `AMP003`.
        code: String,
        /// Parameters the description names.
        params: Vec<String>,
        /// Reference HTTP status.
        status: u16,
    },
    /// Recorded behaviour only.
    Info,
}

impl Recorded {
    /// The record of `wire` sent for a case expecting `expect`.
    pub fn of(wire: &WireRequest, expect: &Expectation) -> Self {
        let (body, body_hex) = match std::str::from_utf8(&wire.body) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (
                None,
                Some(wire.body.iter().map(|b| format!("{b:02x}")).collect()),
            ),
        };
        Self {
            method: wire.method.clone(),
            auth: wire.auth.to_string(),
            headers: wire.headers.clone(),
            query: wire.query.clone(),
            body,
            body_hex,
            expect: match expect {
                Expectation::Success => RecordedExpect::Success,
                Expectation::Info => RecordedExpect::Info,
                Expectation::Error {
                    code,
                    params,
                    status,
                } => RecordedExpect::Error {
                    code: code.to_string(),
                    params: params.clone(),
                    status: *status,
                },
            },
        }
    }

    /// The exact request again.
    pub fn wire(&self) -> Result<WireRequest, String> {
        let body = match (&self.body, &self.body_hex) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(hex)) => (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                        .ok_or_else(|| format!("body_hex is not hexadecimal at {i}"))
                })
                .collect::<Result<_, _>>()?,
            (None, None) => Vec::new(),
        };
        Ok(WireRequest {
            method: self.method.clone(),
            auth: self.auth.parse::<Auth>()?,
            headers: self.headers.clone(),
            query: self.query.clone(),
            body,
        })
    }

    /// What it had to get.
    pub fn expectation(&self) -> Result<Expectation, String> {
        Ok(match &self.expect {
            RecordedExpect::Success => Expectation::Success,
            RecordedExpect::Info => Expectation::Info,
            RecordedExpect::Error {
                code,
                params,
                status,
            } => Expectation::Error {
                code: code
                    .parse()
                    .map_err(|_| format!("`{code}` is not an AMP error code"))?,
                params: params.clone(),
                status: *status,
            },
        })
    }
}

/// The safety context of a run (CONTRACT.md §6), as the JSON report records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The embedded reference server rather than a `--target`.
    pub embedded: bool,
    /// `--service` ids with their dedicated IP (`none` without one), in the order given.
    pub services: Vec<String>,
    /// `--missing-service-id`.
    pub missing_service: Option<u32>,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// `--allow-suspend`.
    pub allow_suspend: bool,
    /// `--profile`.
    pub profile: String,
}

impl RunContext {
    /// The flags that give a run this context, as a user types them.
    pub fn flags(&self) -> String {
        let mut flags: Vec<String> = self
            .services
            .iter()
            .map(|s| format!("--service {s}"))
            .collect();
        flags.extend(
            self.missing_service
                .map(|m| format!("--missing-service-id {m}")),
        );
        if self.allow_writes {
            flags.push("--allow-writes".to_owned());
        }
        if self.allow_suspend {
            flags.push("--allow-suspend".to_owned());
        }
        flags.push(format!("--profile {}", self.profile));
        flags.join(" ")
    }
}

/// A check of a JSON report that recorded its request.
#[derive(Debug, Clone, Deserialize)]
struct ReportedCheck {
    id: String,
    rule: Rule,
    rules: Vec<Rule>,
    title: String,
    #[serde(default)]
    request: Option<Recorded>,
}

#[derive(Debug, Deserialize)]
struct ReportFile {
    checks: Vec<ReportedCheck>,
    #[serde(default)]
    context: Option<RunContext>,
    #[serde(default)]
    findings: Vec<ReportedFinding>,
}

#[derive(Debug, Deserialize)]
struct ReportedFinding {
    name: String,
    #[serde(default)]
    checks: Vec<String>,
}

/// The cases to replay from the JSON report `text`: every check that recorded its request,
/// or those whose id, rule or finding name is `filter`. `origin` names the report.
pub fn cases(
    text: &str,
    filter: Option<&str>,
    origin: &str,
) -> Result<Vec<(Case, WireRequest)>, String> {
    let report: ReportFile = serde_json::from_str(text)
        .map_err(|e| format!("{origin} is not a JSON report of amp-conformance: {e}"))?;
    let in_finding = |id: &str| {
        report
            .findings
            .iter()
            .any(|f| Some(f.name.as_str()) == filter && f.checks.iter().any(|c| c == id))
    };
    let mut out = Vec::new();
    for check in &report.checks {
        let Some(request) = &check.request else {
            continue;
        };
        let wanted = match filter {
            None => true,
            Some(f) => {
                check.id == f || f.parse::<Rule>().ok() == Some(check.rule) || in_finding(&check.id)
            }
        };
        if !wanted {
            continue;
        }
        let fail = |e: String| format!("{origin}: check `{}`: {e}", check.id);
        let wire = request.wire().map_err(fail)?;
        let case = Case {
            id: check.id.clone(),
            rules: check.rules.clone(),
            title: check.title.clone(),
            request: RequestSpec::form(Vec::new()),
            expect: request.expectation().map_err(fail)?,
            origin: Origin::Replay {
                report: origin.to_owned(),
            },
            admin_notes_under_test: true,
        };
        out.push((case, wire));
    }
    if out.is_empty() {
        return Err(match filter {
            Some(f) => format!(
                "{origin} records no request for `{f}` (a check id, rule id or finding name of \
                 a finding in that report)"
            ),
            None => format!("{origin} records no request: it has no findings to replay"),
        });
    }
    Ok(out)
}

/// The safety context the report's run was judged under (services, missing id, permissions,
/// profile); `None` for a report that does not record it.
pub fn context(text: &str) -> Option<RunContext> {
    serde_json::from_str::<ReportFile>(text).ok()?.context
}

/// Why a replay under `planned` cannot confirm what the run judged under `recorded`: the
/// requests name the run's services and expect what its services made them expect.
pub fn context_mismatch(recorded: &RunContext, planned: &RunContext) -> Option<String> {
    let same = recorded.services == planned.services
        && recorded.missing_service == planned.missing_service
        && recorded.profile == planned.profile
        && recorded.embedded == planned.embedded;
    (!same).then(|| {
        format!(
            "the run was judged {}with `{}`; this replay would judge {}with `{}`. Its requests \
             name the run's services and expect what they made them expect: give the run's \
             flags (a replay under other services confirms nothing)",
            if recorded.embedded {
                "against the embedded server "
            } else {
                ""
            },
            recorded.flags(),
            if planned.embedded {
                "against the embedded server "
            } else {
                ""
            },
            planned.flags()
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_recorded_request_round_trips_exactly() {
        let wire = WireRequest {
            method: "POST".to_owned(),
            auth: Auth::ValidAs("api_id".to_owned()),
            headers: vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )],
            query: Some("a=b".to_owned()),
            body: b"category=caf\xe9".to_vec(),
        };
        let expect = Expectation::Error {
            code: amp_contract::ErrorCode::MissingParameters,
            params: vec!["category".to_owned()],
            status: 200,
        };
        let recorded = Recorded::of(&wire, &expect);
        let json = serde_json::to_string(&recorded).unwrap();
        let back: Recorded = serde_json::from_str(&json).unwrap();
        assert_eq!(back.wire().unwrap(), wire);
        assert_eq!(back.expectation().unwrap(), expect);
    }
}
