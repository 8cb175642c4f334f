//! The VEE requests of [`MeterDataStore`](crate::MeterDataStore) that write, run inside the
//! backend's transaction: re-validation of a meter, manual estimation, edits and
//! acceptance of exceptions. The backend checks the request (user, reason, value) before it
//! opens the transaction, and commits after.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{MeterId, QualityFlags, ReadingType};

use super::findings::Cause;
use super::ops::{estimate_into_store, revalidate};
use super::slice::load_slice;
use super::{Channel, FindingKey, NewAudit, OpenFindingFilter, VeeTx, Window};
use crate::editing::{AuditAction, EDIT_SOURCE, EditError, EditRefusal};
use crate::epoch::{ceil_second, floor_second, from_millisecond, from_second};
use crate::vee::{CompiledVee, ExceptionFilter, RuleId, ValidationReport, next_grid_after};
use crate::{EditOutcome, EstimationReport, StoreError, StoredInterval};

/// [`MeterDataStore::validate_range`](crate::MeterDataStore::validate_range): validates
/// every channel of `meter` (given as reading type and row id, in this order) that has values
/// in `[from, to)`, over whole local days.
pub(crate) fn validate_meter_range<T: VeeTx + ?Sized>(
    tx: &mut T,
    vee: &CompiledVee,
    meter: &MeterId,
    channels: &[(ReadingType, i64)],
    from: Timestamp,
    to: Timestamp,
    at_ms: i64,
) -> Result<ValidationReport, StoreError> {
    let mut report = ValidationReport::default();
    let Some(meter_id) = tx.find_meter(&meter.0)? else { return Ok(report) };
    let (from_s, to_s) = (ceil_second(from), ceil_second(to));
    if from_s >= to_s {
        return Ok(report);
    }
    let class = vee.class_for(meter);
    for &(reading_type, reading_type_id) in channels {
        let Some((first, last)) = tx.channel_extent(meter_id, reading_type_id, from_s, to_s)? else { continue };
        let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
        let win = Window::covering(&ch, first, last)?;
        let (r, _, _) = revalidate(tx, &ch, &win, Cause::Revalidate, at_ms)?;
        report.absorb(r);
    }
    Ok(report)
}

/// The checks of [`MeterDataStore::estimate_range`](crate::MeterDataStore::estimate_range)
/// made before any transaction: a user and a reason, a non-empty range, an energy channel.
pub(crate) fn check_estimate(
    reading_type: ReadingType,
    from: Timestamp,
    to: Timestamp,
    user: &str,
    reason: &str,
) -> Result<(), EditRefusal> {
    crate::editing::check_actor(user, reason)?;
    if from >= to {
        return Err(EditRefusal::EmptyRange { from, to });
    }
    if !reading_type.is_cumulative() {
        return Err(EditRefusal::NotCumulative(reading_type));
    }
    Ok(())
}

/// [`MeterDataStore::estimate_range`](crate::MeterDataStore::estimate_range) after
/// [`check_estimate`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn estimate_channel_range<T: VeeTx + ?Sized>(
    tx: &mut T,
    vee: &CompiledVee,
    meter: &MeterId,
    reading_type: ReadingType,
    reading_type_id: i64,
    (from, to): (Timestamp, Timestamp),
    (user, reason): (&str, &str),
    at_ms: i64,
) -> Result<EstimationReport, EditError> {
    let meter_id = tx.find_meter(&meter.0)?.ok_or_else(|| EditRefusal::UnknownMeter(meter.clone()))?;
    let class = vee.class_for(meter);
    let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
    let l = class.interval_length_s;
    let (from_s, to_s) = (ceil_second(from), ceil_second(to));
    let mut targets = Vec::new();
    let mut t = next_grid_after(from_s - 1, l, &class.tz);
    while t < to_s {
        targets.push(from_second(t)?);
        t += l;
    }
    let (Some(first), Some(last)) = (targets.first(), targets.last()) else {
        return Ok(EstimationReport { audit_id: None, estimated: Vec::new(), validation: ValidationReport::default() });
    };
    let win = Window::covering(&ch, first.as_second(), last.as_second())?;
    let points = tx.window_points(&ch, win.ctx_lo, win.ctx_hi)?;
    let slice = load_slice(tx, &ch, &win, points)?;
    let written = estimate_into_store(tx, &ch, &targets, &slice, user, reason, None, at_ms)?;
    let (mut validation, _, _) = revalidate(tx, &ch, &win, Cause::Estimate, at_ms)?;
    validation.intervals_estimated = written.estimated.len() as u64;
    validation.estimation_skipped = written.skipped;
    Ok(EstimationReport { audit_id: written.audit_id, estimated: written.estimated, validation })
}

