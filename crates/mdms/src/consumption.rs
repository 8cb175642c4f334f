//! Daily consumption from bulk quantities: pure functions over interval series, no storage.
//!
//! An energy channel of the load profile captures the cumulative register value (the
//! IEC 61968-9 `bulkQuantity`) at each interval end. The energy used in a local day is the
//! difference between the values captured at the two local midnights that bound it, so
//! one missing or late interval inside the day cannot corrupt the day's total, and a day
//! whose bounding values are missing is reported as missing rather than as zero.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::{QualityFlags, ReadingType, Unit};
use serde::Serialize;

use crate::{StoreError, StoredInterval};

/// Energy used in one local day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyConsumption {
    /// The local calendar day.
    pub day: Date,
    /// The local midnight that starts the day, as a UTC instant.
    pub start: Timestamp,
    /// The local midnight that ends the day (start of the next day), as a UTC instant.
    pub end: Timestamp,
    /// Unit of the values below (Wh for active energy, varh for reactive energy).
    pub unit: Unit,
    /// Bulk quantity stored at `start` (latest version), if any.
    pub start_value: Option<f64>,
    /// Bulk quantity stored at `end` (latest version), if any.
    pub end_value: Option<f64>,
    /// `end_value - start_value`; `None` when either is missing. Not clamped: a negative
    /// value (register reset, meter exchange) is left for validation to flag.
    pub consumption: Option<f64>,
    /// Union of the quality flags of the two bounding values (empty when both are valid or
    /// missing).
    pub quality: QualityFlags,
}

impl DailyConsumption {
    /// Length of the local day in seconds: 86 400, or 82 800 / 90 000 on the days a
    /// daylight-saving transition shortens or lengthens it.
    pub fn day_length_s(&self) -> i64 {
        self.end.as_second() - self.start.as_second()
    }
}

/// The UTC instants of the local midnights that start and end `day` in `tz`.
///
/// Where a transition skips midnight, the day starts at the first instant that exists
/// (jiff's "compatible" disambiguation).
///
/// Errors: [`StoreError::Time`] for days at the edge of jiff's range.
pub fn local_day_bounds(day: Date, tz: &TimeZone) -> Result<(Timestamp, Timestamp), StoreError> {
    let time = |context| move |source| StoreError::Time { context, source };
    let start = day.to_zoned(tz.clone()).map_err(time("finding the local midnight starting a day"))?;
    let next = day.tomorrow().map_err(time("finding the day after"))?;
    let end = next.to_zoned(tz.clone()).map_err(time("finding the local midnight ending a day"))?;
    Ok((start.timestamp(), end.timestamp()))
}

/// Daily consumption of the days `from_day..=to_day` in `tz`, from the latest versions of
/// a cumulative channel's intervals (`intervals` need hold only the bounding values; any
/// order; a repeated interval end keeps its last entry).
///
/// Errors: [`StoreError::NotCumulative`] for instantaneous reading types, [`StoreError::Time`]
/// from [`local_day_bounds`].
pub fn daily_from_intervals(
    intervals: &[StoredInterval],
    reading_type: ReadingType,
    from_day: Date,
    to_day: Date,
    tz: &TimeZone,
) -> Result<Vec<DailyConsumption>, StoreError> {
    if !reading_type.is_cumulative() {
        return Err(StoreError::NotCumulative(reading_type));
    }
    let at: HashMap<Timestamp, (f64, QualityFlags)> =
        intervals.iter().map(|i| (i.interval_end, (i.value, i.quality))).collect();
    let mut days = Vec::new();
    let mut day = from_day;
    while day <= to_day {
        let (start, end) = local_day_bounds(day, tz)?;
        let first = at.get(&start);
        let last = at.get(&end);
        let quality = QualityFlags(first.map_or(0, |(_, q)| q.0) | last.map_or(0, |(_, q)| q.0));
        let consumption = match (first, last) {
            (Some((a, _)), Some((b, _))) => Some(b - a),
            _ => None,
        };
        days.push(DailyConsumption {
            day,
            start,
            end,
            unit: reading_type.unit(),
            start_value: first.map(|(v, _)| *v),
            end_value: last.map(|(v, _)| *v),
            consumption,
            quality,
        });
        if day == to_day {
            break;
        }
        day = day.tomorrow().map_err(|source| StoreError::Time { context: "stepping to the next day", source })?;
    }
    Ok(days)
}
