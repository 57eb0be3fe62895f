//! The options of each subcommand, in groups that a subcommand takes only when it uses them
//! (`diff` offers no snapshot or observer flag, `replay` no case generation), and the
//! [`RunConfig`] they make.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use amp_contract::envelope::DedicatedIp;
use clap::{Args, FromArgMatches};

use crate::cases::fixtures::FixtureSource;
use crate::config::{self, RunConfig};
use crate::judge::Profile;
use crate::observer::Observer;
use crate::report::Format;
use crate::report::findings::parse_known_failures;
use crate::snapshot::Snapshots;
use crate::target::Secret;

/// Where a `--target`'s baseline lives by default, relative to the working directory (the
/// user's project): `amp-baseline/<endpoint>`, one directory per endpoint (scheme, host, port,
/// and the path when it is not the API's usual one).
pub const BASELINE_DIR: &str = "amp-baseline";

/// Where and how requests go: every command that sends.
#[derive(Debug, Clone, Args)]
pub(crate) struct TargetArgs {
    /// Full endpoint URL of the implementation to check, with its scheme
    /// (`https://host/modules/addons/abusemanagerpro/includes/api.php`). Without it, the
    /// embedded reference server is started and checked.
    #[arg(long = "target", value_name = "URL")]
    pub(super) targets: Vec<String>,
    /// Read the API_ID from this file instead of the AMP_API_ID environment variable (never on
    /// the command line).
    #[arg(long, value_name = "PATH")]
    pub(super) api_id_file: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = config::DEFAULT_CONCURRENCY, value_name = "N")]
    pub(super) concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = config::DEFAULT_TIMEOUT_SECS, value_name = "SECS")]
    pub(super) timeout: f64,
    /// Most requests per second (default 5 for a target that is not on this machine).
    #[arg(long, value_name = "N")]
    pub(super) rate: Option<f64>,
    /// Trust the certificates of this PEM file besides the platform's roots: your private CA,
    /// or the server's own self-signed certificate (`openssl req -x509` makes one). The
    /// observer's reads use it too.
    #[arg(long, value_name = "FILE")]
    pub(super) ca_cert: Option<PathBuf>,
    /// Send through this HTTP forward proxy (`http://[user:pass@]host:port`; CONNECT for
    /// https:// targets). Without it, HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY apply,
    /// as curl reads them. The embedded server is never proxied.
    #[arg(long, value_name = "URL")]
    pub(super) proxy: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

/// What a run may do to a real target (CONTRACT.md §6): every command that sends.
#[derive(Debug, Clone, Args)]
pub(crate) struct SafetyArgs {
    /// A service that exists on the target, with its dedicated IP or `none` (repeatable).
    #[arg(long = "service", value_name = "ID[=IP|none]")]
    pub(super) services: Vec<String>,
    /// A service id known not to exist on the target: read-only runs name it.
    #[arg(long, value_name = "ID")]
    pub(super) missing_service_id: Option<u32>,
    /// Allow cases that create reports against --target (a real create may e-mail a customer).
    #[arg(long)]
    pub(super) allow_writes: bool,
    /// Allow sending `immediate` or `timelimit`, which suspend a real service.
    #[arg(long)]
    pub(super) allow_suspend: bool,
    /// Most requests expected to create a report (default 25 against --target; no limit for
    /// the embedded server). Once spent, further write cases are SKIPPED.
    #[arg(long, value_name = "N")]
    pub(super) max_writes: Option<usize>,
}

/// Which cases a run plans: `run` and `diff`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CaseArgs {
    /// Number of generated (property) cases.
    #[arg(long, value_name = "N")]
    pub(super) cases: Option<usize>,
    /// Seed of the generated cases; the run prints it, and the same seed replays the run.
    #[arg(long, value_name = "S")]
    pub(super) seed: Option<u64>,
    #[command(flatten)]
    pub(super) fixtures: FixtureArgs,
    /// Stop generating cases after this many seconds (the run reports what it ran): for a
    /// nightly job, `--cases 1000000 --max-time 600` runs as many as fit in 10 minutes.
    #[arg(long, value_name = "SECS")]
    pub(super) max_time: Option<f64>,
}

/// Where the fixture cases come from: the built-in set, and the user's own directories.
#[derive(Debug, Clone, Args)]
pub(crate) struct FixtureArgs {
    /// A directory of your own fixture cases (`*.toml`, the format of the repository's
    /// fixtures/cases), added to the built-in cases (repeatable).
    #[arg(long = "fixtures", value_name = "DIR")]
    pub(super) fixtures: Vec<PathBuf>,
    /// Run only your cases: those of --fixtures, no built-in cases and no generated ones
    /// (unless --cases asks for some).
    #[arg(long, requires = "fixtures")]
    pub(super) no_builtin_cases: bool,
}

