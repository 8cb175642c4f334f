//! Fleet-level properties of the load model: determinism per seed, variety across seeds,
//! realistic annual consumption within the configured range, PV share, power factor and
//! voltage ranges.

mod common;

use common::*;
use dlms::obis::codes;
use jiff::SignedDuration;
use meter::{LoadModelConfig, MeterConfig, SimulatedMeter};

const YEAR_MS: i64 = 365 * 86_400_000;

#[test]
fn same_seed_same_meter_different_seed_different_meter() {
    let now = ts("2024-05-20T13:14:15Z");
    let read_all = |seed: u64| {
        let mut m = meter(seed);
        let buffer = m.get(now, &BUFFER, Some(&entries(1, 0, 1, 0))).unwrap();
        let clock = m.get(now, &attr(8, codes::CLOCK, 2), None).unwrap();
        let volts = m.get(now, &attr(3, codes::VOLTAGE_L1, 2), None).unwrap();
        (buffer, clock, volts, m.registers(now))
    };
    assert_eq!(read_all(42), read_all(42));
    let a = read_all(42);
    let b = read_all(43);
    assert_ne!(a.0, b.0, "load profiles differ");
    assert_ne!(a.3, b.3, "registers differ");
    // The serial number does not enter the model: only the seed does.
    let x = SimulatedMeter::new("AAA", 7, MeterConfig::default()).unwrap();
    let y = SimulatedMeter::new("BBB", 7, MeterConfig::default()).unwrap();
    assert_eq!(x.registers(now), y.registers(now));
}

#[test]
fn annual_consumption_is_realistic_and_within_the_configured_range() {
    let config = LoadModelConfig::default();
    let n = 300u64;
    let mut total = 0.0;
    let mut pv = 0;
    for seed in 0..n {
        let m = meter(seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let start = m.metrology().epoch_ms();
        let year = m.metrology().registers(start + YEAR_MS);
        let kwh = year.active_import_wh as f64 / 1000.0;
        let target = m.metrology().model().parameters().annual_kwh;
        assert!((config.annual_kwh_min..=config.annual_kwh_max).contains(&target));
        assert!((kwh / target - 1.0).abs() < 0.05, "seed {seed}: {kwh:.0} kWh for a {target:.0} kWh household");
        assert_eq!(year.active_import_t1_wh + year.active_import_t2_wh, year.active_import_wh);
        // Night rate (8 of 24 hours, the quiet ones): the household data puts 18 % of a day's
        // use in 23:00-07:00; the phase shift moves that a little.
        let night = year.active_import_t2_wh as f64 / year.active_import_wh as f64;
        assert!((0.12..0.28).contains(&night), "seed {seed}: T2 share {night:.3}");
        // Reactive import from a power factor 0.90..0.98: tan φ 0.20..0.49.
        let tan_phi = year.reactive_import_varh as f64 / year.active_import_wh as f64;
        assert!((0.19..0.50).contains(&tan_phi), "seed {seed}: tan φ {tan_phi:.3}");
        if year.active_export_wh > 0 {
            pv += 1;
            let export_kwh = year.active_export_wh as f64 / 1000.0;
            assert!((150.0..1500.0).contains(&export_kwh), "seed {seed}: export {export_kwh:.0} kWh");
        }
        total += kwh;
    }
    let mean = total / n as f64;
    assert!((config.annual_kwh_min..=config.annual_kwh_max).contains(&mean));
    assert!((mean - 3750.0).abs() < 300.0, "uniform 1500..6000 kWh has mean 3750: {mean:.0}");
    assert!((15..=50).contains(&pv), "about 10 % of {n} meters have PV: {pv}");
}

#[test]
fn winter_uses_more_than_summer() {
    let (mut winter, mut summer) = (0u64, 0u64);
    for seed in 0..50 {
        let m = meter(seed);
        let r = |s: &str| m.metrology().registers(ts(s).as_millisecond()).active_import_wh;
        winter += r("2025-01-31T00:00:00Z") - r("2025-01-01T00:00:00Z");
        summer += r("2024-08-31T00:00:00Z") - r("2024-08-01T00:00:00Z");
    }
    // The embedded seasonal factors: January 1.234, August 0.756.
    let ratio = winter as f64 / summer as f64;
    assert!((1.45..1.8).contains(&ratio), "{ratio:.3}");
}

#[test]
fn instantaneous_values_are_plausible_and_consistent() {
    for seed in 0..40 {
        let mut m = meter(seed);
        let mut t = ts("2024-11-03T00:05:00Z");
        for _ in 0..30 {
            let v = m.instantaneous(t);
            assert!((2070..=2530).contains(&v.voltage_dv), "voltage {}", v.voltage_dv);
            // Power = 4 × the interval's Wh, read through GET as well.
            let power = match m.get(t, &attr(3, codes::ACTIVE_POWER_IMPORT, 2), None) {
                Ok(dlms::Data::DoubleLongUnsigned(p)) => p,
                other => panic!("{other:?}"),
            };
            assert_eq!(power, v.active_power_import_w);
            let meter_ms = m.meter_time(t).as_millisecond();
            let start = meter_ms.div_euclid(900_000) * 900_000;
            let r = |x| m.metrology().registers(x);
            let interval_wh = r(start + 900_000).active_import_wh - r(start).active_import_wh;
            let export_wh = r(start + 900_000).active_export_wh - r(start).active_export_wh;
            assert_eq!(u64::from(power), 4 * interval_wh);
            // I = (P_import + P_export) / (U cos φ) for cos φ in 0.90..0.98 (within rounding).
            let amps = f64::from(v.current_ca) / 100.0;
            let volt_amps = f64::from(v.voltage_dv) / 10.0 * amps;
            let active_w = f64::from(power) + 4.0 * export_wh as f64;
            if active_w > 200.0 {
                let pf = active_w / volt_amps;
                assert!((0.89..0.99).contains(&pf), "power factor {pf:.3}");
            }
            t += SignedDuration::from_mins(47);
        }
    }
}

#[test]
fn clock_drift_is_a_few_seconds() {
    let mut drifts = Vec::new();
    for seed in 0..100 {
        let m = meter(seed);
        let now = ts("2024-06-01T00:00:00Z");
        let drift = m.meter_time(now).duration_since(now);
        assert!(drift.abs() <= SignedDuration::from_secs(5), "{drift}");
        drifts.push(drift);
    }
    drifts.sort();
    drifts.dedup();
    assert!(drifts.len() > 90, "drift varies per meter");
}
