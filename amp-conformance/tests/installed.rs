//! The binary on its own, as `cargo install` leaves it: copied into an empty directory and run
//! from there, with no environment but `PATH`. The default run, `list`, `openapi` and `serve`
//! need no files (the fixture cases and the services are built in); `--fixtures DIR` adds the
//! user's own cases, `--no-builtin-cases` keeps only those, and a malformed or clashing user
//! file is exit 2 naming the file. Nothing is written into the working directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use amp_conformance::cases::fixtures;

/// Held while a binary is copied and while a process is spawned: a process forked while
/// another thread still has the fresh copy open for writing would make its exec fail with
/// "Text file busy" (ETXTBSY).
static EXEC_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Spawns `command` under [`EXEC_LOCK`] (spawn returns once the child has exec'd).
fn spawn(command: &mut Command) -> std::process::Child {
    let _guard = EXEC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    command.spawn().unwrap()
}

/// `command`'s output, spawned under [`EXEC_LOCK`].
fn output(command: &mut Command) -> Output {
    spawn(command.stdout(Stdio::piped()).stderr(Stdio::piped()))
        .wait_with_output()
        .unwrap()
}

/// An empty directory holding only a copy of the binary; removed when dropped.
struct Installed {
    dir: PathBuf,
}

impl Installed {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "amp-installed-{name}-{}-{:08x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            let _guard = EXEC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            std::fs::copy(
                env!("CARGO_BIN_EXE_amp-conformance"),
                dir.join("amp-conformance"),
            )
            .unwrap();
        }
        Self { dir }
    }

    /// `./amp-conformance ARGS` from the directory, with `PATH` as the only variable.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.dir.join("amp-conformance"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = output(&mut self.command(args));
        (
            status.code(),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    /// A directory of user cases beside the binary, with one file.
    fn cases(&self, dir: &str, file: &str, text: &str) -> String {
        let path = self.dir.join(dir);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join(file), text).unwrap();
        dir.to_owned()
    }

    /// Names in the directory besides the binary and the given user directories.
    fn extra_entries(&self, known: &[&str]) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "amp-conformance" && !known.contains(&n.as_str()))
            .collect()
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn builtin_ids() -> Vec<String> {
    fixtures::load_builtin()
        .expect("built-in cases")
        .into_iter()
        .map(|c| c.id)
        .collect()
}

const USER_CASE: &str = r#"# A user's own case, in the format of fixtures/cases.
[[case]]
id = "no-key-plain-text"
rules = ["D-AUTH"]
title = "my case: no API_ID, whatever the body"
auth = "missing"
form = [["action", "create"], ["category", "Spam"]]
expect = { outcome = "error", code = "AMP001" }
"#;

