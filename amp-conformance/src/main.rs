//! `amp-conformance`: the conformance runner and reference server (CLI entry point).

// A run allocates and frees bodies of up to a megabyte on the planner, sender and server
// threads at once: mimalloc takes a quarter less CPU per check than the system allocator
// (BENCHMARKS.md, "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    amp_conformance::cli::main()
}
