//! `amp-conformance serve` as a process: it prints `listening on http://…` once ready (the
//! tests read its stdout line by line, never sleep), answers over loopback, exits 0 on SIGTERM
//! and SIGINT, refuses to start (exit 2) without `AMP_API_ID`, with a malformed `--services`
//! file (naming file and line) or on a taken port, and never logs an `API_ID`, valid or not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_amp-conformance");
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");
const API_PATH: &str = "/modules/addons/abusemanagerpro/includes/api.php";
/// A key distinctive enough that finding it in the output cannot be a coincidence.
const SECRET: &str = "s3cret-Key-9f4c2e71";
/// A wrong key a client sends: no more printable than a right one.
const WRONG: &str = "wrong-Key-5d1a8b03";
/// Longest a process may take to start or to stop.
const BOUND: Duration = Duration::from_secs(60);

fn serve() -> Command {
    serve_on("127.0.0.1:0")
}

fn serve_on(listen: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .arg("--listen")
        .arg(listen)
        .env_remove("AMP_API_ID")
        .env("AMP_LOG", "trace")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A started server: its stdout so far, and its stderr collected in the background.
struct Running {
    child: Child,
    addr: SocketAddr,
    stdout: Vec<String>,
    stdout_rest: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
}

/// Starts the server and reads stdout until the `listening on` line (at most 20 lines).
fn start(mut command: Command) -> Running {
    let mut child = command.spawn().unwrap();
    let stderr = collect(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut addr = None;
    for _ in 0..20 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break; // the process ended without saying it listens
        }
        let line = line.trim_end().to_owned();
        if let Some(url) = line.strip_prefix("listening on http://") {
            addr = Some(url.parse::<SocketAddr>().unwrap());
        }
        lines.push(line);
        if addr.is_some() {
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!(
            "no `listening on` line; stdout {lines:?}; stderr {}",
            stderr.join().unwrap()
        );
    };
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0, "port 0 is replaced by the chosen port");
    Running {
        child,
        addr,
        stdout: lines,
        stdout_rest: collect(stdout),
        stderr,
    }
}

/// Waits for the process, at most [`BOUND`]; a process that does not end is killed and fails.
fn wait(mut child: Child) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(BOUND) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("the server did not exit within {BOUND:?}");
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// One HTTP/1.1 request over a plain socket; returns the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    api_id: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let auth = api_id.map_or(String::new(), |key| format!("API_ID: {key}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

fn stop(running: Running, signal_name: &str) -> (ExitStatus, String, String) {
    signal(&running.child, signal_name);
    let status = wait(running.child);
    let stdout = running.stdout.join("\n") + "\n" + &running.stdout_rest.join().unwrap();
    (status, stdout, running.stderr.join().unwrap())
}

#[test]
fn serve_answers_then_exits_0_on_sigterm_and_never_logs_api_id() {
    let mut command = serve();
    command
        .env("AMP_API_ID", format!("other-id,{SECRET}"))
        .arg("--services")
        .arg(SERVICES);
    let running = start(command);
    assert!(running.stdout[0].starts_with("listening on http://127.0.0.1:"));

    let addr = running.addr;
    let (status, body) = http(
        addr,
        "POST",
        API_PATH,
        Some(SECRET),
        "action=create&service_id=2&category=Spam",
    );
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "success", "report_id": 1})
    );
    let (status, body) = http(
        addr,
        "POST",
        API_PATH,
        Some(WRONG),
        "action=create&service_id=2&category=Spam",
    );
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (200, Some("AMP001"))
    );
    let (status, body) = http(
        addr,
        "POST",
        API_PATH,
        Some(SECRET),
        "action=create&service_id=9&category=Spam",
    );
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (200, Some("AMP003"))
    );
    let (status, body) = http(addr, "GET", "/_amp/reports/1", Some(SECRET), "");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["service_ip"], "2001:db8::10");
    let (status, _) = http(addr, "GET", "/_amp/reports/1", Some(WRONG), "");
    assert_eq!(status, 401);
    let (status, _) = http(addr, "GET", "/elsewhere", Some(SECRET), "");
    assert_eq!(status, 404);
    // A client that puts its identifier in the query string by mistake: not logged either.
    let misplaced = format!("{API_PATH}?API_ID={SECRET}&api_id={WRONG}");
    let (status, body) = http(addr, "POST", &misplaced, None, "action=create");
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (200, Some("AMP001"))
    );

    let (exit, stdout, stderr) = stop(running, "TERM");
    assert_eq!(exit.code(), Some(0), "graceful exit; stderr: {stderr}");
    assert!(
        stdout.contains(&format!("endpoint http://{addr}{API_PATH}")),
        "{stdout}"
    );
    // Requests are logged (at trace level, everything is), never with the identifier.
    assert!(
        stderr.contains("report created"),
        "request logging: {stderr}"
    );
    for key in [SECRET, WRONG, "other-id"] {
        assert!(!stderr.contains(key), "stderr shows an API_ID: {stderr}");
        assert!(!stdout.contains(key), "stdout shows an API_ID: {stdout}");
    }
}

