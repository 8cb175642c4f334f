//! Persisting validation findings: per interval and version, with open/closed status.
//!
//! A run compares what the rules report with the findings still open in the validated
//! window: new ones are inserted (or re-opened when they had been cleared), open ones that
//! are no longer reported are closed (superseded when the interval has a newer version
//! than the one judged, cleared otherwise). Accepted findings stay accepted. The `vee_run`
//! row is written only when a run changes something, so validating clean data writes
//! nothing.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::vee_window::{Channel, Slice, Window};
use crate::StoreError;
use crate::error::SqliteContext;
use crate::vee::{Finding, FindingStatus};

/// What started a validation run (the `vee_run.cause` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Ingest,
    Revalidate,
    Estimate,
    Edit,
}

impl Cause {
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

/// Key of a finding within a channel: (interval end, rule code, version).
type Key = (i64, i64, i64);

const OPEN_IN_WINDOW: &str = "SELECT interval_end, rule, version FROM vee_finding \
    WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end BETWEEN ?3 AND ?4 AND status = 0";
const UPSERT: &str = "INSERT INTO vee_finding \
    (meter_id, reading_type_id, interval_end, rule, version, measured, limit_value, status, run_id) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8) \
    ON CONFLICT (meter_id, reading_type_id, interval_end, rule, version) DO UPDATE SET \
    status = 0, measured = excluded.measured, limit_value = excluded.limit_value, run_id = excluded.run_id, \
    closed_run_id = NULL WHERE vee_finding.status IN (1, 2)";
const CLOSE: &str = "UPDATE vee_finding SET status = ?6, closed_run_id = ?7 \
    WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end = ?3 AND rule = ?4 AND version = ?5";
const NEW_RUN: &str = "INSERT INTO vee_run (meter_id, reading_type_id, at_ms, cause, meter_class, window_from, window_to) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Records `findings` of a run over `win` and closes the window's open findings no longer
/// reported. `slice` gives each interval's latest version.
pub(crate) fn persist(
    tx: &Connection,
    ch: &Channel<'_>,
    win: &Window,
    slice: &Slice,
    findings: &[Finding],
    cause: Cause,
    at_ms: i64,
) -> Result<Persisted, StoreError> {
    let mut open: HashSet<Key> = HashSet::new();
    {
        let mut stmt = tx.prepare_cached(OPEN_IN_WINDOW).context("preparing the open-findings query")?;
        let mut rows =
            stmt.query(params![ch.meter_id, ch.reading_type_id, win.from, win.to]).context("loading open findings")?;
        while let Some(r) = rows.next().context("loading open findings")? {
            open.insert((
                r.get(0).context("open finding")?,
                r.get(1).context("open finding")?,
                r.get(2).context("open finding")?,
            ));
        }
    }
    let mut run: Option<i64> = None;
    let mut run_id = |tx: &Connection| -> Result<i64, StoreError> {
        if let Some(id) = run {
            return Ok(id);
        }
        tx.prepare_cached(NEW_RUN)
            .and_then(|mut s| {
                s.execute(params![
                    ch.meter_id,
                    ch.reading_type_id,
                    at_ms,
                    cause.as_str(),
                    ch.class.name,
                    win.from,
                    win.to
                ])
            })
            .context("recording a validation run")?;
        let id = tx.last_insert_rowid();
        run = Some(id);
        Ok(id)
    };
    let mut counts = Persisted { reported: findings.len() as u64, ..Persisted::default() };
    let mut reported: HashSet<Key> = HashSet::with_capacity(findings.len());
    for f in findings {
        let key = (f.interval_end.as_second(), i64::from(f.rule.code()), i64::from(f.version));
        reported.insert(key);
        if open.contains(&key) {
            continue;
        }
        let id = run_id(tx)?;
        let changed = tx
            .prepare_cached(UPSERT)
            .and_then(|mut s| {
                s.execute(params![ch.meter_id, ch.reading_type_id, key.0, key.1, key.2, f.measured, f.limit, id])
            })
            .context("recording a finding")?;
        counts.new += changed as u64;
    }
    for key in open.difference(&reported) {
        let latest = slice.version_at(key.0).map_or(0, i64::from);
        let status = if latest != key.2 { FindingStatus::Superseded } else { FindingStatus::Cleared };
        let id = run_id(tx)?;
        tx.prepare_cached(CLOSE)
            .and_then(|mut s| {
                s.execute(params![ch.meter_id, ch.reading_type_id, key.0, key.1, key.2, status.code(), id])
            })
            .context("closing a finding")?;
        match status {
            FindingStatus::Superseded => counts.superseded += 1,
            _ => counts.cleared += 1,
        }
    }
    Ok(counts)
}
