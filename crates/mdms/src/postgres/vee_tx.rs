//! [`VeeTx`] over one open PostgreSQL transaction: the statements VEE runs.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use model::QualityFlags;
use postgres::{Row, Transaction};

use super::context::{Db, get};
use super::convert::{
    at_millisecond, at_second, meter_to_sql, quality_from_sql, quality_to_sql, reading_type_to_sql, second_of,
    version_from_sql, version_to_sql,
};
use crate::StoreError;
use crate::vee::{Delivery, FindingStatus, RegisterPoint, SeriesPoint};
use crate::vee_run::{Cause, Channel, FindingKey, NewAudit, OpenFindingFilter, OpenFindingRow, VeeTx, Window};

/// Latest version per interval end in `[$3, $4]` (part 0), with its delivery facts and
/// whether collection sessions delivered different values for the end, plus the latest
/// version of the last end before `$3` (part 1) and of the first end after `$4` (part 2):
/// a validation window and its neighbours in one round trip.
const WINDOW_POINTS: &str = "SELECT * FROM ( \
    SELECT 0 AS part, l.interval_end, l.version, l.value, l.quality, l.collection_id, \
      c.clock_drift_ms, c.interval_length_s, l.conflicting FROM ( \
        SELECT DISTINCT ON (interval_end) interval_end, version, value, quality, collection_id, \
          COALESCE(min(value) FILTER (WHERE collection_id IS NOT NULL) OVER w \
            <> max(value) FILTER (WHERE collection_id IS NOT NULL) OVER w, false) AS conflicting \
        FROM interval_reading \
        WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end <= $4 \
        WINDOW w AS (PARTITION BY interval_end) \
        ORDER BY interval_end, version DESC) l \
      LEFT JOIN collection c ON c.id = l.collection_id \
    UNION ALL (SELECT 1, v.interval_end, v.version, v.value, v.quality, v.collection_id, \
      c.clock_drift_ms, c.interval_length_s, false FROM interval_reading v \
      LEFT JOIN collection c ON c.id = v.collection_id \
      WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.interval_end < $3 \
      ORDER BY v.interval_end DESC, v.version DESC LIMIT 1) \
    UNION ALL (SELECT 2, v.interval_end, v.version, v.value, v.quality, v.collection_id, \
      c.clock_drift_ms, c.interval_length_s, false FROM interval_reading v \
      LEFT JOIN collection c ON c.id = v.collection_id \
      WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.interval_end > $4 \
      ORDER BY v.interval_end ASC, v.version DESC LIMIT 1)) AS t \
    ORDER BY part, interval_end";

const BEFORE: &str = "SELECT v.interval_end, v.version, v.value, v.quality, v.collection_id, \
    c.clock_drift_ms, c.interval_length_s, false FROM interval_reading v \
    LEFT JOIN collection c ON c.id = v.collection_id \
    WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.interval_end < $3 \
    ORDER BY v.interval_end DESC, v.version DESC LIMIT 1";

const AFTER: &str = "SELECT v.interval_end, v.version, v.value, v.quality, v.collection_id, \
    c.clock_drift_ms, c.interval_length_s, false FROM interval_reading v \
    LEFT JOIN collection c ON c.id = v.collection_id \
    WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.interval_end > $3 \
    ORDER BY v.interval_end ASC, v.version DESC LIMIT 1";

const LATEST_VALUES: &str = "SELECT DISTINCT ON (interval_end) interval_end, version, value, quality \
    FROM interval_reading \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end <= $4 \
    ORDER BY interval_end, version DESC";

const REGISTER_BEFORE: &str = "SELECT read_at FROM register_read \
    WHERE meter_id = $1 AND reading_type_id = $2 AND read_at < $3 ORDER BY read_at DESC LIMIT 1";

const REGISTERS_IN: &str = "SELECT DISTINCT ON (read_at) read_at, value FROM register_read \
    WHERE meter_id = $1 AND reading_type_id = $2 AND read_at >= $3 AND read_at <= $4 \
    ORDER BY read_at, version DESC";

