//! Property cases: valid and invalid requests from `amp_contract`'s generated strategies, and
//! wire-level mutations of valid requests whose expected outcome the contract itself computes.
//! A seed makes every run replayable; each case keeps the seed of its value tree
//! ([`TreeSeed`]), so that a failing case can be grown again and shrunk.

use amp_contract::action::ACTION_PARAM;
use amp_contract::field::Kind;
use amp_contract::rules::Rule;
use amp_contract::strategy::{ActionStrategies, GenConfig, InvalidRequest, ValidRequest};
use amp_contract::{Action, CreateAbuseReport, envelope::ServiceDirectory};
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::{Auth, BodySpec, Case, Encoding, Expectation, Generator, Origin, RequestSpec};

/// What the generators may assume about the target.
#[derive(Debug, Clone)]
pub struct PropertyContext {
    /// How many property cases to make.
    pub cases: usize,
    /// The run's seed.
    pub seed: u64,
    /// Services that exist (for valid requests). Empty: none known.
    pub services: Vec<u32>,
    /// A service id known not to exist; used for every request not meant to write when the
    /// run may not write, so that a server that wrongly accepts creates nothing.
    pub missing_service: Option<u32>,
    /// Whether requests may create reports.
    pub allow_writes: bool,
    /// Whether requests may carry a suspending `suspend_method`.
    pub allow_suspend: bool,
}

/// A generated case and the seed of the value tree behind it, for shrinking.
pub struct PropertyCase {
    /// The case.
    pub case: Case,
    /// What grows its tree again.
    pub tree: TreeSeed,
}

/// What grows a generated case's value tree again, exactly as it was: the generator's random
/// state just before the case was drawn, the strategy's settings and the kind of case. It is
/// plain data (a value tree is not `Send`), so cases can be planned on another thread than
/// the one that shrinks them, and it is small: a tree is grown only for a failing case.
#[derive(Debug, Clone)]
pub struct TreeSeed {
    rng: TestRng,
    config: std::sync::Arc<GenConfig>,
    kind: SeedKind,
}

#[derive(Debug, Clone, Copy)]
enum SeedKind {
    Valid,
    Invalid,
    Mutation(Mutation),
}

impl TreeSeed {
    /// The case's value tree, at the value the case was made from.
    pub fn grow(&self) -> Result<Tree, String> {
        let mut runner = TestRunner::new_with_rng(Config::default(), self.rng.clone());
        let config = &self.config;
        Ok(match self.kind {
            SeedKind::Valid => Tree::Valid(
                CreateAbuseReport::valid_requests(config)
                    .new_tree(&mut runner)
                    .map_err(|e| e.to_string())?,
            ),
            SeedKind::Invalid => Tree::Invalid(
                CreateAbuseReport::invalid_requests(config)
                    .new_tree(&mut runner)
                    .map_err(|e| e.to_string())?,
            ),
            SeedKind::Mutation(mutation) => Tree::Mutation(
                CreateAbuseReport::valid_requests(config)
                    .new_tree(&mut runner)
                    .map_err(|e| e.to_string())?,
                mutation,
            ),
        })
    }
}

/// The value tree of a generated case.
pub enum Tree {
    /// A valid request.
    Valid(Box<dyn ValueTree<Value = ValidRequest<CreateAbuseReport>>>),
    /// An invalid request.
    Invalid(Box<dyn ValueTree<Value = InvalidRequest>>),
    /// A mutation of a valid request.
    Mutation(
        Box<dyn ValueTree<Value = ValidRequest<CreateAbuseReport>>>,
        Mutation,
    ),
}

impl Tree {
    /// Simplifies one step; false when nothing simpler exists.
    pub fn simplify(&mut self) -> bool {
        match self {
            Self::Valid(t) | Self::Mutation(t, _) => t.simplify(),
            Self::Invalid(t) => t.simplify(),
        }
    }

    /// Undoes part of the last simplification; false when there is nothing to undo.
    pub fn complicate(&mut self) -> bool {
        match self {
            Self::Valid(t) | Self::Mutation(t, _) => t.complicate(),
            Self::Invalid(t) => t.complicate(),
        }
    }

    /// The case at the tree's current value, with `template`'s id and origin.
    pub fn current(&self, template: &Case) -> Case {
        let mut case = match self {
            Self::Valid(t) => valid_case(t.current()),
            Self::Invalid(t) => invalid_case(t.current()),
            Self::Mutation(t, m) => m.apply(t.current()),
        };
        case.id = template.id.clone();
        case.origin = template.origin.clone();
        case
    }
}

