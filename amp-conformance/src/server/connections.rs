//! Connections: accepting them, serving each with hyper's HTTP/1.1 and the axum router, and
//! closing the ones that hold a file descriptor without using it.
//!
//! `axum::serve` never closes a connection on its own: a client that sends one byte a second,
//! or nothing at all, keeps its descriptor forever, and about a thousand of them exhaust the
//! usual open-file limit so that new clients are no longer accepted. Here every connection
//! task watches its own connection and closes it when
//! - it has no request in progress and has received nothing for the **idle timeout** (a new
//!   connection, or a keep-alive one after its last answer), or
//! - a request head has been arriving for longer than the **header timeout**, counted from
//!   its first byte (the slow-header attack),
//!
//! and the accept loop keeps at most **max connections** open: a new client over the cap
//! closes the connection that has waited longest without a request in progress, so a fresh
//! client is still served while an attacker holds idle connections; only when every
//! connection has a request in progress is the new one refused (closed unread).
//!
//! A request in progress is bounded by the request timeout of [`super::app`] instead. Clients
//! may half-close (send FIN right after their requests): with hyper's `half_close` a read EOF
//! no longer aborts the request in progress, and every request before the FIN is answered
//! (without it, one in about a hundred such requests went unanswered: the FIN was read while
//! the router ran). The HTTP layer's own answers to heads it cannot read get JSON bodies in
//! [`super::wire`].
//!
//! Deadlines are checked when they fall due and at least every quarter of the shorter
//! timeout, not on every change of state, so a connection may close up to that quarter late:
//! a first version that woke the task at each change (and wrote answer heads apart from their
//! bodies) cost about 3.5 µs more server CPU per request in `benches/server.rs`, half again
//! the cost of a create; this one is within the bench's noise.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use super::wire::{ConnEvents, MAX_HEAD_BYTES, MAX_HEADER_FIELDS, Watched};

/// File descriptors left for everything but client connections (listener, runtime, logs,
/// files; the runner's own client connections when the server is embedded).
const RESERVED_FDS: u64 = 64;

/// Upper bound of the default cap, whatever the open-file limit: enough for any client of a
/// reference server, and a bound on the memory idle connections take.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The default connection cap: the open-file limit (`RLIMIT_NOFILE`, soft) less 64 (kept for
/// the process's other files), at most 4096, at least 1; 4096 where the limit cannot be read.
pub fn default_max_connections() -> usize {
    match open_file_limit() {
        Some(limit) => usize::try_from(limit.saturating_sub(RESERVED_FDS))
            .unwrap_or(usize::MAX)
            .clamp(1, DEFAULT_MAX_CONNECTIONS),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// The soft open-file limit, if there is one.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The shortest interval between two checks of a connection's deadline.
const TICK_FLOOR: Duration = Duration::from_millis(10);

/// How long a connection receiving a request head may take to finish it once the server
/// shuts down (a request in progress is bounded by the request timeout instead).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The connection limits of a server.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) header_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) max_connections: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section below leaves the state consistent at each step.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection as its task, the accept loop and the socket wrapper see it.
#[derive(Debug)]
pub(super) struct Conn {
    activity: Mutex<Activity>,
    /// Wakes the connection's task when the accept loop evicts it.
    wake: Notify,
}

#[derive(Debug)]
struct Activity {
    /// Requests handed to the router whose answer is not yet produced.
    in_flight: usize,
    /// Since when the connection has had no request in progress.
    waiting_since: Instant,
    /// When the first byte arrived since then (a request head is being received).
    head_since: Option<Instant>,
    /// The accept loop wants this connection closed to make room.
    evict: bool,
    /// For each request handed to the router whose answer head has not been written yet:
    /// whether it was a HEAD request (its answer has no body). An answer head written when
    /// this is empty is hyper's own (see [`super::wire`]).
    owed: VecDeque<bool>,
}

/// When a connection task must act.
enum Deadline {
    /// Close now.
    Now,
    /// Close at this instant unless something happens first.
    At(Instant),
    /// A request is in progress: the request timeout bounds it.
    None,
}

impl Conn {
    fn new() -> Self {
        Self {
            activity: Mutex::new(Activity {
                in_flight: 0,
                waiting_since: Instant::now(),
                head_since: None,
                evict: false,
                owed: VecDeque::new(),
            }),
            wake: Notify::new(),
        }
    }

    /// A request head was read and goes to the router.
    fn begin(self: &Arc<Self>, is_head: bool) -> InFlight {
        let mut activity = lock(&self.activity);
        activity.in_flight += 1;
        activity.head_since = None;
        activity.owed.push_back(is_head);
        InFlight(Arc::clone(self))
    }

    fn deadline(&self, limits: &Limits) -> Deadline {
        let activity = lock(&self.activity);
        if activity.evict {
            Deadline::Now
        } else if activity.in_flight > 0 {
            Deadline::None
        } else if let Some(since) = activity.head_since {
            Deadline::At(since + limits.header_timeout)
        } else {
            Deadline::At(activity.waiting_since + limits.idle_timeout)
        }
    }
}

impl ConnEvents for Conn {
    fn received(&self) {
        let mut activity = lock(&self.activity);
        if activity.in_flight == 0 && activity.head_since.is_none() {
            activity.head_since = Some(Instant::now());
        }
    }

    fn next_answer(&self) -> Option<bool> {
        lock(&self.activity).owed.pop_front()
    }
}

/// A request in progress; dropping it (answer produced, or the connection gone) ends it.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut activity = lock(&self.0.activity);
        activity.in_flight -= 1;
        if activity.in_flight == 0 {
            activity.waiting_since = Instant::now();
            activity.head_since = None;
        }
    }
}

