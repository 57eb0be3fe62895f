//! Safety toward real targets (CONTRACT.md §6), seen from the server's side: `--dry-run` sends
//! nothing, `--max-writes` caps the creates and spends them on D-SUCCESS first, no suspension
//! without `--allow-suspend`, the purge marker on every request, `--rate` spaces requests, each
//! run diagnostic is said once, and the snapshot flow (new → accepted → matched → changed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp_conformance::judge::Class;
use amp_conformance::runner::run;
use raw::{RawRequest, RawServer, bin, reply, response, spawn, text};
use tokio::net::TcpStream;

const KEY: &str = "safety-key-31c7e0a2";

/// A correct AMP server (the contract's envelope) that records the requests that created a
/// report; with `changed` set, every AMP003 description gains a suffix.
struct Amp {
    server: RawServer,
    created: Arc<Mutex<Vec<RawRequest>>>,
    changed: Arc<AtomicBool>,
}

async fn amp() -> Amp {
    let created = Arc::new(Mutex::new(Vec::new()));
    let changed = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(AtomicU64::new(0));
    let (c, ch) = (Arc::clone(&created), Arc::clone(&changed));
    let server = spawn(move |stream: TcpStream, request: RawRequest| {
        let (created, changed, ids) = (Arc::clone(&c), Arc::clone(&ch), Arc::clone(&ids));
        async move {
            let (status, mut body, create) = raw::amp_answer(&request, KEY, &ids);
            if create {
                created.lock().unwrap().push(request);
            } else if changed.load(Ordering::SeqCst) && body.contains("AMP003") {
                body = body.replace("\"}", " (changed)\"}");
            }
            let status = match status {
                200 => "200 OK".to_owned(),
                413 => "413 Payload Too Large".to_owned(),
                other => format!("{other} Other"),
            };
            let answer = response(
                &status,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            );
            reply(stream, answer).await
        }
    })
    .await;
    Amp {
        server,
        created,
        changed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_curl_commands_and_sends_nothing() {
    let amp = amp().await;
    let output = bin()
        .args(["run", "--dry-run", "--target", &amp.server.endpoint()])
        .args([
            "--allow-writes",
            "--service",
            "1=192.0.2.10",
            "--service",
            "2=none",
        ])
        .args(["--missing-service-id", "999", "--cases", "8"])
        .env("AMP_API_ID", KEY)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("# dry run: nothing is sent"), "{stdout}");
    let curls: Vec<&str> = stdout.lines().filter(|l| l.starts_with("curl ")).collect();
    assert!(curls.len() > 20, "{stdout}");
    assert!(
        curls
            .iter()
            .any(|c| c.contains(r#"-H "API_ID: $AMP_API_ID""#)),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    assert_eq!(amp.server.count(), 0, "a dry run sent requests");

    // An unreachable target: the plan is still printed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let output = bin()
        .args(["run", "--dry-run", "--target"])
        .arg(format!("http://{addr}{}", raw::API))
        .args(["--missing-service-id", "999", "--cases", "0"])
        .env("AMP_API_ID", KEY)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.lines().filter(|l| l.starts_with("curl ")).count() > 20);
    assert!(stdout.contains("SKIPPED") && stdout.contains("--allow-writes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_writes_caps_the_creates_and_spends_them_on_d_success_first() {
    let amp = amp().await;
    let mut config = raw::config(&amp.server.endpoint(), KEY);
    config.allow_writes = true;
    config.max_writes = Some(3);
    let report = run(config).await.unwrap();
    let creates = amp.created.lock().unwrap().len();
    assert!(creates <= 3, "{creates} creates with --max-writes 3");
    let over: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Skipped && c.reason.contains("--max-writes 3"))
        .collect();
    assert!(over.len() > 5, "{:#?}", report.checks);
    // The budget goes to a plain D-SUCCESS create first, then to creates that add rules.
    let sent: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Pass && c.expected.starts_with("success"))
        .collect();
    assert!(
        sent.iter()
            .any(|c| c.rule == amp_contract::rules::Rule::DSuccess && c.id == "success/minimal"),
        "D-SUCCESS is sent first: {sent:#?}"
    );
    assert!(creates >= sent.len(), "{creates}");
}

fn is_suspending(request: &RawRequest) -> bool {
    request
        .param("suspend_method")
        .is_some_and(|m| m.contains("immediate") || m.contains("timelimit"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_suspends_without_allow_suspend() {
    for allow_suspend in [false, true] {
        let amp = amp().await;
        let mut config = raw::config(&amp.server.endpoint(), KEY);
        config.allow_writes = true;
        config.allow_suspend = allow_suspend;
        config.cases = 40;
        let report = run(config).await.unwrap();
        let requests = amp.server.requests();
        let suspending = requests.iter().filter(|r| is_suspending(r)).count();
        if allow_suspend {
            assert!(
                suspending > 0,
                "the inspection sees suspensions when allowed"
            );
        } else {
            assert_eq!(suspending, 0, "a request suspends without --allow-suspend");
            assert!(
                report
                    .checks
                    .iter()
                    .any(|c| { c.class == Class::Skipped && c.reason.contains("--allow-suspend") })
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_the_marker_and_every_create_the_run_id() {
    let amp = amp().await;
    let mut config = raw::config(&amp.server.endpoint(), KEY);
    config.allow_writes = true;
    let report = run(config).await.unwrap();
    let run_id = &report.run_id;
    let requests = amp.server.requests();
    assert!(requests.len() > 40);
    for request in &requests {
        let marker = request.header("x-amp-conformance").unwrap_or("");
        assert!(
            marker.starts_with("amp-conformance/") && marker.ends_with(&format!("run={run_id}")),
            "{marker:?}"
        );
    }
    // Creates without the marker in admin_notes: only the fixtures and the coverage model's
    // packed creates whose admin_notes is under test (exact-bytes bodies get the marker
    // appended too).
    let fixtures =
        amp_conformance::cases::fixtures::load_dir(&raw::workspace().join("fixtures/cases"))
            .unwrap();
    let creates = || fixtures.iter().filter(|c| c.writes());
    // The coverage model's creates whose admin_notes carries a value class under test.
    let coverage =
        amp_conformance::cases::coverage::cases(amp_conformance::cases::coverage::CoverContext {
            allow_writes: true,
        });
    let under_test = creates().filter(|c| c.admin_notes_under_test).count()
        + coverage
            .iter()
            .filter(|c| c.writes() && c.admin_notes_under_test)
            .count();
    let note = format!("amp-conformance run {run_id}");
    let created = amp.created.lock().unwrap().clone();
    assert!(created.len() > 8);
    let unmarked: Vec<String> = created
        .iter()
        .filter(|r| r.param("admin_notes").as_deref() != Some(note.as_str()))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        unmarked.len() <= under_test,
        "{} creates without the marker, {under_test} fixtures test admin_notes: {unmarked:#?}",
        unmarked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_spaces_the_requests() {
    let dir = raw::temp_dir("rate-fixtures");
    let mut cases = String::new();
    for i in 0..10 {
        cases.push_str(&format!(
            "[[case]]\nid = \"missing-{i}\"\nrules = [\"D-AUTH\"]\ntitle = \"no API_ID, #{i}\"\n\
             auth = \"missing\"\nform = [[\"action\", \"create\"], [\"category\", \"c{i}\"]]\n\
             expect = {{ outcome = \"error\", code = \"AMP001\" }}\n\n"
        ));
    }
    std::fs::write(dir.join("rate.toml"), cases).unwrap();
    let amp = amp().await;
    let mut config = raw::config(&amp.server.endpoint(), KEY);
    config.fixtures = amp_conformance::cases::fixtures::FixtureSource::only(&dir);
    config.concurrency = 4;
    config.rate = Some(20.0);
    let report = run(config).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.passed, "{:#?}", report.checks);
    let times: Vec<_> = amp.server.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 10);
    let first = times.iter().min().unwrap();
    let last = times.iter().max().unwrap();
    let spread = last.duration_since(*first);
    // 10 requests at 20/s: 9 intervals of 50 ms.
    assert!(spread >= Duration::from_millis(400), "spread {spread:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp001_everywhere_is_diagnosed_once() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let body = raw::amp_error(amp_contract::ErrorCode::Unauthorized, "Unauthorized.");
        reply(stream, raw::json(&body)).await
    })
    .await;
    let mut config = raw::config(&server.endpoint(), KEY);
    config.cases = 10;
    let report = run(config).await.unwrap();
    let nginx = report
        .notes
        .iter()
        .filter(|n| n.contains("underscores_in_headers"))
        .count();
    assert_eq!(nginx, 1, "{:#?}", report.notes);
    // Said once, and no failing case shrunk for it: one cause, one note (and the line that
    // says what shrinking spared).
    let others: Vec<_> = report
        .notes
        .iter()
        .filter(|n| !n.contains("underscores_in_headers"))
        .collect();
    assert_eq!(others.len(), 1, "{:#?}", report.notes);
    assert!(
        others[0].starts_with("shrinking sent 0 extra requests")
            && others[0].contains("explained by a run-level cause"),
        "{others:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_html_path_is_diagnosed_once_naming_the_path() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        let page = "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n\
                    <body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n";
        let answer = response(
            "404 Not Found",
            &[("Content-Type", "text/html; charset=iso-8859-1")],
            page.as_bytes(),
        );
        reply(stream, answer).await
    })
    .await;
    let path = "/whmcs/modules/addons/abusemanagerpro/api.php";
    let mut config = raw::config(&format!("http://{}{path}", server.addr), KEY);
    config.cases = 10;
    let report = run(config).await.unwrap();
    // CONTRACT.md §4: a wrong path is a configuration error (exit code 2), found from the
    // first answers instead of a hundred FAIL blocks.
    assert!(
        report.misconfigured && !report.passed,
        "{:#?}",
        report.notes
    );
    let answered = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Fail)
        .count();
    assert!(
        answered <= 5 + 4,
        "{answered} answered: stop after the first five"
    );
    let notes = &report.notes;
    let not_found: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("HTTP 404 for the path"))
        .collect();
    assert_eq!(not_found.len(), 1, "{notes:#?}");
    assert!(not_found[0].contains(path), "{}", not_found[0]);
    let html: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("answered HTML"))
        .collect();
    assert_eq!(html.len(), 1, "{notes:#?}");
    assert!(html[0].contains("404 Not Found"), "{}", html[0]);
    let stop: Vec<_> = notes
        .iter()
        .filter(|n| n.starts_with("stopped after the first 5 answers: every one was HTTP 404"))
        .collect();
    assert_eq!(stop.len(), 1, "{notes:#?}");
    assert_eq!(notes.len(), 3, "{notes:#?}");
    // Each check says it in one line too.
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.class == Class::Fail)
            .all(|c| c
                .actual
                .starts_with("HTTP 404 HTML, not JSON: \"404 Not Found")),
        "{:#?}",
        report.checks
    );
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn snapshot_run(endpoint: &str, dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    snapshot_run_env(endpoint, dir, extra, None).await
}

async fn snapshot_run_env(
    endpoint: &str,
    dir: &Path,
    extra: &[&str],
    ci: Option<&str>,
) -> (Option<i32>, String) {
    let mut command = bin();
    command
        .args(["run", "--quiet", "--target", endpoint])
        .args(["--missing-service-id", "999", "--cases", "0", "--snapshots"])
        .arg(dir)
        .args(extra)
        .env("AMP_API_ID", KEY)
        .env_remove("CI");
    if let Some(ci) = ci {
        command.env("CI", ci);
    }
    let output = command.output().await.unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), format!("{stdout}\n{stderr}"))
}

/// Whether `cargo insta` is installed (CI may not have it).
fn cargo_insta() -> Option<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(&cargo)
        .args(["insta", "--version"])
        .output()
        .ok()?;
    output.status.success().then_some(cargo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_recorded_then_matched_then_changed_then_accepted() {
    let amp = amp().await;
    let endpoint = amp.server.endpoint();
    let root = raw::temp_dir("snapshots");
    let dir = root.join("snaps");

    // 1. No baseline yet: the first run records it, passes, and says where and to commit it.
    let (code, out) = snapshot_run(&endpoint, &dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("as the baseline in") && out.contains("commit them"),
        "{out}"
    );
    let recorded = files_with(&dir, ".snap");
    assert!(recorded.len() > 20, "{recorded:?}");
    assert!(files_with(&dir, ".snap.new").is_empty());
    let sample = std::fs::read_to_string(&recorded[0]).unwrap();
    let rest = sample.strip_prefix("---\n").expect("front matter");
    let (front, body) = rest.split_once("\n---\n").expect("front matter end");
    assert!(front.contains("source: amp-conformance"), "{front}");
    assert!(front.contains("expression: "), "{front}");
    let value: serde_json::Value = serde_json::from_str(body).expect("the body is JSON");
    assert!(value["http_status"].is_u64(), "{body}");

    // 2. The same answers match: nothing to say.
    let (code, out) = snapshot_run(&endpoint, &dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("baseline"), "{out}");

    // 3. A changed answer fails, naming the check with a diff, and leaves `.snap.new` files.
    amp.changed.store(true, Ordering::SeqCst);
    let (code, out) = snapshot_run(&endpoint, &dir, &[]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("CHANGED") && out.contains("--update-snapshots"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("- "))
            && out.lines().any(|l| l.trim_start().starts_with("+ ")),
        "a diff of the two answers: {out}"
    );
    let changed = files_with(&dir, ".snap.new");
    assert!(
        !changed.is_empty() && changed.len() < recorded.len(),
        "{changed:?}"
    );

    // 3b. cargo-insta accepts the `.snap.new` files, and the kit reads its result as matching.
    match cargo_insta() {
        None => eprintln!("note: cargo-insta is not installed; `cargo insta accept` not checked"),
        Some(cargo) => {
            let copy = root.join("insta");
            std::fs::create_dir_all(&copy).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
            }
            let output = tokio::process::Command::new(cargo)
                .args(["insta", "accept", "--workspace-root"])
                .arg(&copy)
                .env_remove("CI")
                .output()
                .await
                .unwrap();
            let (stdout, stderr) = text(&output);
            assert!(output.status.success(), "{stdout}\n{stderr}");
            let (code, out) = snapshot_run(&endpoint, &copy, &[]).await;
            assert_eq!(code, Some(0), "snapshots accepted by cargo-insta: {out}");
        }
    }

    // 4. Under CI a change still fails, and nothing is written.
    for path in &changed {
        std::fs::remove_file(path).unwrap();
    }
    let (code, out) = snapshot_run_env(&endpoint, &dir, &[], Some("true")).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(files_with(&dir, ".snap.new").is_empty());

    // 5. --update-snapshots accepts the change, without Rust tools.
    let (code, out) = snapshot_run(&endpoint, &dir, &["--update-snapshots"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("changed answers accepted"), "{out}");
    let (code, out) = snapshot_run(&endpoint, &dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");

    // 6. A case new since the baseline (a kit upgrade) is recorded, not failed; under CI it is
    // reported and not written.
    std::fs::remove_file(&recorded[0]).unwrap();
    let (code, out) = snapshot_run_env(&endpoint, &dir, &[], Some("true")).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("were not recorded"), "{out}");
    assert!(!recorded[0].exists());
    let (code, out) = snapshot_run(&endpoint, &dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("recorded 1 answers"), "{out}");
    assert!(recorded[0].exists());
    let _ = std::fs::remove_dir_all(&root);
}

/// How a hostile front spoils every answer of a correct server.
#[derive(Clone, Copy)]
enum Spoil {
    /// None: the passing run to compare with.
    Nothing,
    /// A proxy drops the `API_ID` header: AMP001 to everything.
    DropsHeader,
    /// PHP that prints a byte-order mark before every answer: nothing parses as JSON.
    ByteOrderMark,
    /// AMP002 wherever AMP003 is due: a value-level bug that fails every invalid generated
    /// case, for the one-shrink-per-finding rule.
    Amp002ForAmp003,
}

/// Requests a read-only-free run (the embedded server's permissions) sends to a correct server
/// spoiled by `spoil`.
async fn requests_through(spoil: Spoil) -> (usize, Vec<String>) {
    let ids = Arc::new(AtomicU64::new(0));
    let server = spawn(move |stream: TcpStream, request: RawRequest| {
        let ids = Arc::clone(&ids);
        async move {
            let (status, body, _) = raw::amp_answer(&request, KEY, &ids);
            let body = match spoil {
                Spoil::Nothing => body,
                Spoil::DropsHeader => {
                    raw::amp_error(amp_contract::ErrorCode::Unauthorized, "Unauthorized.")
                }
                Spoil::ByteOrderMark => format!("\u{feff}{body}"),
                Spoil::Amp002ForAmp003 if body.contains("AMP003") => {
                    raw::amp_error(amp_contract::ErrorCode::InvalidAction, "Invalid request.")
                }
                Spoil::Amp002ForAmp003 => body,
            };
            let status = if status == 413 {
                "413 Too Large"
            } else {
                "200 OK"
            };
            let answer = response(
                status,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            );
            reply(stream, answer).await
        }
    })
    .await;
    let mut config = raw::config(&server.endpoint(), KEY);
    config.cases = 200;
    config.allow_writes = true;
    config.max_writes = Some(25);
    let report = run(config).await.unwrap();
    (server.count(), report.notes)
}

/// Issue 17: shrinking once per finding, never for a run-level cause, and at most a fifth of
/// the run's own requests: against a hostile target a run stays within twice a passing run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shrinking_keeps_a_hostile_run_within_twice_a_passing_one() {
    let (passing, _) = requests_through(Spoil::Nothing).await;
    for (spoil, name) in [
        (Spoil::DropsHeader, "a front that drops the header"),
        (
            Spoil::ByteOrderMark,
            "a byte-order mark before every answer",
        ),
        (Spoil::Amp002ForAmp003, "AMP002 for every AMP003"),
    ] {
        let (hostile, notes) = requests_through(spoil).await;
        eprintln!("{name}: {hostile} requests (a passing run: {passing})");
        assert!(
            hostile <= 2 * passing,
            "{name}: {hostile} requests, a passing run {passing}\n{notes:#?}"
        );
        let said = notes.iter().find(|n| n.starts_with("shrinking sent"));
        assert!(
            said.is_some(),
            "{name}: the output states the shrinking: {notes:#?}"
        );
    }
}

/// A front that drops header names with `_` (nginx by default; Apache for CGI/FastCGI) before
/// a correct server: the key sent as `API_ID` never arrives, as `API-ID` it does. `server` is
/// the front's `Server` header; the oversize body gets the front's own HTML 413.
async fn dropping_front(server: &'static str) -> RawServer {
    let ids = Arc::new(AtomicU64::new(0));
    spawn(move |stream: TcpStream, mut request: RawRequest| {
        let ids = Arc::clone(&ids);
        async move {
            if request.body.len() > amp_contract::envelope::BODY_LIMIT {
                let page = "<html><head><title>413 Request Entity Too Large</title></head></html>";
                let answer = response(
                    "413 Request Entity Too Large",
                    &[("Server", server), ("Content-Type", "text/html")],
                    page.as_bytes(),
                );
                return reply(stream, answer).await;
            }
            request.headers.retain(|(name, _)| !name.contains('_'));
            for (name, _) in &mut request.headers {
                if name.eq_ignore_ascii_case("api-id") {
                    // PHP behind CGI sees HTTP_API_ID for API-ID.
                    *name = "API_ID".to_owned();
                }
            }
            let (_, body, _) = raw::amp_answer(&request, KEY, &ids);
            let answer = response(
                "200 OK",
                &[("Server", server), ("Content-Type", "application/json")],
                body.as_bytes(),
            );
            reply(stream, answer).await
        }
    })
    .await
}

/// Issue 20: the header-drop diagnosis uses all the evidence (the hyphen proof, the hop's
/// `Server`), fires though the front answers some requests itself, and gives that hop's fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_header_is_diagnosed_with_the_hop_and_its_fix() {
    for (server, says, not) in [
        (
            "nginx/1.22.1",
            "underscores_in_headers on;",
            "SetEnvIfNoCase",
        ),
        (
            "Apache/2.4.62 (Debian)",
            "SetEnvIfNoCase",
            "underscores_in_headers",
        ),
    ] {
        let front = dropping_front(server).await;
        let mut config = raw::config(&front.endpoint(), KEY);
        config.cases = 10;
        let report = run(config).await.unwrap();
        let notes: Vec<_> = report
            .notes
            .iter()
            .filter(|n| n.starts_with("every authenticated request got AMP001"))
            .collect();
        assert_eq!(notes.len(), 1, "{server}: {:#?}", report.notes);
        let note = notes[0];
        assert!(note.contains("`API-ID` (hyphen) was accepted"), "{note}");
        assert!(note.contains(server) && note.contains(says), "{note}");
        assert!(!note.contains(not), "{note}");
    }
}

