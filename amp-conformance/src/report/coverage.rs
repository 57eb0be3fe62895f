//! What a run covered of the coverage model ([`crate::cases::coverage`]): each cell exercised
//! (answered, and for a create, read back through the observer) or not, and why not (the write
//! budget, a flag, no observer). Computed from the run's checks, so that every format shows
//! the same thing: one line in the terminal and Markdown, the whole list in JSON.

use serde::Serialize;

use amp_contract::rules::Rule;

use super::CheckResult;
use crate::cases::coverage::{self, ClassLayer};
use crate::judge::Class;

/// Why a cell was not exercised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "why", content = "detail")]
pub enum Why {
    /// The write budget was spent (`--max-writes`).
    Budget,
    /// A flag would enable it (`--allow-writes`, `--allow-suspend`, `--missing-service-id`, ...).
    Flag(String),
    /// The create was made but not read back: no observer (`--observe-url`, `--observe-cmd`).
    NoObserver,
    /// Only a create reaches it, and this run makes none.
    NeedsWrite,
    /// Not sent for another reason (the skip reason).
    Other(String),
}

impl Why {
    /// Reads a skipped check's reason.
    fn of_skip(reason: &str) -> Self {
        if reason.contains("--max-writes") {
            return Self::Budget;
        }
        for flag in [
            "--allow-writes",
            "--allow-suspend",
            "--missing-service-id",
            "--service",
        ] {
            if reason.contains(flag) {
                return Self::Flag(flag.to_owned());
            }
        }
        Self::Other(reason.to_owned())
    }

    fn short(&self) -> String {
        match self {
            Self::Budget => "write budget (--max-writes)".to_owned(),
            Self::Flag(flag) => flag.clone(),
            Self::NoObserver => "no observer".to_owned(),
            Self::NeedsWrite => "needs a create (--allow-writes)".to_owned(),
            Self::Other(reason) => reason.clone(),
        }
    }
}

/// Where one cell stands after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum CellState {
    /// Sent in a create and read back through the observer.
    Stored,
    /// Sent and answered (judged on the answer).
    Answered,
    /// Not exercised.
    Missed {
        /// Why.
        why: Why,
    },
}

/// One cell of the model and what the run did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellCoverage {
    /// `FIELD/CLASS` or `request/PART/FORM`.
    pub cell: String,
    /// Its layer.
    pub layer: ClassLayer,
    /// The rule it concerns.
    pub rule: Rule,
    /// Whether only a create reaches it.
    pub needs_write: bool,
    /// What the run did.
    pub state: CellState,
}

impl CellCoverage {
    /// Whether the run exercised it fully: a documented-valid value (what a server must store
    /// with its meaning) needs its create read back; any other cell needs an answer.
    pub fn exercised(&self) -> bool {
        match self.state {
            CellState::Stored => true,
            CellState::Answered => {
                self.layer != ClassLayer::DocumentedValid || self.cell.starts_with("request/")
            }
            CellState::Missed { .. } => false,
        }
    }
}

/// A packed create that was refused or stored wrong, narrowed down to the cells at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Narrowed {
    /// The check (`cover/create/NN`, or its `#stored` check).
    pub check: String,
    /// The cells it carried that the evidence points at: for a stored difference, the cells
    /// of the fields that differ; for a refusal, the cells whose single-value probe (the same
    /// value alone, the rest plain, read-only) was refused too.
    pub suspects: Vec<String>,
}

/// The coverage of a run, cell by cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunCoverage {
    /// Every cell of the model.
    pub cells: Vec<CellCoverage>,
    /// Packed creates refused or stored wrong, with the cells at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrowed: Vec<Narrowed>,
    /// Whether the run had no observer, so that no create could be read back.
    pub no_observer: bool,
}

impl RunCoverage {
    /// The cells the run reached (answered or stored).
    pub fn reached(&self) -> impl Iterator<Item = &CellCoverage> {
        self.cells
            .iter()
            .filter(|c| !matches!(c.state, CellState::Missed { .. }))
    }

    /// The cells it did not reach.
    pub fn missed(&self) -> impl Iterator<Item = &CellCoverage> {
        self.cells
            .iter()
            .filter(|c| matches!(c.state, CellState::Missed { .. }))
    }

