//! Stored values judged at both layers (CONTRACT.md §4): D-DEFAULTS' equality decides `FAIL`,
//! the reference layer's exact forms decide `NON-STRICT`.

use amp_contract::rules::Rule;
use amp_contract::stored::FieldDiff;
use amp_contract::{ReportRecord, ResolvedCreate, documented};

use super::{Class, Profile};

/// The rules under which the page leaves *how a value is read* open, whatever field it is
/// for: a stored difference in a request they made silent is theirs.
const CHANNEL_RULES: [Rule; 5] = [
    Rule::RDuplicate,
    Rule::RUtf8,
    Rule::RMethod,
    Rule::RBody,
    Rule::REmpty,
];

/// The class and rule of one stored difference (CONTRACT.md §4), from the evidence: the field
/// that differs and which equality the difference breaks.
///
/// - It breaks D-DEFAULTS' equality (`true` stored as false, `&` as `&amp;`, an emoji as `?`)
///   and the field's value was one the page documents: `FAIL` under D-DEFAULTS, also when
///   another field's value made the request one the page is silent on.
/// - The field's own value was valid only by a reference rule (its rule is among the
///   request's silence reasons), or the value reached the server through a channel the page
///   leaves open (a repeated key, an invalid escape, the query string): `NON-STRICT` under
///   that rule.
/// - It misses only the reference's exact form (R-CATEGORY trimmed, R-TEXT exact,
///   R-SERVICE-IP canonical): `NON-STRICT` under the field's rule.
pub fn diff_class(
    diff: &FieldDiff,
    documented: &documented::Verdict,
    deviation: Class,
) -> (Class, Rule) {
    let silent: &[Rule] = match documented {
        documented::Verdict::Demands { .. } => &[],
        documented::Verdict::Silent { rules, .. } => rules,
    };
    if silent.contains(&diff.rule) {
        return (deviation, diff.rule);
    }
    if let Some(channel) = silent.iter().find(|r| CHANNEL_RULES.contains(r)) {
        return (deviation, *channel);
    }
    if diff.documented {
        return (Class::Fail, Rule::DDefaults);
    }
    (deviation, diff.rule)
}

/// The class of a stored-value check: its most severe difference ([`diff_class`]), filed
/// under that difference's rule.
pub fn stored_class(
    diffs: &[FieldDiff],
    documented: &documented::Verdict,
    profile: Profile,
) -> (Class, Rule) {
    let deviation = match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    };
    diffs
        .iter()
        .map(|d| diff_class(d, documented, deviation))
        .min_by_key(|&(class, _)| class != Class::Fail)
        .unwrap_or((Class::Pass, Rule::DDefaults))
}

/// Differences between what the reference layer stores and what was read back, each marked
/// with whether D-DEFAULTS' equality also sees it and the rule whose exact form it misses: the
/// contract's comparison, derived from the field metadata (no field is named here).
pub fn compare_stored(expected: &ResolvedCreate, got: &ReportRecord) -> Vec<FieldDiff> {
    use amp_contract::stored::Record;
    amp_contract::stored::compare(&expected.record(), &got.values.record())
}
