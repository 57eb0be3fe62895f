//! Sending: every planned request to the target, at most `concurrency` at once, with progress
//! on stderr and a breaker that stops after consecutive transport errors.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::config::Sending;
use crate::plan::Ready;
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

/// How long requests in flight may still finish once a run is interrupted.
pub(crate) const INTERRUPT_GRACE: Duration = Duration::from_millis(800);

/// Why sending stopped before the end.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    /// What happened, for the report.
    pub(crate) reason: String,
    /// What the exit code tells CI (CONTRACT.md §4).
    pub(crate) cause: StopCause,
}

/// What stopped a run, as CONTRACT.md §4's exit codes tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// The target answers, but broken (exit code 1).
    Broken,
    /// The target could not be reached, stopped answering, or its front answers only gateway
    /// errors (exit code 3).
    Outage,
    /// The run cannot reach the API because of what it was told: redirects, a 404 for the
    /// path, a certificate that does not verify (exit code 2).
    Configuration,
}

/// How many first answers decide that one cause explains them all.
const FIRST_ANSWERS: usize = 5;

/// What one answer says about the whole run, when it is the same for the first ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Early {
    /// HTTP 3xx: the kit does not follow redirects (a wrong scheme or host).
    Redirect,
    /// HTTP 404: a wrong path.
    NotFound,
    /// HTTP 502, 503, 504: the front's application is down.
    Gateway,
    /// A certificate that does not verify.
    Certificate,
    /// Anything else: no run-level cause.
    Other,
}

impl Early {
    fn of(answer: &Result<HttpAnswer, TransportError>) -> Self {
        match answer {
            Ok(a) if (300..400).contains(&a.status) => Self::Redirect,
            Ok(a) if a.status == 404 => Self::NotFound,
            Ok(a) if matches!(a.status, 502..=504) => Self::Gateway,
            Err(TransportError::Certificate(_)) => Self::Certificate,
            _ => Self::Other,
        }
    }

    fn stop(self, example: &str) -> Option<Stop> {
        let (what, cause) = match self {
            Self::Redirect => (
                "a redirect: the kit does not follow them (a redirected POST loses its body). \
                 Pass the final URL as --target (often https:// instead of http://)",
                StopCause::Configuration,
            ),
            Self::NotFound => (
                "HTTP 404: the path of --target is not the API's",
                StopCause::Configuration,
            ),
            Self::Gateway => (
                "a gateway error from the front (HTTP 502, 503 or 504): the application behind \
                 it is down or unreachable; an outage, try again once it is up",
                StopCause::Outage,
            ),
            Self::Certificate => (
                "a certificate that does not verify",
                StopCause::Configuration,
            ),
            Self::Other => return None,
        };
        Some(Stop {
            reason: format!(
                "stopped after the first {FIRST_ANSWERS} answers: every one was {what} (first: \
                 {example})"
            ),
            cause,
        })
    }
}

/// Sends the planned cases batch after batch, at most `concurrency` at once, keeping what
/// spans the run: progress, the breaker, and whether anything got through. After
/// `stop_after_errors` consecutive transport errors the rest are not sent (their answer is
/// [`TransportError::NotSent`]): an outage when every one of them was one (nothing reached the
/// target, or nothing came back), otherwise a target that answers broken. Once the interrupt is
/// raised nothing more is sent, and requests in flight get [`INTERRUPT_GRACE`] to finish.
pub(crate) struct Sender<'a> {
    target: &'a Target,
    config: Sending,
    progress: Progress,
    limit: usize,
    state: std::sync::Mutex<Breaker>,
}

/// The breaker's memory.
#[derive(Debug, Default)]
struct Breaker {
    consecutive: usize,
    consecutive_outages: usize,
    stopped: bool,
    last_error: Option<String>,
    /// Whether each of the last errors was an outage.
    recent_outages: std::collections::VecDeque<bool>,
    /// What the first answers said, until [`FIRST_ANSWERS`] of them came.
    first: Vec<Early>,
    /// The first answer, in a line, for the stop's reason.
    first_example: Option<String>,
    /// The run-level cause the first answers showed, once they all showed it.
    early: Option<Early>,
    unsent: usize,
    sent: usize,
    through: usize,
    first_unreachable: Option<String>,
}

