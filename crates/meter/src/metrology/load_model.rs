//! The per-meter household load model: what each 15-minute interval of each day consumes
//! (and, for PV households, exports), as exact integer Wh / varh, computable for any day in
//! O(1) without simulating history.
//!
//! # Structure
//! Time is cut into *model days*: local **standard-time** days of the meter's zone, always 96
//! intervals of 15 minutes, aligned to the UTC interval grid (the zone offset is a multiple of
//! 15 minutes). For a model day `d` the model first draws the day's totals in O(1)
//! ([`LoadModel::day_totals`]):
//!
//! * import `A+ = round(scale × shape_kWh(day type) × season(date) × day_factor)`, with
//!   `day_factor` uniform in [0.7, 1.3] keyed by (seed, d) and `scale` chosen so that a year
//!   sums to the meter's annual consumption;
//! * its tariff-1 part `round(A+ × share_T1(day type))`;
//! * export (PV households only) `round(peak × pv_season(date) × cloudiness)`;
//! * reactive import `round(A+ × tan φ)`, power factor cos φ in [0.90, 0.98];
//! * reactive export, a small fraction of A+.
//!
//! and then distributes each total over the day's intervals ([`LoadModel::day_intervals`]) with
//! per-interval weights = load shape at the interval's wall-clock time (shifted by the meter's
//! phase) × noise keyed by (seed, interval number), by cumulative rounding, so the intervals of
//! a day sum *exactly* to its totals. Registers are therefore O(days) additions of day totals
//! plus at most one day's 96 intervals.
//!
//! Only integer arithmetic and IEEE-exact float operations (+ − × ÷ √, rounding) are used, so a
//! meter produces the same numbers on every platform.

use crate::metrology::calendar::{MS_PER_DAY, weekday};
use crate::metrology::load_shape::{hourly_kwh, season_factors_of_day};
use crate::metrology::noise::{Stream, approx_normal, hash, hash_keyed, stream_key, uniform, uniform_keyed, unit};
use crate::time_zone::MeterTimeZone;

/// Length of one load-profile interval, milliseconds (capture_period 900 s).
pub const INTERVAL_MS: i64 = 900_000;
/// Intervals per model day.
pub const INTERVALS_PER_DAY: usize = 96;

/// Tariff-1 hours: local wall-clock 07:00 (inclusive) to 23:00 (exclusive), every day.
/// The other eight hours are tariff 2 (an Economy-7-like night rate).
pub const TARIFF_1_HOURS: std::ops::Range<u8> = 7..23;

/// Fleet-wide ranges the per-meter parameters are drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadModelConfig {
    /// Smallest annual active-energy import of a household, kWh/year (default 1500).
    pub annual_kwh_min: f64,
    /// Largest annual import, kWh/year (default 6000). Each meter draws uniformly in
    /// [min, max] from its seed.
    pub annual_kwh_max: f64,
    /// Fraction of meters (by seed) with rooftop PV that exports at midday (default 0.10).
    pub pv_fraction: f64,
}

impl Default for LoadModelConfig {
    fn default() -> Self {
        LoadModelConfig { annual_kwh_min: 1500.0, annual_kwh_max: 6000.0, pv_fraction: 0.10 }
    }
}

impl LoadModelConfig {
    /// Whether the ranges make sense (0 < min ≤ max ≤ 1 000 000 kWh, 0 ≤ pv_fraction ≤ 1).
    pub fn is_valid(&self) -> bool {
        self.annual_kwh_min > 0.0
            && self.annual_kwh_min <= self.annual_kwh_max
            && self.annual_kwh_max <= 1_000_000.0
            && (0.0..=1.0).contains(&self.pv_fraction)
    }
}

