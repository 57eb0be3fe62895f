//! Shrinking: a failing generated case is made simpler, step by step, while the simpler request
//! still breaks the same rule in the same class (each candidate re-checked against the contract
//! before it is sent).

use crate::cases::Case;
use crate::cases::Expectation;
use crate::cases::properties::TreeSeed;
use crate::judge::{self, Profile, Verdict};
use crate::plan::{self, PlanContext, Planned, Ready};
use crate::target::Target;

/// Most requests spent shrinking one failing property case.
const SHRINK_STEPS: usize = 48;

/// Shrinking adds at most one request for every `SHRINK_SHARE` of the run's own (20 %), so that
/// against a hostile target a run stays within twice a passing run's requests.
pub(crate) const SHRINK_SHARE: usize = 5;

/// What a shrink came to: the simplest request that still breaks the rule (with its verdict
/// and the steps taken), and how many requests it sent, found or not.
pub(crate) struct Shrunk {
    pub(crate) found: Option<(Ready, Verdict, usize)>,
    pub(crate) sent: usize,
}

/// Shrinks a failing property case: simpler requests that still break the same rule, sent
/// and judged again, at most `max_sent` of them; each candidate is first re-checked against
/// the contract so that it still breaks the rule it was made for.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn shrink(
    tree: TreeSeed,
    template: &Case,
    failing: &Verdict,
    cx: &PlanContext,
    target: &Target,
    profile: Profile,
    seed: u64,
    max_sent: usize,
) -> Shrunk {
    let mut shrunk = Shrunk {
        found: None,
        sent: 0,
    };
    // Against a real target, a shrinking step may create a report (and a server that accepted
    // the original will accept the simpler one): only requests that neither were meant to
    // create nor did create are shrunk there, so the write budget holds (CONTRACT.md §6).
    if !cx.embedded && (template.writes() || failing.report_id().is_some()) {
        return shrunk;
    }
    if max_sent == 0 {
        return shrunk;
    }
    // The tree grows again from its seed exactly as the case was drawn; a seed that no longer
    // grows (it cannot: the same strategy and random state) leaves the case as it failed.
    let Ok(mut tree) = tree.grow() else {
        return shrunk;
    };
    let mut steps = 0;
    if !tree.simplify() {
        return shrunk;
    }
    while steps < SHRINK_STEPS && shrunk.sent < max_sent {
        steps += 1;
        let candidate = tree.current(template);
        let still = match plan::plan(candidate, cx, target.key().expose(), seed) {
            Planned::Send(ready) if contract_agrees(&ready, target.key().expose(), cx) => {
                let answer = target.send(&ready.wire).await;
                shrunk.sent += 1;
                let verdict = judge::judge(&ready.case, &ready.documented, &answer, profile);
                if verdict.report_id().is_some() && !cx.embedded {
                    break;
                }
                (verdict.class == failing.class && verdict.rule == failing.rule)
                    .then_some((*ready, verdict))
            }
            _ => None,
        };
        let more = match still {
            Some((ready, verdict)) => {
                shrunk.found = Some((ready, verdict, steps));
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    shrunk
}

/// Whether the contract's own answer to the exact request is the case's expectation.
fn contract_agrees(ready: &Ready, key: &str, cx: &PlanContext) -> bool {
    match (&ready.case.expect, ready.wire.oracle(key, cx)) {
        (Expectation::Success, Ok(_)) => true,
        (Expectation::Error { code, params, .. }, Err(rejection)) => {
            rejection.error.code == *code
                && params
                    .iter()
                    .all(|p| rejection.error.params.contains(&p.as_str()))
        }
        _ => false,
    }
}
