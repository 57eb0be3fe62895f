//! Form pairs with PHP's semantics: decoding `application/x-www-form-urlencoded` and
//! `multipart/form-data` bodies into raw byte pairs, looking a parameter up the way PHP fills
//! `$_POST` (R-DUPLICATE), and encoding pairs exactly as `http_build_query` sends them.

use std::borrow::Cow;

/// The media type of a form body as `http_build_query` produces it (the page's encoding).
pub const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// The media type of a multipart form body (what curl sends for an array of fields, R-BODY).
pub const MULTIPART_FORM_DATA: &str = "multipart/form-data";

/// Decoded form parameters in wire order, as raw bytes.
///
/// Keys and values stay bytes so that invalid UTF-8 is detected per parameter (R-UTF8) instead
/// of being silently replaced.
///
/// ```
/// use amp_contract::form::{FormPairs, Occurrence};
///
/// let form = FormPairs::from_urlencoded(b"category=High+I%2FO&category=Spam");
/// assert_eq!(form.last("category"), Occurrence::Value(b"Spam".as_slice()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormPairs<'a> {
    pairs: Vec<Pair<'a>>,
}

/// One decoded `key=value`.
type Pair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// What PHP would see in `$_POST[name]` after reading every pair (last occurrence wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence<'v> {
    /// The key was not sent.
    Absent,
    /// The last occurrence was a plain `name=value`.
    Value(&'v [u8]),
    /// The last occurrence used array syntax (`name[]=…`, `name[k]=…`), which PHP turns into an
    /// array: never a valid scalar parameter.
    Array,
}

impl<'a> FormPairs<'a> {
    /// An empty set of parameters (what a non-POST request or an unread content type yields).
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes an `application/x-www-form-urlencoded` body as PHP does: pairs split on `&`,
    /// key and value on the first `=`, `+` is a space, `%XX` is a byte, an invalid escape
    /// (`%zz`, a trailing `%`) is kept literally, and empty segments are skipped.
    pub fn from_urlencoded(body: &'a [u8]) -> Self {
        let pairs = segments(body)
            .map(|(key, value)| (php_urldecode(key), php_urldecode(value)))
            .collect();
        Self { pairs }
    }