const VALUES_AT: &str = "SELECT DISTINCT ON (interval_end) interval_end, value FROM interval_reading \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end = ANY($3) \
    ORDER BY interval_end, version DESC";

const OPEN_IN_WINDOW: &str = "SELECT interval_end, rule, version FROM vee_finding \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end <= $4 AND status = 0";

const NEW_RUN: &str = "INSERT INTO vee_run \
    (meter_id, reading_type_id, at, cause, meter_class, window_from, window_to) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

const UPSERT_FINDING: &str = "INSERT INTO vee_finding \
    (meter_id, reading_type_id, interval_end, rule, version, measured, limit_value, status, run_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
    ON CONFLICT (meter_id, reading_type_id, interval_end, rule, version) DO UPDATE SET \
    status = 0, measured = excluded.measured, limit_value = excluded.limit_value, run_id = excluded.run_id, \
    closed_run_id = NULL WHERE vee_finding.status IN (1, 2)";

const CLOSE_FINDING: &str = "UPDATE vee_finding SET status = $6, closed_run_id = $7 \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end = $3 AND rule = $4 AND version = $5";

const INSERT_AUDIT: &str = "INSERT INTO audit_log \
    (at, user_name, action, reason, meter_id, reading_type_id, first_end, last_end, detail) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const INSERT_AUDITED: &str = "INSERT INTO interval_reading \
    (meter_id, reading_type_id, interval_end, version, value, quality, audit_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const FIND_METER: &str = "SELECT id FROM meter WHERE mrid = $1";

const EXTENT: &str = "SELECT min(interval_end), max(interval_end) FROM interval_reading \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end < $4";

const LATEST_AT: &str = "SELECT version, value FROM interval_reading \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end = $3 ORDER BY version DESC LIMIT 1";

const MATCHING_OPEN: &str = "SELECT meter_id, reading_type_id, interval_end, rule, version FROM vee_finding \
    WHERE status = 0 AND ($1::integer IS NULL OR meter_id = $1) AND ($2::smallint IS NULL OR reading_type_id = $2) \
    AND ($3::smallint IS NULL OR rule = $3) AND ($4::timestamptz IS NULL OR interval_end >= $4) \
    AND ($5::timestamptz IS NULL OR interval_end < $5) \
    ORDER BY meter_id, reading_type_id, interval_end, rule, version";

const ACCEPT: &str = "UPDATE vee_finding SET status = 3, closed_audit_id = $6 WHERE meter_id = $1 \
    AND reading_type_id = $2 AND interval_end = $3 AND rule = $4 AND version = $5";

/// One open transaction of the PostgreSQL store, as VEE sees it.
pub(crate) struct PgVeeTx<'a, 't> {
    db: Db<'a, Transaction<'t>>,
    /// What is already known of each channel, by (meter id, reading type id).
    cache: VeeCache,
}

/// What a transaction already knows of one channel's stored data, so validation does not
/// read it again: filled by a batch ingest (from the versions it loaded and wrote, and a
/// few statements covering every channel of the batch) and by [`VeeTx::window_points`].
/// Each entry answers only the exact request it was loaded for (or, for `points`, any
/// range inside its own); the channel's entries are dropped when the channel's interval
/// values change, and `open` when its findings change.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelCache {
    /// The latest version of every interval end in `[lo, hi]`, as `window_points` returns them.
    pub points: Option<(i64, i64, Vec<SeriesPoint>)>,
    /// `point_before(at)`.
    pub before: Option<(i64, Option<SeriesPoint>)>,
    /// `point_after(at)`.
    pub after: Option<(i64, Option<SeriesPoint>)>,
    /// `values_at(ends)`.
    pub midnights: Option<(Vec<i64>, Midnights)>,
    /// `open_findings(from, to)`.
    pub open: Option<(i64, i64, HashSet<FindingKey>)>,
    /// `register_read_before(at)`.
    pub register_before: Option<(i64, Option<i64>)>,
    /// `register_reads(from, to)`.
    pub register_reads: Option<(i64, i64, Vec<RegisterPoint>)>,
}

