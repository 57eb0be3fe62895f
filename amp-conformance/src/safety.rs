//! Safety toward real targets (CONTRACT.md §6), judged against the most lenient server the
//! page allows, not against the reference.
//!
//! A request is a write if *some* conformant server could accept it as a create: one that
//! reads parameters from the body whatever its content type or method (`parse_str` of
//! `php://input`, `json_decode`), from the query string and from cookies (`$_REQUEST`), that
//! matches parameter names in any case (and with PHP's `.`/space mangling), trims and lowers
//! the action, and reads the service id with `intval()`, `intval($x, 0)`, `filter_var` with
//! its octal and hex flags, or by stripping every non-digit. [`LenientReading`] is that
//! server's view of the exact bytes, [`assess`] says whether the page still *demands* a
//! rejection (no valid key, no `create` action, a required parameter absent) or which service
//! ids such a server could create a report for, [`pin_services`] moves the service ids of a
//! request to an id the run may name while keeping the form under test (`+1` becomes
//! `+999999`), and [`mark`] puts the purge marker wherever the request's parameters travel.

use std::borrow::Cow;
use std::collections::BTreeSet;

use amp_contract::action::ACTION_PARAM;
use amp_contract::field::Kind;
use amp_contract::form::{FormPairs, php_urldecode, php_urlencode_into};
use amp_contract::{Action, CreateAbuseReport};

use crate::cases::{Auth, WireRequest};

/// Where a lenient server may read a parameter from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Source {
    /// The query string (`$_GET`, `$_REQUEST`).
    Query,
    /// The body read as `application/x-www-form-urlencoded`, whatever its content type says.
    Urlencoded,
    /// The body read as `multipart/form-data`, file parts included.
    Multipart,
    /// The body read as a JSON object.
    Json,
    /// The `Cookie` header (`$_COOKIE`, `$_REQUEST`).
    Cookie,
}

/// One parameter as a lenient server could read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    /// Where it was read.
    pub(crate) source: Source,
    /// Its name, lower-cased, PHP-mangled (`.`, space and `-` as `_`), array suffix removed.
    pub(crate) name: String,
    /// Whether the name used array syntax (`service_id[]`): PHP's `intval()` of an array is 1.
    pub(crate) array: bool,
    /// The value as the request carries it.
    raw: Raw<'a>,
}

/// A parameter's value before it is needed: most are never read (a text's value does not
/// decide whether a request can create), and a generated text may be 64 KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw<'a> {
    /// Urlencoded, as in a query string, a form body or a cookie.
    Encoded(&'a [u8]),
    /// Already decoded (a multipart part, a JSON member).
    Plain(Cow<'a, [u8]>),
}

impl Param<'_> {
    /// The decoded value.
    pub(crate) fn value(&self) -> Cow<'_, [u8]> {
        match &self.raw {
            Raw::Encoded(raw) => php_urldecode(raw),
            Raw::Plain(value) => Cow::Borrowed(value.as_ref()),
        }
    }
}

/// The parameters of a request that some server the page allows could read as the action or
/// one of its fields (no other name decides what a request can create, nor where the purge
/// marker goes).
#[derive(Debug, Clone, Default)]
pub(crate) struct LenientReading<'a> {
    /// The parameters, source by source, in order.
    pub(crate) params: Vec<Param<'a>>,
}

