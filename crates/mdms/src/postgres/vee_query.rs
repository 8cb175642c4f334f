//! The VEE read queries of [`PgStore`]: the exceptions queue, findings of an interval, the
//! detailed history of a value, validated readings and the audit trail.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use model::{MeterId, ReadingType};
use postgres::{Client, Row};

use super::PgStore;
use super::context::{Db, get};
use super::convert::{at_millisecond, at_second, second_of, version_from_sql};
use super::query::{INTERVALS, find_meter, versions};
use super::vee_tx::rule_to_sql;
use crate::editing::{AuditAction, AuditEntry, AuditFilter};
use crate::epoch::{ceil_second, floor_second};
use crate::vee::{ExceptionFilter, FindingStatus, RuleId, StoredFinding, VeeException};
use crate::{IntervalVersion, MeterDataStore, StoreError, StoredInterval};

const FINDINGS_OF_INTERVAL: &str = "SELECT f.rule, f.interval_end, f.version, f.measured, f.limit_value, f.status, \
    r.at, r.cause FROM vee_finding f JOIN vee_run r ON r.id = f.run_id \
    WHERE f.meter_id = $1 AND f.reading_type_id = $2 AND f.interval_end = $3 ORDER BY f.version, f.rule";

const OPEN_EXCEPTIONS: &str = "SELECT m.mrid, f.reading_type_id, f.rule, f.interval_end, f.measured, \
    f.limit_value, r.at FROM vee_finding f JOIN meter m ON m.id = f.meter_id JOIN vee_run r ON r.id = f.run_id \
    WHERE f.status = 0 AND ($1::integer IS NULL OR f.meter_id = $1) AND ($2::smallint IS NULL OR f.reading_type_id = $2) \
    AND ($3::smallint IS NULL OR f.rule = $3) AND ($4::timestamptz IS NULL OR f.interval_end >= $4) \
    AND ($5::timestamptz IS NULL OR f.interval_end < $5) \
    ORDER BY m.mrid, f.reading_type_id, f.rule, f.interval_end";

const OPEN_RULES_IN_RANGE: &str = "SELECT interval_end, version, min(rule) FROM vee_finding \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end < $4 AND status = 0 \
    GROUP BY interval_end, version";

const AUDIT_OF_VERSIONS: &str = "SELECT version, audit_id FROM interval_reading \
    WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end = $3 AND audit_id IS NOT NULL";

const AUDIT_BY_ID: &str = "SELECT a.id, a.at, a.user_name, a.action, a.reason, m.mrid, a.reading_type_id, \
    a.first_end, a.last_end, a.detail FROM audit_log a JOIN meter m ON m.id = a.meter_id WHERE a.id = $1";

const AUDIT_LIST: &str = "SELECT a.id, a.at, a.user_name, a.action, a.reason, m.mrid, a.reading_type_id, \
    a.first_end, a.last_end, a.detail FROM audit_log a JOIN meter m ON m.id = a.meter_id \
    WHERE ($1::integer IS NULL OR a.meter_id = $1) AND ($2::smallint IS NULL OR a.reading_type_id = $2) \
    AND ($3::timestamptz IS NULL OR (a.first_end <= $3 AND a.last_end >= $3)) \
    AND ($4::text IS NULL OR a.user_name = $4) AND ($5::text IS NULL OR a.action = $5) \
    AND ($6::timestamptz IS NULL OR a.at >= $6) ORDER BY a.id DESC LIMIT $7";

fn rule(code: i16) -> Result<RuleId, StoreError> {
    u8::try_from(code).ok().and_then(RuleId::from_code).ok_or_else(|| StoreError::Corrupt(format!("rule code {code}")))
}