fn valid_case(request: ValidRequest<CreateAbuseReport>) -> Case {
    Case {
        id: String::new(),
        rules: vec![Rule::DSuccess, Rule::DOptionals],
        title: "a generated valid create succeeds".to_owned(),
        admin_notes_under_test: request.value.admin_notes != String::new(),
        // The generated texts (up to 64 KiB) are moved into the case, not copied.
        request: RequestSpec::form(request.form.into_pairs()),
        expect: Expectation::Success,
        origin: Origin::Stateful,
    }
}

fn invalid_case(request: InvalidRequest) -> Case {
    let status = 200;
    // The marker goes into every request that does not send the field itself: a lenient
    // server may accept an invalid create, and its report must be findable.
    let admin_notes_under_test = amp_contract::create::admin_notes_name().is_some_and(|notes| {
        request
            .form
            .iter()
            .any(|(k, _)| k.starts_with(notes.as_bytes()))
    });
    Case {
        id: String::new(),
        rules: request
            .expected
            .rules
            .iter()
            .filter_map(|r| Rule::from_id(r))
            .collect(),
        title: format!("generated invalid create ({})", request.summary),
        request: RequestSpec::form(request.form.into_pairs()),
        expect: Expectation::Error {
            code: request.expected.code,
            params: request
                .expected
                .params
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            status,
        },
        origin: Origin::Stateful,
        admin_notes_under_test,
    }
}

/// A wire-level change to a valid request; the contract computes what it must then get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// An earlier occurrence of a required text parameter with another value (last wins).
    DuplicateKey,
    /// A required parameter left out.
    MissingKey,
    /// Pairs with an empty key and empty segments.
    EmptyKey,
    /// `%20` instead of `+` for spaces.
    Percent20,
    /// A literal invalid percent escape in a text value.
    BadEscape,
    /// Invalid UTF-8 in a text value.
    InvalidUtf8,
    /// A body over 1 MiB.
    Oversize,
    /// A content type that is not a form.
    OtherContentType,
    /// The same pairs as `multipart/form-data`.
    Multipart,
    /// The header name in lower case (`api_id`, as many HTTP clients send it) instead of the
    /// page's `API_ID`.
    HeaderCase,
    /// The action moved to the query string.
    QueryString,
    /// Another method than POST.
    OtherMethod,
}

impl Mutation {
    /// Every mutation, in the order generation cycles through them.
    pub const ALL: [Mutation; 12] = [
        Self::DuplicateKey,
        Self::MissingKey,
        Self::EmptyKey,
        Self::Percent20,
        Self::BadEscape,
        Self::InvalidUtf8,
        Self::Oversize,
        Self::OtherContentType,
        Self::Multipart,
        Self::HeaderCase,
        Self::QueryString,
        Self::OtherMethod,
    ];

