//! Billing determinants of one meter for one billing period and TOU schedule: the pure
//! computation from interval series (no storage).
//!
//! Conventions:
//! - Interval consumption is the difference of consecutive cumulative values; the opening
//!   read is the value at the period start (the end of the interval that ends exactly
//!   there).
//! - An interval belongs to the TOU period in force at its **start**, local wall time (so
//!   the interval 15:45–16:00 is before a 16:00 peak and 16:00–16:15 is in it).
//! - Totals are register differences (last value minus opening read), so they are exact
//!   even across DST days of 23 or 25 hours; TOU amounts are sums of interval
//!   consumption. For a bill-ready period the TOU amounts add up to the total; otherwise
//!   intervals with unknown consumption are left out of the TOU amounts.
//! - Demand: see [`super::demand`]. Per TOU period, a block counts in the TOU period of
//!   its interval and a rolling window in the TOU period of its last interval (the one in
//!   force when the window ends, as a meter's TOU-switched demand register would see it).
//! - Average power factor over the period, import only: PF = kWh / √(kWh² + kvarh²) with
//!   kWh the A+ total and kvarh the R+ total (reactive import, quadrants I+II: lagging
//!   while importing). Leading reactive energy and export are not part of it.

use model::{MeterId, ReadingType};
use serde::Serialize;

use super::demand::{DemandPeak, block_demand_kw, max_demand, rolling_demand_kw};
use super::error::BillingError;
use super::period::BillingPeriod;
use super::readiness::{Readiness, is_estimated};
use super::series::{AlignedChannel, ChannelSeries, IntervalGrid};
use super::tou::TouSchedule;

/// Active energy (import or export) in one TOU period of the billing period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouActiveEnergy {
    /// TOU period name, e.g. "peak".
    pub period: String,
    /// Intervals of the billing period that fall in this TOU period.
    pub intervals: u32,
    /// Energy in those intervals, kWh (intervals with unknown consumption left out).
    pub kwh: f64,
    /// Highest block demand in this TOU period.
    pub max_block_demand: Option<DemandPeak>,
    /// Highest rolling demand whose window ends in this TOU period.
    pub max_rolling_demand: Option<DemandPeak>,
}

/// Active energy determinants of one direction (A+ import or A− export).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActiveEnergy {
    /// The channel: [`ReadingType::ActiveEnergyImport`] or [`ReadingType::ActiveEnergyExport`].
    pub reading_type: ReadingType,
    /// Energy over the period, kWh: last value minus opening read; `None` when either is
    /// missing.
    pub total_kwh: Option<f64>,
    /// Energy and demand per TOU period, in the schedule's period order.
    pub by_tou: Vec<TouActiveEnergy>,
    /// Highest block demand (one interval), kW, with its block.
    pub max_block_demand: Option<DemandPeak>,
    /// Highest rolling demand (the schedule's window), kW, with its window.
    pub max_rolling_demand: Option<DemandPeak>,
}

/// Reactive energy in one TOU period of the billing period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouReactiveEnergy {
    /// TOU period name.
    pub period: String,
    /// Intervals of the billing period that fall in this TOU period.
    pub intervals: u32,
    /// Reactive energy in those intervals, kvarh (unknown intervals left out).
    pub kvarh: f64,
}

/// Reactive energy determinants of one direction (R+ or R−).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactiveEnergy {
    /// The channel: [`ReadingType::ReactiveEnergyImport`] or
    /// [`ReadingType::ReactiveEnergyExport`].
    pub reading_type: ReadingType,
    /// Reactive energy over the period, kvarh (last value minus opening read); `None` when
    /// either is missing.
    pub total_kvarh: Option<f64>,
    /// Reactive energy per TOU period, in the schedule's period order.
    pub by_tou: Vec<TouReactiveEnergy>,
}

