//! Cross-attribute checks over the model, and literal defaults validated at expansion time.

use std::collections::HashMap;

use crate::attr::PresenceAttr;
use crate::ctxt::Ctxt;
use crate::model::{Action, Field, Kind};
use crate::rules_table::{Rule, in_contract_namespace};
use crate::value_rules::{
    IntegerError, TextError, boolean_spellings, check_text, parse_bool, parse_canonical_integer,
    parse_ip,
};

/// Runs every check, recording problems in `cx`.
pub(crate) fn check(cx: &Ctxt, action: &Action<'_>) {
    check_action_name(cx, action);
    check_stored_name(cx, action);
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

fn check_stored_name(cx: &Ctxt, action: &Action<'_>) {
    let Some(lit) = &action.stored else { return };
    match syn::parse_str::<syn::Ident>(&lit.value()) {
        Ok(ident) if ident == action.input.ident => cx.error_spanned_by(
            lit,
            "the stored record needs a name of its own, not the action's: e.g. \"ResolvedCreate\"",
        ),
        Ok(_) => {}
        Err(_) => cx.error_spanned_by(
            lit,
            format!(
                "`stored` names the struct to generate: `{}` is not an identifier",
                lit.value()
            ),
        ),
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
                    "`{text}` is not a rule id: write it as in the contract, e.g. \"{}\"",
                    Rule::RServiceId.id()
                ),
            );
        } else if in_contract_namespace(&text) && Rule::from_id(&text).is_none() {
            let hint = closest_rule(&text)
                .map(|rule| format!(" (did you mean `{}`?)", rule.id()))
                .unwrap_or_default();
            let known: Vec<&str> = Rule::ALL.iter().map(|rule| rule.id()).collect();
            cx.error_spanned_by(
                rule,
                format!(
                    "unknown rule id `{text}`{hint}; known: {}",
                    known.join(", ")
                ),
            );
        }
    }
}

/// The catalogue's rule nearest to a misspelt id, if one is within a few edits.
fn closest_rule(text: &str) -> Option<Rule> {
    Rule::ALL
        .iter()
        .map(|rule| (edit_distance(text, rule.id()), *rule))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, rule)| rule)
}

/// Levenshtein distance over bytes (rule ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
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

/// Why a default literal is not a value of the field, or `None` when it is: the runtime's own
/// value rules (`value_rules.rs`, shared with amp-contract). Enumerations, and an integer's
/// type range, are checked while compiling the generated code, where the types are known.
fn default_problem(field: &Field, wire: &str) -> Option<String> {
    let limit = |l: &Option<crate::model::Limit>| {
        l.as_ref()
            .map(|l| usize::try_from(l.value).unwrap_or(usize::MAX))
    };
    match field.kind {
        Kind::Text => match check_text(wire, limit(&field.max_chars), limit(&field.max_bytes)) {
            Ok(()) => None,
            Err(TextError::ContainsNul) => Some("contains a NUL character".to_owned()),
            Err(TextError::TooManyBytes(_)) => Some("is longer than `max_bytes`".to_owned()),
            Err(TextError::TooManyChars(_)) => Some("is longer than `max_chars`".to_owned()),
        },
        Kind::Integer => {
            let min = field.min.as_ref().map_or(0, |m| m.value);
            let max = field.max.as_ref().map_or(u64::MAX, |m| m.value);
            match parse_canonical_integer(wire, min, max) {
                Ok(_) => None,
                Err(IntegerError::OutOfRange { .. })
                    if field.min.is_none() && field.max.is_none() =>
                {
                    Some("is larger than any integer field can hold".to_owned())
                }
                Err(IntegerError::OutOfRange { .. }) => Some("is outside `min`..=`max`".to_owned()),
                Err(IntegerError::NotCanonical) => {
                    Some("is not a decimal integer without sign or leading zero".to_owned())
                }
            }
        }
        Kind::Boolean => parse_bool(wire)
            .is_none()
            .then(|| format!("is not a boolean ({})", boolean_spellings())),
        Kind::Ip => parse_ip(wire)
            .is_none()
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
