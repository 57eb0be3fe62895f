//! The judge: an expectation against an answer gives one outcome class of CONTRACT.md §4,
//! the rule it concerns and a reason that says expected against actual.

use std::fmt;

use amp_contract::ErrorCode;
use serde::Serialize;

use crate::cases::{Case, Expectation};
use crate::rules::{Layer, layer};
use crate::target::{HttpAnswer, TransportError};

/// Outcome classes (CONTRACT.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Class {
    /// Meets every rule the check names.
    Pass,
    /// Breaks a documented rule.
    Fail,
    /// Meets the documented rules, deviates from a reference resolution.
    NonStrict,
    /// Behaviour recorded, no rule.
    Info,
    /// Not run: the run lacks something (named in the reason).
    Skipped,
    /// No usable HTTP answer.
    Error,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NonStrict => "NON-STRICT",
            Self::Info => "INFO",
            Self::Skipped => "SKIPPED",
            Self::Error => "ERROR",
        })
    }
}

/// Which rules can fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Only the page's rules: reference deviations are recorded as `INFO`.
    Documented,
    /// The page's rules and this project's resolutions (deviations are `NON-STRICT`).
    Reference,
}

/// The judge's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Class.
    pub class: Class,
    /// The rule it concerns.
    pub rule: String,
    /// Why, when not a plain pass.
    pub reason: String,
    /// What came back, in one line.
    pub actual: String,
    /// The `report_id` of a success answer.
    pub report_id: Option<u64>,
}

/// A parsed AMP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Success with this id.
    Success(u64),
    /// Error with code and description.
    Error(ErrorCode, String),
}

/// Reads an answer body as the contract's JSON, or says which documented rule it breaks.
pub fn parse_answer(body: &[u8]) -> Result<Answer, (&'static str, String)> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ("D-NO-5XX", not_json(body)))?;
    let Some(object) = value.as_object() else {
        return Err((
            "D-ERROR-SHAPE",
            format!("JSON {} instead of an object", kind_of(&value)),
        ));
    };
    match object.get("status").and_then(|s| s.as_str()) {
        Some("success") => match object.get("report_id") {
            Some(id) => match id.as_u64() {
                Some(n) if n >= 1 => Ok(Answer::Success(n)),
                _ => Err((
                    "D-SUCCESS",
                    format!("report_id {id} is not a JSON integer >= 1"),
                )),
            },
            None => Err(("D-SUCCESS", "success without report_id".to_owned())),
        },
        Some("error") => {
            let code = object.get("error_code").and_then(|c| c.as_str());
            let description = object.get("error_description").and_then(|d| d.as_str());
            match (code.map(str::parse::<ErrorCode>), description) {
                (Some(Ok(code)), Some(d)) if !d.trim().is_empty() => {
                    Ok(Answer::Error(code, d.to_owned()))
                }
                (Some(Ok(_)), _) => Err((
                    "D-ERROR-SHAPE",
                    "error without a non-empty error_description".to_owned(),
                )),
                (Some(Err(_)), _) => Err((
                    "D-ERROR-SHAPE",
                    format!(
                        "error_code {:?} does not match ^AMP[0-9]{{3}}$",
                        code.unwrap_or_default()
                    ),
                )),
                (None, _) => Err((
                    "D-ERROR-SHAPE",
                    "error without a string error_code".to_owned(),
                )),
            }
        }
        _ => Err((
            "D-ERROR-SHAPE",
            "`status` is neither \"success\" nor \"error\"".to_owned(),
        )),
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Array(_) => "array",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Null => "null",
        serde_json::Value::Object(_) => "object",
    }
}

/// Says what a non-JSON body looks like, with its first line.
pub fn not_json(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let first: String = first.chars().take(120).collect();
    let looks = if text.trim_start().starts_with('<') {
        "HTML"
    } else {
        "text"
    };
    if body.is_empty() {
        "an empty body, not JSON".to_owned()
    } else {
        format!("{looks}, not JSON: {first:?}")
    }
}

