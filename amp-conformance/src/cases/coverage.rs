//! The coverage model, defined once: for each field of the create (read from
//! `CreateAbuseReport`'s derive metadata, never named here), the value classes that matter,
//! and for each part of the request, the forms that matter. Each class has a layer
//! (CONTRACT.md §4: documented-valid, reference-only, invalid), the rule it concerns and a value
//! that reveals it; the comment on each says which transformation between `$_POST` and the
//! database that value reveals (from the PHP manual and real add-on code).
//!
//! The model generates cases (no fixture per bug):
//! - **packed creates** (`cover/create/NN`, only where the run may write): every field carries
//!   a documented-valid class at once, a different one in each create, so that a handful of
//!   writes covers every documented-valid cell; each is also a stored-value check;
//! - **single-value probes** (`cover/value/FIELD/CLASS`, read-only: they name the missing
//!   service): one class in one field, the rest plain, so that a refusal names its field and
//!   value (they narrow down a refused packed create without writing);
//! - **request-form probes** (`cover/form/PART/FORM`, read-only): where the key travels, how it
//!   is compared (near misses of the real key), method and content type.
//!
//! Sources for the transformations: the PHP manual (`htmlspecialchars`, `nl2br`, `ucfirst`,
//! `wordwrap`, `strip_tags`, `addslashes`, `substr`, `utf8_decode`, `empty`, boolean casts;
//! sanitize filters: `FILTER_SANITIZE_STRING` strips tags and encodes quotes,
//! `FILTER_SANITIZE_FULL_SPECIAL_CHARS` is `htmlspecialchars(ENT_QUOTES)`,
//! `FILTER_FLAG_STRIP_LOW` removes every byte below 32, tab and newline included; `$_REQUEST`
//! holds `$_GET`, `$_POST` and `$_COOKIE` by `request_order`), and WHMCS add-on code.
//!
//! [`cells_of`] maps a check id back to the cells it exercises, which is how a report says
//! what a run covered (`report::coverage`).

use std::fmt;

use amp_contract::field::FieldMeta;
use amp_contract::field::Kind;
use amp_contract::rules::Rule;
use amp_contract::{Action, CreateAbuseReport};
use serde::Serialize;

use super::{Auth, BodySpec, Case, Encoding, Expectation, Generator, Need, Origin, RequestSpec};

/// Where a class stands in CONTRACT.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassLayer {
    /// A value §2 names: a server must accept it and store it with its meaning.
    DocumentedValid,
    /// Valid only by a §3 resolution: its rejection is at most NON-STRICT.
    ReferenceOnly,
    /// Invalid by the contract: AMP003 (or AMP001 for a request form).
    Invalid,
}

impl ClassLayer {
    /// Its name in listings.
    pub fn name(self) -> &'static str {
        match self {
            Self::DocumentedValid => "documented-valid",
            Self::ReferenceOnly => "reference-only",
            Self::Invalid => "invalid",
        }
    }
}

impl fmt::Display for ClassLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The layer of a class, which may depend on the field's metadata.
#[derive(Debug, Clone, Copy)]
enum LayerOf {
    /// The same for every field.
    Is(ClassLayer),
    /// Surrounding whitespace: documented-valid where the field keeps it (R-TEXT), reference-
    /// only where it trims (R-CATEGORY: the page's reading of a category has no padding).
    ValidUnlessTrimmed,
    /// Over 255 characters: invalid where the field allows at most that many characters,
    /// reference-only elsewhere (D-OPTIONALS names up to 255).
    OverPageLimit,
}

/// The rule a class concerns.
#[derive(Debug, Clone, Copy)]
enum RuleOf {
    /// The field's own rule from its metadata (`R-CATEGORY`, `R-BOOL`, ...).
    Field,
    /// A rule of its own.
    Is(Rule),
}

