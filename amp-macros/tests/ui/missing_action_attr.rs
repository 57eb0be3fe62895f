use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
struct CloseTicket {
    #[amp(integer, required, rule = "X-TICKET")]
    ticket_id: u32,
}

fn main() {}
