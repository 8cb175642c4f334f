//! The validation window of one channel and the series loaded for it.
//!
//! Validation runs over whole local days (in the meter class's time zone) covering the
//! interval ends concerned, plus context: `margin` seconds either side (one interval, plus
//! the zero-consumption rule's minimum run), the stored value just before and just after,
//! the register reads (back to the read before the window, for the sum check) and the
//! values at the local midnights of the high/low rule's history days. Everything loads with
//! a handful of index range queries; nothing is read per interval.

use std::collections::HashMap;

use jiff::Timestamp;
use model::{QualityFlags, ReadingType};
use rusqlite::{Connection, OptionalExtension, params};

use super::ingest::{Versions, load_versions};
use super::series_table::INTERVALS;
use super::timestamp::from_second;
use crate::StoreError;
use crate::error::SqliteContext;
use crate::vee::local_days::days_covering;
use crate::vee::{CompiledClass, Delivery, RegisterPoint, RuleConfig, RuleId, SeriesPoint, history_midnights};

/// One channel of one meter, with the class that validates it.
pub(crate) struct Channel<'a> {
    /// Load the channel's register reads for the sum check. Ingest sets it only when the
    /// reading delivers register reads of the channel (a sum-check pair is complete only
    /// when its second read arrives), sparing two queries per profile-only batch.
    pub with_registers: bool,
    pub meter_id: i64,
    pub reading_type: ReadingType,
    pub reading_type_id: i64,
    pub class: &'a CompiledClass,
}

/// The interval ends validated (`from..=to`, whole local days) and the context loaded
/// around them (`ctx_lo..=ctx_hi`), UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
    pub ctx_lo: i64,
    pub ctx_hi: i64,
}

impl Window {
    /// The whole local days holding the interval ends `first_end..=last_end`.
    pub fn covering(ch: &Channel<'_>, first_end: i64, last_end: i64) -> Result<Window, StoreError> {
        let days = days_covering(first_end, last_end.max(first_end), &ch.class.tz)?;
        let (from, to) = match (days.first(), days.last()) {
            (Some(a), Some(b)) => (a.start + 1, b.end),
            _ => (first_end, last_end),
        };
        let zero_run = match ch.class.rule(RuleId::ZeroConsumption, ch.reading_type) {
            Some(RuleConfig::ZeroConsumption { min_duration_s }) => i64::from(*min_duration_s),
            _ => 0,
        };
        let margin = ch.class.interval_length_s + zero_run;
        Ok(Window { from, to, ctx_lo: from - 1 - margin, ctx_hi: to + margin })
    }

    /// The smallest window holding both.
    pub fn union(self, other: Window) -> Window {
        Window {
            from: self.from.min(other.from),
            to: self.to.max(other.to),
            ctx_lo: self.ctx_lo.min(other.ctx_lo),
            ctx_hi: self.ctx_hi.max(other.ctx_hi),
        }
    }
}

/// What validation and estimation of one window look at.
pub(crate) struct Slice {
    /// Latest version per interval end, ordered.
    pub points: Vec<SeriesPoint>,
    pub registers: Vec<RegisterPoint>,
    pub midnights: Vec<(Timestamp, f64)>,
}

impl Slice {
    /// The latest version at `end_s` (`None`: no value).
    pub fn version_at(&self, end_s: i64) -> Option<u32> {
        self.point_at(end_s).map(|p| p.version)
    }

    /// The point at `end_s`.
    pub fn point_at(&self, end_s: i64) -> Option<&SeriesPoint> {
        self.points.binary_search_by_key(&end_s, |p| p.interval_end.as_second()).ok().and_then(|i| self.points.get(i))
    }
}

/// Collection sessions' delivery facts, cached per operation.
pub(crate) type Deliveries = HashMap<i64, Delivery>;

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

/// A stored version as `(end, version, value, quality, collection)`.
type Row = (i64, i64, f64, i64, Option<i64>);