/// A JSON answer labelled text/html is JSON: no "answered HTML" note (issue 20).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_labelled_html_is_not_an_html_page() {
    let ids = Arc::new(AtomicU64::new(0));
    let server = spawn(move |stream: TcpStream, request: RawRequest| {
        let ids = Arc::clone(&ids);
        async move {
            let (_, body, _) = raw::amp_answer(&request, KEY, &ids);
            reply(
                stream,
                response(
                    "200 OK",
                    &[("Content-Type", "text/html; charset=UTF-8")],
                    body.as_bytes(),
                ),
            )
            .await
        }
    })
    .await;
    let mut config = raw::config(&server.endpoint(), KEY);
    config.cases = 10;
    let report = run(config).await.unwrap();
    assert!(
        !report.notes.iter().any(|n| n.contains("answered HTML")),
        "{:#?}",
        report.notes
    );
}

/// Issue 20: a run that never reached the API (every answer a redirect, a dropped key) records
/// no baseline, and says so, so that the fixed rerun is not failed by that run's answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_never_reached_the_api_records_no_baseline() {
    let redirect = spawn(|stream: TcpStream, _: RawRequest| async move {
        let answer = response(
            "301 Moved Permanently",
            &[("Location", "https://whmcs.example.invalid/api.php")],
            b"",
        );
        reply(stream, answer).await
    })
    .await;
    let dropped = spawn(|stream: TcpStream, _: RawRequest| async move {
        let body = raw::amp_error(amp_contract::ErrorCode::Unauthorized, "Unauthorized.");
        reply(stream, raw::json(&body)).await
    })
    .await;
    for (server, code) in [(&redirect, 2), (&dropped, 1)] {
        let dir = raw::temp_dir("no-baseline");
        let (got, out) = snapshot_run(&server.endpoint(), &dir, &[]).await;
        assert_eq!(got, Some(code), "{out}");
        assert!(
            files_with(&dir, ".snap").is_empty(),
            "a baseline from answers that are not the API's: {out}"
        );
        assert!(out.contains("neither compared nor extended"), "{out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// CONTRACT.md D-NO-5XX covers bodies of at most 1 MiB: a front's own 413 page for a larger
/// body (stock nginx, `client_max_body_size 1m`) is R-BODY's matter, NON-STRICT, never a FAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fronts_own_413_for_a_body_over_1_mib_is_not_a_d_no_5xx_failure() {
    let ids = Arc::new(AtomicU64::new(0));
    let server = spawn(move |stream: TcpStream, request: RawRequest| {
        let ids = Arc::clone(&ids);
        async move {
            if request.body.len() > amp_contract::envelope::BODY_LIMIT {
                let page = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n\
                            <body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n\
                            <hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
                let answer = response(
                    "413 Request Entity Too Large",
                    &[("Server", "nginx/1.22.1"), ("Content-Type", "text/html")],
                    page.as_bytes(),
                );
                return reply(stream, answer).await;
            }
            let (answer, _) = raw::amp_http_answer(&request, KEY, &ids);
            reply(stream, answer).await
        }
    })
    .await;
    let mut config = raw::config(&server.endpoint(), KEY);
    config.cases = 40;
    let report = run(config).await.unwrap();
    let oversize: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.id.contains("oversize"))
        .collect();
    assert!(
        oversize.len() >= 3,
        "fixtures and a generated oversize case: {oversize:#?}"
    );
    for check in &oversize {
        assert!(check.class != Class::Fail, "{check:#?}");
    }
    assert!(
        oversize
            .iter()
            .any(|c| c.class == Class::NonStrict && c.rule == amp_contract::rules::Rule::RBody),
        "{oversize:#?}"
    );
    assert!(
        !report
            .checks
            .iter()
            .any(|c| c.rule == amp_contract::rules::Rule::DNo5xx && c.class == Class::Fail),
        "no D-NO-5XX failure"
    );
    assert!(
        report.passed,
        "a correct server behind stock nginx passes: {:#?}",
        report.notes
    );
}

/// A deep run against a wrong `--target` (every answer a 404 here) ends once its first
/// answers show the cause: the cases left are neither sent nor planned, and the stop's note
/// counts every one of them (a million-case nightly used to plan each case only to skip it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_deep_run_plans_no_more_cases_and_counts_them_not_sent() {
    let server = spawn(|stream: TcpStream, _: RawRequest| async move {
        reply(stream, response("404 Not Found", &[], b"Not Found")).await
    })
    .await;
    let mut config = raw::config(&server.endpoint(), KEY);
    config.cases = 1_000_000;
    let report = run(config).await.unwrap();
    assert!(
        report.misconfigured && !report.passed,
        "{:#?}",
        report.notes
    );
    let stopped = report.stopped.as_deref().expect("the run stopped");
    let not_sent: usize = stopped
        .rsplit("; ")
        .next()
        .and_then(|tail| tail.strip_suffix(" cases were not sent"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of the cases not sent: {stopped}"));
    assert!(not_sent > 1_000_000 - 1_000, "{stopped}");
    // Only the batch under way when the answers showed the cause is in the report.
    assert!(report.cases < 1_000, "{} cases in the report", report.cases);
}