/// Latest values at history midnights: (interval end, value), ordered.
pub(crate) type Midnights = Vec<(Timestamp, f64)>;

/// [`ChannelCache`]s by (meter id, reading type id).
pub(crate) type VeeCache = HashMap<(i64, i64), ChannelCache>;

impl<'a, 't> PgVeeTx<'a, 't> {
    /// VEE over the open transaction `db`.
    pub fn new(db: Db<'a, Transaction<'t>>) -> Self {
        PgVeeTx { db, cache: VeeCache::new() }
    }

    /// VEE over `db` with what the caller already loaded.
    pub fn with_cache(db: Db<'a, Transaction<'t>>, cache: VeeCache) -> Self {
        PgVeeTx { db, cache }
    }

    fn forget_findings(&mut self, ch: &Channel<'_>) {
        if let Some(c) = self.cache.get_mut(&(ch.meter_id, ch.reading_type_id)) {
            c.open = None;
        }
    }

    fn cached(&self, ch: &Channel<'_>) -> Option<&ChannelCache> {
        self.cache.get(&(ch.meter_id, ch.reading_type_id))
    }

    fn cached_neighbour(&self, ch: &Channel<'_>, at: i64, before: bool) -> Option<Option<SeriesPoint>> {
        let c = self.cached(ch)?;
        let exact = if before { c.before.as_ref() } else { c.after.as_ref() };
        if let Some((_, p)) = exact.filter(|(a, _)| *a == at) {
            return Some(p.clone());
        }
        // A loaded range holding a value on the requested side of `at`, with nothing unloaded
        // between them, answers too.
        let (lo, hi, points) = c.points.as_ref()?;
        let found = if before {
            if at > hi.saturating_add(1) {
                return None;
            }
            points.iter().rev().find(|p| p.interval_end.as_second() < at)
        } else {
            if at.saturating_add(1) < *lo {
                return None;
            }
            points.iter().find(|p| p.interval_end.as_second() > at)
        };
        found.map(|p| Some(SeriesPoint { conflicting_deliveries: false, ..p.clone() }))
    }
}

/// Decodes a row of `BEFORE` or `AFTER` (`first` = 0), or of `WINDOW_POINTS` (`first` =
/// 1, after the part column).
fn series_point(row: &Row, first: usize) -> Result<SeriesPoint, StoreError> {
    const CTX: &str = "reading an interval of a validation window";
    let col = |i: usize| first + i;
    let interval_end: Timestamp = get(row, col(0), CTX)?;
    let collection: Option<i64> = get(row, col(4), CTX)?;
    let drift: Option<i64> = get(row, col(5), CTX)?;
    let length: Option<i32> = get(row, col(6), CTX)?;
    let delivery = match (collection, length) {
        (Some(_), Some(len)) => Some(Delivery {
            clock_drift_ms: drift,
            interval_length_s: u32::try_from(len)
                .map_err(|_| StoreError::Corrupt(format!("interval length {len} s out of range")))?,
        }),
        (Some(c), None) => return Err(StoreError::Corrupt(format!("collection {c} is missing"))),
        (None, _) => None,
    };
    Ok(SeriesPoint {
        interval_end,
        value: get(row, col(2), CTX)?,
        quality: QualityFlags(quality_from_sql(get(row, col(3), CTX)?)),
        version: version_from_sql(get(row, col(1), CTX)?)?,
        delivery,
        conflicting_deliveries: get(row, col(7), CTX)?,
    })
}

/// The channel's ids as the columns take them.
fn ids(ch: &Channel<'_>) -> Result<(i32, i16), StoreError> {
    Ok((meter_to_sql(ch.meter_id)?, reading_type_to_sql(ch.reading_type_id)?))
}

