//! Every check of a run, in memory independent of their number: the first [`KEPT_CHECKS`] in
//! memory, the rest appended to an anonymous temporary file as JSON lines, and a
//! [`Tally`] of all of them (counts, findings with their smallest
//! examples, skipped reasons), which is what the terminal and Markdown reports need. The JSON
//! and JUnit reports read every check back, one at a time.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::ops::{Deref, DerefMut};

use serde::{Serialize, Serializer};

use super::CheckResult;
use super::findings::{Tally, accepted_by, name};

/// How many checks a run keeps in memory; the rest go to a temporary file.
pub const KEPT_CHECKS: usize = 2000;

/// The checks of a run. It dereferences to the checks kept in memory (all of them for a run of
/// at most [`KEPT_CHECKS`]); [`CheckLog::len_all`], [`CheckLog::iter_all`] and the
/// serialisation cover every check.
#[derive(Debug, Default)]
pub struct CheckLog {
    kept: Vec<CheckResult>,
    spill: Option<Spill>,
    tally: Tally,
    /// The `--known-failures` entries applied as checks arrive, and those that matched.
    entries: HashSet<String>,
    matched: HashSet<String>,
}

/// The checks beyond those kept in memory.
#[derive(Debug)]
struct Spill {
    /// `None` when no temporary file could be made.
    file: Option<BufWriter<File>>,
    count: usize,
    /// Why a check could not be written (the disk is full): said once, in the JSON report's
    /// place of the checks that are missing.
    error: Option<String>,
}

impl Clone for CheckLog {
    /// A copy of the checks kept in memory and of the tally (a report's spilled checks stay
    /// with the original).
    fn clone(&self) -> Self {
        Self {
            kept: self.kept.clone(),
            spill: None,
            tally: self.tally.clone(),
            entries: self.entries.clone(),
            matched: self.matched.clone(),
        }
    }
}

impl CheckLog {
    /// An empty log that marks the checks `entries` accept as known failures as they arrive.
    pub fn with_known_failures(entries: HashSet<String>) -> Self {
        Self {
            entries,
            ..Self::default()
        }
    }

    /// Adds a check: marked as a known failure if an entry accepts it, counted, kept in
    /// memory or written to the temporary file.
    pub fn push(&mut self, mut check: CheckResult) {
        let accepted = accepted_by(&check, &self.entries);
        check.known_failure = !accepted.is_empty();
        for entry in accepted {
            if !self.matched.contains(entry) {
                self.matched.insert(entry.to_owned());
            }
        }
        if check.finding.is_none() && super::findings::grouped(check.class) {
            check.finding = Some(name(check.rule, check.deviation.as_ref()));
        }
        self.tally.add(&check);
        if self.kept.len() < KEPT_CHECKS {
            self.kept.push(check);
            return;
        }
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => match tempfile::tempfile() {
                Ok(file) => self.spill.insert(Spill {
                    file: Some(BufWriter::new(file)),
                    count: 0,
                    error: None,
                }),
                // Nowhere to write: the check is counted (the findings and the summary hold),
                // only its line in the JSON and JUnit reports is lost, which they say.
                Err(e) => self.spill.insert(Spill {
                    file: None,
                    count: 0,
                    error: Some(format!(
                        "cannot create a temporary file for the checks: {e}"
                    )),
                }),
            },
        };
        let Some(file) = spill.file.as_mut().filter(|_| spill.error.is_none()) else {
            return;
        };
        let written = serde_json::to_writer(&mut *file, &check)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"));
        match written {
            Ok(()) => spill.count += 1,
            Err(e) => spill.error = Some(format!("cannot write a check to a temporary file: {e}")),
        }
    }

    /// The tally of every check.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// How many checks, kept and written out.
    pub fn len_all(&self) -> usize {
        self.tally.total()
    }

    /// The known-failure entries that accepted a check.
    pub fn matched(&self) -> &HashSet<String> {
        &self.matched
    }

    /// Applies `entries` as known failures. Every check is marked again when all of them are
    /// in memory (a report built by hand, or a test that changed its checks); checks already
    /// written out keep the marks of the entries the log was made with.
    pub fn accept(&mut self, entries: &HashSet<String>) {
        if self.spill.is_some() {
            for entry in entries {
                if !self.entries.contains(entry) {
                    self.entries.insert(entry.clone());
                }
            }
            return;
        }
        let kept = std::mem::take(&mut self.kept);
        self.entries = entries.clone();
        self.matched.clear();
        self.tally = Tally::default();
        for check in kept {
            self.push(check);
        }
    }

    /// Why some checks are missing from [`CheckLog::iter_all`], if they are.
    pub fn spill_error(&self) -> Option<&str> {
        self.spill.as_ref().and_then(|s| s.error.as_deref())
    }

    /// Every check in run order: those kept in memory, then those read back from the file.
    pub fn iter_all(&self) -> impl Iterator<Item = Cow<'_, CheckResult>> {
        let spilled = self.spill.as_ref().and_then(|spill| {
            let mut file = spill.file.as_ref()?.get_ref().try_clone().ok()?;
            file.rewind().ok()?;
            Some(
                BufReader::new(file)
                    .lines()
                    .take(spill.count)
                    .map_while(Result::ok)
                    .filter_map(|line| serde_json::from_str::<CheckResult>(&line).ok())
                    .map(Cow::Owned),
            )
        });
        self.kept
            .iter()
            .map(Cow::Borrowed)
            .chain(spilled.into_iter().flatten())
    }

    /// Writes what is buffered for the file, so that [`CheckLog::iter_all`] reads it all.
    pub fn flush(&mut self) {
        if let Some(spill) = &mut self.spill {
            if let Some(Err(e)) = spill.file.as_mut().map(Write::flush) {
                spill.error = Some(format!("cannot write the checks to a temporary file: {e}"));
            }
        }
    }
}

