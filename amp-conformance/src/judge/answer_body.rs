//! What an answer's body is, read once, for the run's diagnoses and the observer's errors
//! (below both: the observer is a stage, the diagnoses are the report's).

/// What an answer's body is, read once: the contract's JSON, other JSON, an HTML page, other
/// text, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AnswerBody {
    /// An AMP answer (success or error).
    Amp(super::AmpAnswer),
    /// JSON that is no AMP answer (an observer's record, a framework's error object); its
    /// beginning.
    Json(String),
    /// An HTML page (keyed on the body: JSON labelled `text/html` is still JSON); its first
    /// lines of text.
    Html(String),
    /// Anything else; its first line.
    Text(String),
    /// No body.
    Empty,
}

impl AnswerBody {
    /// Reads `body`.
    pub(crate) fn of(body: &[u8]) -> Self {
        if let Ok(amp) = super::parse_answer(body) {
            return Self::Amp(amp);
        }
        if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            return Self::Json(clip(String::from_utf8_lossy(body).trim(), 160));
        }
        let head = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        if head.trim().is_empty() {
            return Self::Empty;
        }
        if head.trim_start().starts_with('<') {
            let text = super::strip_tags(&head);
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3)
                .collect();
            return Self::Html(clip(&first.join(" | "), 200));
        }
        Self::Text(clip(head.lines().next().unwrap_or("").trim(), 200))
    }

    /// How a note names it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Amp(super::AmpAnswer::Success(id)) => format!("an AMP success (report {id})"),
            Self::Amp(super::AmpAnswer::Error(code, text)) => {
                format!("an AMP error {code} \"{}\"", clip(text, 120))
            }
            Self::Json(text) => format!("JSON that is not an AMP answer: {text}"),
            Self::Html(first) => format!("an HTML page: {first}"),
            Self::Text(first) => format!("text: {first}"),
            Self::Empty => "an empty body".to_owned(),
        }
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}
