//! In-memory report storage with strictly increasing ids (R-IDS, D-UNIQUE).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use amp_contract::{ReportRecord, ResolvedCreate};

/// Reports of one server life. An id is assigned and its report stored under one lock, so ids
/// increase in the order of storage and none is lost or repeated under concurrency.
#[derive(Debug, Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    last_id: u64,
    reports: BTreeMap<u64, ReportRecord>,
    /// Most reports kept: beyond, the oldest is forgotten (ids still never repeat).
    max: Option<usize>,
}

impl Store {
    /// An empty store; the first report gets id 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that keeps the latest `max` reports: a deep run's embedded server need
    /// not hold a million reports, since the observer reads each one just after its create.
    pub fn bounded(max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                max: Some(max.max(1)),
                ..Inner::default()
            }),
        }
    }

    /// Stores a report and returns its new id.
    pub fn insert(&self, values: ResolvedCreate) -> u64 {
        // A panic while holding the lock cannot leave the map half-written (insert is the
        // last step), so a poisoned lock is still consistent.
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.last_id += 1;
        let report_id = inner.last_id;
        inner
            .reports
            .insert(report_id, ReportRecord { report_id, values });
        if inner.max.is_some_and(|max| inner.reports.len() > max) {
            inner.reports.pop_first();
        }
        report_id
    }

    /// The report with this id.
    pub fn get(&self, report_id: u64) -> Option<ReportRecord> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.reports.get(&report_id).cloned()
    }

    /// Every report, in id order.
    pub fn all(&self) -> Vec<ReportRecord> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.reports.values().cloned().collect()
    }

    /// How many reports are stored.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reports
            .len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_contract::{Action, AssumeExists, CreateAbuseReport};

    #[test]
    fn a_bounded_store_forgets_the_oldest_and_never_repeats_an_id() {
        let store = Store::bounded(3);
        let values = CreateAbuseReport::new(1, "Spam").resolve(&mut AssumeExists);
        let ids: Vec<u64> = (0..5).map(|_| store.insert(values.clone())).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        assert_eq!(store.len(), 3);
        assert!(store.get(2).is_none() && store.get(3).is_some() && store.get(5).is_some());
    }
}
