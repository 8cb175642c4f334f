//! Validation and estimation of one channel's window inside one transaction.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::findings::{Cause, persist};
use super::slice::load_slice;
use super::{Channel, NewAudit, Slice, VeeTx, Window};
use crate::editing::{AUTOMATIC_USER, AuditAction, ESTIMATION_SOURCE};
use crate::epoch::{from_millisecond, from_second};
use crate::estimation::{EstimationInput, EstimationMethod, SkippedRun, estimate};
use crate::vee::{Finding, RuleId, SeriesPoint, ValidationInput, ValidationReport, validate};
use crate::{StoreError, StoredInterval};

/// Validates `win` from `ctx_points` (the latest versions in its context) and records the
/// findings. Returns the report, the slice validated and the findings.
pub(crate) fn validate_points<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    ctx_points: Vec<SeriesPoint>,
    cause: Cause,
    at_ms: i64,
) -> Result<(ValidationReport, Slice, Vec<Finding>), StoreError> {
    let slice = load_slice(tx, ch, win, ctx_points)?;
    let input = ValidationInput {
        reading_type: ch.reading_type,
        points: &slice.points,
        window_from: from_second(win.from)?,
        window_to: from_second(win.to)?,
        registers: &slice.registers,
        midnight_history: &slice.midnights,
    };
    let findings = validate(&input, ch.class)?;
    let counts = persist(tx, ch, win, &slice, &findings, cause, at_ms)?;
    let report = ValidationReport {
        channels: 1,
        findings_new: counts.new,
        findings_reported: counts.reported,
        findings_cleared: counts.cleared,
        findings_superseded: counts.superseded,
        ..ValidationReport::default()
    };
    Ok((report, slice, findings))
}

/// Loads `win` from the store and validates it.
pub(crate) fn revalidate<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    cause: Cause,
    at_ms: i64,
) -> Result<(ValidationReport, Slice, Vec<Finding>), StoreError> {
    let points = tx.window_points(ch, win.ctx_lo, win.ctx_hi)?;
    validate_points(tx, ch, win, points, cause, at_ms)
}

/// After a validation on ingest: estimates the missing intervals (and those failing the
/// class's `replace_rules`) when the class estimates automatically, then validates the
/// estimates. Returns the estimation's share of the report.
pub(crate) fn auto_estimate<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    slice: &Slice,
    findings: &[Finding],
    at_ms: i64,
) -> Result<ValidationReport, StoreError> {
    let cfg = &ch.class.estimation;
    if !cfg.auto {
        return Ok(ValidationReport::default());
    }
    // Only values read from the meter are replaced automatically: an estimate that fails
    // again, or a user's edit, stays for a person to decide (no version churn).
    let replaceable = |f: &Finding| {
        cfg.replace_rules.contains(&f.rule)
            && slice
                .point_at(f.interval_end.as_second())
                .is_some_and(|p| p.version == f.version && p.quality.is_actual())
    };
    let mut targets: Vec<Timestamp> = findings
        .iter()
        .filter(|f| (f.rule == RuleId::MissingInterval && f.version == 0) || replaceable(f))
        .map(|f| f.interval_end)
        .collect();
    targets.dedup();
    if targets.is_empty() {
        return Ok(ValidationReport::default());
    }
    let reason = "automatic estimation after validation";
    let written = estimate_into_store(tx, ch, &targets, slice, AUTOMATIC_USER, reason, Some(cfg.max_gap_s), at_ms)?;
    let mut report = ValidationReport {
        intervals_estimated: written.estimated.len() as u64,
        estimation_skipped: written.skipped,
        ..ValidationReport::default()
    };
    if let (Some(first), Some(last)) = (written.estimated.first(), written.estimated.last()) {
        let again = win.union(Window::covering(ch, first.interval_end.as_second(), last.interval_end.as_second())?);
        let (validation, _, _) = revalidate(tx, ch, &again, Cause::Estimate, at_ms)?;
        report.absorb(ValidationReport { channels: 0, ..validation });
    }
    Ok(report)
}

/// What [`estimate_into_store`] wrote.
pub(crate) struct Written {
    pub audit_id: Option<i64>,
    pub estimated: Vec<StoredInterval>,
    pub skipped: Vec<SkippedRun>,
}

