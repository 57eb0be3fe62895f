//! The Markdown report, fit for a CI job summary: the findings (checks grouped by root cause)
//! with their smallest reproductions; every check with `--verbose`.

use std::fmt::Write as _;

use super::RunReport;
use super::findings::Finding;
use crate::judge::Class;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Renders a summary table, a block per finding with its smallest reproductions, the skipped
/// checks by reason and the known failures that matched nothing; `verbose` adds every
/// finding's checks one by one and every skipped check.
pub fn render(report: &RunReport, verbose: bool) -> String {
    let mut out = String::new();
    let verdict = if report.passed { "passed" } else { "FAILED" };
    let _ = writeln!(out, "# AMP conformance: {verdict}\n");
    let _ = writeln!(
        out,
        "Target: `{}` · profile `{:?}`{} · seed `{}` · run `{}`\n",
        report.target,
        report.profile,
        if report.strict { " (strict)" } else { "" },
        report.seed,
        report.run_id
    );
    if let Some(warning) = report.read_only_warning() {
        let _ = writeln!(out, "> **{}**\n", cell(&warning));
    }
    let _ = writeln!(out, "| class | checks |\n|---|---|");
    for (class, n) in report.counts() {
        let _ = writeln!(out, "| {class} | {n} |");
    }
    for note in report.plain_notes() {
        let _ = writeln!(out, "\n> {}", cell(note));
    }
    if let Some(line) = report.coverage.line() {
        let _ = writeln!(out, "\n{}", cell(&line));
    }
    if !report.snapshots.is_empty() {
        let _ = writeln!(out, "\n## Snapshots\n");
        for s in &report.snapshots {
            let _ = writeln!(out, "- {:?}: `{}` ({})", s.state, s.id, s.path);
        }
    }
    let findings: Vec<Finding> = report
        .findings()
        .into_iter()
        .filter(|f| matches!(f.class, Class::Fail | Class::NonStrict | Class::Error))
        .collect();
    if !findings.is_empty() {
        let _ = writeln!(
            out,
            "\n## Findings\n\nEach finding groups the checks that depart from one rule in the same \
             way; its name can go in a `--known-failures` file.\n\n\
             | class | finding | checks | what differs |\n|---|---|---|---|"
        );
        for f in &findings {
            let _ = writeln!(
                out,
                "| {}{} | `{}` | {} | {} |",
                f.class,
                known(f),
                f.name,
                f.count,
                cell(&f.summary)
            );
        }
        for f in &findings {
            write_finding(&mut out, f);
        }
    }
    if verbose {
        write_checks(&mut out, report);
    }
    let skipped = report.checks.tally().skipped();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n## Skipped\n");
        if verbose {
            let each = report
                .checks
                .iter_all()
                .filter(|c| c.class == Class::Skipped);
            for c in each {
                let _ = writeln!(out, "- `{}` ({}): {}", c.id, c.rule, cell(&c.reason));
            }
        } else {
            for (reason, n) in skipped {
                let _ = writeln!(out, "- {n} × {}", cell(reason));
            }
        }
    }
    let unmatched = report.unmatched_known_failures();
    if !unmatched.is_empty() {
        let _ = writeln!(
            out,
            "\n## Known failures that matched nothing\n\nThese `--known-failures` entries matched \
             no FAIL or NON-STRICT check in this run; remove them once the server is fixed.\n"
        );
        for entry in unmatched {
            let _ = writeln!(out, "- `{}`", cell(entry));
        }
    }
    out
}

fn known(f: &Finding) -> String {
    match f.known_failures {
        0 => String::new(),
        k if k == f.count => " (known)".to_owned(),
        k => format!(" ({k} known)"),
    }
}

fn write_finding(out: &mut String, f: &Finding) {
    let checks = match f.count {
        1 => "1 check".to_owned(),
        n => format!("{n} checks"),
    };
    let _ = writeln!(
        out,
        "\n### {}{} `{}`: {checks}\n\n{}",
        f.class,
        known(f),
        f.name,
        cell(&f.summary)
    );
    if let Some(reason) = f
        .examples
        .first()
        .map(|e| e.reason.as_str())
        .filter(|r| !r.is_empty())
    {
        let _ = writeln!(out, "(e.g. {})", cell(reason));
    }
    let ids: Vec<String> = f.checks.iter().map(|c| format!("`{c}`")).collect();
    let _ = writeln!(
        out,
        "\n<details><summary>{checks}</summary>\n\n{}\n</details>",
        ids.join(" · ")
    );
    for e in &f.examples {
        let _ = writeln!(out, "\n`{}`: {}", e.check, cell(&e.actual));
        if let Some(repro) = &e.reproduction {
            let _ = writeln!(out, "\n```sh\n{repro}\n```");
        }
    }
}

/// Every FAIL, NON-STRICT and ERROR check, one row each, with its reproduction (`--verbose`).
fn write_checks(out: &mut String, report: &RunReport) {
    let checks: Vec<_> = report
        .checks
        .iter_all()
        .filter(|c| matches!(c.class, Class::Fail | Class::NonStrict | Class::Error))
        .collect();
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Checks one by one\n\n| class | check | rule | expected | actual |\n|---|---|---|---|---|"
    );
    for c in &checks {
        let known = if c.known_failure { " (known)" } else { "" };
        let _ = writeln!(
            out,
            "| {}{known} | `{}` | {} | {} | {} |",
            c.class,
            c.id,
            c.rule,
            cell(&c.expected),
            cell(&c.actual)
        );
    }
    for c in checks.iter().filter(|c| c.reproduction.is_some()) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {}</summary>\n\n```sh\n{}\n```\n</details>",
            c.id,
            cell(&c.reason),
            c.reproduction.as_deref().unwrap_or("")
        );
    }
}
