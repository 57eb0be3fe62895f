//! The committed fuzz corpus (`fuzz/corpus/<target>/`) replayed through the fuzz targets'
//! invariants (`amp_contract::fuzzing`) on the stable toolchain, on every `cargo test`: what a
//! fuzzing session found and kept stays checked. Each target's seeds include bodies at and
//! past the 1 MiB limit, which the fuzzer alone does not grow to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    for (name, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}/{name} breaks an invariant");
    }
}

/// D-AUTH and R-ORDER (AMP001 first), D-ERROR-SHAPE (`AMPnnn` and a description), R-BODY (413
/// only for an authenticated body over 1 MiB), D-NO-5XX (no panic), and the page's layer never
/// contradicting the reference.
#[test]
fn envelope_corpus_keeps_its_invariants() {
    replay("envelope", amp_contract::fuzzing::envelope);
    assert!(
        corpus("envelope")
            .iter()
            .any(|(_, d)| d.len() > amp_contract::envelope::BODY_LIMIT),
        "a seed past the body limit"
    );
}

/// R-UTF8 and R-DUPLICATE's decoder: decoding never panics and round-trips.
#[test]
fn form_corpus_keeps_its_invariants() {
    replay("form", amp_contract::fuzzing::form);
}

/// R-BODY's multipart reading: decoding never panics and round-trips.
#[test]
fn multipart_corpus_keeps_its_invariants() {
    replay("multipart", amp_contract::fuzzing::multipart);
}
