//! The value rules of CONTRACT.md §3, implemented once: R-EMPTY's whitespace and trimming,
//! R-BOOL's spellings, R-SERVICE-ID's canonical integers with a range, R-SERVICE-IP's
//! addresses, the text limits of R-CATEGORY and R-TEXT, and enumeration membership.
//!
//! Two crates call them: `amp_contract` (the runtime parsers, the strategies and the
//! documented layer) and the `amp-macros` derive, which checks declared defaults while
//! compiling. A rule changed here changes in all of them.

use std::net::IpAddr;

/// R-EMPTY's whitespace: PHP `trim()`'s set less NUL (space, tab, LF, CR, vertical tab).
pub fn is_php_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B)
}

/// Trims R-EMPTY's whitespace from both ends.
pub fn php_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_php_space(c as u8))
}

/// Whether a raw value is empty or only R-EMPTY's whitespace (then it counts as absent).
pub fn is_blank(raw: &[u8]) -> bool {
    raw.iter().all(|&b| is_php_space(b))
}

/// The spellings PHP's `FILTER_VALIDATE_BOOLEAN` reads as true, compared case-insensitively
/// after trimming (R-BOOL).
pub const BOOLEAN_TRUE: &[&str] = &["1", "true", "on", "yes"];

/// The spellings PHP's `FILTER_VALIDATE_BOOLEAN` reads as false, compared case-insensitively
/// after trimming (R-BOOL).
pub const BOOLEAN_FALSE: &[&str] = &["0", "false", "off", "no"];

/// PHP's `FILTER_VALIDATE_BOOLEAN` with `FILTER_NULL_ON_FAILURE` (R-BOOL): trimmed, any case;
/// `None` for anything that is none of the spellings.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = php_trim(s);
    if BOOLEAN_TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if BOOLEAN_FALSE.iter().any(|f| f.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// The boolean spellings for messages, each true one beside its false one:
/// `1, 0, true, false, on, off, yes, no`.
pub fn boolean_spellings() -> String {
    let pairs: Vec<String> = BOOLEAN_TRUE
        .iter()
        .zip(BOOLEAN_FALSE)
        .map(|(t, f)| format!("{t}, {f}"))
        .collect();
    pairs.join(", ")
}

/// Why a text is not a canonical integer in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegerError {
    /// Not decimal digits only, or with a leading zero (R-SERVICE-ID's canonical form).
    NotCanonical,
    /// Canonical, but outside `min..=max` (a number too large for `u64` included).
    OutOfRange {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
}

/// A canonical decimal integer (digits only, no sign, no leading zero) in `min..=max`.
/// A `const fn`, so that the derive can check a default against its field's type range while
/// compiling.
pub const fn parse_canonical_integer(s: &str, min: u64, max: u64) -> Result<u64, IntegerError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || (bytes.len() > 1 && bytes[0] == b'0') {
        return Err(IntegerError::NotCanonical);
    }
    let mut i = 0;
    let mut n: u64 = 0;
    let mut overflow = false;
    while i < bytes.len() {
        let b = bytes[i];
        if !b.is_ascii_digit() {
            return Err(IntegerError::NotCanonical);
        }
        match n.checked_mul(10) {
            Some(m) => match m.checked_add((b - b'0') as u64) {
                Some(next) => n = next,
                None => overflow = true,
            },
            None => overflow = true,
        }
        i += 1;
    }
    if overflow || n < min || n > max {
        Err(IntegerError::OutOfRange { min, max })
    } else {
        Ok(n)
    }
}

/// Whether `s` is a canonical integer in `0..=max` (a default that fits its field's type).
pub const fn integer_fits(s: &str, max: u64) -> bool {
    parse_canonical_integer(s, 0, max).is_ok()
}

/// Why a text breaks its field's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// It contains a NUL character (R-CATEGORY, R-TEXT).
    ContainsNul,
    /// More bytes of UTF-8 than the limit.
    TooManyBytes(usize),
    /// More Unicode scalar values than the limit.
    TooManyChars(usize),
}

/// Checks a text against NUL and its limits, in that order: bytes first, then characters.
pub fn check_text(
    s: &str,
    max_chars: Option<usize>,
    max_bytes: Option<usize>,
) -> Result<(), TextError> {
    if s.contains('\0') {
        return Err(TextError::ContainsNul);
    }
    if let Some(max) = max_bytes
        && s.len() > max
    {
        return Err(TextError::TooManyBytes(max));
    }
    // A char never takes less than a byte, so short strings need no count.
    if let Some(max) = max_chars
        && s.len() > max
        && s.chars().count() > max
    {
        return Err(TextError::TooManyChars(max));
    }
    Ok(())
}

/// A dotted-quad IPv4 address without leading zeros, or an IPv6 address without zone id
/// (R-SERVICE-IP); the standard library's parser is exactly that strict. Not trimmed.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// Whether `allowed` contains `value` (exact, case-sensitive: R-SUSPEND); a `const fn`, so the
/// derive can check an enumeration's default while compiling.
pub const fn allowed_contains(allowed: &[&str], value: &str) -> bool {
    let mut i = 0;
    while i < allowed.len() {
        let (a, b) = (allowed[i].as_bytes(), value.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}
