use amp_contract::AmpEnum;

#[derive(Debug, Clone, Copy, PartialEq, AmpEnum)]
enum Outcome {
    #[amp(alias = "done")]
    Fixed,
    #[amp(rename = " wontfix")]
    WontFix,
}

fn main() {}
