use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, default = "ten", rule = "X-PRIORITY")]
    priority: u32,
}

fn main() {}
