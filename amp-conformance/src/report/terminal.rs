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
        use crate::snapshot::SnapshotState;
        let differ = |s: &&crate::snapshot::SnapshotOutcome| {
            matches!(s.state, SnapshotState::New | SnapshotState::Changed)
        };
        for s in report.snapshots.iter().filter(differ) {
            writeln!(out, "snapshot {:?}: {} ({})", s.state, s.id, s.path)?;
        }
        let accepted = report
            .snapshots
            .iter()
            .filter(|s| s.state == SnapshotState::Accepted)
            .count();
        if accepted > 0 {
            writeln!(out, "{accepted} snapshots accepted")?;
        }
        if let Some(dir) = report
            .snapshot_dir
            .as_deref()
            .filter(|_| report.snapshots.iter().any(|s| differ(&s)))
        {
            writeln!(
                out,
                "snapshots differ: review with `cargo insta review --workspace-root {dir}` \
                 (cargo install cargo-insta), or accept all with --update-snapshots"
            )?;
        }
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
        " (snapshots differ)"
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
