//! The coverage model against the PHP server (issue 19): a default run (`--max-writes 25`, an
//! observer) exercises every documented-valid cell and every cell a request reaches without
//! writes; and each transformation PHP add-on code applies between `$_POST` and the database
//! (`AMP_PHP_BUG`) is caught at that budget, on several seeds, in the class and rule
//! CONTRACT.md §4 gives it.

use amp_conformance::cases::coverage::ClassLayer;
use amp_conformance::report::coverage::CellState;

use super::*;

/// The seeds every switch is tried with.
const SEEDS: [u64; 3] = [1, 2, 3];

/// The run of a default `run --target … --allow-writes --service … --observe-url …`: 25
/// writes at most.
fn default_config(server: &PhpServer, seed: u64) -> RunConfig {
    let mut config = config_for(server);
    config.seed = Some(seed);
    config.cases = amp_conformance::config::DEFAULT_CASES;
    config.max_writes = Some(amp_conformance::config::DEFAULT_MAX_WRITES);
    config
}

#[tokio::test]
async fn default_run_exercises_every_documented_cell_and_every_read_only_cell() {
    if !php_ready() {
        return;
    }
    let server = PhpServer::start("");
    let report = checked_run(&server, default_config(&server, 1)).await;
    let mut expect = Expectations::new("coverage, writes", &report);
    let cells = &report.coverage.cells;
    expect.that(!cells.is_empty(), "the report carries the coverage", || {
        "no cells".to_owned()
    });
    let documented_not_stored: Vec<String> = cells
        .iter()
        .filter(|c| c.layer == ClassLayer::DocumentedValid && !c.cell.starts_with("request/"))
        .filter(|c| c.state != CellState::Stored)
        .map(|c| format!("{} {:?}", c.cell, c.state))
        .collect();
    expect.that(
        documented_not_stored.is_empty(),
        "every documented-valid value cell was sent in a create and read back",
        || documented_not_stored.join("\n"),
    );
    let unreached: Vec<String> = cells
        .iter()
        .filter(|c| !c.needs_write && matches!(c.state, CellState::Missed { .. }))
        .map(|c| format!("{} {:?}", c.cell, c.state))
        .collect();
    expect.that(
        unreached.is_empty(),
        "every cell a request reaches without writing was reached",
        || unreached.join("\n"),
    );
    let writes = report
        .checks
        .iter()
        .filter(|c| c.expected.starts_with("success") && c.class != Class::Skipped)
        .count();
    expect.that(
        writes <= amp_conformance::config::DEFAULT_MAX_WRITES,
        "at most 25 creates",
        || format!("{writes} creates"),
    );
    expect.check();
    drop(server);

    let server = PhpServer::start("");
    let mut config = default_config(&server, 2);
    config.allow_writes = false;
    config.allow_suspend = false;
    let report = checked_run(&server, config).await;
    let mut expect = Expectations::new("coverage, read-only", &report);
    let unreached: Vec<String> = report
        .coverage
        .cells
        .iter()
        .filter(|c| !c.needs_write && matches!(c.state, CellState::Missed { .. }))
        .map(|c| format!("{} {:?}", c.cell, c.state))
        .collect();
    // A suspending value is not sent without --allow-suspend, even to a missing service.
    let unreached: Vec<String> = unreached
        .into_iter()
        .filter(|c| !c.contains("--allow-suspend"))
        .collect();
    expect.that(
        unreached.is_empty(),
        "every cell a request reaches without writing was reached (read-only)",
        || unreached.join("\n"),
    );
    let created = report.read_only_creates.len();
    expect.that(created == 0, "a read-only run creates nothing", || {
        format!("{created} creates")
    });
    expect.check();
}

