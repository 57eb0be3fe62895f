//! The trait every action derived with `#[derive(AmpAction)]` implements.

pub use crate::meta::ACTION_PARAM;

use crate::error::Violations;
use crate::form::FormPairs;
use crate::meta::FieldMeta;
use crate::stored::Record;

/// Answers what a request's values depend on in the server's state: whether a well-formed
/// value of a field marked `lookup` names something that exists (R-SERVICE-ID's "service not
/// found"), and what an omitted `resolved_default` field is stored as (D-DEFAULTS). The
/// contract owns the rules and the errors; the caller only answers the questions.
pub trait Lookup {
    /// Whether `wire_value` (canonical spelling) of `field` exists.
    fn exists(&mut self, field: &FieldMeta, wire_value: &str) -> bool;

    /// The stored text of `field`, omitted from the request, whose default the server
    /// resolves (`resolved_default`). Asked after parsing, so it may use what
    /// [`Lookup::exists`] was asked. By default: empty text.
    fn resolve(&mut self, field: &FieldMeta) -> String {
        let _ = field;
        String::new()
    }
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

/// An API action: its wire name, its parameter table, parsing, serialisation and what a
/// server stores for it.
///
/// Implemented by `#[derive(AmpAction)]`; see [`crate::CreateAbuseReport`].
pub trait Action: Sized + Clone + PartialEq + std::fmt::Debug {
    /// The value of the `action` parameter that selects it (case-sensitive, R-ACTION).
    const NAME: &'static str;
    /// Its parameters, in table order (R-ORDER).
    const FIELDS: &'static [FieldMeta];

    /// What a server stores for it: the struct `#[amp(stored = "...")]` generates (such as
    /// [`crate::ResolvedCreate`]), or the generic [`crate::stored::StoredRecord`].
    type Stored: Record;

    /// Parses and validates the parameters (not `action`, which the envelope dispatches on),
    /// asking `lookup` about fields marked `lookup`. All problems are reported, in table order.
    fn from_form_with(form: &FormPairs<'_>, lookup: &mut dyn Lookup) -> Result<Self, Violations>;

    /// [`Action::from_form_with`] without server state.
    fn from_form(form: &FormPairs<'_>) -> Result<Self, Violations> {
        Self::from_form_with(form, &mut AssumeExists)
    }

    /// The values to store: every field's value after defaults and canonical forms, and for
    /// an omitted `resolved_default` field what `lookup` resolves.
    fn resolve(&self, lookup: &mut dyn Lookup) -> Self::Stored;

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