impl VeeTx for PgVeeTx<'_, '_> {
    fn window_points(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        const CTX: &str = "loading a validation window";
        if let Some((_, _, points)) =
            self.cached(ch).and_then(|c| c.points.as_ref()).filter(|(a, b, _)| *a <= lo && hi <= *b)
        {
            let inside = |p: &&SeriesPoint| (lo..=hi).contains(&p.interval_end.as_second());
            return Ok(points.iter().filter(inside).cloned().collect());
        }
        let (m, rt) = ids(ch)?;
        let (lo_ts, hi_ts) = (at_second(lo)?, at_second(hi)?);
        let rows = self.db.query(WINDOW_POINTS, &[&m, &rt, &lo_ts, &hi_ts], CTX)?;
        let mut points = Vec::with_capacity(rows.len());
        let (mut before, mut after) = (None, None);
        for row in &rows {
            let part: i32 = get(row, 0, CTX)?;
            let point = series_point(row, 1)?;
            match part {
                0 => points.push(point),
                1 => before = Some(point),
                _ => after = Some(point),
            }
        }
        let c = self.cache.entry((ch.meter_id, ch.reading_type_id)).or_default();
        c.before = Some((lo, before));
        c.after = Some((hi, after));
        c.points = Some((lo, hi, points.clone()));
        Ok(points)
    }

    fn point_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError> {
        if let Some(cached) = self.cached_neighbour(ch, at, true) {
            return Ok(cached);
        }
        let (m, rt) = ids(ch)?;
        let at = at_second(at)?;
        let row = self.db.query_opt(BEFORE, &[&m, &rt, &at], "loading the interval before a window")?;
        row.as_ref().map(|r| series_point(r, 0)).transpose()
    }

