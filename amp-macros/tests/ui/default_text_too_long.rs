use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(text, max_chars = 3, default = "resolved", rule = "X-REASON")]
    reason: String,
}

fn main() {}