    /// One line: how many cells were reached, how many documented-valid cells were read back,
    /// and why the rest were not reached.
    pub fn line(&self) -> Option<String> {
        if self.cells.is_empty() {
            return None;
        }
        // The documented-valid values: what a server must store with its meaning.
        let documented: Vec<&CellCoverage> = self
            .cells
            .iter()
            .filter(|c| c.layer == ClassLayer::DocumentedValid && !c.cell.starts_with("request/"))
            .collect();
        let stored = documented
            .iter()
            .filter(|c| c.state == CellState::Stored)
            .count();
        let mut why: Vec<(String, usize)> = Vec::new();
        for cell in self.missed() {
            if let CellState::Missed { why: w } = &cell.state {
                let w = w.short();
                match why.iter_mut().find(|(s, _)| *s == w) {
                    Some((_, n)) => *n += 1,
                    None => why.push((w, 1)),
                }
            }
        }
        let not = if why.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = why.iter().map(|(w, n)| format!("{n} by {w}")).collect();
            format!("; not reached: {}", parts.join(", "))
        };
        let narrowed: Vec<String> = self
            .narrowed
            .iter()
            .map(|n| {
                if n.suspects.is_empty() && n.check.ends_with("#stored") {
                    format!(
                        "{}: none of its model values (a plain field differs)",
                        n.check
                    )
                } else if n.suspects.is_empty() {
                    format!("{}: no single value alone (their combination)", n.check)
                } else {
                    format!("{}: {}", n.check, n.suspects.join(", "))
                }
            })
            .collect();
        let not = if narrowed.is_empty() {
            not
        } else {
            format!("{not}; at fault: {}", narrowed.join("; "))
        };
        Some(format!(
            "coverage: {} of {} model cells reached ({} answered, {} stored and read back; {} of \
             the {} documented-valid values sent in a create and read back{}){not} \
             (`amp-conformance list --coverage` shows the model)",
            self.reached().count(),
            self.cells.len(),
            self.cells
                .iter()
                .filter(|c| c.state == CellState::Answered)
                .count(),
            self.cells
                .iter()
                .filter(|c| c.state == CellState::Stored)
                .count(),
            stored,
            documented.len(),
            if self.no_observer && stored < documented.len() {
                ": no observer (--observe-url or --observe-cmd)"
            } else {
                ""
            }
        ))
    }
}

/// The coverage of the run whose checks are `checks` (the coverage cases travel with the
/// fixtures, among the first checks a run keeps in memory); `no_observer` when the run had
/// none.
pub fn summarise(checks: &[CheckResult], no_observer: bool) -> RunCoverage {
    let mut cells: Vec<CellCoverage> = coverage::all_cell_ids()
        .into_iter()
        .map(|(cell, layer, rule, needs_write)| CellCoverage {
            cell,
            layer,
            rule,
            needs_write,
            state: CellState::Missed {
                why: Why::NeedsWrite,
            },
        })
        .collect();
    let any_coverage = checks.iter().any(|c| !coverage::cells_of(&c.id).is_empty());
    if !any_coverage {
        // A replay, or a run of other cases: the model was not part of it.
        return RunCoverage::default();
    }
    for check in checks {
        let of = coverage::cells_of(&check.id);
        if of.is_empty() {
            continue;
        }
        let stored_check = check.id.ends_with("#stored");
        for id in of {
            let Some(cell) = cells.iter_mut().find(|c| c.cell == id) else {
                continue;
            };
            let state = match check.class {
                Class::Skipped => CellState::Missed {
                    why: Why::of_skip(&check.reason),
                },
                Class::Error if stored_check => continue,
                _ if stored_check => CellState::Stored,
                _ if coverage::is_packed_create(&check.id) && no_observer => {
                    // Answered, but the observer that would read it back is missing.
                    if cell.state == CellState::Stored {
                        continue;
                    }
                    CellState::Missed {
                        why: Why::NoObserver,
                    }
                }
                _ => CellState::Answered,
            };
            // The best state wins: stored over answered over missed (a budget skip over
            // "needs a write").
            let rank = |s: &CellState| match s {
                CellState::Stored => 4,
                CellState::Answered => 3,
                CellState::Missed {
                    why: Why::NoObserver,
                } => 2,
                CellState::Missed {
                    why: Why::NeedsWrite,
                } => 0,
                CellState::Missed { .. } => 1,
            };
            // A packed create answered but whose stored check is still to come counts as
            // answered for a cell only a create shows; its stored check upgrades it.
            if rank(&state) > rank(&cell.state) {
                cell.state = state;
            }
        }
    }
    let narrowed = narrow(checks);
    RunCoverage {
        cells,
        narrowed,
        no_observer,
    }
}

