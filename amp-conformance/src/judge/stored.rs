//! Stored values judged at both layers (CONTRACT.md §4): D-DEFAULTS' equality decides `FAIL`,
//! the reference layer's exact forms decide `NON-STRICT`.

use amp_contract::rules::Rule;
use amp_contract::stored::FieldDiff;
use amp_contract::{ReportRecord, ResolvedCreate, documented};

use super::{Class, Profile};

/// The class of a stored-value check (CONTRACT.md §4): a difference beyond D-DEFAULTS'
/// equality in a create the page demands is `FAIL`; any other difference is `NON-STRICT`
/// under the reference rule whose exact form it misses (for a request the page is silent on,
/// the rule that made it so when that rule concerns the differing field, e.g. R-DUPLICATE's
/// last occurrence).
pub fn stored_class(
    diffs: &[FieldDiff],
    documented: &documented::Verdict,
    profile: Profile,
) -> (Class, &'static str) {
    let Some(first) = diffs.first() else {
        return (Class::Pass, Rule::DDefaults.id());
    };
    let deviation = match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    };
    match documented {
        documented::Verdict::Demands { .. } => match diffs.iter().find(|d| d.documented) {
            Some(_) => (Class::Fail, Rule::DDefaults.id()),
            None => (deviation, first.rule),
        },
        documented::Verdict::Silent { rules, .. } => {
            let rule = diffs
                .iter()
                .map(|d| d.rule)
                .find(|r| rules.contains(r))
                .or_else(|| rules.first().copied())
                .unwrap_or(first.rule);
            (deviation, rule)
        }
    }
}

/// Differences between what the reference layer stores and what was read back, each marked
/// with whether D-DEFAULTS' equality also sees it and the rule whose exact form it misses: the
/// contract's comparison, derived from the field metadata (no field is named here).
pub fn compare_stored(expected: &ResolvedCreate, got: &ReportRecord) -> Vec<FieldDiff> {
    use amp_contract::stored::Record;
    amp_contract::stored::compare(&expected.record(), &got.values.record())
}
