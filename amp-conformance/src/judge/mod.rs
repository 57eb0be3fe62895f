//! The judge: an expectation against an answer gives one outcome class of CONTRACT.md §4,
//! the rule it concerns and a reason that says expected against actual.

pub mod stored;

use amp_contract::rules::Rule;
use std::fmt;

use amp_contract::documented::{Demand, Verdict as Documented};
use amp_contract::{Action, ErrorCode};
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
    /// The outcome was right and only the HTTP status or media type deviates (R-STATUS,
    /// R-BODY's 413): a matter of the transport, not of the request's values.
    pub status_only: bool,
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
        serde_json::from_slice(body).map_err(|_| (Rule::DNo5xx.id(), not_json(body)))?;
    let Some(object) = value.as_object() else {
        return Err((
            Rule::DErrorShape.id(),
            format!("JSON {} instead of an object", kind_of(&value)),
        ));
    };
    match object.get("status").and_then(|s| s.as_str()) {
        Some("success") => match object.get("report_id") {
            Some(id) => match id.as_u64() {
                Some(n) if n >= 1 => Ok(Answer::Success(n)),
                _ => Err((
                    Rule::DSuccess.id(),
                    format!("report_id {id} is not a JSON integer >= 1"),
                )),
            },
            None => Err((Rule::DSuccess.id(), "success without report_id".to_owned())),
        },
        Some("error") => {
            let code = object.get("error_code").and_then(|c| c.as_str());
            let description = object.get("error_description").and_then(|d| d.as_str());
            match (code.map(str::parse::<ErrorCode>), description) {
                (Some(Ok(code)), Some(d)) if !d.trim().is_empty() => {
                    Ok(Answer::Error(code, d.to_owned()))
                }
                (Some(Ok(_)), _) => Err((
                    Rule::DErrorShape.id(),
                    "error without a non-empty error_description".to_owned(),
                )),
                (Some(Err(_)), _) => Err((
                    Rule::DErrorShape.id(),
                    format!(
                        "error_code {:?} does not match ^AMP[0-9]{{3}}$",
                        code.unwrap_or_default()
                    ),
                )),
                (None, _) => Err((
                    Rule::DErrorShape.id(),
                    "error without a string error_code".to_owned(),
                )),
            }
        }
        _ => Err((
            Rule::DErrorShape.id(),
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

/// Says what a non-JSON body looks like, with its first line: empty, not UTF-8, HTML (its
/// first line of text, tags removed), malformed JSON (where it breaks), or other text.
pub fn not_json(body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty body, not JSON".to_owned();
    }
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            return format!(
                "{} bytes that are not UTF-8 (an invalid byte at offset {}), not JSON: {:?}",
                body.len(),
                e.valid_up_to(),
                first_line(&String::from_utf8_lossy(body))
            );
        }
    };
    let start = text.trim_start();
    if start.starts_with('<') {
        return format!("HTML, not JSON: {:?}", first_line(&strip_tags(text)));
    }
    if start.starts_with('{') || start.starts_with('[') {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return format!("malformed JSON ({e}): {:?}", first_line(text));
        }
    }
    format!("text, not JSON: {:?}", first_line(text))
}

/// The first non-empty line, whitespace collapsed, at most 120 characters.
fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(120)
        .collect()
}

