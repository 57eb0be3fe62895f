//! Sending: every planned request to the target, at most `concurrency` at once, with progress
//! on stderr and a breaker that stops after consecutive transport errors.

use std::io::IsTerminal;
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

/// Sends every ready case, at most `concurrency` at once; after `stop_after` consecutive
/// transport errors the rest are not sent (their answer is [`TransportError::NotSent`]).
pub(crate) async fn send_all(
    ready: Vec<(usize, Ready)>,
    target: &Target,
    config: &RunConfig,
) -> (Vec<Answered>, Option<String>) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let progress = Progress::new(config.progress, ready.len());
    let consecutive = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let limit = config.stop_after_errors.max(1);
    let answers: Vec<Answered> = futures_util::stream::iter(ready.into_iter().map(|(index, r)| {
        let (progress, consecutive, stopped) = (&progress, &consecutive, &stopped);
        async move {
            if stopped.load(Ordering::SeqCst) {
                let reason =
                    format!("not sent: the run stopped after {limit} consecutive transport errors");
                let now = Instant::now();
                let sent = Sent {
                    at: now,
                    answered: now,
                };
                return (index, r, Err(TransportError::NotSent(reason)), sent);
            }
            let at = Instant::now();
            let answer = target.send(&r.wire).await;
            let sent = Sent {
                at,
                answered: Instant::now(),
            };
            match &answer {
                Ok(_) => consecutive.store(0, Ordering::SeqCst),
                Err(_) => {
                    if consecutive.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
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
        let last = answers
            .iter()
            .rev()
            .find_map(|(_, _, a, _)| a.as_ref().err().filter(|e| !matches!(e, TransportError::NotSent(_))).map(ToString::to_string))
            .unwrap_or_default();
        let unsent = answers.iter().filter(|(_, _, a, _)| matches!(a, Err(TransportError::NotSent(_)))).count();
        format!("stopped sending after {limit} consecutive transport errors (last: {last}); {unsent} cases were not sent")
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