impl FixtureArgs {
    pub(super) fn source(&self) -> FixtureSource {
        FixtureSource {
            builtin: !self.no_builtin_cases,
            dirs: self.fixtures.clone(),
        }
    }
}

/// How answers are judged: `run` and `replay`.
#[derive(Debug, Clone, Args)]
pub(crate) struct VerdictArgs {
    /// Which rules count: the page's only, or with this project's resolutions.
    #[arg(long, value_enum, default_value_t = Profile::Reference)]
    pub(super) profile: Profile,
    /// NON-STRICT findings fail the run too.
    #[arg(long)]
    pub(super) strict: bool,
    /// File of known failures, one a line: a check id, a rule id (`R-BODY`) or a finding name
    /// as the report prints it (`R-STATUS:http-400-instead-of-200`); `#` comments. Their FAIL
    /// or NON-STRICT is reported but accepted; entries that matched nothing are listed.
    #[arg(long, value_name = "FILE")]
    pub(super) known_failures: Option<PathBuf>,
}

/// The reports a run writes: `run` and `replay`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    /// Report format written to the matching --output (repeatable, paired in order).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(super) format: Vec<Format>,
    /// Where the matching --format goes (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub(super) output: Vec<PathBuf>,
    /// Print every check, one block each, not only the findings grouped by root cause (in the
    /// terminal and the Markdown report).
    #[arg(long, short)]
    pub(super) verbose: bool,
}

/// The stored reports and the baseline: `run` only.
#[derive(Debug, Clone, Args)]
pub(crate) struct StateArgs {
    /// Observer URL template with `{report_id}`, sent with the same API_ID (D-DEFAULTS).
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "observe_cmd")]
    pub(super) observe_url: Option<String>,
    /// Observer command with `{report_id}` that prints the stored report as JSON.
    #[arg(long, value_name = "CMD")]
    pub(super) observe_cmd: Option<String>,
    /// Snapshot directory for the fixture answers, the baseline (default
    /// `amp-baseline/<scheme>_<host>_<port>/read-only`, or `.../writes` with --allow-writes,
    /// for a --target (a path other than the API's usual one is added to the name);
    /// for the embedded server `fixtures/snapshots/reference`, compared only where it exists).
    #[arg(long, value_name = "DIR", conflicts_with = "no_snapshots")]
    pub(super) snapshots: Option<PathBuf>,
    /// Accept new and changed snapshots.
    #[arg(long)]
    pub(super) update_snapshots: bool,
    /// Do not compare or write snapshots.
    #[arg(long)]
    pub(super) no_snapshots: bool,
    /// Print the planned requests as curl commands and send nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

/// Options of `amp-conformance run`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(super) target: TargetArgs,
    #[command(flatten)]
    pub(super) safety: SafetyArgs,
    #[command(flatten)]
    pub(super) cases: CaseArgs,
    #[command(flatten)]
    pub(super) verdict: VerdictArgs,
    #[command(flatten)]
    pub(super) report: ReportArgs,
    #[command(flatten)]
    pub(super) state: StateArgs,
}

/// Options of `amp-conformance replay`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReplayArgs {
    /// A JSON report written with `--format json --output PATH`.
    #[arg(value_name = "REPORT.json")]
    pub(super) report_file: PathBuf,
    /// Only this check id, rule id or finding name (default: every recorded finding).
    #[arg(value_name = "CHECK_ID|RULE|FINDING")]
    pub(super) filter: Option<String>,
    #[command(flatten)]
    pub(super) target: TargetArgs,
    #[command(flatten)]
    pub(super) safety: SafetyArgs,
    #[command(flatten)]
    pub(super) verdict: VerdictArgs,
    #[command(flatten)]
    pub(super) report: ReportArgs,
}

/// What `diff` writes besides its terminal listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// The differences as JSON.
    Json,
}

/// Options of `amp-conformance diff`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    pub(super) target: TargetArgs,
    #[command(flatten)]
    pub(super) safety: SafetyArgs,
    #[command(flatten)]
    pub(super) cases: CaseArgs,
    /// Which rules decide a difference: the page's only, or with this project's resolutions.
    #[arg(long, value_enum, default_value_t = Profile::Reference)]
    pub(super) profile: Profile,
    /// Write the differences in this format to --output as well.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "output")]
    pub(super) format: Option<DiffFormat>,
    /// Where --format goes (`-` for stdout; the listing then goes to stderr).
    #[arg(long, value_name = "PATH", requires = "format")]
    pub(super) output: Option<PathBuf>,
}