#[test]
fn serve_exits_0_on_sigint_with_built_in_registry() {
    // From a directory without fixtures/, the built-in copy of the registry is used.
    let mut command = serve();
    command
        .env("AMP_API_ID", SECRET)
        .current_dir(std::env::temp_dir());
    let running = start(command);
    let (status, body) = http(
        running.addr,
        "POST",
        API_PATH,
        Some(SECRET),
        "action=create&service_id=3&category=Spam",
    );
    assert_eq!(
        (status, json(&body)["status"].as_str()),
        (200, Some("success"))
    );
    let (exit, _, stderr) = stop(running, "INT");
    assert_eq!(exit.code(), Some(0), "{stderr}");
}

fn refused(command: &mut Command) -> String {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout {stdout}; stderr {stderr}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");
    stderr
}

#[test]
fn serve_without_amp_api_id_exits_2_saying_how_to_set_it() {
    let stderr = refused(&mut serve());
    assert!(stderr.contains("AMP_API_ID"), "{stderr}");
    // Blank identifiers are none.
    let stderr = refused(serve().env("AMP_API_ID", " , ,"));
    assert!(stderr.contains("AMP_API_ID"), "{stderr}");
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("amp-serve-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn serve_with_malformed_services_exits_2_naming_file_and_line() {
    let cases = [
        (
            "bad-ip.toml",
            "[[service]]\nid = 1\n\n[[service]]\nid = 2\ndedicated_ip = \"203.0.113.300\"\n",
            6,
        ),
        ("bad-toml.toml", "# registry\n[[service]]\nid = = 1\n", 3),
        ("dup.toml", "[[service]]\nid = 1\n[[service]]\nid = 1\n", 3),
    ];
    for (name, text, line) in cases {
        let path = temp_file(name, text);
        let stderr = refused(
            serve()
                .env("AMP_API_ID", SECRET)
                .arg("--services")
                .arg(&path),
        );
        let _ = std::fs::remove_file(&path);
        let place = format!("{}:{line}:", path.display());
        assert!(
            stderr.contains(&place),
            "{name}: expected {place} in {stderr}"
        );
        assert!(!stderr.contains(SECRET), "{stderr}");
    }
    let missing = std::env::temp_dir().join("amp-serve-cli-no-such-file.toml");
    let stderr = refused(
        serve()
            .env("AMP_API_ID", SECRET)
            .arg("--services")
            .arg(&missing),
    );
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}

#[test]
fn serve_on_a_taken_port_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let stderr = refused(
        serve_on(&addr.to_string())
            .env("AMP_API_ID", SECRET)
            .args(["--services", SERVICES]),
    );
    assert!(stderr.contains(&addr.to_string()), "{stderr}");
}

#[test]
fn serve_handles_a_signal_sent_as_soon_as_it_is_ready() {
    // The readiness line is printed only once the handlers are installed: a signal sent at
    // once still ends the process gracefully (exit 0), never by the default action.
    for (round, name) in ["TERM", "INT"].iter().cycle().take(10).enumerate() {
        let mut command = serve();
        command
            .env("AMP_API_ID", SECRET)
            .arg("--services")
            .arg(SERVICES);
        let running = start(command);
        let (exit, _, stderr) = stop(running, name);
        assert_eq!(exit.code(), Some(0), "round {round}, SIG{name}: {stderr}");
    }
}

/// Waits until the server closes `stream` (end of stream or reset); returns the bytes it sent.
fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("not closed within {BOUND:?}")
            }
            Err(_) => return received, // reset
        }
    }
}

#[test]
fn serve_connection_flags_close_idle_connections_and_make_room_over_the_cap() {
    let mut command = serve();
    command
        .env("AMP_API_ID", SECRET)
        .args(["--services", SERVICES])
        .args([
            "--idle-timeout",
            "1",
            "--header-timeout",
            "1",
            "--max-connections",
            "4",
        ]);
    let running = start(command);
    let addr = running.addr;
    // Ten silent connections, then a client: served; the seven oldest were closed for it.
    let started = std::time::Instant::now();
    let mut silent: Vec<TcpStream> = (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let (status, body) = http(addr, "POST", API_PATH, Some(SECRET), "action=create");
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (200, Some("AMP003"))
    );
    for stream in &mut silent {
        assert!(until_closed(stream).is_empty());
    }
    // The other three were closed by the idle timeout (1 s).
    assert!(started.elapsed() >= Duration::from_secs(1));
    // A slow head is closed after the header timeout, unanswered.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nX-Slow: a").unwrap();
    let started = std::time::Instant::now();
    assert!(until_closed(&mut slow).is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
    let (exit, _, stderr) = stop(running, "TERM");
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stderr.contains("max_connections=4"), "{stderr}");
    assert!(!stderr.contains(SECRET));
}

#[test]
fn serve_default_cap_stays_below_the_open_file_limit() {
    // With the open-file limit at 128 the default cap is 64: 300 silent connections (each a
    // descriptor, were it accepted) do not keep a new client out.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--services", SERVICES])
        .env("AMP_API_ID", SECRET)
        .env("AMP_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let running = start(command);
    let addr = running.addr;
    let silent: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let (status, body) = http(
        addr,
        "POST",
        API_PATH,
        Some(SECRET),
        "action=create&service_id=2&category=Spam",
    );
    assert_eq!(
        (status, json(&body)["status"].as_str()),
        (200, Some("success"))
    );
    drop(silent);
    let (exit, _, stderr) = stop(running, "TERM");
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stderr.contains("max_connections=64"), "{stderr}");
}
