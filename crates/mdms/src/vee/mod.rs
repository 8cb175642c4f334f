//! # VEE — validation of interval data
//!
//! A domain core without SQL: validation rules are pure functions over an interval series
//! (the latest version of each interval end of one channel, plus the channel's register
//! reads), configured as data per meter class ([`VeeConfig`]), returning per-interval
//! [`Finding`]s (which rule failed on which interval and version). The store runs them on
//! every ingest and on request ([`validate_range`](crate::MeterDataStore::validate_range)),
//! and persists the findings; estimation ([`crate::estimation`]) and editing
//! ([`crate::editing`]) write new versions that are validated again.
//!
//! Rules and their source practice are listed on [`RuleId`], their parameters on
//! [`RuleConfig`]. Energy channels are bulk quantities; consumption is the difference of
//! consecutive values ([`interval_consumption`]; the MDMS does not store it, see
//! [`IntervalConsumption`]). Time is UTC; local days (23, 24 or 25 hours in a DST zone)
//! appear only where a rule is defined per day (spike, high/low usage) and in like-day
//! estimation, so a DST change creates neither a false gap nor a double count.
//!
//! Quality: stored values keep the meter's flags. Findings live beside them, per interval
//! and version; [`validated_interval_readings`](crate::MeterDataStore::validated_interval_readings)
//! folds open findings into [`QualityFlags::SUSPECT`](model::QualityFlags::SUSPECT) with the
//! failed rule's code, estimates carry [`QualityFlags::ESTIMATED`](model::QualityFlags::ESTIMATED)
//! with the method, edits [`QualityFlags::EDITED`](model::QualityFlags::EDITED).
//!
//! Cost: each rule is one O(n) pass; per-day rules add one pass over the window's days.

mod config;
mod exception;
mod finding;
pub(crate) mod local_days;
mod rule_id;
mod rules;
mod series;

use std::borrow::Cow;

use jiff::Timestamp;
use model::ReadingType;

pub use config::{
    CompiledClass, CompiledVee, EstimationConfig, MeterClass, RuleConfig, RuleSpec, StatusFlag, VeeConfig,
    VeeConfigError,
};
pub use exception::{ExceptionFilter, FindingStatus, StoredFinding, ValidationReport, VeeException};
pub use finding::Finding;
pub use rule_id::{RuleId, UnknownRule};
pub use series::{Delivery, IntervalConsumption, RegisterPoint, SeriesPoint, interval_consumption};

pub(crate) use rules::next_grid_after;
pub(crate) use series::Prepared;

use self::local_days::{LocalDay, day_of_interval_end, days_before, days_covering};
use crate::StoreError;

/// What [`validate`] looks at for one channel of one meter.
#[derive(Debug, Clone, Copy)]
pub struct ValidationInput<'a> {
    /// The channel.
    pub reading_type: ReadingType,
    /// The latest version of each stored interval end, ordered by interval end without
    /// repeats (an unordered slice is sorted first, keeping the last of repeated ends). It
    /// should hold the validated window plus context: the value before the window (so the
    /// first difference and a leading gap are known) and after it.
    pub points: &'a [SeriesPoint],
    /// First interval end of the validated window, UTC. Per-day rules run on the local days
    /// holding `[window_from, window_to]`; per-value rules on every point.
    pub window_from: Timestamp,
    /// Last interval end of the validated window, UTC (inclusive).
    pub window_to: Timestamp,
    /// The channel's register reads, latest versions, ordered by read time.
    pub registers: &'a [RegisterPoint],
    /// Bulk values at the local midnights of the days before the window (for high/low
    /// usage; see [`history_midnights`]), latest versions.
    pub midnight_history: &'a [(Timestamp, f64)],
}

/// Runs the class's rules that apply to the channel and returns the findings ordered by
/// interval end, then rule.
///
/// Errors: [`StoreError::Time`] for dates at the edge of the representable range.
pub fn validate(input: &ValidationInput<'_>, class: &CompiledClass) -> Result<Vec<Finding>, StoreError> {
    let rt = input.reading_type;
    let points = ordered(input.points);
    let rollover = match class.rule(RuleId::RegisterRollover, rt) {
        Some(RuleConfig::RegisterRollover { register_max, margin_percent }) => {
            Some((*register_max, *margin_percent / 100.0))
        }
        _ => None,
    };
    let series = Prepared::new(&points, rt.is_cumulative(), rollover);
    let (from, to) = (input.window_from.as_second(), input.window_to.as_second());
    let days: Vec<(LocalDay, std::ops::Range<usize>)> = if from <= to && !series.ends.is_empty() {
        days_covering(from, to, &class.tz)?
            .into_iter()
            .map(|d| {
                let range =
                    series.ends.partition_point(|&e| e <= d.start)..series.ends.partition_point(|&e| e <= d.end);
                (d, range)
            })
            .collect()
    } else {
        Vec::new()
    };
    let needed = rules::history_days_needed(class, rt);
    let history_days = match days.first() {
        Some((first, _)) if needed > 0 => days_before(first.date, needed, &class.tz)?,
        _ => Vec::new(),
    };
    let midnight_history: Vec<(i64, f64)> = input.midnight_history.iter().map(|(t, v)| (t.as_second(), *v)).collect();
    let ctx = rules::Context {
        series: &series,
        l: class.interval_length_s,
        tz: &class.tz,
        days: &days,
        registers: input.registers,
        midnight_history: &midnight_history,
        history_days,
    };
    let mut findings = Vec::new();
    for spec in class.rules.iter().filter(|s| s.applies_to(rt)) {
        rules::run(&spec.rule, &ctx, &mut findings);
    }
    findings.sort_by_key(|f| (f.interval_end, f.rule, f.version));
    findings.dedup_by(|a, b| (a.interval_end, a.rule, a.version) == (b.interval_end, b.rule, b.version));
    Ok(findings)
}

/// The local midnights (UTC) whose stored values [`validate`] needs in
/// [`ValidationInput::midnight_history`] for a window starting at `window_from`: the
/// bounds of the high/low rule's history days. Empty when the rule does not run on the
/// channel.
///
/// Errors: [`StoreError::Time`].
pub fn history_midnights(
    class: &CompiledClass,
    reading_type: ReadingType,
    window_from: Timestamp,
) -> Result<Vec<Timestamp>, StoreError> {
    let needed = rules::history_days_needed(class, reading_type);
    if needed == 0 {
        return Ok(Vec::new());
    }
    let first = day_of_interval_end(window_from.as_second(), &class.tz)?;
    let days = days_before(first, needed, &class.tz)?;
    let mut out: Vec<i64> = days.iter().map(|d| d.start).collect();
    out.extend(days.last().map(|d| d.end));
    out.into_iter()
        .map(|s| Timestamp::from_second(s).map_err(|source| StoreError::Time { context: "history midnight", source }))
        .collect()
}

/// `points` ordered by interval end without repeats (borrowed when already so).
fn ordered(points: &[SeriesPoint]) -> Cow<'_, [SeriesPoint]> {
    if points.windows(2).all(|w| w[0].interval_end < w[1].interval_end) {
        return Cow::Borrowed(points);
    }
    let mut v = points.to_vec();
    // Stable: among repeated ends the last given stays last, and dedup keeps it.
    v.sort_by_key(|p| p.interval_end);
    let mut out: Vec<SeriesPoint> = Vec::with_capacity(v.len());
    for p in v {
        match out.last_mut() {
            Some(last) if last.interval_end == p.interval_end => *last = p,
            _ => out.push(p),
        }
    }
    Cow::Owned(out)
}
