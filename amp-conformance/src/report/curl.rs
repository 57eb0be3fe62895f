//! Reproductions as curl commands: exact method, header names (curl sends them as written,
//! case included), header values and body bytes, with the API_ID written as `$AMP_API_ID` so
//! that the command is safe to paste into a ticket.

use crate::cases::coverage::KeyPlace;
use crate::cases::{Auth, WireRequest};

/// Quotes `bytes` for bash: plain single quotes when printable, `$'...'` with `\xHH` escapes
/// otherwise.
pub fn shell_quote(bytes: &[u8]) -> String {
    let printable = bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\n');
    if printable && !bytes.contains(&b'\n') {
        return format!(
            "'{}'",
            String::from_utf8_lossy(bytes).replace('\'', r"'\''")
        );
    }
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str(r"\'"),
            b'\\' => out.push_str(r"\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

/// Bodies longer than this are written as a generator command rather than inline.
const INLINE_LIMIT: usize = 4096;

/// The body argument of curl: inline, or a generator when long (the body's longest run of
/// one byte written as a repetition, the rest as hex).
fn body_arg(body: &[u8]) -> String {
    if body.len() <= INLINE_LIMIT {
        return format!("--data-binary {}", shell_quote(body));
    }
    let (mut best_at, mut best_len, mut at) = (0, 0, 0);
    while at < body.len() {
        let len = body[at..].iter().take_while(|&&b| b == body[at]).count();
        if len > best_len {
            (best_at, best_len) = (at, len);
        }
        at += len;
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (prefix, suffix) = (&body[..best_at], &body[best_at + best_len..]);
    let byte = body.get(best_at).copied().unwrap_or(0);
    format!(
        "--data-binary @<(python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(\"{}\") + bytes([{byte}]) * {best_len} + bytes.fromhex(\"{}\"))')",
        hex(prefix),
        hex(suffix)
    )
}

/// The curl command that sends `request` to `url`.
///
/// ```
/// use amp_conformance::cases::{Auth, WireRequest};
/// use amp_conformance::report::curl::command;
/// let request = WireRequest {
///     method: "POST".into(),
///     auth: Auth::Valid,
///     headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
///     query: None,
///     body: b"action=create".to_vec(),
/// };
/// let cmd = command("http://127.0.0.1:8080/api.php", &request);
/// assert!(cmd.contains(r#"-H "API_ID: $AMP_API_ID""#));
/// assert!(cmd.ends_with("--data-binary 'action=create'"));
///
/// // A header-case check shows the casing it sends.
/// let lower = WireRequest { auth: Auth::ValidAs("api_id".into()), ..request };
/// assert!(command("http://127.0.0.1:8080/api.php", &lower).contains(r#"-H "api_id: $AMP_API_ID""#));
/// ```
pub fn command(url: &str, request: &WireRequest) -> String {
    let mut parts = vec!["curl -sS -i".to_owned()];
    if request.method != "POST" || request.body.is_empty() {
        parts.push(format!("-X {}", shell_quote(request.method.as_bytes())));
    }
    match &request.auth {
        // The key in the query string: appended to the URL, the variable left to the shell.
        Auth::Elsewhere(KeyPlace::Query) => parts.push(format!(
            "{}\"{}{}=$AMP_API_ID\"",
            shell_quote(url.as_bytes()),
            if url.contains('?') { '&' } else { '?' },
            Auth::HEADER
        )),
        _ => parts.push(shell_quote(url.as_bytes())),
    }
    let key_header = |name: &str| format!("-H \"{name}: $AMP_API_ID\"");
    match &request.auth {
        Auth::Valid => parts.push(key_header(Auth::HEADER)),
        Auth::ValidAs(name) => parts.push(key_header(name)),
        Auth::Twice => {
            parts.push(key_header(Auth::HEADER));
            parts.push(key_header(Auth::HEADER));
        }
        // curl's syntax for a header with an empty value.
        Auth::Empty => parts.push(format!("-H '{};'", Auth::HEADER)),
        Auth::Missing | Auth::Elsewhere(KeyPlace::Query | KeyPlace::Body | KeyPlace::BodyLower) => {
        }
        // A near miss is as secret as the key: written as the shell's transformation of it.
        Auth::NearMiss(miss) => parts.push(format!("-H \"{}: {}\"", Auth::HEADER, miss.shell())),
        Auth::Elsewhere(KeyPlace::Cookie) => {
            parts.push(format!("-H \"Cookie: {}=$AMP_API_ID\"", Auth::HEADER));
        }
        Auth::Invalid => {
            for (name, value) in request.auth.headers("") {
                parts.push(format!(
                    "-H {}",
                    shell_quote(format!("{name}: {value}").as_bytes())
                ));
            }
        }
    }
    for (name, value) in &request.headers {
        parts.push(format!(
            "-H {}",
            shell_quote(format!("{name}: {value}").as_bytes())
        ));
    }
    if request.header("content-type").is_none() && !request.body.is_empty() {
        // curl would add a form content type of its own.
        parts.push("-H 'content-type:'".to_owned());
    }
    if !request.body.is_empty() {
        parts.push(body_arg(&request.body));
    }
    // The key as a body parameter: curl joins its data arguments with `&`.
    if let Auth::Elsewhere(place @ (KeyPlace::Body | KeyPlace::BodyLower)) = &request.auth {
        let name = if *place == KeyPlace::Body {
            Auth::HEADER.to_owned()
        } else {
            Auth::HEADER.to_ascii_lowercase()
        };
        parts.push(format!("--data-urlencode \"{name}=$AMP_API_ID\""));
    }
    parts.join(" ")
}
