//! Billing periods: a run of local calendar days, and its bounds as UTC instants.
//!
//! A period covers the local days `first_day..=last_day` in the schedule's time zone: from
//! the local midnight that starts `first_day` to the local midnight that ends `last_day`.
//! Across a DST transition that is not a whole number of 24-hour days (a London March
//! holds 2 972 fifteen-minute intervals, an October 2 980, other months 96 per day).
//! The intervals billed are those whose end lies in `(start, end]`; the cumulative value
//! captured at `start` (the end of the previous period's last interval) is the opening
//! read.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::error::{BillingError, time_error};
use crate::StoreError;
use crate::consumption::local_day_bounds;

/// A billing period: the local days `first_day..=last_day` (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BillingPeriod {
    /// First local day of the period.
    pub first_day: Date,
    /// Last local day of the period (inclusive); not before `first_day`.
    pub last_day: Date,
}

impl BillingPeriod {
    /// The period `first_day..=last_day`.
    ///
    /// Errors: [`BillingError::InvalidPeriod`] when `last_day < first_day`.
    pub fn new(first_day: Date, last_day: Date) -> Result<BillingPeriod, BillingError> {
        if last_day < first_day {
            return Err(BillingError::InvalidPeriod { first_day, last_day });
        }
        Ok(BillingPeriod { first_day, last_day })
    }

    /// The calendar month `month` (1..=12) of `year`.
    ///
    /// Errors: [`BillingError::Time`] for a month that does not exist.
    pub fn calendar_month(year: i16, month: i8) -> Result<BillingPeriod, BillingError> {
        let first_day = Date::new(year, month, 1).map_err(time_error("building the first day of a month"))?;
        Ok(BillingPeriod { first_day, last_day: first_day.last_of_month() })
    }

    /// `count` consecutive monthly periods, the k-th (from 0) starting on `first_day` plus
    /// k months (clamped to the month's last day, so a cycle starting on the 31st starts on
    /// the 28th/29th/30th in shorter months and returns to the 31st) and ending the day
    /// before the next one starts.
    ///
    /// Errors: [`BillingError::Time`] past the end of the representable range.
    pub fn monthly(first_day: Date, count: usize) -> Result<Vec<BillingPeriod>, BillingError> {
        let start_of = |k: usize| -> Result<Date, BillingError> {
            // Beyond jiff's span limits the addition below reports the error.
            let months = i64::try_from(k).unwrap_or(i64::MAX);
            jiff::Span::new()
                .try_months(months)
                .and_then(|span| first_day.checked_add(span))
                .map_err(time_error("stepping a monthly billing cycle"))
        };
        let mut periods = Vec::with_capacity(count);
        for k in 0..count {
            let next = start_of(k + 1)?;
            let last_day = next.yesterday().map_err(time_error("finding the last day of a billing cycle"))?;
            periods.push(BillingPeriod { first_day: start_of(k)?, last_day });
        }
        Ok(periods)
    }

    /// Number of local calendar days in the period.
    pub fn day_count(&self) -> i64 {
        i64::from(self.first_day.until(self.last_day).map_or(0, |span| span.get_days())) + 1
    }

    /// The UTC instants of the local midnight that starts `first_day` and the one that
    /// ends `last_day`, in `tz` (DST-aware, as [`local_day_bounds`]).
    ///
    /// Errors: [`BillingError::InvalidPeriod`] when `last_day < first_day`,
    /// [`BillingError::Time`] for days at the edge of the representable range.
    pub fn utc_bounds(&self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), BillingError> {
        if self.last_day < self.first_day {
            return Err(BillingError::InvalidPeriod { first_day: self.first_day, last_day: self.last_day });
        }
        let (start, _) = day_bounds(self.first_day, tz)?;
        let (_, end) = day_bounds(self.last_day, tz)?;
        Ok((start, end))
    }
}

/// [`local_day_bounds`] with its time error as a [`BillingError::Time`].
fn day_bounds(day: Date, tz: &TimeZone) -> Result<(Timestamp, Timestamp), BillingError> {
    local_day_bounds(day, tz).map_err(|e| match e {
        StoreError::Time { context, source } => BillingError::Time { context, source },
        other => BillingError::Store(other),
    })
}
