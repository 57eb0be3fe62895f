//! Value types: how each kind of parameter value parses from the wire, writes back to it and
//! is stored. Every rule they apply is `value_rules`'s, shared with the derive's checks.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::error::Problem;
use crate::meta::{FieldMeta, Kind, Limits, Presence, Visibility};
use crate::stored::StoredValue;
use crate::value_rules::{
    IntegerError, TextError, check_text, parse_bool, parse_canonical_integer, parse_ip,
};

/// A parameter value type: parses from the wire and writes back to it.
pub trait AmpValue: Sized + Clone + PartialEq + fmt::Debug {
    /// Its kind.
    const KIND: Kind;
    /// Allowed spellings, for enumerations.
    const ALLOWED: &'static [&'static str] = &[];
    /// Integers: the largest value of the type, which bounds a field's declared `max`.
    const TYPE_MAX: Option<u64> = None;

    /// Parses a decoded, UTF-8, non-blank value (already trimmed when the field trims),
    /// enforcing the field's limits.
    fn parse_value(s: &str, meta: &FieldMeta) -> Result<Self, Problem>;

    /// The canonical wire spelling.
    fn to_wire(&self) -> Cow<'_, str>;

    /// The value as a server stores it (by default its wire spelling, typed by [`Self::KIND`]).
    fn to_stored(&self) -> StoredValue {
        StoredValue::from_text(Self::KIND, self.to_wire().into_owned())
    }

    /// A stored value read back (by default parsed from its wire text without limits);
    /// `None` when it is no value of this type.
    fn from_stored(value: &StoredValue) -> Option<Self> {
        Self::parse_value(&value.to_text(), &unconstrained(Self::KIND, Self::TYPE_MAX)).ok()
    }
}

/// A field of `kind` without limits, for reading a value outside any action.
fn unconstrained(kind: Kind, type_max: Option<u64>) -> FieldMeta {
    FieldMeta {
        index: 0,
        name: "",
        doc: "",
        kind,
        presence: Presence::Optional,
        allowed: &[],
        limits: Limits::default(),
        type_max,
        trim: false,
        lookup: false,
        visibility: Visibility::Customer,
        rule: "",
        contract_rule: None,
        rules: &[],
    }
}

/// A field type: a value type, or `Option` of one for a field that may be absent.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of an AMP parameter",
    label = "not a parameter type",
    note = "use String (text), u16/u32/u64 (integer), bool (boolean), IpAddr (ip) or an enum \
            deriving AmpEnum (enumeration), or an Option of one of them"
)]
pub trait AmpField: Sized {
    /// The value type.
    type Value: AmpValue;
    /// Whether absence is representable (`Option<T>`).
    const OPTIONAL: bool;
    /// Wraps a parsed value.
    fn from_value(value: Self::Value) -> Self;
    /// The value of an absent parameter, if this type can represent absence.
    fn absent() -> Option<Self>;
    /// The value, if any.
    fn value(&self) -> Option<&Self::Value>;
}

/// Implements [`AmpField`] for a value type of your own (one that implements [`AmpValue`] by
/// hand); `Option` of it is covered by a blanket impl (an `impl AmpField for Option<Local>`
/// written in another crate would break the orphan rule, so it cannot be generated there).
/// `#[derive(AmpEnum)]` does this itself.
#[macro_export]
macro_rules! impl_amp_field {
    ($ty:ty) => {
        $crate::__impl_amp_field!($ty);
    };
}

/// What `impl_amp_field!` and the derives expand to (a private path, like serde's).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_amp_field {
    ($ty:ty) => {
        impl $crate::__private::AmpField for $ty {
            type Value = $ty;
            const OPTIONAL: bool = false;
            fn from_value(value: $ty) -> Self {
                value
            }
            fn absent() -> ::core::option::Option<Self> {
                ::core::option::Option::None
            }
            fn value(&self) -> ::core::option::Option<&$ty> {
                ::core::option::Option::Some(self)
            }
        }
    };
}

impl<T: AmpValue> AmpField for Option<T> {
    type Value = T;
    const OPTIONAL: bool = true;
    fn from_value(value: T) -> Self {
        Some(value)
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
    fn value(&self) -> Option<&T> {
        self.as_ref()
    }
}

impl AmpValue for String {
    const KIND: Kind = Kind::Text;