    /// Its name in case ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::DuplicateKey => "duplicate-key",
            Self::MissingKey => "missing-key",
            Self::EmptyKey => "empty-key",
            Self::Percent20 => "percent20",
            Self::BadEscape => "bad-escape",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::Oversize => "oversize",
            Self::OtherContentType => "other-content-type",
            Self::Multipart => "multipart",
            Self::HeaderCase => "header-case",
            Self::QueryString => "query-string",
            Self::OtherMethod => "other-method",
        }
    }

    fn rule(self) -> Rule {
        match self {
            Self::DuplicateKey | Self::EmptyKey => Rule::RDuplicate,
            Self::MissingKey => Rule::DRequired,
            Self::Percent20 | Self::BadEscape | Self::InvalidUtf8 => Rule::RUtf8,
            Self::Oversize | Self::OtherContentType | Self::Multipart => Rule::RBody,
            Self::HeaderCase => Rule::DAuth,
            Self::QueryString | Self::OtherMethod => Rule::RMethod,
        }
    }

    /// The mutated case. Its expectation is left as success here and set by the planner
    /// from the contract's own answer to the exact bytes ([`super::WireRequest::oracle`]).
    pub fn apply(self, request: ValidRequest<CreateAbuseReport>) -> Case {
        let text_field = CreateAbuseReport::FIELDS
            .iter()
            .find(|f| f.required() && f.kind == Kind::Text)
            .map_or("", |f| f.name)
            .as_bytes()
            .to_vec();
        let admin_notes_under_test = request.value.admin_notes != String::new();
        let mut pairs = request.form.into_pairs();
        let mut spec = RequestSpec::form(Vec::new());
        match self {
            Self::DuplicateKey => pairs.insert(1, (text_field.clone(), b"Earlier value".to_vec())),
            Self::MissingKey => pairs.retain(|(k, _)| *k != text_field),
            Self::EmptyKey => {
                pairs.insert(1, (Vec::new(), b"orphan".to_vec()));
                pairs.push((Vec::new(), Vec::new()));
            }
            Self::Percent20 => {
                spec.body = BodySpec::Form {
                    pairs: Vec::new(),
                    encoding: Encoding::UrlencodedPercent20,
                };
                // The value is replaced, not repeated: a repeated key is R-DUPLICATE's matter.
                for (key, value) in &mut pairs {
                    if *key == text_field {
                        *value = b"with spaces inside".to_vec();
                    }
                }
            }
            Self::Multipart => {
                spec.body = BodySpec::Form {
                    pairs: Vec::new(),
                    encoding: Encoding::Multipart,
                };
            }
            Self::HeaderCase => spec.auth = Auth::ValidAs("api_id".to_owned()),
            Self::OtherMethod => spec.method = "PUT".to_owned(),
            Self::BadEscape
            | Self::InvalidUtf8
            | Self::Oversize
            | Self::OtherContentType
            | Self::QueryString => {}
        }
        match (self, &mut spec.body) {
            (Self::BadEscape | Self::InvalidUtf8 | Self::Oversize, _) => {
                // The text field is sent once, with the broken value, in a form body.
                pairs.retain(|(k, _)| *k != text_field);
                spec.content_type = Some(super::FORM.to_owned());
                let mut raw = amp_contract::form::FormPairs::from_pairs(
                    pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
                )
                .to_urlencoded()
                .into_bytes();
                raw.push(b'&');
                raw.extend_from_slice(&text_field);
                raw.extend_from_slice(match self {
                    Self::BadEscape => b"=100%25+sure+%zz+%".as_slice(),
                    Self::InvalidUtf8 => b"=caf%E9",
                    _ => b"=",
                });
                if self == Self::Oversize {
                    raw.resize(amp_contract::envelope::BODY_LIMIT + 1024, b'a');
                }
                spec.body = BodySpec::Raw(raw);
            }
            (Self::OtherContentType, _) => {
                spec.content_type = Some("text/plain; charset=UTF-8".to_owned());
                spec.body = BodySpec::Form {
                    pairs,
                    encoding: Encoding::Urlencoded,
                };
            }
            (Self::QueryString, _) => {
                let action: Vec<_> = pairs
                    .iter()
                    .filter(|(k, _)| k == ACTION_PARAM.as_bytes())
                    .cloned()
                    .collect();
                pairs.retain(|(k, _)| k != ACTION_PARAM.as_bytes());
                spec.query = Some(
                    amp_contract::form::FormPairs::from_pairs(
                        action.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
                    )
                    .to_urlencoded(),
                );
                spec.body = BodySpec::Form {
                    pairs,
                    encoding: Encoding::Urlencoded,
                };
            }
            (_, BodySpec::Form { pairs: slot, .. }) => *slot = pairs,
            (_, BodySpec::Raw(_)) => {}
        }
        Case {
            id: String::new(),
            rules: vec![self.rule()],
            title: format!("wire mutation `{}` of a valid create", self.name()),
            request: spec,
            expect: Expectation::Success,
            origin: Origin::Stateful,
            admin_notes_under_test,
        }
    }
}

