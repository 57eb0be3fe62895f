//! Checking a Rust implementation in process, in `cargo test`, with no socket and no port:
//! the whole suite (fixtures, property cases, stateful and stored-value checks through an
//! observer route of the same service) runs against any `tower::Service` over `http`
//! requests, such as an axum `Router`. Exact wire-level cases that a `Service` cannot receive
//! (a header name in a claimed case: `http` keeps names in lower case) are `SKIPPED`, naming
//! why.
//!
//! ```no_run
//! # async fn example(router: axum::Router) {
//! use amp_conformance::inprocess;
//! use amp_contract::envelope::DedicatedIp;
//!
//! let config = inprocess::config(
//!     router,                                   // your implementation
//!     "test-key",                               // an API_ID it accepts
//!     vec![(1, DedicatedIp::None)],             // services it knows
//!     Some(999),                                // an id it does not know
//!     Some("/_amp/reports/{report_id}"),        // its observer route, if any
//! );
//! inprocess::assert_conforms(config).await;     // panics with the grouped findings
//! # }
//! ```

use std::convert::Infallible;

use amp_contract::envelope::DedicatedIp;

use crate::config::RunConfig;
use crate::config::RunError;
use crate::observer::Observer;
use crate::report::{RunReport, terminal};
use crate::runner::run;
use crate::server::API_PATH;
use crate::target::{IN_PROCESS_ORIGIN, InProcessService, Secret};

/// A run against `service` in process, with every permission (it is the caller's own code):
/// writes, suspending values, its services, and its observer route when it has one
/// (`{report_id}` where the id goes).
pub fn config<S>(
    service: S,
    key: &str,
    services: Vec<(u32, DedicatedIp)>,
    missing_service: Option<u32>,
    observer_path: Option<&str>,
) -> RunConfig
where
    S: tower::Service<
            http::Request<axum::body::Body>,
            Response = http::Response<axum::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let mut config = RunConfig::owned_target(
        &format!("{IN_PROCESS_ORIGIN}{API_PATH}"),
        Secret::new(key),
        services,
        missing_service,
        observer_path.map(|path| Observer::Url(format!("{IN_PROCESS_ORIGIN}{path}"))),
    );
    config.in_process = Some(InProcessService::new(service));
    config
}

/// Runs every check of `config` (made with [`config`]) and returns the report.
pub async fn check(config: RunConfig) -> Result<RunReport, RunError> {
    run(config).await
}

/// Runs every check and fails the test, with the findings grouped by root cause, unless the
/// run passes.
// An assertion for tests, like `assert!`: failing is its purpose.
#[allow(clippy::panic)]
pub async fn assert_conforms(config: RunConfig) -> RunReport {
    let report = match run(config).await {
        Ok(report) => report,
        Err(e) => panic!("the conformance run could not be made: {e}"),
    };
    if !report.passed {
        let mut out = Vec::new();
        let _ = terminal::write(&report, &mut out, false, false);
        panic!(
            "the implementation does not conform:\n{}",
            String::from_utf8_lossy(&out)
        );
    }
    report
}
