use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, rule = "X-TICKET", colour = "red")]
    ticket_id: u32,
}

fn main() {}