/// Estimates `targets` from `base` (loading the like-day search range when a run is long
/// enough to need it), writes the estimates as new versions with one audit entry, and
/// returns them. Does not validate.
#[allow(clippy::too_many_arguments)]
pub(crate) fn estimate_into_store<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    targets: &[Timestamp],
    base: &Slice,
    user: &str,
    reason: &str,
    max_gap_s: Option<u32>,
    at_ms: i64,
) -> Result<Written, StoreError> {
    let cfg = &ch.class.estimation;
    let l = ch.class.interval_length_s;
    let (first, last) = match (targets.iter().min(), targets.iter().max()) {
        (Some(a), Some(b)) => (a.as_second(), b.as_second()),
        _ => return Ok(Written { audit_id: None, estimated: Vec::new(), skipped: Vec::new() }),
    };
    let long_run_possible = targets.len() as i64 * l > i64::from(cfg.max_interpolation_s);
    let extended;
    let points: &[SeriesPoint] = if long_run_possible {
        let reach = (i64::from(cfg.like_day_search_days) + 2) * 86_400;
        let latest = tx.latest_values(ch, first - reach, last + reach)?;
        let mut merged: BTreeMap<i64, SeriesPoint> =
            base.points.iter().map(|p| (p.interval_end.as_second(), p.clone())).collect();
        for p in latest {
            merged.entry(p.interval_end.as_second()).or_insert(p);
        }
        extended = merged.into_values().collect::<Vec<_>>();
        &extended
    } else {
        &base.points
    };
    let input =
        EstimationInput { reading_type: ch.reading_type, points, targets, registers: &base.registers, max_gap_s };
    let outcome = estimate(&input, ch.class)?;
    if outcome.estimates.is_empty() {
        return Ok(Written { audit_id: None, estimated: Vec::new(), skipped: outcome.skipped });
    }
    let by_method = |m: EstimationMethod| outcome.estimates.iter().filter(|e| e.method == m).count();
    let detail = format!(
        "{} intervals estimated ({} {}, {} {}); {} runs skipped",
        outcome.estimates.len(),
        by_method(EstimationMethod::LinearInterpolation),
        EstimationMethod::LinearInterpolation.as_str(),
        by_method(EstimationMethod::LikeDayAverage),
        EstimationMethod::LikeDayAverage.as_str(),
        outcome.skipped.len()
    );
    let audit_id = tx.insert_audit(&NewAudit {
        at_ms,
        user,
        action: AuditAction::Estimate,
        reason,
        meter_id: ch.meter_id,
        reading_type_id: Some(ch.reading_type_id),
        first_end: outcome.estimates.first().map(|e| e.interval_end.as_second()),
        last_end: outcome.estimates.last().map(|e| e.interval_end.as_second()),
        detail,
    })?;
    let at = from_millisecond(at_ms)?;
    let latest = |end_s: i64| {
        points.binary_search_by_key(&end_s, |p| p.interval_end.as_second()).ok().and_then(|i| points.get(i))
    };
    let mut estimated = Vec::with_capacity(outcome.estimates.len());
    for e in &outcome.estimates {
        let end_s = e.interval_end.as_second();
        let version = latest(end_s).map_or(Ok(1), |p| {
            p.version
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt(format!("interval {end_s} has too many versions")))
        })?;
        tx.insert_audited_version(ch, end_s, version, e.value, e.quality, audit_id)?;
        estimated.push(StoredInterval {
            interval_end: e.interval_end,
            value: e.value,
            quality: e.quality,
            version,
            collected_at: at,
            ingested_at: at,
            source: ESTIMATION_SOURCE.to_string(),
        });
    }
    Ok(Written { audit_id: Some(audit_id), estimated, skipped: outcome.skipped })
}

#[cfg(feature = "postgres")]
/// Validation on ingest of one channel whose values in `win` were just written: validates
/// the window from `ctx_points` (the latest versions in its context, read after the write)
/// and, where the class estimates automatically, estimates what is missing or rejected.
pub(crate) fn validate_on_ingest<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    ctx_points: Vec<SeriesPoint>,
    at_ms: i64,
) -> Result<ValidationReport, StoreError> {
    let (mut report, slice, findings) = validate_points(tx, ch, win, ctx_points, Cause::Ingest, at_ms)?;
    report.absorb(auto_estimate(tx, ch, win, &slice, &findings, at_ms)?);
    Ok(report)
}
