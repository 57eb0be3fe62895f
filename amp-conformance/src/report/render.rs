//! The judge's typed verdicts in words: what came back ([`seen`]), why it is a finding
//! ([`reason`]), and for a finding, its one-line summary and the slug of its name
//! ([`summary`], [`slug`]). Only this module words a deviation; nothing parses what it writes.

use std::fmt::Write as _;

use amp_contract::ErrorCode;
use amp_contract::rules::Rule;

use crate::judge::{Body, BodyKind, Deviation, Due, JsonKind, NotAmp, Outcome, Seen};
use crate::report::Shrunk;

/// The longest slug of a finding name, in bytes.
const SLUG_MAX: usize = 64;

fn outcome(o: Outcome) -> String {
    match o {
        Outcome::Success => "success".to_owned(),
        Outcome::Error(code) => code.to_string(),
    }
}

/// The outcome due, as the reason says it.
fn due_text(o: Outcome) -> String {
    match o {
        Outcome::Success => "success with report_id >= 1".to_owned(),
        Outcome::Error(code) => code.to_string(),
    }
}

fn json_kind(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::Array => "array",
        JsonKind::String => "string",
        JsonKind::Number => "number",
        JsonKind::Boolean => "boolean",
        JsonKind::Null => "null",
    }
}

/// What a non-AMP body is, without its content: `HTML, not JSON`.
fn body_kind(kind: BodyKind) -> String {
    match kind {
        BodyKind::Empty => "an empty body, not JSON".to_owned(),
        BodyKind::NotUtf8 => "not UTF-8, not JSON".to_owned(),
        BodyKind::Html => "HTML, not JSON".to_owned(),
        BodyKind::MalformedJson => "malformed JSON".to_owned(),
        BodyKind::Text => "text, not JSON".to_owned(),
        BodyKind::NotObject(kind) => format!("JSON {} instead of an object", json_kind(kind)),
        BodyKind::NoStatus => "`status` is neither \"success\" nor \"error\"".to_owned(),
        BodyKind::NoReportId => "success without report_id".to_owned(),
        BodyKind::BadReportId => "report_id is not a JSON integer >= 1".to_owned(),
        BodyKind::NoErrorCode => "error without a string error_code".to_owned(),
        BodyKind::BadErrorCode => "error_code does not match ^AMP[0-9]{3}$".to_owned(),
        BodyKind::NoDescription => "error without a non-empty error_description".to_owned(),
    }
}

/// A non-AMP body with its excerpt: `HTML, not JSON: "Fatal error ..."`.
pub(crate) fn not_amp(body: &NotAmp) -> String {
    let kind = body_kind(body.kind);
    match body.kind {
        _ if body.excerpt.is_empty() => kind,
        BodyKind::Html | BodyKind::Text => format!("{kind}: {:?}", body.excerpt),
        BodyKind::NotUtf8 | BodyKind::MalformedJson => format!("{kind} ({})", body.excerpt),
        BodyKind::BadReportId => format!("report_id {} is not a JSON integer >= 1", body.excerpt),
        BodyKind::BadErrorCode => format!(
            "error_code {:?} does not match ^AMP[0-9]{{3}}$",
            body.excerpt
        ),
        _ => kind,
    }
}

fn body(b: Body) -> String {
    match b {
        Body::Amp(o) => outcome(o),
        Body::Other(kind) => body_kind(kind),
        Body::Redirect => "redirect".to_owned(),
    }
}

/// What came back, in one line: `HTTP 200 AMP003 "Missing category."`,
/// `HTTP 200 success, report_id 7`, `HTTP 502 HTML, not JSON: "Bad Gateway"`.
pub(crate) fn seen(seen: &Seen) -> String {
    match seen {
        Seen::Amp { status, answer } => match answer {
            crate::judge::AmpAnswer::Success(id) => {
                format!("HTTP {status} success, report_id {id}")
            }
            crate::judge::AmpAnswer::Error(code, d) => format!("HTTP {status} {code} {d:?}"),
        },
        Seen::Redirect { status, location } => match location {
            Some(to) => format!("HTTP {status} redirect to {to}"),
            None => format!("HTTP {status} redirect without a Location"),
        },
        Seen::NotAmp { status, body } => format!("HTTP {status} {}", not_amp(body)),
        Seen::Transport(err) => err.to_string(),
    }
}

