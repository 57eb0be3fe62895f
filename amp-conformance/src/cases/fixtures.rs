//! Fixture cases: human-editable TOML files under `fixtures/cases/`, one `[[case]]` per check.
//!
//! ```toml
//! [[case]]
//! id = "suspend-page-example"
//! rules = ["R-SUSPEND"]
//! title = "The page's own example value `suspend` is not an allowed value"
//! form = [["action", "create"], ["service_id", "{service}"], ["category", "Spam"],
//!         ["suspend_method", "suspend"]]
//! expect = { outcome = "error", code = "AMP003", params = ["suspend_method"] }
//! ```

use std::path::Path;

use amp_contract::ErrorCode;
use serde::Deserialize;
use toml::Spanned;

use super::{Auth, BodySpec, Case, Encoding, Expectation, Origin, RequestSpec};
use crate::rules;

/// A fixture file that cannot be used, with the place to fix.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct FixtureError {
    /// File.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    rules: Vec<String>,
    title: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    form: Option<Vec<(String, String)>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_hex: Option<String>,
    #[serde(default)]
    pad_to: Option<usize>,
    #[serde(default)]
    admin_notes_under_test: bool,
    expect: RawExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    outcome: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    params: Vec<String>,
    #[serde(default)]
    status: Option<u16>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if clean.len() % 2 != 0 {
        return None;
    }
    clean
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect()
}

/// Parses one fixture file's text; `origin` names it in errors and ids.
pub fn parse(text: &str, origin: &str, stem: &str) -> Result<Vec<Case>, FixtureError> {
    let error = |offset: usize, message: String| FixtureError {
        path: origin.to_owned(),
        line: line_of(text, offset),
        message,
    };
    let file: File = toml::from_str(text)
        .map_err(|err| error(err.span().map_or(0, |s| s.start), err.message().to_owned()))?;
    let mut cases = Vec::new();
    for spanned in file.case {
        let at = spanned.span().start;
        let raw = spanned.into_inner();
        let fail = |message: String| error(at, format!("case `{}`: {message}", raw.id));
        if raw.id.is_empty()
            || !raw
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(fail(
                "an id is lower-case letters, digits and dashes".to_owned(),
            ));
        }
        if raw.rules.is_empty() {
            return Err(fail("name at least one rule id in `rules`".to_owned()));
        }
        if let Some(unknown) = raw.rules.iter().find(|r| !rules::is_known(r)) {
            return Err(fail(format!("`{unknown}` is not a rule id of CONTRACT.md")));
        }
        let auth = match raw.auth.as_deref().unwrap_or("valid") {
            "valid" => Auth::Valid,
            "missing" => Auth::Missing,
            "empty" => Auth::Empty,
            "invalid" => Auth::Invalid,
            "twice" => Auth::Twice,
            other => match other.strip_prefix("header:") {
                Some(name) if !name.is_empty() => Auth::ValidAs(name.to_owned()),
                _ => {
                    return Err(fail(format!(
                        "auth `{other}`: use valid, missing, empty, invalid, twice or header:NAME"
                    )));
                }
            },
        };
        let encoding = match raw.encoding.as_deref().unwrap_or("urlencoded") {
            "urlencoded" => Encoding::Urlencoded,
            "percent20" => Encoding::UrlencodedPercent20,
            "multipart" => Encoding::Multipart,
            other => {
                return Err(fail(format!(
                    "encoding `{other}`: use urlencoded, percent20 or multipart"
                )));
            }
        };
        let mut body = match (raw.form, raw.body, raw.body_hex) {
            (Some(form), None, None) => BodySpec::Form {
                pairs: form
                    .into_iter()
                    .map(|(k, v)| (k.into_bytes(), v.into_bytes()))
                    .collect(),
                encoding,
            },
            (None, Some(body), None) => BodySpec::Raw(body.into_bytes()),
            (None, None, Some(h)) => BodySpec::Raw(hex(&h).ok_or_else(|| {
                fail("`body_hex` is not an even number of hex digits".to_owned())
            })?),
            (None, None, None) => BodySpec::Raw(Vec::new()),
            _ => {
                return Err(fail(
                    "give at most one of `form`, `body`, `body_hex`".to_owned(),
                ));
            }
        };
        if let Some(size) = raw.pad_to {
            // Oversize bodies (R-BODY): the last value grows to make the body `size` bytes.
            match &mut body {
                BodySpec::Raw(raw_body) if raw_body.len() < size => raw_body.resize(size, b'a'),
                BodySpec::Form { pairs, .. } => {
                    let current: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
                    if let Some((_, last)) = pairs.last_mut() {
                        last.resize(last.len() + size.saturating_sub(current), b'a');
                    }
                }
                BodySpec::Raw(_) => {}
            }
        }
        let expect = match raw.expect.outcome.as_str() {
            "success" => Expectation::Success,
            "info" => Expectation::Info,
            "error" => {
                let code = raw
                    .expect
                    .code
                    .as_deref()
                    .ok_or_else(|| fail("an error expectation needs `code`".to_owned()))?
                    .parse::<ErrorCode>()
                    .map_err(|e| fail(e.to_string()))?;
                Expectation::Error {
                    code,
                    params: raw.expect.params,
                    status: raw.expect.status.unwrap_or(200),
                }
            }
            other => {
                return Err(fail(format!(
                    "outcome `{other}`: use success, error or info"
                )));
            }
        };
        cases.push(Case {
            id: format!("{stem}/{}", raw.id),
            rules: raw.rules,
            title: raw.title,
            request: RequestSpec {
                method: raw.method.unwrap_or_else(|| "POST".to_owned()),
                auth,
                content_type: raw.content_type,
                headers: raw.headers,
                query: raw.query,
                body,
            },
            expect,
            origin: Origin::Fixture {
                path: origin.to_owned(),
                line: line_of(text, at),
            },
            admin_notes_under_test: raw.admin_notes_under_test,
        });
    }
    Ok(cases)
}

/// Loads every `*.toml` of `dir`, in file-name order; case ids must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, FixtureError> {
    let unreadable = |message: String| FixtureError {
        path: dir.display().to_string(),
        line: 0,
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        unreadable(format!(
            "cannot read the fixture directory: {e} (pass --fixtures DIR)"
        ))
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut cases: Vec<Case> = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| FixtureError {
            path: path.display().to_string(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for case in parse(&text, &path.display().to_string(), &stem)? {
            if cases.iter().any(|c| c.id == case.id) {
                let line = match &case.origin {
                    Origin::Fixture { line, .. } => *line,
                    _ => 0,
                };
                return Err(FixtureError {
                    path: path.display().to_string(),
                    line,
                    message: format!("duplicate case id `{}`", case.id),
                });
            }
            cases.push(case);
        }
    }
    Ok(cases)
}
