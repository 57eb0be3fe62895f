use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "create")]
struct Create {
    #[amp(integer, required, rule = "R-SERVCE-ID", rule = "D-REQUIRED")]
    service_id: u32,
    #[amp(text, required, rule = "D-NOPE")]
    category: String,
}

fn main() {}
