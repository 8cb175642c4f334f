//! Maximum demand from interval energy: block and rolling (sliding-window) demand.
//!
//! Demand is average power over a demand interval: energy in the interval divided by its
//! length. This mirrors the COSEM Demand register (IEC 62056-6-2, interface class
//! "Demand register", class_id 5), whose `period` attribute is the sub-interval length and
//! whose `number_of_periods` is how many sub-intervals one demand value spans: 1 gives
//! block demand, more gives sliding (rolling) demand updated at each sub-interval end.
//!
//! Here the sub-interval is the load-profile interval, because that is the finest
//! resolution the MDMS holds:
//! - **Block demand**: each 15-minute interval on its own, kW = interval Wh × 4 / 1000
//!   (in general Wh / 1000 × 3600 / interval length in s).
//! - **Rolling demand**: a window of [`DemandSettings::rolling_window_minutes`] (a whole
//!   multiple of the interval, e.g. 30 or 60 minutes) sliding by one interval (15
//!   minutes). A "15-minute demand sliding every 5 minutes" as some meters compute it is
//!   not reproducible from 15-minute data; read the meter's own demand register for that.
//!
//! Conventions: a demand value is stamped with the end of its block or window (UTC), as
//! meters stamp maximum-demand registers; only windows lying wholly inside the billing
//! period and made of intervals whose consumption is known are considered; the first
//! maximum wins a tie (the earliest end).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Maximum-demand settings of a tariff (part of the TOU schedule file, `[demand]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSettings {
    /// Length of the rolling-demand window, minutes: a positive multiple of the
    /// load-profile interval (15). Default 30 (two intervals sliding by 15 minutes).
    #[serde(default = "default_rolling_window_minutes")]
    pub rolling_window_minutes: u32,
}

fn default_rolling_window_minutes() -> u32 {
    30
}

impl Default for DemandSettings {
    fn default() -> Self {
        DemandSettings { rolling_window_minutes: default_rolling_window_minutes() }
    }
}

/// One demand value: average power over `start..end`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DemandPeak {
    /// Average active power over the block or window, kW.
    pub kw: f64,
    /// Start of the block or window, UTC.
    pub start: Timestamp,
    /// End of the block or window, UTC: the demand's timestamp.
    pub end: Timestamp,
}

/// Rolling demand, kW, of a series of consecutive interval energies (Wh, `None` where the
/// interval's consumption is unknown), each `interval_length_s` long.
///
/// Element `i` of the result is the demand of the window of `window_intervals` intervals
/// that ends with interval `i`: the sum of their Wh / 1000 × 3600 / (window_intervals ×
/// interval_length_s). It is `None` for the first `window_intervals - 1` elements (the
/// window would start before the series), when any interval in the window is unknown, and
/// for every element when `window_intervals` is 0 or `interval_length_s` is not positive.
/// With `window_intervals == 1` this is block demand.
pub fn rolling_demand_kw(
    interval_wh: &[Option<f64>],
    window_intervals: usize,
    interval_length_s: i64,
) -> Vec<Option<f64>> {
    if window_intervals == 0 || interval_length_s <= 0 {
        return vec![None; interval_wh.len()];
    }
    let window_h = (window_intervals as f64) * (interval_length_s as f64) / 3600.0;
    (0..interval_wh.len())
        .map(|i| {
            let first = (i + 1).checked_sub(window_intervals)?;
            let window = interval_wh.get(first..=i)?;
            let wh: Option<f64> = window.iter().copied().sum();
            wh.map(|wh| wh / 1000.0 / window_h)
        })
        .collect()
}

/// Block demand, kW, of each interval: [`rolling_demand_kw`] with a one-interval window
/// (interval Wh × 4 / 1000 for 15-minute intervals).
pub fn block_demand_kw(interval_wh: &[Option<f64>], interval_length_s: i64) -> Vec<Option<f64>> {
    rolling_demand_kw(interval_wh, 1, interval_length_s)
}

/// The maximum of `demand_kw` over the elements `i` for which `include(i)` holds, as a
/// [`DemandPeak`] whose end is `first_end + i × interval_length_s` and whose start is
/// `window_intervals` intervals earlier; the earliest wins a tie. `None` when no included
/// element has a value.
pub fn max_demand(
    demand_kw: &[Option<f64>],
    first_end: Timestamp,
    interval_length_s: i64,
    window_intervals: usize,
    include: impl Fn(usize) -> bool,
) -> Option<DemandPeak> {
    let (index, kw) =
        demand_kw.iter().enumerate().filter(|(i, _)| include(*i)).filter_map(|(i, kw)| kw.map(|kw| (i, kw))).fold(
            None,
            |best: Option<(usize, f64)>, (i, kw)| match best {
                Some((_, best_kw)) if best_kw >= kw => best,
                _ => Some((i, kw)),
            },
        )?;
    let end_offset = i64::try_from(index).ok()?.checked_mul(interval_length_s)?;
    let end = first_end.checked_add(jiff::SignedDuration::from_secs(end_offset)).ok()?;
    let length = i64::try_from(window_intervals).ok()?.checked_mul(interval_length_s)?;
    let start = end.checked_sub(jiff::SignedDuration::from_secs(length)).ok()?;
    Some(DemandPeak { kw, start, end })
}