/// An answer's outcome with its status when that is not 200: `AMP002`, `HTTP 400 AMP002`.
fn got(status: u16, what: String) -> String {
    if status == 200 {
        what
    } else {
        format!("HTTP {status} {what}")
    }
}

fn rules(rules: &[Rule]) -> String {
    rules.iter().map(|r| r.id()).collect::<Vec<_>>().join(", ")
}

/// Why a check is a finding. `expected` is the case's expectation in words; `shrunk` adds how
/// the reproduction was reduced.
pub(crate) fn reason(
    rule: Rule,
    deviation: &Deviation,
    seen: Option<&Seen>,
    expected: &str,
    shrunk: Option<Shrunk>,
) -> String {
    let mut out = match deviation {
        Deviation::Status {
            expected,
            got,
            media,
        } => format!(
            "expected HTTP {expected} with application/json, got HTTP {got} with {}",
            media.as_deref().unwrap_or("no content type")
        ),
        Deviation::Outcome {
            due,
            by: Due::Page(by),
            got: answered,
            ..
        } => {
            let created = match (answered, seen.and_then(created_id)) {
                (Outcome::Success, Some(id)) => format!(": report {id} was created"),
                _ => String::new(),
            };
            format!("the page demands {} ({by}){created}", due_text(*due))
        }
        Deviation::Outcome {
            by: Due::Reference { rule: by, silent },
            got: answered,
            ..
        } => {
            let silence = if silent.is_empty() {
                String::new()
            } else {
                format!(
                    "; the page does not decide this request ({} does)",
                    rules(silent)
                )
            };
            match (answered, seen.and_then(created_id)) {
                (Outcome::Success, Some(id)) => format!(
                    "expected {expected} by {by}, got success: report {id} was created{silence}"
                ),
                _ => format!("expected {expected} by {by}{silence}"),
            }
        }
        Deviation::RefusedKey { due, .. } => {
            let mut text = "a valid API_ID was refused with AMP001 (header names are \
                            case-insensitive)"
                .to_owned();
            if let Some((due, by)) = due {
                let _ = write!(text, "; the page demands {} here ({by})", due_text(*due));
            }
            text
        }
        Deviation::Amp009 { .. } => {
            "AMP009 instead of AMP003: matches the page's example, not its code table".to_owned()
        }
        Deviation::Unnamed { code, params, .. } => format!(
            "{code} as expected, but the description does not name {}",
            params.join(", ")
        ),
        Deviation::Accepted { code, params, .. } => format!(
            "{code} as expected, but it does not name {}: that value was accepted ({rule} \
             rejects it)",
            params.join(", ")
        ),
        Deviation::OutOfOrder { code, params, .. } => {
            format!("{code} names {} but not in table order", params.join(", "))
        }
        Deviation::ServerError { status, .. } => {
            format!("HTTP {status} for a well-framed request")
        }
        Deviation::HopLimit { .. } => {
            let what = seen.map(self::seen).unwrap_or_default();
            format!(
                "a body over 1 MiB refused by a hop's own limit ({what}); R-BODY's answer is HTTP \
                 413 with an AMP JSON error"
            )
        }
        Deviation::NotAmp { body, .. } => not_amp(body),
        Deviation::Redirect { .. } => "a redirect instead of the API's JSON; redirects are not \
                                       followed (a redirected POST is re-sent as a GET without \
                                       its body): point --target at the final URL"
            .to_owned(),
        Deviation::Recorded { .. } => String::new(),
        Deviation::Transport(err) => err.to_string(),
        _ => run_reason(rule, deviation),
    };

    if let Some(shrunk) = shrunk {
        let _ = write!(
            out,
            " (shrunk in {} steps; the shrunk request still breaks {rule} per the contract)",
            shrunk.steps
        );
    }
    out
}

