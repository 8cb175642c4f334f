//! Energy balance of a distribution transformer: its check meter against the sum of its
//! customer meters, per interval, per local day and over the period.
//!
//! Source practice: the transformer-level energy audit of utility revenue protection
//! (distribution-transformer "DT metering and energy accounting"): a check (audit) meter
//! on the transformer's LV side measures the energy delivered into the secondary network;
//! the customers' meters measure what was billed; the difference is the network's loss,
//! technical (conductor and connection losses, typically a few percent on an LV network)
//! plus non-technical (theft, bypasses, meter faults, unbilled or unmapped customers). With
//! interval data both sides are compared over exactly the same intervals.
//!
//! Conventions:
//! - Interval energy is the difference of stored bulk Wh values (latest versions). With
//!   export metered, a meter's energy is its import minus its export (net energy, so
//!   customers with rooftop generation balance correctly); a meter whose export channel
//!   holds nothing in the period is import-only.
//! - An interval *counts* only when the check meter and every customer meter have usable
//!   data for it (see [`ChannelCounts`]: present, validated, estimated or edited, not
//!   suspect, not negative). Day and period amounts are sums over counted intervals only,
//!   reported with their coverage (counted ÷ expected intervals), so a missing customer
//!   interval never shows up as loss.
//! - Loss = check − Σ customers; loss % = loss ÷ check × 100, `None` when the check
//!   energy is not positive. A negative loss means the customers were credited with more
//!   than the transformer delivered: a customer mapped to the wrong transformer, a check
//!   meter fault, or a wrong CT ratio.
//! - Units: intervals in Wh, days and the period in kWh; instants UTC; days are local
//!   days in the given IANA zone (23, 24 or 25 hours).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::MeterId;
use serde::Serialize;

use super::amounts::{Amounts, ChannelCounts, count_u32, net_amounts};
use super::error::AnalyticsError;
use super::period_grid::PeriodGrid;
use crate::billing::BillingPeriod;
use crate::billing::series::IntervalValue;

/// One meter's energy channels around a period: bulk Wh values at interval ends (latest
/// versions, any order, with their quality).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterEnergySeries {
    /// The meter.
    pub meter: MeterId,
    /// A+ active energy import (1.0.1.8.0.255), cumulative Wh.
    pub import: Vec<IntervalValue>,
    /// A− active energy export (1.0.2.8.0.255), cumulative Wh; empty when not metered.
    pub export: Vec<IntervalValue>,
}

/// What [`energy_balance`] compares.
#[derive(Debug, Clone, Copy)]
pub struct BalanceInput<'a> {
    /// Name of the transformer (or any supply point), reported as given.
    pub transformer: &'a str,
    /// The transformer's check meter.
    pub check: &'a MeterEnergySeries,
    /// The meters of the customers it supplies (at least one; none may repeat the check
    /// meter or each other).
    pub customers: &'a [MeterEnergySeries],
    /// The local days analysed.
    pub period: BillingPeriod,
    /// IANA time zone of the local days.
    pub time_zone: &'a TimeZone,
    /// Load-profile interval length, seconds (900 for 15 minutes).
    pub interval_length_s: i64,
}

/// Energy amounts over a set of intervals (one day, or the period).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BalanceAmounts {
    /// Intervals in the span.
    pub expected_intervals: u32,
    /// Intervals in which every meter had usable data (the only ones summed below).
    pub counted_intervals: u32,
    /// `counted_intervals ÷ expected_intervals`, 0..=1.
    pub coverage: f64,
    /// Energy through the check meter in the counted intervals, kWh.
    pub check_kwh: f64,
    /// Energy of all customer meters in the counted intervals, kWh.
    pub customers_kwh: f64,
    /// `check_kwh − customers_kwh`, kWh.
    pub loss_kwh: f64,
    /// `loss_kwh ÷ check_kwh × 100`; `None` when nothing was counted or the check energy is
    /// not positive.
    pub loss_percent: Option<f64>,
}

/// The balance of one local day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BalanceDay {
    /// The local date.
    pub day: Date,
    /// The local midnight starting it, UTC.
    pub start: Timestamp,
    /// The local midnight ending it, UTC.
    pub end: Timestamp,
    /// The day's amounts.
    #[serde(flatten)]
    pub amounts: BalanceAmounts,
}

