//! Compiles the fixture cases into the binary, so that an installed or copied
//! `amp-conformance` needs no files: the human-edited `fixtures/cases/*.toml` of the
//! workspace stay the source, and this script lists them (in file-name order) as
//! `include_str!`s in `$OUT_DIR/builtin_cases.rs`, which `src/cases/fixtures.rs` includes.
//! Cargo reruns it when the directory changes, so a new, renamed or removed file is picked up.
//!
//! It reads `amp-conformance/fixtures/cases`, a symlink to the workspace's `fixtures/cases`:
//! `cargo package` copies what the link points to, so the published crate builds from its own
//! copy and the repository keeps one directory.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let relative = manifest.join("fixtures/cases");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={}", relative.display());
    let dir = relative.canonicalize().map_err(|e| {
        format!(
            "cannot read the fixture directory {}: {e} (the built-in cases are compiled from it)",
            relative.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "toml") || !path.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: a fixture file name must be UTF-8", path.display()))?
            .to_owned();
        let path = path
            .to_str()
            .ok_or_else(|| format!("{}: the path must be UTF-8", path.display()))?
            .to_owned();
        println!("cargo::rerun-if-changed={path}");
        files.push((name, path));
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.toml fixture files in {}", dir.display()).into());
    }
    let mut out = String::from(
        "/// The fixture files compiled in from `fixtures/cases`: (file name, text), in file-name order.\n\
         pub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &files {
        writeln!(out, "    ({name:?}, include_str!({path:?})),")?;
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?).join("builtin_cases.rs");
    std::fs::write(target, out)?;
    Ok(())
}
