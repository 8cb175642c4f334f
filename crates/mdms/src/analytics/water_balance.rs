//! Non-revenue water of a DMA over a period, in the terms of the IWA standard water
//! balance.
//!
//! Source: the IWA / AWWA standard water balance (Alegre et al., "Performance Indicators
//! for Water Supply Services", IWA; AWWA Manual M36):
//!
//! ```text
//! System input volume = Authorized consumption + Water losses
//! Authorized consumption = Billed authorized (billed metered + billed unmetered)
//!                        + Unbilled authorized
//! Water losses = Apparent losses + Real losses
//! Non-revenue water = System input volume − Billed authorized consumption
//!                   = Unbilled authorized + Water losses
//! ```
//!
//! Here the system input volume is the inlet meters' volume minus the outlet meters' over
//! the period, billed metered consumption is the customer meters' volume, and the other
//! authorized terms are given. A meter's volume over the period is its bulk m³ value at the
//! local midnight ending the period minus the one at the local midnight starting it (both
//! billable: valid, estimated or edited, not suspect), the same register difference a bill
//! uses. A meter without both values makes every total it enters `None` and is listed.
//!
//! Real losses can be estimated from the night flow (the "component analysis" of the
//! night-flow method): mean night leakage (m³/h) × night-day factor (hours per day, about
//! 20–24 depending on how pressure rises at night) × days; apparent losses (meter
//! under-registration, theft, data errors) are then water losses − real losses.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use model::MeterId;
use serde::{Deserialize, Serialize};

use super::error::AnalyticsError;
use super::night_flow::{MeterVolumeSeries, NightFlowReport};
use crate::billing::{BillingPeriod, is_billable};

/// The authorized-consumption terms no meter here measures, and the night-day factor.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaterBalanceSettings {
    /// Billed unmetered consumption over the period (flat-rate customers), m³.
    pub billed_unmetered_m3: f64,
    /// Unbilled authorized consumption (fire fighting, mains flushing, utility use), m³.
    pub unbilled_authorized_m3: f64,
    /// Night-day factor, hours per day, to turn the mean night leakage into real losses;
    /// `None` leaves real and apparent losses unestimated.
    pub night_day_factor_h: Option<f64>,
}

/// What [`water_balance`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct WaterBalanceInput<'a> {
    /// Name of the DMA.
    pub dma: &'a str,
    /// Meters measuring water into the DMA (at least one).
    pub inlets: &'a [MeterVolumeSeries],
    /// Meters measuring water leaving it (may be empty).
    pub outlets: &'a [MeterVolumeSeries],
    /// The customers' (billed) meters.
    pub customers: &'a [MeterVolumeSeries],
    /// The local days of the period.
    pub period: BillingPeriod,
    /// IANA time zone of the DMA.
    pub time_zone: &'a TimeZone,
    /// Terms no meter measures.
    pub settings: &'a WaterBalanceSettings,
    /// The night flow of the same nights, for the real-loss estimate.
    pub night_flow: Option<&'a NightFlowReport>,
}

/// The water balance of one DMA over one period; every volume in m³.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaterBalance {
    /// The DMA.
    pub dma: String,
    /// The local days.
    pub period: BillingPeriod,
    /// IANA name of the time zone.
    pub time_zone: String,
    /// Period start (local midnight), UTC.
    pub start: Timestamp,
    /// Period end (local midnight after the last day), UTC.
    pub end: Timestamp,
    /// Volume through the inlet meters.
    pub inlet_volume_m3: Option<f64>,
    /// Volume through the outlet meters (0 without outlets).
    pub outlet_volume_m3: Option<f64>,
    /// System input volume: inlets − outlets.
    pub system_input_volume_m3: Option<f64>,
    /// Billed metered consumption: the customer meters' volume.
    pub billed_metered_consumption_m3: Option<f64>,
    /// Billed unmetered consumption, as given.
    pub billed_unmetered_consumption_m3: f64,
    /// Billed authorized consumption: metered + unmetered.
    pub billed_authorized_consumption_m3: Option<f64>,
    /// Unbilled authorized consumption, as given.
    pub unbilled_authorized_consumption_m3: f64,
    /// Authorized consumption: billed + unbilled.
    pub authorized_consumption_m3: Option<f64>,
    /// Water losses: system input − authorized consumption.
    pub water_losses_m3: Option<f64>,
    /// Real losses estimated from the night flow (see the module docs).
    pub real_losses_m3: Option<f64>,
    /// Apparent losses: water losses − real losses.
    pub apparent_losses_m3: Option<f64>,
    /// Non-revenue water: system input − billed authorized consumption.
    pub non_revenue_water_m3: Option<f64>,
    /// Non-revenue water as a percentage of the system input volume.
    pub non_revenue_water_percent: Option<f64>,
    /// Meters lacking a billable value at the start or the end of the period.
    pub meters_without_reads: Vec<MeterId>,
}

