//! The VEE operations of [`SqliteStore`] that write: ingest with validation,
//! re-validation, manual estimation, edits and acceptance of exceptions.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{MeterId, MeterReading, QualityFlags, ReadingType};
use rusqlite::{TransactionBehavior, params};

use super::SqliteStore;
use super::audit::{NewAudit, insert as insert_audit};
use super::findings::Cause;
use super::ingest::{EncodedValue, SeriesCounts, collection_id, ingest_series, load_versions, meter_id, store_values};
use super::query::{find_meter, history};
use super::series_table::{INTERVALS, REGISTERS};
use super::timestamp::{ceil_second, floor_millisecond, floor_second, from_millisecond};
use super::vee_ops::{auto_estimate, estimate_into_store, insert_audited_version, revalidate, validate_loaded};
use super::vee_window::{Channel, Deliveries, Window, load_slice, load_window_versions};
use crate::editing::{AuditAction, EDIT_SOURCE, EditError, EditRefusal, check_actor, check_edit};
use crate::error::SqliteContext;
use crate::ingest_check::check_ingestible;
use crate::vee::{Delivery, ExceptionFilter, RuleId, ValidationReport, next_grid_after};
use crate::{EditOutcome, EstimationReport, IngestOutcome, IngestReport, StoreError, StoredInterval};

/// A stored finding's key within its channel: (interval end, rule code, version).
type FindingKey = (i64, i64, i64);

impl SqliteStore {
    /// [`MeterDataStore::ingest_validated`](crate::MeterDataStore::ingest_validated).
    pub(super) fn ingest_with_vee(
        &mut self,
        reading: &MeterReading,
        source: &str,
    ) -> Result<IngestOutcome, StoreError> {
        check_ingestible(reading)?;
        // Intervals grouped per channel, in delivery order within each.
        let mut channels: BTreeMap<ReadingType, Vec<EncodedValue>> = BTreeMap::new();
        for i in &reading.intervals {
            let reading_type_id = self.reading_type_id(i.reading_type)?;
            channels.entry(i.reading_type).or_default().push(EncodedValue {
                reading_type_id,
                at: floor_second(i.interval_end),
                value: i.value,
                quality: i.quality.0,
            });
        }
        let registers = self.encode(reading.registers.iter().map(|r| (r.reading_type, r.read_at, r.value, 0)))?;
        let at_ms = floor_millisecond(Timestamp::now());

        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an ingest")?;
        let meter = meter_id(&tx, &reading.meter.0)?;
        let collection = collection_id(&tx, meter, reading, at_ms, source)?;
        let r = ingest_series(&tx, &REGISTERS, meter, collection, &registers)?;
        let mut deliveries = Deliveries::from([(
            collection,
            Delivery { clock_drift_ms: reading.clock_drift_ms, interval_length_s: reading.interval_length_s },
        )]);
        let class = vee.class_for(&reading.meter);
        let mut i = SeriesCounts::default();
        let mut validation = ValidationReport::default();
        for (&reading_type, values) in &channels {
            let (Some(lo), Some(hi)) = (values.iter().map(|v| v.at).min(), values.iter().map(|v| v.at).max()) else {
                continue;
            };
            let reading_type_id = values.first().map_or(0, |v| v.reading_type_id);
            if !vee.enabled {
                let mut known = load_versions(&tx, &INTERVALS, meter, reading_type_id, lo, hi)?;
                i.add(store_values(&tx, &INTERVALS, meter, collection, values.iter(), &mut known)?);
                continue;
            }
            let with_registers = reading.registers.iter().any(|r| r.reading_type == reading_type);
            let ch = Channel { with_registers, meter_id: meter, reading_type, reading_type_id, class };
            let win = Window::covering(&ch, lo, hi)?;
            let mut versions = load_versions(&tx, &INTERVALS, meter, reading_type_id, win.ctx_lo, win.ctx_hi)?;
            let counts = store_values(&tx, &INTERVALS, meter, collection, values.iter(), &mut versions)?;
            i.add(counts);
            if counts.new + counts.revised == 0 {
                // A pure replay changes no value, so no validation result can change.
                continue;
            }
            let (report, slice, findings) =
                validate_loaded(&tx, &ch, &win, &versions, Cause::Ingest, at_ms, &mut deliveries)?;
            validation.absorb(report);
            validation.absorb(auto_estimate(&tx, &ch, &win, &slice, &findings, at_ms, &mut deliveries)?);
        }
        tx.commit().context("committing an ingest")?;

        let ingest = IngestReport {
            intervals_new: i.new,
            intervals_duplicate: i.duplicate,
            intervals_revised: i.revised,
            registers_new: r.new,
            registers_duplicate: r.duplicate,
            registers_revised: r.revised,
        };
        tracing::debug!(meter = %reading.meter, ?ingest, ?validation, "meter reading ingested");
        Ok(IngestOutcome { ingest, validation })
    }

