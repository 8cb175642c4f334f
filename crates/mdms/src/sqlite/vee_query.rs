//! The VEE read queries of [`SqliteStore`]: the exceptions queue, findings of an interval,
//! the detailed history of a value, validated readings and the audit trail.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use model::{MeterId, ReadingType};
use rusqlite::params;

use super::SqliteStore;
use super::audit;
use super::query::latest_in_range;
use super::series_table::INTERVALS;
use super::timestamp::{ceil_second, floor_second, from_millisecond, from_second};
use crate::editing::{AuditEntry, AuditFilter};
use crate::error::SqliteContext;
use crate::vee::{ExceptionFilter, FindingStatus, RuleId, StoredFinding, VeeException};
use crate::{IntervalVersion, MeterDataStore, StoreError, StoredInterval};

const FINDINGS_OF_INTERVAL: &str = "SELECT f.rule, f.interval_end, f.version, f.measured, f.limit_value, f.status, \
    r.at_ms, r.cause FROM vee_finding f JOIN vee_run r ON r.id = f.run_id \
    WHERE f.meter_id = ?1 AND f.reading_type_id = ?2 AND f.interval_end = ?3 ORDER BY f.version, f.rule";

const OPEN_EXCEPTIONS: &str = "SELECT m.mrid, f.reading_type_id, f.rule, f.interval_end, f.measured, \
    f.limit_value, r.at_ms FROM vee_finding f JOIN meter m ON m.id = f.meter_id JOIN vee_run r ON r.id = f.run_id \
    WHERE f.status = 0 AND (?1 IS NULL OR f.meter_id = ?1) AND (?2 IS NULL OR f.reading_type_id = ?2) \
    AND (?3 IS NULL OR f.rule = ?3) AND (?4 IS NULL OR f.interval_end >= ?4) AND (?5 IS NULL OR f.interval_end < ?5) \
    ORDER BY m.mrid, f.reading_type_id, f.rule, f.interval_end";

const OPEN_RULES_IN_RANGE: &str = "SELECT interval_end, version, MIN(rule) FROM vee_finding \
    WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end >= ?3 AND interval_end < ?4 AND status = 0 \
    GROUP BY interval_end, version";

const AUDIT_OF_VERSIONS: &str = "SELECT version, audit_id FROM interval_reading \
    WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end = ?3 AND audit_id IS NOT NULL";

fn rule(code: i64) -> Result<RuleId, StoreError> {
    u8::try_from(code).ok().and_then(RuleId::from_code).ok_or_else(|| StoreError::Corrupt(format!("rule code {code}")))
}

impl SqliteStore {
    /// Reading types by database id.
    fn reading_types_by_id(&self) -> HashMap<i64, ReadingType> {
        self.reading_type_ids.iter().map(|(&t, &id)| (id, t)).collect()
    }