/// Why a check over the whole run (stored values, ids) is a finding.
fn run_reason(rule: Rule, deviation: &Deviation) -> String {
    match deviation {
        Deviation::Stored { diffs, .. } => {
            let beyond = diffs.iter().filter(|d| d.documented).count();
            if rule == Rule::DDefaults {
                "stored values differ beyond surrounding whitespace and address spelling \
                 (D-DEFAULTS)"
                    .to_owned()
            } else if beyond > 0 {
                format!(
                    "stored values differ (beyond D-DEFAULTS' equality in {beyond} field(s)), for \
                     a request the page leaves open by {rule}"
                )
            } else {
                format!("stored values equal by D-DEFAULTS, not in {rule}'s exact form")
            }
        }
        Deviation::Unobservable { error } => error.clone(),
        Deviation::IdsNotIncreasing { pairs } => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(a, a_id, b, b_id)| format!("{b} got {b_id} after {a} had got {a_id}"))
                .collect();
            format!("ids did not increase strictly: {}", pairs.join("; "))
        }
        Deviation::IdsRepeated { ids } => {
            let ids: Vec<String> = ids
                .iter()
                .map(|(id, check)| format!("{id} (again by {check})"))
                .collect();
            format!("repeated report ids: {}", ids.join(", "))
        }
        Deviation::IdsReused { ids } => {
            let ids: Vec<String> = ids
                .iter()
                .map(|(id, check, run)| {
                    format!("{id} (by {check}; run {run}'s report is still stored under it)")
                })
                .collect();
            format!(
                "report ids that earlier runs' reports still hold were answered again: {}",
                ids.join(", ")
            )
        }
        Deviation::IdsRestarted { ids, runs } => {
            let ids: Vec<String> = ids
                .iter()
                .map(|(id, check)| format!("{id} (by {check})"))
                .collect();
            format!(
                "ids that earlier runs ({}) had got came again: {}; no earlier report was \
                 found stored under them, so the ids restarted (a fresh database), which \
                 D-UNIQUE allows",
                runs.join(", "),
                ids.join(", ")
            )
        }
        _ => String::new(),
    }
}

fn created_id(seen: &Seen) -> Option<u64> {
    match seen {
        Seen::Amp {
            answer: crate::judge::AmpAnswer::Success(id),
            ..
        } => Some(*id),
        _ => None,
    }
}

/// What a stored-value check read back: `report 7: category " x ", expected "x"`.
pub(crate) fn stored(report_id: u64, diffs: &[amp_contract::stored::FieldDiff]) -> String {
    let what: Vec<String> = diffs.iter().map(ToString::to_string).collect();
    format!("report {report_id}: {}", what.join("; "))
}