/// The name a lenient server matches: lower-cased, leading blanks dropped, `.`, space and `-`
/// read as `_`, and PHP's array syntax split off.
fn normalise(raw: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start_matches([' ', '\t', '\r', '\n', '\x0b', '\0']);
    let (base, array) = match text.find('[') {
        Some(at) => (&text[..at], true),
        None => (text, false),
    };
    let name = base
        .chars()
        .map(|c| match c {
            '.' | ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    (name, array)
}

/// Whether a normalised name is one the reading keeps.
fn matters(name: &str) -> bool {
    name == ACTION_PARAM || CreateAbuseReport::field(name).is_some()
}

impl<'a> LenientReading<'a> {
    /// Reads `wire` as the most lenient server would.
    pub(crate) fn of(wire: &'a WireRequest) -> Self {
        let mut reading = Self::default();
        if let Some(query) = &wire.query {
            reading.urlencoded(Source::Query, query.as_bytes());
        }
        reading.urlencoded(Source::Urlencoded, &wire.body);
        if let Some(boundary) = multipart_boundary(wire) {
            for part in multipart_parts(&wire.body, &boundary) {
                let (name, array) = normalise(part.name);
                reading.keep(Param {
                    source: Source::Multipart,
                    name,
                    array,
                    raw: Raw::Plain(Cow::Borrowed(&wire.body[part.value.clone()])),
                });
            }
        }
        if let Some(map) = json_object(&wire.body) {
            for (key, value) in map {
                let (name, array) = normalise(key.as_bytes());
                let mut push = |value: &serde_json::Value, array: bool| {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    reading.keep(Param {
                        source: Source::Json,
                        name: name.clone(),
                        array,
                        raw: Raw::Plain(Cow::Owned(text.into_bytes())),
                    });
                };
                match &value {
                    serde_json::Value::Array(items) => {
                        push(&value, true);
                        items.iter().for_each(|item| push(item, true));
                    }
                    serde_json::Value::Object(_) => push(&value, true),
                    _ => push(&value, array),
                }
            }
        }
        for (header, value) in &wire.headers {
            if header.eq_ignore_ascii_case("cookie") {
                for pair in value.split(';') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let (name, array) = normalise(php_urldecode(key.trim().as_bytes()).as_ref());
                    reading.keep(Param {
                        source: Source::Cookie,
                        name,
                        array,
                        raw: Raw::Encoded(value.trim().as_bytes()),
                    });
                }
            }
        }
        reading
    }

    fn keep(&mut self, param: Param<'a>) {
        if matters(&param.name) {
            self.params.push(param);
        }
    }

    fn urlencoded(&mut self, source: Source, raw: &'a [u8]) {
        // PHP's reading of a form: `&`-separated, empty segments skipped, the first `=`
        // splitting key from value; only keys are decoded here.
        for (key, value) in amp_contract::form::segments(raw) {
            let (name, array) = normalise(&php_urldecode(key));
            self.keep(Param {
                source,
                name,
                array,
                raw: Raw::Encoded(value),
            });
        }
    }

    /// Every reading of the parameter `name` (already in normal form).
    pub(crate) fn named<'r>(&'r self, name: &'r str) -> impl Iterator<Item = &'r Param<'a>> + 'r {
        self.params.iter().filter(move |p| p.name == name)
    }

    /// The sources that carry at least one parameter of the action (where a lenient server
    /// could find a create), for the purge marker.
    pub(crate) fn create_sources(&self) -> BTreeSet<Source> {
        self.params.iter().map(|p| p.source).collect()
    }
}

/// The boundary of a multipart body: the content type's, or the body's first line when it
/// opens like one (a lenient server scanning the raw input finds it so).
fn multipart_boundary(wire: &WireRequest) -> Option<String> {
    let from_header = wire.header("content-type").and_then(|ct| {
        ct.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    });
    from_header.or_else(|| {
        // memchr: the body may be a megabyte without a newline, and every request to a
        // target is read here several times.
        let end = memchr::memchr(b'\n', &wire.body).unwrap_or(wire.body.len());
        let first = &wire.body[..end];
        let first = first.strip_suffix(b"\r").unwrap_or(first);
        let boundary = first.strip_prefix(b"--")?;
        (!boundary.is_empty())
            .then(|| String::from_utf8(boundary.to_vec()).ok())
            .flatten()
    })
}

/// A part of a multipart body: its name and where its value lies in the body.
struct Part<'a> {
    name: &'a [u8],
    value: std::ops::Range<usize>,
}

/// The named parts of a multipart body, file parts included (a hand-written parser does not
/// tell them apart).
fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let find = |from: usize, needle: &[u8]| {
        memchr::memmem::find(body.get(from..)?, needle).map(|at| from + at)
    };
    let mut parts = Vec::new();
    let mut at = match find(0, delimiter) {
        Some(at) => at + delimiter.len(),
        None => return parts,
    };
    while let Some(headers_end) = find(at, b"\r\n\r\n") {
        let headers = &body[at..headers_end];
        let value_start = headers_end + 4;
        let next = find(value_start, delimiter);
        let value_end = next.map_or(body.len(), |n| n.saturating_sub(2).max(value_start));
        if let Some(name) = disposition_name(headers) {
            parts.push(Part {
                name,
                value: value_start..value_end,
            });
        }
        match next {
            Some(n) => at = n + delimiter.len(),
            None => break,
        }
    }
    parts
}