#[test]
fn default_run_list_and_openapi_need_no_files() {
    let installed = Installed::new("default");
    let (code, stdout, stderr) = installed.run(&["--seed", "20261127"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("=> PASS"), "{stdout}");
    // The fixture cases ran, named by the repository's files.
    let (code, json, stderr) = installed.run(&[
        "run", "--quiet", "--seed", "1", "--cases", "0", "--format", "json", "--output", "-",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let checks = report["checks"].as_array().unwrap();
    for id in builtin_ids() {
        assert!(
            checks.iter().any(|c| c["id"] == id.as_str()),
            "{id} did not run"
        );
    }
    assert!(
        checks.iter().any(|c| c["origin"]
            .as_str()
            .unwrap_or("")
            .starts_with("fixtures/cases/auth.toml:")),
        "{json}"
    );

    let (code, stdout, stderr) = installed.run(&["list"]);
    assert_eq!(code, Some(0), "{stderr}");
    for id in builtin_ids() {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{id} "))),
            "{id} not listed:\n{stdout}"
        );
    }

    let (code, stdout, stderr) = installed.run(&["openapi"]);
    assert_eq!(code, Some(0), "{stderr}");
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    // No snapshot baseline, no `fixtures/` directory: nothing was written here.
    assert_eq!(installed.extra_entries(&[]), Vec::<String>::new());
}

#[test]
fn fixtures_dir_adds_or_replaces_the_builtin_cases() {
    let installed = Installed::new("user-cases");
    let mine = installed.cases("mine", "extra.toml", USER_CASE);

    let (code, stdout, stderr) = installed.run(&["list", "--fixtures", &mine]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("extra/no-key-plain-text"), "{stdout}");
    assert!(stdout.contains(&builtin_ids()[0]), "{stdout}");

    let (code, json, stderr) = installed.run(&[
        "run",
        "--quiet",
        "--seed",
        "1",
        "--cases",
        "0",
        "--fixtures",
        &mine,
        "--format",
        "json",
        "--output",
        "-",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let check = checks
        .iter()
        .find(|c| c["id"] == "extra/no-key-plain-text")
        .expect("the user's case ran");
    assert_eq!(check["class"], "PASS", "{check}");
    assert_eq!(check["origin"], "mine/extra.toml:2", "{check}");
    assert!(checks.len() > builtin_ids().len());

    // --no-builtin-cases: the user's cases only.
    let (code, stdout, stderr) = installed.run(&[
        "list",
        "--no-builtin-cases",
        "--fixtures",
        &mine,
        "--cases",
        "0",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("extra/no-key-plain-text"), "{stdout}");
    assert!(!stdout.contains(&builtin_ids()[0]), "{stdout}");
    let (code, _, stderr) = installed.run(&["list", "--no-builtin-cases"]);
    assert_eq!(
        code,
        Some(2),
        "--no-builtin-cases needs --fixtures: {stderr}"
    );
    assert!(stderr.contains("--fixtures"), "{stderr}");

    assert_eq!(installed.extra_entries(&["mine"]), Vec::<String>::new());
}

#[test]
fn a_bad_user_case_file_is_exit_2_naming_the_file() {
    let installed = Installed::new("bad-cases");
    let bad = installed.cases(
        "bad",
        "broken.toml",
        "[[case]]\nid = \"x\"\nrules = [\"D-AUTH\"]\ntitle = \"t\"\nauth = \"sometimes\"\n\
         expect = { outcome = \"info\" }\n",
    );
    for args in [
        &["list", "--fixtures", bad.as_str()][..],
        &["run", "--quiet", "--fixtures", bad.as_str()][..],
    ] {
        let (code, _, stderr) = installed.run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("bad/broken.toml:1:") && stderr.contains("auth `sometimes`"),
            "{stderr}"
        );
    }

    // A case id the built-in set already has: both places are named.
    let clash = builtin_ids()
        .into_iter()
        .find(|id| id.starts_with("auth/"))
        .unwrap();
    let name = clash.strip_prefix("auth/").unwrap();
    let dup = installed.cases(
        "dup",
        "auth.toml",
        &USER_CASE.replace("no-key-plain-text", name),
    );
    let (code, _, stderr) = installed.run(&["list", "--fixtures", &dup]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("dup/auth.toml:2: duplicate case id `{clash}`"))
            && stderr.contains("fixtures/cases/auth.toml:")
            && stderr.contains("--no-builtin-cases"),
        "{stderr}"
    );

    // A directory that does not exist.
    let (code, _, stderr) = installed.run(&["list", "--fixtures", "nowhere"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
}

#[test]
fn serve_starts_with_the_builtin_services() {
    let installed = Installed::new("serve");
    let mut child = installed.command(&["serve", "--listen", "127.0.0.1:0"]);
    child
        .env("AMP_API_ID", "installed-test-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut child);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    let mut lines = Vec::new();
    for _ in 0..20 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(url) = line.trim_end().strip_prefix("listening on http://") {
            addr = Some(url.parse::<SocketAddr>().unwrap());
            break;
        }
        lines.push(line);
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        let mut stderr = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
        panic!("no `listening on` line: {lines:?} {stderr}");
    };
    let body = "action=create&service_id=3&category=Spam";
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /modules/addons/abusemanagerpro/includes/api.php HTTP/1.1\r\nHost: x\r\n\
         API_ID: installed-test-key\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""status":"success""#), "{answer}");
    assert!(!Path::new(&installed.dir).join("fixtures").exists());
}

mod support;

/// `run --target` flags for a test server, as a user would type them.
fn target_args(server: &support::TestServer) -> Vec<String> {
    use amp_contract::envelope::DedicatedIp;
    let registry = support::registry();
    let mut args = vec![
        "run".to_owned(),
        "--quiet".to_owned(),
        "--seed".to_owned(),
        "7".to_owned(),
        "--cases".to_owned(),
        "20".to_owned(),
        "--target".to_owned(),
        server.endpoint.clone(),
        "--allow-writes".to_owned(),
        "--allow-suspend".to_owned(),
        "--max-writes".to_owned(),
        "500".to_owned(),
        "--observe-url".to_owned(),
        server.observe.clone(),
        "--missing-service-id".to_owned(),
        registry.missing_id().to_string(),
    ];
    for (id, ip) in registry.iter() {
        args.push("--service".to_owned());
        args.push(match ip {
            DedicatedIp::Address(ip) => format!("{id}={ip}"),
            DedicatedIp::None => format!("{id}=none"),
        });
    }
    args
}

/// A run of the copied binary against a correct server that is not the reference: the first
/// run records the baseline (in `amp-baseline/http_localhost_<port>/writes`: the endpoint's
/// own) and passes, the second compares and passes, another endpoint gets its own baseline,
/// and a server whose answers changed fails with a diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_gets_a_baseline_on_its_first_run_and_a_diff_when_it_changes() {
    let installed = Installed::new("baseline");
    let run = |server: &support::TestServer, extra: Vec<String>| {
        let mut args = target_args(server);
        args.extend(extra);
        let mut command = installed.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        command.env("AMP_API_ID", support::KEY);
        async move {
            let output = tokio::task::spawn_blocking(move || output(&mut command))
                .await
                .unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned()
                    + &String::from_utf8_lossy(&output.stderr),
            )
        }
    };
    let server = support::spawn(support::Mutant::Different).await;
    let label = amp_conformance::snapshot::endpoint_label(&server.endpoint);
    let dir = format!("amp-baseline/{label}/writes");
    let (code, out) = run(&server, Vec::new()).await;
    assert_eq!(code, Some(0), "first run: {out}");
    assert!(out.contains(&format!("as the baseline in {dir}")), "{out}");
    let baseline = installed.dir.join(&dir);
    let recorded = std::fs::read_dir(&baseline).unwrap().count();
    assert!(recorded > 20, "{recorded} files in {}", baseline.display());

    let (code, out) = run(&server, Vec::new()).await;
    assert_eq!(code, Some(0), "second run: {out}");
    assert!(!out.contains("baseline"), "{out}");

    // Another server on another port, with other answers: another endpoint, its own
    // baseline; compared with the first one's, its changed answers fail.
    drop(server);
    let changed = support::spawn(support::Mutant::AcceptsSuspend).await;
    let (code, out) = run(&changed, Vec::new()).await;
    assert_eq!(code, Some(0), "another endpoint, recorded: {out}");
    let (code, out) = run(&changed, vec!["--snapshots".to_owned(), dir.clone()]).await;
    assert_eq!(code, Some(1), "changed answers: {out}");
    assert!(
        out.contains("CHANGED") && out.contains("values/suspend-page-example"),
        "{out}"
    );
    assert!(
        out.contains("+     \"status\": \"success\""),
        "a diff: {out}"
    );
    assert!(out.contains("--update-snapshots"), "{out}");
    assert_eq!(
        installed.extra_entries(&["amp-baseline"]),
        Vec::<String>::new()
    );
}
