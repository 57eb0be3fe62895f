//! What the judge hands the report: a [`Verdict`] built of typed parts. What came back is a
//! [`Seen`], how it departs from the contract a [`Deviation`]; the report renders both into
//! words (`report::render`), and a finding's name is a function of class, rule and deviation
//! alone, so rewording a message renames nothing.

use amp_contract::ErrorCode;
use amp_contract::rules::Rule;
use amp_contract::stored::FieldDiff;

use super::Class;
use crate::target::TransportError;

/// The judge's result for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Outcome class (CONTRACT.md §4).
    pub class: Class,
    /// The rule it is filed under.
    pub rule: Rule,
    /// How the answer departs from the contract; `None` for a plain pass.
    pub deviation: Option<Deviation>,
    /// What came back.
    pub seen: Seen,
}

impl Verdict {
    /// The `report_id` of a success answer.
    pub fn report_id(&self) -> Option<u64> {
        match &self.seen {
            Seen::Amp {
                answer: AmpAnswer::Success(id),
                ..
            } => Some(*id),
            _ => None,
        }
    }

    /// The outcome was right and only the HTTP status or media type deviates (R-STATUS,
    /// R-BODY's 413): a matter of the transport, not of the request's values.
    pub fn status_only(&self) -> bool {
        matches!(self.deviation, Some(Deviation::Status { .. }))
    }
}

/// An answer in the contract's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmpAnswer {
    /// Success with this id.
    Success(u64),
    /// Error with code and description.
    Error(ErrorCode, String),
}

impl AmpAnswer {
    /// The outcome, without the id or description.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Success(_) => Outcome::Success,
            Self::Error(code, _) => Outcome::Error(*code),
        }
    }
}

/// An outcome: success, or an AMP error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// `status: success` with a `report_id`.
    Success,
    /// `status: error` with this code.
    Error(ErrorCode),
}

/// What came back for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// An AMP answer.
    Amp {
        /// HTTP status.
        status: u16,
        /// The answer.
        answer: AmpAnswer,
    },
    /// A redirect (never followed).
    Redirect {
        /// HTTP status.
        status: u16,
        /// Its `Location`, at most 200 characters.
        location: Option<String>,
    },
    /// A body that is not an AMP answer.
    NotAmp {
        /// HTTP status.
        status: u16,
        /// What the body is.
        body: NotAmp,
    },
    /// No usable HTTP answer.
    Transport(TransportError),
}

impl Seen {
    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Amp { status, .. }
            | Self::Redirect { status, .. }
            | Self::NotAmp { status, .. } => Some(*status),
            Self::Transport(_) => None,
        }
    }
}

/// A body that is not the contract's JSON: what it is, with the rule it breaks, and an
/// excerpt for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAmp {
    /// What kind of body.
    pub kind: BodyKind,
    /// Its first line of text (tags removed, at most 120 characters), or the detail of the
    /// JSON error: data for the reader, never part of a finding's identity.
    pub excerpt: String,
}

/// The kinds of body that are not an AMP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BodyKind {
    /// No bytes.
    Empty,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// An HTML page.
    Html,
    /// Text that starts like JSON and is not.
    MalformedJson,
    /// Other text.
    Text,
    /// JSON, but not an object (the JSON type's name).
    NotObject(JsonKind),
    /// `status` neither `success` nor `error`.
    NoStatus,
    /// Success without a `report_id`.
    NoReportId,
    /// A `report_id` that is not an integer >= 1.
    BadReportId,
    /// An error without a string `error_code`.
    NoErrorCode,
    /// An `error_code` that is not `AMPnnn`.
    BadErrorCode,
    /// An error without a non-empty `error_description`.
    NoDescription,
}

impl BodyKind {
    /// The documented rule a body of this kind breaks.
    pub fn rule(self) -> Rule {
        match self {
            Self::Empty | Self::NotUtf8 | Self::Html | Self::MalformedJson | Self::Text => {
                Rule::DNo5xx
            }
            Self::NoReportId | Self::BadReportId => Rule::DSuccess,
            Self::NotObject(_)
            | Self::NoStatus
            | Self::NoErrorCode
            | Self::BadErrorCode
            | Self::NoDescription => Rule::DErrorShape,
        }
    }
}

/// A JSON value's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JsonKind {
    /// `[...]`.
    Array,
    /// `"..."`.
    String,
    /// A number.
    Number,
    /// `true`/`false`.
    Boolean,
    /// `null`.
    Null,
}

/// What the page or the reference said the outcome should be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    /// The page demands it, by this documented rule.
    Page(Rule),
    /// The reference layer's answer, decided by this rule; `silent` lists the rules that made
    /// the page leave the request open (empty when the page agreed on the outcome).
    Reference {
        /// The deciding rule.
        rule: Rule,
        /// Why the page is silent.
        silent: Vec<Rule>,
    },
}

