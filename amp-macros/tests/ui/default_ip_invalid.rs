use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "close")]
struct CloseTicket {
    #[amp(ip, default = "192.0.2.300", rule = "X-IP")]
    origin: std::net::IpAddr,
}

fn main() {}
