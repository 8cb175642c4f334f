//! Builders for the readings the conformance suite ingests.

use jiff::{SignedDuration, Timestamp};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};

/// Parses an RFC 3339 UTC instant written in the test, e.g. "2025-03-30T00:00:00Z".
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?} in a test: {e}"))
}

/// `t` plus `seconds`.
pub fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).expect("timestamp in range")
}

/// One interval value.
pub fn iv(reading_type: ReadingType, interval_end: Timestamp, value: f64, quality: u32) -> IntervalReading {
    IntervalReading { reading_type, interval_end, value, quality: QualityFlags(quality) }
}

/// One register read.
pub fn reg(reading_type: ReadingType, read_at: Timestamp, value: f64) -> RegisterRead {
    RegisterRead { reading_type, read_at, value }
}

/// A 15-minute-profile collection of `meter` at `collected_at` with no clock drift.
pub fn reading(
    meter: &str,
    collected_at: Timestamp,
    intervals: Vec<IntervalReading>,
    registers: Vec<RegisterRead>,
) -> MeterReading {
    MeterReading {
        meter: MeterId::from(meter),
        collected_at,
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers,
        intervals,
    }
}

/// A cumulative +A channel: `count` 15-minute interval ends from `first_end`, the k-th
/// (from 0) holding `start_wh + k * step_wh`.
pub fn energy_ramp(first_end: Timestamp, count: i64, start_wh: f64, step_wh: f64) -> Vec<IntervalReading> {
    (0..count)
        .map(|k| iv(ReadingType::ActiveEnergyImport, plus(first_end, 900 * k), start_wh + step_wh * k as f64, 0))
        .collect()
}

/// The meter id `s`.
pub fn meter(s: &str) -> MeterId {
    MeterId::from(s)
}

/// Start of time for "everything" range queries.
pub fn t_min() -> Timestamp {
    ts("1970-01-01T00:00:00Z")
}

/// End of time for "everything" range queries.
pub fn t_max() -> Timestamp {
    ts("2100-01-01T00:00:00Z")
}
