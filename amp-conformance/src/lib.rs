//! Conformance kit for the Abuse Manager Pro API: a runner that checks any implementation
//! against the contract of `amp_contract`, and the reference server that implements it.
//!
//! The layout follows the data flow: [`cases`] (fixtures and properties) → [`plan`] (safety
//! filter) → [`target`] (HTTP, over the kit's own HTTP/1.1 client in `transport`) → [`judge`]
//! (outcome classes) → [`report`], with [`server`] the reference implementation and [`cli`]
//! the command line.

pub mod cases;
pub mod cli;
pub mod config;
pub mod diff;
pub mod inprocess;
pub mod judge;
pub mod memory;
pub mod observer;
pub mod openapi;
pub mod plan;
pub mod replay;
pub mod report;
pub mod rules;
pub mod runner;
pub mod safety;
pub mod send;
pub mod server;
pub mod session;
pub mod shrink;
pub mod snapshot;
pub mod target;
mod transport;