/// A finding's one-line summary: what differs, with nothing that varies from check to check.
pub(crate) fn summary(deviation: &Deviation) -> String {
    match deviation {
        Deviation::Status {
            expected,
            got,
            media,
        } => {
            let media = media.as_deref().unwrap_or("no content type");
            let json = media == "application/json";
            match (got != expected, json) {
                (true, true) => format!("HTTP {got} instead of HTTP {expected}"),
                (false, _) => format!("{media} instead of application/json"),
                (true, false) => format!(
                    "HTTP {got} with {media} instead of HTTP {expected} with application/json"
                ),
            }
        }
        Deviation::Outcome {
            due,
            got: answered,
            status,
            ..
        } => {
            format!(
                "{} instead of {}",
                got(*status, outcome(*answered)),
                outcome(*due)
            )
        }
        Deviation::RefusedKey { status, .. } => format!(
            "a valid API_ID is refused with {}",
            got(*status, ErrorCode::Unauthorized.to_string())
        ),
        Deviation::Amp009 { status } => format!(
            "{} instead of AMP003",
            got(*status, ErrorCode::Other(9).to_string())
        ),
        Deviation::Unnamed { code, status, .. } => format!(
            "{} does not name every rejected parameter",
            got(*status, code.to_string())
        ),
        Deviation::Accepted { code, status, .. } => format!(
            "{} without naming the parameter whose value was accepted",
            got(*status, code.to_string())
        ),
        Deviation::OutOfOrder { code, status, .. } => format!(
            "{} names the parameters out of table order",
            got(*status, code.to_string())
        ),
        Deviation::ServerError { status, body: b } | Deviation::HopLimit { status, body: b } => {
            format!("HTTP {status} {}", body(*b))
        }
        Deviation::NotAmp { status, body: b } => format!("HTTP {status} {}", body_kind(b.kind)),
        Deviation::Redirect { status } => format!("HTTP {status} redirect"),
        Deviation::Recorded { got: b, status } => format!("answered {}", got(*status, body(*b))),
        Deviation::Transport(err) => transport(err).to_owned(),
        Deviation::Stored { diffs, .. } => {
            format!("stored {} differ from what was sent", fields(diffs))
        }
        Deviation::Unobservable { .. } => "the observer could not read the report".to_owned(),
        Deviation::IdsNotIncreasing { .. } => "ids did not increase strictly".to_owned(),
        Deviation::IdsRepeated { .. } => "repeated report ids within the run".to_owned(),
        Deviation::IdsReused { .. } => {
            "report ids of stored earlier reports answered again".to_owned()
        }
        Deviation::IdsRestarted { .. } => "report ids restarted since an earlier run".to_owned(),
    }
}

fn fields(diffs: &[amp_contract::stored::FieldDiff]) -> String {
    diffs
        .iter()
        .map(|d| d.field.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A transport failure by kind, without its details.
fn transport(err: &crate::target::TransportError) -> &'static str {
    use crate::target::TransportError as T;
    match err {
        T::Connect { step, .. } => step,
        T::Certificate(_) => "certificate does not verify",
        T::Timeout(_) => "no answer within the timeout",
        T::BodyTimeout(_) => "the body did not complete within the timeout",
        T::TooLarge(_) => "response body over the limit",
        T::NotSent(_) => "not sent",
        T::Broken(_) => "broken answer",
    }
}

/// The slug of a finding's name: the deviation's kind and the parts that identify it (status,
/// outcome, media type, field names), never a value, an id or a description.
pub(crate) fn slug(deviation: &Deviation) -> String {
    let words = match deviation {
        Deviation::Status {
            expected,
            got,
            media,
        } => {
            let media = media.as_deref().unwrap_or("no content type");
            match (got != expected, media == "application/json") {
                (true, true) => format!("http {got} instead of {expected}"),
                (false, _) => format!("{media} instead of application/json"),
                (true, false) => {
                    format!("http {got} {media} instead of {expected} application/json")
                }
            }
        }
        Deviation::RefusedKey { status, .. } => format!(
            "valid api_id refused {}",
            got(*status, ErrorCode::Unauthorized.to_string())
        ),
        Deviation::Accepted { code, status, .. } => {
            format!("{} value accepted", got(*status, code.to_string()))
        }
        Deviation::Unnamed { code, status, .. } => {
            format!("{} omits parameters", got(*status, code.to_string()))
        }
        Deviation::OutOfOrder { code, status, .. } => {
            format!(
                "{} names out of table order",
                got(*status, code.to_string())
            )
        }
        Deviation::Stored { diffs, .. } => format!("stored {}", fields(diffs)),
        Deviation::Transport(err) => transport(err).to_owned(),
        other => summary(other),
    };
    slugify(&words)
}

/// Lower-case ASCII letters, digits and `_`, words joined by `-`, at most [`SLUG_MAX`] bytes.
pub(crate) fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len().min(SLUG_MAX));
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > SLUG_MAX {
        let cut = slug[..SLUG_MAX].rfind('-').unwrap_or(SLUG_MAX);
        slug.truncate(cut);
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "other".to_owned()
    } else {
        slug.to_owned()
    }
}