fn runner(seed: u64, stream: u64) -> TestRunner {
    // Each generator draws from its own stream, so adding cases to one leaves the others alone.
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&stream.to_le_bytes());
    bytes[16..24].copy_from_slice(&0x616d_702d_6b69_7400u64.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// What the generators may use: the lookup field's values, and no suspension unless allowed.
fn gen_config(cx: &PropertyContext, writing: bool) -> GenConfig {
    let mut config = GenConfig::new();
    for field in CreateAbuseReport::FIELDS {
        if field.lookup {
            let values: Vec<String> = if writing || cx.services.is_empty() {
                cx.services.iter().map(u32::to_string).collect()
            } else {
                cx.missing_service
                    .map(|m| m.to_string())
                    .into_iter()
                    .collect()
            };
            if !values.is_empty() {
                config = config.with_values(field.name, values);
            }
            if let Some(missing) = cx.missing_service {
                config = config.with_missing(field.name, [missing.to_string()]);
            }
        }
        if field.kind == Kind::Enumeration && !cx.allow_suspend {
            let safe: Vec<&str> = field
                .allowed
                .iter()
                .copied()
                .filter(|v| {
                    !amp_contract::create::pairs_may_suspend([(
                        field.name.as_bytes(),
                        v.as_bytes(),
                    )])
                })
                .collect();
            config = config.with_values(field.name, safe);
        }
    }
    config
}

/// Generates the property cases of a run: about a third valid, the rest invalid and mutations.
pub fn generate(
    cx: &PropertyContext,
    _services: &impl ServiceDirectory,
) -> Result<Vec<PropertyCase>, String> {
    Cases::new(cx).collect()
}

/// The property cases of a run, made one at a time as they are asked for (a deep run keeps only
/// those in flight): the valid ones, then the invalid ones, then the mutations, each kind from
/// its own random stream, so the sequence is the same as [`generate`]'s for the same seed.
pub struct Cases {
    valid: Drawn<ValidRequest<CreateAbuseReport>>,
    invalid: Drawn<InvalidRequest>,
    base: Drawn<ValidRequest<CreateAbuseReport>>,
    counts: [usize; 3],
    /// Which kind is next (0 valid, 1 invalid, 2 mutation) and its index.
    next: (usize, usize),
}

/// One kind of case: its strategy, the settings it was built from (for [`TreeSeed`]), and its
/// own random stream.
struct Drawn<T> {
    strategy: BoxedStrategy<T>,
    config: std::sync::Arc<GenConfig>,
    runner: TestRunner,
}

impl<T: std::fmt::Debug> Drawn<T> {
    fn new(
        config: GenConfig,
        strategy: fn(&GenConfig) -> BoxedStrategy<T>,
        seed: u64,
        stream: u64,
    ) -> Self {
        Self {
            strategy: strategy(&config),
            config: std::sync::Arc::new(config),
            runner: runner(seed, stream),
        }
    }

    /// The next value, and the seed that grows its tree again.
    fn draw(&mut self, kind: SeedKind) -> Result<(T, TreeSeed), String> {
        let seed = TreeSeed {
            rng: self.runner.rng().clone(),
            config: self.config.clone(),
            kind,
        };
        let tree = self
            .strategy
            .new_tree(&mut self.runner)
            .map_err(|e| e.to_string())?;
        Ok((tree.current(), seed))
    }
}

impl Cases {
    /// The cases for `cx`.
    pub fn new(cx: &PropertyContext) -> Self {
        let valid_count = cx.cases * 3 / 10;
        let mutation_count = cx.cases / 4;
        let invalid_count = cx.cases.saturating_sub(valid_count + mutation_count);
        Self {
            valid: Drawn::new(
                gen_config(cx, true),
                CreateAbuseReport::valid_requests,
                cx.seed,
                1,
            ),
            invalid: Drawn::new(
                gen_config(cx, cx.allow_writes),
                CreateAbuseReport::invalid_requests,
                cx.seed,
                2,
            ),
            base: Drawn::new(
                gen_config(cx, cx.allow_writes),
                CreateAbuseReport::valid_requests,
                cx.seed,
                3,
            ),
            counts: [valid_count, invalid_count, mutation_count],
            next: (0, 0),
        }
    }

    /// How many cases remain.
    pub fn remaining(&self) -> usize {
        let (kind, index) = self.next;
        self.counts
            .iter()
            .enumerate()
            .map(|(k, &n)| match k.cmp(&kind) {
                std::cmp::Ordering::Less => 0,
                std::cmp::Ordering::Equal => n.saturating_sub(index),
                std::cmp::Ordering::Greater => n,
            })
            .sum()
    }

    fn make(&mut self, kind: usize, index: usize) -> Result<PropertyCase, String> {
        let (mut case, tree, generator) = match kind {
            0 => {
                let (value, seed) = self.valid.draw(SeedKind::Valid)?;
                let mut case = valid_case(value);
                case.id = format!("prop/valid/{index:04}");
                (case, seed, Generator::Valid)
            }
            1 => {
                let (value, seed) = self.invalid.draw(SeedKind::Invalid)?;
                let mut case = invalid_case(value);
                case.id = format!("prop/invalid/{index:04}");
                (case, seed, Generator::Invalid)
            }
            _ => {
                let mutation = Mutation::ALL[index % Mutation::ALL.len()];
                let (value, seed) = self.base.draw(SeedKind::Mutation(mutation))?;
                let mut case = mutation.apply(value);
                case.id = format!("prop/mutation/{}/{index:04}", mutation.name());
                (case, seed, Generator::Mutation)
            }
        };
        case.origin = Origin::Property { generator, index };
        Ok(PropertyCase { case, tree })
    }
}

impl Iterator for Cases {
    type Item = Result<PropertyCase, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (kind, index) = self.next;
            let count = *self.counts.get(kind)?;
            if index < count {
                self.next = (kind, index + 1);
                return Some(self.make(kind, index));
            }
            self.next = (kind + 1, 0);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}
