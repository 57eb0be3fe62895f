//! proptest strategies for valid and invalid requests of any action, driven entirely by the
//! action's generated metadata: no second list of fields, values or limits exists.
//!
//! Every invalid request carries its exact expected outcome (code and offending parameters in
//! table order), and is invalid by construction: never byte-identical on the wire to a valid
//! request.

mod invalid;
mod valid;

use proptest::prelude::*;

use crate::action::{ACTION_PARAM, Action};
use crate::error::ErrorCode;
use crate::form::FormPairs;
use crate::meta::FieldMeta;
use crate::rules::Rule;

use invalid::{Breakage, breakages, broken_action};
use valid::valid_fields;

/// The strategies of an action: implemented for every [`Action`] (when this crate's
/// `proptest` feature is on), as methods so that `CreateAbuseReport::valid_requests(...)`
/// reads like the rest of the action's API.
pub trait ActionStrategies: Action + 'static {
    /// Valid requests with the value they parse to.
    fn valid_requests(config: &GenConfig) -> BoxedStrategy<ValidRequest<Self>> {
        valid_requests::<Self>(config)
    }

    /// Valid values of the action (the typed side of [`ActionStrategies::valid_requests`]).
    fn valid(config: &GenConfig) -> BoxedStrategy<Self> {
        valid_requests::<Self>(config)
            .prop_map(|request| request.value)
            .boxed()
    }

    /// Invalid requests, each with its exact expected outcome.
    fn invalid_requests(config: &GenConfig) -> BoxedStrategy<InvalidRequest> {
        invalid_requests::<Self>(config)
    }
}

/// What the generators may assume about the target.
///
/// ```
/// use amp_contract::strategy::GenConfig;
/// // Only services 1..=3 exist; 999 is known not to.
/// let config = GenConfig::new()
///     .with_values("service_id", ["1", "2", "3"])
///     .with_missing("service_id", ["999"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct GenConfig {
    values: Vec<(String, Vec<String>)>,
    missing: Vec<(String, Vec<String>)>,
    safe_text: bool,
}

