use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, text, required, rule = "X-TICKET")]
    ticket_id: u32,
}

fn main() {}
