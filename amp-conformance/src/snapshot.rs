//! Snapshots of the fixture cases' answers in insta's `.snap` format, written and compared by
//! the runner itself: insta's assertion macros panic on a mismatch, and a run must check every
//! case and count every mismatch. `cargo insta review --workspace-root DIR` reviews the
//! `.snap.new` files (the directory gets the stub package cargo-insta needs).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::target::{HttpAnswer, Secret};

/// What happened to one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// Equal to the recorded one.
    Matched,
    /// None was recorded.
    New,
    /// It differs from the recorded one.
    Changed,
    /// Written as the recorded one (`--update-snapshots`).
    Accepted,
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
}

/// A snapshot directory and how to treat differences.
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
    update: bool,
    write_new: bool,
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
    let mut body = serde_json::from_str::<Value>(&body_text).unwrap_or(Value::String(body_text));
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

fn front_matter(id: &str) -> String {
    format!("---\nsource: amp-conformance\nexpression: {id}\n---\n")
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
    /// Snapshots in `dir`; `update` accepts every new or changed one; `write_new` writes
    /// `.snap.new` files for review (off under CI).
    pub fn new(dir: impl Into<PathBuf>, update: bool, write_new: bool) -> Self {
        Self {
            dir: dir.into(),
            update,
            write_new,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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

    /// Compares (and, as configured, writes) the snapshot of one check.
    pub fn check(&self, id: &str, content: &str) -> std::io::Result<SnapshotOutcome> {
        let path = self.dir.join(file_name(id));
        let new_path = path.with_extension("snap.new");
        let recorded = std::fs::read_to_string(&path).ok();
        let state = match recorded.as_deref().and_then(recorded_body) {
            Some(body) if body == content.trim_end() => SnapshotState::Matched,
            Some(_) => SnapshotState::Changed,
            None => SnapshotState::New,
        };
        let file = format!("{}{content}\n", front_matter(id));
        match state {
            SnapshotState::Matched if new_path.exists() => std::fs::remove_file(&new_path)?,
            SnapshotState::Matched => {}
            _ if self.update => {
                self.ensure_dir()?;
                std::fs::write(&path, file)?;
                if new_path.exists() {
                    std::fs::remove_file(&new_path)?;
                }
                return Ok(SnapshotOutcome {
                    id: id.to_owned(),
                    state: SnapshotState::Accepted,
                    path: path.display().to_string(),
                });
            }
            _ if self.write_new => {
                self.ensure_dir()?;
                std::fs::write(&new_path, file)?;
            }
            _ => {}
        }
        Ok(SnapshotOutcome {
            id: id.to_owned(),
            state,
            path: path.display().to_string(),
        })
    }
}