/// The parameters one meter draws from its seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HouseholdParameters {
    /// Expected annual active-energy import, kWh/year.
    pub annual_kwh: f64,
    /// Shift of the household's daily routine against the reference shape, minutes
    /// (−75..=75; positive = later).
    pub phase_shift_minutes: i32,
    /// Export of a clear June day, Wh; 0 for a household without PV.
    pub pv_clear_day_export_wh: u32,
    /// Mean power factor cos φ of the household (0.90..=0.98).
    pub power_factor: f64,
    /// Reactive export (Q3+Q4) as a fraction of active import (0.01..=0.03).
    pub reactive_export_ratio: f64,
    /// Static voltage offset of the connection point from 230 V, in 0.1 V (−40..=40).
    pub voltage_offset_dv: i32,
}

/// Tariff register an interval counts into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tariff {
    /// Rate 1 (1.0.1.8.1), local 07:00–23:00.
    T1,
    /// Rate 2 (1.0.1.8.2), local 23:00–07:00.
    T2,
}

/// Energy of one 15-minute interval, as the load model produces it (relay closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntervalEnergy {
    /// Active energy import +A, Wh.
    pub active_import_wh: u32,
    /// Active energy export −A, Wh.
    pub active_export_wh: u32,
    /// Reactive energy import +R (Q1+Q2), varh.
    pub reactive_import_varh: u32,
    /// Reactive energy export −R (Q3+Q4), varh.
    pub reactive_export_varh: u32,
    /// The tariff the interval's import counts into.
    pub tariff: Tariff,
}

/// Totals of one model day (96 intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DayTotals {
    /// Active import, Wh.
    pub active_import_wh: u64,
    /// The tariff-1 part of the active import, Wh (tariff 2 = import − this).
    pub active_import_t1_wh: u64,
    /// Active export, Wh.
    pub active_export_wh: u64,
    /// Reactive import, varh.
    pub reactive_import_varh: u64,
    /// Reactive export, varh.
    pub reactive_export_varh: u64,
}

/// The load model of one meter: its parameters and zone; all methods are pure.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadModel {
    seed: u64,
    zone: MeterTimeZone,
    params: HouseholdParameters,
    /// Wh per kWh of reference shape, so that a year sums to `annual_kwh`.
    scale: f64,
    /// Reference-shape kWh of a weekday / weekend day.
    day_shape_kwh: [f64; 2],
    /// Share of the expected day's import falling in tariff 1, weekday / weekend.
    t1_share: [f64; 2],
    /// The seed's keys of the per-day and per-interval random streams (see
    /// [`crate::metrology::noise::stream_key`]).
    keys: StreamKeys,
}

/// [`stream_key`] of the streams drawn for every day and every interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StreamKeys {
    day_factor: u64,
    cloudiness: u64,
    day_power_factor: u64,
    day_reactive_export: u64,
    interval_noise: u64,
    appliance_burst: u64,
    pv_variability: u64,
}

impl StreamKeys {
    fn new(seed: u64) -> Self {
        StreamKeys {
            day_factor: stream_key(seed, Stream::DayFactor),
            cloudiness: stream_key(seed, Stream::Cloudiness),
            day_power_factor: stream_key(seed, Stream::DayPowerFactor),
            day_reactive_export: stream_key(seed, Stream::DayReactiveExport),
            interval_noise: stream_key(seed, Stream::IntervalNoise),
            appliance_burst: stream_key(seed, Stream::ApplianceBurst),
            pv_variability: stream_key(seed, Stream::PvVariability),
        }
    }
}

/// Weight multiplier of a PV household's import 10:00–16:00 local: self-consumption hides part
/// of the midday load from the meter.
const PV_DAMPING: f64 = 0.6;

