//! The baseline: the fixture cases' answers of one target, in insta's `.snap` format, written
//! and compared by the runner itself (insta's assertion macros panic on a mismatch, and a run
//! must check every case and count every mismatch).
//!
//! A baseline is the user's own record of their server. The first run against a target records
//! it and passes; later runs compare, and a changed answer fails the run with a diff, whatever
//! the layer of the rule behind it: a change is what the baseline exists to catch. A case that
//! is new since the baseline (a kit upgrade) is recorded, not failed. `--update-snapshots`
//! accepts changes; `cargo insta review --workspace-root DIR` reviews the `.snap.new` files
//! (the directory gets the stub package cargo-insta needs). Under `CI=true` nothing is written
//! unless `--update-snapshots` asks.
//!
//! A baseline belongs to one endpoint ([`endpoint_label`]: scheme, host, port and path), and
//! each snapshot remembers the class its check had when it was written (in the front matter,
//! which is not compared): a changed answer whose check failed then and passes now is an
//! improvement, reported and recorded, not a failure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::target::{HttpAnswer, Secret};

/// What happened to one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// Equal to the recorded one.
    Matched,
    /// None was recorded; it is now (a first run, or a case new since the baseline).
    Recorded,
    /// None was recorded, and nothing was written (under CI, or the directory is read-only).
    New,
    /// It differs from the recorded one: the run fails.
    Changed,
    /// Written as the recorded one (`--update-snapshots`).
    Accepted,
    /// It differs from the recorded one, whose check did not pass (FAIL, NON-STRICT or
    /// ERROR) while this one passes: a fix, reported and (outside CI) recorded, not a failure.
    Improved,
}

/// The directory name of an endpoint's baseline: what identifies the endpoint, its scheme,
/// host, port and path (the path only when it is not the API's usual one), so that two
/// servers on one host (a staging and a production WHMCS on two ports, or http and https) never
/// share a baseline. Every loopback address is `localhost`.
///
/// ```
/// use amp_conformance::snapshot::endpoint_label;
/// let api = "/modules/addons/abusemanagerpro/includes/api.php";
/// assert_eq!(endpoint_label(&format!("http://127.0.0.1:8123{api}")), "http_localhost_8123");
/// assert_eq!(endpoint_label(&format!("https://whmcs.example.com{api}")), "https_whmcs.example.com_443");
/// assert_eq!(endpoint_label("https://whmcs.example.com/custom/api.php"), "https_whmcs.example.com_443_custom_api.php");
/// ```
pub fn endpoint_label(endpoint: &str) -> String {
    let Ok(url) = url::Url::parse(endpoint) else {
        return "target".to_owned();
    };
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let host = crate::target::Target::host_label(endpoint);
    let port = url.port_or_known_default().unwrap_or(0);
    let mut label = format!("{}_{host}_{port}", safe(url.scheme()));
    let path = url.path();
    if path != crate::server::API_PATH && path != "/" && !path.is_empty() {
        label.push('_');
        label.push_str(safe(path.trim_matches('/')).trim_matches('_'));
    }
    label
}

/// Whether a check of this class passed, as the baseline remembers it.
fn passing(class: crate::judge::Class) -> bool {
    use crate::judge::Class;
    matches!(class, Class::Pass | Class::Info | Class::Skipped)
}

/// One snapshot's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotOutcome {
    /// The check id.
    pub id: String,
    /// What happened.
    pub state: SnapshotState,
    /// The `.snap` file.
    pub path: String,
    /// For a changed answer: the recorded and the new answer, line by line (`-` recorded,
    /// `+` now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A line diff of two answers: `-` for the recorded lines, `+` for the new ones, two lines of
/// context around each change.
pub fn diff(recorded: &str, now: &str) -> String {
    let diff = similar::TextDiff::from_lines(recorded, now);
    let mut out = String::new();
    for group in diff.grouped_ops(2) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let line = change.value().trim_end_matches('\n');
                // A hostile answer may be huge: each line is cut to what a terminal shows.
                let line: String = line.chars().take(200).collect();
                out.push(sign);
                out.push(' ');
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// A snapshot directory and how to treat differences.
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
    update: bool,
    write: bool,
}

/// The file name insta would give a snapshot named `id` (`/` becomes `__`).
pub fn file_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '#' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("amp__{}.snap", safe.replace('#', "_"))
}

/// The recorded content of an answer: HTTP status, media type and the JSON body with volatile
/// values redacted (`report_id`), every secret replaced first.
pub fn content(answer: &HttpAnswer, key: &Secret, run_id: &str) -> String {
    let body_text = key
        .redact(&String::from_utf8_lossy(&answer.body))
        .replace(run_id, "[run_id]");
    let mut body = if body_text.len() > SNAPSHOT_BODY_LIMIT {
        capped(&body_text)
    } else {
        serde_json::from_str::<Value>(&body_text).unwrap_or(Value::String(body_text))
    };
    if let Some(id) = body.get_mut("report_id") {
        *id = Value::String("[report_id]".to_owned());
    }
    let media = answer
        .content_type
        .as_deref()
        .map(|ct| key.redact(ct.split(';').next().unwrap_or("").trim()));
    let value =
        serde_json::json!({ "http_status": answer.status, "content_type": media, "body": body });
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    // The last guard: nothing that holds the key is ever written.
    key.redact(&text)
}

