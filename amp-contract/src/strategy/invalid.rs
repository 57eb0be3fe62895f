//! Every way a field or the action can be broken, each with the rule it breaks.

use proptest::prelude::*;
use proptest::sample::select;

use super::{GenConfig, Wire, valid::valid_value};
use crate::action::ACTION_PARAM;
use crate::meta::{FieldMeta, Kind};
use crate::rules::Rule;
use crate::value_rules::{is_blank, parse_bool};

/// One way of breaking one field, with the problem text and rule it produces.
#[derive(Debug, Clone)]
pub(super) struct Breakage {
    pub(super) pairs: Vec<(Wire, Wire)>,
    pub(super) rule: &'static str,
    pub(super) what: String,
}

fn breakage(pairs: Vec<(Wire, Wire)>, rule: &'static str, what: impl Into<String>) -> Breakage {
    Breakage {
        pairs,
        rule,
        what: what.into(),
    }
}

fn wire(s: &str) -> Wire {
    s.as_bytes().to_vec()
}

/// Every way `meta` can be broken, as a strategy of [`Breakage`].
pub(super) fn breakages(meta: &'static FieldMeta, config: &GenConfig) -> BoxedStrategy<Breakage> {
    let name = meta.name.as_bytes().to_vec();
    let valid = valid_value(meta, config);
    let mut options: Vec<BoxedStrategy<Breakage>> = Vec::new();
    let n = name.clone();
    let nonblank = move |v: Wire, what: &'static str, rule: &'static str| {
        breakage(vec![(n.clone(), v)], rule, what)
    };
    if meta.required() {
        let n = name.clone();
        options.push(
            select(vec!["", " ", "\t", " \r\n ", "\u{b}"])
                .prop_map(move |blank| {
                    breakage(vec![(n.clone(), wire(blank))], Rule::REmpty.id(), "missing")
                })
                .boxed(),
        );
        options.push(Just(breakage(Vec::new(), Rule::DRequired.id(), "missing")).boxed());
    }
    // Array syntax as the last occurrence, after a valid plain one or alone (R-DUPLICATE).
    let n = name.clone();
    options.push(
        (
            valid.clone(),
            any::<bool>(),
            select(vec!["[]", "[0]", "[a]", "[x][y]"]),
        )
            .prop_map(move |(v, with_plain, suffix)| {
                let mut pairs = Vec::new();
                if with_plain {
                    pairs.push((n.clone(), v.clone()));
                }
                pairs.push(([n.as_slice(), suffix.as_bytes()].concat(), v));
                breakage(pairs, Rule::RDuplicate.id(), "sent as an array")
            })
            .boxed(),
    );
    // Invalid UTF-8 after percent-decoding (R-UTF8).
    let nb = nonblank.clone();
    options.push(
        (
            select(vec![
                &b"\xff"[..],
                b"\xc3",
                b"\xc3\x28",
                b"\xed\xa0\x80",
                b"\xf8\x88\x80\x80\x80",
            ]),
            "[a-z0-9]{0,5}",
        )
            .prop_map(move |(bad, prefix)| {
                nb(
                    [prefix.as_bytes(), bad].concat(),
                    "not valid UTF-8",
                    Rule::RUtf8.id(),
                )
            })
            .boxed(),
    );
    let rule = meta.rule;
    match meta.kind {
        Kind::Text => {
            let nb = nonblank.clone();
            options.push(
                (valid.clone(), 0usize..4)
                    .prop_map(move |(mut v, at)| {
                        let at = at.min(v.len());
                        v.insert(at, 0);
                        nb(v, "contains a NUL character", rule)
                    })
                    .boxed(),
            );
            if let Some(max) = meta.limits.max_chars {
                let nb = nonblank.clone();
                options.push(
                    (1usize..8, select(vec!['x', 'é', '😀']))
                        .prop_map(move |(extra, c)| {
                            nb(
                                std::iter::repeat_n(c, max + extra)
                                    .collect::<String>()
                                    .into_bytes(),
                                "too long",
                                rule,
                            )
                        })
                        .boxed(),
                );
            }
            if let Some(max) = meta.limits.max_bytes {
                let nb = nonblank.clone();
                options.push(
                    (1usize..4)
                        .prop_map(move |extra| nb(vec![b'a'; max + extra], "too long", rule))
                        .boxed(),
                );
            }
        }
        Kind::Integer => {
            let (min, max) = meta.integer_range();
            let mut bad: Vec<String> = vec![
                format!("0{min}"),
                format!("+{}", min.max(1)),
                format!("-{}", min.max(1)),
                format!("{}a", min.max(1)),
                format!("{}.0", min.max(1)),
                format!("1e3"),
                format!("0x1"),
                format!("{}", max as u128 + 1),
                "99999999999999999999999".to_owned(),
            ];
            if !meta.trim {
                bad.push(format!(" {}", min.max(1)));
            }
            if min > 0 {
                bad.push((min - 1).to_string());
            }
            let nb = nonblank.clone();
            options.push(
                select(bad)
                    .prop_map(move |v| nb(v.into_bytes(), "not a valid integer", rule))
                    .boxed(),
            );
        }
        Kind::Boolean => {
            let nb = nonblank.clone();
            options.push(
                prop_oneof![
                    select(vec![
                        "2", "-1", "y", "n", "tru", "nope", "10", "null", "true1", "o n"
                    ])
                    .prop_map(str::to_owned),
                    "[a-z2-9]{1,6}",
                ]
                .prop_filter("a boolean spelling", |s| {
                    parse_bool(s).is_none() && !is_blank(s.as_bytes())
                })
                .prop_map(move |v| nb(v.into_bytes(), "not a boolean", rule))
                .boxed(),
            );
        }
        Kind::Ip => {
            let nb = nonblank.clone();
            options.push(
                select(vec![
                    "1.2.3",
                    "01.2.3.4",
                    "256.0.0.1",
                    "1.2.3.4.5",
                    "fe80::1%eth0",
                    "::ffff:1.2.3",
                    "gggg::1",
                    "192.0.2.1/24",
                    "[2001:db8::1]",
                    "1.2.3.4:80",
                    "localhost",
                    "2001:db8:::1",
                ])
                .prop_map(move |v| nb(wire(v), "not an IP address", rule))
                .boxed(),
            );
        }
        Kind::Enumeration => {
            let allowed = meta.allowed;
            let nb = nonblank.clone();
            let mut bad: Vec<String> = vec!["suspend".to_owned(), "none".to_owned()];
            for a in allowed {
                let mut chars = a.chars();
                if let Some(first) = chars.next() {
                    bad.push(first.to_uppercase().chain(chars).collect());
                }
                bad.push(format!("{a}x"));
                bad.push(format!(" {a}"));
                bad.push(a.to_uppercase());
            }
            bad.retain(|b| !allowed.contains(&b.as_str()) && !b.trim().is_empty());
            options.push(
                select(bad)
                    .prop_map(move |v| nb(v.into_bytes(), "not an allowed value", rule))
                    .boxed(),
            );
        }
    }
    if meta.lookup {
        if let Some(missing) = config.missing_of(meta.name) {
            let nb = nonblank.clone();
            options.push(
                select(missing.to_vec())
                    .prop_map(move |v| nb(v.into_bytes(), "not found", rule))
                    .boxed(),
            );
        }
    }
    proptest::strategy::Union::new(options).boxed()
}

