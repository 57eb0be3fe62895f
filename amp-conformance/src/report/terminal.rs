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
    write_summary(report, out, color)
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
    for check in &report.checks {
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
    for note in report.plain_notes() {
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