/// A revealing value.
#[derive(Debug, Clone, Copy)]
enum Sample {
    /// This text (placeholders such as `{missing_service}` allowed).
    Text(&'static str),
    /// This text repeated.
    Repeat(&'static str, usize),
    /// The parameter left out (the default applies).
    Omitted,
    /// The field's first allowed spelling (its default), upper-cased.
    FirstAllowedUpper,
    /// The field's first allowed spelling, with a leading space.
    FirstAllowedPadded,
}

/// A value class of a field kind.
#[derive(Debug, Clone, Copy)]
struct ValueClass {
    name: &'static str,
    kind: Kind,
    layer: LayerOf,
    rule: RuleOf,
    /// The transformation its value reveals.
    reveals: &'static str,
    sample: Sample,
}

const fn class(
    kind: Kind,
    name: &'static str,
    layer: LayerOf,
    rule: RuleOf,
    sample: Sample,
    reveals: &'static str,
) -> ValueClass {
    ValueClass {
        name,
        kind,
        layer,
        rule,
        reveals,
        sample,
    }
}

const VALID: LayerOf = LayerOf::Is(ClassLayer::DocumentedValid);
const REFERENCE: LayerOf = LayerOf::Is(ClassLayer::ReferenceOnly);
const INVALID: LayerOf = LayerOf::Is(ClassLayer::Invalid);
const STORED: RuleOf = RuleOf::Is(Rule::DDefaults);
const FIELD: RuleOf = RuleOf::Field;

/// The value classes, by kind. Enumerations add one documented-valid class per allowed spelling
/// (from the metadata).
const CLASSES: &[ValueClass] = &[
    // Free text (D-OPTIONALS: up to 255 characters of any Unicode but controls other than tab
    // and newline; D-DEFAULTS: stored with the meaning sent).
    class(
        Kind::Text,
        "lower-case-start",
        VALID,
        STORED,
        Sample::Text("spam from a botnet"),
        "ucfirst()/ucwords() applied for display before storing",
    ),
    class(
        Kind::Text,
        "ampersand-quotes",
        VALID,
        STORED,
        Sample::Text("Tom & Jerry's \"shop\" a<b"),
        "htmlspecialchars()/htmlentities() on store (&amp; &quot; &#039; &lt;), addslashes() or magic quotes (\\' \\\"), FILTER_SANITIZE_SPECIAL_CHARS / FULL_SPECIAL_CHARS",
    ),
    class(
        Kind::Text,
        "markup",
        VALID,
        STORED,
        Sample::Text("<b>bold</b> and <i>x</i>"),
        "strip_tags() or FILTER_SANITIZE_STRING removing what looks like markup",
    ),
    class(
        Kind::Text,
        "backslash",
        VALID,
        STORED,
        Sample::Text(r"C:\new\table 50\%"),
        "stripslashes() removing backslashes, or addslashes()/real_escape_string() doubling them",
    ),
    class(
        Kind::Text,
        "newline",
        VALID,
        STORED,
        Sample::Text("first line\nsecond line"),
        "nl2br() on store (<br />), newlines replaced or FILTER_FLAG_STRIP_LOW",
    ),
    class(
        Kind::Text,
        "tab-and-spaces",
        VALID,
        STORED,
        Sample::Text("col1\tcol2  two   spaces"),
        "preg_replace('/\\s+/', ' ') collapsing whitespace, FILTER_FLAG_STRIP_LOW removing tabs",
    ),
    class(
        Kind::Text,
        "long-word",
        VALID,
        STORED,
        Sample::Repeat("abcdefghij", 12),
        "wordwrap($text, 75, \"\\n\", true) or chunk_split() breaking a long word (a URL, a hash)",
    ),
    class(
        Kind::Text,
        "non-latin",
        VALID,
        STORED,
        Sample::Text("Ошибка 日本語 😀 naïve"),
        "utf8_decode() or a latin1/utf8mb3 column (non-Latin text and emoji become '?'), htmlentities() without a charset",
    ),
    class(
        Kind::Text,
        "multibyte-255",
        VALID,
        STORED,
        Sample::Repeat("é", 255),
        "strlen()/substr($v, 0, 255) counting bytes, not characters (a 255-character text is 510 bytes)",
    ),
    class(
        Kind::Text,
        "zero",
        VALID,
        STORED,
        Sample::Text("0"),
        "empty() treating \"0\" as absent",
    ),
    class(
        Kind::Text,
        "percent-plus",
        VALID,
        STORED,
        Sample::Text("100% + 5 = a&b/c?d#e"),
        "urldecode() applied a second time to $_POST (+ becomes a space, %.. decoded)",
    ),
    class(
        Kind::Text,
        "padded",
        LayerOf::ValidUnlessTrimmed,
        FIELD,
        Sample::Text("  padded text  "),
        "trim() of a field the contract keeps exact (R-TEXT)",
    ),
    class(
        Kind::Text,
        "omitted",
        VALID,
        STORED,
        Sample::Omitted,
        "a missing optional text stored as NULL or a placeholder instead of empty text",
    ),
    class(
        Kind::Text,
        "over-255",
        LayerOf::OverPageLimit,
        FIELD,
        Sample::Repeat("x", 300),
        "a VARCHAR(255) column or substr() cutting long text",
    ),
    class(
        Kind::Text,
        "only-whitespace",
        REFERENCE,
        RuleOf::Is(Rule::REmpty),
        Sample::Text(" \t "),
        "trim() before the emptiness test (R-EMPTY)",
    ),
    class(
        Kind::Text,
        "nul",
        INVALID,
        FIELD,
        Sample::Text("a\0b"),
        "a NUL byte passed to the database or cut there (C strings)",
    ),
    // The service id (R-SERVICE-ID; its documented values are the services of the run).
    class(
        Kind::Integer,
        "service-with-ip",
        VALID,
        STORED,
        Sample::Text("{service_with_ip}"),
        "the default service_ip: the service's dedicated IP looked up (D-DEFAULTS)",
    ),
    class(
        Kind::Integer,
        "service-without-ip",
        VALID,
        STORED,
        Sample::Text("{service_without_ip}"),
        "the default service_ip of a service without one: `(No Dedicated IP)`, not '' or NULL",
    ),
    class(
        Kind::Integer,
        "leading-zero",
        INVALID,
        FIELD,
        Sample::Text("0{missing_service}"),
        "intval()/(int) accepting what ctype_digit() with a leading-zero check refuses",
    ),
    class(
        Kind::Integer,
        "signed",
        INVALID,
        FIELD,
        Sample::Text("+{missing_service}"),
        "intval() or FILTER_VALIDATE_INT accepting a sign",
    ),
    class(
        Kind::Integer,
        "trailing-junk",
        INVALID,
        FIELD,
        Sample::Text("{missing_service}abc"),
        "intval(\"12abc\") reading 12",
    ),
    // The address (R-SERVICE-IP; D-DEFAULTS: equal as addresses).
    class(
        Kind::Ip,
        "ipv4",
        VALID,
        STORED,
        Sample::Text("192.0.2.44"),
        "ip2long()/a numeric column, FILTER_VALIDATE_IP with the wrong flags",
    ),
    class(
        Kind::Ip,
        "ipv6",
        VALID,
        STORED,
        Sample::Text("2001:db8::44"),
        "FILTER_FLAG_IPV4 only, a VARCHAR(15) column cutting IPv6",
    ),
    class(
        Kind::Ip,
        "ipv6-uncompressed",
        VALID,
        STORED,
        Sample::Text("2001:0DB8:0000:0000:0000:0000:0000:00AB"),
        "an address stored as sent instead of inet_ntop(inet_pton()) (R-SERVICE-IP canonical form), a column cutting 39 characters",
    ),
    class(
        Kind::Ip,
        "ipv4-mapped",
        VALID,
        STORED,
        Sample::Text("::ffff:192.0.2.45"),
        "an IPv4-mapped address unmapped or refused",
    ),
    class(
        Kind::Ip,
        "omitted",
        VALID,
        STORED,
        Sample::Omitted,
        "the default: the service's dedicated IP or `(No Dedicated IP)`, not '' or NULL",
    ),
    class(
        Kind::Ip,
        "padded",
        REFERENCE,
        FIELD,
        Sample::Text(" 192.0.2.46 "),
        "FILTER_VALIDATE_IP without trim() refusing padding",
    ),
    class(
        Kind::Ip,
        "leading-zero",
        INVALID,
        FIELD,
        Sample::Text("192.0.2.047"),
        "inet_aton()-style parsing reading 047 as octal",
    ),
    class(
        Kind::Ip,
        "zone-id",
        INVALID,
        FIELD,
        Sample::Text("fe80::1%eth0"),
        "a regular expression instead of FILTER_VALIDATE_IP",
    ),
    class(
        Kind::Ip,
        "hostname",
        INVALID,
        FIELD,
        Sample::Text("host.example"),
        "gethostbyname() or no validation at all",
    ),
    // The boolean (D-OPTIONALS: 1, 0, true, false; R-BOOL: FILTER_VALIDATE_BOOLEAN).
    class(
        Kind::Boolean,
        "one",
        VALID,
        STORED,
        Sample::Text("1"),
        "a comparison with 'true' only",
    ),
    class(
        Kind::Boolean,
        "zero",
        VALID,
        STORED,
        Sample::Text("0"),
        "isset() read as true",
    ),
    class(
        Kind::Boolean,
        "true",
        VALID,
        STORED,
        Sample::Text("true"),
        "intval(\"true\") or a comparison with '1' reading it as false",
    ),
    class(
        Kind::Boolean,
        "false",
        VALID,
        STORED,
        Sample::Text("false"),
        "(bool)\"false\" or !empty() reading it as true",
    ),
    class(
        Kind::Boolean,
        "omitted",
        VALID,
        STORED,
        Sample::Omitted,
        "a missing boolean stored as NULL or true",
    ),
    class(
        Kind::Boolean,
        "yes",
        REFERENCE,
        FIELD,
        Sample::Text("yes"),
        "only 1/0/true/false accepted instead of FILTER_VALIDATE_BOOLEAN",
    ),
    class(
        Kind::Boolean,
        "off",
        REFERENCE,
        FIELD,
        Sample::Text("off"),
        "(bool)\"off\" read as true",
    ),
    class(
        Kind::Boolean,
        "upper-case",
        REFERENCE,
        FIELD,
        Sample::Text("TRUE"),
        "a case-sensitive comparison",
    ),
    class(
        Kind::Boolean,
        "padded",
        REFERENCE,
        FIELD,
        Sample::Text(" 1 "),
        "no trim() before FILTER_VALIDATE_BOOLEAN",
    ),
    class(
        Kind::Boolean,
        "two",
        INVALID,
        FIELD,
        Sample::Text("2"),
        "(bool)\"2\" or intval() accepting any number",
    ),
    class(
        Kind::Boolean,
        "word",
        INVALID,
        FIELD,
        Sample::Text("maybe"),
        "(bool) of any non-empty string",
    ),
    // The enumeration (R-SUSPEND), besides one documented-valid class per allowed spelling.
    class(
        Kind::Enumeration,
        "omitted",
        VALID,
        STORED,
        Sample::Omitted,
        "the default stored as '' or NULL instead of the first allowed value",
    ),
    class(
        Kind::Enumeration,
        "page-example",
        INVALID,
        FIELD,
        Sample::Text("suspend"),
        "the page's own example value accepted (and a suspension silently skipped)",
    ),
    class(
        Kind::Enumeration,
        "other-case",
        INVALID,
        FIELD,
        Sample::FirstAllowedUpper,
        "strtolower() before in_array()",
    ),
    class(
        Kind::Enumeration,
        "padded",
        INVALID,
        FIELD,
        Sample::FirstAllowedPadded,
        "trim() before in_array()",
    ),
];

/// One cell of the value model: a field and a class of its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueCell {
    /// The field's wire name (from the metadata).
    pub field: &'static str,
    /// The class.
    pub class: String,
    /// Its layer.
    pub layer: ClassLayer,
    /// The rule it concerns.
    pub rule: Rule,
    /// A value that reveals it (`None`: the parameter is left out).
    pub value: Option<String>,
    /// What transformation that value reveals.
    pub reveals: &'static str,
}

impl ValueCell {
    /// Its id in check ids and reports: `FIELD/CLASS`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.field, self.class)
    }

