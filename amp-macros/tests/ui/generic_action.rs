use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket<'a> {
    #[amp(text, required, rule = "X-REASON")]
    reason: &'a str,
}

fn main() {}
