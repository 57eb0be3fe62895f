//! The planner: the safety filter between cases and the target (CONTRACT.md §6). It resolves
//! service placeholders, adds the purge marker, skips what this run may not send, and asks the
//! contract what each exact request must get when the case leaves that to it.

use amp_contract::ResolvedCreate;
use amp_contract::documented;
use amp_contract::envelope::{DedicatedIp, ServiceDirectory};

use crate::cases::{Case, Expectation, Need, Origin, WireRequest};

/// What the planner knows about this run.
#[derive(Debug, Clone)]
pub struct PlanContext {
    /// The embedded reference server (everything allowed) rather than a `--target`.
    pub embedded: bool,
    /// Services known to exist, in the order given.
    pub services: Vec<(u32, DedicatedIp)>,
    /// An id known not to exist.
    pub missing_service: Option<u32>,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// `--allow-suspend`.
    pub allow_suspend: bool,
    /// The run id, for the purge marker.
    pub run_id: String,
}

impl ServiceDirectory for PlanContext {
    fn dedicated_ip(&self, service_id: u32) -> Option<DedicatedIp> {
        self.services
            .iter()
            .find(|(id, _)| *id == service_id)
            .map(|(_, ip)| *ip)
    }
}

impl PlanContext {
    /// The purge marker written into `admin_notes` (CONTRACT.md §6).
    pub fn marker(&self) -> String {
        format!("amp-conformance run {}", self.run_id)
    }

    fn may_write(&self) -> bool {
        self.embedded || self.allow_writes
    }

    fn resolve(&self, need: Need, writes: bool) -> Option<String> {
        // A request not meant to write names a service that does not exist when the run may
        // not write, so that a server that wrongly accepts it creates nothing.
        if !writes && !self.may_write() && need != Need::MissingService {
            if let Some(missing) = self.missing_service {
                return Some(missing.to_string());
            }
        }
        let pick = |want: fn(&DedicatedIp) -> bool| {
            self.services
                .iter()
                .find(|(_, ip)| want(ip))
                .map(|(id, _)| id.to_string())
        };
        match need {
            Need::Service => pick(|_| true),
            Need::ServiceWithIp => pick(|ip| matches!(ip, DedicatedIp::Address(_))),
            Need::ServiceWithoutIp => pick(|ip| matches!(ip, DedicatedIp::None)),
            Need::MissingService => self.missing_service.map(|m| m.to_string()),
        }
    }
}

/// A case ready to send, or the reason it is not sent.
#[derive(Debug, Clone)]
pub enum Planned {
    /// Send it.
    Send(Box<Ready>),
    /// Do not: the reason names what would enable it.
    Skip(Box<Case>, String),
}

/// A case with its exact request.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The case (for generated mutations, its expectation now set by the contract).
    pub case: Case,
    /// The exact request.
    pub wire: WireRequest,
    /// What a conforming server stores when it accepts it (D-DEFAULTS).
    pub stored: Option<ResolvedCreate>,
    /// What the page itself demands of the exact request (the documented layer).
    pub documented: documented::Verdict,
}

/// Plans one case; `key` is the valid identifier (to ask the contract), `seed` makes the
/// multipart boundary reproducible.
pub fn plan(case: Case, cx: &PlanContext, key: &str, seed: u64) -> Planned {
    let writes = case.writes();
    if writes && !cx.may_write() {
        return Planned::Skip(
            Box::new(case),
            "creates a report: pass --allow-writes to run it".to_owned(),
        );
    }
    if case.request.may_suspend() && !cx.embedded && !cx.allow_suspend {
        return Planned::Skip(
            Box::new(case),
            "sends a suspending suspend_method: pass --allow-suspend to run it".to_owned(),
        );
    }
    let mut subst = Vec::new();
    for need in case.request.needs() {
        match cx.resolve(need, writes) {
            Some(value) => subst.push((need, value)),
            None => {
                let reason = format!(
                    "needs {} (what {} stands for)",
                    need.flag(),
                    need.placeholder()
                );
                return Planned::Skip(Box::new(case), reason);
            }
        }
    }
    let marker = (!case.admin_notes_under_test).then(|| cx.marker());
    let wire = case.request.render(&subst, marker.as_deref(), seed);
    let mut case = case;
    // The contract is asked only where its answer is used: a mutation's expectation, and the
    // stored values of a create (D-DEFAULTS).
    let mutation = matches!(
        case.origin,
        Origin::Property {
            generator: "mutation",
            ..
        }
    );
    if mutation {
        case.expect = match wire.oracle(key, cx) {
            Ok(_) => Expectation::Success,
            Err(rejection) => Expectation::Error {
                code: rejection.error.code,
                params: rejection
                    .error
                    .params
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
                status: rejection.status.as_u16(),
            },
        };
        if case.writes() && !cx.may_write() {
            return Planned::Skip(
                Box::new(case),
                "creates a report: pass --allow-writes to run it".to_owned(),
            );
        }
    }
    let stored = if case.writes() {
        wire.oracle(key, cx).ok().map(|accepted| accepted.resolved)
    } else {
        None
    };
    let documented = wire.documented(key, cx);
    Planned::Send(Box::new(Ready {
        case,
        wire,
        stored,
        documented,
    }))
}