    /// Whether only a create shows it (a default, or the service's own values): a read-only
    /// request cannot reach it.
    pub fn needs_write(&self) -> bool {
        let meta = field(self.field);
        self.value.is_none()
            || meta.is_some_and(|f| f.lookup && self.layer == ClassLayer::DocumentedValid)
    }
}

fn field(name: &str) -> Option<&'static FieldMeta> {
    CreateAbuseReport::FIELDS.iter().find(|f| f.name == name)
}

fn rule_of(field: &FieldMeta) -> Rule {
    Rule::from_id(field.rule).unwrap_or(Rule::DOptionals)
}

/// Every value cell: each field of the create × the classes of its kind.
pub fn value_cells() -> Vec<ValueCell> {
    let mut cells = Vec::new();
    for meta in CreateAbuseReport::FIELDS {
        if meta.kind == Kind::Enumeration {
            for allowed in meta.allowed {
                cells.push(ValueCell {
                    field: meta.name,
                    class: (*allowed).to_owned(),
                    layer: ClassLayer::DocumentedValid,
                    rule: Rule::DDefaults,
                    value: Some((*allowed).to_owned()),
                    reveals: "an allowed spelling refused, or stored as another",
                });
            }
        }
        for c in CLASSES.iter().filter(|c| c.kind == meta.kind) {
            if matches!(c.sample, Sample::Omitted) && meta.required() {
                continue;
            }
            let layer = match c.layer {
                LayerOf::Is(layer) => layer,
                LayerOf::ValidUnlessTrimmed if meta.trim => ClassLayer::ReferenceOnly,
                LayerOf::ValidUnlessTrimmed => ClassLayer::DocumentedValid,
                LayerOf::OverPageLimit if meta.limits.max_chars.is_some_and(|m| m <= 255) => {
                    ClassLayer::Invalid
                }
                LayerOf::OverPageLimit => ClassLayer::ReferenceOnly,
            };
            let rule = match c.rule {
                RuleOf::Field => rule_of(meta),
                RuleOf::Is(rule) => rule,
            };
            cells.push(ValueCell {
                field: meta.name,
                class: c.name.to_owned(),
                layer,
                rule,
                value: match c.sample {
                    Sample::Text(t) => Some(t.to_owned()),
                    Sample::Repeat(t, n) => Some(t.repeat(n)),
                    Sample::Omitted => None,
                    Sample::FirstAllowedUpper => {
                        meta.allowed.first().map(|a| a.to_ascii_uppercase())
                    }
                    Sample::FirstAllowedPadded => meta.allowed.first().map(|a| format!(" {a}")),
                },
                reveals: c.reveals,
            });
        }
    }
    cells
}

