//! [`VeeTx`] over one open SQLite transaction: the statements VEE runs (the VEE logic
//! itself is engine-independent, in `crate::vee_run`).

use std::collections::HashSet;

use jiff::Timestamp;
use model::QualityFlags;
use rusqlite::{Connection, OptionalExtension, params};

use super::audit;
use super::ingest::{Versions, load_versions};
use super::series_table::INTERVALS;
use super::timestamp::from_second;
use super::vee_window::Deliveries;
use crate::StoreError;
use crate::error::SqliteContext;
use crate::vee::{Delivery, FindingStatus, RegisterPoint, SeriesPoint};
use crate::vee_run::{Cause, Channel, FindingKey, NewAudit, OpenFindingFilter, OpenFindingRow, VeeTx, Window};

// The bundled SQLite is built with SQLITE_ENABLE_STAT4: a statement whose plan choice
// (ORDER BY ... LIMIT, IN) looked at bound parameter values is re-prepared whenever they
// change, which costs a full SQL parse per execution. Writing the parameters as `?N + 0`
// keeps them out of the planner's estimates (the index is still used), so these cached
// statements are prepared once.
const BEFORE: &str = "SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND interval_end < ?3 + 0 \
    ORDER BY interval_end DESC, version DESC LIMIT 1";
const AFTER: &str = "SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND interval_end > ?3 + 0 \
    ORDER BY interval_end ASC, version DESC LIMIT 1";
const REGISTER_BEFORE: &str = "SELECT read_at FROM register_read \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND read_at < ?3 + 0 ORDER BY read_at DESC LIMIT 1";
const REGISTERS_IN: &str = "SELECT read_at, version, value FROM register_read \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND read_at >= ?3 + 0 AND read_at <= ?4 + 0 \
    ORDER BY read_at, version";
const MIDNIGHTS: &str = "SELECT interval_end, version, value FROM interval_reading \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND interval_end IN (SELECT value FROM json_each(?3)) \
    ORDER BY interval_end, version";

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

const INSERT_AUDITED: &str = "INSERT INTO interval_reading \
    (meter_id, reading_type_id, interval_end, version, value, quality, audit_id) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const EXTENT: &str = "SELECT MIN(interval_end), MAX(interval_end) FROM interval_reading \
    WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end >= ?3 AND interval_end < ?4";
const LATEST_AT: &str = "SELECT version, value FROM interval_reading \
    WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 AND interval_end = ?3 + 0 ORDER BY version DESC LIMIT 1";
const MATCHING_OPEN: &str = "SELECT meter_id, reading_type_id, interval_end, rule, version FROM vee_finding \
    WHERE status = 0 AND (?1 IS NULL OR meter_id = ?1) AND (?2 IS NULL OR reading_type_id = ?2) \
    AND (?3 IS NULL OR rule = ?3) AND (?4 IS NULL OR interval_end >= ?4) \
    AND (?5 IS NULL OR interval_end < ?5)";
const ACCEPT: &str = "UPDATE vee_finding SET status = 3, closed_audit_id = ?6 WHERE meter_id = ?1 \
    AND reading_type_id = ?2 AND interval_end = ?3 AND rule = ?4 AND version = ?5";

/// One open SQLite transaction as VEE sees it, with the collection sessions' delivery
/// facts cached for the operation.
pub(crate) struct SqliteVeeTx<'a> {
    pub tx: &'a Connection,
    pub deliveries: &'a mut Deliveries,
}

/// A stored version as `(end, version, value, quality, collection)`.
type Row = (i64, i64, f64, i64, Option<i64>);

