use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
enum CloseTicket {
    ById(u32),
}

fn main() {}
