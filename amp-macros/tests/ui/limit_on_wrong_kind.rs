use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, max_chars = 10, rule = "X-TICKET")]
    ticket_id: u32,
    #[amp(text, required, min = 1, rule = "X-REASON")]
    reason: String,
}

fn main() {}