/// A near miss of the real key: the key changed by one transformation that a lenient
/// comparison would forgive. The value is as secret as the key, and is written everywhere as
/// the shell's transformation of `$AMP_API_ID` ([`NearMiss::shell`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NearMiss {
    /// Every ASCII letter in the other case: `strcasecmp()`, `strtolower()` on both sides.
    OtherCase,
    /// The first half: `strncmp($key, $sent, strlen($sent))`, `str_starts_with($key, $sent)`,
    /// `strpos($key, $sent) !== false`.
    Prefix,
    /// The last character dropped: a comparison of a prefix, a column cutting the key.
    Truncated,
    /// One character appended: `str_starts_with($sent, $key)`, `strpos($sent, $key)`.
    PlusChar,
    /// The key inside other text: `strpos($sent, $key) !== false`, `str_contains()`.
    Embedded,
}

impl NearMiss {
    /// Every near miss.
    pub const ALL: [NearMiss; 5] = [
        Self::OtherCase,
        Self::Prefix,
        Self::Truncated,
        Self::PlusChar,
        Self::Embedded,
    ];

    /// Its name in check ids and recorded requests.
    pub fn name(self) -> &'static str {
        match self {
            Self::OtherCase => "other-case",
            Self::Prefix => "prefix",
            Self::Truncated => "truncated",
            Self::PlusChar => "plus-char",
            Self::Embedded => "embedded",
        }
    }

    /// The near miss named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The value it sends for `key`.
    pub fn apply(self, key: &str) -> String {
        let chars: Vec<char> = key.chars().collect();
        match self {
            Self::OtherCase => chars
                .iter()
                .map(|c| {
                    if c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
            Self::Prefix => chars[..chars.len() / 2].iter().collect(),
            Self::Truncated => chars[..chars.len().saturating_sub(1)].iter().collect(),
            Self::PlusChar => format!("{key}x"),
            Self::Embedded => format!("x{key}x"),
        }
    }

    /// The value as a bash expression of `$AMP_API_ID` (never the key itself).
    pub fn shell(self) -> &'static str {
        match self {
            Self::OtherCase => "${AMP_API_ID~~}",
            Self::Prefix => "${AMP_API_ID:0:$((${#AMP_API_ID}/2))}",
            Self::Truncated => "${AMP_API_ID%?}",
            Self::PlusChar => "${AMP_API_ID}x",
            Self::Embedded => "x${AMP_API_ID}x",
        }
    }
}

