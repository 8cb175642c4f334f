//! The rule implementations, one file per family. Each rule is a pure function over a
//! [`Context`] that appends [`Finding`]s; each runs in O(n) over the series (top-3 and
//! per-day passes included).

mod completeness;
mod history;
mod register;
mod status;
mod timing;
mod usage;

use std::ops::Range;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::finding::Finding;
use super::local_days::LocalDay;
use super::series::{Prepared, RegisterPoint};
use super::{RuleConfig, RuleId};

pub(crate) use history::history_days_needed;

/// Everything a rule may look at.
pub(crate) struct Context<'a> {
    pub series: &'a Prepared<'a>,
    /// Interval length of the class, seconds.
    pub l: i64,
    pub tz: &'a TimeZone,
    /// The local days validated by per-day rules, with the index range of their points.
    pub days: &'a [(LocalDay, Range<usize>)],
    /// Register reads of the channel, by read time.
    pub registers: &'a [RegisterPoint],
    /// Stored bulk values at local midnights before the window, `(UTC seconds, value)`.
    pub midnight_history: &'a [(i64, f64)],
    /// The local days before the first validated day that high/low usage averages over.
    pub history_days: Vec<LocalDay>,
}

impl Context<'_> {
    /// A finding on the stored point `i`.
    pub fn at_point(&self, rule: RuleId, i: usize, measured: Option<f64>, limit: Option<f64>) -> Option<Finding> {
        let p = self.series.points.get(i)?;
        Some(Finding { rule, interval_end: p.interval_end, version: p.version, measured, limit })
    }

    /// A finding on an interval end without a value (version 0).
    pub fn at_missing(&self, rule: RuleId, end_s: i64, measured: Option<f64>) -> Option<Finding> {
        let interval_end = Timestamp::from_second(end_s).ok()?;
        Some(Finding { rule, interval_end, version: 0, measured, limit: None })
    }
}

/// Runs one configured rule.
pub(crate) fn run(rule: &RuleConfig, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    match rule {
        RuleConfig::MissingInterval => completeness::missing_interval(ctx, out),
        RuleConfig::DuplicateInterval => completeness::duplicate_interval(ctx, out),
        RuleConfig::IntervalLength => timing::interval_length(ctx, out),
        RuleConfig::TimeTolerance { max_clock_error_s } => timing::time_tolerance(ctx, *max_clock_error_s, out),
        RuleConfig::ZeroConsumption { min_duration_s } => usage::zero_consumption(ctx, *min_duration_s, out),
        RuleConfig::NegativeConsumption { tolerance } => usage::negative_consumption(ctx, *tolerance, out),
        RuleConfig::Spike { threshold_percent, min_peak } => usage::spike(ctx, *threshold_percent, *min_peak, out),
        RuleConfig::ReverseFlow { min_export } => usage::reverse_flow(ctx, *min_export, out),
        RuleConfig::HighLowUsage { history_days, min_history_days, high_percent, low_percent } => {
            history::high_low_usage(ctx, *history_days, *min_history_days, *high_percent, *low_percent, out)
        }
        RuleConfig::RegisterRollover { register_max, .. } => register::register_rollover(ctx, *register_max, out),
        RuleConfig::MeterAdvance { max_demand_w } => register::meter_advance(ctx, *max_demand_w, out),
        RuleConfig::SumCheck { tolerance_percent, tolerance_abs } => {
            register::sum_check(ctx, *tolerance_percent, *tolerance_abs, out)
        }
        RuleConfig::StatusFlags { flags } => status::status_flags(ctx, flags, out),
    }
}

/// The first grid point strictly after `t` (UTC seconds), on the class's local grid.
pub(crate) fn next_grid_after(t: i64, l: i64, tz: &TimeZone) -> i64 {
    let offset = Timestamp::from_second(t).map(|ts| i64::from(tz.to_offset(ts).seconds())).unwrap_or(0);
    let r = (t + offset).rem_euclid(l);
    t + (l - r)
}

/// Outage flags: the meter lost power or disconnected the supply.
pub(crate) const OUTAGE: u32 = model::QualityFlags::POWER_DOWN | model::QualityFlags::SUPPLY_DISCONNECTED;
