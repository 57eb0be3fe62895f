//! Valid values of each kind, drawn from the field's metadata and the shared value rules.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;

use super::{GenConfig, Wire};
use crate::action::Action;
use crate::meta::{FieldMeta, Kind};
use crate::value_rules::{BOOLEAN_FALSE, BOOLEAN_TRUE};

fn text_char(safe: bool) -> BoxedStrategy<char> {
    // One weighted alphabet and one uniform draw per character: much cheaper than a union of
    // strategies per character, with the same mix (mostly printable ASCII, the characters that
    // need escaping, and letters, symbols and emoji from other scripts and planes).
    let specials = [
        '/', '&', '=', '+', '%', '"', '\'', '<', '#', '?', ';', ' ', '\t', '\n',
    ];
    let wide = [
        'é',
        'ß',
        'Ж',
        '中',
        '😀',
        'ñ',
        'Ω',
        'ā',
        'ก',
        'ع',
        'א',
        '한',
        '𝄞',
        'ÿ',
        'ǅ',
        '\u{a0}',
        '\u{2028}',
        '\u{300}',
        '\u{feff}',
        '\u{e000}',
        '\u{10fffd}',
        '€',
        '→',
        '🚀',
    ];
    let mut alphabet: Vec<char> = ('!'..='~').collect();
    for _ in 0..3 {
        alphabet.extend(specials);
    }
    if !safe {
        for _ in 0..2 {
            alphabet.extend(wide);
        }
    }
    select(alphabet).boxed()
}

/// Characters of one class, for boundary-length texts: ASCII, two-byte, three-byte, four-byte.
const WIDTHS: [char; 4] = ['a', 'é', '€', '😀'];

/// Non-blank text within the field's limits, of every kind a server must store exactly:
/// ordinary text (mostly), values PHP's loose checks take for empty, zero or false (`0`,
/// `0.0`, `null`, ...), texts at the length boundaries (the page's 255 characters, one more,
/// and the field's own limit in characters or bytes, filled with characters of each width),
/// and, where the field is not trimmed, text with whitespace around it.
fn valid_text(meta: &FieldMeta, safe: bool) -> BoxedStrategy<Wire> {
    let max_chars = meta.limits.max_chars.unwrap_or(usize::MAX);
    let max_bytes = meta.limits.max_bytes.unwrap_or(usize::MAX);
    let first = proptest::char::range('!', '~');
    let ordinary = (
        first.clone(),
        proptest::collection::vec(text_char(safe), 0..max_chars.min(40)),
    )
        .prop_map(move |(first, rest)| {
            let mut s = String::new();
            s.push(first);
            for c in rest {
                if s.chars().count() < max_chars && s.len() + c.len_utf8() <= max_bytes {
                    s.push(c);
                }
            }
            s
        })
        .boxed();
    let loose = select(vec![
        "0", "00", "0.0", "-0", "0e0", " 0", "false", "FALSE", "null", "NULL", "Array", "[]", "{}",
    ])
    .prop_map(str::to_owned)
    .boxed();
    // Lengths in characters; `usize::MAX` stands for "as long as the field allows".
    let mut lengths = vec![254, 255, 256, usize::MAX];
    lengths.retain(|&n| n == usize::MAX || n <= max_chars);
    let wide: Vec<char> = if safe {
        WIDTHS[..1].to_vec()
    } else {
        WIDTHS.to_vec()
    };
    let boundary = (first, select(lengths), select(wide))
        .prop_map(move |(first, chars, fill)| {
            let chars = chars.min(max_chars).min(max_bytes);
            let mut s = String::with_capacity(chars.min(max_bytes));
            s.push(first);
            let mut count = 1;
            while count < chars && s.len() + fill.len_utf8() <= max_bytes {
                s.push(fill);
                count += 1;
            }
            // Fill the last bytes with ASCII, so that a byte limit is met exactly.
            while count < chars && s.len() < max_bytes {
                s.push('a');
                count += 1;
            }
            s
        })
        .boxed();
    let text = prop_oneof![12 => ordinary, 2 => loose, 1 => boundary].boxed();
    let text = if meta.trim {
        text
    } else {
        // Whitespace around text that is not trimmed is part of the value (R-TEXT).
        (
            text,
            select(vec!["", "", "", "", " ", "  ", "\n", "\t "]),
            select(vec!["", "", "", "", " ", "\n", " \t"]),
        )
            .prop_map(move |(t, pre, post)| {
                if t.len() + pre.len() + post.len() <= max_bytes
                    && t.chars().count() + pre.len() + post.len() <= max_chars
                {
                    format!("{pre}{t}{post}")
                } else {
                    t
                }
            })
            .boxed()
    };
    text.prop_map(String::into_bytes).boxed()
}

