//! proptest strategies for valid and invalid requests of any action, driven entirely by the
//! action's generated metadata: no second list of fields, values or limits exists.
//!
//! Every invalid request carries its exact expected outcome (code and offending parameters in
//! table order), and is invalid by construction: never byte-identical on the wire to a valid
//! request.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;

use crate::action::{ACTION_PARAM, Action};
use crate::error::ErrorCode;
use crate::field::{FieldMeta, Kind, is_php_space};
use crate::form::FormPairs;

/// Implemented by `#[derive(AmpAction)]` when this crate's `proptest` feature is on.
pub trait ActionStrategies: Action + 'static {
    /// Valid requests with the value they parse to.
    fn valid_requests(config: &GenConfig) -> BoxedStrategy<ValidRequest<Self>> {
        valid_requests::<Self>(config)
    }

    /// Valid values of the action (the typed side of [`ActionStrategies::valid_requests`]).
    fn valid(config: &GenConfig) -> BoxedStrategy<Self> {
        valid_requests::<Self>(config)
            .prop_map(|request| request.value)
            .boxed()
    }

    /// Invalid requests, each with its exact expected outcome.
    fn invalid_requests(config: &GenConfig) -> BoxedStrategy<InvalidRequest> {
        invalid_requests::<Self>(config)
    }
}

/// What the generators may assume about the target.
///
/// ```
/// use amp_contract::strategy::GenConfig;
/// // Only services 1..=3 exist; 999 is known not to.
/// let config = GenConfig::new()
///     .with_values("service_id", ["1", "2", "3"])
///     .with_missing("service_id", ["999"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct GenConfig {
    values: Vec<(String, Vec<String>)>,
    missing: Vec<(String, Vec<String>)>,
    safe_text: bool,
}

