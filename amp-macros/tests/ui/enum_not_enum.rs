use amp_contract::AmpEnum;

#[derive(Debug, Clone, Copy, PartialEq, AmpEnum)]
struct Outcome {
    fixed: bool,
}

fn main() {}