    /// [`MeterDataStore::validate_range`](crate::MeterDataStore::validate_range).
    pub(super) fn validate_range_impl(
        &mut self,
        meter: &MeterId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ValidationReport, StoreError> {
        let ids = self.reading_type_ids.clone();
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting a validation")?;
        let mut report = ValidationReport::default();
        let Some(meter_id) = find_meter(&tx, &meter.0)? else { return Ok(report) };
        let (from_s, to_s) = (ceil_second(from), ceil_second(to));
        if from_s >= to_s {
            return Ok(report);
        }
        let class = vee.class_for(meter);
        let mut deliveries = Deliveries::new();
        for reading_type in ReadingType::ALL {
            let Some(&reading_type_id) = ids.get(&reading_type) else { continue };
            let extent: (Option<i64>, Option<i64>) = tx
                .prepare_cached(
                    "SELECT MIN(interval_end), MAX(interval_end) FROM interval_reading \
                     WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end >= ?3 AND interval_end < ?4",
                )
                .and_then(|mut s| {
                    s.query_row(params![meter_id, reading_type_id, from_s, to_s], |r| Ok((r.get(0)?, r.get(1)?)))
                })
                .context("finding the stored extent of a channel")?;
            let (Some(first), Some(last)) = extent else { continue };
            let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
            let win = Window::covering(&ch, first, last)?;
            let (r, _, _) = revalidate(&tx, &ch, &win, Cause::Revalidate, at_ms, &mut deliveries)?;
            report.absorb(r);
        }
        tx.commit().context("committing a validation")?;
        Ok(report)
    }

    /// [`MeterDataStore::estimate_range`](crate::MeterDataStore::estimate_range).
    pub(super) fn estimate_range_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
        user: &str,
        reason: &str,
    ) -> Result<EstimationReport, EditError> {
        check_actor(user, reason)?;
        if from >= to {
            return Err(EditRefusal::EmptyRange { from, to }.into());
        }
        if !reading_type.is_cumulative() {
            return Err(EditRefusal::NotCumulative(reading_type).into());
        }
        let reading_type_id = self.reading_type_id(reading_type)?;
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an estimation")?;
        let meter_id = find_meter(&tx, &meter.0)?.ok_or_else(|| EditRefusal::UnknownMeter(meter.clone()))?;
        let class = vee.class_for(meter);
        let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
        let l = class.interval_length_s;
        let (from_s, to_s) = (ceil_second(from), ceil_second(to));
        let mut targets = Vec::new();
        let mut t = next_grid_after(from_s - 1, l, &class.tz);
        while t < to_s {
            targets.push(super::timestamp::from_second(t)?);
            t += l;
        }
        let (Some(first), Some(last)) = (targets.first(), targets.last()) else {
            return Ok(EstimationReport {
                audit_id: None,
                estimated: Vec::new(),
                validation: ValidationReport::default(),
            });
        };
        let win = Window::covering(&ch, first.as_second(), last.as_second())?;
        let mut deliveries = Deliveries::new();
        let versions = load_window_versions(&tx, &ch, &win)?;
        let slice = load_slice(&tx, &ch, &win, &versions, &mut deliveries)?;
        let written = estimate_into_store(&tx, &ch, &targets, &slice, user, reason, None, at_ms)?;
        let (mut validation, _, _) = revalidate(&tx, &ch, &win, Cause::Estimate, at_ms, &mut deliveries)?;
        validation.intervals_estimated = written.estimated.len() as u64;
        validation.estimation_skipped = written.skipped;
        tx.commit().context("committing an estimation")?;
        Ok(EstimationReport { audit_id: written.audit_id, estimated: written.estimated, validation })
    }

