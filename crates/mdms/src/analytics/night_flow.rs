//! Minimum night flow (MNF) of a water district metered area (DMA).
//!
//! Source practice: the IWA / UK "Managing Leakage" (Report E, 1994) night-flow method of
//! DMA leakage monitoring. Between 02:00 and 04:00 local time legitimate use is at its
//! lowest, so the DMA's net inflow (inlet meters minus outlet meters) in its lowest hour,
//! the *minimum night flow*, is mostly leakage. Subtracting the legitimate night use
//! (customers' night consumption) gives the night leakage rate.
//!
//! Conventions:
//! - Flows are in m³/h (1 m³/h = 0.2778 l/s); volumes are differences of stored bulk m³
//!   values ([`ReadingType::WaterVolume`](model::ReadingType::WaterVolume), latest
//!   versions), usable when both bounds are billable (valid, estimated or edited, not
//!   suspect) and the difference is not negative.
//! - The night of local date D is `[D window_from, D window_to)` in the DMA's IANA zone
//!   (02:00–04:00 by default), taken as UTC instants, so it lasts 1, 2 or 3 hours when a
//!   daylight-saving change falls in it (e.g. Europe/Paris: 1 h on the spring night, when
//!   02:00–03:00 does not exist; 3 h on the autumn night, when 02:00–03:00 happens twice).
//!   A wall time that does not exist maps to the instant after the gap; a repeated one to
//!   its first occurrence.
//! - Only intervals lying wholly inside the night count; interval ends are multiples of
//!   the interval length from the Unix epoch (the profile's capture grid).
//! - The MNF is the lowest mean flow over `averaging_minutes` of consecutive intervals
//!   (60: the "minimum night hour"), every one of which has usable data on every inlet and
//!   outlet; the earliest wins a tie.
//! - Legitimate night use = the measured consumption of the customer meters with usable
//!   data over the MNF window, plus an allowance per property for customers without data
//!   and for unmetered properties (UK practice: about 1.7 l/property/h of household night
//!   use), plus a fixed exceptional night use (known large night users not metered here).
//!   Night leakage = MNF − legitimate night use.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use model::MeterId;
use serde::{Deserialize, Serialize};

use super::error::{AnalyticsError, time_error};
use crate::billing::series::IntervalValue;
use crate::billing::{BillingPeriod, TimeOfDay, is_billable};

/// One water meter's volume channel around a period: bulk m³ values at interval ends
/// (latest versions, any order, with their quality).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterVolumeSeries {
    /// The meter.
    pub meter: MeterId,
    /// Cumulative volume (8.0.1.0.0.255), m³.
    pub values: Vec<IntervalValue>,
}

/// How the night is measured and what legitimate night use is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NightFlowSettings {
    /// Start of the night window, local wall time (default "02:00").
    pub window_from: TimeOfDay,
    /// End of the night window, local wall time, after `window_from` on the same date
    /// (default "04:00").
    pub window_to: TimeOfDay,
    /// Averaging length of the minimum night flow, minutes: a positive multiple of the
    /// interval length (default 60, the minimum night hour).
    pub averaging_minutes: u32,
    /// Legitimate night use allowed per property without measured night data, litres per
    /// property per hour (default 1.7).
    pub allowance_l_per_property_h: f64,
    /// Properties in the DMA with no meter in the input (they get the allowance).
    pub unmetered_properties: u32,
    /// Known exceptional night use not measured by the customer meters, m³/h (default 0).
    pub exceptional_night_use_m3_per_h: f64,
}

impl Default for NightFlowSettings {
    fn default() -> Self {
        NightFlowSettings {
            window_from: TimeOfDay::new(2, 0).unwrap_or(TimeOfDay::END_OF_DAY),
            window_to: TimeOfDay::new(4, 0).unwrap_or(TimeOfDay::END_OF_DAY),
            averaging_minutes: 60,
            allowance_l_per_property_h: 1.7,
            unmetered_properties: 0,
            exceptional_night_use_m3_per_h: 0.0,
        }
    }
}

/// What [`minimum_night_flow`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct NightFlowInput<'a> {
    /// Name of the DMA, reported as given.
    pub dma: &'a str,
    /// Meters measuring water into the DMA (at least one).
    pub inlets: &'a [MeterVolumeSeries],
    /// Meters measuring water leaving it to a neighbouring DMA (may be empty).
    pub outlets: &'a [MeterVolumeSeries],
    /// The customers' meters.
    pub customers: &'a [MeterVolumeSeries],
    /// The nights analysed: one per local date of the period.
    pub nights: BillingPeriod,
    /// IANA time zone of the DMA.
    pub time_zone: &'a TimeZone,
    /// Interval length of the volume profiles, seconds (e.g. 900 or 3600).
    pub interval_length_s: i64,
    /// Window, averaging and allowances.
    pub settings: &'a NightFlowSettings,
}

