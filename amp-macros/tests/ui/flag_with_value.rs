use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(text, required, trim = true, rule = "X-REASON")]
    reason: String,
    #[amp(integer, optional, rule = "X-LIMIT", max)]
    limit: Option<u32>,
}

fn main() {}
