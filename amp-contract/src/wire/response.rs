//! Reading an answer: the status line and headers (httparse), then the body framed by
//! `Content-Length`, chunked encoding or the end of the connection, never past the cap.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncReadExt, AsyncWrite};

use super::WireError;
use super::{Conn, MAX_CHUNK_LINE, MAX_HEAD, MAX_HEADERS, MAX_TRAILERS, READ_CHUNK};

/// The parts of an answer the kit keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The `Location`, if any (redirects are never followed).
    pub location: Option<String>,
    /// The `Server`, if any: which hop answered (a web server's own page names it).
    pub server: Option<String>,
    /// The body, at most the cap given to [`Client::exchange`](super::Client::exchange).
    pub body: Vec<u8>,
}

/// How the body of an answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A parsed status line and headers.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) content_type: Option<String>,
    pub(super) location: Option<String>,
    pub(super) server: Option<String>,
    pub(super) framing: Framing,
    /// The server lets the connection be reused (HTTP/1.1 without `Connection: close`, or
    /// HTTP/1.0 with `keep-alive`).
    pub(super) keep_alive: bool,
}

pub(super) enum Parsed {
    Partial,
    /// An interim 1xx answer of this many bytes: skipped, the final one follows.
    Interim(usize),
    /// A final head of this many bytes.
    Done(Head, usize),
    Invalid(String),
}