fn audit_entry(row: &Row, types: &HashMap<i16, ReadingType>) -> Result<AuditEntry, StoreError> {
    const CTX: &str = "reading an audit entry";
    let action: String = get(row, 3, CTX)?;
    let rt: Option<i16> = get(row, 6, CTX)?;
    let first: Option<Timestamp> = get(row, 7, CTX)?;
    let last: Option<Timestamp> = get(row, 8, CTX)?;
    Ok(AuditEntry {
        id: get(row, 0, CTX)?,
        at: get(row, 1, CTX)?,
        user: get(row, 2, CTX)?,
        action: AuditAction::parse(&action).ok_or_else(|| StoreError::Corrupt(format!("audit action {action:?}")))?,
        reason: get(row, 4, CTX)?,
        meter: MeterId(get(row, 5, CTX)?),
        reading_type: rt
            .map(|id| types.get(&id).copied().ok_or_else(|| StoreError::Corrupt(format!("reading type id {id}"))))
            .transpose()?,
        first_interval_end: first,
        last_interval_end: last,
        detail: get(row, 9, CTX)?,
    })
}

/// The meter id of an optional meter filter: `Some(None)` without a filter, `Some(Some(id))`
/// for a known meter, `None` for an unknown one (nothing can match).
fn filter_meter(db: &mut Db<'_, Client>, meter: &Option<MeterId>) -> Result<Option<Option<i32>>, StoreError> {
    match meter {
        Some(m) => Ok(find_meter(db, &m.0)?.map(Some)),
        None => Ok(Some(None)),
    }
}

