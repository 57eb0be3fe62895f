//! `amp-conformance`: the conformance runner and reference server (CLI entry point).

// A run allocates and frees bodies of up to a megabyte on the planner, sender and server
// threads at once: jemalloc takes about a quarter less CPU per check than glibc's allocator,
// and keeps the peak memory of a deep run in the same bounds (BENCHMARKS.md, "The allocator").
#[cfg(all(feature = "jemalloc", unix, not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    amp_conformance::cli::main()
}
