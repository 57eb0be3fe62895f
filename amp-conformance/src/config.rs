//! What a run needs: [`RunConfig`], from the command line or a test, with its defaults in one
//! place (the CLI starts from [`RunConfig::default`]).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use amp_contract::envelope::DedicatedIp;

use crate::cases::{Case, WireRequest, fixtures};
use crate::judge::Profile;
use crate::observer::Observer;
use crate::snapshot::Snapshots;
use crate::target::Secret;

/// Everything a run needs, from the command line or a test.
#[derive(Clone)]
pub struct RunConfig {
    /// The endpoint URL; `None` runs against the embedded reference server.
    pub target: Option<String>,
    /// The `API_ID`; `None` with the embedded server makes a random one.
    pub key: Option<Secret>,
    /// Services of the target (`--service`).
    pub services: Vec<(u32, DedicatedIp)>,
    /// `--missing-service-id`.
    pub missing_service: Option<u32>,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// `--allow-suspend`.
    pub allow_suspend: bool,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// PEM certificates trusted besides the platform's roots (`--ca-cert`).
    pub ca_cert: Option<Vec<u8>>,
    /// The forward proxy (`--proxy`); `None` reads the proxy variables of the environment.
    pub proxy: Option<String>,
    /// Response body cap.
    pub max_body: usize,
    /// Property cases to generate.
    pub cases: usize,
    /// Seed; `None` picks one (and prints it).
    pub seed: Option<u64>,
    /// Profile.
    pub profile: Profile,
    /// `--strict`.
    pub strict: bool,
    /// Check ids, rule ids or finding names whose FAIL or NON-STRICT is accepted.
    pub known_failures: HashSet<String>,
    /// Observer for D-DEFAULTS.
    pub observer: Option<Observer>,
    /// Fixture cases: the built-in set, plus or instead of the user's directories.
    pub fixtures: fixtures::FixtureSource,
    /// Show progress on stderr (a bar on a terminal, a line per check otherwise).
    pub progress: bool,
    /// Most requests expected to create a report (`None`: no limit).
    pub max_writes: Option<usize>,
    /// Most requests per second (`None`: no limit).
    pub rate: Option<f64>,
    /// Where the fixture answers are snapshotted (`None`: no snapshots).
    pub snapshots: Option<Snapshots>,
    /// Consecutive transport errors after which the run stops sending.
    pub stop_after_errors: usize,
    /// A Rust implementation to check in process instead of over a socket (see
    /// [`crate::inprocess`]); `target` then names it (`http://in-process/...`).
    pub in_process: Option<crate::target::InProcessService>,
    /// Requests to replay (from a JSON report) instead of the fixture and property cases.
    pub replay: Option<Vec<(Case, WireRequest)>>,
    /// A time budget (`--max-time`): once spent, no further batch of property cases is
    /// generated; the run reports what it ran (a nightly job's "as many cases as fit").
    pub max_time: Option<Duration>,
    /// Raised (by the CLI on SIGINT or SIGTERM) to end the run early: nothing more is sent,
    /// what was answered is judged, and the report is marked incomplete.
    pub interrupt: Interrupt,
}

impl RunConfig {
    /// Defaults: the embedded server, 4 requests in flight, 10 s timeout, 1 MiB answers,
    /// 100 property cases, the reference profile, the built-in fixture cases (no files needed).
    pub fn embedded() -> Self {
        Self::default()
    }

    /// A run against a server the caller owns (a local build, a test double), with every
    /// permission: writes, suspending values, its services and its observer.
    ///
    /// ```
    /// use amp_conformance::config::RunConfig;
    /// use amp_conformance::target::Secret;
    /// use amp_contract::envelope::DedicatedIp;
    /// let config = RunConfig::owned_target(
    ///     "http://127.0.0.1:8080/api.php",
    ///     Secret::new("local-key"),
    ///     vec![(1, DedicatedIp::None)],
    ///     Some(999),
    ///     None,
    /// );
    /// assert!(config.allow_writes && config.allow_suspend);
    /// ```
    pub fn owned_target(
        endpoint: &str,
        key: Secret,
        services: Vec<(u32, DedicatedIp)>,
        missing_service: Option<u32>,
        observer: Option<Observer>,
    ) -> Self {
        Self {
            target: Some(endpoint.to_owned()),
            key: Some(key),
            services,
            missing_service,
            allow_writes: true,
            allow_suspend: true,
            observer,
            ..Self::default()
        }
    }
}

/// What the sender needs of a run: how many requests at once, when to stop, whether to show
/// progress. Each stage gets its own settings, never the whole [`RunConfig`].
#[derive(Clone)]
pub(crate) struct Sending {
    pub(crate) concurrency: usize,
    pub(crate) progress: bool,
    pub(crate) stop_after_errors: usize,
    pub(crate) interrupt: Interrupt,
}