impl LoadModel {
    /// Draws the meter's parameters from `seed` within `config`'s ranges. `zone` gives the
    /// wall clock the household lives by.
    pub fn new(seed: u64, config: &LoadModelConfig, zone: MeterTimeZone) -> LoadModel {
        let u = |s: Stream| uniform(seed, s, 0);
        let annual_kwh =
            config.annual_kwh_min + (config.annual_kwh_max - config.annual_kwh_min) * u(Stream::AnnualConsumption);
        let phase_shift_minutes = (u(Stream::PhaseShift) * 151.0).floor() as i32 - 75;
        let pv_draw = hash(seed, Stream::Photovoltaic, 0);
        let has_pv = unit(pv_draw) < config.pv_fraction;
        let pv_clear_day_export_wh =
            if has_pv { 2000 + (uniform(seed, Stream::Photovoltaic, 1) * 4000.0) as u32 } else { 0 };
        let params = HouseholdParameters {
            annual_kwh,
            phase_shift_minutes,
            pv_clear_day_export_wh,
            power_factor: 0.90 + 0.08 * u(Stream::PowerFactor),
            reactive_export_ratio: 0.01 + 0.02 * u(Stream::ReactiveExport),
            voltage_offset_dv: (u(Stream::VoltageOffset) * 81.0).floor() as i32 - 40,
        };
        let mut model = LoadModel {
            seed,
            zone,
            params,
            scale: 1.0,
            day_shape_kwh: [0.0; 2],
            t1_share: [0.0; 2],
            keys: StreamKeys::new(seed),
        };
        for weekend in [false, true] {
            let (mut all, mut t1) = (0.0, 0.0);
            for k in 0..INTERVALS_PER_DAY {
                let wall_ms = k as i64 * INTERVAL_MS;
                let w = model.shape_weight(weekend, wall_ms);
                all += w;
                if is_tariff_1(wall_ms) {
                    t1 += w;
                }
            }
            model.t1_share[usize::from(weekend)] = if all > 0.0 { t1 / all } else { 0.0 };
            model.day_shape_kwh[usize::from(weekend)] =
                (0..INTERVALS_PER_DAY).map(|k| model.expected_kwh(weekend, k as i64 * INTERVAL_MS)).sum();
        }
        // Reference year (2023, 365 days from Sunday 1 January): expected shape kWh.
        let first = crate::metrology::calendar::days_from_civil(2023, 1, 1);
        let reference: f64 = (first..first + 365).map(|d| model.expected_day_kwh(d)).sum();
        model.scale = if reference > 0.0 { annual_kwh * 1000.0 / reference } else { 0.0 };
        model
    }

    /// The meter's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The parameters drawn from the seed.
    pub fn parameters(&self) -> &HouseholdParameters {
        &self.params
    }

    /// The zone whose wall clock drives the daily shape and tariff hours.
    pub fn zone(&self) -> MeterTimeZone {
        self.zone
    }

    /// The model day containing the UTC instant `utc_ms` and the offset into it, ms.
    pub(crate) fn model_day_of(&self, utc_ms: i64) -> (i64, i64) {
        let local = utc_ms + self.zone.standard_offset_ms();
        (local.div_euclid(MS_PER_DAY), local.rem_euclid(MS_PER_DAY))
    }

    /// UTC start of model day `day`, ms since the Unix epoch.
    pub(crate) fn model_day_start_ms(&self, day: i64) -> i64 {
        day * MS_PER_DAY - self.zone.standard_offset_ms()
    }

    /// Expected kWh in a 15-minute interval starting at local time-of-day `wall_ms` (no noise).
    fn expected_kwh(&self, weekend: bool, wall_ms: i64) -> f64 {
        let hour = (wall_ms + INTERVAL_MS / 2) as f64 / 3_600_000.0 + f64::from(self.params.phase_shift_minutes) / 60.0;
        hourly_kwh(weekend, hour) / 4.0
    }

    /// Expected kWh weight of an interval before noise, including PV self-consumption damping.
    fn shape_weight(&self, weekend: bool, wall_ms: i64) -> f64 {
        let w = self.expected_kwh(weekend, wall_ms);
        let hour = wall_ms.rem_euclid(MS_PER_DAY) / 3_600_000;
        if self.params.pv_clear_day_export_wh > 0 && (10..16).contains(&hour) { w * PV_DAMPING } else { w }
    }