fn random_case(s: &'static str) -> BoxedStrategy<String> {
    proptest::collection::vec(any::<bool>(), s.len())
        .prop_map(move |upper| {
            s.chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect()
        })
        .boxed()
}

fn valid_ip() -> BoxedStrategy<Wire> {
    prop_oneof![
        any::<u32>().prop_map(|n| Ipv4Addr::from(n).to_string()),
        any::<u128>().prop_map(|n| Ipv6Addr::from(n).to_string()),
        // Non-canonical spellings of the same address: upper case, fully written out.
        any::<u128>().prop_map(|n| {
            let segments = Ipv6Addr::from(n).segments();
            segments
                .iter()
                .map(|s| format!("{s:04X}"))
                .collect::<Vec<_>>()
                .join(":")
        }),
        any::<u32>().prop_map(|n| format!("::ffff:{}", Ipv4Addr::from(n))),
    ]
    .prop_map(String::into_bytes)
    .boxed()
}

/// A valid wire value of `meta`, honouring `config`.
pub(super) fn valid_value(meta: &'static FieldMeta, config: &GenConfig) -> BoxedStrategy<Wire> {
    if let Some(values) = config.values_of(meta.name) {
        return select(values.to_vec()).prop_map(String::into_bytes).boxed();
    }
    let pad = |s: BoxedStrategy<Wire>, trim: bool| -> BoxedStrategy<Wire> {
        if !trim {
            return s;
        }
        (
            s,
            select(vec!["", "", " ", "\t", "\n "]),
            select(vec!["", "", " ", "\r\n"]),
        )
            .prop_map(|(v, pre, post)| [pre.as_bytes(), &v, post.as_bytes()].concat())
            .boxed()
    };
    match meta.kind {
        Kind::Text => pad(valid_text(meta, config.safe_text), meta.trim),
        Kind::Integer => {
            let (min, max) = meta.integer_range();
            (min..=max).prop_map(|n| n.to_string().into_bytes()).boxed()
        }
        Kind::Boolean => {
            // Each true spelling beside its false one: 1, 0, true, false, on, off, yes, no.
            let spellings: Vec<&str> = BOOLEAN_TRUE
                .iter()
                .zip(BOOLEAN_FALSE)
                .flat_map(|(t, f)| [*t, *f])
                .collect();
            let spelled = select(spellings)
                .prop_flat_map(random_case)
                .prop_map(String::into_bytes)
                .boxed();
            pad(spelled, meta.trim)
        }
        Kind::Ip => pad(valid_ip(), meta.trim),
        Kind::Enumeration => select(meta.allowed.to_vec())
            .prop_map(|s| s.as_bytes().to_vec())
            .boxed(),
    }
}

/// For each field: `Some(value)` to send it, `None` to leave it out (optional fields only).
pub(super) fn valid_fields<A: Action>(config: &GenConfig) -> BoxedStrategy<Vec<Option<Wire>>> {
    let strategies: Vec<BoxedStrategy<Option<Wire>>> = A::FIELDS
        .iter()
        .map(|meta| {
            let value = valid_value(meta, config);
            if meta.required() {
                value.prop_map(Some).boxed()
            } else {
                proptest::option::weighted(0.6, value).boxed()
            }
        })
        .collect();
    strategies.boxed()
}
