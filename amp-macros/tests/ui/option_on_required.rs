use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, rule = "X-TICKET")]
    ticket_id: Option<u32>,
    #[amp(text, optional, rule = "X-REASON")]
    reason: String,
}

fn main() {}