fn neighbour(tx: &Connection, ch: &Channel<'_>, sql: &str, at: i64) -> Result<Option<Row>, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(params![ch.meter_id, ch.reading_type_id, at], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .context("loading a neighbouring interval")
}

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

/// Loads the versions of the window's context (for callers without a preloaded map).
pub(crate) fn load_window_versions(tx: &Connection, ch: &Channel<'_>, win: &Window) -> Result<Versions, StoreError> {
    load_versions(tx, &INTERVALS, ch.meter_id, ch.reading_type_id, win.ctx_lo, win.ctx_hi)
}

/// Builds the slice of `win` from `versions` (all versions in `ctx_lo..=ctx_hi`) plus the
/// neighbours, register reads and history midnights.
pub(crate) fn load_slice(
    tx: &Connection,
    ch: &Channel<'_>,
    win: &Window,
    versions: &Versions,
    deliveries: &mut Deliveries,
) -> Result<Slice, StoreError> {
    let l = ch.class.interval_length_s;
    let mut lo = win.ctx_lo;
    let mut extra = Versions::new();
    let mut registers = Vec::new();
    if ch.with_registers && ch.class.rule(RuleId::SumCheck, ch.reading_type).is_some() {
        // The read before the window pairs with the first read in it.
        let before: Option<i64> = tx
            .prepare_cached(REGISTER_BEFORE)
            .and_then(|mut s| {
                s.query_row(params![ch.meter_id, ch.reading_type_id, win.ctx_lo], |r| r.get(0)).optional()
            })
            .context("loading the register read before a window")?;
        let reads_from = before.unwrap_or(win.ctx_lo);
        registers = register_reads(tx, ch, reads_from, win.ctx_hi)?;
        if let Some(r) = before.filter(|&r| r - l < win.ctx_lo) {
            lo = r - 2 * l;
            extra = load_versions(tx, &INTERVALS, ch.meter_id, ch.reading_type_id, lo, win.ctx_lo - 1)?;
        }
    }
    let mut points = Vec::with_capacity(versions.len() + extra.len() + 2);
    if let Some(row) = neighbour(tx, ch, BEFORE, lo)? {
        points.push(point(tx, deliveries, row, false)?);
    }
    for (&end, k) in extra.iter().chain(versions.iter()) {
        let row = (end, i64::from(k.latest), k.latest_value, i64::from(k.latest_quality), k.latest_collection);
        points.push(point(tx, deliveries, row, k.conflicting)?);
    }
    if let Some(row) = neighbour(tx, ch, AFTER, win.ctx_hi)? {
        points.push(point(tx, deliveries, row, false)?);
    }
    let midnights = midnights(tx, ch, win)?;
    Ok(Slice { points, registers, midnights })
}

/// The channel's register reads (latest versions) with read time in `[from, to]`.
fn register_reads(tx: &Connection, ch: &Channel<'_>, from: i64, to: i64) -> Result<Vec<RegisterPoint>, StoreError> {
    let mut stmt = tx.prepare_cached(REGISTERS_IN).context("preparing the register query")?;
    let mut rows = stmt.query(params![ch.meter_id, ch.reading_type_id, from, to]).context("loading register reads")?;
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

/// Stored values (latest versions) at the high/low rule's history midnights.
fn midnights(tx: &Connection, ch: &Channel<'_>, win: &Window) -> Result<Vec<(Timestamp, f64)>, StoreError> {
    let wanted = history_midnights(ch.class, ch.reading_type, from_second(win.from)?)?;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let list = format!("[{}]", wanted.iter().map(|t| t.as_second().to_string()).collect::<Vec<_>>().join(","));
    let mut stmt = tx.prepare_cached(MIDNIGHTS).context("preparing the history query")?;
    let mut rows = stmt.query(params![ch.meter_id, ch.reading_type_id, list]).context("loading history midnights")?;
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
