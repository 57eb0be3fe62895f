//! The trait every action derived with `#[derive(AmpAction)]` implements.

/// The parameter the envelope dispatches on; every action's table starts with it.
pub const ACTION_PARAM: &str = "action";

use crate::error::Violations;
use crate::field::FieldMeta;
use crate::form::FormPairs;

/// Answers whether a well-formed value of a field marked `lookup` names something that exists
/// (R-SERVICE-ID's "service not found"). The contract owns the rule and the error; the caller
/// only answers the question.
pub trait Lookup {
    /// Whether `wire_value` (canonical spelling) of `field` exists.
    fn exists(&mut self, field: &FieldMeta, wire_value: &str) -> bool;
}

/// A lookup that knows everything exists: for parsing without server state.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeExists;

impl Lookup for AssumeExists {
    fn exists(&mut self, _field: &FieldMeta, _wire_value: &str) -> bool {
        true
    }
}

impl<F: FnMut(&FieldMeta, &str) -> bool> Lookup for F {
    fn exists(&mut self, field: &FieldMeta, wire_value: &str) -> bool {
        self(field, wire_value)
    }
}

/// An API action: its wire name, its parameter table, parsing and serialisation.
///
/// Implemented by `#[derive(AmpAction)]`; see [`crate::CreateAbuseReport`].
pub trait Action: Sized + Clone + PartialEq + std::fmt::Debug {
    /// The value of the `action` parameter that selects it (case-sensitive, R-ACTION).
    const NAME: &'static str;
    /// Its parameters, in table order (R-ORDER).
    const FIELDS: &'static [FieldMeta];

    /// Parses and validates the parameters (not `action`, which the envelope dispatches on),
    /// asking `lookup` about fields marked `lookup`. All problems are reported, in table order.
    fn from_form_with(form: &FormPairs<'_>, lookup: &mut dyn Lookup) -> Result<Self, Violations>;

    /// [`Action::from_form_with`] without server state.
    fn from_form(form: &FormPairs<'_>) -> Result<Self, Violations> {
        Self::from_form_with(form, &mut AssumeExists)
    }

    /// The pairs a PHP client would send for this value, `action` first.
    fn to_form(&self) -> FormPairs<'static>;

    /// The `application/x-www-form-urlencoded` body `http_build_query` would produce.
    fn to_body(&self) -> String {
        self.to_form().to_urlencoded()
    }

    /// The metadata of the parameter named `name` on the wire.
    fn field(name: &str) -> Option<&'static FieldMeta> {
        Self::FIELDS.iter().find(|f| f.name == name)
    }
}
