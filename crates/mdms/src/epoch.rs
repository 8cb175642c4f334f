//! UTC instants as the store backends key them: whole seconds since the Unix epoch for
//! interval ends and register read times, whole milliseconds for collection, ingest and
//! audit times (SQLite stores these integers; PostgreSQL stores `timestamptz` at the same
//! resolution). Used by both backends and the engine-independent VEE glue
//! ([`crate::vee_run`]).

use jiff::Timestamp;

use crate::StoreError;

/// Whole seconds since the epoch, rounded down (sub-second parts are dropped).
pub(crate) fn floor_second(ts: Timestamp) -> i64 {
    let s = ts.as_second();
    if ts.subsec_nanosecond() < 0 { s - 1 } else { s }
}

/// Whole seconds since the epoch, rounded up: `stored >= ceil_second(t)` is `stored >= t`
/// and `stored < ceil_second(t)` is `stored < t` for whole-second `stored`.
pub(crate) fn ceil_second(ts: Timestamp) -> i64 {
    let s = ts.as_second();
    if ts.subsec_nanosecond() > 0 { s + 1 } else { s }
}

/// Whole milliseconds since the epoch, rounded down.
pub(crate) fn floor_millisecond(ts: Timestamp) -> i64 {
    let ms = ts.as_millisecond();
    if ts.subsec_nanosecond() < 0 && ts.subsec_nanosecond() % 1_000_000 != 0 { ms - 1 } else { ms }
}

/// The instant stored as `s` seconds; [`StoreError::Corrupt`] when out of jiff's range.
pub(crate) fn from_second(s: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(s).map_err(|e| StoreError::Corrupt(format!("timestamp {s} s: {e}")))
}

/// The instant stored as `ms` milliseconds; [`StoreError::Corrupt`] when out of range.
pub(crate) fn from_millisecond(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(format!("timestamp {ms} ms: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_of_fractional_instants() {
        let t = |s, ns| Timestamp::new(s, ns).unwrap();
        assert_eq!(floor_second(t(10, 0)), 10);
        assert_eq!(ceil_second(t(10, 0)), 10);
        assert_eq!(floor_second(t(10, 500_000_000)), 10);
        assert_eq!(ceil_second(t(10, 500_000_000)), 11);
        // -9.5 s lies between -10 and -9.
        assert_eq!(floor_second(t(-9, -500_000_000)), -10);
        assert_eq!(ceil_second(t(-9, -500_000_000)), -9);
        assert_eq!(floor_millisecond(t(1, 2_999_999)), 1_002);
        assert_eq!(floor_millisecond(t(-1, -2_000_000)), -1_002);
        assert_eq!(floor_millisecond(t(-1, -2_000_001)), -1_003);
        assert_eq!(from_second(60).unwrap(), t(60, 0));
        assert!(matches!(from_millisecond(i64::MAX), Err(StoreError::Corrupt(_))));
    }
}