/// The `name="…"` of a part's headers.
fn disposition_name(headers: &[u8]) -> Option<&[u8]> {
    let lower = headers.to_ascii_lowercase();
    let at = lower.windows(6).position(|w| w == b"name=\"")?;
    // `filename="` also ends in `name="`: take the first that is not preceded by `file`.
    let at = std::iter::successors(Some(at), |&prev| {
        lower[prev + 1..]
            .windows(6)
            .position(|w| w == b"name=\"")
            .map(|p| prev + 1 + p)
    })
    .find(|&p| p < 4 || &lower[p - 4..p] != b"file")?;
    let start = at + 6;
    let len = headers[start..].iter().position(|&b| b == b'"')?;
    Some(&headers[start..start + len])
}

/// Why the page demands that a request be rejected whatever the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Demand {
    /// No valid key is sent (D-AUTH).
    NoKey,
    /// No value any server could read as the `create` action (D-ACTION).
    NoAction,
    /// A required parameter is absent from every source (D-REQUIRED).
    Missing(&'static str),
    /// Every reading of the service id names no service (zero, negative or not a number).
    NoService,
}

/// What any server the page allows could do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Assessment {
    /// The page demands a rejection: nothing can be created.
    Rejected(Demand),
    /// Some conformant server could create a report for one of these service ids.
    MayCreate(BTreeSet<u64>),
}

/// Reads `wire` as the most lenient server the page allows and says whether it could create
/// (PHP's `intval()` reads `12abc` as 12: a write, even though the reference refuses it).
pub(crate) fn assess(wire: &WireRequest) -> Assessment {
    if matches!(wire.auth, Auth::Missing | Auth::Empty | Auth::Invalid) {
        return Assessment::Rejected(Demand::NoKey);
    }
    let reading = LenientReading::of(wire);
    let creates = reading.named(ACTION_PARAM).any(|p| {
        let value = p.value();
        let value = String::from_utf8_lossy(&value);
        value
            .trim_matches([' ', '\t', '\r', '\n', '\x0b', '\0'])
            .eq_ignore_ascii_case(CreateAbuseReport::NAME)
    });
    if !creates {
        return Assessment::Rejected(Demand::NoAction);
    }
    let mut ids = BTreeSet::new();
    for field in CreateAbuseReport::FIELDS.iter().filter(|f| f.required()) {
        let mut present = reading.named(field.name).peekable();
        if present.peek().is_none() {
            return Assessment::Rejected(Demand::Missing(field.name));
        }
        if field.lookup && field.kind == Kind::Integer {
            for param in present {
                ids.extend(id_readings(&param.value()));
                if param.array {
                    ids.insert(1);
                }
            }
        }
    }
    if ids.is_empty() {
        Assessment::Rejected(Demand::NoService)
    } else {
        Assessment::MayCreate(ids)
    }
}