impl GenConfig {
    /// No assumption: any well-formed value is valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Valid wire values of `field` are drawn only from `values` (e.g. the service ids that
    /// exist on the target).
    pub fn with_values<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        field: &str,
        values: I,
    ) -> Self {
        self.values.push((
            field.to_owned(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Well-formed values of `field` that the target does not know (R-SERVICE-ID "not found").
    pub fn with_missing<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        field: &str,
        values: I,
    ) -> Self {
        self.missing.push((
            field.to_owned(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    fn values_of(&self, field: &str) -> Option<&[String]> {
        self.values
            .iter()
            .find(|(name, values)| name == field && !values.is_empty())
            .map(|(_, values)| values.as_slice())
    }

    fn missing_of(&self, field: &str) -> Option<&[String]> {
        self.missing
            .iter()
            .find(|(name, values)| name == field && !values.is_empty())
            .map(|(_, values)| values.as_slice())
    }

    /// Text values are drawn from printable ASCII and a few well-known non-ASCII letters only,
    /// for targets whose storage mangles other Unicode (still a finding, but not this one's).
    pub fn with_safe_text(mut self, safe: bool) -> Self {
        self.safe_text = safe;
        self
    }
}

/// A valid request: its wire pairs and the value the contract parses them to.
#[derive(Debug, Clone)]
pub struct ValidRequest<A> {
    /// The pairs, `action` first.
    pub form: FormPairs<'static>,
    /// What they mean.
    pub value: A,
}

/// The outcome an invalid request must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedError {
    /// The AMP code.
    pub code: ErrorCode,
    /// The parameters the description must name, in table order.
    pub params: Vec<&'static str>,
    /// The rule ids the request breaks.
    pub rules: Vec<&'static str>,
}

/// An invalid request and the outcome it must get.
#[derive(Debug, Clone)]
pub struct InvalidRequest {
    /// The pairs as sent.
    pub form: FormPairs<'static>,
    /// The expected error.
    pub expected: ExpectedError,
    /// A short human account of what was broken, e.g. `category: longer than 255 characters`.
    pub summary: String,
}

impl<A: Action + 'static> ActionStrategies for A {}

type Wire = Vec<u8>;

fn assemble(
    action: Option<Vec<(Wire, Wire)>>,
    fields: Vec<Vec<(Wire, Wire)>>,
) -> FormPairs<'static> {
    let mut form = FormPairs::new();
    for (key, value) in action
        .into_iter()
        .flatten()
        .chain(fields.into_iter().flatten())
    {
        form.push(key, value);
    }
    form
}

fn plain(meta: &FieldMeta, value: Wire) -> Vec<(Wire, Wire)> {
    vec![(meta.name.as_bytes().to_vec(), value)]
}

/// Valid requests of `A`: every required field, each optional one sent or not, values of
/// every documented form (D-SUCCESS, D-OPTIONALS).
pub fn valid_requests<A: Action + 'static>(config: &GenConfig) -> BoxedStrategy<ValidRequest<A>> {
    valid_fields::<A>(config)
        .prop_filter_map(
            "the contract rejected a generated valid request",
            |values| {
                let fields = A::FIELDS
                    .iter()
                    .zip(values)
                    .map(|(meta, value)| value.map(|v| plain(meta, v)).unwrap_or_default())
                    .collect();
                let form = assemble(
                    Some(vec![(
                        ACTION_PARAM.as_bytes().to_vec(),
                        A::NAME.as_bytes().to_vec(),
                    )]),
                    fields,
                );
                let value = A::from_form(&form).ok()?;
                Some(ValidRequest { form, value })
            },
        )
        .boxed()
}

/// Invalid requests of `A`: one broken field at a time, or several (R-ORDER), sometimes with
/// a broken action too (then AMP002 wins, R-ORDER).
pub fn invalid_requests<A: Action + 'static>(config: &GenConfig) -> BoxedStrategy<InvalidRequest> {
    let field_count = A::FIELDS.len();
    let breaks: Vec<BoxedStrategy<Breakage>> =
        A::FIELDS.iter().map(|m| breakages(m, config)).collect();
    let chosen = prop_oneof![
        3 => (0..field_count).prop_map(|i| vec![i]),
        1 => proptest::sample::subsequence((0..field_count).collect::<Vec<_>>(), 2..=field_count.clamp(2, 3)),
    ];
    // Only the chosen fields' breakages are generated: a case breaks one to three fields.
    let broken = chosen.prop_flat_map(move |chosen| {
        let selected: Vec<BoxedStrategy<Breakage>> =
            chosen.iter().map(|&i| breaks[i].clone()).collect();
        (Just(chosen), selected)
    });
    let action = prop_oneof![4 => Just(None), 1 => broken_action(A::NAME).prop_map(Some)];
    (valid_fields::<A>(config), broken, action)
        .prop_map(|(values, (chosen, broken), action)| {
            let mut broken = chosen.iter().copied().zip(broken).collect::<Vec<_>>();
            let mut pairs = Vec::new();
            let mut params = Vec::new();
            let mut rules = Vec::new();
            let mut summary = Vec::new();
            for (i, (meta, value)) in A::FIELDS.iter().zip(values).enumerate() {
                if let Some(at) = broken.iter().position(|(index, _)| *index == i) {
                    let (_, b) = broken.swap_remove(at);
                    params.push(meta.name);
                    if !rules.contains(&b.rule) {
                        rules.push(b.rule);
                    }
                    summary.push(format!("{}: {}", meta.name, b.what));
                    pairs.push(b.pairs);
                } else {
                    pairs.push(value.map(|v| plain(meta, v)).unwrap_or_default());
                }
            }
            if params.len() > 1 {
                rules.push(Rule::ROrder.id());
            }
            // A missing required parameter makes the AMP003 itself documented (D-REQUIRED).
            if let Some(at) = rules.iter().position(|r| *r == Rule::DRequired.id()) {
                let rule = rules.remove(at);
                rules.insert(0, rule);
            }
            let (action_pairs, expected) = match action {
                Some((broken_action, rule)) => {
                    summary.insert(0, "action: missing or invalid".to_owned());
                    (
                        Some(broken_action),
                        ExpectedError {
                            code: ErrorCode::InvalidAction,
                            params: vec![ACTION_PARAM],
                            rules: vec![rule, Rule::ROrder.id()],
                        },
                    )
                }
                None => (
                    Some(vec![(
                        ACTION_PARAM.as_bytes().to_vec(),
                        A::NAME.as_bytes().to_vec(),
                    )]),
                    ExpectedError {
                        code: ErrorCode::MissingParameters,
                        params,
                        rules,
                    },
                ),
            };
            InvalidRequest {
                form: assemble(action_pairs, pairs),
                expected,
                summary: summary.join("; "),
            }
        })
        .boxed()
}
