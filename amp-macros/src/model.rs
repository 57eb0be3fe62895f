//! The intermediate model of an action: what each field is, independent of attribute syntax.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, Ident, LitInt, LitStr, Type};

use crate::attr::{self, FieldAttrs, PresenceAttr, Spanned};
use crate::ctxt::Ctxt;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Boolean,
    Ip,
    Enumeration,
}

impl Kind {
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "text" => Self::Text,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "ip" => Self::Ip,
            "enumeration" => Self::Enumeration,
            _ => return None,
        })
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Ip => "ip",
            Self::Enumeration => "enumeration",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    Customer,
    Admin,
}

/// A numeric limit and where it was written.
#[derive(Clone)]
pub(crate) struct Limit {
    pub(crate) value: u64,
    pub(crate) key: &'static str,
    pub(crate) span: Span,
}

pub(crate) struct Field {
    pub(crate) index: usize,
    pub(crate) vis: syn::Visibility,
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) kind: Kind,
    pub(crate) kind_span: Span,
    pub(crate) presence: PresenceAttr,
    pub(crate) max_chars: Option<Limit>,
    pub(crate) max_bytes: Option<Limit>,
    pub(crate) min: Option<Limit>,
    pub(crate) max: Option<Limit>,
    pub(crate) trim: bool,
    pub(crate) lookup: bool,
    pub(crate) visibility: Visibility,
    pub(crate) rules: Vec<LitStr>,
    pub(crate) doc: String,
}

impl Field {
    pub(crate) fn limits(&self) -> impl Iterator<Item = &Limit> {
        [&self.max_chars, &self.max_bytes, &self.min, &self.max]
            .into_iter()
            .flatten()
    }
}

pub(crate) struct Action<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) action: Option<LitStr>,
    /// `stored = "..."`: the typed record to generate, if any.
    pub(crate) stored: Option<LitStr>,
    pub(crate) fields: Vec<Field>,
}

fn limit(cx: &Ctxt, attr: Option<Spanned<LitInt>>, key: &'static str) -> Option<Limit> {
    let attr = attr?;
    match attr.value.base10_parse::<u64>() {
        Ok(value) => Some(Limit {
            value,
            key,
            span: attr.span,
        }),
        Err(_) => {
            cx.error_spanned_by(&attr.value, format!("`{key}` takes a whole number"));
            None
        }
    }
}

impl<'a> Action<'a> {
    /// Builds the model, recording every problem in `cx`. `None` when the input's shape makes
    /// a model impossible (not a struct with named fields).
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let attr::StructAttrs { action, stored } = attr::parse_struct(cx, &input.attrs);
        if action.is_none() {
            cx.error_spanned_by(
                &input.ident,
                "missing `#[amp(action = \"...\")]` on the struct: name the action it handles",
            );
        }
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(&input.generics, "an AMP action cannot be generic");
        }
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                _ => None,
            },
            _ => None,
        };
        let Some(named) = named else {
            cx.error_spanned_by(
                &input.ident,
                "AmpAction derives only on a struct with named fields (one per parameter)",
            );
            return None;
        };
        let mut fields = Vec::new();
        for (index, field) in named.named.iter().enumerate() {
            let Some(ident) = field.ident.clone() else {
                continue;
            };
            let attrs = FieldAttrs::parse(cx, &field.attrs);
            let kind = match attrs.kinds.as_slice() {
                [one] => Kind::from_key(one.value).map(|k| (k, one.span)),
                [] => {
                    cx.error_spanned_by(
                        &ident,
                        format!(
                            "field `{ident}` needs a kind: add one of `text`, `integer`, \
                             `boolean`, `ip`, `enumeration` to its #[amp(...)]"
                        ),
                    );
                    None
                }
                [_, second, ..] => {
                    cx.syn_error(syn::Error::new(
                        second.span,
                        format!("field `{ident}` has more than one kind: keep exactly one"),
                    ));
                    None
                }
            };
            let presence = match attrs.presences.as_slice() {
                [one] => Some(one.clone()),
                [] => {
                    cx.error_spanned_by(
                        &ident,
                        format!(
                            "say whether `{ident}` is `required`, `optional`, or has a \
                             `default = \"...\"` (or `resolved_default = \"...\"`)"
                        ),
                    );
                    None
                }
                [first, second, ..] => {
                    let message = match (&first.value, &second.value) {
                        (PresenceAttr::Required, PresenceAttr::Default(_))
                        | (PresenceAttr::Default(_), PresenceAttr::Required) => format!(
                            "`{ident}` is `required`, so it cannot have a `default`: \
                             remove one of them"
                        ),
                        (a, b) => format!(
                            "`{}` and `{}` exclude each other on `{ident}`: keep one",
                            a.key(),
                            b.key()
                        ),
                    };
                    cx.syn_error(syn::Error::new(second.span, message));
                    None
                }
            };
            let visibility = match &attrs.visibility {
                None => Some(Visibility::Customer),
                Some(v) => match v.value.value().as_str() {
                    "customer" => Some(Visibility::Customer),
                    "admin" => Some(Visibility::Admin),
                    other => {
                        cx.error_spanned_by(
                            &v.value,
                            format!("unknown visibility `{other}`: use \"customer\" or \"admin\""),
                        );
                        None
                    }
                },
            };
            let (name, name_span) = match &attrs.name {
                Some(n) => (n.value.value(), n.value.span()),
                None => (
                    ident.to_string().trim_start_matches("r#").to_owned(),
                    ident.span(),
                ),
            };
            let max_chars = limit(cx, attrs.max_chars, attr::MAX_CHARS);
            let max_bytes = limit(cx, attrs.max_bytes, attr::MAX_BYTES);
            let min = limit(cx, attrs.min, attr::MIN);
            let max = limit(cx, attrs.max, attr::MAX);
            let (Some((kind, kind_span)), Some(presence), Some(visibility)) =
                (kind, presence, visibility)
            else {
                continue;
            };
            fields.push(Field {
                index,
                vis: field.vis.clone(),
                ident,
                ty: field.ty.clone(),
                name,
                name_span,
                kind,
                kind_span,
                presence: presence.value,
                max_chars,
                max_bytes,
                min,
                max,
                trim: attrs.trim.is_some(),
                lookup: attrs.lookup.is_some(),
                visibility,
                rules: attrs.rules,
                doc: attr::doc_of(&field.attrs),
            });
        }
        Some(Self {
            input,
            action,
            stored,
            fields,
        })
    }
}