/// [`MeterDataStore::edit_interval`](crate::MeterDataStore::edit_interval) after
/// [`check_edit`](crate::editing::check_edit).
#[allow(clippy::too_many_arguments)]
pub(crate) fn edit_one_interval<T: VeeTx + ?Sized>(
    tx: &mut T,
    vee: &CompiledVee,
    meter: &MeterId,
    reading_type: ReadingType,
    reading_type_id: i64,
    interval_end: Timestamp,
    new_value: f64,
    (user, reason): (&str, &str),
    at_ms: i64,
) -> Result<EditOutcome, EditError> {
    let meter_id = tx.find_meter(&meter.0)?.ok_or_else(|| EditRefusal::UnknownMeter(meter.clone()))?;
    let class = vee.class_for(meter);
    let ch = Channel { with_registers: true, meter_id, reading_type, reading_type_id, class };
    let end_s = floor_second(interval_end);
    let previous = tx.latest_version_at(&ch, end_s)?;
    let version = match previous {
        Some((v, _)) => {
            v.checked_add(1).ok_or_else(|| StoreError::Corrupt(format!("interval {end_s} has too many versions")))?
        }
        None => 1,
    };
    let detail = match previous {
        Some((v, value)) => format!("value {value} -> {new_value} (version {v} -> {version})"),
        None => format!("value (none) -> {new_value} (version {version})"),
    };
    let audit_id = tx.insert_audit(&NewAudit {
        at_ms,
        user,
        action: AuditAction::Edit,
        reason,
        meter_id,
        reading_type_id: Some(reading_type_id),
        first_end: Some(end_s),
        last_end: Some(end_s),
        detail,
    })?;
    let quality = QualityFlags(QualityFlags::EDITED);
    tx.insert_audited_version(&ch, end_s, version, new_value, quality, audit_id)?;
    // The edited value closes its interval and opens the next one.
    let win = Window::covering(&ch, end_s, end_s + class.interval_length_s)?;
    let (validation, _, _) = revalidate(tx, &ch, &win, Cause::Edit, at_ms)?;
    let at = from_millisecond(at_ms)?;
    let interval = StoredInterval {
        interval_end: from_second(end_s)?,
        value: new_value,
        quality,
        version,
        collected_at: at,
        ingested_at: at,
        source: EDIT_SOURCE.to_string(),
    };
    Ok(EditOutcome { interval, audit_id, validation })
}

/// [`MeterDataStore::accept_exceptions`](crate::MeterDataStore::accept_exceptions) after
/// [`check_actor`](crate::editing::check_actor): one audit entry per meter and channel.
pub(crate) fn accept_matching<T: VeeTx + ?Sized>(
    tx: &mut T,
    filter: &ExceptionFilter,
    reading_type_id: Option<i64>,
    (user, reason): (&str, &str),
    at_ms: i64,
) -> Result<u64, EditError> {
    let meter_id = match &filter.meter {
        Some(m) => match tx.find_meter(&m.0)? {
            Some(id) => Some(id),
            None => return Ok(0),
        },
        None => None,
    };
    let selection = OpenFindingFilter {
        meter_id,
        reading_type_id,
        rule: filter.rule.map(|r| i64::from(r.code())),
        from: filter.from.map(ceil_second),
        to: filter.to.map(ceil_second),
    };
    let mut groups: BTreeMap<(i64, i64), Vec<FindingKey>> = BTreeMap::new();
    for (m, rt, end, rule, version) in tx.matching_open_findings(&selection)? {
        groups.entry((m, rt)).or_default().push((end, rule, version));
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
        let audit_id = tx.insert_audit(&NewAudit {
            at_ms,
            user,
            action: AuditAction::Accept,
            reason,
            meter_id: *meter_id,
            reading_type_id: Some(*reading_type_id),
            first_end: findings.iter().map(|f| f.0).min(),
            last_end: findings.iter().map(|f| f.0).max(),
            detail: format!("{} findings accepted ({})", findings.len(), names.join(", ")),
        })?;
        for &(end, rule, version) in findings {
            accepted += tx.accept_finding((*meter_id, *reading_type_id, end, rule, version), audit_id)?;
        }
    }
    Ok(accepted)
}
