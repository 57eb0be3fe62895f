//! Attribution by evidence (issue 19, cause 4): the rule a deviation is filed under follows
//! from what the answer names or the stored record shows, not from the case's first rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use amp_contract::documented::{Demand, Verdict as Documented};
use amp_contract::rules::Rule;
use amp_contract::stored::{Record, compare};
use amp_contract::{Action, AssumeExists, CreateAbuseReport};

use super::stored::stored_class;
use super::*;
use crate::cases::{Case, Expectation, Origin, RequestSpec};

fn create(rules: Vec<Rule>) -> Case {
    Case {
        id: "prop/valid/0001".to_owned(),
        rules,
        title: "a generated create".to_owned(),
        request: RequestSpec::form(Vec::new()),
        expect: Expectation::Success,
        origin: Origin::Stateful,
        admin_notes_under_test: false,
    }
}

fn amp003(description: &str) -> Result<HttpAnswer, TransportError> {
    Ok(HttpAnswer {
        status: 200,
        content_type: Some("application/json".to_owned()),
        body: format!(
            r#"{{"status":"error","error_code":"AMP003","error_description":"{description}"}}"#
        )
        .into_bytes(),
        location: None,
        server: None,
        elapsed: Duration::ZERO,
    })
}

/// A create the page is silent on for two reasons (its category is padded, its boolean is
/// `on`), refused with an AMP003 that names `allow_unsuspend`: R-BOOL's deviation, not the
/// first silence rule's (the kit used to file it under R-CATEGORY).
#[test]
fn an_amp003_is_filed_under_the_rule_of_the_parameter_it_names() {
    let case = create(vec![Rule::RCategory, Rule::RBool]);
    let silent = Documented::Silent {
        rules: vec![Rule::RCategory, Rule::RBool],
        authenticated: true,
    };
    let verdict = judge(
        &case,
        &silent,
        &amp003("Invalid parameter: allow_unsuspend."),
        Profile::Reference,
    );
    assert_eq!(
        (verdict.class, verdict.rule),
        (Class::NonStrict, Rule::RBool)
    );
    // Naming nothing it can attribute, the case's own rule decides, as before.
    let verdict = judge(
        &case,
        &silent,
        &amp003("Invalid request."),
        Profile::Reference,
    );
    assert_eq!(verdict.rule, Rule::RCategory);
}

/// A create the page demands, refused with AMP003: FAIL under the documented rule, whatever
/// the answer names.
#[test]
fn a_demanded_success_refused_stays_the_pages() {
    let case = create(vec![Rule::DOptionals]);
    let demands = Documented::Demands {
        demand: Demand::Success,
        rule: Rule::DOptionals,
    };
    let verdict = judge(
        &case,
        &demands,
        &amp003("Invalid parameter: allow_unsuspend."),
        Profile::Reference,
    );
    assert_eq!(
        (verdict.class, verdict.rule),
        (Class::Fail, Rule::DOptionals)
    );
}

fn diffs(
    edit: impl FnOnce(&mut amp_contract::ResolvedCreate),
) -> Vec<amp_contract::stored::FieldDiff> {
    let mut sent = CreateAbuseReport::new(1, "Spam & eggs");
    sent.allow_unsuspend = true;
    let expected = sent.resolve(&mut AssumeExists);
    let mut got = expected.clone();
    edit(&mut got);
    compare(&expected.record(), &got.record())
}

/// Stored differences are judged by the field that differs and the equality it breaks: `&`
/// stored as `&amp;` or `true` as false breaks D-DEFAULTS even in a request the page is
/// silent on for another field's sake (a padded category); untrimmed text only misses the
/// reference's exact form; a field whose own value was reference-only is its rule's.
#[test]
fn stored_differences_follow_the_field_and_the_equality_they_break() {
    let silent_by_bool = Documented::Silent {
        rules: vec![Rule::RBool],
        authenticated: true,
    };
    let entity = diffs(|got| got.category = "Spam &amp; eggs".to_owned());
    assert_eq!(
        stored_class(&entity, &silent_by_bool, Profile::Reference),
        (Class::Fail, Rule::DDefaults)
    );
    let untrimmed = diffs(|got| got.category = " Spam & eggs ".to_owned());
    assert_eq!(
        stored_class(&untrimmed, &silent_by_bool, Profile::Reference),
        (Class::NonStrict, Rule::RCategory)
    );
    // The boolean itself was sent as `on`: how it is stored is R-BOOL's matter.
    let boolean = diffs(|got| got.allow_unsuspend = false);
    assert_eq!(
        stored_class(&boolean, &silent_by_bool, Profile::Reference),
        (Class::NonStrict, Rule::RBool)
    );
    // A repeated key: whichever occurrence was stored, R-DUPLICATE decides.
    let duplicate = Documented::Silent {
        rules: vec![Rule::RDuplicate],
        authenticated: true,
    };
    assert_eq!(
        stored_class(&entity, &duplicate, Profile::Reference),
        (Class::NonStrict, Rule::RDuplicate)
    );
}
