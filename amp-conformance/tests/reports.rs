//! The rendered reports of a few typed runs, pinned (as garde pins its error reports): the
//! terminal, Markdown, JUnit and JSON reports of runs against test servers with known
//! deviations. A change of wording shows here as a reviewed snapshot diff; a finding's name
//! does not change with wording at all (`report::findings` pins those per deviation kind).
//!
//! What varies from run to run is normalised before the snapshot: the server's port, the run
//! id, timings. Update with `INSTA_UPDATE=always cargo test -p amp-conformance --test reports`
//! (or `cargo insta review`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use amp_conformance::cases::fixtures::FixtureSource;
use amp_conformance::report::{Format, RunReport, terminal};
use amp_conformance::runner::run;
use support::{Mutant, config_for, spawn};

/// A run of the built-in fixtures only, one request at a time (so that the id checks' pairs
/// do not depend on timing), against a server with `mutant`'s deviation.
async fn typed_run(mutant: Mutant) -> (RunReport, String) {
    let server = spawn(mutant).await;
    let mut config = config_for(&server, 5);
    config.cases = 0;
    config.concurrency = 1;
    config.progress = false;
    config.fixtures = FixtureSource::builtin();
    let mut report = run(config).await.expect("run");
    report.seconds = 0.0;
    for check in report.checks.iter_mut() {
        check.elapsed_ms = None;
    }
    let origin = server
        .endpoint
        .split("/modules")
        .next()
        .expect("origin")
        .to_owned();
    (report, origin)
}

/// The text with what varies from run to run replaced: the origin, the run id (also as the
/// hex a reproduction of a large body spells it in), and, in JSON, the bodies of the oversize
/// cases (a megabyte each), shortened to their length.
fn normalised(text: &str, report: &RunReport, origin: &str) -> String {
    let hex: String = report.run_id.bytes().map(|b| format!("{b:02x}")).collect();
    let text = text
        .replace(origin, "http://127.0.0.1:PORT")
        .replace(&report.run_id, "RUN-ID")
        .replace(&hex, "RUN-ID-HEX");
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut json) => {
            shorten(&mut json);
            serde_json::to_string_pretty(&json).expect("json")
        }
        Err(_) => text,
    }
}

fn shorten(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.len() > 2000 => {
            *s = format!("<{} bytes>", s.len());
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(shorten),
        serde_json::Value::Object(map) => map.values_mut().for_each(shorten),
        _ => {}
    }
}

fn terminal_text(report: &RunReport) -> String {
    let mut out = Vec::new();
    terminal::write(report, &mut out, false, false).expect("write");
    String::from_utf8(out).expect("utf-8")
}

/// A correct implementation with other incidental choices than the reference: nothing but
/// PASS, and the D-DEFAULTS reads through its observer.
#[tokio::test]
async fn a_correct_other_implementation() {
    let (report, origin) = typed_run(Mutant::Different).await;
    assert!(report.passed);
    insta::assert_snapshot!(
        "different_terminal",
        normalised(&terminal_text(&report), &report, &origin)
    );
    insta::assert_snapshot!(
        "different_markdown",
        normalised(&Format::Markdown.render(&report), &report, &origin)
    );
}

/// AMP009 where AMP003 is due: NON-STRICT under D-REQUIRED's noted exception, in every
/// format, JUnit and JSON included.
#[tokio::test]
async fn amp009_in_every_format() {
    let (report, origin) = typed_run(Mutant::Amp009).await;
    for format in [Format::Markdown, Format::Junit, Format::Json] {
        let name = format!("amp009_{format:?}").to_lowercase();
        insta::assert_snapshot!(name, normalised(&format.render(&report), &report, &origin));
    }
    insta::assert_snapshot!(
        "amp009_terminal",
        normalised(&terminal_text(&report), &report, &origin)
    );
}

/// Customer text stored in the admin field and the reverse: FAIL under D-DEFAULTS, with the
/// stored values that differ.
#[tokio::test]
async fn swapped_notes_fail_d_defaults() {
    let (report, origin) = typed_run(Mutant::SwapsNotes).await;
    assert!(!report.passed);
    insta::assert_snapshot!(
        "swapped_notes_terminal",
        normalised(&terminal_text(&report), &report, &origin)
    );
    insta::assert_snapshot!(
        "swapped_notes_markdown",
        normalised(&Format::Markdown.render(&report), &report, &origin)
    );
}

/// Every error answered with HTTP 400: one R-STATUS finding, not a hundred checks.
#[tokio::test]
async fn errors_as_http_400_are_one_finding() {
    let (report, origin) = typed_run(Mutant::ErrorsHttp400).await;
    insta::assert_snapshot!(
        "errors_http_400_terminal",
        normalised(&terminal_text(&report), &report, &origin)
    );
}