/// The billing determinants of one meter for one billing period under one TOU schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BillingDeterminants {
    /// The meter.
    pub meter: MeterId,
    /// The billing period (local days).
    pub period: BillingPeriod,
    /// Name of the TOU schedule.
    pub schedule: String,
    /// IANA time zone of the schedule and period.
    pub time_zone: String,
    /// Period start (local midnight of the first day), UTC.
    pub start: jiff::Timestamp,
    /// Period end (local midnight after the last day), UTC.
    pub end: jiff::Timestamp,
    /// Load-profile interval length, seconds.
    pub interval_length_s: i64,
    /// Intervals in the period (96 per ordinary day, 92 or 100 on DST days for 15 minutes).
    pub intervals: u32,
    /// Rolling-demand window, minutes.
    pub rolling_window_minutes: u32,
    /// A+ active energy import.
    pub active_import: ActiveEnergy,
    /// A− active energy export; `None` when not metered in the period.
    pub active_export: Option<ActiveEnergy>,
    /// R+ reactive energy import; `None` when not metered in the period.
    pub reactive_import: Option<ReactiveEnergy>,
    /// R− reactive energy export; `None` when not metered in the period.
    pub reactive_export: Option<ReactiveEnergy>,
    /// Average power factor of the import, 0..=1 (see the module docs); `None` when A+ or
    /// R+ totals are unknown or both are zero.
    pub power_factor: Option<f64>,
    /// Intervals of the period in which at least one metered channel's value carries
    /// [`QualityFlags::ESTIMATED`](model::QualityFlags::ESTIMATED) (a suspect estimate is
    /// counted here and also listed as a readiness problem).
    pub estimated_intervals: u32,
    /// Whether the period may be billed, with the problem values when not.
    pub readiness: Readiness,
}

impl BillingDeterminants {
    /// True when every value the period needs is present and valid, estimated or edited.
    pub fn is_bill_ready(&self) -> bool {
        self.readiness.bill_ready
    }
}

/// Computes the determinants of `meter` for `period` under `schedule` from `series`
/// (cumulative values at interval ends of `interval_length_s` seconds, e.g. 900).
///
/// Errors: [`BillingError::InvalidPeriod`], [`BillingError::Time`] from the period bounds,
/// [`BillingError::IntervalGrid`] when the period is not a whole number of intervals,
/// [`BillingError::DemandWindow`] when the rolling window is not a positive multiple of
/// the interval.
pub fn determinants_from_series(
    meter: &MeterId,
    period: &BillingPeriod,
    schedule: &TouSchedule,
    interval_length_s: i64,
    series: &ChannelSeries,
) -> Result<BillingDeterminants, BillingError> {
    let (start, end) = period.utc_bounds(schedule.time_zone())?;
    let grid = IntervalGrid::new(start, end, interval_length_s)?;
    let window_minutes = schedule.demand().rolling_window_minutes;
    let window_s = i64::from(window_minutes) * 60;
    if window_s == 0 || window_s % interval_length_s != 0 {
        return Err(BillingError::DemandWindow { window_minutes, interval_length_s });
    }
    let window_intervals = usize::try_from(window_s / interval_length_s)
        .map_err(|_| BillingError::DemandWindow { window_minutes, interval_length_s })?;

    let tou: Vec<usize> = (0..grid.count).map(|k| schedule.period_index_at(grid.interval_start(k))).collect();
    let ctx = Context { grid: &grid, schedule, tou: &tou, window_intervals };

    let a_plus = AlignedChannel::align(&grid, &series.active_import);
    let a_minus = AlignedChannel::align(&grid, &series.active_export);
    let r_plus = AlignedChannel::align(&grid, &series.reactive_import);
    let r_minus = AlignedChannel::align(&grid, &series.reactive_export);

    let active_import = ctx.active(ReadingType::ActiveEnergyImport, &a_plus);
    let active_export = (!a_minus.is_empty()).then(|| ctx.active(ReadingType::ActiveEnergyExport, &a_minus));
    let reactive_import = (!r_plus.is_empty()).then(|| ctx.reactive(ReadingType::ReactiveEnergyImport, &r_plus));
    let reactive_export = (!r_minus.is_empty()).then(|| ctx.reactive(ReadingType::ReactiveEnergyExport, &r_minus));

    let power_factor = match (active_import.total_kwh, reactive_import.as_ref().and_then(|r| r.total_kvarh)) {
        (Some(kwh), Some(kvarh)) => average_power_factor(kwh, kvarh),
        _ => None,
    };

    // A channel that is not metered holds no value, so it never counts.
    let channels = [&a_plus, &a_minus, &r_plus, &r_minus];
    let estimated = (0..grid.count)
        .filter(|&k| {
            channels.iter().any(|c| c.intervals.get(k).copied().flatten().is_some_and(|v| is_estimated(v.quality)))
        })
        .count();

    let readiness = Readiness::assess(
        &grid,
        &[
            (ReadingType::ActiveEnergyImport, &a_plus, true),
            (ReadingType::ActiveEnergyExport, &a_minus, false),
            (ReadingType::ReactiveEnergyImport, &r_plus, false),
            (ReadingType::ReactiveEnergyExport, &r_minus, false),
        ],
    );

    Ok(BillingDeterminants {
        meter: meter.clone(),
        period: *period,
        schedule: schedule.name().to_string(),
        time_zone: schedule.time_zone_name().to_string(),
        start,
        end,
        interval_length_s,
        intervals: count_u32(grid.count),
        rolling_window_minutes: window_minutes,
        active_import,
        active_export,
        reactive_import,
        reactive_export,
        power_factor,
        estimated_intervals: count_u32(estimated),
        readiness,
    })
}