    /// Builds pairs from already decoded parts (multipart fields, tests, generators).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Cow<'a, [u8]>>,
        V: Into<Cow<'a, [u8]>>,
    {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Appends one pair.
    pub fn push(&mut self, key: impl Into<Cow<'a, [u8]>>, value: impl Into<Cow<'a, [u8]>>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// The pairs in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair was sent.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The last occurrence of `name` (R-DUPLICATE). Keys match exactly: PHP's mangling of `.`
    /// and space to `_` is deliberately not reproduced.
    pub fn last(&self, name: &str) -> Occurrence<'_> {
        let name = name.as_bytes();
        self.pairs
            .iter()
            .rev()
            .find_map(|(key, value)| {
                if key.as_ref() == name {
                    Some(Occurrence::Value(value.as_ref()))
                } else if is_array_key_of(key, name) {
                    Some(Occurrence::Array)
                } else {
                    None
                }
            })
            .unwrap_or(Occurrence::Absent)
    }

    /// Encodes the pairs exactly as PHP's `http_build_query` does (RFC 1738 style: `+` for a
    /// space, `%XX` for every byte but ASCII letters, digits and `-_.`).
    ///
    /// ```
    /// use amp_contract::form::FormPairs;
    /// let form = FormPairs::from_pairs([(&b"category"[..], &b"High I/O & more"[..])]);
    /// assert_eq!(form.to_urlencoded(), "category=High+I%2FO+%26+more");
    /// ```
    pub fn to_urlencoded(&self) -> String {
        let size: usize = self.pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut bytes = Vec::with_capacity(size + size / 2);
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                bytes.push(b'&');
            }
            urlencode_bytes(key, &mut bytes);
            bytes.push(b'=');
            urlencode_bytes(value, &mut bytes);
        }
        let mut out = String::new();
        push_ascii(&mut out, bytes);
        out
    }

    /// Encodes the pairs as a `multipart/form-data` body with `boundary`, byte for byte as curl
    /// sends PHP's `CURLOPT_POSTFIELDS` array: one part per pair in order, each
    /// `--boundary`, CRLF, `Content-Disposition: form-data; name="key"`, an empty line and the
    /// value, then `--boundary--` and CRLF. Keys and values are written as they are (no
    /// escaping), so a key may carry bytes a check wants to send. The matching content type
    /// is [`FormPairs::multipart_content_type`].
    ///
    /// ```
    /// use amp_contract::form::{self, FormPairs};
    /// let form = FormPairs::from_pairs([(&b"category"[..], &b"Spam"[..])]);
    /// let body = form.to_multipart("XyZ");
    /// assert_eq!(
    ///     body,
    ///     b"--XyZ\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nSpam\r\n--XyZ--\r\n"
    /// );
    /// assert_eq!(form::from_multipart(&body, "XyZ"), form);
    /// ```
    pub fn to_multipart(&self, boundary: &str) -> Vec<u8> {
        let size: usize = self
            .pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + boundary.len() + 48)
            .sum();
        let mut out = Vec::with_capacity(size + boundary.len() + 6);
        for (key, value) in &self.pairs {
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary.as_bytes());
            out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(key);
            out.extend_from_slice(b"\"\r\n\r\n");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"--\r\n");
        out
    }

    /// The `Content-Type` of a body from [`FormPairs::to_multipart`] with `boundary`.
    pub fn multipart_content_type(boundary: &str) -> String {
        format!("{MULTIPART_FORM_DATA}; boundary={boundary}")
    }

    /// Detaches the pairs from the body they borrow from.
    pub fn into_owned(self) -> FormPairs<'static> {
        FormPairs {
            pairs: self
                .pairs
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }

    /// The pairs as owned bytes, in order; pairs already owned are moved, not copied.
    ///
    /// ```
    /// use amp_contract::form::FormPairs;
    /// let form = FormPairs::from_pairs([(b"k".to_vec(), b"v".to_vec())]);
    /// assert_eq!(form.into_pairs(), vec![(b"k".to_vec(), b"v".to_vec())]);
    /// ```
    pub fn into_pairs(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.pairs
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// `name[...]` with a closing bracket: PHP's array syntax for the parameter `name`.
fn is_array_key_of(key: &[u8], name: &[u8]) -> bool {
    key.len() > name.len()
        && key.starts_with(name)
        && key[name.len()] == b'['
        && key[name.len() + 1..].contains(&b']')
}

/// The undecoded key and value of every non-empty `key=value` of an urlencoded body, split as
/// PHP splits them: on `&`, then on the first `=` (a segment without one is a key with an
/// empty value). Nothing is decoded or copied, so a caller that needs one parameter of a
/// large body decodes only that one.
///
/// ```
/// use amp_contract::form::segments;
/// let pairs: Vec<_> = segments(b"a=1&&b&c=x=y").collect();
/// assert_eq!(pairs, [(&b"a"[..], &b"1"[..]), (b"b", b""), (b"c", b"x=y")]);
/// ```
pub fn segments(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    // memchr: a request body can be a megabyte of one value, scanned here by every reader of
    // the request (the planner, the oracles, the server); a byte-at-a-time split was most of
    // a deep run's planning time.
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        loop {
            let now = rest?;
            let segment = match memchr::memchr(b'&', now) {
                Some(amp) => {
                    rest = Some(&now[amp + 1..]);
                    &now[..amp]
                }
                None => {
                    rest = None;
                    now
                }
            };
            if segment.is_empty() {
                continue;
            }
            return Some(match memchr::memchr(b'=', segment) {
                Some(eq) => (&segment[..eq], &segment[eq + 1..]),
                None => (segment, &segment[segment.len()..]),
            });
        }
    })
}

/// PHP's `urldecode`: `+` is a space, valid `%XX` escapes are decoded, anything else is kept.
pub fn php_urldecode(raw: &[u8]) -> Cow<'_, [u8]> {
    php_urldecode_checked(raw).0
}

