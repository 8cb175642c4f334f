//! Interval consumption from bulk quantities: pure functions, no storage.
//!
//! gridedge stores energy channels as bulk quantities (the cumulative register value at
//! each interval end). Formats that carry interval consumption (ESPI `deltaData`) need the
//! difference of the two values that bound each interval. An interval is derivable only
//! when both bounds are stored: a gap in the load profile leaves the intervals on either
//! side of it out, never zero.

use jiff::{SignedDuration, Timestamp};
use model::QualityFlags;

use crate::StoredInterval;

/// The energy consumed in one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalDelta {
    /// Start of the interval (the previous interval end), UTC.
    pub start: Timestamp,
    /// End of the interval, UTC.
    pub end: Timestamp,
    /// Bulk quantity at `end` minus the one at `start`, in the channel's unit (Wh, varh).
    /// Not clamped: a negative value (register reset, meter exchange) is passed on.
    pub value: f64,
    /// The flags of the value at `end`, plus the flags of the value at `start` that
    /// question the value itself (all but power down, clock adjusted and daylight saving,
    /// which describe the interval that *ends* at `start`).
    pub quality: QualityFlags,
}

/// Flags of the start value that describe the previous interval, not the register value.
const INTERVAL_ONLY: u32 = QualityFlags::POWER_DOWN | QualityFlags::CLOCK_ADJUSTED | QualityFlags::DAYLIGHT_SAVING;

/// The consumption of every interval of length `interval_length_s` whose two bounding
/// values are in `values` (a channel's latest versions ordered by interval end, as
/// [`MeterDataStore::interval_readings`](crate::MeterDataStore::interval_readings) returns
/// them). Consecutive values further apart (a gap) or closer (a clock adjustment) than
/// one interval give no delta.
pub fn deltas_from_bulk(values: &[StoredInterval], interval_length_s: u32) -> Vec<IntervalDelta> {
    let length = SignedDuration::from_secs(i64::from(interval_length_s));
    values
        .windows(2)
        .filter_map(|pair| match pair {
            [a, b] if b.interval_end.duration_since(a.interval_end) == length => Some(IntervalDelta {
                start: a.interval_end,
                end: b.interval_end,
                value: b.value - a.value,
                quality: QualityFlags(b.quality.0 | (a.quality.0 & !INTERVAL_ONLY)),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(end_s: i64, value: f64, quality: u32) -> StoredInterval {
        let t = Timestamp::from_second(end_s).unwrap();
        StoredInterval {
            interval_end: t,
            value,
            quality: QualityFlags(quality),
            version: 1,
            collected_at: t,
            ingested_at: t,
            source: "test".into(),
        }
    }

    #[test]
    fn consecutive_values_give_deltas_and_gaps_give_none() {
        let values = [
            stored(0, 100.0, 0),
            stored(900, 110.5, 0),
            stored(1800, 111.0, QualityFlags::POWER_DOWN),
            // 2700 missing: no delta for (1800, 2700] nor (2700, 3600].
            stored(3600, 130.0, QualityFlags::DATA_NOT_VALID),
            stored(4500, 131.0, 0),
        ];
        let deltas = deltas_from_bulk(&values, 900);
        let got: Vec<(i64, i64, f64, u32)> =
            deltas.iter().map(|d| (d.start.as_second(), d.end.as_second(), d.value, d.quality.0)).collect();
        assert_eq!(
            got,
            vec![
                (0, 900, 10.5, 0),
                (900, 1800, 0.5, QualityFlags::POWER_DOWN),
                // The start value is not valid: the delta is not either.
                (3600, 4500, 1.0, QualityFlags::DATA_NOT_VALID),
            ]
        );
    }

    #[test]
    fn power_down_on_the_start_value_does_not_spill_into_the_next_interval() {
        let values = [stored(0, 1.0, QualityFlags::POWER_DOWN | QualityFlags::CLOCK_INVALID), stored(900, 2.0, 0)];
        assert_eq!(deltas_from_bulk(&values, 900)[0].quality, QualityFlags(QualityFlags::CLOCK_INVALID));
        assert!(deltas_from_bulk(&values, 1800).is_empty());
        assert!(deltas_from_bulk(&values[..1], 900).is_empty());
    }
}
