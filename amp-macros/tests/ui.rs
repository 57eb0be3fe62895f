//! trybuild UI tests: every misuse of `#[derive(AmpAction)]` and `#[derive(AmpEnum)]` is one
//! compile error per mistake, spanned on the offending attribute, saying how to fix it.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p amp-macros --test ui`
//! and read every changed `.stderr` before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
