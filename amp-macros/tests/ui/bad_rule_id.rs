use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, rule = "ticket rule")]
    ticket_id: u32,
}

fn main() {}
