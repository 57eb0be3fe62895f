//! The socket as hyper sees it: reads tell the connection when a request head starts, and
//! the answers hyper writes on its own get JSON bodies.
//!
//! hyper answers a request head it cannot read without asking the router: 431 (more than
//! [`MAX_HEADER_FIELDS`] header fields or [`MAX_HEAD_BYTES`] bytes), 414 (a request target
//! too long), 400 (not HTTP/1.1 syntax, a malformed `Content-Length` or `Transfer-Encoding`),
//! each with an empty body. D-NO-5XX wants a JSON body for every validly framed request, and
//! a head that is merely too large is validly framed; so the writer below follows the answers
//! going out (each head, then as many body bytes as its `Content-Length` says), and replaces
//! the head of an answer the router did not produce (the router's answers are counted in
//! the connection) by the same status with a JSON body of the 404/408 kind:
//! `{"status":"error","error_description":…}`. The router's own answers pass unchanged.
//! Anything it cannot follow (a chunked or close-delimited body, a head it cannot parse) is
//! passed through as is from there on.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most header fields a request head may have (hyper's default, and Apache's
/// `LimitRequestFields`): more get 431 with a JSON body.
pub const MAX_HEADER_FIELDS: usize = 100;

/// Most bytes a request head may have, request line included: more get 431 with a JSON body.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What the socket wrapper tells its connection, and asks it (the connection's state lives
/// with the accept loop, in [`super::connections`]).
pub(super) trait ConnEvents {
    /// Bytes arrived from the client.
    fn received(&self);
    /// The next answer head the server writes: `Some(is_head)` for a request the router
    /// answered, `None` for an answer hyper wrote on its own.
    fn next_answer(&self) -> Option<bool>;
}

/// Where the outgoing byte stream is.
#[derive(Debug)]
enum Out {
    /// At the start of an answer head, or inside one split over several writes: its bytes so
    /// far, held back until it is complete.
    Head(Vec<u8>),
    /// Passing this many more bytes (the rest of an answer), then at the next head.
    Pass(u64),
    /// No longer followed: everything passes as is.
    Through,
}

/// What to do with a complete answer head.
enum Verdict {
    /// The router's answer: send it as is; `Some(n)`: an `n`-byte body follows; `None`: the
    /// framing cannot be followed (chunked or close-delimited), pass everything from here.
    Pass(Option<u64>),
    /// hyper's own answer: send these bytes instead; nothing is followed after it.
    Replace(Vec<u8>),
}

/// A TCP stream that reports reads to its connection and rewrites hyper's own answers.
#[derive(Debug)]
pub(super) struct Watched<C> {
    stream: TcpStream,
    conn: Arc<C>,
    out: Out,
    /// Bytes accepted from hyper but not yet written to the socket, from `sent` on.
    pending: Vec<u8>,
    sent: usize,
}

impl<C: ConnEvents> Watched<C> {
    pub(super) fn new(stream: TcpStream, conn: Arc<C>) -> Self {
        Self {
            stream,
            conn,
            out: Out::Head(Vec::new()),
            pending: Vec::new(),
            sent: 0,
        }
    }

    /// Writes out what is pending.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Gives up following the stream: a partial head held back goes out as is.
    fn release_head(&mut self) {
        if let Out::Head(head) = &mut self.out {
            if !head.is_empty() {
                self.pending.extend_from_slice(head);
                self.out = Out::Through;
            }
        }
    }

    /// Writes as much of `buf` as the current answer still has, straight to the socket.
    fn poll_pass(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Out::Pass(left) = &mut self.out else {
            return Pin::new(&mut self.stream).poll_write(cx, buf);
        };
        let take = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
        let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &buf[..take]))?;
        *left -= n as u64;
        if *left == 0 {
            self.out = Out::Head(Vec::new());
        }
        Poll::Ready(Ok(n))
    }
}

impl<C: ConnEvents> AsyncRead for Watched<C> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.conn.received();
        }
        Poll::Ready(Ok(()))
    }
}

/// The end of the head in `bytes` (after its blank line), looking from `from`.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| from + at + 4)
}

