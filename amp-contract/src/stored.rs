//! What a server stores for an accepted request, field by field, and the comparison of a
//! stored record with the one expected: D-DEFAULTS' equality (text up to surrounding
//! whitespace, addresses as addresses) against the reference's exact forms (R-CATEGORY
//! trimmed, R-TEXT exact, R-SERVICE-IP canonical).
//!
//! Nothing here names a field: the derive lists an action's stored values in table order
//! ([`crate::Action::resolve`], [`Record::record`]), and every rule comes from the metadata.
//!
//! ```
//! use amp_contract::stored::{Record, compare};
//! use amp_contract::{Action, AssumeExists, CreateAbuseReport};
//!
//! let sent = CreateAbuseReport::new(1, "Spam");
//! let expected = sent.resolve(&mut AssumeExists).record();
//! let mut stored = sent.resolve(&mut AssumeExists);
//! stored.category = " Spam ".to_owned(); // stored untrimmed
//! let diffs = compare(&expected, &stored.record());
//! assert_eq!(diffs.len(), 1);
//! assert_eq!(diffs[0].to_string(), r#"category " Spam ", expected "Spam""#);
//! assert!(!diffs[0].documented); // equal by D-DEFAULTS: NON-STRICT under R-CATEGORY
//! assert_eq!(diffs[0].rule, amp_contract::rules::Rule::RCategory);
//! ```

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::meta::{FieldMeta, Kind};
use crate::value_rules::{parse_bool, parse_canonical_integer, parse_ip, php_trim};

/// One stored value, typed by its field's kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoredValue {
    /// Text, as stored (trimmed or not, per the field's rule).
    Text(String),
    /// A whole number.
    Integer(u64),
    /// A truth value.
    Boolean(bool),
    /// An address in canonical text (RFC 5952), or a literal a server stores instead, such as
    /// `(No Dedicated IP)`.
    Ip(String),
    /// One of an enumeration's spellings.
    Enumeration(String),
}

impl StoredValue {
    /// A value given as text, typed by `kind` (how a resolved default or an observer's string
    /// arrives). An integer or boolean that does not read as one stays text.
    pub fn from_text(kind: Kind, text: String) -> Self {
        match kind {
            Kind::Text => Self::Text(text),
            Kind::Ip => Self::Ip(text),
            Kind::Enumeration => Self::Enumeration(text),
            Kind::Integer => match parse_canonical_integer(&text, 0, u64::MAX) {
                Ok(n) => Self::Integer(n),
                Err(_) => Self::Text(text),
            },
            Kind::Boolean => match parse_bool(&text) {
                Some(b) => Self::Boolean(b),
                None => Self::Text(text),
            },
        }
    }

    /// The value as wire text: `1`/`0` for booleans, as `http_build_query` sends them.
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(s) | Self::Ip(s) | Self::Enumeration(s) => s.clone(),
            Self::Integer(n) => n.to_string(),
            Self::Boolean(b) => if *b { "1" } else { "0" }.to_owned(),
        }
    }

    /// Equal by D-DEFAULTS: text up to surrounding whitespace (R-EMPTY's set), addresses as
    /// addresses; everything else exactly.
    pub fn same_meaning(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => php_trim(a) == php_trim(b),
            (Self::Ip(a), Self::Ip(b)) => {
                a == b
                    || matches!(
                        (parse_ip(php_trim(a)), parse_ip(php_trim(b))),
                        (Some(x), Some(y)) if x == y
                    )
            }
            (a, b) => a == b,
        }
    }

    /// Writes the value for a diff: text and addresses quoted, the rest plain.
    fn describe(value: Option<&Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match value {
            None => f.write_str("absent"),
            Some(Self::Text(s) | Self::Ip(s)) => write!(f, "{s:?}"),
            Some(Self::Enumeration(s)) => f.write_str(s),
            Some(Self::Integer(n)) => write!(f, "{n}"),
            Some(Self::Boolean(b)) => write!(f, "{b}"),
        }
    }
}

/// JSON as an observer shows it: text as a string, integers as numbers, booleans as booleans.
impl Serialize for StoredValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(s) | Self::Ip(s) | Self::Enumeration(s) => serializer.serialize_str(s),
            Self::Integer(n) => serializer.serialize_u64(*n),
            Self::Boolean(b) => serializer.serialize_bool(*b),
        }
    }
}

/// The values stored for one request of an action, in its table order; `None` for a field
/// that is absent (an optional one without default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    fields: &'static [FieldMeta],
    values: Vec<Option<StoredValue>>,
}

impl StoredRecord {
    /// A record of `fields` (an action's [`crate::Action::FIELDS`]) with one value per field,
    /// in table order; missing trailing values are absent, extra ones are dropped.
    pub fn new(fields: &'static [FieldMeta], mut values: Vec<Option<StoredValue>>) -> Self {
        values.resize(fields.len(), None);
        Self { fields, values }
    }

