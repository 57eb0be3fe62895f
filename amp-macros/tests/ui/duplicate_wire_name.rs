use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, rule = "X-TICKET")]
    ticket_id: u32,
    #[amp(integer, optional, name = "ticket_id", rule = "X-TICKET")]
    parent_id: Option<u32>,
}

fn main() {}
