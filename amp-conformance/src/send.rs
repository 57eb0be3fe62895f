//! Sending: every planned request to the target, at most `concurrency` at once, with progress
//! on stderr and a breaker that stops after consecutive transport errors.

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::plan::Ready;
use crate::runner::RunConfig;
use crate::target::{HttpAnswer, Target, TransportError};

/// A sent case: its index, the planned request, the answer, and when it was sent and answered
/// (R-IDS compares creates answered before another was sent).
pub(crate) type Answered = (usize, Ready, Result<HttpAnswer, TransportError>, Sent);

/// When a request left and when its answer (or failure) came back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    pub(crate) at: Instant,
    pub(crate) answered: Instant,
}

/// A request to end a run early (Ctrl-C, SIGTERM), raised once and seen by every sender.
///
/// ```
/// use amp_conformance::send::Interrupt;
/// let interrupt = Interrupt::default();
/// assert_eq!(interrupt.raised(), None);
/// interrupt.raise("SIGINT");
/// assert_eq!(interrupt.raised(), Some("SIGINT"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    inner: Arc<InterruptState>,
}

#[derive(Debug, Default)]
struct InterruptState {
    signal: OnceLock<&'static str>,
    notify: tokio::sync::Notify,
}

impl Interrupt {
    /// Raises it, naming the signal; later raises are ignored.
    pub fn raise(&self, signal: &'static str) {
        let _ = self.inner.signal.set(signal);
        self.inner.notify.notify_waiters();
    }

    /// The signal, once raised.
    pub fn raised(&self) -> Option<&'static str> {
        self.inner.signal.get().copied()
    }

    /// Waits until it is raised.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.raised().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// How long requests in flight may still finish once a run is interrupted.
pub const INTERRUPT_GRACE: Duration = Duration::from_millis(800);

/// Why sending stopped before the end.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    /// What happened, for the report.
    pub(crate) reason: String,
    /// The target stopped answering at all (exit code 3), rather than answering wrongly.
    pub(crate) outage: bool,
}

/// Sends every ready case, at most `concurrency` at once. After `stop_after_errors`
/// consecutive transport errors the rest are not sent (their answer is
/// [`TransportError::NotSent`]): an outage when every one of them was (nothing reached the
/// target, or nothing came back), otherwise a target that answers broken. Once `interrupt` is
/// raised nothing more is sent, and requests in flight get [`INTERRUPT_GRACE`] to finish.
pub(crate) async fn send_all(
    ready: Vec<(usize, Ready)>,
    target: &Target,
    config: &RunConfig,
) -> (Vec<Answered>, Option<Stop>) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let progress = Progress::new(config.progress, ready.len());
    let consecutive = AtomicUsize::new(0);
    let consecutive_outages = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let limit = config.stop_after_errors.max(1);
    let interrupt = &config.interrupt;
    let answers: Vec<Answered> = futures_util::stream::iter(ready.into_iter().map(|(index, r)| {
        let (progress, consecutive, consecutive_outages, stopped) =
            (&progress, &consecutive, &consecutive_outages, &stopped);
        async move {
            let not_sent = |reason: String| {
                let now = Instant::now();
                let sent = Sent {
                    at: now,
                    answered: now,
                };
                (Err(TransportError::NotSent(reason)), sent)
            };
            if let Some(signal) = interrupt.raised() {
                let (answer, sent) = not_sent(format!("not sent: the run was interrupted ({signal})"));
                return (index, r, answer, sent);
            }
            if stopped.load(Ordering::SeqCst) {
                let (answer, sent) = not_sent(format!(
                    "not sent: the run stopped after {limit} consecutive transport errors"
                ));
                return (index, r, answer, sent);
            }
            let at = Instant::now();
            let answer = tokio::select! {
                answer = target.send(&r.wire) => answer,
                () = async {
                    interrupt.wait().await;
                    tokio::time::sleep(INTERRUPT_GRACE).await;
                } => Err(TransportError::NotSent(format!(
                    "abandoned in flight: the run was interrupted ({}); it may have reached the target",
                    interrupt.raised().unwrap_or("interrupt")
                ))),
            };
            let sent = Sent {
                at,
                answered: Instant::now(),
            };
            match &answer {
                Ok(_) => {
                    consecutive.store(0, Ordering::SeqCst);
                    consecutive_outages.store(0, Ordering::SeqCst);
                }
                Err(TransportError::NotSent(_)) => {}
                Err(e) => {
                    let outages = if e.is_outage() {
                        consecutive_outages.fetch_add(1, Ordering::SeqCst) + 1
                    } else {
                        consecutive_outages.store(0, Ordering::SeqCst);
                        0
                    };
                    if consecutive.fetch_add(1, Ordering::SeqCst) + 1 >= limit || outages >= limit {
                        stopped.store(true, Ordering::SeqCst);
                    }
                }
            }
            progress.tick(&r.case.id);
            (index, r, answer, sent)
        }
    }))
    .buffered(config.concurrency.max(1))
    .collect()
    .await;
    progress.finish();
    let stop = stopped.load(Ordering::SeqCst).then(|| {
        let errors: Vec<&TransportError> = answers
            .iter()
            .filter_map(|(_, _, a, _)| a.as_ref().err())
            .filter(|e| !matches!(e, TransportError::NotSent(_)))
            .collect();
        let last = errors.last().map(ToString::to_string).unwrap_or_default();
        let outage = errors.iter().rev().take(limit).all(|e| e.is_outage());
        let unsent = answers.iter().filter(|(_, _, a, _)| matches!(a, Err(TransportError::NotSent(_)))).count();
        let what = if outage {
            "the target stopped answering"
        } else {
            "the target answers, but broken"
        };
        Stop {
            reason: format!(
                "stopped sending after {limit} consecutive transport errors, {what} (last: {last}); \
                 {unsent} cases were not sent"
            ),
            outage,
        }
    });
    (answers, stop)
}

/// Progress on stderr: a bar on a terminal; otherwise (a CI log) a line at every tenth of the
/// run or every few seconds, whichever comes first, never a line per check.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    done: std::sync::atomic::AtomicUsize,
    total: usize,
    started: Instant,
    /// When the last plain line was printed, and at which tenth.
    last: std::sync::Mutex<(Instant, usize)>,
}

/// Longest silence between two plain progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(enabled: bool, total: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            plain: enabled && !tty,
            done: 0.into(),
            total,
            started: now,
            last: std::sync::Mutex::new((now, 0)),
        }
    }

    fn tick(&self, id: &str) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(id.to_owned());
        } else if self.plain {
            let tenth = n * 10 / self.total.max(1);
            let Ok(mut last) = self.last.lock() else {
                return;
            };
            let now = Instant::now();
            if tenth > last.1 || now.duration_since(last.0) >= PROGRESS_EVERY {
                *last = (now, tenth);
                let rate = n as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!(
                    "progress: {}% ({n}/{} checks, {rate:.0}/s)",
                    n * 100 / self.total.max(1),
                    self.total
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