pub(super) fn parse_head(buf: &[u8], head_request: bool) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(format!("more than {MAX_HEADERS} header lines"));
        }
        Err(e) => return Parsed::Invalid(e.to_string()),
    };
    let Some(status) = response.code else {
        return Parsed::Invalid("no status code".to_owned());
    };
    if (100..200).contains(&status) && status != 101 {
        return Parsed::Interim(len);
    }
    let values = |name: &str| -> Vec<String> {
        response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
            .collect()
    };
    let text = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_owned())
    };
    let tokens = |name: &str| -> Vec<String> {
        values(name)
            .into_iter()
            .flat_map(|v| {
                v.split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let connection = tokens("connection");
    let keep_alive = match response.version {
        Some(1) => !connection.iter().any(|t| t == "close"),
        _ => connection.iter().any(|t| t == "keep-alive"),
    };
    let transfer = tokens("transfer-encoding");
    let framing = if head_request || status == 204 || status == 304 || status == 101 {
        Framing::Empty
    } else if !transfer.is_empty() {
        // RFC 9112 §6.3: chunked must be the last coding; otherwise the body runs to the close.
        if transfer.last().is_some_and(|t| t == "chunked") {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else {
        let mut length = None;
        for value in values("content-length") {
            for part in value.split(',') {
                let part = part.trim();
                let parsed = (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| part.parse::<u64>().ok())
                    .flatten();
                match (parsed, length) {
                    (None, _) => {
                        return Parsed::Invalid("invalid Content-Length".to_owned());
                    }
                    (Some(n), Some(seen)) if n != seen => {
                        return Parsed::Invalid("conflicting Content-Length values".to_owned());
                    }
                    (Some(n), _) => length = Some(n),
                }
            }
        }
        length.map_or(Framing::Close, Framing::Length)
    };
    Parsed::Done(
        Head {
            status,
            content_type: text("content-type"),
            location: text("location"),
            server: text("server"),
            keep_alive: keep_alive && framing != Framing::Close && status != 101,
            framing,
        },
        len,
    )
}

/// Why no head came.
pub(super) enum HeadError {
    /// Not one byte of an answer came: on a reused connection, the server had closed it in the
    /// meantime, and the request is worth one more try on a fresh one.
    Silent(String),
    /// Something came, and it is no HTTP answer.
    Broken(String),
}

impl HeadError {
    pub(super) fn into_transport(self) -> WireError {
        let (Self::Silent(why) | Self::Broken(why)) = self;
        WireError::Broken(format!("no valid HTTP answer: {why}"))
    }
}

/// The head read, and whether the whole request had been written by then.
pub(super) struct HeadRead {
    pub(super) head: Head,
    pub(super) request_complete: bool,
}

/// Writes `request` while reading the answer's head. Reading while writing matters for large
/// bodies: a server may answer (413, say) and close before it has read the body, and that
/// answer must not be lost to the failed write.
pub(super) async fn exchange_head(
    conn: &mut Conn,
    request: &[u8],
    head_request: bool,
) -> Result<HeadRead, HeadError> {
    let Conn { stream, buf, .. } = conn;
    let mut written = 0;
    let mut flushed = false;
    let mut write_error: Option<io::Error> = None;
    let mut received = false;
    std::future::poll_fn(|cx| {
        while write_error.is_none() && !flushed {
            let step = if written < request.len() {
                Pin::new(&mut *stream)
                    .poll_write(cx, &request[written..])
                    .map(|r| match r {
                        // A socket that takes nothing will never take the rest.
                        Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            written += n;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    })
            } else {
                Pin::new(&mut *stream)
                    .poll_flush(cx)
                    .map_ok(|()| flushed = true)
            };
            match step {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => write_error = Some(e),
                Poll::Pending => break,
            }
        }
        loop {
            match parse_head(buf, head_request) {
                Parsed::Done(head, len) => {
                    buf.drain(..len);
                    return Poll::Ready(Ok(HeadRead {
                        head,
                        request_complete: flushed,
                    }));
                }
                Parsed::Interim(len) => {
                    buf.drain(..len);
                    continue;
                }
                Parsed::Invalid(why) => return Poll::Ready(Err(HeadError::Broken(why))),
                Parsed::Partial => {}
            }
            if buf.len() > MAX_HEAD {
                return Poll::Ready(Err(HeadError::Broken(format!(
                    "the status line and headers exceed {} KiB",
                    MAX_HEAD / 1024
                ))));
            }
            buf.reserve(READ_CHUNK);
            let read = std::pin::pin!(stream.read_buf(&mut *buf)).poll(cx);
            match read {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    let mut why = if received {
                        "the connection closed in the middle of the status line and headers"
                            .to_owned()
                    } else {
                        "the connection closed before an answer".to_owned()
                    };
                    if let Some(e) = &write_error {
                        why.push_str(&format!(" (sending the request failed: {e})"));
                    }
                    return Poll::Ready(Err(if received {
                        HeadError::Broken(why)
                    } else {
                        HeadError::Silent(why)
                    }));
                }
                Poll::Ready(Ok(_)) => received = true,
                Poll::Ready(Err(e)) if received => {
                    return Poll::Ready(Err(HeadError::Broken(e.to_string())));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(HeadError::Silent(e.to_string()))),
            }
        }
    })
    .await
}

/// The error for a body that ended early or could not be read.
pub(super) fn broke(status: u16, detail: &str) -> WireError {
    WireError::Broken(format!(
        "the answer broke off in the body (HTTP {status}): {detail}"
    ))
}

pub(super) const EARLY_EOF: &str = "end of file before message length reached";

pub(super) fn broke_io(status: u16, err: &io::Error) -> WireError {
    // rustls reports a TCP close without close_notify as UnexpectedEof: an early end all the same.
    if err.kind() == io::ErrorKind::UnexpectedEof {
        broke(status, EARLY_EOF)
    } else {
        broke(status, &err.to_string())
    }
}

/// Reads more bytes into the connection's buffer; 0 at the end of the stream.
pub(super) async fn fill(conn: &mut Conn) -> io::Result<usize> {
    conn.buf.reserve(READ_CHUNK);
    conn.stream.read_buf(&mut conn.buf).await
}

/// One line from the connection, without its CRLF (a bare LF is accepted too); `what` names
/// it in the error for a line longer than `max`.
pub(super) async fn read_line(
    conn: &mut Conn,
    status: u16,
    max: usize,
    what: &str,
) -> Result<Vec<u8>, WireError> {
    loop {
        if let Some(at) = conn.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = conn.buf.drain(..=at).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        if conn.buf.len() > max {
            return Err(broke(status, &format!("the {what} is too long")));
        }
        match fill(conn).await {
            Ok(0) => return Err(broke(status, EARLY_EOF)),
            Ok(_) => {}
            Err(e) => return Err(broke_io(status, &e)),
        }
    }
}

/// The CRLF (or bare LF) that must follow a chunk's data.
pub(super) async fn read_line_end(conn: &mut Conn, status: u16) -> Result<(), WireError> {
    loop {
        match conn.buf.as_slice() {
            [b'\r', b'\n', ..] => {
                conn.buf.drain(..2);
                return Ok(());
            }
            [b'\n', ..] => {
                conn.buf.drain(..1);
                return Ok(());
            }
            [] | [b'\r'] => match fill(conn).await {
                Ok(0) => return Err(broke(status, EARLY_EOF)),
                Ok(_) => {}
                Err(e) => return Err(broke_io(status, &e)),
            },
            _ => return Err(broke(status, "chunk data not followed by a line end")),
        }
    }
}

/// Appends exactly `n` body bytes to `body`: first those already buffered, then straight from
/// the socket.
pub(super) async fn read_exact_into(
    conn: &mut Conn,
    body: &mut Vec<u8>,
    n: usize,
    status: u16,
) -> Result<(), WireError> {
    let buffered = n.min(conn.buf.len());
    body.extend(conn.buf.drain(..buffered));
    let end = body.len() + (n - buffered);
    body.reserve(end - body.len());
    while body.len() < end {
        let want = (end - body.len()) as u64;
        match (&mut conn.stream).take(want).read_buf(body).await {
            Ok(0) => return Err(broke(status, EARLY_EOF)),
            Ok(_) => {}
            Err(e) => return Err(broke_io(status, &e)),
        }
    }
    Ok(())
}

/// The size of a chunk from its size line (`1a;ext=x`): hex digits, extensions ignored.
pub(super) fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.split(|&b| b == b';').next()?;
    let digits = digits.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let significant = digits
        .iter()
        .position(|&b| b != b'0')
        .map_or(&digits[digits.len() - 1..], |at| &digits[at..]);
    if significant.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(significant).ok()?, 16).ok()
}

/// Decodes a chunked body, refusing it as soon as a chunk would take it over `max_body`.
pub(super) async fn read_chunked(
    conn: &mut Conn,
    status: u16,
    max_body: usize,
) -> Result<Vec<u8>, WireError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(conn, status, MAX_CHUNK_LINE, "chunk-size line").await?;
        let Some(size) = chunk_size(&line) else {
            return Err(broke(status, "invalid chunk size line"));
        };
        if size == 0 {
            break;
        }
        if size > (max_body - body.len()) as u64 {
            return Err(WireError::TooLarge {
                status,
                limit: max_body,
            });
        }
        // Fits in usize: it is at most `max_body`.
        read_exact_into(conn, &mut body, size as usize, status).await?;
        read_line_end(conn, status).await?;
    }
    let mut trailers = 0;
    loop {
        let line = read_line(conn, status, MAX_TRAILERS, "trailer section").await?;
        if line.is_empty() {
            return Ok(body);
        }
        trailers += line.len();
        if trailers > MAX_TRAILERS {
            return Err(broke(status, "the trailer section is too long"));
        }
    }
}