/// A group's values as clap gives them when none of its flags is on the command line: the
/// defaults of a group a subcommand does not offer.
fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults"));
    let matches = command.get_matches_from(["defaults"]);
    match T::from_arg_matches(&matches) {
        Ok(value) => value,
        // An empty command line always parses: every flag of a group has a default.
        Err(e) => e.exit(),
    }
}

impl ReplayArgs {
    /// The run a replay is: its own flags, no generated cases, no snapshots, no observer.
    pub(super) fn as_run(&self) -> RunArgs {
        let mut cases: CaseArgs = defaults();
        cases.cases = Some(0);
        let mut state: StateArgs = defaults();
        state.no_snapshots = true;
        RunArgs {
            target: self.target.clone(),
            safety: self.safety.clone(),
            cases,
            verdict: self.verdict.clone(),
            report: self.report.clone(),
            state,
        }
    }
}

impl DiffArgs {
    /// The run each side of a diff gets: its flags, no snapshots, no observer, no reports.
    pub(super) fn as_run(&self, target: Option<String>) -> RunArgs {
        let mut state: StateArgs = defaults();
        state.no_snapshots = true;
        let mut verdict: VerdictArgs = defaults();
        verdict.profile = self.profile;
        RunArgs {
            target: TargetArgs {
                targets: target.into_iter().collect(),
                ..self.target.clone()
            },
            safety: self.safety.clone(),
            cases: self.cases.clone(),
            verdict,
            report: defaults(),
            state,
        }
    }
}

pub(super) fn parse_service(text: &str) -> Result<(u32, DedicatedIp), String> {
    let (id, ip) = match text.split_once('=') {
        Some((id, ip)) => (id, Some(ip)),
        None => (text, None),
    };
    let id = id
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|id| (1..=2_147_483_647).contains(id))
        .ok_or_else(|| {
            format!("--service {text:?}: the id must be a whole number in 1..=2147483647")
        })?;
    let ip = match ip.map(str::trim) {
        None | Some("none") => DedicatedIp::None,
        Some(ip) => DedicatedIp::Address(ip.parse().map_err(|_| {
            format!("--service {text:?}: {ip:?} is not an IPv4 or IPv6 address (or `none`)")
        })?),
    };
    Ok((id, ip))
}

fn read_key(args: &TargetArgs) -> Result<Option<Secret>, String> {
    if let Some(path) = &args.api_id_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --api-id-file {}: {e}", path.display()))?;
        let key = text.trim();
        if key.is_empty() {
            return Err(format!("--api-id-file {} is empty", path.display()));
        }
        return Ok(Some(Secret::new(key)));
    }
    Ok(std::env::var("AMP_API_ID")
        .ok()
        .and_then(|list| {
            list.split(',')
                .map(str::trim)
                .find(|k| !k.is_empty())
                .map(str::to_owned)
        })
        .map(Secret::new))
}

/// A `--target` is a URL with its scheme: `localhost:8000` would be read as the scheme
/// `localhost`.
pub(super) fn check_target(target: &str) -> Result<(), String> {
    let scheme = target
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => Ok(()),
        Some(other) => Err(format!(
            "--target {target:?}: the scheme `{other}` is not http or https"
        )),
        None => Err(format!(
            "--target {target:?} has no scheme: give the whole URL, e.g. \
             http://{target}/modules/addons/abusemanagerpro/includes/api.php (or https://)",
            target = target.trim_end_matches('/')
        )),
    }
}

/// The flags that must agree with each other or be in range, checked before anything is read.
fn check_flags(args: &RunArgs) -> Result<(), String> {
    let (target_args, cases, report) = (&args.target, &args.cases, &args.report);
    if report.format.len() != report.output.len() {
        return Err(format!(
            "{} --format but {} --output: give each --format its --output PATH (or -)",
            report.format.len(),
            report.output.len()
        ));
    }
    if !(target_args.timeout.is_finite() && target_args.timeout > 0.0) {
        return Err("--timeout must be a positive number of seconds".to_owned());
    }
    if target_args.targets.len() > 1 {
        return Err(
            "--target is given more than once: give one URL (two only with `diff`)".to_owned(),
        );
    }
    if cases.max_time.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
        return Err("--max-time must be a positive number of seconds".to_owned());
    }
    if target_args
        .rate
        .is_some_and(|r| !(r.is_finite() && r > 0.0))
    {
        return Err("--rate must be a positive number of requests per second".to_owned());
    }
    if let Some(proxy) = &target_args.proxy {
        amp_contract::wire::Proxy::to(proxy).map_err(|e| format!("--proxy {e}"))?;
    }
    Ok(())
}

