//! Reports of a run: the data every format renders ([`RunReport`]), its checks grouped by root
//! cause ([`findings`]), and the formats: [`terminal`], [`json`], [`junit`], [`markdown`].

pub(crate) mod checks;
pub mod coverage;
pub mod curl;
pub(crate) mod diagnose;
pub mod findings;
pub mod json;
pub mod junit;
pub mod log;
pub mod markdown;
pub(crate) mod render;
pub mod terminal;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use amp_contract::rules::Rule;

use crate::judge::{Class, Deviation, Profile};

/// How a finding's request was shrunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shrunk {
    /// Steps that kept the failure.
    pub steps: usize,
}

/// One check's result, as every report shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check id, e.g. `auth/missing-header`.
    pub id: String,
    /// The rule it is filed under.
    pub rule: Rule,
    /// Every rule the check names.
    pub rules: Vec<Rule>,
    /// What it checks.
    pub title: String,
    /// Outcome class.
    pub class: Class,
    /// What it expected.
    pub expected: String,
    /// What came back.
    pub actual: String,
    /// Why it is not a plain pass (rendered from `deviation`).
    pub reason: String,
    /// How it departs from the contract, typed: with the class and the rule, what names its
    /// finding. `None` for a pass, a skipped check and a run-level one.
    #[serde(skip)]
    pub deviation: Option<Deviation>,
    /// The name of its finding (FAIL, ERROR, NON-STRICT and INFO checks), as a
    /// `--known-failures` file may list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// The request was shrunk before it was reported: the reproduction is the smallest one
    /// found that still breaks the same rule the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Shrunk>,
    /// A ready-to-run reproduction (API_ID as `$AMP_API_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduction: Option<String>,
    /// The exact request of a finding, for `amp-conformance replay` (the key is not in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<crate::cases::recorded::Recorded>,
    /// Where it comes from (`fixtures/cases/auth.toml:12`, `seed 42, valid #3`).
    pub origin: String,
    /// Listed in `--known-failures`: reported, but not failing the run.
    pub known_failure: bool,
    /// Milliseconds to the end of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
}

impl CheckResult {
    /// Whether this result fails the run.
    pub fn fails(&self, strict: bool) -> bool {
        !self.known_failure
            && match self.class {
                Class::Fail | Class::Error => true,
                Class::NonStrict => strict,
                _ => false,
            }
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `amp-conformance` version.
    pub tool: String,
    /// What was checked.
    pub target: String,
    /// Seed of the property cases (`--seed` replays them).
    pub seed: u64,
    /// The run id in the purge marker.
    pub run_id: String,
    /// Profile.
    pub profile: Profile,
    /// `--strict`.
    pub strict: bool,
    /// Every check, in run order (a deep run keeps the first ones in memory and the rest in a
    /// temporary file: see [`log::CheckLog`]).
    pub checks: log::CheckLog,
    /// How many of the checks are cases (sent or skipped, as progress counts them); the rest
    /// are stored-value and run-level checks.
    pub cases: usize,
    /// Run-level notes (diagnostics, stopped sending, ...).
    pub notes: Vec<String>,
    /// Snapshots that are new, changed or were accepted (matched ones are not listed).
    pub snapshots: Vec<crate::snapshot::SnapshotOutcome>,
    /// The snapshot directory, when snapshots were checked.
    pub snapshot_dir: Option<String>,
    /// Why the run stopped sending before the end, if it did.
    pub stopped: Option<String>,
    /// The run stopped because the target stopped answering at all (exit code 3); a target
    /// that answers broken is a failing run (exit code 1).
    pub outage: bool,
    /// The run could not reach the API because of its configuration: its first answers were
    /// all redirects, 404s or certificate failures (exit code 2).
    pub misconfigured: bool,
    /// The signal that interrupted the run (the report is then incomplete).
    pub interrupted: Option<String>,
    /// `--known-failures` entries that matched no FAIL or NON-STRICT check, so that stale ones
    /// can be removed.
    pub unmatched_known_failures: Vec<String>,
    /// What the run was allowed to send, so that `replay` judges under the same services and
    /// refuses to confirm under others.
    pub context: RunContext,
    /// Successes seen in a read-only run (CONTRACT.md §6: a read-only run creates nothing):
    /// said first, with the run id to purge by, and the run fails.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read_only_creates: Vec<ReadOnlyCreate>,
    /// Which cells of the coverage model (`amp-conformance list --coverage`) the run
    /// exercised, and why it could not reach the others (budget, a flag, no observer).
    pub coverage: coverage::RunCoverage,
    /// Whether the run passed.
    pub passed: bool,
    /// Seconds the run took.
    pub seconds: f64,
}

/// The safety context of a run (CONTRACT.md §6), as the JSON report records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The embedded reference server rather than a `--target`.
    pub embedded: bool,
    /// `--service` ids with their dedicated IP (`none` without one), in the order given.
    pub services: Vec<String>,
    /// `--missing-service-id`.
    pub missing_service: Option<u32>,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// `--allow-suspend`.
    pub allow_suspend: bool,
    /// `--profile`.
    pub profile: String,
}

