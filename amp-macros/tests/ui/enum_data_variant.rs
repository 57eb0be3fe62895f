use amp_contract::AmpEnum;

#[derive(Debug, Clone, PartialEq, AmpEnum)]
enum Outcome {
    Fixed,
    Duplicate(u32),
}

fn main() {}
