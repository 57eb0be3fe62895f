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
}

impl Store {
    /// An empty store; the first report gets id 1.
    pub fn new() -> Self {
        Self::default()
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
