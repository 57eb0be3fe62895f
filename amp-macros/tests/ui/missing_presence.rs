use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, rule = "X-TICKET")]
    ticket_id: u32,
}

fn main() {}
