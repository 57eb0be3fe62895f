//! Syntax: reading `#[amp(...)]` attributes into spanned values, one symbol constant per key.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitInt, LitStr};

use crate::ctxt::Ctxt;

pub(crate) const AMP: &str = "amp";

// Struct keys.
pub(crate) const ACTION: &str = "action";
// Field keys.
pub(crate) const NAME: &str = "name";
pub(crate) const REQUIRED: &str = "required";
pub(crate) const OPTIONAL: &str = "optional";
pub(crate) const DEFAULT: &str = "default";
pub(crate) const RESOLVED_DEFAULT: &str = "resolved_default";
pub(crate) const KINDS: [&str; 5] = ["text", "integer", "boolean", "ip", "enumeration"];
pub(crate) const MAX_CHARS: &str = "max_chars";
pub(crate) const MAX_BYTES: &str = "max_bytes";
pub(crate) const MIN: &str = "min";
pub(crate) const MAX: &str = "max";
pub(crate) const TRIM: &str = "trim";
pub(crate) const LOOKUP: &str = "lookup";
pub(crate) const VISIBILITY: &str = "visibility";
pub(crate) const RULE: &str = "rule";
// Enum variant keys.
pub(crate) const RENAME: &str = "rename";

const FIELD_KEYS: &str = "text, integer, boolean, ip, enumeration, required, optional, \
default, resolved_default, name, max_chars, max_bytes, min, max, trim, lookup, visibility, rule";

/// A value with the span of the attribute key that set it.
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// Keeps the first setting of a key and reports a repeated one.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<Spanned<T>>, key: &str, span: Span, value: T) {
    if slot.is_some() {
        cx.syn_error(syn::Error::new(
            span,
            format!("duplicate `{key}` attribute: write it once"),
        ));
    } else {
        *slot = Some(Spanned { value, span });
    }
}

fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        })
}

fn span_of(meta: &ParseNestedMeta<'_>) -> Span {
    syn::spanned::Spanned::span(&meta.path)
}

/// Presence as written.
#[derive(Clone)]
pub(crate) enum PresenceAttr {
    Required,
    Optional,
    Default(LitStr),
    ResolvedDefault(LitStr),
}

impl PresenceAttr {
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::Required => REQUIRED,
            Self::Optional => OPTIONAL,
            Self::Default(_) => DEFAULT,
            Self::ResolvedDefault(_) => RESOLVED_DEFAULT,
        }
    }
}

/// Everything the `#[amp(...)]` attributes of one field say.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) kinds: Vec<Spanned<&'static str>>,
    pub(crate) presences: Vec<Spanned<PresenceAttr>>,
    pub(crate) max_chars: Option<Spanned<LitInt>>,
    pub(crate) max_bytes: Option<Spanned<LitInt>>,
    pub(crate) min: Option<Spanned<LitInt>>,
    pub(crate) max: Option<Spanned<LitInt>>,
    pub(crate) trim: Option<Spanned<()>>,
    pub(crate) lookup: Option<Spanned<()>>,
    pub(crate) visibility: Option<Spanned<LitStr>>,
    pub(crate) rules: Vec<LitStr>,
}

impl FieldAttrs {
    pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Self::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(AMP)) {
            let result = attr.parse_nested_meta(|meta| {
                let key = key_of(&meta);
                let span = span_of(&meta);
                match key.as_str() {
                    NAME => set_once(cx, &mut out.name, NAME, span, meta.value()?.parse()?),
                    REQUIRED => out.presences.push(Spanned { value: PresenceAttr::Required, span }),
                    OPTIONAL => out.presences.push(Spanned { value: PresenceAttr::Optional, span }),
                    DEFAULT => {
                        let lit = meta.value()?.parse()?;
                        out.presences.push(Spanned { value: PresenceAttr::Default(lit), span });
                    }
                    RESOLVED_DEFAULT => {
                        let lit = meta.value()?.parse()?;
                        out.presences
                            .push(Spanned { value: PresenceAttr::ResolvedDefault(lit), span });
                    }
                    MAX_CHARS => set_once(cx, &mut out.max_chars, MAX_CHARS, span, meta.value()?.parse()?),
                    MAX_BYTES => set_once(cx, &mut out.max_bytes, MAX_BYTES, span, meta.value()?.parse()?),
                    MIN => set_once(cx, &mut out.min, MIN, span, meta.value()?.parse()?),
                    MAX => set_once(cx, &mut out.max, MAX, span, meta.value()?.parse()?),
                    TRIM => set_once(cx, &mut out.trim, TRIM, span, ()),
                    LOOKUP => set_once(cx, &mut out.lookup, LOOKUP, span, ()),
                    VISIBILITY => set_once(cx, &mut out.visibility, VISIBILITY, span, meta.value()?.parse()?),
                    RULE => out.rules.push(meta.value()?.parse()?),
                    other => match KINDS.iter().find(|k| **k == other) {
                        Some(kind) => out.kinds.push(Spanned { value: *kind, span }),
                        None => {
                            // Consume a `= value` so that parsing goes on to the next key.
                            if meta.input.peek(syn::Token![=]) {
                                let _: syn::Expr = meta.value()?.parse()?;
                            }
                            cx.syn_error(meta.error(format!(
                                "unknown amp field attribute `{other}`; expected one of: {FIELD_KEYS}"
                            )));
                        }
                    },
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

/// The struct-level `#[amp(action = "...")]`.
pub(crate) fn parse_action(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    let mut action: Option<Spanned<LitStr>> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(AMP)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            if key == ACTION {
                set_once(
                    cx,
                    &mut action,
                    ACTION,
                    span_of(&meta),
                    meta.value()?.parse()?,
                );
            } else {
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                cx.syn_error(meta.error(format!(
                    "unknown amp struct attribute `{key}`; expected `action = \"...\"`"
                )));
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    action.map(|a| a.value)
}

/// A variant's `#[amp(rename = "...")]`.
pub(crate) fn parse_rename(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    let mut rename: Option<Spanned<LitStr>> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(AMP)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            if key == RENAME {
                set_once(
                    cx,
                    &mut rename,
                    RENAME,
                    span_of(&meta),
                    meta.value()?.parse()?,
                );
            } else {
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                cx.syn_error(meta.error(format!(
                    "unknown amp variant attribute `{key}`; expected `rename = \"...\"`"
                )));
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    rename.map(|r| r.value)
}

/// The text of the `///` doc comments, lines joined with spaces.
pub(crate) fn doc_of(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|line| !line.is_empty())
        .collect();
    lines.join(" ")
}
