//! Persisting validation findings: per interval and version, with open/closed status.
//!
//! A run compares what the rules report with the findings still open in the validated
//! window: new ones are inserted (or re-opened when they had been cleared), open ones that
//! are no longer reported are closed (superseded when the interval has a newer version
//! than the one judged, cleared otherwise). Accepted findings stay accepted. The run is
//! recorded only when it changes something, so validating clean data writes nothing.

use std::collections::HashSet;

use super::{Channel, FindingKey, Slice, VeeTx, Window};
use crate::StoreError;
use crate::vee::{Finding, FindingStatus};

/// What started a validation run (stored as its cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Ingest,
    Revalidate,
    Estimate,
    Edit,
}

impl Cause {
    /// The stored name: "ingest", "revalidate", "estimate" or "edit".
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Ingest => "ingest",
            Cause::Revalidate => "revalidate",
            Cause::Estimate => "estimate",
            Cause::Edit => "edit",
        }
    }
}

/// Counts of one persisted run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Persisted {
    pub new: u64,
    pub reported: u64,
    pub cleared: u64,
    pub superseded: u64,
}

/// Records `findings` of a run over `win` and closes the window's open findings no longer
/// reported. `slice` gives each interval's latest version.
pub(crate) fn persist<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    slice: &Slice,
    findings: &[Finding],
    cause: Cause,
    at_ms: i64,
) -> Result<Persisted, StoreError> {
    let open = tx.open_findings(ch, win.from, win.to)?;
    let mut run: Option<i64> = None;
    let mut run_id = |tx: &mut T| -> Result<i64, StoreError> {
        if let Some(id) = run {
            return Ok(id);
        }
        let id = tx.insert_run(ch, win, cause, at_ms)?;
        run = Some(id);
        Ok(id)
    };
    let mut counts = Persisted { reported: findings.len() as u64, ..Persisted::default() };
    let mut reported: HashSet<FindingKey> = HashSet::with_capacity(findings.len());
    for f in findings {
        let key = (f.interval_end.as_second(), i64::from(f.rule.code()), i64::from(f.version));
        reported.insert(key);
        if open.contains(&key) {
            continue;
        }
        let id = run_id(tx)?;
        counts.new += tx.upsert_finding(ch, key, f.measured, f.limit, id)?;
    }
    // Closed in key order, so a run writes the same rows in the same order on every backend.
    let mut closing: Vec<&FindingKey> = open.difference(&reported).collect();
    closing.sort_unstable();
    for key in closing {
        let latest = slice.version_at(key.0).map_or(0, i64::from);
        let status = if latest != key.2 { FindingStatus::Superseded } else { FindingStatus::Cleared };
        let id = run_id(tx)?;
        tx.close_finding(ch, *key, status, id)?;
        match status {
            FindingStatus::Superseded => counts.superseded += 1,
            _ => counts.cleared += 1,
        }
    }
    Ok(counts)
}
