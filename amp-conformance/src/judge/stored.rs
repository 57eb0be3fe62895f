//! Stored values judged at both layers (CONTRACT.md §4): D-DEFAULTS' equality decides `FAIL`,
//! the reference layer's exact forms decide `NON-STRICT`.

use amp_contract::{ReportRecord, ResolvedCreate, documented};

use super::{Class, Profile};

/// The class of a stored-value check (CONTRACT.md §4): a difference beyond D-DEFAULTS'
/// equality in a create the page demands is `FAIL`; any other difference is `NON-STRICT`
/// under the reference rule whose exact form it misses (for a request the page is silent on,
/// the rule that made it so when that rule concerns the differing field, e.g. R-DUPLICATE's
/// last occurrence).
pub fn stored_class(
    diffs: &[StoredDiff],
    documented: &documented::Verdict,
    profile: Profile,
) -> (Class, &'static str) {
    let Some(first) = diffs.first() else {
        return (Class::Pass, "D-DEFAULTS");
    };
    let deviation = match profile {
        Profile::Reference => Class::NonStrict,
        Profile::Documented => Class::Info,
    };
    match documented {
        documented::Verdict::Demands { .. } => match diffs.iter().find(|d| d.documented) {
            Some(_) => (Class::Fail, "D-DEFAULTS"),
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

/// One stored value that is not what the reference layer stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDiff {
    /// The field.
    pub field: &'static str,
    /// What was read back against what was expected.
    pub text: String,
    /// Whether it differs even by D-DEFAULTS' equality (text up to surrounding whitespace,
    /// addresses as addresses, booleans as truth values): then it breaks a documented rule.
    pub documented: bool,
    /// The reference rule whose exact form it misses (R-CATEGORY trimmed, R-TEXT exact,
    /// R-SERVICE-IP canonical, ...).
    pub rule: &'static str,
}

/// Differences between what the reference layer stores and what was read back, each marked
/// with whether D-DEFAULTS' equality also sees it.
pub fn compare_stored(expected: &ResolvedCreate, got: &ReportRecord) -> Vec<StoredDiff> {
    use amp_contract::Action;
    use amp_contract::field::php_trim;
    let rule_of = |field: &str| {
        amp_contract::CreateAbuseReport::field(field).map_or("D-DEFAULTS", |f| f.rule)
    };
    let got = &got.values;
    let mut out = Vec::new();
    let mut diff = |field: &'static str, documented: bool, text: String| {
        out.push(StoredDiff {
            field,
            text,
            documented,
            rule: rule_of(field),
        });
    };
    if expected.service_id != got.service_id {
        diff(
            "service_id",
            true,
            format!(
                "service_id {}, expected {}",
                got.service_id, expected.service_id
            ),
        );
    }
    let texts: [(&'static str, &str, &str); 3] = [
        ("category", &expected.category, &got.category),
        (
            "additional_info",
            &expected.additional_info,
            &got.additional_info,
        ),
        ("admin_notes", &expected.admin_notes, &got.admin_notes),
    ];
    for (field, want, have) in texts {
        if want != have {
            diff(
                field,
                php_trim(want) != php_trim(have),
                format!("{field} {have:?}, expected {want:?}"),
            );
        }
    }
    if expected.service_ip != got.service_ip {
        let same_address = match (
            expected.service_ip.parse::<std::net::IpAddr>(),
            got.service_ip.trim().parse::<std::net::IpAddr>(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        diff(
            "service_ip",
            !same_address,
            format!(
                "service_ip {:?}, expected {:?}",
                got.service_ip, expected.service_ip
            ),
        );
    }
    if expected.suspend_method != got.suspend_method {
        diff(
            "suspend_method",
            true,
            format!(
                "suspend_method {}, expected {}",
                got.suspend_method, expected.suspend_method
            ),
        );
    }
    if expected.allow_unsuspend != got.allow_unsuspend {
        diff(
            "allow_unsuspend",
            true,
            format!(
                "allow_unsuspend {}, expected {}",
                got.allow_unsuspend, expected.allow_unsuspend
            ),
        );
    }
    out
}