/// Average power factor from period energies: kWh / √(kWh² + kvarh²); `None` when both are
/// zero or either is not finite. Uses the magnitudes, so the result lies in 0..=1.
pub fn average_power_factor(kwh: f64, kvarh: f64) -> Option<f64> {
    let apparent = kwh.hypot(kvarh);
    (apparent > 0.0 && apparent.is_finite()).then(|| kwh.abs() / apparent)
}

/// What every channel computation shares.
struct Context<'a> {
    grid: &'a IntervalGrid,
    schedule: &'a TouSchedule,
    /// TOU period index of each interval.
    tou: &'a [usize],
    window_intervals: usize,
}

impl Context<'_> {
    fn active(&self, reading_type: ReadingType, channel: &AlignedChannel) -> ActiveEnergy {
        let wh = channel.interval_consumption();
        let length = self.grid.interval_length_s;
        let block = block_demand_kw(&wh, length);
        let rolling = rolling_demand_kw(&wh, self.window_intervals, length);
        let first_end = self.grid.interval_end(0);
        let peak = |demand: &[Option<f64>], window: usize, tou: Option<usize>| {
            max_demand(demand, first_end, length, window, |i| tou.is_none_or(|p| self.tou.get(i) == Some(&p)))
        };
        let by_tou = (0..self.schedule.periods().len())
            .map(|p| TouActiveEnergy {
                period: self.period_name(p),
                intervals: self.intervals_in(p),
                kwh: self.sum_in(p, &wh) / 1000.0,
                max_block_demand: peak(&block, 1, Some(p)),
                max_rolling_demand: peak(&rolling, self.window_intervals, Some(p)),
            })
            .collect();
        ActiveEnergy {
            reading_type,
            total_kwh: channel.period_consumption().map(|wh| wh / 1000.0),
            by_tou,
            max_block_demand: peak(&block, 1, None),
            max_rolling_demand: peak(&rolling, self.window_intervals, None),
        }
    }

    fn reactive(&self, reading_type: ReadingType, channel: &AlignedChannel) -> ReactiveEnergy {
        let varh = channel.interval_consumption();
        let by_tou = (0..self.schedule.periods().len())
            .map(|p| TouReactiveEnergy {
                period: self.period_name(p),
                intervals: self.intervals_in(p),
                kvarh: self.sum_in(p, &varh) / 1000.0,
            })
            .collect();
        ReactiveEnergy { reading_type, total_kvarh: channel.period_consumption().map(|varh| varh / 1000.0), by_tou }
    }

    fn period_name(&self, p: usize) -> String {
        self.schedule.periods().get(p).cloned().unwrap_or_default()
    }

    fn intervals_in(&self, p: usize) -> u32 {
        count_u32(self.tou.iter().filter(|&&t| t == p).count())
    }

    /// Sum of the known interval amounts in TOU period `p`.
    fn sum_in(&self, p: usize, amounts: &[Option<f64>]) -> f64 {
        self.tou.iter().zip(amounts).filter(|(t, _)| **t == p).filter_map(|(_, a)| *a).sum()
    }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
