//! The interval series billing works on: cumulative values at interval ends, aligned to
//! the billing period's interval grid, and the interval consumption derived from them.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use model::QualityFlags;
use serde::{Deserialize, Serialize};

use super::error::BillingError;
use crate::StoredInterval;

/// One bulk quantity of an energy channel: the cumulative register value captured at an
/// interval end (Wh for active energy, varh for reactive energy), with its quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntervalValue {
    /// End of the interval, UTC.
    pub interval_end: Timestamp,
    /// Cumulative register value at `interval_end`, Wh or varh.
    pub value: f64,
    /// Quality of the value (latest version).
    pub quality: QualityFlags,
}

impl From<&StoredInterval> for IntervalValue {
    fn from(stored: &StoredInterval) -> Self {
        IntervalValue { interval_end: stored.interval_end, value: stored.value, quality: stored.quality }
    }
}

/// The four energy channels of one meter around one billing period: cumulative values at
/// interval ends (latest versions), in any order. Values outside `[start, end]` of the
/// period are ignored; when an interval end appears twice the last entry counts. An empty
/// channel other than `active_import` is "not metered".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelSeries {
    /// A+ active energy import (1.0.1.8.0), Wh.
    pub active_import: Vec<IntervalValue>,
    /// A− active energy export (1.0.2.8.0), Wh.
    pub active_export: Vec<IntervalValue>,
    /// R+ reactive energy import (1.0.3.8.0), varh.
    pub reactive_import: Vec<IntervalValue>,
    /// R− reactive energy export (1.0.4.8.0), varh.
    pub reactive_export: Vec<IntervalValue>,
}

/// The intervals of a billing period: `count` intervals of `interval_length_s` seconds
/// from `start`; interval `k` (from 0) ends at `start + (k + 1) × interval_length_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IntervalGrid {
    /// Start of the period (end of the opening interval), UTC.
    pub start: Timestamp,
    /// End of the period (end of its last interval), UTC.
    pub end: Timestamp,
    /// Interval length, seconds.
    pub interval_length_s: i64,
    /// Number of intervals in the period.
    pub count: usize,
}

impl IntervalGrid {
    /// The grid of `start..end` in intervals of `interval_length_s`.
    ///
    /// Errors: [`BillingError::IntervalGrid`] when the length is not positive or
    /// `end - start` is not a positive whole number of intervals.
    pub fn new(start: Timestamp, end: Timestamp, interval_length_s: i64) -> Result<IntervalGrid, BillingError> {
        let err = || BillingError::IntervalGrid { start, end, interval_length_s };
        let span_s = end.as_second() - start.as_second();
        if interval_length_s <= 0 || span_s <= 0 || span_s % interval_length_s != 0 {
            return Err(err());
        }
        let count = usize::try_from(span_s / interval_length_s).map_err(|_| err())?;
        Ok(IntervalGrid { start, end, interval_length_s, count })
    }

    /// End of interval `k` (from 0), UTC. Saturates at the period end for `k >= count`.
    pub fn interval_end(&self, k: usize) -> Timestamp {
        self.boundary(k.saturating_add(1))
    }

    /// Start of interval `k` (from 0), UTC.
    pub fn interval_start(&self, k: usize) -> Timestamp {
        self.boundary(k)
    }

    /// The `n`-th boundary: `start + n × interval_length_s`, at most `end`.
    fn boundary(&self, n: usize) -> Timestamp {
        let n = i64::try_from(n.min(self.count)).unwrap_or(0);
        self.start.checked_add(SignedDuration::from_secs(n * self.interval_length_s)).unwrap_or(self.end)
    }

    /// Which boundary `t` is: `Some(0)` for `start` (the opening read), `Some(k + 1)` for
    /// the end of interval `k`; `None` off the grid or outside `[start, end]`.
    pub fn boundary_index(&self, t: Timestamp) -> Option<usize> {
        let offset = t.as_second() - self.start.as_second();
        if offset < 0 || offset % self.interval_length_s != 0 || t.subsec_nanosecond() != 0 {
            return None;
        }
        let n = usize::try_from(offset / self.interval_length_s).ok()?;
        (n <= self.count).then_some(n)
    }
}

/// One channel's values placed on a period's [`IntervalGrid`].
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedChannel {
    /// The value at the period start (the opening read), if stored.
    pub opening: Option<IntervalValue>,
    /// The value at the end of each interval of the period, `None` where missing.
    pub intervals: Vec<Option<IntervalValue>>,
    /// Values inside `[start, end]` that are not on the interval grid (ignored).
    pub off_grid: u32,
}

impl AlignedChannel {
    /// Places `values` on `grid` (see [`ChannelSeries`] for duplicates and range).
    pub fn align(grid: &IntervalGrid, values: &[IntervalValue]) -> AlignedChannel {
        let mut by_boundary: HashMap<usize, IntervalValue> = HashMap::new();
        let mut off_grid = 0u32;
        for v in values {
            if v.interval_end < grid.start || v.interval_end > grid.end {
                continue;
            }
            match grid.boundary_index(v.interval_end) {
                Some(n) => {
                    by_boundary.insert(n, *v);
                }
                None => off_grid = off_grid.saturating_add(1),
            }
        }
        let opening = by_boundary.get(&0).copied();
        let intervals = (1..=grid.count).map(|n| by_boundary.get(&n).copied()).collect();
        AlignedChannel { opening, intervals, off_grid }
    }

    /// True when the channel holds no value on the grid (not metered in this period).
    pub fn is_empty(&self) -> bool {
        self.opening.is_none() && self.intervals.iter().all(Option::is_none)
    }

    /// Consumption of each interval (Wh or varh): the value at its end minus the value at
    /// its start; `None` when either is missing. Not clamped (a negative value is a
    /// register reset or a bad value, reported by readiness).
    pub fn interval_consumption(&self) -> Vec<Option<f64>> {
        let mut previous = self.opening.map(|v| v.value);
        self.intervals
            .iter()
            .map(|end| {
                let current = end.map(|v| v.value);
                let delta = match (previous, current) {
                    (Some(a), Some(b)) => Some(b - a),
                    _ => None,
                };
                previous = current;
                delta
            })
            .collect()
    }

    /// Register difference over the whole period: value at the last interval end minus the
    /// opening read; `None` when either is missing.
    pub fn period_consumption(&self) -> Option<f64> {
        let last = self.intervals.last().copied().flatten()?;
        Some(last.value - self.opening?.value)
    }
}