/// Runs `bug` at the default budget with each seed; `caught` must hold for some FAIL check of
/// the run under `rule`, on every seed.
async fn caught_on_every_seed(
    bug: &'static str,
    rule: &str,
    what: &'static str,
    caught: impl Fn(&CheckResult) -> bool,
) {
    if !php_ready() {
        return;
    }
    let rule: amp_contract::rules::Rule = rule.parse().expect("a rule id");
    let server = PhpServer::start(bug);
    for seed in SEEDS {
        let report = checked_run(&server, default_config(&server, seed)).await;
        let mut expect = Expectations::new(bug, &report);
        let found = matching(&report, |c| {
            c.class == Class::Fail && c.rule == rule && caught(c)
        });
        expect.that(!found.is_empty(), what, || {
            format!("seed {seed}: nothing\n{}", listing(&report))
        });
        expect.that(!report.passed, "the run fails", || listing(&report));
        expect.check();
    }
}

fn stored_cover(c: &CheckResult) -> bool {
    stored(c) && c.id.starts_with("cover/create/")
}

fn auth_probe(form: &'static str) -> impl Fn(&CheckResult) -> bool {
    move |c| c.id == format!("cover/form/{form}")
}

#[tokio::test]
async fn nl2br_is_fail_d_defaults() {
    caught_on_every_seed(
        "nl2br-info",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (a newline stored with <br />)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn ucfirst_is_fail_d_defaults() {
    caught_on_every_seed(
        "ucfirst-category",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (category capitalised)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn wordwrap_is_fail_d_defaults() {
    caught_on_every_seed(
        "wordwrap-info",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (a long word broken)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn strip_tags_is_fail_d_defaults() {
    caught_on_every_seed(
        "strip-tags-category",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (markup removed)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn addslashes_is_fail_d_defaults() {
    caught_on_every_seed(
        "addslashes-notes",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (quotes escaped)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn latin1_is_fail_d_defaults() {
    caught_on_every_seed(
        "latin1-text",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (non-Latin text stored as '?')",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn substr_bytes_is_fail_d_defaults() {
    caught_on_every_seed(
        "substr-bytes-category",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (255 characters cut at 255 bytes)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn bool_cast_is_fail_d_defaults() {
    caught_on_every_seed(
        "bool-cast",
        "D-DEFAULTS",
        "FAIL D-DEFAULTS on a packed create's stored values (`false` stored as true)",
        stored_cover,
    )
    .await;
}

#[tokio::test]
async fn key_strcasecmp_is_fail_d_auth() {
    caught_on_every_seed(
        "key-strcasecmp",
        "D-AUTH",
        "FAIL D-AUTH on the key in the other case",
        auth_probe("key-comparison/other-case"),
    )
    .await;
}

#[tokio::test]
async fn key_strpos_is_fail_d_auth() {
    caught_on_every_seed(
        "key-strpos",
        "D-AUTH",
        "FAIL D-AUTH on a prefix of the key",
        auth_probe("key-comparison/prefix"),
    )
    .await;
}

#[tokio::test]
async fn key_request_is_fail_d_auth() {
    caught_on_every_seed(
        "key-request",
        "D-AUTH",
        "FAIL D-AUTH on the key in the query string",
        auth_probe("key-place/query"),
    )
    .await;
}

/// A refused packed create is narrowed down by the read-only single-value probes to the value
/// at fault; a stored difference, to the field that differs.
#[tokio::test]
async fn failing_packed_creates_are_narrowed_to_the_cell_at_fault() {
    if !php_ready() {
        return;
    }
    for (bug, suspect, stored_check) in [
        ("zero-category", "category/zero", false),
        ("nl2br-info", "additional_info/newline", true),
    ] {
        let server = PhpServer::start(bug);
        let report = checked_run(&server, default_config(&server, 1)).await;
        let mut expect = Expectations::new(bug, &report);
        let narrowed = &report.coverage.narrowed;
        expect.that(
            narrowed
                .iter()
                .any(|n| n.check.ends_with("#stored") == stored_check && n.suspects == [suspect]),
            "a failing packed create narrowed to exactly the cell at fault",
            || format!("{narrowed:?}"),
        );
        expect.check();
    }
}