/// Somewhere other than the `API_ID` header that PHP code reads a key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPlace {
    /// `?API_ID=…`: `$_GET`/`$_REQUEST['API_ID']`.
    Query,
    /// `API_ID=…` in the form body: `$_POST`/`$_REQUEST['API_ID']`.
    Body,
    /// `api_id=…` in the form body: a lower-case parameter read as the key.
    BodyLower,
    /// `Cookie: API_ID=…`: `$_COOKIE` (in `$_REQUEST` where `request_order` includes C).
    Cookie,
}

impl KeyPlace {
    /// Every place.
    pub const ALL: [KeyPlace; 4] = [Self::Query, Self::Body, Self::BodyLower, Self::Cookie];

    /// Its name in check ids and recorded requests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Body => "body",
            Self::BodyLower => "body-lower",
            Self::Cookie => "cookie",
        }
    }

    /// The place named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The part of a request a form concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// Where the key travels.
    KeyPlace,
    /// How the key is compared.
    KeyComparison,
    /// The HTTP method.
    Method,
    /// The body's content type.
    ContentType,
}

impl Part {
    /// Its name in check ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyPlace => "key-place",
            Self::KeyComparison => "key-comparison",
            Self::Method => "method",
            Self::ContentType => "content-type",
        }
    }
}

/// One form of a request part: how it is sent, and the rule that decides the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormCell {
    /// The part.
    pub part: Part,
    /// The form.
    pub form: String,
    /// Its layer: whether the page demands the request be read (documented-valid), only the
    /// reference reads it (reference-only), or it must be refused (invalid: AMP001 by D-AUTH).
    pub layer: ClassLayer,
    /// The rule deciding the answer.
    pub rule: Rule,
    /// What PHP code it reveals.
    pub reveals: &'static str,
    #[serde(skip)]
    auth: Auth,
    #[serde(skip)]
    method: &'static str,
    #[serde(skip)]
    encoding: FormEncoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormEncoding {
    Urlencoded,
    Multipart,
    Json,
}

impl FormCell {
    /// Its id in check ids and reports: `PART/FORM`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.part.name(), self.form)
    }
}

/// Every request-part form.
pub fn form_cells() -> Vec<FormCell> {
    let cell = |part, form: &str, layer, rule, reveals, auth, method, encoding| FormCell {
        part,
        form: form.to_owned(),
        layer,
        rule,
        reveals,
        auth,
        method,
        encoding,
    };
    use ClassLayer::{DocumentedValid, Invalid, ReferenceOnly};
    use FormEncoding::{Json, Multipart, Urlencoded};
    let mut cells = vec![
        cell(
            Part::KeyPlace,
            "header",
            DocumentedValid,
            Rule::DAuth,
            "the key read from the API_ID header",
            Auth::Valid,
            "POST",
            Urlencoded,
        ),
        cell(
            Part::KeyPlace,
            "header-lower-case-name",
            DocumentedValid,
            Rule::DAuth,
            "getallheaders()['API_ID'] missing `api_id` (header names are case-insensitive)",
            Auth::ValidAs(Auth::HEADER.to_ascii_lowercase()),
            "POST",
            Urlencoded,
        ),
    ];
    for place in KeyPlace::ALL {
        cells.push(cell(
            Part::KeyPlace,
            place.name(),
            Invalid,
            Rule::DAuth,
            match place {
                KeyPlace::Query => "the key taken from $_GET or $_REQUEST",
                KeyPlace::Body => "the key taken from $_POST or $_REQUEST",
                KeyPlace::BodyLower => "the key taken from a lower-case body parameter",
                KeyPlace::Cookie => "the key taken from $_COOKIE or $_REQUEST",
            },
            Auth::Elsewhere(place),
            "POST",
            Urlencoded,
        ));
    }
    for miss in NearMiss::ALL {
        cells.push(cell(
            Part::KeyComparison,
            miss.name(),
            Invalid,
            Rule::DAuth,
            match miss {
                NearMiss::OtherCase => "strcasecmp() or strtolower() in the key comparison",
                NearMiss::Prefix => "strncmp()/strpos() comparing only what was sent",
                NearMiss::Truncated => "a comparison of a prefix, or a key column too short",
                NearMiss::PlusChar => "str_starts_with($sent, $key) or strpos()",
                NearMiss::Embedded => "strpos($sent, $key) !== false or str_contains()",
            },
            Auth::NearMiss(miss),
            "POST",
            Urlencoded,
        ));
    }
    cells.extend([
        cell(
            Part::Method,
            "get",
            ReferenceOnly,
            Rule::RMethod,
            "$_REQUEST or php://input read whatever the method",
            Auth::Valid,
            "GET",
            Urlencoded,
        ),
        cell(
            Part::Method,
            "put",
            ReferenceOnly,
            Rule::RMethod,
            "php://input parsed whatever the method",
            Auth::Valid,
            "PUT",
            Urlencoded,
        ),
        cell(
            Part::ContentType,
            "multipart",
            ReferenceOnly,
            Rule::RBody,
            "$_POST filled from multipart/form-data (curl's array CURLOPT_POSTFIELDS)",
            Auth::Valid,
            "POST",
            Multipart,
        ),
        cell(
            Part::ContentType,
            "json",
            ReferenceOnly,
            Rule::RBody,
            "json_decode(php://input) accepted as parameters",
            Auth::Valid,
            "POST",
            Json,
        ),
    ]);
    cells
}

