use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(text, optional, visibility = "staff", rule = "X-NOTE")]
    note: Option<String>,
}

fn main() {}
