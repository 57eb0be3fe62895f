//! The Markdown report, fit for a CI job summary.

use std::fmt::Write as _;

use super::RunReport;
use crate::judge::Class;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Renders a summary table and every finding with its reproduction.
pub fn render(report: &RunReport) -> String {
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
    let _ = writeln!(out, "| class | checks |\n|---|---|");
    for (class, n) in report.counts() {
        let _ = writeln!(out, "| {class} | {n} |");
    }
    for note in &report.notes {
        let _ = writeln!(out, "\n> {}", cell(note));
    }
    if !report.snapshots.is_empty() {
        let _ = writeln!(out, "\n## Snapshots\n");
        for s in &report.snapshots {
            let _ = writeln!(out, "- {:?}: `{}` ({})", s.state, s.id, s.path);
        }
    }
    let findings: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.class, Class::Fail | Class::NonStrict | Class::Error))
        .collect();
    if !findings.is_empty() {
        let _ = writeln!(
            out,
            "\n## Findings\n\n| class | check | rule | expected | actual |\n|---|---|---|---|---|"
        );
        for c in &findings {
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
        for c in findings.iter().filter(|c| c.reproduction.is_some()) {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code>: {}</summary>\n\n```sh\n{}\n```\n</details>",
                c.id,
                cell(&c.reason),
                c.reproduction.as_deref().unwrap_or("")
            );
        }
    }
    let skipped = report.of_class(Class::Skipped);
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n## Skipped\n");
        for c in skipped {
            let _ = writeln!(out, "- `{}` ({}): {}", c.id, c.rule, cell(&c.reason));
        }
    }
    out
}
