//! A request as a report records it: the exact bytes a finding sent (the key only as how it
//! was sent) and what it had to get, for `amp-conformance replay`.

use serde::{Deserialize, Serialize};

use super::{Auth, Expectation, WireRequest};

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