    fn is_weekend(day: i64) -> bool {
        weekday(day) >= 6
    }

    fn expected_day_kwh(&self, day: i64) -> f64 {
        self.day_shape_kwh[usize::from(Self::is_weekend(day))] * season_factors_of_day(day).0
    }

    /// The totals of model day `day` (days since 1970-01-01 in local standard time), O(1).
    pub fn day_totals(&self, day: i64) -> DayTotals {
        let k = &self.keys;
        let day_factor = 0.7 + 0.6 * uniform_keyed(k.day_factor, day);
        let import = (self.scale * self.expected_day_kwh(day) * day_factor).round().max(0.0);
        let import_wh = import as u64;
        let t1 = (import * self.t1_share[usize::from(Self::is_weekend(day))]).round() as u64;
        let export_wh = if self.params.pv_clear_day_export_wh > 0 {
            let season = season_factors_of_day(day).1;
            let cloudiness = 0.15 + 0.95 * uniform_keyed(k.cloudiness, day);
            (f64::from(self.params.pv_clear_day_export_wh) * season * cloudiness).round() as u64
        } else {
            0
        };
        let pf = self.day_power_factor(day);
        let tan_phi = (1.0 / (pf * pf) - 1.0).sqrt();
        let q_export = self.params.reactive_export_ratio * (0.5 + uniform_keyed(k.day_reactive_export, day));
        DayTotals {
            active_import_wh: import_wh,
            active_import_t1_wh: t1.min(import_wh),
            active_export_wh: export_wh,
            reactive_import_varh: (import * tan_phi).round() as u64,
            reactive_export_varh: (import * q_export).round() as u64,
        }
    }

    /// Power factor cos φ of model day `day` (the one its reactive import was drawn with).
    pub(crate) fn day_power_factor(&self, day: i64) -> f64 {
        (self.params.power_factor + 0.02 * (uniform_keyed(self.keys.day_power_factor, day) - 0.5)).clamp(0.90, 0.98)
    }

    /// The 96 intervals of model day `day`, in time order; they sum exactly to
    /// [`LoadModel::day_totals`]. Interval `k` starts at
    /// `model_day_start + k × 15 min` (UTC).
    pub fn day_intervals(&self, day: i64) -> [IntervalEnergy; INTERVALS_PER_DAY] {
        let totals = self.day_totals(day);
        let weekend = Self::is_weekend(day);
        let day_start = self.model_day_start_ms(day);
        let mut weights = [0.0f64; INTERVALS_PER_DAY];
        let mut t1_mask = [false; INTERVALS_PER_DAY];
        let mut pv_weights = [0.0f64; INTERVALS_PER_DAY];
        for k in 0..INTERVALS_PER_DAY {
            let start = day_start + k as i64 * INTERVAL_MS;
            let n = start.div_euclid(INTERVAL_MS);
            let wall = (start + self.zone.offset_ms_at(start)).rem_euclid(MS_PER_DAY);
            weights[k] = self.shape_weight(weekend, wall) * self.interval_noise(n);
            t1_mask[k] = is_tariff_1(wall);
            if self.params.pv_clear_day_export_wh > 0 {
                // Solar time ≈ local standard time; a clear-sky triangle around 12:15.
                let solar_hour = (k as f64 + 0.5) / 4.0;
                let clear = (1.0 - (solar_hour - 12.25).abs() / 4.5).max(0.0);
                pv_weights[k] = clear * (0.3 + 1.4 * uniform_keyed(self.keys.pv_variability, n));
            }
        }
        let mut import = [0u64; INTERVALS_PER_DAY];
        allocate(totals.active_import_t1_wh, &weights, |k| t1_mask[k], &mut import);
        allocate(totals.active_import_wh - totals.active_import_t1_wh, &weights, |k| !t1_mask[k], &mut import);
        let mut export = [0u64; INTERVALS_PER_DAY];
        allocate(totals.active_export_wh, &pv_weights, |_| true, &mut export);
        let import_weights = import.map(|v| v as f64);
        let mut q_import = [0u64; INTERVALS_PER_DAY];
        allocate(totals.reactive_import_varh, &import_weights, |_| true, &mut q_import);
        let mut q_export = [0u64; INTERVALS_PER_DAY];
        allocate(totals.reactive_export_varh, &[1.0; INTERVALS_PER_DAY], |_| true, &mut q_export);
        std::array::from_fn(|k| IntervalEnergy {
            active_import_wh: sat_u32(import[k]),
            active_export_wh: sat_u32(export[k]),
            reactive_import_varh: sat_u32(q_import[k]),
            reactive_export_varh: sat_u32(q_export[k]),
            tariff: if t1_mask[k] { Tariff::T1 } else { Tariff::T2 },
        })
    }

