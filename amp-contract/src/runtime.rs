//! The runtime that `#[derive(AmpAction)]` and `#[derive(AmpEnum)]` call into, re-exported as
//! `amp_contract::__private` (hidden, like serde's): one call per field, behaviour chosen by
//! the field's type. Not a public API: only generated code names these items.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::action::Lookup;
use crate::error::{Problem, Violations};
use crate::form::{FormPairs, Occurrence};
use crate::meta::{FieldMeta, Presence};
use crate::stored::StoredValue;
pub use crate::value::AmpField;
use crate::value::AmpValue;
use crate::value_rules::{is_blank, php_trim};

/// Reads one field from the form: PHP's last-occurrence rule, R-EMPTY, R-UTF8, trimming, the
/// value's own parse and limits, the caller's lookup, and the field's default. Problems go to
/// `violations`; `None` means the field had one.
pub fn read_field<F: AmpField>(
    form: &FormPairs<'_>,
    meta: &'static FieldMeta,
    lookup: &mut dyn Lookup,
    violations: &mut Violations,
) -> Option<F> {
    let raw = match form.last(meta.name) {
        Occurrence::Array => {
            violations.push(meta, Problem::ArraySyntax);
            return None;
        }
        Occurrence::Absent => return read_absent(meta, violations),
        Occurrence::Value(raw) if is_blank(raw) => return read_absent(meta, violations),
        Occurrence::Value(raw) => raw,
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        violations.push(meta, Problem::InvalidUtf8);
        return None;
    };
    let text = if meta.trim { php_trim(text) } else { text };
    match F::Value::parse_value(text, meta) {
        Ok(value) if meta.lookup && !lookup.exists(meta, &value.to_wire()) => {
            violations.push(meta, Problem::NotFound);
            None
        }
        Ok(value) => Some(F::from_value(value)),
        Err(problem) => {
            violations.push(meta, problem);
            None
        }
    }
}

fn read_absent<F: AmpField>(meta: &'static FieldMeta, violations: &mut Violations) -> Option<F> {
    let absent = match meta.presence {
        Presence::Required => {
            violations.push(meta, Problem::Missing);
            return None;
        }
        Presence::Default(wire) => F::Value::parse_value(wire, meta).ok().map(F::from_value),
        Presence::Optional | Presence::ResolvedDefault(_) => F::absent(),
    };
    if absent.is_none() {
        // The derive checks defaults while compiling; this is the last line of defence.
        violations.push(meta, Problem::BadDefault);
    }
    absent
}

/// A field's value with its type erased: what `to_form` and `resolve` need of it. The derive
/// takes each field once through [`value_of`] (so that a field of an unsupported type is
/// reported once there, not once per use).
pub trait ErasedValue {
    /// The canonical wire spelling.
    fn wire(&self) -> Cow<'_, str>;
    /// The value as stored.
    fn stored(&self) -> StoredValue;
}

impl<V: AmpValue> ErasedValue for V {
    fn wire(&self) -> Cow<'_, str> {
        self.to_wire()
    }

    fn stored(&self) -> StoredValue {
        self.to_stored()
    }
}

/// A field's value, `None` when absent.
pub fn value_of<F: AmpField>(field: &F) -> Option<&dyn ErasedValue> {
    field.value().map(|value| value as &dyn ErasedValue)
}

/// Appends the fields to `form` as `http_build_query` would send them, in table order;
/// absent values and empty text (which reads back as absent) are left out.
pub fn write_values(
    form: &mut FormPairs<'static>,
    fields: &[FieldMeta],
    values: &[Option<&dyn ErasedValue>],
) {
    for (meta, value) in fields.iter().zip(values) {
        if let Some(value) = value {
            let wire = value.wire();
            if !wire.is_empty() {
                form.push(meta.name.as_bytes(), wire.into_owned().into_bytes());
            }
        }
    }
}

/// The stored values of the fields in table order: each value, or for an omitted
/// `resolved_default` field what the lookup resolves; `None` for an absent optional field.
pub fn stored_values(
    fields: &'static [FieldMeta],
    values: &[Option<&dyn ErasedValue>],
    lookup: &mut dyn Lookup,
) -> Vec<Option<StoredValue>> {
    fields
        .iter()
        .zip(values)
        .map(|(meta, value)| match value {
            Some(value) => Some(value.stored()),
            None => resolved(meta, lookup).map(|text| StoredValue::from_text(meta.kind, text)),
        })
        .collect()
}

/// The stored text of a `resolved_default` field: its wire spelling when sent, otherwise what
/// the lookup resolves.
pub fn resolved_text(
    value: Option<&dyn ErasedValue>,
    meta: &'static FieldMeta,
    lookup: &mut dyn Lookup,
) -> String {
    match value {
        Some(value) => value.wire().into_owned(),
        None => resolved(meta, lookup).unwrap_or_default(),
    }
}

fn resolved(meta: &'static FieldMeta, lookup: &mut dyn Lookup) -> Option<String> {
    matches!(meta.presence, Presence::ResolvedDefault(_)).then(|| lookup.resolve(meta))
}

/// A typed record's field as a stored value.
pub fn field_value<F: AmpField>(field: &F) -> Option<StoredValue> {
    field.value().map(AmpValue::to_stored)
}

/// A typed record's resolved text as a stored value of its field's kind.
pub fn text_value(meta: &FieldMeta, text: &str) -> Option<StoredValue> {
    Some(StoredValue::from_text(meta.kind, text.to_owned()))
}

/// `#[serde(with = ...)]` for a typed record's fields: each value as its kind's JSON (text as
/// a string, integers as numbers, booleans as booleans), `null` for an absent optional one.
pub mod stored_field {
    use super::*;

    /// Writes the field's stored form.
    pub fn serialize<F: AmpField, S: Serializer>(
        field: &F,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        field.value().map(AmpValue::to_stored).serialize(serializer)
    }

    /// Reads a field back from its stored form, as strictly as its type.
    pub fn deserialize<'de, F: AmpField, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<F, D::Error> {
        use crate::meta::Kind;
        use serde::de::Error;
        let kind = <F::Value as AmpValue>::KIND;
        let value = match kind {
            Kind::Integer => Option::<u64>::deserialize(deserializer)?.map(StoredValue::Integer),
            Kind::Boolean => Option::<bool>::deserialize(deserializer)?.map(StoredValue::Boolean),
            _ => Option::<String>::deserialize(deserializer)?
                .map(|s| StoredValue::from_text(kind, s)),
        };
        match value {
            None => F::absent().ok_or_else(|| D::Error::custom("a value is required here")),
            Some(value) => F::Value::from_stored(&value)
                .map(F::from_value)
                .ok_or_else(|| {
                    D::Error::custom(format!(
                        "`{}` is no {} value of this field",
                        value.to_text(),
                        kind.name()
                    ))
                }),
        }
    }
}

pub use serde;

pub use crate::__impl_amp_field as impl_amp_field;

pub use crate::value_rules::{allowed_contains, integer_fits};