/// A broken `action` and the rule that decides it: missing, empty or unknown (D-ACTION);
/// another case or padded (R-ACTION); an array (R-DUPLICATE); invalid UTF-8 (R-UTF8).
pub(super) fn broken_action(
    name: &'static str,
) -> BoxedStrategy<(Vec<(Wire, Wire)>, &'static str)> {
    let mut reference = vec![name.to_uppercase(), format!(" {name}"), format!("{name} ")];
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        reference.push(first.to_uppercase().chain(chars).collect());
    }
    reference.retain(|s| s != name);
    let documented = vec![format!("{name}s"), "delete".to_owned(), String::new()];
    let action = |s: String| vec![(ACTION_PARAM.as_bytes().to_vec(), s.into_bytes())];
    prop_oneof![
        Just((Vec::new(), Rule::DAction.id())),
        select(documented).prop_map(move |s| (action(s), Rule::DAction.id())),
        select(reference).prop_map(move |s| (action(s), Rule::RAction.id())),
        Just((
            vec![(
                format!("{ACTION_PARAM}[]").into_bytes(),
                name.as_bytes().to_vec()
            )],
            Rule::RDuplicate.id()
        )),
        Just((
            vec![(
                ACTION_PARAM.as_bytes().to_vec(),
                [name.as_bytes(), b"\xff"].concat()
            )],
            Rule::RUtf8.id()
        )),
    ]
    .boxed()
}