impl RunContext {
    /// The flags that give a run this context, as a user types them.
    pub fn flags(&self) -> String {
        let mut flags: Vec<String> = self
            .services
            .iter()
            .map(|s| format!("--service {s}"))
            .collect();
        flags.extend(
            self.missing_service
                .map(|m| format!("--missing-service-id {m}")),
        );
        if self.allow_writes {
            flags.push("--allow-writes".to_owned());
        }
        if self.allow_suspend {
            flags.push("--allow-suspend".to_owned());
        }
        flags.push(format!("--profile {}", self.profile));
        flags.join(" ")
    }
}

/// A report created by a run that was not allowed to create any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadOnlyCreate {
    /// The check whose request was accepted.
    pub check: String,
    /// The `report_id` the target answered.
    pub report_id: u64,
}

impl RunReport {
    /// The warning a read-only run that created reports leads with: what to purge and how.
    pub fn read_only_warning(&self) -> Option<String> {
        let first = self.read_only_creates.first()?;
        let ids: Vec<String> = self
            .read_only_creates
            .iter()
            .map(|c| c.report_id.to_string())
            .collect();
        Some(format!(
            "THIS READ-ONLY RUN CREATED {} REPORT(S) (report id {}; first by {}): the target \
             accepted as a create a request that names no service the run may touch. Purge \
             them: search admin_notes for `amp-conformance run {}` (and the request header \
             x-amp-conformance for run={}). CONTRACT.md §6; the run fails.",
            self.read_only_creates.len(),
            ids.join(", "),
            first.check,
            self.run_id,
            self.run_id
        ))
    }

    /// Counts by class, in class order.
    pub fn counts(&self) -> BTreeMap<Class, usize> {
        self.checks.tally().counts().clone()
    }

    /// `12 PASS, 1 FAIL, ...` in class order.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self
            .counts()
            .iter()
            .map(|(c, n)| format!("{n} {c}"))
            .collect();
        parts.join(", ")
    }

    /// The checks of one class kept in memory, in run order (every one for a run of at most
    /// [`log::KEPT_CHECKS`] checks; [`RunReport::counts`] counts them all).
    pub fn of_class(&self, class: Class) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| c.class == class).collect()
    }

    /// Recomputes `passed`.
    pub fn settle(&mut self) {
        use crate::snapshot::SnapshotState;
        // A new answer is recorded (or reported under CI), never a failure; a changed one is.
        let snapshots_differ = self
            .snapshots
            .iter()
            .any(|s| s.state == SnapshotState::Changed);
        self.passed = !self.checks.tally().fails(self.strict)
            && !snapshots_differ
            && self.stopped.is_none()
            && self.interrupted.is_none()
            && self.read_only_creates.is_empty();
    }
}

/// Report formats for `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Every check as JSON.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
}

impl Format {
    /// Renders the report (Markdown with the findings only, not every check).
    pub fn render(self, report: &RunReport) -> String {
        self.render_with(report, false)
    }

    /// Renders the report; `verbose` (`--verbose`) adds every check to the Markdown summary.
    /// JSON and JUnit always carry every check.
    pub fn render_with(self, report: &RunReport, verbose: bool) -> String {
        match self {
            Self::Json => json::render(report),
            Self::Junit => junit::render(report),
            Self::Markdown => markdown::render(report, verbose),
        }
    }
}
