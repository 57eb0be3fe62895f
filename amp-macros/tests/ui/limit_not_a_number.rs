use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(text, required, max_chars = "ten", rule = "X-REASON")]
    reason: String,
}

fn main() {}