/// [`php_urldecode`], and whether every `%` in `raw` started a valid escape (an invalid one,
/// `%zz` or a trailing `%`, is kept literally): the page's reading needs both, and asking in
/// the same pass spares a second walk over every escape of a body.
///
/// ```
/// use amp_contract::form::php_urldecode_checked;
/// let (value, clean) = php_urldecode_checked(b"100%25+sure");
/// assert_eq!((value.as_ref(), clean), (b"100% sure".as_slice(), true));
/// assert!(!php_urldecode_checked(b"%zz").1);
/// ```
pub fn php_urldecode_checked(raw: &[u8]) -> (Cow<'_, [u8]>, bool) {
    let Some(first) = memchr::memchr2(b'+', b'%', raw) else {
        return (Cow::Borrowed(raw), true);
    };
    // One pass, one allocation, the plain runs between escapes copied whole: this runs for
    // every key and value of every request.
    let mut out = Vec::with_capacity(raw.len());
    let mut clean = true;
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        match raw[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                raw.get(i + 1).copied().and_then(hex_value),
                raw.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push((high << 4) | low);
                    i += 3;
                }
                _ => {
                    clean = false;
                    out.push(b'%');
                    i += 1;
                }
            },
            _ => {
                let run = memchr::memchr2(b'+', b'%', &raw[i..]).unwrap_or(raw.len() - i);
                out.extend_from_slice(&raw[i..i + run]);
                i += run;
            }
        }
    }
    (Cow::Owned(out), clean)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// PHP's `urlencode` of raw bytes, appended to `out`.
pub fn php_urlencode_into(raw: &[u8], out: &mut String) {
    let mut bytes = Vec::with_capacity(raw.len() + raw.len() / 2);
    urlencode_bytes(raw, &mut bytes);
    push_ascii(out, bytes);
}

/// What PHP's `urlencode` does with each byte: ASCII letters, digits and `-_.` stay, a space
/// becomes `+`, every other byte `%XX`.
const KEEPS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b' ');
        b += 1;
    }
    table
};

/// PHP's `urlencode` into `out`: ASCII letters, digits and `-_.` as they are, a space as `+`,
/// every other byte as `%XX` (upper-case hex). The generated texts of a deep run are encoded
/// here, up to 64 KiB each (192 KiB encoded for four-byte characters), so runs are handled
/// whole: a run of kept bytes is copied at once, a run of escaped ones written into space
/// made for it at once (a push per byte was the largest item of a run's planning).
fn urlencode_bytes(raw: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        let kept = rest
            .iter()
            .position(|&b| !KEEPS[usize::from(b)])
            .unwrap_or(rest.len());
        let start = out.len();
        out.extend_from_slice(&rest[..kept]);
        for b in &mut out[start..] {
            if *b == b' ' {
                *b = b'+';
            }
        }
        rest = &rest[kept..];
        let escaped = rest
            .iter()
            .position(|&b| KEEPS[usize::from(b)])
            .unwrap_or(rest.len());
        let start = out.len();
        out.resize(start + 3 * escaped, b'%');
        for (slot, &b) in out[start..].chunks_exact_mut(3).zip(&rest[..escaped]) {
            slot[1] = HEX[usize::from(b >> 4)];
            slot[2] = HEX[usize::from(b & 15)];
        }
        rest = &rest[escaped..];
    }
}

/// Appends encoded bytes (ASCII by construction) to `out`.
fn push_ascii(out: &mut String, bytes: Vec<u8>) {
    match String::from_utf8(bytes) {
        Ok(text) if out.is_empty() => *out = text,
        Ok(text) => out.push_str(&text),
        // Unreachable: every byte written is ASCII; kept lossless rather than panicking.
        Err(e) => out.push_str(&String::from_utf8_lossy(e.as_bytes())),
    }
}