/// Whether `text` names `word` as a word (an AMP003 description naming a parameter).
fn names(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    !word.is_empty()
        && text.match_indices(word).any(|(at, _)| {
            !text[..at].chars().next_back().is_some_and(part)
                && !text[at + word.len()..].chars().next().is_some_and(part)
        })
}

/// Narrows down each failing packed create to the cells the evidence points at.
fn narrow(checks: &[CheckResult]) -> Vec<Narrowed> {
    let finding = |c: &CheckResult| matches!(c.class, Class::Fail | Class::NonStrict);
    checks
        .iter()
        .filter(|c| coverage::is_packed_create(&c.id) && finding(c))
        .map(|check| {
            let carried = coverage::cells_of(&check.id);
            let suspects: Vec<String> = if check.id.ends_with("#stored") {
                // The fields the stored record shows different (`FIELD "…", expected …`).
                carried
                    .into_iter()
                    .filter(|cell| {
                        cell.split('/').next().is_some_and(|field| {
                            check.actual.contains(&format!(": {field} "))
                                || check.actual.contains(&format!("; {field} "))
                        })
                    })
                    .collect()
            } else {
                // The values whose read-only probe (the value alone, the rest plain) got an
                // answer naming its field too; failing that, the fields the refusal names.
                let field = |cell: &str| cell.split('/').next().unwrap_or_default().to_owned();
                let probed: Vec<String> = carried
                    .iter()
                    .filter(|cell| {
                        checks.iter().any(|probe| {
                            !coverage::is_packed_create(&probe.id)
                                && coverage::cells_of(&probe.id) == [(*cell).clone()]
                                && names(&probe.actual, &field(cell))
                        })
                    })
                    .cloned()
                    .collect();
                if probed.is_empty() {
                    carried
                        .into_iter()
                        .filter(|cell| names(&check.actual, &field(cell)))
                        .collect()
                } else {
                    probed
                }
            };
            Narrowed {
                check: check.id.clone(),
                suspects,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_reasons_are_read() {
        assert_eq!(
            Why::of_skip("the write budget is spent (--max-writes 25; raise it)"),
            Why::Budget
        );
        assert_eq!(
            Why::of_skip("creates a report: pass --allow-writes to run it"),
            Why::Flag("--allow-writes".to_owned())
        );
    }

    #[test]
    fn names_is_by_word() {
        assert!(names(
            "Missing or invalid parameters: service_id, category.",
            "category"
        ));
        assert!(!names("invalid service_ip", "service"));
    }

    #[test]
    fn every_state_serialises() {
        let cell = |state| CellCoverage {
            cell: "category/zero".to_owned(),
            layer: ClassLayer::DocumentedValid,
            rule: Rule::DDefaults,
            needs_write: false,
            state,
        };
        let coverage = RunCoverage {
            cells: vec![
                cell(CellState::Stored),
                cell(CellState::Answered),
                cell(CellState::Missed { why: Why::Budget }),
                cell(CellState::Missed {
                    why: Why::Flag("--allow-writes".to_owned()),
                }),
                cell(CellState::Missed {
                    why: Why::NoObserver,
                }),
                cell(CellState::Missed {
                    why: Why::NeedsWrite,
                }),
                cell(CellState::Missed {
                    why: Why::Other("x".to_owned()),
                }),
            ],
            narrowed: vec![Narrowed {
                check: "cover/create/00".to_owned(),
                suspects: vec!["category/zero".to_owned()],
            }],
            no_observer: false,
        };
        let json = serde_json::to_value(&coverage).unwrap_or_default();
        assert_eq!(json["cells"][3]["state"]["why"]["detail"], "--allow-writes");
        assert_eq!(json["cells"][0]["rule"], "D-DEFAULTS");
    }

    #[test]
    fn no_coverage_checks_no_coverage() {
        assert!(summarise(&[], false).cells.is_empty());
        assert!(summarise(&[], false).line().is_none());
    }
}
