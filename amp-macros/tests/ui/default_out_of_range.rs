use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, min = 1, max = 5, default = "9", rule = "X-PRIORITY")]
    priority: u32,
}

fn main() {}