/// Computes the water balance of `input` (see the module docs).
///
/// Errors: [`AnalyticsError::InvalidInput`] for no inlet meter or a negative or non-finite
/// setting; [`AnalyticsError::InvalidPeriod`]; [`AnalyticsError::Time`].
pub fn water_balance(input: &WaterBalanceInput<'_>) -> Result<WaterBalance, AnalyticsError> {
    let s = input.settings;
    if input.inlets.is_empty() {
        return Err(AnalyticsError::InvalidInput(format!("DMA {} has no inlet meter", input.dma)));
    }
    let ndf = s.night_day_factor_h.unwrap_or(0.0);
    for (name, v) in [
        ("billed_unmetered_m3", s.billed_unmetered_m3),
        ("unbilled_authorized_m3", s.unbilled_authorized_m3),
        ("night_day_factor_h", ndf),
    ] {
        if !v.is_finite() || v < 0.0 {
            return Err(AnalyticsError::InvalidInput(format!("{name} = {v} must be finite and >= 0")));
        }
    }
    let (start, end) = input.period.utc_bounds(input.time_zone)?;
    let mut missing = Vec::new();
    let mut total = |meters: &[MeterVolumeSeries]| -> Option<f64> {
        let mut sum = Some(0.0);
        for m in meters {
            match period_volume(m, start, end) {
                Some(v) => sum = sum.map(|s| s + v),
                None => {
                    missing.push(m.meter.clone());
                    sum = None;
                }
            }
        }
        sum
    };
    let inlet = total(input.inlets);
    let outlet = total(input.outlets);
    let billed_metered = total(input.customers);
    let siv = inlet.zip(outlet).map(|(i, o)| i - o);
    let billed_authorized = billed_metered.map(|b| b + s.billed_unmetered_m3);
    let authorized = billed_authorized.map(|b| b + s.unbilled_authorized_m3);
    let water_losses = siv.zip(authorized).map(|(v, a)| v - a);
    let nrw = siv.zip(billed_authorized).map(|(v, b)| v - b);
    let real_losses = match (s.night_day_factor_h, input.night_flow.and_then(|n| n.mean_night_leakage_m3_per_h)) {
        (Some(ndf), Some(leak)) => Some(leak * ndf * input.period.day_count() as f64),
        _ => None,
    };
    Ok(WaterBalance {
        dma: input.dma.to_string(),
        period: input.period,
        time_zone: input.time_zone.iana_name().unwrap_or_default().to_string(),
        start,
        end,
        inlet_volume_m3: inlet,
        outlet_volume_m3: outlet,
        system_input_volume_m3: siv,
        billed_metered_consumption_m3: billed_metered,
        billed_unmetered_consumption_m3: s.billed_unmetered_m3,
        billed_authorized_consumption_m3: billed_authorized,
        unbilled_authorized_consumption_m3: s.unbilled_authorized_m3,
        authorized_consumption_m3: authorized,
        water_losses_m3: water_losses,
        real_losses_m3: real_losses,
        apparent_losses_m3: water_losses.zip(real_losses).map(|(w, r)| w - r),
        non_revenue_water_m3: nrw,
        non_revenue_water_percent: nrw.zip(siv).and_then(|(n, v)| super::energy_balance::percent_of(n, v)),
        meters_without_reads: missing,
    })
}

/// The meter's volume from `start` to `end`: both bulk values present and billable, the
/// difference not negative.
fn period_volume(meter: &MeterVolumeSeries, start: Timestamp, end: Timestamp) -> Option<f64> {
    let at: HashMap<Timestamp, _> = meter.values.iter().map(|v| (v.interval_end, v)).collect();
    let (a, b) = (at.get(&start)?, at.get(&end)?);
    let v = b.value - a.value;
    (is_billable(a.quality) && is_billable(b.quality) && v >= 0.0).then_some(v)
}