impl<'a> Sender<'a> {
    /// A sender for a run of `total` cases.
    pub(crate) fn new(target: &'a Target, config: Sending, total: usize) -> Self {
        Self {
            target,
            progress: Progress::new(config.progress, total),
            limit: config.stop_after_errors.max(1),
            config,
            state: std::sync::Mutex::new(Breaker::default()),
        }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends one batch; the answers come back in any order.
    pub(crate) async fn send(&self, batch: Vec<(usize, Ready)>) -> Vec<Answered> {
        let limit = self.limit;
        let interrupt = &self.config.interrupt;
        futures_util::stream::iter(batch.into_iter().map(|(index, r)| async move {
            let not_sent = |reason: String| {
                let now = Instant::now();
                let sent = Sent {
                    at: now,
                    answered: now,
                };
                (Err(TransportError::NotSent(reason)), sent)
            };
            let refused = if let Some(signal) = interrupt.raised() {
                Some(format!("not sent: the run was interrupted ({signal})"))
            } else if self.breaker().stopped {
                Some(match self.breaker().early {
                    Some(_) => "not sent: the first answers showed one cause for the whole run"
                        .to_owned(),
                    None => format!(
                        "not sent: the run stopped after {limit} consecutive transport errors"
                    ),
                })
            } else {
                None
            };
            if let Some(reason) = refused {
                self.breaker().unsent += 1;
                let (answer, sent) = not_sent(reason);
                return (index, r, answer, sent);
            }
            let at = Instant::now();
            let answer = tokio::select! {
                answer = self.target.send(&r.wire) => answer,
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
            self.count(&answer);
            self.progress.tick(&r.case.id);
            (index, r, answer, sent)
        }))
        .buffer_unordered(self.config.concurrency.max(1))
        .collect()
        .await
    }

    fn count(&self, answer: &Result<HttpAnswer, TransportError>) {
        let limit = self.limit;
        let mut b = self.breaker();
        if b.first.len() < FIRST_ANSWERS && !matches!(answer, Err(TransportError::NotSent(_))) {
            let early = Early::of(answer);
            b.first.push(early);
            if b.first_example.is_none() {
                b.first_example = Some(match answer {
                    Ok(a) => match &a.location {
                        Some(to) => format!("HTTP {} to {to}", a.status),
                        None => format!("HTTP {}", a.status),
                    },
                    Err(e) => e.to_string(),
                });
            }
            if b.first.len() == FIRST_ANSWERS
                && early != Early::Other
                && b.first.iter().all(|e| *e == early)
            {
                b.early = Some(early);
                b.stopped = true;
            }
        }
        match answer {
            Err(TransportError::NotSent(_)) => b.unsent += 1,
            Ok(_) => {
                b.sent += 1;
                b.through += 1;
                b.consecutive = 0;
                b.consecutive_outages = 0;
            }
            Err(e) => {
                b.sent += 1;
                if e.is_unreachable() {
                    b.first_unreachable.get_or_insert_with(|| e.to_string());
                } else {
                    b.through += 1;
                }
                b.consecutive += 1;
                if e.is_outage() {
                    b.consecutive_outages += 1;
                } else {
                    b.consecutive_outages = 0;
                }
                b.last_error = Some(e.to_string());
                b.recent_outages.push_back(e.is_outage());
                if b.recent_outages.len() > limit {
                    b.recent_outages.pop_front();
                }
                if b.consecutive >= limit || b.consecutive_outages >= limit {
                    b.stopped = true;
                }
            }
        }
    }

    /// Counts cases that were planned but not sent (skipped), so that progress counts every
    /// case of the run, as the summary does.
    pub(crate) fn skipped(&self, cases: usize) {
        for _ in 0..cases {
            self.progress.tick("");
        }
    }

    /// Counts cases a stopped run does not plan at all: they are not sent either, and the
    /// stop's note says how many were not.
    pub(crate) fn not_planned(&self, cases: usize) {
        self.breaker().unsent += cases;
    }

    /// Whether the breaker has stopped sending.
    pub(crate) fn stopped(&self) -> bool {
        self.breaker().stopped
    }

    /// Why nothing reached the target, when every request that was sent failed to connect
    /// (exit code 3); `None` as soon as one got through.
    pub(crate) fn unreachable(&self) -> Option<String> {
        let b = self.breaker();
        (b.sent > 0 && b.through == 0)
            .then(|| b.first_unreachable.clone())
            .flatten()
    }

    /// Why sending stopped before the end, if it did; ends the progress display.
    pub(crate) fn finish(&self) -> Option<Stop> {
        self.progress.finish();
        let b = self.breaker();
        if !b.stopped {
            return None;
        }
        if let Some(stop) = b
            .early
            .and_then(|e| e.stop(b.first_example.as_deref().unwrap_or("")))
        {
            return Some(Stop {
                reason: format!("{}; {} cases were not sent", stop.reason, b.unsent),
                ..stop
            });
        }
        let outage = b.recent_outages.iter().all(|&o| o);
        let what = if outage {
            "the target stopped answering"
        } else {
            "the target answers, but broken"
        };
        Some(Stop {
            reason: format!(
                "stopped sending after {} consecutive transport errors, {what} (last: {}); {} cases \
                 were not sent",
                self.limit,
                b.last_error.as_deref().unwrap_or(""),
                b.unsent
            ),
            cause: if outage {
                StopCause::Outage
            } else {
                StopCause::Broken
            },
        })
    }
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
                    "progress: {}% ({n}/{} cases, {rate:.0}/s)",
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
