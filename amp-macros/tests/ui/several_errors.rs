//! Every mistake is reported in one compile, one error each, and nothing else.
use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(integer, required, colour = "red", rule = "X-TICKET")]
    ticket_id: u32,
    #[amp(text, required, default = "x", rule = "X-REASON")]
    reason: String,
    #[amp(boolean, default = "maybe", max = 3, rule = "X-NOTIFY")]
    notify: bool,
    #[amp(ip, optional, name = "ticket_id", rule = "x-ip")]
    origin: Option<std::net::IpAddr>,
}

fn main() {
    // The stub impl keeps uses of the type from adding errors of their own.
    let _ = <CloseTicket as amp_contract::Action>::FIELDS;
}
