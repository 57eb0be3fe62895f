//! Every shell command of README.md, run exactly as written: each ```sh block goes to bash as
//! it stands, in an empty directory, with the installed binary on PATH and, where the README
//! names a server of yours, the reference server standing in for it (`serve` on the port the
//! README names, with the services it names). The variables the README asks you to set
//! (`AMP_URL`, `AMP_API_ID`, ...) are set as a user would. Blocks of `cargo` commands (install,
//! fuzzing) are not run here: `.ci/run` builds, installs and tests the workspace itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::path::Path;
use std::process::{Child, Command, Stdio};

const KEY: &str = "readme-stand-in-key";
/// The port the README's first example names.
const PORT: u16 = 8000;

/// The ```sh blocks of `text`, indentation removed.
fn shell_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut current {
            None if trimmed == "```sh" => current = Some((indent, Vec::new())),
            None => {}
            Some(_) if trimmed == "```" => {
                if let Some((_, lines)) = current.take() {
                    blocks.push(lines.join("\n"));
                }
            }
            Some((indent, lines)) => {
                lines.push(line.get(*indent..).unwrap_or(trimmed).to_owned());
            }
        }
    }
    blocks
}

/// The reference server standing in for "your server": killed on drop.
struct StandIn(Child);

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stand_in(dir: &Path) -> StandIn {
    let services = dir.join("services.toml");
    std::fs::write(
        &services,
        "[[service]]\nid = 42\ndedicated_ip = \"192.0.2.10\"\n\n[[service]]\nid = 43\n",
    )
    .unwrap();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", PORT)).is_ok(),
        "port {PORT}, which the README names, is taken: free it to run this test"
    );
    let child = Command::new(env!("CARGO_BIN_EXE_amp-conformance"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{PORT}"),
            "--services",
        ])
        .arg(&services)
        .env("AMP_API_ID", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = StandIn(child);
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the stand-in server did not start on port {PORT}");
}

#[test]
fn every_shell_command_in_the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(raw::workspace().join("README.md")).unwrap();
    let blocks: Vec<String> = shell_blocks(&readme)
        .into_iter()
        .filter(|b| {
            !b.lines().any(|l| {
                l.split_whitespace()
                    .any(|w| w == "cargo" || w.starts_with("RUSTC_"))
            })
        })
        .collect();
    assert!(
        blocks.len() >= 5,
        "{} blocks to run: {blocks:#?}",
        blocks.len()
    );

    let dir = raw::temp_dir("readme");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_amp-conformance"),
        bin.join("amp-conformance"),
    )
    .unwrap();
    // The user's own cases, which the fixture section's commands name.
    let cases = dir.join("work/my-cases");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::write(
        cases.join("mine.toml"),
        "[[case]]\nid = \"no-key\"\nrules = [\"D-AUTH\"]\ntitle = \"no API_ID\"\nauth = \"missing\"\n\
         form = [[\"action\", \"create\"]]\nexpect = { outcome = \"error\", code = \"AMP001\" }\n",
    )
    .unwrap();
    let _server = stand_in(&dir);
    let url = format!("http://127.0.0.1:{PORT}/modules/addons/abusemanagerpro/includes/api.php");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for block in blocks {
        // `status=$?` reads a failing status on purpose: such a block runs without errexit.
        let script = if block.contains("$?") {
            block.clone()
        } else {
            format!("set -e\n{block}")
        };
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.join("work"))
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &dir)
            .env("NO_COLOR", "1")
            .env("AMP_API_ID", KEY)
            .env("AMP_STAGING_KEY", KEY)
            .env("WHMCS_API_ID", KEY)
            .env("AMP_URL", &url)
            .env("AMP_STAGING_URL", &url)
            .env(
                "AMP_OBSERVE_URL",
                format!("http://127.0.0.1:{PORT}/_amp/reports/{{report_id}}"),
            )
            .output()
            .unwrap();
        let (out, err) = raw::text(&output);
        assert!(
            output.status.success(),
            "this README block failed ({}):\n{block}\n--- stdout\n{out}\n--- stderr\n{err}",
            output.status
        );
        // A block that ends by reading the status must have read 0.
        if block.contains("status=$?") {
            let check = Command::new("bash")
                .arg("-c")
                .arg(format!("{block}\nexit $status"))
                .current_dir(dir.join("work"))
                .env_clear()
                .env("PATH", &path)
                .env("AMP_STAGING_KEY", KEY)
                .env("AMP_STAGING_URL", &url)
                .status()
                .unwrap();
            assert!(check.success(), "{block}");
        }
    }
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}