impl From<Vec<CheckResult>> for CheckLog {
    fn from(checks: Vec<CheckResult>) -> Self {
        let mut log = Self::default();
        for check in checks {
            log.push(check);
        }
        log
    }
}

impl Deref for CheckLog {
    type Target = Vec<CheckResult>;

    fn deref(&self) -> &Self::Target {
        &self.kept
    }
}

/// Changing the kept checks directly (a test, a report built by hand) is followed by
/// [`CheckLog::accept`] (which [`super::RunReport::apply_known_failures`] calls) to count
/// them again.
impl DerefMut for CheckLog {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.kept
    }
}

impl Serialize for CheckLog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter_all())
    }
}

/// The checks kept in memory (every one of a run of at most [`KEPT_CHECKS`]).
impl<'a> IntoIterator for &'a CheckLog {
    type Item = &'a CheckResult;
    type IntoIter = std::slice::Iter<'a, CheckResult>;

    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

/// The checks kept in memory, to change (then [`CheckLog::accept`] counts them again).
impl<'a> IntoIterator for &'a mut CheckLog {
    type Item = &'a mut CheckResult;
    type IntoIter = std::slice::IterMut<'a, CheckResult>;

    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::judge::{Class, Deviation};
    use amp_contract::rules::Rule;

    fn check(n: usize) -> CheckResult {
        let failing = n % 10 == 0;
        CheckResult {
            id: format!("prop/valid/{n:06}"),
            rule: Rule::RStatus,
            rules: vec![Rule::RStatus],
            title: "a check".to_owned(),
            class: if failing {
                Class::NonStrict
            } else {
                Class::Pass
            },
            expected: "success".to_owned(),
            actual: format!("HTTP 200 success, report_id {n}"),
            reason: String::new(),
            deviation: failing.then_some(Deviation::Status {
                expected: 200,
                got: 400,
                media: None,
            }),
            finding: None,
            shrunk: None,
            reproduction: None,
            request: None,
            origin: "test".to_owned(),
            known_failure: false,
            elapsed_ms: None,
        }
    }

    /// A run of many checks keeps a bounded number in memory; every one is still counted,
    /// grouped, and read back in order for the JSON report.
    #[test]
    fn checks_beyond_those_kept_go_to_a_file_and_come_back_in_order() {
        let total = KEPT_CHECKS * 2 + 7;
        let mut log = CheckLog::with_known_failures(HashSet::new());
        for n in 0..total {
            log.push(check(n));
        }
        log.flush();
        assert_eq!(log.len(), KEPT_CHECKS);
        assert_eq!(log.len_all(), total);
        let ids: Vec<String> = log.iter_all().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), total);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let findings = log.tally().findings();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].count, total.div_ceil(10));
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        assert_eq!(json.len(), total);
        assert_eq!(
            json[KEPT_CHECKS * 2]["finding"],
            "R-STATUS:http-400-no-content-type-instead-of-200-application-json"
        );
    }
}
