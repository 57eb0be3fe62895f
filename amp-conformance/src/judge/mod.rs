//! The judge: an expectation against an answer gives one outcome class of CONTRACT.md §4,
//! the rule it is filed under and, typed, how the answer departs from the contract
//! ([`Verdict`]); the report puts it into words.

pub mod stored;

use std::fmt;

use amp_contract::documented::{Demand, Verdict as Documented};
use amp_contract::rules::Rule;
use amp_contract::{Action, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::cases::{Case, Expectation};
use crate::target::{HttpAnswer, TransportError};
use amp_contract::rules::{Layer, layer};

/// Outcome classes (CONTRACT.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

mod answer_body;
mod verdict;

pub(crate) use answer_body::{AnswerBody, clip};

pub use verdict::{
    AmpAnswer, Body, BodyKind, Deviation, Due, JsonKind, NotAmp, Outcome, Seen, Verdict,
};

/// Reads an answer body as the contract's JSON, or says what it is instead (with the
/// documented rule that kind of body breaks: [`BodyKind::rule`]).
pub fn parse_answer(body: &[u8]) -> Result<AmpAnswer, NotAmp> {
    let not_amp = |kind, excerpt: String| NotAmp { kind, excerpt };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| not_json(body))?;
    let Some(object) = value.as_object() else {
        return Err(not_amp(BodyKind::NotObject(kind_of(&value)), String::new()));
    };
    match object.get("status").and_then(|s| s.as_str()) {
        Some("success") => match object.get("report_id") {
            Some(id) => match id.as_u64() {
                Some(n) if n >= 1 => Ok(AmpAnswer::Success(n)),
                _ => Err(not_amp(BodyKind::BadReportId, id.to_string())),
            },
            None => Err(not_amp(BodyKind::NoReportId, String::new())),
        },
        Some("error") => {
            let code = object.get("error_code").and_then(|c| c.as_str());
            let description = object.get("error_description").and_then(|d| d.as_str());
            match (code.map(str::parse::<ErrorCode>), description) {
                (Some(Ok(code)), Some(d)) if !d.trim().is_empty() => {
                    Ok(AmpAnswer::Error(code, d.to_owned()))
                }
                (Some(Ok(_)), _) => Err(not_amp(BodyKind::NoDescription, String::new())),
                (Some(Err(_)), _) => Err(not_amp(
                    BodyKind::BadErrorCode,
                    code.unwrap_or_default().chars().take(60).collect(),
                )),
                (None, _) => Err(not_amp(BodyKind::NoErrorCode, String::new())),
            }
        }
        _ => Err(not_amp(BodyKind::NoStatus, String::new())),
    }
}

fn kind_of(value: &serde_json::Value) -> JsonKind {
    match value {
        serde_json::Value::Array(_) => JsonKind::Array,
        serde_json::Value::String(_) => JsonKind::String,
        serde_json::Value::Number(_) => JsonKind::Number,
        serde_json::Value::Bool(_) => JsonKind::Boolean,
        // An object is read as one before this is asked.
        serde_json::Value::Null | serde_json::Value::Object(_) => JsonKind::Null,
    }
}

/// What a body that is not JSON is: empty, not UTF-8, HTML (its first line of text, tags
/// removed), malformed JSON (where it breaks), or other text.
pub fn not_json(body: &[u8]) -> NotAmp {
    let not_amp = |kind, excerpt: String| NotAmp { kind, excerpt };
    if body.is_empty() {
        return not_amp(BodyKind::Empty, String::new());
    }
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            return not_amp(
                BodyKind::NotUtf8,
                format!(
                    "{} bytes, an invalid byte at offset {}: {:?}",
                    body.len(),
                    e.valid_up_to(),
                    first_line(&String::from_utf8_lossy(body))
                ),
            );
        }
    };
    let start = text.trim_start();
    if start.starts_with('<') {
        return not_amp(BodyKind::Html, first_line(&strip_tags(text)));
    }
    if start.starts_with('{') || start.starts_with('[') {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return not_amp(
                BodyKind::MalformedJson,
                format!("{e}: {:?}", first_line(text)),
            );
        }
    }
    not_amp(BodyKind::Text, first_line(text))
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