/// What the planner needs of a run: where the cases come from and the write budget.
pub(crate) struct Planning<'a> {
    pub(crate) replay: Option<&'a [(Case, WireRequest)]>,
    pub(crate) fixtures: &'a fixtures::FixtureSource,
    pub(crate) cases: usize,
    pub(crate) max_writes: Option<usize>,
}

/// What the checks over the whole run need: the observer and how to judge.
#[derive(Clone, Copy)]
pub(crate) struct Observing<'a> {
    pub(crate) observer: Option<&'a Observer>,
    pub(crate) timeout: Duration,
    pub(crate) concurrency: usize,
    pub(crate) profile: Profile,
}

impl RunConfig {
    pub(crate) fn sending(&self) -> Sending {
        Sending {
            concurrency: self.concurrency,
            progress: self.progress,
            stop_after_errors: self.stop_after_errors,
            interrupt: self.interrupt.clone(),
        }
    }

    pub(crate) fn planning(&self) -> Planning<'_> {
        Planning {
            replay: self.replay.as_deref(),
            fixtures: &self.fixtures,
            cases: self.cases,
            max_writes: self.max_writes,
        }
    }

    pub(crate) fn observing(&self) -> Observing<'_> {
        Observing {
            observer: self.observer.as_ref(),
            timeout: self.timeout,
            concurrency: self.concurrency,
            profile: self.profile,
        }
    }
}

/// What a command sends to: the embedded reference server or an endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// The embedded reference server (`reference` in `diff`, no `--target` in `run`).
    Reference,
    /// An endpoint URL.
    Url(String),
}

impl Side {
    /// `reference` names the embedded server; anything else is a URL.
    pub fn parse(text: &str) -> Self {
        if text == "reference" {
            Self::Reference
        } else {
            Self::Url(text.to_owned())
        }
    }

    /// The side a run's config names: its `--target`, or the embedded server.
    pub fn of(config: &RunConfig) -> Self {
        config
            .target
            .as_ref()
            .map_or(Self::Reference, |t| Self::Url(t.clone()))
    }
}

/// Requests in flight at once, unless `--concurrency` says.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Seconds a request may take, unless `--timeout` says.
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// Property cases of a run, unless `--cases` says.
pub const DEFAULT_CASES: usize = 100;
/// Creates against a `--target`, unless `--max-writes` says (CONTRACT.md §6).
pub const DEFAULT_MAX_WRITES: usize = 25;

impl Default for RunConfig {
    /// The embedded server, [`DEFAULT_CONCURRENCY`] requests in flight, a
    /// [`DEFAULT_TIMEOUT_SECS`] timeout, 1 MiB answers, [`DEFAULT_CASES`] property cases, the
    /// reference profile, the built-in fixture cases. The CLI starts from it.
    fn default() -> Self {
        Self {
            target: None,
            key: None,
            services: Vec::new(),
            missing_service: None,
            allow_writes: false,
            allow_suspend: false,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS),
            ca_cert: None,
            proxy: None,
            max_body: 1024 * 1024,
            cases: DEFAULT_CASES,
            seed: None,
            profile: Profile::Reference,
            strict: false,
            known_failures: HashSet::new(),
            observer: None,
            fixtures: fixtures::FixtureSource::builtin(),
            progress: false,
            max_writes: None,
            rate: None,
            snapshots: None,
            stop_after_errors: 5,
            max_time: None,
            in_process: None,
            replay: None,
            interrupt: Interrupt::default(),
        }
    }
}

impl std::fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and the in-process service are not shown.
        f.debug_struct("RunConfig")
            .field("target", &self.target)
            .field("in_process", &self.in_process.is_some())
            .field("cases", &self.cases)
            .field("seed", &self.seed)
            .field("profile", &self.profile)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

/// Why a run could not be made (exit code 2) or reached nothing (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Usage or configuration: what to fix.
    #[error("{0}")]
    Config(String),
    /// The target answered nothing at all.
    #[error("the target could not be reached: {0}")]
    Unreachable(String),
}

pub(crate) fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// Requests per second against a target that is not on this machine, unless `--rate` says.
pub const DEFAULT_RATE: f64 = 5.0;

/// A request to end a run early (Ctrl-C, SIGTERM), raised once and seen by every sender.
///
/// ```
/// use amp_conformance::config::Interrupt;
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

/// The purge marker's prefix in `admin_notes`: `amp-conformance run <run id>` (CONTRACT.md §6).
pub const MARKER: &str = "amp-conformance run ";
