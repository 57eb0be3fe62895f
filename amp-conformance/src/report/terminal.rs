//! The terminal report: a block per finding (checks grouped by root cause: what differs, the
//! check ids, the smallest reproductions), a block per check with `--verbose`, a summary by
//! class; colours unless `NO_COLOR` is set or the output is not a terminal.

use std::io::{IsTerminal, Write};

use super::RunReport;
use super::findings::Finding;
use crate::judge::Class;

/// Whether to colour output on stdout.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn paint(class: Class, color: bool) -> String {
    let code = match class {
        Class::Pass => "32",
        Class::Fail | Class::Error => "31",
        Class::NonStrict => "33",
        Class::Info | Class::Skipped => "36",
    };
    if color {
        format!("\x1b[{code}m{class}\x1b[0m")
    } else {
        class.to_string()
    }
}

/// How many check ids a finding lists before `… and N more`.
const LISTED_IDS: usize = 5;

/// The longest `actual` shown in a finding's example, in characters.
const EXAMPLE_CHARS: usize = 300;

fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Writes the findings (checks grouped by root cause, one block each with the smallest
/// reproductions) and the summary; `verbose` writes every check first, one block each.
pub fn write(
    report: &RunReport,
    out: &mut impl Write,
    color: bool,
    verbose: bool,
) -> std::io::Result<()> {
    let warning = report.read_only_warning();
    if let Some(warning) = &warning {
        writeln!(out, "{:<10} {warning}\n", paint(Class::Fail, color))?;
    }
    // The run-level notes first: they explain the findings below (issue 20).
    for note in report.plain_notes() {
        writeln!(out, "note: {note}")?;
    }
    if verbose {
        write_checks(report, out, color)?;
    }
    let findings = report.findings();
    for finding in findings.iter().filter(|f| f.class != Class::Info) {
        write_finding(finding, out, color)?;
    }
    for finding in findings.iter().filter(|f| f.class == Class::Info) {
        let more = match finding.count {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        if let Some(example) = finding.examples.first() {
            writeln!(
                out,
                "{:<10} {}: {}: {}{more}",
                paint(finding.class, color),
                finding.name,
                example.check,
                clip(&example.actual, EXAMPLE_CHARS)
            )?;
        }
    }
    write_summary(report, out, color)?;
    if let Some(warning) = &warning {
        writeln!(out, "{:<10} {warning}", paint(Class::Fail, color))?;
    }
    Ok(())
}

fn write_finding(finding: &Finding, out: &mut impl Write, color: bool) -> std::io::Result<()> {
    let count = match finding.count {
        1 => "1 check".to_owned(),
        n => format!("{n} checks"),
    };
    let known = match finding.known_failures {
        0 => String::new(),
        k if k == finding.count => " (known failure)".to_owned(),
        k => format!(" ({k} known failures)"),
    };
    writeln!(
        out,
        "{:<10} {} ({count}){known}",
        paint(finding.class, color),
        finding.name
    )?;
    writeln!(out, "    differs:   {}", finding.summary)?;
    if let Some(reason) = finding
        .examples
        .first()
        .map(|e| e.reason.as_str())
        .filter(|r| !r.is_empty())
    {
        writeln!(out, "    why:       {reason}")?;
    }
    if finding.count > 1 {
        let listed = finding.checks.iter().take(LISTED_IDS);
        let mut ids = listed.map(String::as_str).collect::<Vec<_>>().join(", ");
        if finding.count > LISTED_IDS {
            ids.push_str(&format!(
                ", … and {} more (--verbose lists every check)",
                finding.count - LISTED_IDS
            ));
        }
        writeln!(out, "    checks:    {ids}")?;
    }
    for example in &finding.examples {
        writeln!(
            out,
            "    example:   {}: {}",
            example.check,
            clip(&example.actual, EXAMPLE_CHARS)
        )?;
        if let Some(repro) = &example.reproduction {
            writeln!(out, "    reproduce: {repro}")?;
        }
    }
    Ok(())
}

/// Every check, one block each (`--verbose`).
fn write_checks(report: &RunReport, out: &mut impl Write, color: bool) -> std::io::Result<()> {
    for check in report.checks.iter_all() {
        let finding = matches!(check.class, Class::Fail | Class::NonStrict | Class::Error);
        let known = if check.known_failure {
            " (known failure)"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<10} {} [{}]{known} {}",
            paint(check.class, color),
            check.id,
            check.rule,
            check.title
        )?;
        if finding {
            writeln!(out, "    expected: {}", check.expected)?;
            writeln!(out, "    actual:   {}", check.actual)?;
            if !check.reason.is_empty() {
                writeln!(out, "    why:      {}", check.reason)?;
            }
            writeln!(out, "    from:     {}", check.origin)?;
            if let Some(repro) = &check.reproduction {
                writeln!(out, "    reproduce: {repro}")?;
            }
        } else if check.class == Class::Info {
            writeln!(out, "    observed: {}", check.actual)?;
        }
    }
    Ok(())
}

/// Skipped checks by reason, notes, snapshots, unmatched known failures, and the verdict.
fn write_summary(report: &RunReport, out: &mut impl Write, color: bool) -> std::io::Result<()> {
    let skipped = report.checks.tally().skipped();
    if !skipped.is_empty() {
        let total: usize = skipped.values().sum();
        writeln!(out, "{total} checks SKIPPED:")?;
        for (reason, n) in skipped {
            writeln!(out, "    {n} × {reason}")?;
        }
    }
    if let Some(line) = report.coverage.line() {
        writeln!(out, "{line}")?;
    }
    if !report.snapshots.is_empty() {
        snapshots(report, out)?;
    }
    let unmatched = report.unmatched_known_failures();
    if !unmatched.is_empty() {
        writeln!(
            out,
            "known failures that matched no FAIL or NON-STRICT check (remove them once fixed): {}",
            unmatched.join(", ")
        )?;
    }
    writeln!(out, "target: {}", report.target)?;
    writeln!(
        out,
        "seed: {} (replay with --seed {})  run: {}",
        report.seed, report.seed, report.run_id
    )?;
    let verdict = if report.passed {
        paint(Class::Pass, color)
    } else {
        paint(Class::Fail, color)
    };
    // Say why a run without failing checks still failed.
    let why = if report.passed || report.checks.tally().fails(report.strict) {
        ""
    } else if let Some(signal) = &report.interrupted {
        return writeln!(
            out,
            "{} checks in {:.2}s: {} => INTERRUPTED by {signal} (incomplete; run {})",
            report.checks.len_all(),
            report.seconds,
            report.summary_line(),
            report.run_id
        );
    } else if !report.read_only_creates.is_empty() {
        " (a read-only run created reports: see the warning above)"
    } else if report.stopped.is_some() {
        " (stopped sending)"
    } else {
        " (answers changed since the baseline)"
    };
    // Progress counts cases; the summary says how the checks relate to them.
    let extra = report.checks.len_all().saturating_sub(report.cases);
    writeln!(
        out,
        "{} checks ({} cases, {extra} stored-value and run-level) in {:.2}s: {} => {verdict}{why}",
        report.checks.len_all(),
        report.cases,
        report.seconds,
        report.summary_line()
    )?;
    Ok(())
}

/// The baseline: changed answers with their diffs, then one line each for what was recorded,
/// not recorded, or accepted.
fn snapshots(report: &RunReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use crate::snapshot::SnapshotState;
    let dir = report.snapshot_dir.as_deref().unwrap_or("the baseline");
    let count = |state| report.snapshots.iter().filter(|s| s.state == state).count();
    for s in report
        .snapshots
        .iter()
        .filter(|s| s.state == SnapshotState::Changed)
    {
        writeln!(
            out,
            "CHANGED    {}: the answer differs from the baseline ({})",
            s.id, s.path
        )?;
        for line in s.diff.as_deref().unwrap_or("").lines() {
            writeln!(out, "    {line}")?;
        }
    }
    let changed = count(SnapshotState::Changed);
    if changed > 0 {
        writeln!(
            out,
            "{changed} answers changed since the baseline in {dir}: if the change is intended, \
             accept it with --update-snapshots (or review with `cargo insta review \
             --workspace-root {dir}`)"
        )?;
    }
    let recorded = count(SnapshotState::Recorded);
    if recorded > 0 {
        writeln!(
            out,
            "recorded {recorded} answers as the baseline in {dir} (a first run, or cases new \
             since the baseline): commit them; later runs compare against them"
        )?;
    }
    let new = count(SnapshotState::New);
    if new > 0 {
        writeln!(
            out,
            "{new} answers are not in the baseline {dir} and were not recorded (CI is set): run \
             with --update-snapshots to record them"
        )?;
    }
    // A fix (the check failed when the answer was recorded, and passes now): said, not failed.
    for s in report
        .snapshots
        .iter()
        .filter(|s| s.state == SnapshotState::Improved)
    {
        writeln!(
            out,
            "IMPROVED   {}: the answer changed since the baseline and the check passes now \
             (it did not then); the new answer is the baseline unless CI is set ({})",
            s.id, s.path
        )?;
    }
    let accepted = count(SnapshotState::Accepted);
    if accepted > 0 {
        writeln!(out, "{accepted} changed answers accepted into {dir}")?;
    }
    Ok(())
}