/// What the generator of coverage cases may assume about the run.
#[derive(Debug, Clone, Copy)]
pub struct CoverContext {
    /// Whether the run may create reports (then the packed creates are made).
    pub allow_writes: bool,
}

const CREATE: &str = "cover/create/";
const WRITE: &str = "cover/write/";
const VALUE: &str = "cover/value/";
const FORM: &str = "cover/form/";

/// The plain create the probes start from: the required fields, the missing service.
fn plain(service: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    CreateAbuseReport::FIELDS
        .iter()
        .filter(|f| f.required())
        .map(|f| {
            let value = if f.lookup {
                service.to_owned()
            } else {
                "amp-conformance coverage".to_owned()
            };
            (f.name.as_bytes().to_vec(), value.into_bytes())
        })
        .collect()
}

fn with_action(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = vec![(
        amp_contract::action::ACTION_PARAM.as_bytes().to_vec(),
        CreateAbuseReport::NAME.as_bytes().to_vec(),
    )];
    out.extend(pairs);
    out
}

impl ValueCell {
    /// Whether its value could suspend a service (guarded by `--allow-suspend`): such a cell
    /// gets a create of its own, so that a run without the flag loses only that cell.
    pub fn may_suspend(&self) -> bool {
        self.value.as_deref().is_some_and(|v| {
            amp_contract::create::pairs_may_suspend([(self.field.as_bytes(), v.as_bytes())])
        })
    }
}

/// The documented-valid classes of each field that packed creates carry (not the suspending
/// ones), in model order.
fn documented_by_field(cells: &[ValueCell]) -> Vec<(&'static FieldMeta, Vec<&ValueCell>)> {
    CreateAbuseReport::FIELDS
        .iter()
        .map(|f| {
            (
                f,
                cells
                    .iter()
                    .filter(|c| c.field == f.name && c.layer == ClassLayer::DocumentedValid)
                    .filter(|c| !c.may_suspend())
                    .collect(),
            )
        })
        .filter(|(_, classes): &(_, Vec<&ValueCell>)| !classes.is_empty())
        .collect()
}

/// How many packed creates cover every documented-valid cell: the most classes any field has.
pub fn packed_count() -> usize {
    let cells = value_cells();
    documented_by_field(&cells)
        .iter()
        .map(|(_, classes)| classes.len())
        .max()
        .unwrap_or(0)
}

/// The cells packed create `k` carries: field `i` gets its class `(k + i) mod n`, so that one
/// create holds different classes in different fields and every class comes once in
/// [`packed_count`] creates.
fn packed(cells: &[ValueCell], k: usize) -> Vec<ValueCell> {
    documented_by_field(cells)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (_, classes))| classes.get((k + i) % classes.len()).map(|c| (*c).clone()))
        .collect()
}

fn admin_notes_set(pairs: &[(Vec<u8>, Vec<u8>)]) -> bool {
    amp_contract::create::admin_notes_name()
        .is_some_and(|notes| pairs.iter().any(|(k, _)| k == notes.as_bytes()))
}

fn coverage_case(
    id: String,
    rules: Vec<Rule>,
    title: String,
    request: RequestSpec,
    index: usize,
) -> Case {
    let admin_notes_under_test = match &request.body {
        BodySpec::Form { pairs, .. } => admin_notes_set(pairs),
        BodySpec::Raw(_) => false,
    };
    Case {
        id,
        rules,
        title,
        request,
        // Set by the planner from the contract's answer to the exact bytes.
        expect: Expectation::Info,
        origin: Origin::Property {
            generator: Generator::Coverage,
            index,
        },
        admin_notes_under_test,
    }
}

