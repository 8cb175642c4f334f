//! Major event days by the 2.5 beta method (IEEE 1366-2012 clause 4.5).
//!
//! 1. Daily SAIDI: the customer minutes of the sustained interruptions *beginning* on each
//!    day (an interruption spanning midnight counts on the day it began), divided by the
//!    customers served. Days are local days of the utility's time zone.
//! 2. From a history of daily SAIDI (the standard uses the five most recent years), drop
//!    the days with SAIDI = 0 (their logarithm is undefined), take the natural logarithm of
//!    the others; `α` is their mean and `β` their standard deviation (sample standard
//!    deviation, `n − 1`, as in the standard's worked example).
//! 3. `T_MED = exp(α + 2.5·β)`; a day whose SAIDI exceeds `T_MED` is a major event day.
//!    Indices "with major events excluded" leave out the interruptions beginning on major
//!    event days.

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{InterruptionEvent, ReliabilityError};

/// Daily SAIDI (minutes) of the sustained events (longer than `momentary_limit`), by the
/// local date (in `tz`) on which each event began. Days without sustained interruptions
/// are absent (their SAIDI is 0).
///
/// Errors: [`ReliabilityError::NoCustomers`], [`ReliabilityError::InvalidEvent`].
pub fn daily_saidi(
    events: &[InterruptionEvent],
    customers_served: u64,
    tz: &TimeZone,
    momentary_limit: SignedDuration,
) -> Result<BTreeMap<Date, f64>, ReliabilityError> {
    if customers_served == 0 {
        return Err(ReliabilityError::NoCustomers);
    }
    let mut out: BTreeMap<Date, f64> = BTreeMap::new();
    for e in events {
        if e.duration.is_negative() || !e.customer_minutes.is_finite() || e.customer_minutes < 0.0 {
            return Err(ReliabilityError::InvalidEvent(e.start));
        }
        if e.is_momentary(momentary_limit) {
            continue;
        }
        let day = e.start.to_zoned(tz.clone()).date();
        *out.entry(day).or_insert(0.0) += e.customer_minutes / customers_served as f64;
    }
    Ok(out)
}

/// The parameters of the 2.5 beta method over a history of daily SAIDI values (minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MajorEventThreshold {
    /// `α`: mean of `ln(SAIDI/day)` over the days with SAIDI > 0.
    pub alpha: f64,
    /// `β`: sample standard deviation of those logarithms.
    pub beta: f64,
    /// `T_MED = exp(α + 2.5·β)`, minutes of SAIDI per day.
    pub t_med: f64,
    /// Days used (SAIDI > 0).
    pub days: usize,
}

/// `T_MED` from a history of daily SAIDI values (minutes; zero days may be included and are
/// skipped). `None` with fewer than two positive finite values (no standard deviation).
pub fn major_event_threshold(daily_saidi: impl IntoIterator<Item = f64>) -> Option<MajorEventThreshold> {
    let logs: Vec<f64> = daily_saidi.into_iter().filter(|v| v.is_finite() && *v > 0.0).map(f64::ln).collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let alpha = logs.iter().sum::<f64>() / n;
    let beta = (logs.iter().map(|l| (l - alpha).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Some(MajorEventThreshold { alpha, beta, t_med: (alpha + 2.5 * beta).exp(), days: logs.len() })
}

/// The days whose SAIDI exceeds `t_med` (major event days).
pub fn major_event_days(daily_saidi: &BTreeMap<Date, f64>, t_med: f64) -> BTreeSet<Date> {
    daily_saidi.iter().filter(|(_, v)| **v > t_med).map(|(d, _)| *d).collect()
}

/// The events that did not begin on one of `days` (local dates in `tz`): the input of the
/// indices "with major events excluded".
pub fn exclude_major_event_days(
    events: &[InterruptionEvent],
    tz: &TimeZone,
    days: &BTreeSet<Date>,
) -> Vec<InterruptionEvent> {
    events.iter().filter(|e| !days.contains(&e.start.to_zoned(tz.clone()).date())).cloned().collect()
}