    /// [`MeterDataStore::vee_exceptions`].
    pub(super) fn vee_exceptions_impl(&self, filter: &ExceptionFilter) -> Result<Vec<VeeException>, StoreError> {
        let meter_id = match &filter.meter {
            Some(m) => match super::query::find_meter(&self.conn, &m.0)? {
                Some(id) => Some(id),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        let types = self.reading_types_by_id();
        let mut stmt = self.conn.prepare_cached(OPEN_EXCEPTIONS).context("preparing the exceptions query")?;
        let mut rows = stmt
            .query(params![
                meter_id,
                reading_type_id,
                filter.rule.map(|r| i64::from(r.code())),
                filter.from.map(ceil_second),
                filter.to.map(ceil_second)
            ])
            .context("listing exceptions")?;
        let mut out: Vec<VeeException> = Vec::new();
        while let Some(r) = rows.next().context("listing exceptions")? {
            let mrid: String = r.get(0).context("exception meter")?;
            let rt_id: i64 = r.get(1).context("exception channel")?;
            let code: i64 = r.get(2).context("exception rule")?;
            let end: i64 = r.get(3).context("exception interval")?;
            let measured: Option<f64> = r.get(4).context("exception measurement")?;
            let limit: Option<f64> = r.get(5).context("exception limit")?;
            let at_ms: i64 = r.get(6).context("exception time")?;
            let reading_type =
                *types.get(&rt_id).ok_or_else(|| StoreError::Corrupt(format!("reading type id {rt_id}")))?;
            let rule = rule(code)?;
            let end_ts = from_second(end)?;
            let detected_at = from_millisecond(at_ms)?;
            let meter = MeterId(mrid);
            let l = self.vee.class_for(&meter).interval_length_s;
            if let Some(last) = out.last_mut() {
                let contiguous = last.meter == meter
                    && last.reading_type == reading_type
                    && last.rule == rule
                    && end - last.last_interval_end.as_second() <= l;
                if contiguous {
                    last.last_interval_end = end_ts;
                    last.intervals += 1;
                    last.detected_at = last.detected_at.min(detected_at);
                    continue;
                }
            }
            if filter.limit.is_some_and(|n| out.len() >= n as usize) {
                break;
            }
            out.push(VeeException {
                meter,
                reading_type,
                rule,
                first_interval_end: end_ts,
                last_interval_end: end_ts,
                intervals: 1,
                measured,
                limit,
                detected_at,
            });
        }
        Ok(out)
    }

    /// Meter and reading type ids of a query on one channel.
    fn channel_ids(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<(i64, i64)>, StoreError> {
        let rt = self.reading_type_id(reading_type)?;
        Ok(super::query::find_meter(&self.conn, &meter.0)?.map(|m| (m, rt)))
    }

    /// [`MeterDataStore::interval_findings`].
    pub(super) fn interval_findings_impl(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        if interval_end.subsec_nanosecond() != 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached(FINDINGS_OF_INTERVAL).context("preparing the findings query")?;
        let mut rows = stmt.query(params![m, rt, floor_second(interval_end)]).context("listing findings")?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().context("listing findings")? {
            let code: i64 = r.get(0).context("finding rule")?;
            let end: i64 = r.get(1).context("finding interval")?;
            let version: i64 = r.get(2).context("finding version")?;
            let status: i64 = r.get(5).context("finding status")?;
            let at_ms: i64 = r.get(6).context("finding time")?;
            out.push(StoredFinding {
                rule: rule(code)?,
                interval_end: from_second(end)?,
                version: u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("version {version}")))?,
                measured: r.get(3).context("finding measurement")?,
                limit: r.get(4).context("finding limit")?,
                status: FindingStatus::from_code(status)
                    .ok_or_else(|| StoreError::Corrupt(format!("finding status {status}")))?,
                detected_at: from_millisecond(at_ms)?,
                detected_by: r.get(7).context("finding cause")?,
            });
        }
        Ok(out)
    }

    /// [`MeterDataStore::interval_history_detail`].
    pub(super) fn interval_history_detail_impl(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<IntervalVersion>, StoreError> {
        let versions = self.interval_history(meter, reading_type, interval_end)?;
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let mut audit_of: HashMap<u32, i64> = HashMap::new();
        {
            let mut stmt = self.conn.prepare_cached(AUDIT_OF_VERSIONS).context("preparing the version audit query")?;
            let mut rows = stmt.query(params![m, rt, floor_second(interval_end)]).context("listing version audits")?;
            while let Some(r) = rows.next().context("listing version audits")? {
                let version: i64 = r.get(0).context("version")?;
                let id: i64 = r.get(1).context("audit id")?;
                audit_of
                    .insert(u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("version {version}")))?, id);
            }
        }
        let mut findings: BTreeMap<u32, Vec<StoredFinding>> = BTreeMap::new();
        for f in self.interval_findings_impl(meter, reading_type, interval_end)? {
            findings.entry(f.version).or_default().push(f);
        }
        let types = self.reading_types_by_id();
        let mut out = Vec::with_capacity(versions.len());
        for interval in versions {
            let audit = match audit_of.get(&interval.version) {
                Some(&id) => audit::by_id(&self.conn, id, &types)?,
                None => None,
            };
            let findings = findings.remove(&interval.version).unwrap_or_default();
            out.push(IntervalVersion { interval, audit, findings });
        }
        Ok(out)
    }

    /// [`MeterDataStore::validated_interval_readings`].
    pub(super) fn validated_interval_readings_impl(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let (from_s, to_s) = (ceil_second(from), ceil_second(to));
        let latest: Vec<StoredInterval> =
            latest_in_range(&self.conn, &INTERVALS, m, rt, from_s, to_s)?.into_iter().map(Into::into).collect();
        if latest.is_empty() {
            return Ok(latest);
        }
        let mut open: HashMap<(i64, i64), i64> = HashMap::new();
        {
            let mut stmt = self.conn.prepare_cached(OPEN_RULES_IN_RANGE).context("preparing the open-rules query")?;
            let mut rows = stmt.query(params![m, rt, from_s, to_s]).context("listing open findings")?;
            while let Some(r) = rows.next().context("listing open findings")? {
                open.insert((r.get(0).context("end")?, r.get(1).context("version")?), r.get(2).context("rule")?);
            }
        }
        Ok(latest
            .into_iter()
            .map(|mut s| {
                if let Some(&code) = open.get(&(s.interval_end.as_second(), i64::from(s.version))) {
                    s.quality = s.quality.with_suspect_rule(u8::try_from(code).unwrap_or(0));
                }
                s
            })
            .collect())
    }

    /// [`MeterDataStore::audit_log`].
    pub(super) fn audit_log_impl(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let meter_id = match &filter.meter {
            Some(m) => match super::query::find_meter(&self.conn, &m.0)? {
                Some(id) => Some(id),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        audit::list(&self.conn, filter, meter_id, reading_type_id, &self.reading_types_by_id())
    }
}
