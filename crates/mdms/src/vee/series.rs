//! Interval series as validation and estimation see them, and interval consumption
//! derived from bulk quantities.
//!
//! Energy channels are stored as bulk quantities (the cumulative register value at each
//! interval end). The consumption of the interval ending at `t` is `value(t) − value(t−L)`;
//! after a gap, the difference to the previous stored value covers the whole gap. The MDMS
//! does not store consumption: it would go stale whenever a neighbouring interval gets a new
//! version (a late read, an estimate, an edit), while the difference of two latest versions
//! is always right and costs one subtraction.

use jiff::Timestamp;
use model::{QualityFlags, ReadingType};
use serde::Serialize;

use crate::StoredInterval;

/// One interval end as validation sees it: the latest stored version of its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The interval end, UTC.
    pub interval_end: Timestamp,
    /// The value in the channel's unit (bulk quantity for energy channels).
    pub value: f64,
    /// Quality flags of this version.
    pub quality: QualityFlags,
    /// The version number (1, 2, ...).
    pub version: u32,
    /// What the collection session that delivered this version reported; `None` for
    /// estimates and edits.
    pub delivery: Option<Delivery>,
    /// True when the HES delivered more than one distinct value for this interval end.
    pub conflicting_deliveries: bool,
}

impl SeriesPoint {
    /// A version-1 value without delivery facts (for tests and pure use).
    pub fn new(interval_end: Timestamp, value: f64, quality: QualityFlags) -> Self {
        SeriesPoint { interval_end, value, quality, version: 1, delivery: None, conflicting_deliveries: false }
    }
}

/// Facts of the collection session that delivered a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Meter clock minus HES clock at collection, milliseconds; `None` when not read.
    pub clock_drift_ms: Option<i64>,
    /// The profile's capture period the session reported, seconds.
    pub interval_length_s: u32,
}

/// One register read of the channel's register (a billing or on-demand read).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegisterPoint {
    /// The meter's time of the read, UTC.
    pub read_at: Timestamp,
    /// The register value in the channel's unit.
    pub value: f64,
}

/// The consumption of one interval, derived from two consecutive stored bulk quantities.
///
/// The MDMS stores bulk quantities only, not consumption: a stored difference would go stale
/// whenever a neighbouring interval gets a new version (a late read, an estimate, an edit),
/// while the difference of two latest versions is always right and costs one subtraction.
/// Billing and exports derive it with [`interval_consumption`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalConsumption {
    /// End of the interval (or of the last interval of a gap), UTC.
    pub interval_end: Timestamp,
    /// Seconds covered: the interval length, or more when values before `interval_end` are
    /// missing (the consumption then covers the whole gap).
    pub covered_s: i64,
    /// `value(interval_end) − value(previous stored end)`, channel unit (Wh, varh). Not
    /// clamped: a negative value is left for validation to flag.
    pub consumption: f64,
    /// Union of the quality flags of the two values.
    pub quality: QualityFlags,
}

/// Interval consumption of a cumulative channel from its stored values (latest versions,
/// ordered by interval end, as [`MeterDataStore::interval_readings`] returns them). The
/// first value only starts the series. Instantaneous channels (W, V, A) have no
/// consumption: the result is empty.
///
/// [`MeterDataStore::interval_readings`]: crate::MeterDataStore::interval_readings
pub fn interval_consumption(reading_type: ReadingType, intervals: &[StoredInterval]) -> Vec<IntervalConsumption> {
    if !reading_type.is_cumulative() {
        return Vec::new();
    }
    intervals
        .windows(2)
        .map(|w| IntervalConsumption {
            interval_end: w[1].interval_end,
            covered_s: w[1].interval_end.as_second() - w[0].interval_end.as_second(),
            consumption: w[1].value - w[0].value,
            quality: QualityFlags(w[0].quality.0 | w[1].quality.0),
        })
        .collect()
}

/// The series prepared once for all rules: ends in seconds, consumption (corrected for
/// register rollover) and the span each difference covers.
pub(crate) struct Prepared<'a> {
    pub points: &'a [SeriesPoint],
    /// `points[i].interval_end` in UTC seconds.
    pub ends: Vec<i64>,
    /// `ends[i] − ends[i − 1]` (0 for the first point).
    pub span: Vec<i64>,
    /// `value[i] − value[i − 1]`, plus the register modulus across a rollover; `None` for the
    /// first point and for instantaneous channels.
    pub consumption: Vec<Option<f64>>,
    /// True where the difference to the previous value is a register rollover.
    pub rollover: Vec<bool>,
}

impl<'a> Prepared<'a> {
    /// `points` must be ordered by interval end without repeats. `rollover` is the register
    /// modulus and the margin (fraction) of the rollover rule, when it runs.
    pub fn new(points: &'a [SeriesPoint], cumulative: bool, rollover: Option<(f64, f64)>) -> Self {
        let n = points.len();
        let ends: Vec<i64> = points.iter().map(|p| p.interval_end.as_second()).collect();
        let mut span = vec![0; n];
        let mut consumption = vec![None; n];
        let mut wrapped = vec![false; n];
        for i in 1..n {
            span[i] = ends[i] - ends[i - 1];
            if !cumulative {
                continue;
            }
            let (prev, value) = (points[i - 1].value, points[i].value);
            let mut delta = value - prev;
            let wraps = rollover.filter(|&(modulus, margin)| {
                delta < 0.0 && prev >= modulus * (1.0 - margin) && value <= modulus * margin
            });
            if let Some((modulus, _)) = wraps {
                delta += modulus;
                wrapped[i] = true;
            }
            consumption[i] = Some(delta);
        }
        Prepared { points, ends, span, consumption, rollover: wrapped }
    }

    /// The consumption of point `i` when it covers exactly one interval of `l` seconds.
    pub fn adjacent_consumption(&self, i: usize, l: i64) -> Option<f64> {
        match (self.consumption.get(i), self.span.get(i)) {
            (Some(Some(c)), Some(&s)) if s == l => Some(*c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn consumption_spans_gaps_and_wraps_rollovers() {
        let q = QualityFlags(0);
        let points = vec![
            SeriesPoint::new(at(900), 990.0, q),
            SeriesPoint::new(at(1800), 998.0, q),
            // A gap of two intervals, then the register wraps at 1000.
            SeriesPoint::new(at(4500), 3.0, q),
        ];
        let p = Prepared::new(&points, true, Some((1000.0, 0.1)));
        assert_eq!(p.span, vec![0, 900, 2700]);
        assert_eq!(p.consumption, vec![None, Some(8.0), Some(5.0)]);
        assert_eq!(p.rollover, vec![false, false, true]);
        assert_eq!(p.adjacent_consumption(1, 900), Some(8.0));
        assert_eq!(p.adjacent_consumption(2, 900), None);
        // Without the rollover rule the drop is a plain negative difference.
        let plain = Prepared::new(&points, true, None);
        assert_eq!(plain.consumption[2], Some(-995.0));
        // Instantaneous channels have no consumption.
        assert!(Prepared::new(&points, false, None).consumption.iter().all(Option::is_none));
    }
}