/// The observer `--observe-url` or `--observe-cmd` names.
fn observer_of(state: &StateArgs) -> Result<Option<Observer>, String> {
    Ok(match (&state.observe_url, &state.observe_cmd) {
        (Some(url), _) if !url.contains("{report_id}") => {
            return Err("--observe-url needs {report_id} where the report id goes".to_owned());
        }
        (Some(url), _) => Some(Observer::Url(url.clone())),
        (None, Some(cmd)) => Some(Observer::Command(cmd.clone())),
        (None, None) => None,
    })
}

/// The PEM certificates `--ca-cert` names, checked to parse.
fn ca_cert_of(target_args: &TargetArgs) -> Result<Option<Vec<u8>>, String> {
    Ok(match &target_args.ca_cert {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --ca-cert {}: {e}", path.display()))?;
            amp_contract::wire::TrustedCerts::from_pem(&pem)
                .map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
            Some(pem)
        }
    })
}

/// The run `args` describe.
pub(super) fn config_from(args: &RunArgs) -> Result<RunConfig, String> {
    let (target_args, safety, cases, verdict, state) = (
        &args.target,
        &args.safety,
        &args.cases,
        &args.verdict,
        &args.state,
    );
    check_flags(args)?;
    let target = target_args.targets.first();
    if let Some(target) = target {
        check_target(target)?;
    }
    if target.is_none() && (!safety.services.is_empty() || safety.missing_service_id.is_some()) {
        return Err("--service and --missing-service-id describe a --target; the embedded server uses fixtures/services.toml".to_owned());
    }
    let known_failures = match &verdict.known_failures {
        None => HashSet::new(),
        Some(path) => parse_known_failures(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --known-failures {}: {e}", path.display()))?,
        ),
    };
    let observer = observer_of(state)?;
    let snapshot_dir = match (&state.snapshots, target) {
        _ if state.no_snapshots => None,
        (Some(dir), _) => Some(dir.clone()),
        // Read-only runs name the missing service where writing runs name real ones: their
        // answers differ, so each mode keeps its own baseline (README's read-only run, then
        // the writing one, in the same directory, both pass).
        (None, Some(target)) => Some(
            PathBuf::from(BASELINE_DIR)
                .join(crate::snapshot::endpoint_label(target))
                .join(if safety.allow_writes {
                    "writes"
                } else {
                    "read-only"
                }),
        ),
        (None, None) => {
            // The embedded server's baseline is the repository's fixtures/snapshots/reference.
            // Run anywhere else (an installed binary), there is nothing to compare with, and a
            // check of the built-in server must not fail nor write into the working directory.
            let dir = PathBuf::from("fixtures/snapshots/reference");
            if state.update_snapshots || dir.is_dir() {
                Some(dir)
            } else {
                if !(target_args.quiet || state.dry_run) {
                    eprintln!(
                        "note: no snapshot comparison: {} is not in this directory \
                         (--snapshots DIR compares with, or records, a baseline elsewhere)",
                        dir.display()
                    );
                }
                None
            }
        }
    };
    // Under CI nothing is written unless --update-snapshots asks: a new answer is reported, a
    // changed one fails the run.
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let snapshots = snapshot_dir.map(|dir| Snapshots::new(dir, state.update_snapshots, !ci));
    let key = read_key(target_args)?;
    let ca_cert = ca_cert_of(target_args)?;
    if key
        .as_ref()
        .is_some_and(|k| k.expose().len() < Secret::MIN_REDACTED)
    {
        eprintln!(
            "warning: the API_ID is shorter than {} characters, too short to be scrubbed from the \
             output reliably",
            Secret::MIN_REDACTED
        );
    }
    // "Your cases only": no generated ones either, unless --cases asks.
    let generated = cases.cases.unwrap_or(if cases.fixtures.no_builtin_cases {
        0
    } else {
        config::DEFAULT_CASES
    });
    Ok(RunConfig {
        target: target.cloned(),
        key,
        services: safety
            .services
            .iter()
            .map(|s| parse_service(s))
            .collect::<Result<_, _>>()?,
        missing_service: safety.missing_service_id,
        allow_writes: safety.allow_writes,
        allow_suspend: safety.allow_suspend,
        concurrency: target_args.concurrency.clamp(1, 256),
        timeout: Duration::from_secs_f64(target_args.timeout),
        ca_cert,
        proxy: target_args.proxy.clone(),
        cases: generated,
        seed: cases.seed,
        profile: verdict.profile,
        strict: verdict.strict,
        known_failures,
        observer,
        fixtures: cases.fixtures.source(),
        progress: !target_args.quiet,
        max_writes: match target {
            Some(_) => Some(safety.max_writes.unwrap_or(config::DEFAULT_MAX_WRITES)),
            None => safety.max_writes,
        },
        rate: target_args.rate,
        max_time: cases.max_time.map(Duration::from_secs_f64),
        snapshots,
        ..RunConfig::default()
    })
}