    /// [`MeterDataStore::edit_interval`](crate::MeterDataStore::edit_interval).
    pub(super) fn edit_interval_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
        new_value: f64,
        user: &str,
        reason: &str,
    ) -> Result<EditOutcome, EditError> {
        check_edit(interval_end, new_value, user, reason)?;
        let reading_type_id = self.reading_type_id(reading_type)?;
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an edit")?;
        let meter_id = find_meter(&tx, &meter.0)?.ok_or_else(|| EditRefusal::UnknownMeter(meter.clone()))?;
        let end_s = floor_second(interval_end);
        let previous = history(&tx, &INTERVALS, meter_id, reading_type_id, end_s)?.pop();
        let version = match &previous {
            Some(p) => p
                .version
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt(format!("interval {end_s} has too many versions")))?,
            None => 1,
        };
        let detail = match &previous {
            Some(p) => format!("value {} -> {new_value} (version {} -> {version})", p.value, p.version),
            None => format!("value (none) -> {new_value} (version {version})"),
        };
        let audit_id = insert_audit(
            &tx,
            &NewAudit {
                at_ms,
                user,
                action: AuditAction::Edit,
                reason,
                meter_id,
                reading_type_id: Some(reading_type_id),
                first_end: Some(end_s),
                last_end: Some(end_s),
                detail,
            },
        )?;
        let class = vee.class_for(meter);
        let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
        let quality = QualityFlags(QualityFlags::EDITED);
        insert_audited_version(&tx, &ch, end_s, version, new_value, quality, audit_id)?;
        // The edited value closes its interval and opens the next one.
        let win = Window::covering(&ch, end_s, end_s + class.interval_length_s)?;
        let (validation, _, _) = revalidate(&tx, &ch, &win, Cause::Edit, at_ms, &mut Deliveries::new())?;
        tx.commit().context("committing an edit")?;
        let at = from_millisecond(at_ms)?;
        let interval = StoredInterval {
            interval_end: super::timestamp::from_second(end_s)?,
            value: new_value,
            quality,
            version,
            collected_at: at,
            ingested_at: at,
            source: EDIT_SOURCE.to_string(),
        };
        Ok(EditOutcome { interval, audit_id, validation })
    }

    /// [`MeterDataStore::accept_exceptions`](crate::MeterDataStore::accept_exceptions).
    pub(super) fn accept_exceptions_impl(
        &mut self,
        filter: &ExceptionFilter,
        user: &str,
        reason: &str,
    ) -> Result<u64, EditError> {
        check_actor(user, reason)?;
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        let at_ms = floor_millisecond(Timestamp::now());
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an acceptance")?;
        let meter_id = match &filter.meter {
            Some(m) => match find_meter(&tx, &m.0)? {
                Some(id) => Some(id),
                None => return Ok(0),
            },
            None => None,
        };
        let mut groups: BTreeMap<(i64, i64), Vec<FindingKey>> = BTreeMap::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT meter_id, reading_type_id, interval_end, rule, version FROM vee_finding \
                     WHERE status = 0 AND (?1 IS NULL OR meter_id = ?1) AND (?2 IS NULL OR reading_type_id = ?2) \
                     AND (?3 IS NULL OR rule = ?3) AND (?4 IS NULL OR interval_end >= ?4) \
                     AND (?5 IS NULL OR interval_end < ?5)",
                )
                .context("preparing the exceptions query")?;
            let mut rows = stmt
                .query(params![
                    meter_id,
                    reading_type_id,
                    filter.rule.map(|r| i64::from(r.code())),
                    filter.from.map(ceil_second),
                    filter.to.map(ceil_second)
                ])
                .context("selecting exceptions to accept")?;
            while let Some(r) = rows.next().context("selecting exceptions to accept")? {
                let key: (i64, i64) = (r.get(0).context("exception")?, r.get(1).context("exception")?);
                let finding =
                    (r.get(2).context("exception")?, r.get(3).context("exception")?, r.get(4).context("exception")?);
                groups.entry(key).or_default().push(finding);
            }
        }
        let mut accepted = 0;
        for ((meter_id, reading_type_id), findings) in &groups {
            let mut rules: Vec<i64> = findings.iter().map(|f| f.1).collect();
            rules.sort_unstable();
            rules.dedup();
            let names: Vec<&str> = rules
                .iter()
                .filter_map(|&c| u8::try_from(c).ok().and_then(RuleId::from_code))
                .map(RuleId::as_str)
                .collect();
            let audit_id = insert_audit(
                &tx,
                &NewAudit {
                    at_ms,
                    user,
                    action: AuditAction::Accept,
                    reason,
                    meter_id: *meter_id,
                    reading_type_id: Some(*reading_type_id),
                    first_end: findings.iter().map(|f| f.0).min(),
                    last_end: findings.iter().map(|f| f.0).max(),
                    detail: format!("{} findings accepted ({})", findings.len(), names.join(", ")),
                },
            )?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE vee_finding SET status = 3, closed_audit_id = ?6 WHERE meter_id = ?1 \
                     AND reading_type_id = ?2 AND interval_end = ?3 AND rule = ?4 AND version = ?5",
                )
                .context("preparing the acceptance")?;
            for &(end, rule, version) in findings {
                accepted += update
                    .execute(params![meter_id, reading_type_id, end, rule, version, audit_id])
                    .context("accepting a finding")? as u64;
            }
        }
        tx.commit().context("committing an acceptance")?;
        Ok(accepted)
    }
}
