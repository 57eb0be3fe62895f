//! Syntax: reading `#[amp(...)]` attributes into spanned values, one symbol constant per key.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitInt, LitStr};

use crate::ctxt::Ctxt;

pub(crate) const AMP: &str = "amp";

// Struct keys.
pub(crate) const ACTION: &str = "action";
pub(crate) const STORED: &str = "stored";
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

/// The expression after `key =`, or `None` (with the error recorded) when the key has no
/// value. Every shape of value is consumed, so that parsing goes on to the next key.
fn value_expr(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<syn::Expr>> {
    if !meta.input.peek(syn::Token![=]) {
        cx.syn_error(meta.error(format!("`{key}` needs a value: write `{key} = {example}`")));
        return Ok(None);
    }
    Ok(Some(meta.value()?.parse()?))
}

/// A string literal value. Another literal or expression is reported once and read as its
/// text, so that the key still counts and no second error follows from its absence.
fn lit_str(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Option<LitStr>> {
    let Some(expr) = value_expr(cx, meta, key, "\"...\"")? else {
        return Ok(None);
    };
    let text = match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => return Ok(Some(s.clone())),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_digits().to_owned(),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => b.value.to_string(),
        other => quote::quote!(#other).to_string().replace(' ', ""),
    };
    cx.error_spanned_by(
        &expr,
        format!("`{key}` takes a string literal: write `{key} = {text:?}`"),
    );
    Ok(Some(LitStr::new(&text, syn::spanned::Spanned::span(&expr))))
}

/// A whole-number literal value; anything else is reported once.
fn lit_int(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Option<LitInt>> {
    let Some(expr) = value_expr(cx, meta, key, "255")? else {
        return Ok(None);
    };
    match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => return Ok(Some(i.clone())),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) if s.value().parse::<u64>().is_ok() => cx.error_spanned_by(
            &expr,
            format!(
                "`{key}` takes a number, not a string: write `{key} = {}`",
                s.value()
            ),
        ),
        _ => cx.error_spanned_by(
            &expr,
            format!("`{key}` takes a whole-number literal, e.g. `{key} = 255`"),
        ),
    }
    Ok(None)
}

/// A flag such as `trim`: a `= value` after it is reported and skipped.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let value: syn::Expr = meta.value()?.parse()?;
        cx.error_spanned_by(
            &value,
            format!("`{key}` is a flag and takes no value: write `{key}` alone"),
        );
    }
    Ok(())
}

impl FieldAttrs {
    pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Self::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(AMP)) {
            let result = attr.parse_nested_meta(|meta| {
                let key = key_of(&meta);
                let span = span_of(&meta);
                match key.as_str() {
                    NAME => {
                        if let Some(lit) = lit_str(cx, &meta, NAME)? {
                            set_once(cx, &mut out.name, NAME, span, lit);
                        }
                    }
                    REQUIRED => {
                        flag(cx, &meta, REQUIRED)?;
                        out.presences.push(Spanned { value: PresenceAttr::Required, span });
                    }
                    OPTIONAL => {
                        flag(cx, &meta, OPTIONAL)?;
                        out.presences.push(Spanned { value: PresenceAttr::Optional, span });
                    }
                    DEFAULT => {
                        if let Some(lit) = lit_str(cx, &meta, DEFAULT)? {
                            out.presences.push(Spanned { value: PresenceAttr::Default(lit), span });
                        }
                    }
                    RESOLVED_DEFAULT => {
                        if let Some(lit) = lit_str(cx, &meta, RESOLVED_DEFAULT)? {
                            out.presences
                                .push(Spanned { value: PresenceAttr::ResolvedDefault(lit), span });
                        }
                    }
                    MAX_CHARS | MAX_BYTES | MIN | MAX => {
                        let (slot, key) = match key.as_str() {
                            MAX_CHARS => (&mut out.max_chars, MAX_CHARS),
                            MAX_BYTES => (&mut out.max_bytes, MAX_BYTES),
                            MIN => (&mut out.min, MIN),
                            _ => (&mut out.max, MAX),
                        };
                        if let Some(lit) = lit_int(cx, &meta, key)? {
                            set_once(cx, slot, key, span, lit);
                        }
                    }
                    TRIM => {
                        flag(cx, &meta, TRIM)?;
                        set_once(cx, &mut out.trim, TRIM, span, ());
                    }
                    LOOKUP => {
                        flag(cx, &meta, LOOKUP)?;
                        set_once(cx, &mut out.lookup, LOOKUP, span, ());
                    }
                    VISIBILITY => {
                        if let Some(lit) = lit_str(cx, &meta, VISIBILITY)? {
                            set_once(cx, &mut out.visibility, VISIBILITY, span, lit);
                        }
                    }
                    RULE => {
                        if let Some(lit) = lit_str(cx, &meta, RULE)? {
                            out.rules.push(lit);
                        }
                    }
                    other => match KINDS.iter().find(|k| **k == other) {
                        Some(kind) => {
                            flag(cx, &meta, kind)?;
                            out.kinds.push(Spanned { value: *kind, span });
                        }
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

/// The string keys of an item's own `#[amp(...)]` (a struct's, a variant's): one value slot
/// per key of `keys`, each key at most once. An unknown key is reported, naming `what` and
/// the keys it takes.
fn parse_string_keys(
    cx: &Ctxt,
    attrs: &[Attribute],
    keys: &[&'static str],
    what: &str,
) -> Vec<Option<LitStr>> {
    let mut slots: Vec<Option<Spanned<LitStr>>> = vec![None; keys.len()];
    let expected: Vec<String> = keys.iter().map(|k| format!("`{k} = \"...\"`")).collect();
    let expected = expected.join(" or ");
    for attr in attrs.iter().filter(|a| a.path().is_ident(AMP)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            match keys.iter().position(|k| *k == key) {
                Some(at) => {
                    if let Some(lit) = lit_str(cx, &meta, keys[at])? {
                        set_once(cx, &mut slots[at], keys[at], span_of(&meta), lit);
                    }
                }
                None => {
                    if meta.input.peek(syn::Token![=]) {
                        let _: syn::Expr = meta.value()?.parse()?;
                    }
                    cx.syn_error(meta.error(format!(
                        "unknown amp {what} attribute `{key}`; expected {expected}"
                    )));
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    slots.into_iter().map(|s| s.map(|s| s.value)).collect()
}

/// What the struct-level `#[amp(...)]` says.
pub(crate) struct StructAttrs {
    /// `action = "..."`: the wire name of the action.
    pub(crate) action: Option<LitStr>,
    /// `stored = "..."`: the name of the typed record to generate.
    pub(crate) stored: Option<LitStr>,
}

/// The struct-level `#[amp(action = "...", stored = "...")]`.
pub(crate) fn parse_struct(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut slots = parse_string_keys(cx, attrs, &[ACTION, STORED], "struct").into_iter();
    StructAttrs {
        action: slots.next().flatten(),
        stored: slots.next().flatten(),
    }
}

/// A variant's `#[amp(rename = "...")]`.
pub(crate) fn parse_rename(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    parse_string_keys(cx, attrs, &[RENAME], "variant")
        .into_iter()
        .next()
        .flatten()
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