impl<C: ConnEvents> AsyncWrite for Watched<C> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let Out::Head(head) = &mut this.out else {
            return this.poll_pass(cx, buf);
        };
        if head.is_empty() {
            if let Some(end) = head_end(buf, 0) {
                // The usual case: the whole head in this write, the body after it. Both go
                // out in one write, as hyper meant them to.
                match classify(&*this.conn, &buf[..end]) {
                    Verdict::Pass(Some(body)) => this.out = Out::Pass(end as u64 + body),
                    Verdict::Pass(None) => this.out = Out::Through,
                    Verdict::Replace(bytes) => {
                        this.pending = bytes;
                        this.out = Out::Through;
                        return this.poll_accepted(cx, end);
                    }
                }
                return this.poll_pass(cx, buf);
            }
        }
        // A head split over writes: hold it back until it is complete.
        let old = head.len();
        head.extend_from_slice(buf);
        let Some(end) = head_end(head, old.saturating_sub(3)) else {
            if head.len() > MAX_HEAD_BYTES {
                this.release_head();
            }
            return Poll::Ready(Ok(buf.len()));
        };
        head.truncate(end);
        let head = std::mem::take(head);
        match classify(&*this.conn, &head) {
            Verdict::Pass(Some(body)) => {
                this.pending = head;
                this.out = Out::Pass(body);
                if body == 0 {
                    this.out = Out::Head(Vec::new());
                }
            }
            Verdict::Pass(None) => {
                this.pending = head;
                this.out = Out::Through;
            }
            Verdict::Replace(bytes) => {
                this.pending = bytes;
                this.out = Out::Through;
            }
        }
        this.poll_accepted(cx, end - old)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.release_head();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.release_head();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl<C: ConnEvents> Watched<C> {
    /// `n` bytes of hyper's were taken into `pending`: start sending them, and report them
    /// written. What the socket does not take now goes on the next write or flush, which
    /// hyper always makes after writing an answer.
    fn poll_accepted(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(err)) = self.poll_drain(cx) {
            return Poll::Ready(Err(err));
        }
        Poll::Ready(Ok(n))
    }
}

/// Decides what a complete answer head is.
fn classify(conn: &impl ConnEvents, head: &[u8]) -> Verdict {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let (Ok(httparse::Status::Complete(_)), Some(code)) = (parsed.parse(head), parsed.code) else {
        return Verdict::Pass(None);
    };
    if code == 101 {
        return Verdict::Pass(None);
    }
    if (100..200).contains(&code) {
        // An interim answer (100 Continue): the final one follows.
        return Verdict::Pass(Some(0));
    }
    let mut length = None;
    let mut framed = true;
    for header in parsed.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).ok();
            match (length, value.and_then(|v| v.trim().parse::<u64>().ok())) {
                (None, Some(n)) => length = Some(n),
                _ => framed = false,
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            framed = false;
        }
    }
    match conn.next_answer() {
        Some(is_head) if is_head || code == 204 || code == 304 => Verdict::Pass(Some(0)),
        Some(_) if framed => Verdict::Pass(length),
        Some(_) => Verdict::Pass(None),
        None if framed && length == Some(0) => {
            let status = parsed
                .reason
                .map_or_else(|| code.to_string(), |reason| format!("{code} {reason}"));
            let rest: Vec<(&str, &[u8])> = parsed
                .headers
                .iter()
                .filter(|h| {
                    !h.name.eq_ignore_ascii_case("content-length")
                        && !h.name.eq_ignore_ascii_case("content-type")
                })
                .map(|h| (h.name, h.value))
                .collect();
            Verdict::Replace(own_answer(code, &status, &rest))
        }
        None => Verdict::Pass(None),
    }
}

/// hyper's own answer with `status` (`431 Request Header Fields Too Large`), its other
/// headers kept, and a JSON body saying why.
fn own_answer(code: u16, status: &str, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let description = match code {
        431 => format!(
            "The request head is too large: at most {MAX_HEADER_FIELDS} header fields and \
             {MAX_HEAD_BYTES} bytes, request line included."
        ),
        414 => "The request target (URI) is too long.".to_owned(),
        400 => "The request is not valid HTTP/1.1 and could not be read.".to_owned(),
        _ => "The request could not be read.".to_owned(),
    };
    let body = serde_json::json!({
        "status": "error",
        "error_description": description,
    })
    .to_string();
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    out
}
