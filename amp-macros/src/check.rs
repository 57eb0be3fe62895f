//! Cross-attribute checks over the model, and literal defaults validated at expansion time.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::attr::PresenceAttr;
use crate::ctxt::Ctxt;
use crate::model::{Action, Field, Kind};

/// Runs every check, recording problems in `cx`.
pub(crate) fn check(cx: &Ctxt, action: &Action<'_>) {
    check_action_name(cx, action);
    let mut seen: HashMap<&str, &Field> = HashMap::new();
    for field in &action.fields {
        check_wire_name(cx, field);
        if let Some(first) = seen.insert(&field.name, field) {
            cx.syn_error(syn::Error::new(
                field.name_span,
                format!(
                    "duplicate wire name `{}`: fields `{}` and `{}` would read the same \
                     parameter; give one of them another `name = \"...\"`",
                    field.name, first.ident, field.ident
                ),
            ));
        }
        check_rules(cx, field);
        check_limits(cx, field);
        check_default(cx, field);
    }
}

fn check_action_name(cx: &Ctxt, action: &Action<'_>) {
    let Some(lit) = &action.action else { return };
    let name = lit.value();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'&' && b != b'=')
    {
        cx.error_spanned_by(
            lit,
            "an action name is printable ASCII without spaces, `&` or `=`",
        );
    }
}

fn check_wire_name(cx: &Ctxt, field: &Field) {
    let name = &field.name;
    let bad = name.is_empty()
        || name
            .bytes()
            .any(|b| !b.is_ascii_graphic() || matches!(b, b'[' | b']' | b'&' | b'=' | b'+' | b'%'));
    if bad {
        cx.syn_error(syn::Error::new(
            field.name_span,
            format!(
                "`{name}` cannot be a wire name: use printable ASCII without spaces, \
                 brackets, `&`, `=`, `+` or `%`"
            ),
        ));
    } else if name == "action" {
        cx.syn_error(syn::Error::new(
            field.name_span,
            "`action` is the envelope's dispatch parameter, not a field: rename the field",
        ));
    }
}

fn check_rules(cx: &Ctxt, field: &Field) {
    if field.rules.is_empty() {
        cx.error_spanned_by(
            &field.ident,
            format!(
                "field `{}` names no rule: add `rule = \"R-...\"` with the rule id of the \
                 contract that governs its values",
                field.ident
            ),
        );
    }
    for rule in &field.rules {
        let text = rule.value();
        let valid = text.split_once('-').is_some_and(|(prefix, rest)| {
            !prefix.is_empty()
                && prefix.bytes().all(|b| b.is_ascii_uppercase())
                && !rest.is_empty()
                && rest.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                })
        });
        if !valid {
            cx.error_spanned_by(
                rule,
                format!(
                    "`{text}` is not a rule id: write it as in the contract, e.g. \"R-SERVICE-ID\""
                ),
            );
        }
    }
}

fn check_limits(cx: &Ctxt, field: &Field) {
    for limit in field.limits() {
        let applies = match limit.key {
            "max_chars" | "max_bytes" => field.kind == Kind::Text,
            _ => field.kind == Kind::Integer,
        };
        if !applies {
            let owner = if matches!(limit.key, "max_chars" | "max_bytes") {
                "text"
            } else {
                "integer"
            };
            cx.syn_error(syn::Error::new(
                limit.span,
                format!(
                    "`{}` applies to `{owner}` fields only, and `{}` is `{}`: remove the limit",
                    limit.key,
                    field.ident,
                    field.kind.key()
                ),
            ));
        }
    }
    if let (Some(min), Some(max)) = (&field.min, &field.max) {
        if min.value > max.value {
            cx.syn_error(syn::Error::new(
                min.span,
                format!(
                    "`min = {}` is above `max = {}`: no value could pass",
                    min.value, max.value
                ),
            ));
        }
    }
    for limit in [&field.max_chars, &field.max_bytes].into_iter().flatten() {
        if limit.value == 0 {
            cx.syn_error(syn::Error::new(
                limit.span,
                format!(
                    "`{} = 0` allows no text at all: use a positive limit",
                    limit.key
                ),
            ));
        }
    }
}

/// Why a default literal is not a value of the field, or `None` when it is. Enumerations are
/// checked while compiling the generated code, where the enum's spellings are known.
fn default_problem(field: &Field, wire: &str) -> Option<String> {
    let within = |n: u64| {
        field.min.as_ref().is_none_or(|m| n >= m.value)
            && field.max.as_ref().is_none_or(|m| n <= m.value)
    };
    match field.kind {
        Kind::Text => {
            if wire.contains('\0') {
                Some("contains a NUL character".to_owned())
            } else if field
                .max_bytes
                .as_ref()
                .is_some_and(|m| wire.len() as u64 > m.value)
            {
                Some("is longer than `max_bytes`".to_owned())
            } else if field
                .max_chars
                .as_ref()
                .is_some_and(|m| wire.chars().count() as u64 > m.value)
            {
                Some("is longer than `max_chars`".to_owned())
            } else {
                None
            }
        }
        Kind::Integer => {
            let canonical = !wire.is_empty()
                && wire.bytes().all(|b| b.is_ascii_digit())
                && !(wire.len() > 1 && wire.starts_with('0'));
            match wire.parse::<u64>() {
                Ok(n) if canonical && within(n) => None,
                Ok(_) if canonical => Some("is outside `min`..=`max`".to_owned()),
                _ => Some("is not a decimal integer without sign or leading zero".to_owned()),
            }
        }
        Kind::Boolean => {
            let known = ["1", "0", "true", "false", "on", "off", "yes", "no"];
            (!known.iter().any(|k| k.eq_ignore_ascii_case(wire.trim())))
                .then(|| "is not a boolean (1, 0, true, false, on, off, yes, no)".to_owned())
        }
        Kind::Ip => wire
            .parse::<IpAddr>()
            .is_err()
            .then(|| "is not an IPv4 or IPv6 address".to_owned()),
        Kind::Enumeration => None,
    }
}

fn check_default(cx: &Ctxt, field: &Field) {
    match &field.presence {
        PresenceAttr::Default(lit) => {
            if let Some(problem) = default_problem(field, &lit.value()) {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "default {:?} of `{}` {problem}: write a valid {} value",
                        lit.value(),
                        field.ident,
                        field.kind.key()
                    ),
                );
            }
        }
        PresenceAttr::ResolvedDefault(lit) if lit.value().trim().is_empty() => {
            cx.error_spanned_by(
                lit,
                "`resolved_default` describes the default the caller resolves: it cannot be empty",
            );
        }
        _ => {}
    }
}