/// Reads the non-file parts of a `multipart/form-data` body as PHP does: a part whose
/// `Content-Disposition` has a `filename` parameter, even an empty one, is an upload and not a
/// parameter (R-BODY). Parts read before a malformed one are kept, as PHP keeps them.
///
/// The body is complete in memory, so the parser's future never waits: it is polled to
/// completion with a no-op waker instead of pulling in an executor.
pub fn from_multipart(body: &[u8], boundary: &str) -> FormPairs<'static> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let chunk = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary.to_owned());
    let collect = async move {
        let mut form = FormPairs::new();
        while let Ok(Some(field)) = multipart.next_field().await {
            if has_filename(field.headers()) {
                continue;
            }
            let Some(name) = field.name().map(|n| n.as_bytes().to_vec()) else {
                continue;
            };
            match field.bytes().await {
                Ok(value) => form.push(name, value.to_vec()),
                Err(_) => break,
            }
        }
        form
    };
    let mut collect = std::pin::pin!(collect);
    let mut cx = Context::from_waker(Waker::noop());
    // Every chunk is ready, so the first poll completes; a second is never needed, but a
    // parser that did wait would otherwise leave us without parameters, which is the safe side.
    match collect.as_mut().poll(&mut cx) {
        Poll::Ready(form) => form,
        Poll::Pending => FormPairs::new(),
    }
}

/// Whether a part's `Content-Disposition` carries a `filename` (or `filename*`) parameter.
fn has_filename(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_DISPOSITION)
        .map(|value| {
            value.as_bytes().split(|&b| b == b';').skip(1).any(|param| {
                let param = param.trim_ascii_start();
                let name_end = param.iter().position(|&b| b == b'=').unwrap_or(param.len());
                let name = param[..name_end].trim_ascii_end();
                name.eq_ignore_ascii_case(b"filename") || name.eq_ignore_ascii_case(b"filename*")
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_duplicate_last_plain_value_wins() {
        let form = FormPairs::from_urlencoded(b"category=a&category=b");
        assert_eq!(form.last("category"), Occurrence::Value(b"b".as_slice()));
    }

    #[test]
    fn r_duplicate_array_syntax_last_makes_array() {
        for body in [&b"category=a&category[]=b"[..], b"category=a&category[x]=b"] {
            assert_eq!(
                FormPairs::from_urlencoded(body).last("category"),
                Occurrence::Array
            );
        }
        let form = FormPairs::from_urlencoded(b"category[]=a&category=b");
        assert_eq!(form.last("category"), Occurrence::Value(b"b".as_slice()));
    }

    #[test]
    fn r_duplicate_keys_are_not_mangled() {
        let form = FormPairs::from_urlencoded(b"service.id=1&service+id=2&category[=x");
        assert_eq!(form.last("service_id"), Occurrence::Absent);
        assert_eq!(form.last("category"), Occurrence::Absent);
    }

    #[test]
    fn r_utf8_invalid_escapes_kept_literally_and_plus_is_space() {
        let form = FormPairs::from_urlencoded(b"a=%zz&b=100%&c=x+y%2By&d=%ff");
        assert_eq!(form.last("a"), Occurrence::Value(b"%zz".as_slice()));
        assert_eq!(form.last("b"), Occurrence::Value(b"100%".as_slice()));
        assert_eq!(form.last("c"), Occurrence::Value(b"x y+y".as_slice()));
        assert_eq!(form.last("d"), Occurrence::Value(b"\xff".as_slice()));
    }

    #[test]
    fn key_without_equals_is_empty_value() {
        let form = FormPairs::from_urlencoded(b"&&category&x=1");
        assert_eq!(form.last("category"), Occurrence::Value(b"".as_slice()));
        assert_eq!(form.len(), 2);
    }

    #[test]
    fn encodes_like_http_build_query() {
        let form = FormPairs::from_pairs([(&b"a"[..], "ü ~*'!".as_bytes()), (b"b", b"x-y_z.w")]);
        assert_eq!(form.to_urlencoded(), "a=%C3%BC+%7E%2A%27%21&b=x-y_z.w");
    }

    #[test]
    fn r_body_multipart_skips_file_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nSpam\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"service_id\"; filename=\"\"\r\n\r\n9\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"service_id\"\r\n\r\n1\r\n--XyZ--\r\n";
        let form = from_multipart(body, "XyZ");
        assert_eq!(form.last("category"), Occurrence::Value(b"Spam".as_slice()));
        assert_eq!(form.last("service_id"), Occurrence::Value(b"1".as_slice()));
        assert_eq!(form.len(), 2);
    }

    #[test]
    fn r_body_malformed_multipart_keeps_earlier_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nSpam\r\n--XyZ\r\ngarbage";
        let form = from_multipart(body, "XyZ");
        assert!(form.len() <= 1);
    }
}
