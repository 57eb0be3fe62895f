use amp_contract::AmpEnum;

#[derive(Debug, Clone, PartialEq, AmpEnum)]
enum Outcome<T> {
    Fixed,
    Other(T),
}

fn main() {}