impl GenConfig {
    /// No assumption: any well-formed value is valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Valid wire values of `field` are drawn only from `values` (e.g. the service ids that
    /// exist on the target).
    pub fn with_values<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        field: &str,
        values: I,
    ) -> Self {
        self.values.push((
            field.to_owned(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Well-formed values of `field` that the target does not know (R-SERVICE-ID "not found").
    pub fn with_missing<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        field: &str,
        values: I,
    ) -> Self {
        self.missing.push((
            field.to_owned(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    fn values_of(&self, field: &str) -> Option<&[String]> {
        self.values
            .iter()
            .find(|(name, values)| name == field && !values.is_empty())
            .map(|(_, values)| values.as_slice())
    }

    fn missing_of(&self, field: &str) -> Option<&[String]> {
        self.missing
            .iter()
            .find(|(name, values)| name == field && !values.is_empty())
            .map(|(_, values)| values.as_slice())
    }

    /// Text values are drawn from printable ASCII and a few well-known non-ASCII letters only,
    /// for targets whose storage mangles other Unicode (still a finding, but not this one's).
    pub fn with_safe_text(mut self, safe: bool) -> Self {
        self.safe_text = safe;
        self
    }
}

/// A valid request: its wire pairs and the value the contract parses them to.
#[derive(Debug, Clone)]
pub struct ValidRequest<A> {
    /// The pairs, `action` first.
    pub form: FormPairs<'static>,
    /// What they mean.
    pub value: A,
}

/// The outcome an invalid request must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedError {
    /// The AMP code.
    pub code: ErrorCode,
    /// The parameters the description must name, in table order.
    pub params: Vec<&'static str>,
    /// The rule ids the request breaks.
    pub rules: Vec<&'static str>,
}

/// An invalid request and the outcome it must get.
#[derive(Debug, Clone)]
pub struct InvalidRequest {
    /// The pairs as sent.
    pub form: FormPairs<'static>,
    /// The expected error.
    pub expected: ExpectedError,
    /// A short human account of what was broken, e.g. `category: longer than 255 characters`.
    pub summary: String,
}

type Wire = Vec<u8>;

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
fn valid_value(meta: &'static FieldMeta, config: &GenConfig) -> BoxedStrategy<Wire> {
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
            let min = meta.limits.min.unwrap_or(0);
            let max = meta.limits.max.unwrap_or(u64::from(u32::MAX));
            (min..=max).prop_map(|n| n.to_string().into_bytes()).boxed()
        }
        Kind::Boolean => {
            let spelled = select(vec!["1", "0", "true", "false", "on", "off", "yes", "no"])
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
fn valid_fields<A: Action>(config: &GenConfig) -> BoxedStrategy<Vec<Option<Wire>>> {
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

fn assemble(
    action: Option<Vec<(Wire, Wire)>>,
    fields: Vec<Vec<(Wire, Wire)>>,
) -> FormPairs<'static> {
    let mut form = FormPairs::new();
    for (key, value) in action
        .into_iter()
        .flatten()
        .chain(fields.into_iter().flatten())
    {
        form.push(key, value);
    }
    form
}

fn plain(meta: &FieldMeta, value: Wire) -> Vec<(Wire, Wire)> {
    vec![(meta.name.as_bytes().to_vec(), value)]
}

/// Valid requests of `A`: every required field, each optional one sent or not, values of
/// every documented form (D-SUCCESS, D-OPTIONALS).
pub fn valid_requests<A: Action + 'static>(config: &GenConfig) -> BoxedStrategy<ValidRequest<A>> {
    valid_fields::<A>(config)
        .prop_filter_map(
            "the contract rejected a generated valid request",
            |values| {
                let fields = A::FIELDS
                    .iter()
                    .zip(values)
                    .map(|(meta, value)| value.map(|v| plain(meta, v)).unwrap_or_default())
                    .collect();
                let form = assemble(
                    Some(vec![(
                        ACTION_PARAM.as_bytes().to_vec(),
                        A::NAME.as_bytes().to_vec(),
                    )]),
                    fields,
                );
                let value = A::from_form(&form).ok()?;
                Some(ValidRequest { form, value })
            },
        )
        .boxed()
}

/// One way of breaking one field, with the problem text and rule it produces.
#[derive(Debug, Clone)]
struct Breakage {
    pairs: Vec<(Wire, Wire)>,
    rule: &'static str,
    what: String,
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
fn breakages(meta: &'static FieldMeta, config: &GenConfig) -> BoxedStrategy<Breakage> {
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
                    breakage(vec![(n.clone(), wire(blank))], "R-EMPTY", "missing")
                })
                .boxed(),
        );
        options.push(Just(breakage(Vec::new(), "D-REQUIRED", "missing")).boxed());
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
                breakage(pairs, "R-DUPLICATE", "sent as an array")
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
                    "R-UTF8",
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
            let min = meta.limits.min.unwrap_or(0);
            let max = meta.limits.max.unwrap_or(u64::from(u32::MAX));
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
                    let t = s
                        .trim_matches(|c: char| c.is_ascii() && is_php_space(c as u8))
                        .to_ascii_lowercase();
                    !["1", "0", "true", "false", "on", "off", "yes", "no", ""].contains(&t.as_str())
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
fn broken_action(name: &'static str) -> BoxedStrategy<(Vec<(Wire, Wire)>, &'static str)> {
    let mut reference = vec![name.to_uppercase(), format!(" {name}"), format!("{name} ")];
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        reference.push(first.to_uppercase().chain(chars).collect());
    }
    reference.retain(|s| s != name);
    let documented = vec![format!("{name}s"), "delete".to_owned(), String::new()];
    let action = |s: String| vec![(ACTION_PARAM.as_bytes().to_vec(), s.into_bytes())];
    prop_oneof![
        Just((Vec::new(), "D-ACTION")),
        select(documented).prop_map(move |s| (action(s), "D-ACTION")),
        select(reference).prop_map(move |s| (action(s), "R-ACTION")),
        Just((
            vec![(
                format!("{ACTION_PARAM}[]").into_bytes(),
                name.as_bytes().to_vec()
            )],
            "R-DUPLICATE"
        )),
        Just((
            vec![(
                ACTION_PARAM.as_bytes().to_vec(),
                [name.as_bytes(), b"\xff"].concat()
            )],
            "R-UTF8"
        )),
    ]
    .boxed()
}

/// Invalid requests of `A`: one broken field at a time, or several (R-ORDER), sometimes with
/// a broken action too (then AMP002 wins, R-ORDER).
pub fn invalid_requests<A: Action + 'static>(config: &GenConfig) -> BoxedStrategy<InvalidRequest> {
    let field_count = A::FIELDS.len();
    let breaks: Vec<BoxedStrategy<Breakage>> =
        A::FIELDS.iter().map(|m| breakages(m, config)).collect();
    let chosen = prop_oneof![
        3 => (0..field_count).prop_map(|i| vec![i]),
        1 => proptest::sample::subsequence((0..field_count).collect::<Vec<_>>(), 2..=field_count.clamp(2, 3)),
    ];
    // Only the chosen fields' breakages are generated: a case breaks one to three fields.
    let broken = chosen.prop_flat_map(move |chosen| {
        let selected: Vec<BoxedStrategy<Breakage>> =
            chosen.iter().map(|&i| breaks[i].clone()).collect();
        (Just(chosen), selected)
    });
    let action = prop_oneof![4 => Just(None), 1 => broken_action(A::NAME).prop_map(Some)];
    (valid_fields::<A>(config), broken, action)
        .prop_map(|(values, (chosen, broken), action)| {
            let mut broken = chosen.iter().copied().zip(broken).collect::<Vec<_>>();
            let mut pairs = Vec::new();
            let mut params = Vec::new();
            let mut rules = Vec::new();
            let mut summary = Vec::new();
            for (i, (meta, value)) in A::FIELDS.iter().zip(values).enumerate() {
                if let Some(at) = broken.iter().position(|(index, _)| *index == i) {
                    let (_, b) = broken.swap_remove(at);
                    params.push(meta.name);
                    if !rules.contains(&b.rule) {
                        rules.push(b.rule);
                    }
                    summary.push(format!("{}: {}", meta.name, b.what));
                    pairs.push(b.pairs);
                } else {
                    pairs.push(value.map(|v| plain(meta, v)).unwrap_or_default());
                }
            }
            if params.len() > 1 {
                rules.push("R-ORDER");
            }
            // A missing required parameter makes the AMP003 itself documented (D-REQUIRED).
            if let Some(at) = rules.iter().position(|r| *r == "D-REQUIRED") {
                let rule = rules.remove(at);
                rules.insert(0, rule);
            }
            let (action_pairs, expected) = match action {
                Some((broken_action, rule)) => {
                    summary.insert(0, "action: missing or invalid".to_owned());
                    (
                        Some(broken_action),
                        ExpectedError {
                            code: ErrorCode::InvalidAction,
                            params: vec![ACTION_PARAM],
                            rules: vec![rule, "R-ORDER"],
                        },
                    )
                }
                None => (
                    Some(vec![(
                        ACTION_PARAM.as_bytes().to_vec(),
                        A::NAME.as_bytes().to_vec(),
                    )]),
                    ExpectedError {
                        code: ErrorCode::MissingParameters,
                        params,
                        rules,
                    },
                ),
            };
            InvalidRequest {
                form: assemble(action_pairs, pairs),
                expected,
                summary: summary.join("; "),
            }
        })
        .boxed()
}