fn delivery(tx: &Connection, deliveries: &mut Deliveries, collection_id: i64) -> Result<Delivery, StoreError> {
    if let Some(d) = deliveries.get(&collection_id) {
        return Ok(*d);
    }
    let (clock_drift_ms, interval_length_s): (Option<i64>, i64) = tx
        .prepare_cached("SELECT clock_drift_ms, interval_length_s FROM collection WHERE id = ?1")
        .and_then(|mut s| s.query_row([collection_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .context("loading a collection session")?;
    let interval_length_s = u32::try_from(interval_length_s)
        .map_err(|_| StoreError::Corrupt(format!("interval length {interval_length_s} s out of range")))?;
    let d = Delivery { clock_drift_ms, interval_length_s };
    deliveries.insert(collection_id, d);
    Ok(d)
}

fn point(tx: &Connection, deliveries: &mut Deliveries, row: Row, conflicting: bool) -> Result<SeriesPoint, StoreError> {
    let (end, version, value, quality, collection) = row;
    Ok(SeriesPoint {
        interval_end: from_second(end)?,
        value,
        quality: QualityFlags(
            u32::try_from(quality).map_err(|_| StoreError::Corrupt(format!("quality {quality} out of range")))?,
        ),
        version: u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("version {version} out of range")))?,
        delivery: collection.map(|c| delivery(tx, deliveries, c)).transpose()?,
        conflicting_deliveries: conflicting,
    })
}

/// The latest version of each key of `versions` as a series point, ordered.
pub(crate) fn points_of(
    tx: &Connection,
    deliveries: &mut Deliveries,
    versions: &Versions,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let mut out = Vec::with_capacity(versions.len());
    for (&end, k) in versions.iter() {
        let row = (end, i64::from(k.latest), k.latest_value, i64::from(k.latest_quality), k.latest_collection);
        out.push(point(tx, deliveries, row, k.conflicting)?);
    }
    Ok(out)
}

impl SqliteVeeTx<'_> {
    fn neighbour(&mut self, ch: &Channel<'_>, sql: &str, at: i64) -> Result<Option<SeriesPoint>, StoreError> {
        let row: Option<Row> = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![ch.meter_id, ch.reading_type_id, at], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
            })
            .context("loading a neighbouring interval")?;
        row.map(|row| point(self.tx, self.deliveries, row, false)).transpose()
    }
}

