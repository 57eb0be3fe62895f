//! `amp-conformance`: the conformance runner and reference server (CLI entry point).

fn main() {}