/// The router as a hyper service that keeps [`Conn`] informed.
#[derive(Clone)]
struct Service {
    router: Router,
    conn: Arc<Conn>,
}

impl hyper::service::Service<http::Request<Incoming>> for Service {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let in_flight = self.conn.begin(request.method() == http::Method::HEAD);
        let answer = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = answer.await;
            drop(in_flight);
            response
        })
    }
}

/// Every open connection, for the cap and for shutdown.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Signalled whenever a connection ends.
    closed: Notify,
}

impl Tracker {
    /// Connections open now (evicted ones count until their task has closed them).
    pub(super) fn len(&self) -> usize {
        lock(&self.conns).len()
    }

    fn add(self: &Arc<Self>, conn: Arc<Conn>) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(id, conn);
        Registered {
            tracker: Arc::clone(self),
            id,
        }
    }

    /// Marks the connection that has waited longest without a request in progress for
    /// closing; false if every connection has a request in progress (or is already marked).
    fn evict_oldest_idle(&self) -> bool {
        let conns = lock(&self.conns);
        let mut oldest: Option<(Instant, &Arc<Conn>)> = None;
        for conn in conns.values() {
            let activity = lock(&conn.activity);
            if activity.in_flight == 0
                && !activity.evict
                && oldest.is_none_or(|(since, _)| activity.waiting_since < since)
            {
                oldest = Some((activity.waiting_since, conn));
            }
        }
        match oldest {
            Some((_, conn)) => {
                lock(&conn.activity).evict = true;
                conn.wake.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes its connection from the tracker when the connection task ends.
struct Registered {
    tracker: Arc<Tracker>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.tracker.conns).remove(&self.id);
        self.tracker.closed.notify_one();
    }
}

/// Accepts and serves connections until `stop` resolves, then stops accepting (the listener
/// is closed), lets every connection finish its request in progress, and returns once all
/// are closed.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tracker: Arc<Tracker>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.half_close(true)
        .max_headers(MAX_HEADER_FIELDS)
        .max_header_size(MAX_HEAD_BYTES);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                // Most likely EMFILE: out of file descriptors (a cap above the limit, or
                // descriptors used elsewhere in the process). Make room and wait for it.
                tracing::warn!("accept failed: {err}");
                tracker.evict_oldest_idle();
                let _ = tokio::time::timeout(Duration::from_millis(100), tracker.closed.notified())
                    .await;
                continue;
            }
        };
        if tracker.len() >= limits.max_connections && !tracker.evict_oldest_idle() {
            tracing::debug!(
                max = limits.max_connections,
                "connection refused: every connection has a request in progress"
            );
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn::new());
        let registered = tracker.add(Arc::clone(&conn));
        tokio::spawn(connection(
            stream,
            conn,
            registered,
            router.clone(),
            http.clone(),
            limits,
            shutdown_rx.clone(),
        ));
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    while tracker.len() > 0 {
        // A notification consumed before the check only costs one more loop.
        let _ = tokio::time::timeout(Duration::from_millis(100), tracker.closed.notified()).await;
    }
    Ok(())
}

fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, its deadline passes, or it is evicted.
async fn connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    _registered: Registered,
    router: Router,
    http: hyper::server::conn::http1::Builder,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = Service {
        router,
        conn: Arc::clone(&conn),
    };
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&conn)));
    let mut served = pin!(http.serve_connection(io, service));
    // The deadline is checked when it falls due and at least every `tick` (see the module
    // documentation): a first byte may bring it forward without waking this task.
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4).max(TICK_FLOOR);
    let mut timer = pin!(tokio::time::sleep(tick));
    // When the server began shutting down, if it has.
    let mut shutting_down = shutdown.borrow().then(Instant::now);
    if shutting_down.is_some() {
        served.as_mut().graceful_shutdown();
    }
    loop {
        let now = Instant::now();
        let mut deadline = conn.deadline(&limits);
        if let (Some(since), Deadline::At(at)) = (shutting_down, &mut deadline) {
            // hyper's graceful shutdown closes an idle connection at once but waits for a
            // head being received; give that one a moment, not the whole header timeout.
            *at = (*at).min(since + SHUTDOWN_GRACE);
        }
        let check = match deadline {
            Deadline::Now => break,
            Deadline::At(at) if at <= now => break,
            Deadline::At(at) => at.min(now + tick),
            Deadline::None => now + tick,
        };
        timer.as_mut().reset(check);
        tokio::select! {
            biased;
            result = served.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!("connection ended: {err}");
                }
                return;
            }
            () = conn.wake.notified() => {}
            () = timer.as_mut() => {}
            _ = shutdown.changed(), if shutting_down.is_none() => {
                shutting_down = Some(Instant::now());
                served.as_mut().graceful_shutdown();
            }
        }
    }
    tracing::debug!("connection closed: idle, header or eviction deadline");
    // Returning drops the connection (closing the socket; nothing was in progress on it),
    // then `_registered`, a parameter, so the count never misses an open socket.
}
