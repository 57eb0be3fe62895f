use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, default = 3, rule = "X-PRIORITY")]
    priority: u32,
    #[amp(boolean, default = true, rule = "X-NOTIFY")]
    notify: bool,
}

fn main() {}
