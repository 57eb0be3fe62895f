//! A broken enum used by an action: only the enum's own mistake is reported.
use amp_contract::{AmpAction, AmpEnum};

#[derive(Debug, Clone, Copy, PartialEq, AmpEnum)]
enum Outcome {
    Fixed,
    #[amp(rename = "fixed")]
    Resolved,
}

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(enumeration, default = "fixed", rule = "X-OUTCOME")]
    outcome: Outcome,
}

fn main() {}