/// Every positive service id PHP code could read from `value`: `intval()` (a leading number,
/// exponent included), `intval($x, 0)` and `filter_var`'s octal and hex flags, and the digits
/// alone (`preg_replace('/\D/', '', $x)`). Numbers too large saturate, as PHP's do.
pub(crate) fn id_readings(value: &[u8]) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(value.len());
    let rest = &value[start..];
    let (negative, unsigned) = match rest.first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if !negative {
        // intval(): the leading decimal number, as a float when it has a fraction or exponent.
        let digits = unsigned.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut end = digits;
        if unsigned.get(end) == Some(&b'.') {
            end += 1 + unsigned[end + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        if matches!(unsigned.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(unsigned.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            let exp_digits = unsigned[exp.min(unsigned.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if exp_digits > 0 {
                end = exp + exp_digits;
            }
        }
        if let Some(n) = std::str::from_utf8(&unsigned[..end])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
        {
            ids.insert(saturate(n));
        }
        // Before PHP 7.1, intval() stopped at the exponent.
        if digits > 0 {
            let text = String::from_utf8_lossy(&unsigned[..digits]);
            ids.insert(text.parse::<u64>().unwrap_or(u64::MAX));
        }
        // intval($x, 0) and FILTER_FLAG_ALLOW_HEX / _OCTAL: a base prefix.
        let radix = |prefix: &[u8], radix: u32| {
            let digits = unsigned.strip_prefix(prefix)?;
            let len = digits
                .iter()
                .take_while(|b| char::from(**b).is_digit(radix))
                .count();
            let text = std::str::from_utf8(&digits[..len]).ok()?;
            (len > 0).then(|| u64::from_str_radix(text, radix).unwrap_or(u64::MAX))
        };
        ids.extend(radix(b"0x", 16));
        ids.extend(radix(b"0X", 16));
        ids.extend(radix(b"0b", 2));
        ids.extend(radix(b"0B", 2));
        ids.extend(radix(b"0o", 8));
        ids.extend(radix(b"0", 8));
    }
    // The digits alone, wherever they are (a sign dropped, letters stripped).
    let digits: String = value
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    if !digits.is_empty() {
        ids.insert(digits.parse::<u64>().unwrap_or(u64::MAX));
    }
    ids.retain(|&id| id > 0);
    ids
}

fn saturate(n: f64) -> u64 {
    if n >= u64::MAX as f64 {
        u64::MAX
    } else if n >= 1.0 {
        n as u64
    } else {
        0
    }
}

/// `value` with its service id moved to `to`, the form under test kept (`+1` → `+999999`,
/// `01` → `0999999`, `12abc` → `999999abc`): the one run of digits gets `to` after its leading
/// zeros. `None` when that would change what the value tests (a number out of the id's range,
/// or no digits to move); the caller then checks the request as it is.
pub(crate) fn pin_value(value: &[u8], to: u32) -> Option<Vec<u8>> {
    let first = value.iter().position(u8::is_ascii_digit)?;
    let len = value[first..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let run = &value[first..first + len];
    let zeros = run.iter().take_while(|&&b| b == b'0').count();
    let significant = &run[zeros..];
    if significant.is_empty() {
        return None;
    }
    let in_range = std::str::from_utf8(significant)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .is_some_and(|n| n <= i32::MAX as u64);
    if !in_range {
        return None;
    }
    let mut out = value[..first + zeros].to_vec();
    out.extend_from_slice(to.to_string().as_bytes());
    out.extend_from_slice(&value[first + len..]);
    Some(out)
}

/// The name of the action's lookup field (`service_id`), from the metadata.
fn lookup_field() -> Option<&'static str> {
    CreateAbuseReport::FIELDS
        .iter()
        .find(|f| f.lookup && f.kind == Kind::Integer)
        .map(|f| f.name)
}

/// `wire` with every service id a lenient server could read in the query string or a form
/// body (urlencoded or multipart) moved to `to` by [`pin_value`]. Other bytes stay as they
/// were: a case about an invalid escape or a file part still sends it.
pub(crate) fn pin_services(wire: &WireRequest, to: u32) -> WireRequest {
    let Some(field) = lookup_field() else {
        return wire.clone();
    };
    let mut out = wire.clone();
    if let Some(query) = &wire.query {
        let pinned = pin_urlencoded(query.as_bytes(), field, to);
        out.query = Some(String::from_utf8_lossy(&pinned).into_owned());
    }
    out.body = match multipart_boundary(wire) {
        Some(boundary) => pin_multipart(&wire.body, &boundary, field, to),
        None => pin_urlencoded(&wire.body, field, to),
    };
    out
}

fn pin_urlencoded(raw: &[u8], field: &str, to: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 8);
    for (i, segment) in raw.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let (key, value) = match segment.iter().position(|&b| b == b'=') {
            Some(at) => (&segment[..at], Some(&segment[at + 1..])),
            None => (segment, None),
        };
        let (name, array) = normalise(&php_urldecode(key));
        let pinned = value
            .filter(|_| name == field && !array)
            .and_then(|v| pin_value(&php_urldecode(v), to));
        match pinned {
            Some(value) => {
                let mut encoded = String::new();
                php_urlencode_into(&value, &mut encoded);
                out.extend_from_slice(key);
                out.push(b'=');
                out.extend_from_slice(encoded.as_bytes());
            }
            None => out.extend_from_slice(segment),
        }
    }
    out
}

fn pin_multipart(body: &[u8], boundary: &str, field: &str, to: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    let mut copied = 0;
    for part in multipart_parts(body, boundary) {
        let (name, array) = normalise(part.name);
        if name != field || array {
            continue;
        }
        if let Some(value) = pin_value(&body[part.value.clone()], to) {
            out.extend_from_slice(&body[copied..part.value.start]);
            out.extend_from_slice(&value);
            copied = part.value.end;
        }
    }
    out.extend_from_slice(&body[copied..]);
    out
}

/// `wire` with the purge marker in `admin_notes` in every source where a lenient server could
/// find a create and that source has no `admin_notes` yet: appended to the query string and
/// to a body read as urlencoded, added as a part of a multipart body, as a member of a JSON
/// object. (A form the planner renders already has it: then nothing is copied.)
pub(crate) fn mark(wire: WireRequest, marker: &str) -> WireRequest {
    let Some(notes) = amp_contract::create::admin_notes_name() else {
        return wire;
    };
    let (missing, boundary, json) = {
        let reading = LenientReading::of(&wire);
        let has_notes = |source: Source| {
            reading
                .params
                .iter()
                .any(|p| p.source == source && p.name == notes)
        };
        let missing: Vec<Source> = reading
            .create_sources()
            .into_iter()
            .filter(|source| !has_notes(*source))
            .collect();
        if missing.is_empty() {
            return wire;
        }
        (missing, multipart_boundary(&wire), is_json(&wire))
    };
    let mut out = wire;
    let pair = FormPairs::from_pairs([(notes.as_bytes(), marker.as_bytes())]).to_urlencoded();
    for source in missing {
        match source {
            Source::Query => {
                if let Some(query) = &mut out.query {
                    if !query.is_empty() {
                        query.push('&');
                    }
                    query.push_str(&pair);
                }
            }
            Source::Urlencoded if boundary.is_none() && !json => {
                if !out.body.is_empty() {
                    out.body.push(b'&');
                }
                out.body.extend_from_slice(pair.as_bytes());
            }
            Source::Multipart => {
                if let Some(boundary) = &boundary {
                    let closing = format!("--{boundary}--");
                    let part = format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{notes}\"\r\n\r\n{marker}\r\n"
                    );
                    match memchr::memmem::rfind(&out.body, closing.as_bytes()) {
                        Some(at) => {
                            out.body.splice(at..at, part.into_bytes());
                        }
                        None => out.body.extend_from_slice(part.as_bytes()),
                    }
                }
            }
            Source::Json => {
                if let Some(open) = out.body.iter().position(|&b| b == b'{') {
                    let empty = out.body[open + 1..]
                        .iter()
                        .find(|b| !b.is_ascii_whitespace())
                        == Some(&b'}');
                    let member = format!(
                        "{}:{}{}",
                        serde_json::Value::from(notes),
                        serde_json::Value::from(marker),
                        if empty { "" } else { "," }
                    );
                    out.body.splice(open + 1..open + 1, member.into_bytes());
                }
            }
            Source::Urlencoded | Source::Cookie => {}
        }
    }
    out
}

fn is_json(wire: &WireRequest) -> bool {
    json_object(&wire.body).is_some()
}

/// The body read as a JSON object (`json_decode`), if it is one. Only a body that opens like
/// an object can be: serde would say so too, but only after reading a megabyte that is not.
fn json_object(body: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn intval_reads_a_trailing_garbage_id_as_a_write() {
        let wire = WireRequest {
            method: "POST".into(),
            auth: Auth::Valid,
            headers: vec![],
            query: None,
            body: b"action=create&service_id=12abc&category=Spam".to_vec(),
        };
        assert_eq!(assess(&wire), Assessment::MayCreate([12].into()));
    }

    fn post(body: &str) -> WireRequest {
        WireRequest {
            method: "POST".into(),
            auth: Auth::Valid,
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            query: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn ids(list: &[u64]) -> Assessment {
        Assessment::MayCreate(list.iter().copied().collect())
    }

    #[test]
    fn php_readings_of_a_service_id() {
        let read = |v: &str| id_readings(v.as_bytes()).into_iter().collect::<Vec<_>>();
        assert_eq!(read("+1"), [1]);
        assert_eq!(read("01"), [1]);
        assert_eq!(read("12abc"), [12]);
        assert_eq!(read(" 7 "), [7]);
        assert_eq!(read("-1"), [1], "stripping non-digits drops the sign");
        assert_eq!(read("1e3"), [1, 13, 1000]);
        assert_eq!(read("0x1A"), [1, 26]);
        assert_eq!(read("010"), [8, 10]);
        assert_eq!(read("0"), Vec::<u64>::new());
        assert_eq!(read("abc"), Vec::<u64>::new());
        assert_eq!(read("99999999999999999999999"), [u64::MAX]);
    }

    #[test]
    fn the_page_demands_a_rejection_only_where_no_server_could_create() {
        assert_eq!(
            assess(&post("action=create&service_id=1&category=Spam")),
            ids(&[1])
        );
        let mut no_key = post("action=create&service_id=1&category=Spam");
        no_key.auth = Auth::Invalid;
        assert_eq!(assess(&no_key), Assessment::Rejected(Demand::NoKey));
        assert_eq!(
            assess(&post("action=delete&service_id=1&category=Spam")),
            Assessment::Rejected(Demand::NoAction)
        );
        assert_eq!(
            assess(&post("action=%20Create%00&service_id=1&category=Spam")),
            ids(&[1]),
            "a lenient server trims and ignores case"
        );
        assert_eq!(
            assess(&post("action=create&service_id=1")),
            Assessment::Rejected(Demand::Missing("category"))
        );
        assert_eq!(
            assess(&post("ACTION=create&Service.Id=5&category=")),
            ids(&[5]),
            "any case, PHP's mangling, an empty category is still present"
        );
        assert_eq!(
            assess(&post("action=create&service_id[]=999&category=x")),
            ids(&[1, 999]),
            "intval() of an array is 1"
        );
    }

    #[test]
    fn every_source_a_lenient_server_reads() {
        let mut query = post("");
        query.query = Some("action=create&service_id=3&category=Spam".into());
        assert_eq!(assess(&query), ids(&[3]));
        let mut json = post(r#"{"action":"create","service_id":4,"category":"Spam"}"#);
        json.headers = vec![("content-type".into(), "application/json".into())];
        assert_eq!(assess(&json), ids(&[4]));
        let mut cookie = post("action=create&category=x");
        cookie
            .headers
            .push(("Cookie".into(), "service_id=6; other=1".into()));
        assert_eq!(assess(&cookie), ids(&[6]));
        let body = "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n--b\r\n\
                    Content-Disposition: form-data; name=\"service_id\"\r\n\r\n8\r\n--b\r\n\
                    Content-Disposition: form-data; name=\"category\"; filename=\"\"\r\n\r\nSpam\r\n--b--\r\n";
        let mut multipart = post(body);
        multipart.headers = vec![(
            "content-type".into(),
            "multipart/form-data; boundary=b".into(),
        )];
        assert_eq!(assess(&multipart), ids(&[8]), "a file part is read too");
    }

    #[test]
    fn pinning_keeps_the_form_under_test() {
        let pin = |v: &str| {
            pin_value(v.as_bytes(), 999_999).map(|v| String::from_utf8_lossy(&v).into_owned())
        };
        assert_eq!(pin("+1").as_deref(), Some("+999999"));
        assert_eq!(pin("01").as_deref(), Some("0999999"));
        assert_eq!(pin("12abc").as_deref(), Some("999999abc"));
        assert_eq!(pin("-1").as_deref(), Some("-999999"));
        assert_eq!(pin("2147483648"), None, "out of range stays out of range");
        assert_eq!(pin("0"), None);
        let pinned = pin_services(
            &post("action=create&service_id=%2B1&category=Spam"),
            999_999,
        );
        assert_eq!(
            String::from_utf8_lossy(&pinned.body),
            "action=create&service_id=%2B999999&category=Spam"
        );
        assert_eq!(assess(&pinned), ids(&[999_999]));
        let mut query = post("");
        query.query = Some("action=create&service_id=1&category=Spam".into());
        assert_eq!(
            pin_services(&query, 42).query.as_deref(),
            Some("action=create&service_id=42&category=Spam")
        );
    }

    #[test]
    fn the_marker_goes_where_the_parameters_travel() {
        let notes = |wire: &WireRequest, source: Source| {
            LenientReading::of(wire).params.into_iter().any(|p| {
                p.source == source && p.name == "admin_notes" && p.value().as_ref() == b"amp run x"
            })
        };
        let mut query = post("");
        query.query = Some("action=create&service_id=1&category=Spam".into());
        assert!(notes(&mark(query.clone(), "amp run x"), Source::Query));
        let json = post(r#"{"action":"create","service_id":1,"category":"Spam"}"#);
        let marked = mark(json.clone(), "amp run x");
        assert!(notes(&marked, Source::Json));
        assert!(serde_json::from_slice::<serde_json::Value>(&marked.body).is_ok());
        let mut multipart = post(
            "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n--b--\r\n",
        );
        multipart.headers = vec![(
            "content-type".into(),
            "multipart/form-data; boundary=b".into(),
        )];
        let marked = mark(multipart.clone(), "amp run x");
        assert!(notes(&marked, Source::Multipart));
        let reread = amp_contract::form::from_multipart(&marked.body, "b");
        assert_eq!(reread.len(), 2, "still a well-formed multipart body");
        let plain = post("action=create&service_id=1&category=Spam");
        assert!(notes(&mark(plain.clone(), "amp run x"), Source::Urlencoded));
        let untouched = post("ff=1");
        assert_eq!(mark(untouched.clone(), "amp run x"), untouched);
    }
}
