//! Conformance kit for the Abuse Manager Pro API: a runner that checks any implementation
//! against the contract of `amp_contract`, and the reference server that implements it.
//!
//! The layout follows the data flow: [`cases`] (fixtures and properties) → `plan` (the safety
//! gate and the write budget) → `send` (pacing, the breaker) over [`target`] → [`judge`]
//! (typed verdicts) → [`report`] (words, findings, formats), wired by [`runner`]; [`server`]
//! is the reference implementation and [`cli`] the command line.
//!
//! The public surface is what a user of the library needs: [`runner::run`] with a
//! [`config::RunConfig`], the [`report`] it returns, [`inprocess`] for a Rust implementation
//! called without a socket, [`server`] to start the reference server in a test, and the
//! commands' own modules ([`diff`], [`replay`], [`openapi`], [`snapshot`]). The stages'
//! interiors (planning, sending, shrinking, the session, the safety model, the id memory,
//! the transport) are crate-private.

pub mod cases;
pub mod cli;
pub mod config;
pub mod diff;
pub mod inprocess;
pub mod judge;
pub(crate) mod memory;
pub mod observer;
pub mod openapi;
pub(crate) mod plan;
pub mod replay;
pub mod report;
pub mod runner;
pub(crate) mod safety;
pub(crate) mod send;
pub mod server;
pub(crate) mod session;
pub(crate) mod shrink;
pub mod snapshot;
pub(crate) mod stateful;
pub mod target;
mod transport;