/// The balance of one interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BalanceInterval {
    /// End of the interval, UTC.
    pub interval_end: Timestamp,
    /// True when every meter had usable data (the other fields are then all `Some`,
    /// except `loss_percent` when the check energy is not positive).
    pub counted: bool,
    /// Check meter energy, Wh, when usable.
    pub check_wh: Option<f64>,
    /// Sum of the customer meters' energy, Wh, when every one is usable.
    pub customers_wh: Option<f64>,
    /// `check_wh − customers_wh`, Wh.
    pub loss_wh: Option<f64>,
    /// `loss_wh ÷ check_wh × 100`.
    pub loss_percent: Option<f64>,
}

/// Which side of the balance a meter is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterRole {
    /// The transformer's check meter.
    Check,
    /// A customer meter.
    Customer,
}

/// One meter's own energy on one local day (whatever the other meters' coverage).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeterDay {
    /// The local date.
    pub day: Date,
    /// Intervals of the day with usable data for this meter.
    pub usable_intervals: u32,
    /// Intervals in the day.
    pub expected_intervals: u32,
    /// Energy in the usable intervals, kWh.
    pub kwh: f64,
}

impl MeterDay {
    /// The usable share of the day, 0..=1.
    pub fn coverage(&self) -> f64 {
        ratio(self.usable_intervals, self.expected_intervals)
    }
}

/// One meter in the balance: its data quality over the period and its own daily energy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeterBalance {
    /// The meter.
    pub meter: MeterId,
    /// Check or customer.
    pub role: MeterRole,
    /// Why its intervals were or were not usable (import and export channels together).
    #[serde(flatten)]
    pub counts: ChannelCounts,
    /// Its energy over its usable intervals, kWh.
    pub usable_kwh: f64,
    /// Its energy per local day.
    pub days: Vec<MeterDay>,
}

/// The energy balance of one transformer over a period (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyBalance {
    /// The transformer, as named in the input.
    pub transformer: String,
    /// Its check meter.
    pub check_meter: MeterId,
    /// Its customer meters, in input order.
    pub customer_meters: Vec<MeterId>,
    /// The local days analysed.
    pub period: BillingPeriod,
    /// IANA name of the time zone of the days (empty when the zone has none).
    pub time_zone: String,
    /// Period start (local midnight of the first day), UTC.
    pub start: Timestamp,
    /// Period end (local midnight after the last day), UTC.
    pub end: Timestamp,
    /// Interval length, seconds.
    pub interval_length_s: i64,
    /// The whole period.
    pub total: BalanceAmounts,
    /// Each local day, in order.
    pub days: Vec<BalanceDay>,
    /// Each interval, in order.
    pub intervals: Vec<BalanceInterval>,
    /// The check meter first, then the customers in input order.
    pub meters: Vec<MeterBalance>,
}

impl EnergyBalance {
    /// The customer meters' entries of [`EnergyBalance::meters`].
    pub fn customers(&self) -> impl Iterator<Item = &MeterBalance> {
        self.meters.iter().filter(|m| m.role == MeterRole::Customer)
    }
}