impl VeeTx for SqliteVeeTx<'_> {
    fn window_points(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        let versions = load_versions(self.tx, &INTERVALS, ch.meter_id, ch.reading_type_id, lo, hi)?;
        points_of(self.tx, self.deliveries, &versions)
    }

    fn point_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError> {
        self.neighbour(ch, BEFORE, at)
    }

    fn point_after(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError> {
        self.neighbour(ch, AFTER, at)
    }

    fn latest_values(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        let versions = load_versions(self.tx, &INTERVALS, ch.meter_id, ch.reading_type_id, lo, hi)?;
        versions
            .iter()
            .map(|(&end, k)| {
                Ok(SeriesPoint {
                    interval_end: from_second(end)?,
                    value: k.latest_value,
                    quality: QualityFlags(k.latest_quality),
                    version: k.latest,
                    delivery: None,
                    conflicting_deliveries: false,
                })
            })
            .collect()
    }

    fn register_read_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<i64>, StoreError> {
        self.tx
            .prepare_cached(REGISTER_BEFORE)
            .and_then(|mut s| s.query_row(params![ch.meter_id, ch.reading_type_id, at], |r| r.get(0)).optional())
            .context("loading the register read before a window")
    }

    fn register_reads(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<Vec<RegisterPoint>, StoreError> {
        let mut stmt = self.tx.prepare_cached(REGISTERS_IN).context("preparing the register query")?;
        let mut rows =
            stmt.query(params![ch.meter_id, ch.reading_type_id, from, to]).context("loading register reads")?;
        let mut out: Vec<RegisterPoint> = Vec::new();
        while let Some(row) = rows.next().context("loading register reads")? {
            let at: i64 = row.get(0).context("reading a register read time")?;
            let value: f64 = row.get(2).context("reading a register value")?;
            let read_at = from_second(at)?;
            match out.last_mut() {
                // Ordered by version: the last row of a read time is its latest version.
                Some(last) if last.read_at == read_at => last.value = value,
                _ => out.push(RegisterPoint { read_at, value }),
            }
        }
        Ok(out)
    }

    fn values_at(&mut self, ch: &Channel<'_>, ends: &[i64]) -> Result<Vec<(Timestamp, f64)>, StoreError> {
        let list = format!("[{}]", ends.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
        let mut stmt = self.tx.prepare_cached(MIDNIGHTS).context("preparing the history query")?;
        let mut rows =
            stmt.query(params![ch.meter_id, ch.reading_type_id, list]).context("loading history midnights")?;
        let mut out: Vec<(Timestamp, f64)> = Vec::new();
        while let Some(row) = rows.next().context("loading history midnights")? {
            let end: i64 = row.get(0).context("reading a history midnight")?;
            let value: f64 = row.get(2).context("reading a history value")?;
            let at = from_second(end)?;
            match out.last_mut() {
                // Ordered by version: the last row of an end is its latest version.
                Some(last) if last.0 == at => last.1 = value,
                _ => out.push((at, value)),
            }
        }
        Ok(out)
    }

    fn open_findings(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<HashSet<FindingKey>, StoreError> {
        let mut open = HashSet::new();
        let mut stmt = self.tx.prepare_cached(OPEN_IN_WINDOW).context("preparing the open-findings query")?;
        let mut rows =
            stmt.query(params![ch.meter_id, ch.reading_type_id, from, to]).context("loading open findings")?;
        while let Some(r) = rows.next().context("loading open findings")? {
            open.insert((
                r.get(0).context("open finding")?,
                r.get(1).context("open finding")?,
                r.get(2).context("open finding")?,
            ));
        }
        Ok(open)
    }

    fn insert_run(&mut self, ch: &Channel<'_>, win: &Window, cause: Cause, at_ms: i64) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(NEW_RUN)
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
        Ok(self.tx.last_insert_rowid())
    }

    fn upsert_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        measured: Option<f64>,
        limit: Option<f64>,
        run_id: i64,
    ) -> Result<u64, StoreError> {
        let changed = self
            .tx
            .prepare_cached(UPSERT)
            .and_then(|mut s| {
                s.execute(params![ch.meter_id, ch.reading_type_id, key.0, key.1, key.2, measured, limit, run_id])
            })
            .context("recording a finding")?;
        Ok(changed as u64)
    }

    fn close_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        status: FindingStatus,
        run_id: i64,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(CLOSE)
            .and_then(|mut s| {
                s.execute(params![ch.meter_id, ch.reading_type_id, key.0, key.1, key.2, status.code(), run_id])
            })
            .context("closing a finding")?;
        Ok(())
    }

    fn insert_audit(&mut self, entry: &NewAudit<'_>) -> Result<i64, StoreError> {
        audit::insert(self.tx, entry)
    }

    fn insert_audited_version(
        &mut self,
        ch: &Channel<'_>,
        end_s: i64,
        version: u32,
        value: f64,
        quality: QualityFlags,
        audit_id: i64,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(INSERT_AUDITED)
            .and_then(|mut s| {
                s.execute(params![ch.meter_id, ch.reading_type_id, end_s, version, value, quality.0, audit_id])
            })
            .context("inserting an estimated or edited version")?;
        Ok(())
    }

    fn find_meter(&mut self, mrid: &str) -> Result<Option<i64>, StoreError> {
        super::query::find_meter(self.tx, mrid)
    }

    fn channel_extent(
        &mut self,
        meter_id: i64,
        reading_type_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let extent: (Option<i64>, Option<i64>) = self
            .tx
            .prepare_cached(EXTENT)
            .and_then(|mut s| s.query_row(params![meter_id, reading_type_id, from, to], |r| Ok((r.get(0)?, r.get(1)?))))
            .context("finding the stored extent of a channel")?;
        Ok(extent.0.zip(extent.1))
    }

    fn latest_version_at(&mut self, ch: &Channel<'_>, end_s: i64) -> Result<Option<(u32, f64)>, StoreError> {
        let row: Option<(i64, f64)> = self
            .tx
            .prepare_cached(LATEST_AT)
            .and_then(|mut s| {
                s.query_row(params![ch.meter_id, ch.reading_type_id, end_s], |r| Ok((r.get(0)?, r.get(1)?))).optional()
            })
            .context("loading the latest version of an interval")?;
        row.map(|(v, value)| {
            u32::try_from(v).map(|v| (v, value)).map_err(|_| StoreError::Corrupt(format!("version {v} out of range")))
        })
        .transpose()
    }

    fn matching_open_findings(&mut self, filter: &OpenFindingFilter) -> Result<Vec<OpenFindingRow>, StoreError> {
        let mut stmt = self.tx.prepare_cached(MATCHING_OPEN).context("preparing the exceptions query")?;
        let mut rows = stmt
            .query(params![filter.meter_id, filter.reading_type_id, filter.rule, filter.from, filter.to])
            .context("selecting exceptions to accept")?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().context("selecting exceptions to accept")? {
            out.push((
                r.get(0).context("exception")?,
                r.get(1).context("exception")?,
                r.get(2).context("exception")?,
                r.get(3).context("exception")?,
                r.get(4).context("exception")?,
            ));
        }
        Ok(out)
    }

    fn accept_finding(&mut self, finding: OpenFindingRow, audit_id: i64) -> Result<u64, StoreError> {
        let (meter_id, reading_type_id, end, rule, version) = finding;
        let changed = self
            .tx
            .prepare_cached(ACCEPT)
            .and_then(|mut s| s.execute(params![meter_id, reading_type_id, end, rule, version, audit_id]))
            .context("accepting a finding")?;
        Ok(changed as u64)
    }
}