/// The text of an HTML page: tags removed, line breaks kept.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(4096));
    let mut in_tag = false;
    for c in html.chars().take(64 * 1024) {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// What a redirect answer says, and why it is a finding: where it points (redirects are never
/// followed).
fn redirect(answer: &HttpAnswer) -> Option<(String, String)> {
    if !(300..400).contains(&answer.status) {
        return None;
    }
    let to = match &answer.location {
        Some(location) => format!("to {}", location.chars().take(200).collect::<String>()),
        None => "without a Location".to_owned(),
    };
    Some((
        format!("HTTP {} redirect {to}", answer.status),
        "a redirect instead of the API's JSON; redirects are not followed (a redirected POST is \
         re-sent as a GET without its body): point --target at the final URL"
            .to_owned(),
    ))
}

/// Whether `description` names `param` as a word.
pub(crate) fn names(description: &str, param: &str) -> Option<usize> {
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

/// The documented layer's outcome in words.
fn demand_text(demand: Demand) -> String {
    match demand {
        Demand::Success => "success with report_id >= 1".to_owned(),
        Demand::Error(code) => code.to_string(),
    }
}

/// The reference rule that decides a case where the page is silent: the case's own rule when
/// it is among the reasons the request left the documented layer, else the first reason.
fn reference_rule<'a>(case: &'a Case, documented: &'a Documented) -> &'a str {
    match documented {
        Documented::Silent { rules, .. } => case
            .rules
            .iter()
            .map(String::as_str)
            .find(|r| rules.contains(r))
            .or_else(|| rules.first().copied())
            .unwrap_or(case.rule()),
        // The page decided and the target agreed: what is left is a reference matter, named by
        // the case's first reference rule.
        Documented::Demands { .. } => case
            .rules
            .iter()
            .map(String::as_str)
            .find(|r| layer(r) == Layer::Reference)
            .unwrap_or(case.rule()),
    }
}

/// Judges one answer against one case under `profile`, with both oracles: `documented` is what
/// the page demands of the exact request (a disagreement is `FAIL` under that documented
/// rule), the case's expectation is the reference layer's exact answer (a disagreement the
/// page allows is `NON-STRICT` under the reference rule that decides, `INFO` under the
/// documented profile).
pub fn judge(
    case: &Case,
    documented: &Documented,
    answer: &Result<HttpAnswer, TransportError>,
    profile: Profile,
) -> Verdict {
    let verdict = |class, rule: &str, reason: String, actual: String| Verdict {
        class,
        rule: rule.to_owned(),
        reason,
        actual,
        report_id: None,
        status_only: false,
    };
    let answer = match answer {
        Err(err) => return verdict(Class::Error, case.rule(), err.to_string(), err.to_string()),
        Ok(answer) => answer,
    };
    let deviation = match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    };
    // D-NO-5XX covers bodies of at most 1 MiB: a larger one may be refused by a web server's
    // own limit (nginx's `client_max_body_size 1m` answers its HTML 413), and R-BODY decides
    // what the answer should be (CONTRACT.md §2, D-NO-5XX).
    let hop_refused =
        case.oversize() && (answer.status >= 500 || parse_answer(&answer.body).is_err());
    if hop_refused {
        let what = parse_answer(&answer.body).map_or_else(
            |(_, w)| format!("HTTP {} {w}", answer.status),
            |p| summary(answer, &p),
        );
        return verdict(
            deviation,
            Rule::RBody.id(),
            format!(
                "a body over 1 MiB refused by a hop's own limit ({what}); R-BODY's answer is \
                 HTTP 413 with an AMP JSON error"
            ),
            what,
        );
    }
    if answer.status >= 500 {
        let what = parse_answer(&answer.body).map_or_else(
            |(_, w)| format!("HTTP {} {w}", answer.status),
            |p| summary(answer, &p),
        );
        return verdict(
            Class::Fail,
            Rule::DNo5xx.id(),
            format!("HTTP {} for a well-framed request", answer.status),
            what,
        );
    }
    let parsed = match parse_answer(&answer.body) {
        Ok(parsed) => parsed,
        Err((rule, what)) => {
            let (actual, what) = redirect(answer)
                .unwrap_or_else(|| (format!("HTTP {} {what}", answer.status), what));
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
    let with_id = |mut v: Verdict| {
        v.report_id = report_id;
        v
    };
    if matches!(case.expect, Expectation::Info) {
        return with_id(verdict(Class::Info, case.rule(), String::new(), actual));
    }
    let amp009_for_amp003 = |code: ErrorCode| {
        code == ErrorCode::MissingParameters
            && matches!(parsed, Answer::Error(ErrorCode::Other(9), _))
    };
    let amp009 = || {
        verdict(
            Class::NonStrict,
            Rule::DRequired.id(),
            "AMP009 instead of AMP003: matches the page's example, not its code table".to_owned(),
            actual.clone(),
        )
    };

    // The documented layer: what the page demands, whatever the reference says.
    let refused_valid_key = matches!(parsed, Answer::Error(ErrorCode::Unauthorized, _));
    match documented {
        Documented::Demands { demand, rule } => {
            let agrees = match (demand, &parsed) {
                (Demand::Success, Answer::Success(_)) => true,
                (Demand::Error(code), Answer::Error(got, _)) => got == code,
                _ => false,
            };
            if !agrees {
                if matches!(demand, Demand::Error(code) if amp009_for_amp003(*code)) {
                    return with_id(amp009());
                }
                let unauthorized = *demand == Demand::Error(ErrorCode::Unauthorized);
                // A demanded success is D-SUCCESS or D-OPTIONALS by what the request carries
                // (the purge marker is an optional parameter): the case says which it checks.
                let rule = match demand {
                    Demand::Success => case
                        .rules
                        .iter()
                        .map(String::as_str)
                        .find(|r| [Rule::DSuccess.id(), Rule::DOptionals.id()].contains(r))
                        .unwrap_or(rule),
                    Demand::Error(_) => *rule,
                };
                let (rule, why) = if refused_valid_key && !unauthorized {
                    (
                        Rule::DAuth.id(),
                        format!(
                            "a valid API_ID was refused with AMP001 (header names are \
                             case-insensitive); the page demands {} here ({rule})",
                            demand_text(*demand)
                        ),
                    )
                } else {
                    (
                        rule,
                        format!("the page demands {} ({rule})", demand_text(*demand)),
                    )
                };
                let created = match parsed {
                    Answer::Success(id) => format!(": report {id} was created"),
                    Answer::Error(..) => String::new(),
                };
                return with_id(verdict(
                    Class::Fail,
                    rule,
                    format!("{why}{created}"),
                    actual,
                ));
            }
        }
        Documented::Silent {
            authenticated: true,
            ..
        } if refused_valid_key
            && !matches!(
                case.expect,
                Expectation::Error {
                    code: ErrorCode::Unauthorized,
                    ..
                }
            ) =>
        {
            return with_id(verdict(
                Class::Fail,
                Rule::DAuth.id(),
                "a valid API_ID was refused with AMP001 (header names are case-insensitive)"
                    .to_owned(),
                actual,
            ));
        }
        Documented::Silent { .. } => {}
    }

    // The reference layer: the exact answer of this project's resolutions.
    let decided_by = reference_rule(case, documented);
    let silence = match documented {
        Documented::Silent { rules, .. } => format!(
            "; the page does not decide this request ({} does)",
            rules.join(", ")
        ),
        Documented::Demands { .. } => String::new(),
    };
    let mut out = match (&case.expect, &parsed) {
        (Expectation::Success, Answer::Success(_)) => {
            verdict(Class::Pass, case.rule(), String::new(), actual.clone())
        }
        (Expectation::Success, Answer::Error(..)) => verdict(
            deviation,
            decided_by,
            format!("expected {} by {decided_by}{silence}", case.expect),
            actual.clone(),
        ),
        (Expectation::Error { .. }, Answer::Success(id)) => verdict(
            deviation,
            decided_by,
            format!(
                "expected {} by {decided_by}, got success: report {id} was created{silence}",
                case.expect
            ),
            actual.clone(),
        ),
        (Expectation::Error { code, params, .. }, Answer::Error(got, description))
            if got == code =>
        {
            // Only AMP003 must name parameters (R-ORDER); AMP001 and AMP002 say what they like.
            let params: &[String] = if *code == ErrorCode::MissingParameters {
                params
            } else {
                &[]
            };
            let missing: Vec<&str> = params
                .iter()
                .map(String::as_str)
                .filter(|p| names(description, p).is_none())
                .collect();
            let positions: Vec<usize> = params
                .iter()
                .filter_map(|p| names(description, p))
                .collect();
            // Named parameters that are not the first ones of the expected list mean the server
            // skipped an earlier one: it accepted that value (a NUL in a text, say), a deviation
            // under that parameter's rule. Naming only the first ones is stopping at the first
            // error, an R-ORDER matter.
            let prefix = params
                .iter()
                .take_while(|p| names(description, p).is_some())
                .count();
            if !missing.is_empty() && positions.len() > prefix {
                let rule = amp_contract::CreateAbuseReport::field(missing[0])
                    .map_or(Rule::ROrder.id(), |f| f.rule);
                verdict(
                    deviation,
                    rule,
                    format!(
                        "{code} as expected, but it does not name {}: that value was accepted \
                         ({rule} rejects it)",
                        missing.join(", ")
                    ),
                    actual.clone(),
                )
            } else if !missing.is_empty() {
                verdict(
                    deviation,
                    Rule::ROrder.id(),
                    format!(
                        "{code} as expected, but the description does not name {}",
                        missing.join(", ")
                    ),
                    actual.clone(),
                )
            } else if positions.windows(2).any(|w| w[0] > w[1]) {
                verdict(
                    deviation,
                    Rule::ROrder.id(),
                    format!("{code} names {} but not in table order", params.join(", ")),
                    actual.clone(),
                )
            } else {
                verdict(Class::Pass, case.rule(), String::new(), actual.clone())
            }
        }
        (Expectation::Error { code, .. }, Answer::Error(..)) if amp009_for_amp003(*code) => {
            amp009()
        }
        (Expectation::Error { .. }, Answer::Error(..)) => verdict(
            deviation,
            decided_by,
            format!("expected {} by {decided_by}{silence}", case.expect),
            actual.clone(),
        ),
        (Expectation::Info, _) => verdict(Class::Info, case.rule(), String::new(), actual.clone()),
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
                Rule::RBody.id()
            } else {
                Rule::RStatus.id()
            };
            out.class = deviation;
            out.status_only = true;
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
