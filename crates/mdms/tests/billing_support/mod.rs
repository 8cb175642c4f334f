//! Builders shared by the billing tests: instants, schedules from JSON, cumulative series.
#![allow(dead_code)] // each test crate uses a different subset

use jiff::{SignedDuration, Timestamp};
use mdms::billing::{BillingPeriod, IntervalValue, TouSchedule};
use model::QualityFlags;

/// Parses an RFC 3339 instant written in a test, e.g. "2025-06-02T16:00:00Z".
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?} in a test: {e}"))
}

/// Parses a civil date written in a test, e.g. "2025-06-02".
pub fn date(s: &str) -> jiff::civil::Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s:?} in a test: {e}"))
}

/// The one-day billing period `day`.
pub fn one_day(day: &str) -> BillingPeriod {
    BillingPeriod::new(date(day), date(day)).expect("valid period")
}

/// A schedule from its JSON form (the same serde path as a configuration file).
pub fn schedule(json: serde_json::Value) -> TouSchedule {
    serde_json::from_value(json).unwrap_or_else(|e| panic!("test schedule does not load: {e}"))
}

/// `t` plus `minutes`.
pub fn plus_min(t: Timestamp, minutes: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(minutes)).expect("timestamp in range")
}

/// A cumulative 15-minute channel: the opening value `opening` at `start`, then one value
/// per entry of `interval_amounts` (Wh or varh used in that interval), all valid.
pub fn cumulative(start: Timestamp, opening: f64, interval_amounts: &[f64]) -> Vec<IntervalValue> {
    let mut values = vec![IntervalValue { interval_end: start, value: opening, quality: QualityFlags(0) }];
    let mut register = opening;
    for (k, amount) in interval_amounts.iter().enumerate() {
        register += amount;
        let interval_end = plus_min(start, 15 * (k as i64 + 1));
        values.push(IntervalValue { interval_end, value: register, quality: QualityFlags(0) });
    }
    values
}

/// Sets the quality of the value at the end of interval `k` (index `k + 1`; index 0 is the
/// opening read).
pub fn set_quality(values: &mut [IntervalValue], k: usize, quality: QualityFlags) {
    values[k + 1].quality = quality;
}

/// Asserts `actual` is within 1e-9 of `expected`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}

/// Asserts an optional amount is present and within 1e-9 of `expected`.
#[track_caller]
pub fn assert_some_close(actual: Option<f64>, expected: f64) {
    match actual {
        Some(a) => assert_close(a, expected),
        None => panic!("expected {expected}, got None"),
    }
}