impl PgStore {
    /// [`MeterDataStore::vee_exceptions`].
    pub(super) fn vee_exceptions_impl(&self, filter: &ExceptionFilter) -> Result<Vec<VeeException>, StoreError> {
        const CTX: &str = "listing exceptions";
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        let rule_code = filter.rule.map(|r| rule_to_sql(i64::from(r.code()))).transpose()?;
        let from = filter.from.map(|t| at_second(ceil_second(t))).transpose()?;
        let to = filter.to.map(|t| at_second(ceil_second(t))).transpose()?;
        let rows = {
            let mut conn = self.conn.borrow_mut();
            let mut db = conn.db();
            let Some(meter_id) = filter_meter(&mut db, &filter.meter)? else { return Ok(Vec::new()) };
            db.query(OPEN_EXCEPTIONS, &[&meter_id, &reading_type_id, &rule_code, &from, &to], CTX)?
        };
        let mut out: Vec<VeeException> = Vec::new();
        for r in &rows {
            let mrid: String = get(r, 0, CTX)?;
            let rt_id: i16 = get(r, 1, CTX)?;
            let code: i16 = get(r, 2, CTX)?;
            let end_ts: Timestamp = get(r, 3, CTX)?;
            let measured: Option<f64> = get(r, 4, CTX)?;
            let limit: Option<f64> = get(r, 5, CTX)?;
            let detected_at: Timestamp = get(r, 6, CTX)?;
            let reading_type = self.reading_type_of(rt_id)?;
            let rule = rule(code)?;
            let end = second_of(end_ts);
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

    /// Meter and reading type ids of a query on one channel; `None` for an unknown meter.
    fn channel_ids(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<(i32, i16)>, StoreError> {
        let rt = self.reading_type_id(reading_type)?;
        let mut conn = self.conn.borrow_mut();
        Ok(find_meter(&mut conn.db(), &meter.0)?.map(|m| (m, rt)))
    }

    /// [`MeterDataStore::interval_findings`].
    pub(super) fn interval_findings_impl(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        const CTX: &str = "listing findings";
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        if interval_end.subsec_nanosecond() != 0 {
            return Ok(Vec::new());
        }
        let end = at_second(floor_second(interval_end))?;
        let rows = self.conn.borrow_mut().db().query(FINDINGS_OF_INTERVAL, &[&m, &rt, &end], CTX)?;
        rows.iter()
            .map(|r| {
                let status: i16 = get(r, 5, CTX)?;
                Ok(StoredFinding {
                    rule: rule(get(r, 0, CTX)?)?,
                    interval_end: get(r, 1, CTX)?,
                    version: version_from_sql(get(r, 2, CTX)?)?,
                    measured: get(r, 3, CTX)?,
                    limit: get(r, 4, CTX)?,
                    status: FindingStatus::from_code(i64::from(status))
                        .ok_or_else(|| StoreError::Corrupt(format!("finding status {status}")))?,
                    detected_at: get(r, 6, CTX)?,
                    detected_by: get(r, 7, CTX)?,
                })
            })
            .collect()
    }

    /// [`MeterDataStore::interval_history_detail`].
    pub(super) fn interval_history_detail_impl(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<IntervalVersion>, StoreError> {
        const CTX: &str = "listing version audits";
        let versions = self.interval_history(meter, reading_type, interval_end)?;
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let end = at_second(floor_second(interval_end))?;
        let mut audit_of: HashMap<u32, i64> = HashMap::new();
        for r in self.conn.borrow_mut().db().query(AUDIT_OF_VERSIONS, &[&m, &rt, &end], CTX)? {
            audit_of.insert(version_from_sql(get(&r, 0, CTX)?)?, get(&r, 1, CTX)?);
        }
        let mut findings: BTreeMap<u32, Vec<StoredFinding>> = BTreeMap::new();
        for f in self.interval_findings_impl(meter, reading_type, interval_end)? {
            findings.entry(f.version).or_default().push(f);
        }
        let mut out = Vec::with_capacity(versions.len());
        for interval in versions {
            let audit = match audit_of.get(&interval.version) {
                Some(&id) => {
                    let row = self.conn.borrow_mut().db().query_opt(AUDIT_BY_ID, &[&id], "reading an audit entry")?;
                    row.map(|r| audit_entry(&r, &self.types_by_id)).transpose()?
                }
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
        const CTX: &str = "listing open findings";
        let Some((m, rt)) = self.channel_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let (from_s, to_s) = (ceil_second(from), ceil_second(to));
        if from_s >= to_s {
            return Ok(Vec::new());
        }
        let (from, to) = (at_second(from_s)?, at_second(to_s)?);
        let mut conn = self.conn.borrow_mut();
        let mut db = conn.db();
        let latest: Vec<StoredInterval> =
            versions(&mut db, INTERVALS.latest_in_range, &[&m, &rt, &from, &to])?.into_iter().map(Into::into).collect();
        if latest.is_empty() {
            return Ok(latest);
        }
        let mut open: HashMap<(i64, u32), i16> = HashMap::new();
        for r in db.query(OPEN_RULES_IN_RANGE, &[&m, &rt, &from, &to], CTX)? {
            let end: Timestamp = get(&r, 0, CTX)?;
            let version: i32 = get(&r, 1, CTX)?;
            let version = u32::try_from(version).unwrap_or(u32::MAX);
            open.insert((second_of(end), version), get(&r, 2, CTX)?);
        }
        Ok(latest
            .into_iter()
            .map(|mut s| {
                if let Some(&code) = open.get(&(s.interval_end.as_second(), s.version)) {
                    s.quality = s.quality.with_suspect_rule(u8::try_from(code).unwrap_or(0));
                }
                s
            })
            .collect())
    }

    /// [`MeterDataStore::audit_log`].
    pub(super) fn audit_log_impl(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        let interval_end = filter.interval_end.map(|t| at_second(floor_second(t))).transpose()?;
        // Compared at millisecond resolution, as the entries are stored.
        let since = filter.since.map(|t| at_millisecond(t.as_millisecond())).transpose()?;
        let action = filter.action.map(AuditAction::as_str);
        let limit = filter.limit.map(i64::from);
        let rows = {
            let mut conn = self.conn.borrow_mut();
            let mut db = conn.db();
            let Some(meter_id) = filter_meter(&mut db, &filter.meter)? else { return Ok(Vec::new()) };
            db.query(
                AUDIT_LIST,
                &[&meter_id, &reading_type_id, &interval_end, &filter.user, &action, &since, &limit],
                "listing audit entries",
            )?
        };
        let mut out = rows.iter().map(|r| audit_entry(r, &self.types_by_id)).collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }
}