    /// Multiplicative noise of interval `n` (global interval number): a skewed base
    /// 0.4 + 1.8·u² (mean 1, 0.4..2.2) plus, in 5 % of intervals, an appliance burst
    /// (kettle, oven, washing machine) adding 1.5..4.5.
    fn interval_noise(&self, n: i64) -> f64 {
        let u = uniform_keyed(self.keys.interval_noise, n);
        let b = hash_keyed(self.keys.appliance_burst, n);
        let burst = if unit(b) < 0.05 { 1.5 + 3.0 * unit(b.rotate_left(29)) } else { 0.0 };
        0.4 + 1.8 * u * u + burst
    }

    /// Supply voltage during interval `n`, in 0.1 V: 230 V + the meter's static offset +
    /// noise (σ ≈ 1.2 V) − a drop of 1.6 V per kW imported + a rise of 1.6 V per kW exported;
    /// clamped to 207..253 V (±10 %).
    pub(crate) fn voltage_dv(&self, n: i64, e: &IntervalEnergy) -> u16 {
        let noise = (approx_normal(self.seed, Stream::VoltageNoise, n) * 12.0).round() as i64;
        let load = (i64::from(e.active_export_wh) - i64::from(e.active_import_wh)) * 16 / 250; // W = 4·Wh; 0.016 dV/W
        (2300 + i64::from(self.params.voltage_offset_dv) + noise + load).clamp(2070, 2530) as u16
    }
}

/// Whether local time-of-day `wall_ms` lies in tariff-1 hours.
fn is_tariff_1(wall_ms: i64) -> bool {
    let hour = wall_ms.rem_euclid(MS_PER_DAY) / 3_600_000;
    (i64::from(TARIFF_1_HOURS.start)..i64::from(TARIFF_1_HOURS.end)).contains(&hour)
}

