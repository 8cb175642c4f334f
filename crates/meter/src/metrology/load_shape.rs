//! The household load shape: mean hourly consumption by local hour of day (weekday and
//! weekend) and a seasonal factor by month of year.
//!
//! Derived statistics, not the data: the numbers below were computed by
//! `crates/meter/tools/derive_load_shape.py` from one UK household's hourly series, the
//! OpenEEmeter sample `uk-electricity-hdd-only-hourly-sample-0.csv.gz` (eemeter 4.1.1,
//! Apache-2.0, © OpenEEmeter contributors; 23 508 hours, 2020-04-01 to 2022-12-06). Hours
//! are placed in UK civil time (GMT/BST). The test `tests/load_shape_table.rs` re-derives the
//! table from the CSV and checks these constants, so the table stays honest.

use std::sync::OnceLock;

use crate::metrology::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Mean consumption in kWh of each local clock hour `h` (the hour starting at h:00),
/// Monday to Friday; 0.0001 kWh resolution. Sum 3.872 kWh per day.
pub const WEEKDAY_KWH: [f64; 24] = [
    0.0946, 0.0748, 0.0710, 0.0700, 0.0703, 0.0712, 0.0810, 0.1741, 0.2540, 0.2082, 0.1853, 0.1748, 0.1633, 0.1672,
    0.1809, 0.1750, 0.1802, 0.1747, 0.1771, 0.2169, 0.2494, 0.2466, 0.2352, 0.1762,
];

/// Mean consumption in kWh of each local clock hour, Saturday and Sunday; 0.0001 kWh
/// resolution. Sum 3.863 kWh per day.
pub const WEEKEND_KWH: [f64; 24] = [
    0.1223, 0.0831, 0.0730, 0.0711, 0.0699, 0.0700, 0.0746, 0.1185, 0.1938, 0.2121, 0.1990, 0.2028, 0.2126, 0.1825,
    0.1774, 0.1673, 0.1564, 0.1849, 0.1793, 0.2168, 0.2385, 0.2555, 0.2275, 0.1740,
];

/// Seasonal factor of each local calendar month (January first): the month's mean kWh per
/// hour divided by the mean of the twelve monthly means; 0.001 resolution.
pub const MONTH_FACTOR: [f64; 12] =
    [1.234, 1.126, 1.008, 0.974, 0.989, 0.971, 0.886, 0.756, 0.859, 0.948, 1.038, 1.210];

/// Relative daily yield of a rooftop PV system by month at UK latitudes (June = 1.0).
/// An assumption of the simulator, not derived from data: roughly the monthly irradiation
/// ratio of southern England.
pub const PV_MONTH_FACTOR: [f64; 12] = [0.20, 0.35, 0.60, 0.85, 1.00, 1.00, 1.00, 0.90, 0.70, 0.45, 0.25, 0.15];

/// Expected consumption in kWh per hour at local clock position `hour` (0.0 ≤ hour < 24.0,
/// fractional; other values are wrapped), linearly interpolated between the centres of the
/// table's hours (hour h is taken at h + 0.5), wrapping around midnight.
pub fn hourly_kwh(weekend: bool, hour: f64) -> f64 {
    let table = if weekend { &WEEKEND_KWH } else { &WEEKDAY_KWH };
    let pos = (hour - 0.5).rem_euclid(24.0);
    let lo = (pos.floor() as usize) % 24;
    let frac = pos - pos.floor();
    table[lo] * (1.0 - frac) + table[(lo + 1) % 24] * frac
}

/// Seasonal consumption factor on a local date (month 1..=12, day 1..=`days_in_month`),
/// linearly interpolated between mid-month values of [`MONTH_FACTOR`].
pub fn season_factor(month: u8, day: u8, days_in_month: u8) -> f64 {
    month_interpolated(&MONTH_FACTOR, month, day, days_in_month)
}