/// Largest answer body a snapshot stores whole; a longer one (a hostile or broken answer) is
/// stored as its first [`SNAPSHOT_PREFIX`] bytes and a SHA-256 digest of the whole, which still
/// tells a changed answer from the same one.
pub const SNAPSHOT_BODY_LIMIT: usize = 16 * 1024;

/// Bytes of a capped body kept in its snapshot.
pub const SNAPSHOT_PREFIX: usize = 1024;

/// What a snapshot stores of a body over [`SNAPSHOT_BODY_LIMIT`]: says so, with its size, its
/// digest and its beginning.
fn capped(body: &str) -> Value {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let mut cut = SNAPSHOT_PREFIX.min(body.len());
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({
        "capped": format!(
            "the answer's body is {} bytes, over the {SNAPSHOT_BODY_LIMIT}-byte snapshot limit: \
             its first {cut} bytes and its SHA-256 are kept",
            body.len()
        ),
        "bytes": body.len(),
        "sha256": hex,
        "prefix": &body[..cut],
    })
}

fn front_matter(id: &str, class: Option<crate::judge::Class>) -> String {
    // `info` is insta's free metadata: shown by `cargo insta review`, never compared.
    let info = class.map_or_else(String::new, |c| format!("info: {}\n", class_name(c)));
    format!("---\nsource: amp-conformance\nexpression: {id}\n{info}---\n")
}

fn class_name(class: crate::judge::Class) -> &'static str {
    use crate::judge::Class;
    match class {
        Class::Pass => "PASS",
        Class::Fail => "FAIL",
        Class::NonStrict => "NON-STRICT",
        Class::Info => "INFO",
        Class::Skipped => "SKIPPED",
        Class::Error => "ERROR",
    }
}

/// The class a snapshot file's front matter remembers (none in files written before it did).
fn recorded_class(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    rest[..end]
        .lines()
        .find_map(|l| l.strip_prefix("info: "))
        .map(str::trim)
}

/// The body of a `.snap` file (what follows the front matter).
fn recorded_body(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(rest[end + 5..].trim_end())
}

/// `package` stub that lets `cargo insta review --workspace-root DIR` work in a directory
/// outside any Cargo package.
const STUB_MANIFEST: &str = "# Lets `cargo insta review --workspace-root .` find these snapshots.\n\
[package]\nname = \"amp-snapshots\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
[lib]\npath = \"lib.rs\"\n\n[workspace]\n";