/// The coverage cases of a run: the packed creates (when it may write), a single-value probe
/// per cell a request can reach without writing, and a probe per request form.
pub fn cases(cx: CoverContext) -> Vec<Case> {
    let cells = value_cells();
    let mut out = Vec::new();
    if cx.allow_writes {
        for k in 0..packed_count() {
            let carried = packed(&cells, k);
            let mut pairs = Vec::new();
            for cell in &carried {
                if let Some(value) = &cell.value {
                    pairs.push((cell.field.as_bytes().to_vec(), value.clone().into_bytes()));
                }
            }
            let names: Vec<String> = carried.iter().map(ValueCell::id).collect();
            let mut case = coverage_case(
                format!("{CREATE}{k:02}"),
                vec![Rule::DSuccess, Rule::DOptionals, Rule::DDefaults],
                format!(
                    "a create packed with documented values ({})",
                    names.join(", ")
                ),
                RequestSpec::form(with_action(pairs)),
                out.len(),
            );
            case.expect = Expectation::Success;
            out.push(case);
        }
    }
    if cx.allow_writes {
        // A suspending documented value in a create of its own, the rest plain.
        for cell in cells
            .iter()
            .filter(|c| c.layer == ClassLayer::DocumentedValid && c.may_suspend())
        {
            let mut pairs = plain(Need::Service.placeholder());
            if let Some(value) = &cell.value {
                pairs.push((cell.field.as_bytes().to_vec(), value.clone().into_bytes()));
            }
            let mut case = coverage_case(
                format!("{WRITE}{}", cell.id()),
                vec![Rule::DSuccess, Rule::DOptionals, Rule::DDefaults],
                format!(
                    "a create with the documented value `{}` in {}",
                    cell.class, cell.field
                ),
                RequestSpec::form(with_action(pairs)),
                out.len(),
            );
            case.expect = Expectation::Success;
            out.push(case);
        }
    }
    let missing = Need::MissingService.placeholder();
    for cell in cells.iter().filter(|c| !c.needs_write()) {
        // An invalid value goes with `{service}`: the missing service in a read-only run (the
        // planner's rule), a real one where the run may write, so that the value is the
        // request's only error and a refusal names it alone (a lenient server that accepts
        // it creates a report with the purge marker, as the fixtures' invalid values do).
        let service = if cell.layer == ClassLayer::Invalid {
            Need::Service.placeholder()
        } else {
            missing
        };
        let mut pairs = plain(service);
        let name = cell.field.as_bytes().to_vec();
        let value = cell.value.clone().unwrap_or_default().into_bytes();
        match pairs.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => pairs.push((name, value)),
        }
        let rule = match cell.layer {
            ClassLayer::DocumentedValid => Rule::DOptionals,
            _ => cell.rule,
        };
        out.push(coverage_case(
            format!("{VALUE}{}", cell.id()),
            vec![rule],
            format!(
                "{} `{}` ({}) in {}, the rest plain, for a missing service",
                cell.layer, cell.class, cell.reveals, cell.field
            ),
            RequestSpec::form(with_action(pairs)),
            out.len(),
        ));
    }
    for form in form_cells() {
        let pairs = with_action(plain(missing));
        let mut spec = RequestSpec::form(Vec::new());
        spec.auth = form.auth.clone();
        spec.method = form.method.to_owned();
        match form.encoding {
            FormEncoding::Urlencoded => {
                spec.body = BodySpec::Form {
                    pairs,
                    encoding: Encoding::Urlencoded,
                };
            }
            FormEncoding::Multipart => {
                spec.body = BodySpec::Form {
                    pairs,
                    encoding: Encoding::Multipart,
                };
            }
            FormEncoding::Json => {
                let object: serde_json::Map<String, serde_json::Value> = pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            String::from_utf8_lossy(k).into_owned(),
                            serde_json::Value::String(String::from_utf8_lossy(v).into_owned()),
                        )
                    })
                    .collect();
                spec.content_type = Some("application/json".to_owned());
                spec.body =
                    BodySpec::Raw(serde_json::Value::Object(object).to_string().into_bytes());
            }
        }
        out.push(coverage_case(
            format!("{FORM}{}", form.id()),
            vec![form.rule],
            format!(
                "{} {} ({}), for a missing service",
                form.part.name(),
                form.form,
                form.reveals
            ),
            spec,
            out.len(),
        ));
    }
    out
}

/// The id of a cell, value or form, as reports name it.
pub fn all_cell_ids() -> Vec<(String, ClassLayer, Rule, bool)> {
    let mut ids: Vec<(String, ClassLayer, Rule, bool)> = value_cells()
        .iter()
        .map(|c| (c.id(), c.layer, c.rule, c.needs_write()))
        .collect();
    ids.extend(
        form_cells()
            .iter()
            .map(|c| (format!("request/{}", c.id()), c.layer, c.rule, false)),
    );
    ids
}

/// The cells a check exercises (by its id; a `#stored` check exercises its create's cells).
pub fn cells_of(check_id: &str) -> Vec<String> {
    let id = check_id.strip_suffix("#stored").unwrap_or(check_id);
    if let Some(k) = id.strip_prefix(CREATE) {
        let Ok(k) = k.parse::<usize>() else {
            return Vec::new();
        };
        return packed(&value_cells(), k)
            .iter()
            .map(ValueCell::id)
            .collect();
    }
    if let Some(cell) = id.strip_prefix(VALUE).or_else(|| id.strip_prefix(WRITE)) {
        return vec![cell.to_owned()];
    }
    if let Some(form) = id.strip_prefix(FORM) {
        return vec![format!("request/{form}")];
    }
    Vec::new()
}

/// Whether a check id is a packed create (or its stored-value check).
pub fn is_packed_create(check_id: &str) -> bool {
    check_id.starts_with(CREATE) || check_id.starts_with(WRITE)
}

