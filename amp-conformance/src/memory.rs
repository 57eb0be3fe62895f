//! Memory across runs: report ids must never be reused (D-UNIQUE) over a server's whole life,
//! which one run cannot see (a server restarted with its id counter reset, or one reusing the
//! ids of deleted reports). The baseline directory keeps the ids the kit has seen from a
//! target, as ranges, with the run that saw the highest; a later run whose new ids were seen
//! before is a finding naming both runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file in the baseline directory.
pub(crate) const FILE: &str = "report-ids.json";

/// The ids seen from one target, over runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdMemory {
    /// Every id seen, as sorted, disjoint, inclusive ranges.
    pub(crate) ranges: Vec<(u64, u64)>,
    /// The highest id seen.
    pub(crate) highest: u64,
    /// The run that saw it.
    pub(crate) highest_run: String,
    /// Every run that added ids, oldest first (the last 20).
    pub(crate) runs: Vec<String>,
}

impl IdMemory {
    /// The memory in `dir`, or an empty one where there is none; an unreadable file is an
    /// error naming it.
    pub(crate) fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{}: not the kit's id memory ({e})", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes it to `dir`.
    pub(crate) fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }

    /// Whether `id` was seen before.
    #[cfg(test)]
    pub(crate) fn contains(&self, id: u64) -> bool {
        let at = self.ranges.partition_point(|&(_, end)| end < id);
        self.ranges.get(at).is_some_and(|&(start, _)| start <= id)
    }

    /// Adds the ids of `run`, given as inclusive ranges.
    pub(crate) fn add_ranges(&mut self, ranges: &[(u64, u64)], run: &str) {
        let mut all: Vec<(u64, u64)> = self.ranges.clone();
        all.extend_from_slice(ranges);
        if let Some(&(_, top)) = ranges.iter().max_by_key(|(_, end)| *end) {
            if top > self.highest || self.highest_run.is_empty() {
                self.highest = self.highest.max(top);
                self.highest_run = run.to_owned();
            }
        }
        self.ranges = merged(all);
        if !ranges.is_empty() {
            self.runs.push(run.to_owned());
            let excess = self.runs.len().saturating_sub(20);
            self.runs.drain(..excess);
        }
    }

    /// Adds the ids of `run`.
    #[cfg(test)]
    pub(crate) fn add(&mut self, ids: impl IntoIterator<Item = u64>, run: &str) {
        let mut all: Vec<(u64, u64)> = self.ranges.clone();
        let mut added = false;
        for id in ids {
            all.push((id, id));
            if id > self.highest || self.highest_run.is_empty() {
                self.highest = self.highest.max(id);
                self.highest_run = run.to_owned();
            }
            added = true;
        }
        self.ranges = merged(all);
        if added {
            self.runs.push(run.to_owned());
            let excess = self.runs.len().saturating_sub(20);
            self.runs.drain(..excess);
        }
    }
}

/// `ranges` sorted and merged: disjoint, inclusive, adjacent ones joined.
fn merged(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ranges_merge_and_answer_membership() {
        let mut memory = IdMemory::default();
        memory.add([5, 3, 4, 10, 12, 11], "run-a");
        assert_eq!(memory.ranges, [(3, 5), (10, 12)]);
        assert_eq!((memory.highest, memory.highest_run.as_str()), (12, "run-a"));
        assert!(memory.contains(4) && memory.contains(10) && !memory.contains(7));
        memory.add([6, 7, 8, 9, 13], "run-b");
        assert_eq!(memory.ranges, [(3, 13)]);
        assert_eq!(memory.runs, ["run-a", "run-b"]);
        let dir = std::env::temp_dir().join(format!("amp-memory-{}", std::process::id()));
        memory.save(&dir).unwrap();
        assert_eq!(IdMemory::load(&dir).unwrap(), memory);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