    fn parse_value(s: &str, meta: &FieldMeta) -> Result<Self, Problem> {
        match check_text(s, meta.limits.max_chars, meta.limits.max_bytes) {
            Ok(()) => Ok(s.to_owned()),
            Err(TextError::ContainsNul) => Err(Problem::ContainsNul),
            Err(TextError::TooManyBytes(max)) => Err(Problem::TooManyBytes { max }),
            Err(TextError::TooManyChars(max)) => Err(Problem::TooManyChars { max }),
        }
    }

    fn to_wire(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }

    fn to_stored(&self) -> StoredValue {
        StoredValue::Text(self.clone())
    }

    fn from_stored(value: &StoredValue) -> Option<Self> {
        match value {
            StoredValue::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// R-SERVICE-ID's canonical integer, in the field's range within the type's.
fn parse_integer(s: &str, meta: &FieldMeta) -> Result<u64, Problem> {
    let (min, max) = meta.integer_range();
    parse_canonical_integer(s, min, max).map_err(|e| match e {
        IntegerError::NotCanonical => Problem::NotAnInteger,
        IntegerError::OutOfRange { min, max } => Problem::OutOfRange { min, max },
    })
}

macro_rules! integer_value {
    ($($ty:ty),*) => {$(
        impl AmpValue for $ty {
            const KIND: Kind = Kind::Integer;
            const TYPE_MAX: Option<u64> = Some(<$ty>::MAX as u64);

            fn parse_value(s: &str, meta: &FieldMeta) -> Result<Self, Problem> {
                // The type's range bounds the field's, whatever the metadata says.
                let meta = FieldMeta { type_max: Self::TYPE_MAX, ..*meta };
                let n = parse_integer(s, &meta)?;
                <$ty>::try_from(n).map_err(|_| Problem::NotAnInteger)
            }

            fn to_wire(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }

            fn to_stored(&self) -> StoredValue {
                StoredValue::Integer(u64::from(*self))
            }

            fn from_stored(value: &StoredValue) -> Option<Self> {
                match value {
                    StoredValue::Integer(n) => <$ty>::try_from(*n).ok(),
                    _ => None,
                }
            }
        }
        __impl_amp_field!($ty);
    )*};
}
integer_value!(u16, u32, u64);

impl AmpValue for bool {
    const KIND: Kind = Kind::Boolean;

    /// PHP's `FILTER_VALIDATE_BOOLEAN` with `FILTER_NULL_ON_FAILURE` (R-BOOL).
    fn parse_value(s: &str, _meta: &FieldMeta) -> Result<Self, Problem> {
        parse_bool(s).ok_or(Problem::NotABoolean)
    }

    /// As `http_build_query` sends PHP booleans.
    fn to_wire(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "1" } else { "0" })
    }

    fn to_stored(&self) -> StoredValue {
        StoredValue::Boolean(*self)
    }

    fn from_stored(value: &StoredValue) -> Option<Self> {
        match value {
            StoredValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

impl AmpValue for IpAddr {
    const KIND: Kind = Kind::Ip;

    /// Dotted-quad IPv4 without leading zeros, or IPv6 without zone id (R-SERVICE-IP).
    fn parse_value(s: &str, _meta: &FieldMeta) -> Result<Self, Problem> {
        parse_ip(s).ok_or(Problem::NotAnIpAddress)
    }

    /// RFC 5952 text, IPv4-mapped addresses in mixed notation (`::ffff:192.0.2.1`).
    fn to_wire(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }

    fn from_stored(value: &StoredValue) -> Option<Self> {
        match value {
            StoredValue::Ip(s) => parse_ip(s),
            _ => None,
        }
    }
}

__impl_amp_field!(String);
__impl_amp_field!(bool);
__impl_amp_field!(IpAddr);

/// A spelling that is none of an enumeration's (returned by the `FromStr` that
/// `#[derive(AmpEnum)]` generates).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{sent}` is not one of: {}", allowed.join(", "))]
pub struct UnknownSpelling {
    /// What was given.
    pub sent: String,
    /// The spellings that exist.
    pub allowed: &'static [&'static str],
}