    fn point_after(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError> {
        if let Some(cached) = self.cached_neighbour(ch, at, false) {
            return Ok(cached);
        }
        let (m, rt) = ids(ch)?;
        let at = at_second(at)?;
        let row = self.db.query_opt(AFTER, &[&m, &rt, &at], "loading the interval after a window")?;
        row.as_ref().map(|r| series_point(r, 0)).transpose()
    }

    fn latest_values(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        const CTX: &str = "loading the like-day search range";
        let (m, rt) = ids(ch)?;
        let (lo, hi) = (at_second(lo)?, at_second(hi)?);
        let rows = self.db.query(LATEST_VALUES, &[&m, &rt, &lo, &hi], CTX)?;
        rows.iter()
            .map(|row| {
                Ok(SeriesPoint {
                    interval_end: get(row, 0, CTX)?,
                    value: get(row, 2, CTX)?,
                    quality: QualityFlags(quality_from_sql(get(row, 3, CTX)?)),
                    version: version_from_sql(get(row, 1, CTX)?)?,
                    delivery: None,
                    conflicting_deliveries: false,
                })
            })
            .collect()
    }

    fn register_read_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<i64>, StoreError> {
        const CTX: &str = "loading the register read before a window";
        if let Some((_, before)) = self.cached(ch).and_then(|c| c.register_before.as_ref()).filter(|(a, _)| *a == at) {
            return Ok(*before);
        }
        let (m, rt) = ids(ch)?;
        let at = at_second(at)?;
        match self.db.query_opt(REGISTER_BEFORE, &[&m, &rt, &at], CTX)? {
            Some(row) => Ok(Some(second_of(get(&row, 0, CTX)?))),
            None => Ok(None),
        }
    }

    fn register_reads(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<Vec<RegisterPoint>, StoreError> {
        const CTX: &str = "loading register reads";
        if let Some((_, _, reads)) =
            self.cached(ch).and_then(|c| c.register_reads.as_ref()).filter(|(a, b, _)| *a == from && *b == to)
        {
            return Ok(reads.clone());
        }
        let (m, rt) = ids(ch)?;
        let (from, to) = (at_second(from)?, at_second(to)?);
        let rows = self.db.query(REGISTERS_IN, &[&m, &rt, &from, &to], CTX)?;
        rows.iter().map(|row| Ok(RegisterPoint { read_at: get(row, 0, CTX)?, value: get(row, 1, CTX)? })).collect()
    }

    fn values_at(&mut self, ch: &Channel<'_>, ends: &[i64]) -> Result<Vec<(Timestamp, f64)>, StoreError> {
        const CTX: &str = "loading history midnights";
        if let Some((_, values)) = self.cached(ch).and_then(|c| c.midnights.as_ref()).filter(|(e, _)| e == ends) {
            return Ok(values.clone());
        }
        let (m, rt) = ids(ch)?;
        let ends: Vec<Timestamp> = ends.iter().map(|&s| at_second(s)).collect::<Result<_, _>>()?;
        let rows = self.db.query(VALUES_AT, &[&m, &rt, &ends], CTX)?;
        rows.iter().map(|row| Ok((get(row, 0, CTX)?, get(row, 1, CTX)?))).collect()
    }

    fn open_findings(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<HashSet<FindingKey>, StoreError> {
        const CTX: &str = "loading open findings";
        if let Some((_, _, open)) =
            self.cached(ch).and_then(|c| c.open.as_ref()).filter(|(a, b, _)| *a == from && *b == to)
        {
            return Ok(open.clone());
        }
        let (m, rt) = ids(ch)?;
        let (from, to) = (at_second(from)?, at_second(to)?);
        let rows = self.db.query(OPEN_IN_WINDOW, &[&m, &rt, &from, &to], CTX)?;
        rows.iter()
            .map(|row| {
                let end: Timestamp = get(row, 0, CTX)?;
                let rule: i16 = get(row, 1, CTX)?;
                let version: i32 = get(row, 2, CTX)?;
                Ok((second_of(end), i64::from(rule), i64::from(version)))
            })
            .collect()
    }

    fn insert_run(&mut self, ch: &Channel<'_>, win: &Window, cause: Cause, at_ms: i64) -> Result<i64, StoreError> {
        const CTX: &str = "recording a validation run";
        let (m, rt) = ids(ch)?;
        let at = at_millisecond(at_ms)?;
        let (from, to) = (at_second(win.from)?, at_second(win.to)?);
        let row = self.db.query_one(NEW_RUN, &[&m, &rt, &at, &cause.as_str(), &ch.class.name, &from, &to], CTX)?;
        get(&row, 0, CTX)
    }

    fn upsert_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        measured: Option<f64>,
        limit: Option<f64>,
        run_id: i64,
    ) -> Result<u64, StoreError> {
        let (m, rt) = ids(ch)?;
        let (end, rule, version) = finding_key(key)?;
        self.forget_findings(ch);
        self.db.execute(
            UPSERT_FINDING,
            &[&m, &rt, &end, &rule, &version, &measured, &limit, &run_id],
            "recording a finding",
        )
    }

    fn close_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        status: FindingStatus,
        run_id: i64,
    ) -> Result<(), StoreError> {
        let (m, rt) = ids(ch)?;
        let (end, rule, version) = finding_key(key)?;
        let status = status_to_sql(status);
        self.forget_findings(ch);
        self.db.execute(CLOSE_FINDING, &[&m, &rt, &end, &rule, &version, &status, &run_id], "closing a finding")?;
        Ok(())
    }

    fn insert_audit(&mut self, entry: &NewAudit<'_>) -> Result<i64, StoreError> {
        const CTX: &str = "writing an audit entry";
        let at = at_millisecond(entry.at_ms)?;
        let meter = meter_to_sql(entry.meter_id)?;
        let rt = entry.reading_type_id.map(reading_type_to_sql).transpose()?;
        let first = entry.first_end.map(at_second).transpose()?;
        let last = entry.last_end.map(at_second).transpose()?;
        let row = self.db.query_one(
            INSERT_AUDIT,
            &[&at, &entry.user, &entry.action.as_str(), &entry.reason, &meter, &rt, &first, &last, &entry.detail],
            CTX,
        )?;
        get(&row, 0, CTX)
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
        let (m, rt) = ids(ch)?;
        let end = at_second(end_s)?;
        let (version, quality) = (version_to_sql(version)?, quality_to_sql(quality.0));
        // The channel's values change: what was loaded of it is stale.
        self.cache.remove(&(ch.meter_id, ch.reading_type_id));
        self.db.execute(
            INSERT_AUDITED,
            &[&m, &rt, &end, &version, &value, &quality, &audit_id],
            "inserting an estimated or edited version",
        )?;
        Ok(())
    }

    fn find_meter(&mut self, mrid: &str) -> Result<Option<i64>, StoreError> {
        const CTX: &str = "looking up a meter";
        match self.db.query_opt(FIND_METER, &[&mrid], CTX)? {
            Some(row) => Ok(Some(i64::from(get::<i32>(&row, 0, CTX)?))),
            None => Ok(None),
        }
    }

    fn channel_extent(
        &mut self,
        meter_id: i64,
        reading_type_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        const CTX: &str = "finding the stored extent of a channel";
        let (m, rt) = (meter_to_sql(meter_id)?, reading_type_to_sql(reading_type_id)?);
        let (from, to) = (at_second(from)?, at_second(to)?);
        let row = self.db.query_one(EXTENT, &[&m, &rt, &from, &to], CTX)?;
        let first: Option<Timestamp> = get(&row, 0, CTX)?;
        let last: Option<Timestamp> = get(&row, 1, CTX)?;
        Ok(first.zip(last).map(|(a, b)| (second_of(a), second_of(b))))
    }

    fn latest_version_at(&mut self, ch: &Channel<'_>, end_s: i64) -> Result<Option<(u32, f64)>, StoreError> {
        const CTX: &str = "loading the latest version of an interval";
        let (m, rt) = ids(ch)?;
        let end = at_second(end_s)?;
        match self.db.query_opt(LATEST_AT, &[&m, &rt, &end], CTX)? {
            Some(row) => Ok(Some((version_from_sql(get(&row, 0, CTX)?)?, get(&row, 1, CTX)?))),
            None => Ok(None),
        }
    }

    fn matching_open_findings(&mut self, filter: &OpenFindingFilter) -> Result<Vec<OpenFindingRow>, StoreError> {
        const CTX: &str = "selecting exceptions to accept";
        let m = filter.meter_id.map(meter_to_sql).transpose()?;
        let rt = filter.reading_type_id.map(reading_type_to_sql).transpose()?;
        let rule = filter.rule.map(rule_to_sql).transpose()?;
        let from = filter.from.map(at_second).transpose()?;
        let to = filter.to.map(at_second).transpose()?;
        let rows = self.db.query(MATCHING_OPEN, &[&m, &rt, &rule, &from, &to], CTX)?;
        rows.iter()
            .map(|row| {
                let m: i32 = get(row, 0, CTX)?;
                let rt: i16 = get(row, 1, CTX)?;
                let end: Timestamp = get(row, 2, CTX)?;
                let rule: i16 = get(row, 3, CTX)?;
                let version: i32 = get(row, 4, CTX)?;
                Ok((i64::from(m), i64::from(rt), second_of(end), i64::from(rule), i64::from(version)))
            })
            .collect()
    }

    fn accept_finding(&mut self, finding: OpenFindingRow, audit_id: i64) -> Result<u64, StoreError> {
        let (meter_id, reading_type_id, end, rule, version) = finding;
        let (m, rt) = (meter_to_sql(meter_id)?, reading_type_to_sql(reading_type_id)?);
        let (end, rule, version) = finding_key((end, rule, version))?;
        self.db.execute(ACCEPT, &[&m, &rt, &end, &rule, &version, &audit_id], "accepting a finding")
    }
}

/// A rule code as the `smallint` column holds it.
pub(crate) fn rule_to_sql(code: i64) -> Result<i16, StoreError> {
    i16::try_from(code).map_err(|_| StoreError::Corrupt(format!("rule code {code} out of range")))
}

/// A finding status as the `smallint` column holds it.
pub(crate) fn status_to_sql(status: FindingStatus) -> i16 {
    // Codes are 0..=3.
    status.code() as i16
}

/// A finding key as the columns take it.
fn finding_key((end, rule, version): FindingKey) -> Result<(Timestamp, i16, i32), StoreError> {
    let version =
        i32::try_from(version).map_err(|_| StoreError::Corrupt(format!("finding version {version} out of range")))?;
    Ok((at_second(end)?, rule_to_sql(rule)?, version))
}