impl Snapshots {
    /// Snapshots in `dir`; `update` accepts every changed one; `write` records new ones and
    /// writes `.snap.new` files for review of changed ones (off under CI).
    pub fn new(dir: impl Into<PathBuf>, update: bool, write: bool) -> Self {
        Self {
            dir: dir.into(),
            update,
            write: write || update,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this run may write into the baseline (not under CI unless asked).
    pub fn writes(&self) -> bool {
        self.write
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let manifest = self.dir.join("Cargo.toml");
        if !manifest.exists() {
            std::fs::write(manifest, STUB_MANIFEST)?;
            std::fs::write(
                self.dir.join("lib.rs"),
                "//! Snapshot holder for cargo-insta.\n",
            )?;
        }
        Ok(())
    }

    /// Compares (and, as configured, writes) the snapshot of one check, whose class in this
    /// run is `class` (`None`: not known, a change is never an improvement).
    pub fn check(
        &self,
        id: &str,
        content: &str,
        class: Option<crate::judge::Class>,
    ) -> std::io::Result<SnapshotOutcome> {
        let path = self.dir.join(file_name(id));
        let new_path = path.with_extension("snap.new");
        let text = std::fs::read_to_string(&path).ok();
        let recorded = text.as_deref().and_then(recorded_body);
        let was_failing = text
            .as_deref()
            .and_then(recorded_class)
            .is_some_and(|c| matches!(c, "FAIL" | "NON-STRICT" | "ERROR"));
        let improved = was_failing && class.is_some_and(passing);
        let file = format!("{}{content}\n", front_matter(id, class));
        let outcome = |state, diff| SnapshotOutcome {
            id: id.to_owned(),
            state,
            path: path.display().to_string(),
            diff,
        };
        match recorded {
            Some(body) if body == content.trim_end() => {
                if new_path.exists() {
                    std::fs::remove_file(&new_path)?;
                }
                Ok(outcome(SnapshotState::Matched, None))
            }
            Some(body) => {
                let diff = Some(diff(body, content.trim_end()));
                if self.update {
                    self.ensure_dir()?;
                    std::fs::write(&path, file)?;
                    if new_path.exists() {
                        std::fs::remove_file(&new_path)?;
                    }
                    return Ok(outcome(SnapshotState::Accepted, diff));
                }
                if improved {
                    // A fix becomes the baseline (outside CI), so that a later return of the
                    // old answer is caught as the regression it is.
                    if self.write {
                        self.ensure_dir()?;
                        std::fs::write(&path, file)?;
                        if new_path.exists() {
                            std::fs::remove_file(&new_path)?;
                        }
                    }
                    return Ok(outcome(SnapshotState::Improved, diff));
                }
                if self.write {
                    self.ensure_dir()?;
                    std::fs::write(&new_path, file)?;
                }
                Ok(outcome(SnapshotState::Changed, diff))
            }
            None if self.write => {
                self.ensure_dir()?;
                std::fs::write(&path, file)?;
                Ok(outcome(SnapshotState::Recorded, None))
            }
            None => Ok(outcome(SnapshotState::New, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "amp-snapshot-unit-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn first_run_records_then_matches_then_a_change_fails_with_a_diff() {
        let dir = temp();
        let writing = Snapshots::new(&dir, false, true);
        let a = "{\n  \"code\": \"AMP003\"\n}";
        let b = "{\n  \"code\": \"AMP002\"\n}";
        assert_eq!(
            writing.check("x/one", a, None).unwrap().state,
            SnapshotState::Recorded
        );
        assert_eq!(
            writing.check("x/one", a, None).unwrap().state,
            SnapshotState::Matched
        );
        let changed = writing.check("x/one", b, None).unwrap();
        assert_eq!(changed.state, SnapshotState::Changed);
        let diff = changed.diff.unwrap();
        assert!(diff.contains("-   \"code\": \"AMP003\""), "{diff}");
        assert!(diff.contains("+   \"code\": \"AMP002\""), "{diff}");
        assert!(dir.join("amp__x_one.snap.new").exists());
        // Accepting makes the new answer the baseline.
        let update = Snapshots::new(&dir, true, false);
        assert_eq!(
            update.check("x/one", b, None).unwrap().state,
            SnapshotState::Accepted
        );
        assert_eq!(
            writing.check("x/one", b, None).unwrap().state,
            SnapshotState::Matched
        );
        assert!(!dir.join("amp__x_one.snap.new").exists());
    }

    #[test]
    fn a_fix_is_an_improvement_and_its_return_a_regression() {
        use crate::judge::Class;
        let dir = temp();
        let writing = Snapshots::new(&dir, false, true);
        let (broken, fixed) = (
            "{\n  \"code\": \"AMP002\"\n}",
            "{\n  \"code\": \"AMP003\"\n}",
        );
        let state = |content, class| writing.check("x/fix", content, Some(class)).unwrap().state;
        assert_eq!(state(broken, Class::Fail), SnapshotState::Recorded);
        assert_eq!(state(fixed, Class::Pass), SnapshotState::Improved);
        // The fix is the baseline now: it matches, and the old answer is a regression.
        assert_eq!(state(fixed, Class::Pass), SnapshotState::Matched);
        assert_eq!(state(broken, Class::Fail), SnapshotState::Changed);
        // Under CI an improvement is reported, and nothing is written.
        let other = temp();
        Snapshots::new(&other, false, true)
            .check("x/fix", broken, Some(Class::Fail))
            .unwrap();
        let ci = Snapshots::new(&other, false, false);
        for _ in 0..2 {
            assert_eq!(
                ci.check("x/fix", fixed, Some(Class::Pass)).unwrap().state,
                SnapshotState::Improved
            );
        }
        // A change between two passing answers is still a change.
        let third = temp();
        let w = Snapshots::new(&third, false, true);
        w.check("x/p", broken, Some(Class::Pass)).unwrap();
        assert_eq!(
            w.check("x/p", fixed, Some(Class::Pass)).unwrap().state,
            SnapshotState::Changed
        );
    }

    #[test]
    fn a_huge_body_is_capped_with_its_digest() {
        let answer = HttpAnswer {
            status: 200,
            content_type: Some("application/json".to_owned()),
            body: format!("{{\"x\":\"{}\"}}", "é".repeat(400_000)).into_bytes(),
            location: None,
            server: None,
            elapsed: std::time::Duration::ZERO,
        };
        let text = content(&answer, &Secret::new("k-e-y"), "run");
        assert!(text.len() < 4 * 1024, "{} bytes", text.len());
        assert!(
            text.contains("\"sha256\"") && text.contains("snapshot limit"),
            "{text}"
        );
        let mut other = answer.clone();
        other.body[10] = b'a';
        assert_ne!(content(&other, &Secret::new("k-e-y"), "run"), text);
    }

    #[test]
    fn under_ci_nothing_is_written() {
        let dir = temp().join("baseline");
        let ci = Snapshots::new(&dir, false, false);
        assert_eq!(
            ci.check("x/two", "{}", None).unwrap().state,
            SnapshotState::New
        );
        assert!(!dir.exists());
    }
}