/// The minimum night flow of one night.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NightFlow {
    /// Local date of the night window.
    pub night: Date,
    /// Start of the night window, UTC.
    pub window_start: Timestamp,
    /// End of the night window, UTC.
    pub window_end: Timestamp,
    /// Real length of the window, hours (1, 2 or 3 around DST changes for 02:00–04:00).
    pub window_hours: f64,
    /// Intervals lying wholly inside the window.
    pub intervals_in_window: u32,
    /// Of those, intervals with usable data on every inlet and outlet.
    pub inflow_intervals_usable: u32,
    /// Minimum night flow (lowest averaged net inflow), m³/h; `None` when no averaging
    /// window had complete inflow data.
    pub mnf_m3_per_h: Option<f64>,
    /// Start of the averaging window of the minimum, UTC.
    pub mnf_start: Option<Timestamp>,
    /// End of the averaging window of the minimum, UTC.
    pub mnf_end: Option<Timestamp>,
    /// Customer meters with usable data over the whole MNF window.
    pub customers_measured: u32,
    /// Customer meters without (complete) data over it: they get the allowance.
    pub customers_without_data: u32,
    /// Measured customer consumption over the MNF window, m³/h.
    pub customer_night_use_m3_per_h: Option<f64>,
    /// Allowance for customers without data, unmetered properties and exceptional use, m³/h.
    pub allowance_m3_per_h: f64,
    /// `customer_night_use + allowance`, m³/h.
    pub legitimate_night_use_m3_per_h: Option<f64>,
    /// `mnf − legitimate_night_use`, m³/h (negative: the allowance is too generous or a
    /// customer meter over-registers).
    pub night_leakage_m3_per_h: Option<f64>,
}

/// The nights of one DMA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NightFlowReport {
    /// The DMA, as named.
    pub dma: String,
    /// IANA name of its time zone.
    pub time_zone: String,
    /// Interval length of the profiles, seconds.
    pub interval_length_s: i64,
    /// The settings used.
    pub settings: NightFlowSettings,
    /// One entry per local date, in order.
    pub nights: Vec<NightFlow>,
    /// Mean night leakage over the nights where it is known, m³/h.
    pub mean_night_leakage_m3_per_h: Option<f64>,
    /// Nights where the night leakage is known.
    pub nights_with_leakage: u32,
}

