use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, min = 10, max = 5, rule = "X-TICKET")]
    ticket_id: u32,
    #[amp(text, required, max_bytes = 0, rule = "X-REASON")]
    reason: String,
}

fn main() {}