/// What an answer is, read once: an AMP answer, a redirect, or another body.
pub fn read(answer: &HttpAnswer) -> Seen {
    let status = answer.status;
    match parse_answer(&answer.body) {
        Ok(answer) => Seen::Amp { status, answer },
        Err(_) if (300..400).contains(&status) => Seen::Redirect {
            status,
            location: answer
                .location
                .as_ref()
                .map(|l| l.chars().take(200).collect()),
        },
        Err(body) => Seen::NotAmp { status, body },
    }
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

/// The rule of the parameter an AMP003 answer names first in its description (attribution
/// by evidence: an AMP003 naming `allow_unsuspend` is R-BOOL's, whatever else the request
/// carried), restricted to `among` when it is not empty.
fn named_rule(answer: &AmpAnswer, among: &[Rule]) -> Option<Rule> {
    let AmpAnswer::Error(ErrorCode::MissingParameters, description) = answer else {
        return None;
    };
    let mut named: Vec<(usize, Rule)> = amp_contract::CreateAbuseReport::FIELDS
        .iter()
        .filter_map(|f| Some((names(description, f.name)?, f.contract_rule?)))
        .filter(|(_, rule)| among.is_empty() || among.contains(rule))
        .collect();
    named.sort_by_key(|&(at, _)| at);
    named.first().map(|&(_, rule)| rule)
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
    let answer = match answer {
        Err(err) => {
            return Verdict {
                class: Class::Error,
                rule: case.rule(),
                deviation: Some(Deviation::Transport(err.clone())),
                seen: Seen::Transport(err.clone()),
            };
        }
        Ok(answer) => answer,
    };
    let judging = Judging {
        case,
        documented,
        seen: read(answer),
        status: answer.status,
        deviation: match profile {
            Profile::Reference => Class::NonStrict,
            Profile::Documented => Class::Info,
        },
    };
    judging.judge(answer)
}

/// One answer under judgement: the steps of [`judge`], in the order they decide.
struct Judging<'a> {
    case: &'a Case,
    documented: &'a Documented,
    seen: Seen,
    status: u16,
    /// The class of a deviation the page allows (NON-STRICT, or INFO under the documented
    /// profile).
    deviation: Class,
}

