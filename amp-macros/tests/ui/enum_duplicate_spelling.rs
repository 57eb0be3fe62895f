use amp_contract::AmpEnum;

#[derive(Debug, Clone, Copy, PartialEq, AmpEnum)]
enum Outcome {
    Fixed,
    #[amp(rename = "fixed")]
    Resolved,
}

fn main() {}
