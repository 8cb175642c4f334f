//! Builders shared by the analytics tests: instants, dates, cumulative series.
#![allow(dead_code)] // each test crate uses a different subset

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mdms::billing::{BillingPeriod, IntervalValue};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};

/// Parses an RFC 3339 instant written in a test.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?} in a test: {e}"))
}

/// Parses a civil date written in a test.
pub fn date(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s:?} in a test: {e}"))
}

/// A time zone by IANA name.
pub fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|e| panic!("time zone {name}: {e}"))
}

/// The period `first..=last`.
pub fn period(first: &str, last: &str) -> BillingPeriod {
    BillingPeriod::new(date(first), date(last)).expect("valid period")
}

/// `t` plus `seconds`.
pub fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).expect("timestamp in range")
}

/// A cumulative series with intervals of `interval_s`: `opening` at `start`, then one value
/// per entry of `amounts` (what was used in that interval), all valid.
pub fn cumulative(start: Timestamp, interval_s: i64, opening: f64, amounts: &[f64]) -> Vec<IntervalValue> {
    let mut out = vec![IntervalValue { interval_end: start, value: opening, quality: QualityFlags(0) }];
    let mut register = opening;
    for (k, a) in amounts.iter().enumerate() {
        register += a;
        out.push(IntervalValue {
            interval_end: plus(start, interval_s * (k as i64 + 1)),
            value: register,
            quality: QualityFlags(0),
        });
    }
    out
}

/// Sets the quality of the value at `at`.
pub fn set_quality(values: &mut [IntervalValue], at: Timestamp, quality: QualityFlags) {
    let v = values.iter_mut().find(|v| v.interval_end == at).expect("a value at that instant");
    v.quality = quality;
}

/// Removes the value at `at`.
pub fn remove_at(values: &mut Vec<IntervalValue>, at: Timestamp) {
    let before = values.len();
    values.retain(|v| v.interval_end != at);
    assert_eq!(values.len(), before - 1, "one value removed at {at}");
}

/// One collection of `meter` holding `values` on channel `rt`.
pub fn reading(meter: &str, rt: ReadingType, interval_s: u32, values: &[IntervalValue]) -> MeterReading {
    MeterReading {
        meter: MeterId::from(meter),
        collected_at: values.last().map(|v| v.interval_end).unwrap_or(Timestamp::UNIX_EPOCH),
        clock_drift_ms: Some(0),
        interval_length_s: interval_s,
        registers: vec![],
        intervals: values
            .iter()
            .map(|v| IntervalReading {
                reading_type: rt,
                interval_end: v.interval_end,
                value: v.value,
                quality: v.quality,
            })
            .collect(),
    }
}

/// Asserts `actual` is within 1e-9 of `expected`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}

/// Asserts an optional value is present and within 1e-9 of `expected`.
#[track_caller]
pub fn assert_some_close(actual: Option<f64>, expected: f64) {
    match actual {
        Some(a) => assert_close(a, expected),
        None => panic!("expected {expected}, got None"),
    }
}