impl Judging<'_> {
    fn judge(self, answer: &HttpAnswer) -> Verdict {
        if let Some(verdict) = self.refused_by_a_hop() {
            return verdict;
        }
        if let Some(verdict) = self.server_error() {
            return verdict;
        }
        let parsed = match &self.seen {
            Seen::Amp { answer, .. } => answer.clone(),
            _ => return self.not_amp(),
        };
        if matches!(self.case.expect, Expectation::Info) {
            return self.recorded();
        }
        if let Some(verdict) = self.documented_layer(&parsed) {
            return verdict;
        }
        let verdict = self.reference_layer(&parsed);
        if verdict.class == Class::Pass {
            return self.status_and_media(verdict, answer);
        }
        verdict
    }

    fn verdict(&self, class: Class, rule: Rule, deviation: Option<Deviation>) -> Verdict {
        Verdict {
            class,
            rule,
            deviation,
            seen: self.seen.clone(),
        }
    }

    fn body(&self) -> Body {
        self.seen.body().unwrap_or(Body::Redirect)
    }

    /// D-NO-5XX covers bodies of at most 1 MiB: a larger one may be refused by a web server's
    /// own limit (nginx's `client_max_body_size 1m` answers its HTML 413), and R-BODY decides
    /// what the answer should be (CONTRACT.md §2, D-NO-5XX).
    fn refused_by_a_hop(&self) -> Option<Verdict> {
        let refused =
            self.case.oversize() && (self.status >= 500 || !matches!(self.seen, Seen::Amp { .. }));
        refused.then(|| {
            let deviation = Deviation::HopLimit {
                status: self.status,
                body: self.body(),
            };
            self.verdict(self.deviation, Rule::RBody, Some(deviation))
        })
    }

    fn server_error(&self) -> Option<Verdict> {
        (self.status >= 500).then(|| {
            let deviation = Deviation::ServerError {
                status: self.status,
                body: self.body(),
            };
            self.verdict(Class::Fail, Rule::DNo5xx, Some(deviation))
        })
    }

    /// A body that is not the contract's JSON, or a redirect: the documented rule that kind of
    /// body breaks (recorded only for a case that expects nothing).
    fn not_amp(&self) -> Verdict {
        let (rule, deviation) = match &self.seen {
            Seen::Redirect { status, .. } => {
                (Rule::DNo5xx, Deviation::Redirect { status: *status })
            }
            Seen::NotAmp { status, body } => (
                body.kind.rule(),
                Deviation::NotAmp {
                    status: *status,
                    body: body.clone(),
                },
            ),
            Seen::Amp { .. } | Seen::Transport(_) => return self.recorded(),
        };
        if matches!(self.case.expect, Expectation::Info) {
            return self.recorded();
        }
        self.verdict(Class::Fail, rule, Some(deviation))
    }

    fn recorded(&self) -> Verdict {
        let deviation = Deviation::Recorded {
            got: self.body(),
            status: self.status,
        };
        self.verdict(Class::Info, self.case.rule(), Some(deviation))
    }

    fn amp009_for(&self, code: ErrorCode, parsed: &AmpAnswer) -> bool {
        code == ErrorCode::MissingParameters
            && matches!(parsed, AmpAnswer::Error(ErrorCode::Other(9), _))
    }

    fn amp009(&self) -> Verdict {
        let deviation = Deviation::Amp009 {
            status: self.status,
        };
        self.verdict(Class::NonStrict, Rule::DRequired, Some(deviation))
    }

    /// The documented layer: what the page demands, whatever the reference says.
    fn documented_layer(&self, parsed: &AmpAnswer) -> Option<Verdict> {
        let refused_key = matches!(parsed, AmpAnswer::Error(ErrorCode::Unauthorized, _));
        match self.documented {
            Documented::Demands { demand, rule } => {
                let due = match demand {
                    Demand::Success => Outcome::Success,
                    Demand::Error(code) => Outcome::Error(*code),
                };
                if due == parsed.outcome() {
                    return None;
                }
                if matches!(demand, Demand::Error(code) if self.amp009_for(*code, parsed)) {
                    return Some(self.amp009());
                }
                // A demanded success is D-SUCCESS or D-OPTIONALS by what the request carries
                // (the purge marker is an optional parameter): the case says which it checks.
                let rule = match demand {
                    Demand::Success => self
                        .case
                        .rules
                        .iter()
                        .copied()
                        .find(|r| [Rule::DSuccess, Rule::DOptionals].contains(r))
                        .unwrap_or(*rule),
                    Demand::Error(_) => *rule,
                };
                if refused_key && due != Outcome::Error(ErrorCode::Unauthorized) {
                    let deviation = Deviation::RefusedKey {
                        due: Some((due, rule)),
                        status: self.status,
                    };
                    return Some(self.verdict(Class::Fail, Rule::DAuth, Some(deviation)));
                }
                let deviation = Deviation::Outcome {
                    due,
                    by: Due::Page(rule),
                    got: parsed.outcome(),
                    status: self.status,
                };
                Some(self.verdict(Class::Fail, rule, Some(deviation)))
            }
            Documented::Silent {
                authenticated: true,
                ..
            } if refused_key
                && !matches!(
                    self.case.expect,
                    Expectation::Error {
                        code: ErrorCode::Unauthorized,
                        ..
                    }
                ) =>
            {
                let deviation = Deviation::RefusedKey {
                    due: None,
                    status: self.status,
                };
                Some(self.verdict(Class::Fail, Rule::DAuth, Some(deviation)))
            }
            Documented::Silent { .. } => None,
        }
    }

    /// The reference rule that decides a case where the page is silent: the rule of the
    /// parameter the answer names, when it is among the reasons the request left the
    /// documented layer; else the case's own rule when it is; else the first reason.
    fn reference_rule(&self, parsed: &AmpAnswer) -> (Rule, Vec<Rule>) {
        match self.documented {
            Documented::Silent { rules, .. } => {
                let rule = named_rule(parsed, rules)
                    .or_else(|| self.case.rules.iter().copied().find(|r| rules.contains(r)))
                    .or_else(|| rules.first().copied())
                    .unwrap_or(self.case.rule());
                (rule, rules.clone())
            }
            // The page decided and the target agreed: what is left is a reference matter,
            // named by the parameter the answer names or the case's first reference rule.
            Documented::Demands { .. } => {
                let reference = |r: &Rule| layer(r.id()) == Layer::Reference;
                let rule = named_rule(parsed, &[])
                    .filter(reference)
                    .or_else(|| self.case.rules.iter().copied().find(reference))
                    .unwrap_or(self.case.rule());
                (rule, Vec::new())
            }
        }
    }

    /// The reference layer: the exact answer of this project's resolutions.
    fn reference_layer(&self, parsed: &AmpAnswer) -> Verdict {
        let (decided_by, silent) = self.reference_rule(parsed);
        let outcome = |due| Deviation::Outcome {
            due,
            by: Due::Reference {
                rule: decided_by,
                silent: silent.clone(),
            },
            got: parsed.outcome(),
            status: self.status,
        };
        match (&self.case.expect, parsed) {
            (Expectation::Success, AmpAnswer::Success(_)) => {
                self.verdict(Class::Pass, self.case.rule(), None)
            }
            (Expectation::Success, AmpAnswer::Error(..)) => {
                self.verdict(self.deviation, decided_by, Some(outcome(Outcome::Success)))
            }
            (Expectation::Error { code, .. }, AmpAnswer::Success(_)) => self.verdict(
                self.deviation,
                decided_by,
                Some(outcome(Outcome::Error(*code))),
            ),
            (Expectation::Error { code, params, .. }, AmpAnswer::Error(got, description))
                if got == code =>
            {
                self.named_parameters(*code, params, description)
            }
            (Expectation::Error { code, .. }, AmpAnswer::Error(..))
                if self.amp009_for(*code, parsed) =>
            {
                self.amp009()
            }
            (Expectation::Error { code, .. }, AmpAnswer::Error(..)) => self.verdict(
                self.deviation,
                decided_by,
                Some(outcome(Outcome::Error(*code))),
            ),
            (Expectation::Info, _) => self.recorded(),
        }
    }

    /// The expected code came: only AMP003 must name parameters (R-ORDER), every one it
    /// rejects, in table order. Named parameters that are not the first ones of the expected
    /// list mean the server skipped an earlier one: it accepted that value (a NUL in a text,
    /// say), a deviation under that parameter's rule. Naming only the first ones is stopping
    /// at the first error, an R-ORDER matter.
    fn named_parameters(&self, code: ErrorCode, params: &[String], description: &str) -> Verdict {
        if code != ErrorCode::MissingParameters {
            return self.verdict(Class::Pass, self.case.rule(), None);
        }
        let missing: Vec<String> = params
            .iter()
            .filter(|p| names(description, p).is_none())
            .cloned()
            .collect();
        let positions: Vec<usize> = params
            .iter()
            .filter_map(|p| names(description, p))
            .collect();
        let prefix = params
            .iter()
            .take_while(|p| names(description, p).is_some())
            .count();
        let status = self.status;
        if !missing.is_empty() && positions.len() > prefix {
            let rule = missing
                .first()
                .and_then(|p| amp_contract::CreateAbuseReport::field(p))
                .and_then(|f| f.contract_rule)
                .unwrap_or(Rule::ROrder);
            let deviation = Deviation::Accepted {
                code,
                status,
                params: missing,
            };
            self.verdict(self.deviation, rule, Some(deviation))
        } else if !missing.is_empty() {
            let deviation = Deviation::Unnamed {
                code,
                status,
                params: missing,
            };
            self.verdict(self.deviation, Rule::ROrder, Some(deviation))
        } else if let Some(valid) = self.valid_but_named(params, description) {
            let rule = amp_contract::CreateAbuseReport::field(&valid)
                .and_then(|f| f.contract_rule)
                .unwrap_or(Rule::ROrder);
            let deviation = Deviation::Refused {
                code,
                status,
                params: vec![valid],
            };
            self.verdict(self.deviation, rule, Some(deviation))
        } else if positions.windows(2).any(|w| w[0] > w[1]) {
            let deviation = Deviation::OutOfOrder {
                code,
                status,
                params: params.to_vec(),
            };
            self.verdict(self.deviation, Rule::ROrder, Some(deviation))
        } else {
            self.verdict(Class::Pass, self.case.rule(), None)
        }
    }

    /// A parameter the AMP003 names that the request sends, once, with a value the page
    /// documents (a category `0` refused as empty by PHP's `empty()`, say): the server refused
    /// a valid value. A looked-up field (`service_id`) is left out: whether its service exists
    /// is the target's to say.
    fn valid_but_named(&self, params: &[String], description: &str) -> Option<String> {
        let crate::cases::BodySpec::Form { pairs, .. } = &self.case.request.body else {
            return None;
        };
        let sent_valid = |name: &str| {
            let mut values = pairs.iter().filter(|(k, _)| k == name.as_bytes());
            match (values.next(), values.next()) {
                (Some((_, value)), None) => std::str::from_utf8(value)
                    .is_ok_and(|v| amp_contract::documented::is_documented_value(name, v)),
                _ => false,
            }
        };
        amp_contract::CreateAbuseReport::FIELDS
            .iter()
            .filter(|f| !f.lookup && !params.iter().any(|p| p == f.name))
            .map(|f| f.name)
            .find(|name| sent_valid(name) && names(description, name).is_some())
            .map(str::to_owned)
    }

    /// Status and content type are reference matters (R-STATUS), except R-BODY's 413.
    fn status_and_media(&self, passed: Verdict, answer: &HttpAnswer) -> Verdict {
        let expected = match &self.case.expect {
            Expectation::Error { status, .. } => *status,
            _ => 200,
        };
        let media = answer.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
                .chars()
                .take(60)
                .collect::<String>()
        });
        if answer.status == expected && media.as_deref() == Some("application/json") {
            return passed;
        }
        let rule = if expected == 413 {
            Rule::RBody
        } else {
            Rule::RStatus
        };
        let deviation = Deviation::Status {
            expected,
            got: answer.status,
            media,
        };
        self.verdict(self.deviation, rule, Some(deviation))
    }
}

#[cfg(test)]
mod tests;