/// Relative PV yield on a local date, interpolated like [`season_factor`] from
/// [`PV_MONTH_FACTOR`].
pub fn pv_season_factor(month: u8, day: u8, days_in_month: u8) -> f64 {
    month_interpolated(&PV_MONTH_FACTOR, month, day, days_in_month)
}

/// [`season_factor`] and [`pv_season_factor`] of the local date with day number `day` (days
/// since 1970-01-01): looked up in a table computed once for 2000-01-01..2100-01-01 with
/// those same functions (so the values are identical), computed directly outside it. The
/// load model needs them for every day since commissioning.
pub(crate) fn season_factors_of_day(day: i64) -> (f64, f64) {
    static TABLE: OnceLock<Box<[(f64, f64)]>> = OnceLock::new();
    let first = days_from_civil(2000, 1, 1);
    let table = TABLE.get_or_init(|| (first..days_from_civil(2100, 1, 1)).map(compute_season_factors).collect());
    match usize::try_from(day - first).ok().and_then(|i| table.get(i)) {
        Some(f) => *f,
        None => compute_season_factors(day),
    }
}

fn compute_season_factors(day: i64) -> (f64, f64) {
    let date = civil_from_days(day);
    let dim = days_in_month(date.year, date.month);
    (season_factor(date.month, date.day, dim), pv_season_factor(date.month, date.day, dim))
}

fn month_interpolated(table: &[f64; 12], month: u8, day: u8, days_in_month: u8) -> f64 {
    let m = f64::from(month.clamp(1, 12) - 1);
    let dim = f64::from(days_in_month.max(1));
    let pos = (m + (f64::from(day.max(1)) - 0.5) / dim - 0.5).rem_euclid(12.0);
    let lo = (pos.floor() as usize) % 12;
    let frac = pos - pos.floor();
    table[lo] * (1.0 - frac) + table[(lo + 1) % 12] * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_hits_table_at_centres() {
        for h in 0..24 {
            assert!((hourly_kwh(false, h as f64 + 0.5) - WEEKDAY_KWH[h]).abs() < 1e-12);
            assert!((hourly_kwh(true, h as f64 + 0.5) - WEEKEND_KWH[h]).abs() < 1e-12);
        }
        // Midnight: halfway between 23:00-24:00 and 00:00-01:00.
        assert!((hourly_kwh(false, 0.0) - (WEEKDAY_KWH[23] + WEEKDAY_KWH[0]) / 2.0).abs() < 1e-12);
        assert!((hourly_kwh(false, 24.0) - hourly_kwh(false, 0.0)).abs() < 1e-12);
    }

    #[test]
    fn season_mid_month_and_continuity() {
        // 16 July of 31 days: (16 - 0.5) / 31 = 0.5 → exactly mid-month.
        assert!((season_factor(7, 16, 31) - MONTH_FACTOR[6]).abs() < 1e-12);
        // 31 December and 1 January are neighbours.
        assert!((season_factor(12, 31, 31) - season_factor(1, 1, 31)).abs() < 0.01);
        assert!((pv_season_factor(6, 15, 30) - 1.0).abs() < 0.01);
    }

    #[test]
    fn the_season_table_holds_exactly_the_computed_factors() {
        for day in days_from_civil(1999, 12, 1)..days_from_civil(2100, 2, 1) {
            let date = civil_from_days(day);
            let dim = days_in_month(date.year, date.month);
            let expected = (season_factor(date.month, date.day, dim), pv_season_factor(date.month, date.day, dim));
            assert_eq!(season_factors_of_day(day), expected, "{date:?}");
        }
    }

    #[test]
    fn tables_have_the_documented_daily_sums() {
        let wd: f64 = WEEKDAY_KWH.iter().sum();
        let we: f64 = WEEKEND_KWH.iter().sum();
        assert!((wd - 3.872).abs() < 0.0005 && (we - 3.863).abs() < 0.0005);
        let mean: f64 = MONTH_FACTOR.iter().sum::<f64>() / 12.0;
        assert!((mean - 1.0).abs() < 0.001);
    }
}
