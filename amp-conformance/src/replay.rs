//! Replay: a case source read from a JSON report. Every finding of a run records the exact
//! request it sent (method, header names as sent, headers, query, body bytes; never the key,
//! only how it was sent) and what it had to get; `amp-conformance replay REPORT.json [FILTER]`
//! sends those bytes again, to the same or another target, and judges them again, so a
//! developer confirms a fix without a full run.

use amp_contract::rules::Rule;
use serde::Deserialize;

use crate::cases::recorded::Recorded;
use crate::cases::{Case, Origin, RequestSpec, WireRequest};
use crate::report::RunContext;

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
    use crate::cases::{Auth, Expectation};

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
