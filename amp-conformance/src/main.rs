//! `amp-conformance`: the conformance runner and reference server (CLI entry point).

fn main() -> std::process::ExitCode {
    amp_conformance::cli::main()
}
