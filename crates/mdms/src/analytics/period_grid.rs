//! The interval grid of an analysis period and its local days.
//!
//! A period is a run of local calendar days (a [`BillingPeriod`]) in an IANA time zone; its
//! intervals end in `(start, end]` on a grid of `interval_length_s` seconds from the local
//! midnight that starts it. An interval belongs to the local day in which it starts, so
//! days hold 92, 96 or 100 fifteen-minute intervals around daylight-saving changes.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::error::{AnalyticsError, time_error};
use crate::billing::BillingPeriod;
use crate::billing::series::IntervalGrid;
use crate::consumption::local_day_bounds;

/// One local day of the period: its intervals are `first..first + count` of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DaySpan {
    /// The local date.
    pub day: Date,
    /// The local midnight starting the day, UTC.
    pub start: Timestamp,
    /// The local midnight ending it, UTC.
    pub end: Timestamp,
    /// Index of the day's first interval in the grid.
    pub first: usize,
    /// Number of intervals in the day.
    pub count: usize,
}

/// The grid of a period and its days, in order.
#[derive(Debug, Clone)]
pub(crate) struct PeriodGrid {
    pub grid: IntervalGrid,
    pub days: Vec<DaySpan>,
}

impl PeriodGrid {
    /// The grid of `period` in `tz` with intervals of `interval_length_s` seconds.
    ///
    /// Errors: [`AnalyticsError::InvalidPeriod`], [`AnalyticsError::IntervalGrid`] when a
    /// local midnight is not on the grid, [`AnalyticsError::Time`].
    pub fn new(period: &BillingPeriod, tz: &TimeZone, interval_length_s: i64) -> Result<PeriodGrid, AnalyticsError> {
        let (start, end) = period.utc_bounds(tz)?;
        let grid = IntervalGrid::new(start, end, interval_length_s)?;
        let off_grid = || AnalyticsError::IntervalGrid { start, end, interval_length_s };
        let mut days = Vec::new();
        let mut day = period.first_day;
        loop {
            let (day_start, day_end) = local_day_bounds(day, tz)?;
            let offset = day_start.as_second() - start.as_second();
            let length = day_end.as_second() - day_start.as_second();
            if offset % interval_length_s != 0 || length % interval_length_s != 0 {
                return Err(off_grid());
            }
            let first = usize::try_from(offset / interval_length_s).map_err(|_| off_grid())?;
            let count = usize::try_from(length / interval_length_s).map_err(|_| off_grid())?;
            days.push(DaySpan { day, start: day_start, end: day_end, first, count });
            if day >= period.last_day {
                break;
            }
            day = day.tomorrow().map_err(time_error("stepping to the next day"))?;
        }
        Ok(PeriodGrid { grid, days })
    }
}