/// How a check departs from the contract: what, with the class and the rule, makes checks
/// one finding. Values that vary from request to request (report ids, descriptions, excerpts,
/// run ids) are carried for the reader but never enter a finding's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deviation {
    /// The outcome was right; the HTTP status or the media type differs (R-STATUS, R-BODY's
    /// 413).
    Status {
        /// The status due.
        expected: u16,
        /// The status answered.
        got: u16,
        /// The media type answered, lower case without parameters (`None`: no
        /// `Content-Type`).
        media: Option<String>,
    },
    /// Another outcome than the one due.
    Outcome {
        /// What was due.
        due: Outcome,
        /// By whom.
        by: Due,
        /// What came.
        got: Outcome,
        /// Its HTTP status.
        status: u16,
    },
    /// A request with exactly one valid key was refused with AMP001 (header names are
    /// case-insensitive).
    RefusedKey {
        /// What the page demanded instead, if it decided.
        due: Option<(Outcome, Rule)>,
        /// HTTP status.
        status: u16,
    },
    /// AMP009 where the code table says AMP003 (the page's own example).
    Amp009 {
        /// HTTP status.
        status: u16,
    },
    /// The expected AMP003 does not name every parameter it rejects (R-ORDER).
    Unnamed {
        /// The code.
        code: ErrorCode,
        /// HTTP status.
        status: u16,
        /// The parameters not named.
        params: Vec<String>,
    },
    /// The expected AMP003 names later parameters but skips these earlier ones: their values
    /// were accepted (filed under the skipped parameter's rule).
    Accepted {
        /// The code.
        code: ErrorCode,
        /// HTTP status.
        status: u16,
        /// The parameters whose values were accepted.
        params: Vec<String>,
    },
    /// AMP003 names the parameters, not in table order.
    OutOfOrder {
        /// The code.
        code: ErrorCode,
        /// HTTP status.
        status: u16,
        /// The parameters in table order.
        params: Vec<String>,
    },
    /// HTTP 5xx to a well-framed request (D-NO-5XX).
    ServerError {
        /// HTTP status.
        status: u16,
        /// What the body was.
        body: Body,
    },
    /// A body over 1 MiB refused by a hop's own limit (R-BODY; CONTRACT.md D-NO-5XX).
    HopLimit {
        /// HTTP status.
        status: u16,
        /// What the body was.
        body: Body,
    },
    /// The answer is not the contract's JSON.
    NotAmp {
        /// HTTP status.
        status: u16,
        /// What came instead.
        body: NotAmp,
    },
    /// A redirect instead of the API's JSON.
    Redirect {
        /// HTTP status.
        status: u16,
    },
    /// Behaviour recorded where no rule decides (INFO).
    Recorded {
        /// What came.
        got: Body,
        /// HTTP status.
        status: u16,
    },
    /// No usable HTTP answer.
    Transport(TransportError),
    /// Stored values differ from what was sent.
    Stored {
        /// The report read back.
        report_id: u64,
        /// Every difference, in table order.
        diffs: Vec<FieldDiff>,
    },
    /// The observer could not read a created report.
    Unobservable {
        /// What the observer said.
        error: String,
    },
    /// Ids did not increase strictly between creates answered in sequence (R-IDS).
    IdsNotIncreasing {
        /// `(earlier check, its id, later check, its id)`, at most a few.
        pairs: Vec<(String, u64, String, u64)>,
    },
    /// Two creates of this run got the same id (D-UNIQUE).
    IdsRepeated {
        /// `(id, the check that got it again)`.
        ids: Vec<(u64, String)>,
    },
    /// A create got the id of a report an earlier run created that is still stored
    /// (D-UNIQUE across runs, proven by the observer).
    IdsReused {
        /// `(id, the check that got it, the earlier run whose report holds it)`.
        ids: Vec<(u64, String, String)>,
    },
    /// Ids seen by earlier runs came again, with no evidence that the earlier reports are
    /// still stored: what a fresh database looks like (INFO).
    IdsRestarted {
        /// `(id, the check that got it)`, at most a few.
        ids: Vec<(u64, String)>,
        /// The earlier runs remembered.
        runs: Vec<String>,
    },
}

/// A body as a finding names it: an AMP outcome or a kind of non-AMP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Body {
    /// An AMP answer with this outcome.
    Amp(Outcome),
    /// Not an AMP answer.
    Other(BodyKind),
    /// A redirect.
    Redirect,
}

impl Seen {
    /// The body as a finding names it (`None` without an answer).
    pub fn body(&self) -> Option<Body> {
        match self {
            Self::Amp { answer, .. } => Some(Body::Amp(answer.outcome())),
            Self::NotAmp { body, .. } => Some(Body::Other(body.kind)),
            Self::Redirect { .. } => Some(Body::Redirect),
            Self::Transport(_) => None,
        }
    }
}