    /// The fields, in table order.
    pub fn fields(&self) -> &'static [FieldMeta] {
        self.fields
    }

    /// The value stored for the parameter named `name` on the wire.
    pub fn get(&self, name: &str) -> Option<&StoredValue> {
        let at = self.fields.iter().position(|f| f.name == name)?;
        self.values.get(at)?.as_ref()
    }

    /// Sets the value of the parameter named `name`; `false` when the action has no such one.
    pub fn set(&mut self, name: &str, value: Option<StoredValue>) -> bool {
        match self.fields.iter().position(|f| f.name == name) {
            Some(at) => {
                self.values[at] = value;
                true
            }
            None => false,
        }
    }

    /// Each field with its value, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static FieldMeta, Option<&StoredValue>)> {
        self.fields
            .iter()
            .zip(self.values.iter().map(Option::as_ref))
    }

    /// The record as an observer's JSON object (absent values as `null`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads an observer's JSON object for the action of `fields`: a missing key or `null`
    /// is an absent value; a value of another JSON type than its field's kind is an error.
    /// Keys the action does not have (such as `report_id`) are ignored.
    pub fn from_json(
        fields: &'static [FieldMeta],
        json: &serde_json::Value,
    ) -> Result<Self, String> {
        let object = json
            .as_object()
            .ok_or_else(|| format!("a stored record is a JSON object, not {json}"))?;
        let values = fields
            .iter()
            .map(|field| {
                let value = match object.get(field.name) {
                    None | Some(serde_json::Value::Null) => return Ok(None),
                    Some(value) => value,
                };
                let typed = match (field.kind, value) {
                    (Kind::Integer, serde_json::Value::Number(n)) => {
                        n.as_u64().map(StoredValue::Integer)
                    }
                    (Kind::Boolean, serde_json::Value::Bool(b)) => Some(StoredValue::Boolean(*b)),
                    (Kind::Text | Kind::Ip | Kind::Enumeration, serde_json::Value::String(s)) => {
                        Some(StoredValue::from_text(field.kind, s.clone()))
                    }
                    _ => None,
                };
                typed.map(Some).ok_or_else(|| {
                    format!(
                        "`{}` is {value}, not a stored {} value",
                        field.name,
                        field.kind.name()
                    )
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self::new(fields, values))
    }
}

/// A JSON object with the fields' wire names as keys, in table order.
impl Serialize for StoredRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (field, value) in self.iter() {
            map.serialize_entry(field.name, &value)?;
        }
        map.end()
    }
}

/// A stored record of an action in any form: the generic [`StoredRecord`], or the typed
/// struct `#[amp(stored = "...")]` generates (such as [`crate::ResolvedCreate`]).
pub trait Record: Clone + PartialEq + fmt::Debug {
    /// The record field by field, for [`compare`].
    fn record(&self) -> StoredRecord;
}

impl Record for StoredRecord {
    fn record(&self) -> StoredRecord {
        self.clone()
    }
}

/// One stored value that is not the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// The field.
    pub field: &'static FieldMeta,
    /// What the reference layer stores.
    pub expected: Option<StoredValue>,
    /// What was read back.
    pub got: Option<StoredValue>,
    /// Whether it differs even by D-DEFAULTS' equality (text up to surrounding whitespace,
    /// addresses as addresses, booleans as truth values): then it breaks a documented rule.
    pub documented: bool,
    /// The rule whose exact form it misses: the field's governing rule (R-CATEGORY trimmed,
    /// R-TEXT exact, R-SERVICE-IP canonical, ...); D-DEFAULTS for a field of another API.
    pub rule: crate::rules::Rule,
}

/// `category " Spam ", expected "Spam"`: what was read back, then what was expected.
impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.field.name)?;
        StoredValue::describe(self.got.as_ref(), f)?;
        f.write_str(", expected ")?;
        StoredValue::describe(self.expected.as_ref(), f)
    }
}

/// Every field of `expected` whose value `got` does not hold exactly, in table order, each
/// marked with whether D-DEFAULTS' equality sees the difference too. Fields are matched by
/// wire name, so `got` may come from an observer's JSON ([`StoredRecord::from_json`]).
pub fn compare(expected: &StoredRecord, got: &StoredRecord) -> Vec<FieldDiff> {
    expected
        .iter()
        .filter_map(|(field, want)| {
            let have = got.get(field.name);
            if want == have {
                return None;
            }
            let same = matches!((want, have), (Some(a), Some(b)) if a.same_meaning(b));
            Some(FieldDiff {
                field,
                expected: want.cloned(),
                got: have.cloned(),
                documented: !same,
                rule: field.contract_rule.unwrap_or(crate::rules::Rule::DDefaults),
            })
        })
        .collect()
}