/// The model as `amp-conformance list --coverage` prints it.
pub fn listing() -> String {
    let cells = value_cells();
    let forms = form_cells();
    let fields = CreateAbuseReport::FIELDS.len();
    let own = cells
        .iter()
        .filter(|c| c.layer == ClassLayer::DocumentedValid && c.may_suspend())
        .count();
    let mut out = format!(
        "# coverage model: {} value cells over {fields} fields, {} request-part forms; {} \
         packed creates and {own} creates of their own (suspending values) carry every \
         documented-valid cell\n",
        cells.len(),
        forms.len(),
        packed_count()
    );
    for cell in &cells {
        let value = match &cell.value {
            None => "(left out)".to_owned(),
            Some(v) if v.chars().count() > 24 => {
                format!(
                    "{:?}… ({} chars)",
                    v.chars().take(12).collect::<String>(),
                    v.chars().count()
                )
            }
            Some(v) => format!("{v:?}"),
        };
        out.push_str(&format!(
            "{:<36} {:<17} {:<13} {:<28} reveals: {}\n",
            cell.id(),
            cell.layer.name(),
            cell.rule.id(),
            value,
            cell.reveals
        ));
    }
    for form in &forms {
        out.push_str(&format!(
            "{:<36} {:<17} {:<13} {:<28} reveals: {}\n",
            format!("request/{}", form.id()),
            form.layer.name(),
            form.rule.id(),
            "",
            form.reveals
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use amp_contract::documented::Verdict;
    use amp_contract::envelope::DedicatedIp;

    struct Services;
    impl amp_contract::envelope::ServiceDirectory for Services {
        fn dedicated_ip(&self, id: u32) -> Option<DedicatedIp> {
            match id {
                1 => Some(DedicatedIp::Address([203, 0, 113, 10].into())),
                3 => Some(DedicatedIp::None),
                _ => None,
            }
        }
    }

    fn render(case: &Case) -> super::super::WireRequest {
        case.request.render(
            &[
                (Need::Service, "1".to_owned()),
                (Need::ServiceWithIp, "1".to_owned()),
                (Need::ServiceWithoutIp, "3".to_owned()),
                (Need::MissingService, "999".to_owned()),
            ],
            Some("amp-conformance run test"),
            0,
        )
    }

    #[test]
    fn packed_creates_are_documented_valid_and_cover_every_documented_cell() {
        let all = cases(CoverContext { allow_writes: true });
        let packed: Vec<&Case> = all.iter().filter(|c| is_packed_create(&c.id)).collect();
        assert_eq!(
            packed.len(),
            packed_count()
                + value_cells()
                    .iter()
                    .filter(|c| c.layer == ClassLayer::DocumentedValid && c.may_suspend())
                    .count()
        );
        let mut covered = std::collections::HashSet::new();
        for case in &packed {
            let wire = render(case);
            assert!(
                matches!(wire.documented("k", &Services), Verdict::Demands { .. }),
                "{} is not documented-valid: {:?}",
                case.id,
                wire.documented("k", &Services)
            );
            assert!(wire.oracle("k", &Services).is_ok(), "{}", case.id);
            covered.extend(cells_of(&case.id));
        }
        for cell in value_cells() {
            if cell.layer == ClassLayer::DocumentedValid {
                assert!(covered.contains(&cell.id()), "{} not packed", cell.id());
            }
        }
    }

    #[test]
    fn every_reachable_cell_has_a_read_only_probe_naming_the_missing_service() {
        let all = cases(CoverContext {
            allow_writes: false,
        });
        assert!(!all.iter().any(|c| is_packed_create(&c.id)));
        for (id, _, _, needs_write) in all_cell_ids() {
            if needs_write {
                continue;
            }
            assert!(
                all.iter().any(|c| cells_of(&c.id).contains(&id)),
                "no probe for {id}"
            );
        }
        for case in &all {
            let wire = render(case);
            assert!(
                wire.oracle("k", &Services).is_err(),
                "{} would create: {:?}",
                case.id,
                String::from_utf8_lossy(&wire.body)
            );
        }
    }

    #[test]
    fn near_misses_are_scrubbed_but_ordinary_words_are_not() {
        let secret = crate::target::Secret::new("interrupt-key-1");
        let text = format!(
            "interrupted; got {} and {}",
            NearMiss::OtherCase.apply("interrupt-key-1"),
            NearMiss::Truncated.apply("interrupt-key-1")
        );
        assert_eq!(
            secret.redact(&text),
            "interrupted; got ${AMP_API_ID~~} and ${AMP_API_ID%?}"
        );
    }

    #[test]
    fn near_misses_differ_from_the_key_and_auth_round_trips() {
        for miss in NearMiss::ALL {
            assert_ne!(
                miss.apply("php-page-server-key-5b1e"),
                "php-page-server-key-5b1e"
            );
            let auth = Auth::NearMiss(miss);
            assert_eq!(auth.to_string().parse::<Auth>().unwrap(), auth);
        }
        for place in KeyPlace::ALL {
            let auth = Auth::Elsewhere(place);
            assert_eq!(auth.to_string().parse::<Auth>().unwrap(), auth);
        }
    }
}