/// Whether `description` names `param` as a word.
fn names(description: &str, param: &str) -> Option<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    description
        .match_indices(param)
        .map(|(at, _)| at)
        .find(|&at| {
            let before = description.as_bytes().get(at.wrapping_sub(1)).copied();
            let after = description.as_bytes().get(at + param.len()).copied();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
}

fn summary(answer: &HttpAnswer, parsed: &Answer) -> String {
    let body = match parsed {
        Answer::Success(id) => format!("success, report_id {id}"),
        Answer::Error(code, d) => format!("{code} {d:?}"),
    };
    format!("HTTP {} {}", answer.status, body)
}

/// Judges one answer against one case under `profile`.
pub fn judge(
    case: &Case,
    answer: &Result<HttpAnswer, TransportError>,
    profile: Profile,
) -> Verdict {
    let verdict = |class, rule: &str, reason: String, actual: String| Verdict {
        class,
        rule: rule.to_owned(),
        reason,
        actual,
        report_id: None,
    };
    let answer = match answer {
        Err(err) => return verdict(Class::Error, case.rule(), err.to_string(), err.to_string()),
        Ok(answer) => answer,
    };
    if answer.status >= 500 {
        let what = parse_answer(&answer.body).map_or_else(|(_, w)| w, |p| summary(answer, &p));
        return verdict(
            Class::Fail,
            "D-NO-5XX",
            format!("HTTP {} for a well-framed request", answer.status),
            what,
        );
    }
    let parsed = match parse_answer(&answer.body) {
        Ok(parsed) => parsed,
        Err((rule, what)) => {
            let actual = format!("HTTP {} {what}", answer.status);
            if matches!(case.expect, Expectation::Info) {
                return verdict(Class::Info, case.rule(), String::new(), actual);
            }
            return verdict(Class::Fail, rule, what, actual);
        }
    };
    let actual = summary(answer, &parsed);
    let report_id = match parsed {
        Answer::Success(id) => Some(id),
        Answer::Error(..) => None,
    };
    // A deviation from the case's governing rule: FAIL for a documented rule, NON-STRICT for a
    // reference one (INFO when only the documented profile is checked).
    let deviation = |rule: &str| match (layer(rule), profile) {
        (Layer::Documented, _) => Class::Fail,
        (Layer::Reference, Profile::Reference) => Class::NonStrict,
        (Layer::Reference, Profile::Documented) => Class::Info,
    };
    let mut out = match (&case.expect, &parsed) {
        (Expectation::Info, _) => verdict(Class::Info, case.rule(), String::new(), actual.clone()),
        (Expectation::Success, Answer::Success(_)) => {
            verdict(Class::Pass, case.rule(), String::new(), actual.clone())
        }
        (Expectation::Success, Answer::Error(..)) => verdict(
            deviation(case.rule()),
            case.rule(),
            format!("expected {}, got an error", case.expect),
            actual.clone(),
        ),
        (Expectation::Error { .. }, Answer::Success(id)) => verdict(
            deviation(case.rule()),
            case.rule(),
            format!(
                "expected {}, got success: report {id} was created",
                case.expect
            ),
            actual.clone(),
        ),
        (Expectation::Error { code, params, .. }, Answer::Error(got, description))
            if got == code =>
        {
            let missing: Vec<&str> = params
                .iter()
                .map(String::as_str)
                .filter(|p| names(description, p).is_none())
                .collect();
            let positions: Vec<usize> = params
                .iter()
                .filter_map(|p| names(description, p))
                .collect();
            if !missing.is_empty() {
                verdict(
                    deviation("R-ORDER"),
                    "R-ORDER",
                    format!(
                        "{code} as expected, but the description does not name {}",
                        missing.join(", ")
                    ),
                    actual.clone(),
                )
            } else if positions.windows(2).any(|w| w[0] > w[1]) {
                verdict(
                    deviation("R-ORDER"),
                    "R-ORDER",
                    format!("{code} names {} but not in table order", params.join(", ")),
                    actual.clone(),
                )
            } else {
                verdict(Class::Pass, case.rule(), String::new(), actual.clone())
            }
        }
        (Expectation::Error { code, .. }, Answer::Error(got, _))
            if *code == ErrorCode::MissingParameters && *got == ErrorCode::Other(9) =>
        {
            verdict(
                Class::NonStrict,
                "D-REQUIRED",
                "AMP009 instead of AMP003: matches the page's example, not its code table"
                    .to_owned(),
                actual.clone(),
            )
        }
        (Expectation::Error { .. }, Answer::Error(..)) => verdict(
            deviation(case.rule()),
            case.rule(),
            format!("expected {}", case.expect),
            actual.clone(),
        ),
    };
    out.report_id = report_id;
    if out.class == Class::Pass {
        // Status and content type are reference matters (R-STATUS), except R-BODY's 413.
        let expected_status = match &case.expect {
            Expectation::Error { status, .. } => *status,
            _ => 200,
        };
        let json = answer.content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if answer.status != expected_status || !json {
            let rule = if expected_status == 413 {
                "R-BODY"
            } else {
                "R-STATUS"
            };
            out.class = deviation(rule);
            out.rule = rule.to_owned();
            out.reason = format!(
                "expected HTTP {expected_status} with application/json, got HTTP {} with {}",
                answer.status,
                answer.content_type.as_deref().unwrap_or("no content type")
            );
        }
    }
    out
}
