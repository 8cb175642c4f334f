//! Interval amounts from bulk quantities, kept only where the data may be relied on.
//!
//! The amount of an interval (energy in Wh, volume in m³) is the bulk value at its end
//! minus the one at its start (latest versions). It is *usable* when both values are
//! present and billable ([`is_billable`]: valid as read, estimated or edited, and not
//! suspect after validation) and the difference is not negative (a register reset or a
//! bad value).

use serde::Serialize;

use crate::billing::is_billable;
use crate::billing::series::{AlignedChannel, IntervalGrid, IntervalValue};

/// Why a meter's intervals were or were not usable over a period, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ChannelCounts {
    /// Intervals with a usable amount.
    pub usable_intervals: u32,
    /// Grid values (interval ends, opening value included) with nothing stored.
    pub missing_values: u32,
    /// Stored grid values that are not billable (suspect, not valid, e.g. power down or
    /// tamper marked by the meter).
    pub not_billable_values: u32,
    /// Intervals whose amount came out negative.
    pub negative_intervals: u32,
}

impl ChannelCounts {
    fn absorb(&mut self, other: ChannelCounts) {
        self.missing_values = self.missing_values.saturating_add(other.missing_values);
        self.not_billable_values = self.not_billable_values.saturating_add(other.not_billable_values);
        self.negative_intervals = self.negative_intervals.saturating_add(other.negative_intervals);
    }
}

/// One meter's usable amount per grid interval (`None`: not usable), with the counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Amounts {
    pub values: Vec<Option<f64>>,
    pub counts: ChannelCounts,
}

/// The usable amounts of one cumulative channel on `grid`.
pub(crate) fn usable_amounts(grid: &IntervalGrid, series: &[IntervalValue]) -> Amounts {
    let aligned = AlignedChannel::align(grid, series);
    let bounds: Vec<Option<IntervalValue>> = std::iter::once(aligned.opening).chain(aligned.intervals).collect();
    let mut counts = ChannelCounts::default();
    for bound in &bounds {
        match bound {
            None => counts.missing_values = counts.missing_values.saturating_add(1),
            Some(v) if !is_billable(v.quality) => {
                counts.not_billable_values = counts.not_billable_values.saturating_add(1);
            }
            Some(_) => {}
        }
    }
    let values = bounds
        .windows(2)
        .map(|pair| match pair {
            [Some(a), Some(b)] if is_billable(a.quality) && is_billable(b.quality) => {
                let delta = b.value - a.value;
                if delta < 0.0 {
                    counts.negative_intervals = counts.negative_intervals.saturating_add(1);
                    None
                } else {
                    Some(delta)
                }
            }
            _ => None,
        })
        .collect::<Vec<_>>();
    counts.usable_intervals = count_u32(values.iter().filter(|v| v.is_some()).count());
    Amounts { values, counts }
}

/// Net amounts `import − export` of a meter: the import amounts alone when the export
/// channel holds no value on the grid (not metered), else usable only where both are.
pub(crate) fn net_amounts(grid: &IntervalGrid, import: &[IntervalValue], export: &[IntervalValue]) -> Amounts {
    let import_amounts = usable_amounts(grid, import);
    if AlignedChannel::align(grid, export).is_empty() {
        return import_amounts;
    }
    let export_amounts = usable_amounts(grid, export);
    let values: Vec<Option<f64>> = import_amounts
        .values
        .iter()
        .zip(&export_amounts.values)
        .map(|(i, e)| match (i, e) {
            (Some(i), Some(e)) => Some(i - e),
            _ => None,
        })
        .collect();
    let mut counts = import_amounts.counts;
    counts.absorb(export_amounts.counts);
    counts.usable_intervals = count_u32(values.iter().filter(|v| v.is_some()).count());
    Amounts { values, counts }
}

/// A count as `u32`, saturating.
pub(crate) fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