/// Computes the energy balance of `input` (see the module docs for the rules).
///
/// Errors: [`AnalyticsError::InvalidInput`] for no customer meter or a meter named twice;
/// [`AnalyticsError::InvalidPeriod`], [`AnalyticsError::IntervalGrid`] and
/// [`AnalyticsError::Time`] from the period's grid.
pub fn energy_balance(input: &BalanceInput<'_>) -> Result<EnergyBalance, AnalyticsError> {
    if input.customers.is_empty() {
        return Err(AnalyticsError::InvalidInput(format!("transformer {} has no customer meter", input.transformer)));
    }
    let mut seen = std::collections::BTreeSet::from([&input.check.meter]);
    if let Some(dup) = input.customers.iter().find(|c| !seen.insert(&c.meter)) {
        return Err(AnalyticsError::InvalidInput(format!(
            "meter {} appears twice in the balance of transformer {}",
            dup.meter, input.transformer
        )));
    }
    let pg = PeriodGrid::new(&input.period, input.time_zone, input.interval_length_s)?;
    let grid = &pg.grid;
    let check = net_amounts(grid, &input.check.import, &input.check.export);
    let customers: Vec<Amounts> = input.customers.iter().map(|c| net_amounts(grid, &c.import, &c.export)).collect();

    let intervals: Vec<BalanceInterval> = (0..grid.count)
        .map(|k| {
            let check_wh = check.values.get(k).copied().flatten();
            let customers_wh =
                customers.iter().map(|c| c.values.get(k).copied().flatten()).try_fold(0.0, |sum, v| v.map(|v| sum + v));
            let loss_wh = match (check_wh, customers_wh) {
                (Some(c), Some(s)) => Some(c - s),
                _ => None,
            };
            BalanceInterval {
                interval_end: grid.interval_end(k),
                counted: loss_wh.is_some(),
                check_wh,
                customers_wh,
                loss_wh,
                loss_percent: loss_wh.and_then(|l| percent_of(l, check_wh.unwrap_or(0.0))),
            }
        })
        .collect();

    let days = pg
        .days
        .iter()
        .map(|d| BalanceDay {
            day: d.day,
            start: d.start,
            end: d.end,
            amounts: sum_amounts(intervals.get(d.first..d.first + d.count).unwrap_or(&[])),
        })
        .collect();
    let period_total = sum_amounts(&intervals);

    let meter_balance = |meter: &MeterId, role, amounts: &Amounts| MeterBalance {
        meter: meter.clone(),
        role,
        counts: amounts.counts,
        usable_kwh: total(amounts.values.iter().flatten().copied()) / 1000.0,
        days: pg
            .days
            .iter()
            .map(|d| {
                let slice = amounts.values.get(d.first..d.first + d.count).unwrap_or(&[]);
                MeterDay {
                    day: d.day,
                    usable_intervals: count_u32(slice.iter().flatten().count()),
                    expected_intervals: count_u32(d.count),
                    kwh: total(slice.iter().flatten().copied()) / 1000.0,
                }
            })
            .collect(),
    };
    let mut meters = vec![meter_balance(&input.check.meter, MeterRole::Check, &check)];
    meters.extend(input.customers.iter().zip(&customers).map(|(c, a)| meter_balance(&c.meter, MeterRole::Customer, a)));

    Ok(EnergyBalance {
        transformer: input.transformer.to_string(),
        check_meter: input.check.meter.clone(),
        customer_meters: input.customers.iter().map(|c| c.meter.clone()).collect(),
        period: input.period,
        time_zone: input.time_zone.iana_name().unwrap_or_default().to_string(),
        start: grid.start,
        end: grid.end,
        interval_length_s: grid.interval_length_s,
        total: period_total,
        days,
        intervals,
        meters,
    })
}

/// Sums the counted intervals of `intervals`.
fn sum_amounts(intervals: &[BalanceInterval]) -> BalanceAmounts {
    let counted: Vec<&BalanceInterval> = intervals.iter().filter(|i| i.counted).collect();
    let check_wh = total(counted.iter().filter_map(|i| i.check_wh));
    let customers_wh = total(counted.iter().filter_map(|i| i.customers_wh));
    let expected = count_u32(intervals.len());
    let counted_n = count_u32(counted.len());
    BalanceAmounts {
        expected_intervals: expected,
        counted_intervals: counted_n,
        coverage: ratio(counted_n, expected),
        check_kwh: check_wh / 1000.0,
        customers_kwh: customers_wh / 1000.0,
        loss_kwh: (check_wh - customers_wh) / 1000.0,
        loss_percent: if counted_n == 0 { None } else { percent_of(check_wh - customers_wh, check_wh) },
    }
}

/// `part ÷ whole × 100`, `None` unless `whole` is positive and the result finite.
pub(crate) fn percent_of(part: f64, whole: f64) -> Option<f64> {
    let p = part / whole * 100.0;
    (whole > 0.0 && p.is_finite()).then_some(p)
}

/// The sum of `values`, `0.0` (never `-0.0`) when there are none.
pub(crate) fn total(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

/// `n ÷ d` as a fraction, 0 when `d` is 0.
pub(crate) fn ratio(n: u32, d: u32) -> f64 {
    if d == 0 { 0.0 } else { f64::from(n) / f64::from(d) }
}
