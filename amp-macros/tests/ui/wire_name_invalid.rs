use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, name = "ticket[id]", rule = "X-TICKET")]
    ticket_id: u32,
    #[amp(text, optional, name = "action", rule = "X-REASON")]
    reason: Option<String>,
}

fn main() {}
