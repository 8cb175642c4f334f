//! The typed error of the revenue-protection and water analytics.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::StoreError;
use crate::billing::BillingError;

/// Why an analysis was refused or failed. Nothing is written by any analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// Reading the interval series from the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The analysis period's last day is before its first day.
    #[error("invalid analysis period: last day {last_day} is before first day {first_day}")]
    InvalidPeriod {
        /// First local day (inclusive).
        first_day: Date,
        /// Last local day (inclusive).
        last_day: Date,
    },

    /// The period's UTC bounds (local midnights) are not on the interval grid: the interval
    /// length is not positive or does not divide the period (e.g. hourly data in a zone
    /// whose offset is not a whole hour).
    #[error("analysis period {start}..{end} is not a whole number of {interval_length_s} s intervals")]
    IntervalGrid {
        /// Period start, UTC.
        start: Timestamp,
        /// Period end, UTC.
        end: Timestamp,
        /// The profile's interval length, seconds.
        interval_length_s: i64,
    },

    /// The request names no meter where one is needed, names a meter twice, or gives a
    /// setting outside its range (non-finite, negative, not a multiple of the interval);
    /// the text says which.
    #[error("invalid analysis input: {0}")]
    InvalidInput(String),

    /// A date or instant at the edge of the representable range.
    #[error("time computation failed while {context}: {source}")]
    Time {
        /// What was being computed.
        context: &'static str,
        /// jiff's error.
        #[source]
        source: jiff::Error,
    },
}

impl From<BillingError> for AnalyticsError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Store(s) => AnalyticsError::Store(s),
            BillingError::InvalidPeriod { first_day, last_day } => {
                AnalyticsError::InvalidPeriod { first_day, last_day }
            }
            BillingError::IntervalGrid { start, end, interval_length_s } => {
                AnalyticsError::IntervalGrid { start, end, interval_length_s }
            }
            BillingError::Time { context, source } => AnalyticsError::Time { context, source },
            other => AnalyticsError::InvalidInput(other.to_string()),
        }
    }
}

/// Maps a jiff error to [`AnalyticsError::Time`] with `context`.
pub(crate) fn time_error(context: &'static str) -> impl FnOnce(jiff::Error) -> AnalyticsError {
    move |source| AnalyticsError::Time { context, source }
}