/// Reads the body as `head` frames it. Returns it and whether the connection ended the answer
/// in a state fit for the next request.
pub(super) async fn read_body(
    conn: &mut Conn,
    head: &Head,
    max_body: usize,
) -> Result<(Vec<u8>, bool), WireError> {
    let status = head.status;
    match head.framing {
        Framing::Empty => Ok((Vec::new(), true)),
        Framing::Length(n) => {
            if n > max_body as u64 {
                return Err(WireError::TooLarge {
                    status,
                    limit: max_body,
                });
            }
            let mut body = Vec::new();
            // Fits in usize: it is at most `max_body`.
            read_exact_into(conn, &mut body, n as usize, status).await?;
            Ok((body, true))
        }
        Framing::Chunked => Ok((read_chunked(conn, status, max_body).await?, true)),
        Framing::Close => {
            let mut body = std::mem::take(&mut conn.buf);
            loop {
                if body.len() > max_body {
                    return Err(WireError::TooLarge {
                        status,
                        limit: max_body,
                    });
                }
                body.reserve(READ_CHUNK);
                let allowed = (max_body + 1 - body.len()) as u64;
                match (&mut conn.stream).take(allowed).read_buf(&mut body).await {
                    Ok(0) => return Ok((body, false)),
                    Ok(_) => {}
                    // A TLS peer that closes without close_notify still ended the body.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Ok((body, false));
                    }
                    Err(e) => return Err(broke_io(status, &e)),
                }
            }
        }
    }
}
