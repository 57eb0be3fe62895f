use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close", stored = "Closed Ticket")]
struct CloseTicket {
    #[amp(integer, required, rule = "X-TICKET")]
    ticket_id: u32,
}

fn main() {}
