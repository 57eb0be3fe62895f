use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(boolean, default = "maybe", rule = "X-NOTIFY")]
    notify: bool,
}

fn main() {}
