use amp_contract::{AmpAction, AmpEnum};

#[derive(Debug, Clone, Copy, PartialEq, AmpEnum)]
enum Outcome {
    Fixed,
    #[amp(rename = "wont-fix")]
    WontFix,
}

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(enumeration, default = "wontfix", rule = "X-OUTCOME")]
    outcome: Outcome,
}

fn main() {}