/// Computes the minimum night flow of each night of `input.nights` (see the module docs).
///
/// Errors: [`AnalyticsError::InvalidInput`] for no inlet meter, an interval length that is
/// not positive, an averaging length that is not a positive multiple of it, a window whose
/// end is not after its start, a negative or non-finite allowance;
/// [`AnalyticsError::InvalidPeriod`]; [`AnalyticsError::Time`].
pub fn minimum_night_flow(input: &NightFlowInput<'_>) -> Result<NightFlowReport, AnalyticsError> {
    let s = input.settings;
    let invalid = |what: String| Err(AnalyticsError::InvalidInput(what));
    if input.inlets.is_empty() {
        return invalid(format!("DMA {} has no inlet meter", input.dma));
    }
    let l = input.interval_length_s;
    let averaging_s = i64::from(s.averaging_minutes) * 60;
    if l <= 0 || averaging_s <= 0 || averaging_s % l != 0 {
        return invalid(format!(
            "averaging of {} min must be a positive multiple of the {l} s interval",
            s.averaging_minutes
        ));
    }
    if s.window_to <= s.window_from {
        return invalid(format!("night window {}..{} must end after it starts", s.window_from, s.window_to));
    }
    for (name, v) in [
        ("allowance_l_per_property_h", s.allowance_l_per_property_h),
        ("exceptional_night_use_m3_per_h", s.exceptional_night_use_m3_per_h),
    ] {
        if !v.is_finite() || v < 0.0 {
            return invalid(format!("{name} = {v} must be finite and >= 0"));
        }
    }
    if input.nights.last_day < input.nights.first_day {
        return Err(AnalyticsError::InvalidPeriod {
            first_day: input.nights.first_day,
            last_day: input.nights.last_day,
        });
    }
    let per_window = usize::try_from(averaging_s / l).unwrap_or(usize::MAX);
    let index = |series: &[MeterVolumeSeries]| -> Vec<HashMap<i64, IntervalValue>> {
        series.iter().map(|m| m.values.iter().map(|v| (v.interval_end.as_second(), *v)).collect()).collect()
    };
    let (inlets, outlets, customers) = (index(input.inlets), index(input.outlets), index(input.customers));

    let mut nights = Vec::new();
    let mut date = input.nights.first_day;
    loop {
        let window_start = local_instant(date, s.window_from, input.time_zone)?;
        let window_end = local_instant(date, s.window_to, input.time_zone)?;
        let ends = interval_ends_within(window_start.as_second(), window_end.as_second(), l);
        let inflow: Vec<Option<f64>> = ends
            .iter()
            .map(|&e| {
                let inn = inlets.iter().map(|m| volume_at(m, e, l)).try_fold(0.0, |acc, v| v.map(|v| acc + v))?;
                let out = outlets.iter().map(|m| volume_at(m, e, l)).try_fold(0.0, |acc, v| v.map(|v| acc + v))?;
                Some(inn - out)
            })
            .collect();
        let window_h = per_window as f64 * l as f64 / 3600.0;
        let mut minimum: Option<(usize, f64)> = None;
        for j in 0..ends.len().saturating_sub(per_window - 1) {
            let Some(slice) = inflow.get(j..j + per_window) else { continue };
            let Some(volume) = slice.iter().try_fold(0.0, |acc, v| v.map(|v| acc + v)) else { continue };
            let flow = volume / window_h;
            if minimum.is_none_or(|(_, m)| flow < m) {
                minimum = Some((j, flow));
            }
        }
        let mnf_ends: &[i64] = minimum.and_then(|(j, _)| ends.get(j..j + per_window)).unwrap_or(&[]);
        let mut measured = 0u32;
        let mut without = 0u32;
        let mut customer_volume = 0.0;
        if minimum.is_some() {
            for m in &customers {
                match mnf_ends.iter().map(|&e| volume_at(m, e, l)).try_fold(0.0, |acc, v| v.map(|v| acc + v)) {
                    Some(v) => {
                        measured += 1;
                        customer_volume += v;
                    }
                    None => without += 1,
                }
            }
        } else {
            without = u32::try_from(customers.len()).unwrap_or(u32::MAX);
        }
        let properties = f64::from(without) + f64::from(s.unmetered_properties);
        let allowance = properties * s.allowance_l_per_property_h / 1000.0 + s.exceptional_night_use_m3_per_h;
        let customer_use = minimum.map(|_| customer_volume / window_h);
        let legitimate = customer_use.map(|c| c + allowance);
        let mnf = minimum.map(|(_, f)| f);
        let stamp = |secs: Option<&i64>, back: i64| secs.and_then(|&e| Timestamp::from_second(e - back).ok());
        nights.push(NightFlow {
            night: date,
            window_start,
            window_end,
            window_hours: window_end.duration_since(window_start).as_secs_f64() / 3600.0,
            intervals_in_window: u32::try_from(ends.len()).unwrap_or(u32::MAX),
            inflow_intervals_usable: u32::try_from(inflow.iter().flatten().count()).unwrap_or(u32::MAX),
            mnf_m3_per_h: mnf,
            mnf_start: stamp(mnf_ends.first(), l),
            mnf_end: stamp(mnf_ends.last(), 0),
            customers_measured: measured,
            customers_without_data: without,
            customer_night_use_m3_per_h: customer_use,
            allowance_m3_per_h: allowance,
            legitimate_night_use_m3_per_h: legitimate,
            night_leakage_m3_per_h: match (mnf, legitimate) {
                (Some(m), Some(g)) => Some(m - g),
                _ => None,
            },
        });
        if date >= input.nights.last_day {
            break;
        }
        date = date.tomorrow().map_err(time_error("stepping to the next night"))?;
    }
    let leakage: Vec<f64> = nights.iter().filter_map(|n| n.night_leakage_m3_per_h).collect();
    Ok(NightFlowReport {
        dma: input.dma.to_string(),
        time_zone: input.time_zone.iana_name().unwrap_or_default().to_string(),
        interval_length_s: l,
        settings: *s,
        mean_night_leakage_m3_per_h: super::loss_flags::mean(&leakage),
        nights_with_leakage: u32::try_from(leakage.len()).unwrap_or(u32::MAX),
        nights,
    })
}

/// The UTC instant of local wall time `time` on `date` in `tz` ("24:00" is the next
/// midnight); a skipped wall time maps past the gap, a repeated one to its first
/// occurrence (jiff's compatible disambiguation).
pub(crate) fn local_instant(date: Date, time: TimeOfDay, tz: &TimeZone) -> Result<Timestamp, AnalyticsError> {
    let minutes = i64::from(time.minutes());
    let midnight = date.to_datetime(jiff::civil::Time::midnight());
    let wall =
        midnight.checked_add(SignedDuration::from_mins(minutes)).map_err(time_error("placing a local wall time"))?;
    Ok(wall.to_zoned(tz.clone()).map_err(time_error("converting a local wall time to UTC"))?.timestamp())
}

/// Interval ends `e` (multiples of `l` seconds from the epoch) with `[e − l, e]` inside
/// `[from, to]`, in order.
fn interval_ends_within(from: i64, to: i64, l: i64) -> Vec<i64> {
    // The first multiple of l at or after from + l.
    let first = (from + l).div_euclid(l) * l + if (from + l).rem_euclid(l) == 0 { 0 } else { l };
    let mut ends = Vec::new();
    let mut e = first;
    while e <= to {
        ends.push(e);
        e += l;
    }
    ends
}

/// Volume of the interval ending at `end` (seconds) of one meter: usable when both bounds
/// are billable and it is not negative.
fn volume_at(values: &HashMap<i64, IntervalValue>, end: i64, l: i64) -> Option<f64> {
    let b = values.get(&end)?;
    let a = values.get(&(end - l))?;
    let v = b.value - a.value;
    (is_billable(a.quality) && is_billable(b.quality) && v >= 0.0).then_some(v)
}