fn sat_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Distributes the integer `total` over the intervals selected by `include`, proportionally
/// to `weights`, by cumulative rounding: the shares are non-negative and sum exactly to
/// `total`. Non-positive or non-finite weight sums fall back to equal weights.
fn allocate(
    total: u64,
    weights: &[f64; INTERVALS_PER_DAY],
    include: impl Fn(usize) -> bool,
    out: &mut [u64; INTERVALS_PER_DAY],
) {
    let selected: Vec<usize> = (0..INTERVALS_PER_DAY).filter(|&k| include(k)).collect();
    let Some(&last) = selected.last() else { return };
    let clean = |w: f64| if w.is_finite() && w > 0.0 { w } else { 0.0 };
    let mut sum: f64 = selected.iter().map(|&k| clean(weights[k])).sum();
    let equal = !(sum > 0.0 && sum.is_finite());
    if equal {
        sum = selected.len() as f64;
    }
    let (mut acc, mut prev) = (0.0, 0u64);
    for &k in &selected {
        acc += if equal { 1.0 } else { clean(weights[k]) };
        let cum = if k == last { total } else { ((total as f64 * acc / sum).round() as u64).clamp(prev, total) };
        out[k] = cum - prev;
        prev = cum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrology::calendar::days_from_civil;

    fn model(seed: u64) -> LoadModel {
        LoadModel::new(seed, &LoadModelConfig::default(), MeterTimeZone::UK)
    }

    #[test]
    fn intervals_sum_to_day_totals() {
        for seed in 0..40 {
            let m = model(seed);
            for day in [days_from_civil(2024, 3, 31), days_from_civil(2024, 7, 6), days_from_civil(2025, 1, 8)] {
                let t = m.day_totals(day);
                let iv = m.day_intervals(day);
                let sum = |f: fn(&IntervalEnergy) -> u32| iv.iter().map(|e| u64::from(f(e))).sum::<u64>();
                assert_eq!(sum(|e| e.active_import_wh), t.active_import_wh);
                assert_eq!(sum(|e| e.active_export_wh), t.active_export_wh);
                assert_eq!(sum(|e| e.reactive_import_varh), t.reactive_import_varh);
                assert_eq!(sum(|e| e.reactive_export_varh), t.reactive_export_varh);
                let t1: u64 = iv.iter().filter(|e| e.tariff == Tariff::T1).map(|e| u64::from(e.active_import_wh)).sum();
                assert_eq!(t1, t.active_import_t1_wh);
                assert_eq!(iv.iter().filter(|e| e.tariff == Tariff::T1).count(), 64);
            }
        }
    }

    #[test]
    fn tariff_1_follows_the_wall_clock() {
        let m = model(3);
        // Winter (GMT): model day = civil day, T1 = intervals 28..92.
        let w = m.day_intervals(days_from_civil(2024, 1, 10));
        assert!((0..96).all(|k| (w[k].tariff == Tariff::T1) == (28..92).contains(&k)));
        // Summer (BST): 07:00 BST = 06:00 GMT → intervals 24..88 of the standard-time day.
        let s = m.day_intervals(days_from_civil(2024, 7, 10));
        assert!((0..96).all(|k| (s[k].tariff == Tariff::T1) == (24..88).contains(&k)));
    }

    #[test]
    fn allocation_is_exact_and_proportional() {
        let mut w = [0.0; INTERVALS_PER_DAY];
        w[10] = 1.0;
        w[11] = 3.0;
        let mut out = [0u64; INTERVALS_PER_DAY];
        allocate(100, &w, |_| true, &mut out);
        assert_eq!((out[10], out[11], out.iter().sum::<u64>()), (25, 75, 100));
        let mut out = [0u64; INTERVALS_PER_DAY];
        allocate(7, &[f64::NAN; INTERVALS_PER_DAY], |k| k < 7, &mut out);
        assert_eq!(&out[..8], &[1, 1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn pv_households_export_only_around_midday() {
        let pv_seed = (0..200).find(|&s| model(s).parameters().pv_clear_day_export_wh > 0).expect("a PV seed");
        let m = model(pv_seed);
        let day = days_from_civil(2024, 6, 20);
        let iv = m.day_intervals(day);
        assert!(m.day_totals(day).active_export_wh > 0);
        for (k, e) in iv.iter().enumerate() {
            if e.active_export_wh > 0 {
                assert!((31..67).contains(&k), "export at interval {k}");
            }
        }
        let no_pv = (0..200).find(|&s| model(s).parameters().pv_clear_day_export_wh == 0).unwrap();
        assert_eq!(model(no_pv).day_totals(day).active_export_wh, 0);
    }

    #[test]
    fn evening_peak_exceeds_night() {
        // Averaged over many meters and days, 20:00 local draws far more than 03:00.
        let (mut evening, mut night) = (0u64, 0u64);
        for seed in 0..50 {
            let m = model(seed);
            let iv = m.day_intervals(days_from_civil(2024, 11, 5 + (seed % 20) as u8));
            evening += u64::from(iv[80].active_import_wh);
            night += u64::from(iv[12].active_import_wh);
        }
        assert!(evening > 2 * night, "{evening} vs {night}");
    }
}
