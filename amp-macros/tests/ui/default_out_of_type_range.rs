use amp_contract::AmpAction;

#[derive(Debug, Clone, PartialEq, AmpAction)]
#[amp(action = "connect")]
struct Connect {
    #[amp(integer, default = "70000", rule = "X-PORT")]
    port: u16,
}

fn main() {}
