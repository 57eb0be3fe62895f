use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(text, required, max_chars = 10, rule = "X-REASON")]
    #[amp(max_chars = 20)]
    reason: String,
}

fn main() {}
