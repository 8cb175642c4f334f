//! The typed error of billing-determinant computation.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::StoreError;

/// Why a TOU schedule, a billing period or a determinant computation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Reading the interval series from the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The schedule names a time zone that is not in the IANA database on this machine.
    #[error("unknown time zone {name:?}: {source}")]
    UnknownTimeZone {
        /// The name as written in the schedule, e.g. "Europe/London".
        name: String,
        /// jiff's error.
        #[source]
        source: jiff::Error,
    },

    /// The TOU schedule is inconsistent (an empty period name, a rule naming an undefined
    /// season, a malformed "HH:MM" or "MM-DD" value, ...); the text says what and where.
    #[error("invalid TOU schedule: {0}")]
    InvalidSchedule(String),

    /// A billing period whose last day is before its first day.
    #[error("invalid billing period: last day {last_day} is before first day {first_day}")]
    InvalidPeriod {
        /// First local day (inclusive).
        first_day: Date,
        /// Last local day (inclusive).
        last_day: Date,
    },

    /// The period's UTC bounds do not fall on the interval grid: its length is not a whole
    /// number of intervals (a time zone whose offset is not a multiple of the interval
    /// length), or the interval length is not positive.
    #[error("billing period {start}..{end} is not a whole number of {interval_length_s} s intervals")]
    IntervalGrid {
        /// Period start, UTC.
        start: Timestamp,
        /// Period end, UTC.
        end: Timestamp,
        /// The profile's interval length, seconds.
        interval_length_s: i64,
    },

    /// The rolling-demand window is not a positive whole multiple of the interval length.
    #[error(
        "rolling demand window of {window_minutes} min is not a positive multiple of the {interval_length_s} s interval"
    )]
    DemandWindow {
        /// The configured window, minutes.
        window_minutes: u32,
        /// The profile's interval length, seconds.
        interval_length_s: i64,
    },

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

/// Maps a jiff error to [`BillingError::Time`] with `context`.
pub(crate) fn time_error(context: &'static str) -> impl FnOnce(jiff::Error) -> BillingError {
    move |source| BillingError::Time { context, source }
}
