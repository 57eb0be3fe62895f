//! The terminal report: a line per finding with expected against actual and a reproduction,
//! a summary by class; colours unless `NO_COLOR` is set or the output is not a terminal.

use std::io::{IsTerminal, Write};

use super::RunReport;
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

/// Writes the findings and the summary.
pub fn write(
    report: &RunReport,
    out: &mut impl Write,
    color: bool,
    verbose: bool,
) -> std::io::Result<()> {
    for check in &report.checks {
        let finding = matches!(check.class, Class::Fail | Class::NonStrict | Class::Error);
        if !(finding || verbose || check.class == Class::Info) {
            continue;
        }
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
    let skipped = report.of_class(Class::Skipped);
    if !skipped.is_empty() {
        let mut reasons: Vec<&str> = skipped.iter().map(|c| c.reason.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        writeln!(out, "{} checks SKIPPED:", skipped.len())?;
        for reason in reasons {
            let n = skipped.iter().filter(|c| c.reason == reason).count();
            writeln!(out, "    {n} × {reason}")?;
        }
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    if !report.snapshots.is_empty() {
        snapshots(report, out)?;
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
    let why = if report.passed || report.checks.iter().any(|c| c.fails(report.strict)) {
        ""
    } else if report.stopped.is_some() {
        " (stopped sending)"
    } else {
        " (answers changed since the baseline)"
    };
    writeln!(
        out,
        "{} checks in {:.2}s: {} => {verdict}{why}",
        report.checks.len(),
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
    let accepted = count(SnapshotState::Accepted);
    if accepted > 0 {
        writeln!(out, "{accepted} changed answers accepted into {dir}")?;
    }
    Ok(())
}
