//! Billing determinants from interval series (the pure computation, no store): TOU energy,
//! maximum demand, export, reactive energy and power factor, on ordinary, weekend,
//! holiday and DST days. Every expected value is worked out by hand in the comments.

mod billing_support;

use billing_support::*;
use mdms::billing::{
    ActiveEnergy, BillingDeterminants, BillingError, BillingPeriod, ChannelSeries, DemandPeak, TouSchedule,
    determinants_from_series,
};
use model::{MeterId, ReadingType};
use serde_json::json;

const OPENING_WH: f64 = 1_000_000.0;

fn meter() -> MeterId {
    MeterId::from("MTR-1")
}

/// Weekday peak 16:00–19:00, everything else off-peak, in `tz`.
fn peak_off_peak(tz: &str, rolling_window_minutes: u32) -> TouSchedule {
    schedule(json!({
        "name": "peak/off-peak",
        "time_zone": tz,
        "default_period": "off_peak",
        "rules": [{ "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" }],
        "demand": { "rolling_window_minutes": rolling_window_minutes }
    }))
}

fn compute(period: &BillingPeriod, schedule: &TouSchedule, series: &ChannelSeries) -> BillingDeterminants {
    determinants_from_series(&meter(), period, schedule, 900, series).expect("determinants")
}

fn tou<'a>(energy: &'a ActiveEnergy, period: &str) -> &'a mdms::billing::TouActiveEnergy {
    energy.by_tou.iter().find(|t| t.period == period).unwrap_or_else(|| panic!("no TOU period {period}"))
}

#[track_caller]
fn assert_peak(peak: Option<DemandPeak>, kw: f64, start: &str, end: &str) {
    let peak = peak.expect("a demand peak");
    assert_close(peak.kw, kw);
    assert_eq!((peak.start, peak.end), (ts(start), ts(end)));
}

/// Monday 2025-06-02 in UTC, 96 intervals: 100 Wh each, except the 12 peak intervals
/// (16:00–19:00, k = 64..=75) at 250 Wh with k = 69 (17:15–17:30) at 600 Wh, and two
/// off-peak intervals k = 32 (08:00–08:15) at 500 Wh and k = 33 (08:15–08:30) at 450 Wh.
fn weekday_profile() -> Vec<f64> {
    let mut wh = vec![100.0; 96];
    for w in &mut wh[64..76] {
        *w = 250.0;
    }
    wh[69] = 600.0;
    wh[32] = 500.0;
    wh[33] = 450.0;
    wh
}

fn weekday_series() -> ChannelSeries {
    ChannelSeries {
        active_import: cumulative(ts("2025-06-02T00:00:00Z"), OPENING_WH, &weekday_profile()),
        ..ChannelSeries::default()
    }
}

#[test]
fn simple_weekday_peak_off_peak_energy() {
    let d = compute(&one_day("2025-06-02"), &peak_off_peak("UTC", 30), &weekday_series());
    assert_eq!((d.start, d.end), (ts("2025-06-02T00:00:00Z"), ts("2025-06-03T00:00:00Z")));
    assert_eq!(d.intervals, 96);
    assert_eq!(d.schedule, "peak/off-peak");
    assert_eq!(d.time_zone, "UTC");
    // Total: 96 × 100 + 12 × 150 (peak uplift) + 350 (k69) + 400 (k32) + 350 (k33) = 12 500 Wh.
    assert_some_close(d.active_import.total_kwh, 12.5);
    // Peak: 11 × 250 + 600 = 3 350 Wh over 12 intervals; off-peak: 82 × 100 + 500 + 450 = 9 150 Wh.
    let peak = tou(&d.active_import, "peak");
    assert_eq!(peak.intervals, 12);
    assert_close(peak.kwh, 3.35);
    let off = tou(&d.active_import, "off_peak");
    assert_eq!(off.intervals, 84);
    assert_close(off.kwh, 9.15);
    assert_eq!(d.active_import.by_tou.iter().map(|t| t.period.as_str()).collect::<Vec<_>>(), ["peak", "off_peak"]);
    // Only A+ was given.
    assert!(d.active_export.is_none() && d.reactive_import.is_none() && d.reactive_export.is_none());
    assert_eq!(d.power_factor, None);
    assert_eq!(d.estimated_intervals, 0);
    assert!(d.is_bill_ready(), "{:?}", d.readiness.problems);
}

#[test]
fn block_and_rolling_maximum_demand_with_timestamps() {
    let d = compute(&one_day("2025-06-02"), &peak_off_peak("UTC", 30), &weekday_series());
    let a = &d.active_import;
    assert_eq!(d.rolling_window_minutes, 30);
    // Block: 600 Wh in 17:15–17:30 → 600 × 4 / 1000 = 2.4 kW.
    assert_peak(a.max_block_demand, 2.4, "2025-06-02T17:15:00Z", "2025-06-02T17:30:00Z");
    // Rolling 30 min: 500 + 450 Wh over 08:00–08:30 → 0.95 kWh / 0.5 h = 1.9 kW, above the
    // peak's best window (250 + 600 Wh → 1.7 kW).
    assert_peak(a.max_rolling_demand, 1.9, "2025-06-02T08:00:00Z", "2025-06-02T08:30:00Z");
    // Per TOU period.
    let peak = tou(a, "peak");
    assert_peak(peak.max_block_demand, 2.4, "2025-06-02T17:15:00Z", "2025-06-02T17:30:00Z");
    // 17:00–17:30 and 17:15–17:45 both give 850 Wh → 1.7 kW; the earlier window wins.
    assert_peak(peak.max_rolling_demand, 1.7, "2025-06-02T17:00:00Z", "2025-06-02T17:30:00Z");
    let off = tou(a, "off_peak");
    // 500 Wh in 08:00–08:15 → 2.0 kW.
    assert_peak(off.max_block_demand, 2.0, "2025-06-02T08:00:00Z", "2025-06-02T08:15:00Z");
    assert_peak(off.max_rolling_demand, 1.9, "2025-06-02T08:00:00Z", "2025-06-02T08:30:00Z");
}

#[test]
fn rolling_demand_over_a_60_minute_window() {
    let d = compute(&one_day("2025-06-02"), &peak_off_peak("UTC", 60), &weekday_series());
    let a = &d.active_import;
    // 16:30–17:30: 250 + 250 + 250 + 600 = 1 350 Wh in 1 h → 1.35 kW (the first of four
    // equal windows ending 17:30, 17:45, 18:00, 18:15).
    assert_peak(a.max_rolling_demand, 1.35, "2025-06-02T16:30:00Z", "2025-06-02T17:30:00Z");
    assert_peak(tou(a, "peak").max_rolling_demand, 1.35, "2025-06-02T16:30:00Z", "2025-06-02T17:30:00Z");
    // Off-peak: 07:30–08:30: 100 + 100 + 500 + 450 = 1 150 Wh → 1.15 kW (ties at 08:45, 09:00
    // come later).
    assert_peak(tou(a, "off_peak").max_rolling_demand, 1.15, "2025-06-02T07:30:00Z", "2025-06-02T08:30:00Z");
    // Block demand does not depend on the window.
    assert_peak(a.max_block_demand, 2.4, "2025-06-02T17:15:00Z", "2025-06-02T17:30:00Z");
}

#[test]
fn rolling_window_must_be_a_multiple_of_the_interval() {
    for minutes in [0, 20, 40] {
        let err = determinants_from_series(
            &meter(),
            &one_day("2025-06-02"),
            &peak_off_peak("UTC", minutes),
            900,
            &weekday_series(),
        )
        .unwrap_err();
        assert!(matches!(err, BillingError::DemandWindow { window_minutes, .. } if window_minutes == minutes), "{err}");
    }
    // A period that is not a whole number of intervals (7-minute "intervals").
    let err =
        determinants_from_series(&meter(), &one_day("2025-06-02"), &peak_off_peak("UTC", 30), 420, &weekday_series())
            .unwrap_err();
    assert!(matches!(err, BillingError::IntervalGrid { interval_length_s: 420, .. }), "{err}");
}

/// Weekday peak 16–19, shoulder 07–22 on weekdays and weekends, the rest (and all of a
/// holiday) off-peak; Europe/London in December (GMT, so local = UTC).
fn three_rate() -> TouSchedule {
    schedule(json!({
        "name": "three-rate",
        "time_zone": "Europe/London",
        "default_period": "off_peak",
        "holidays": ["2025-12-25", "2025-12-26"],
        "rules": [
            { "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" },
            { "period": "shoulder", "day_types": ["weekday", "weekend"], "from": "07:00", "to": "22:00" }
        ]
    }))
}

/// A flat 100 Wh per interval over `period` (in December, GMT = UTC).
fn flat(first_day: &str, days: usize) -> ChannelSeries {
    let start = ts(&format!("{first_day}T00:00:00Z"));
    ChannelSeries { active_import: cumulative(start, OPENING_WH, &vec![100.0; 96 * days]), ..ChannelSeries::default() }
}

/// (intervals, kWh) per TOU period, in schedule order.
fn tou_table(d: &BillingDeterminants) -> Vec<(String, u32, f64)> {
    d.active_import.by_tou.iter().map(|t| (t.period.clone(), t.intervals, (t.kwh * 1000.0).round() / 1000.0)).collect()
}

fn row(p: &str, n: u32, kwh: f64) -> (String, u32, f64) {
    (p.to_string(), n, kwh)
}

#[test]
fn weekday_weekend_and_holiday_day_types() {
    let s = three_rate();
    // Monday: peak 3 h (12 intervals), shoulder 15 h − 3 h = 12 h (48), off-peak 9 h (36).
    let d = compute(&one_day("2025-12-22"), &s, &flat("2025-12-22", 1));
    assert_eq!(tou_table(&d), [row("peak", 12, 1.2), row("shoulder", 48, 4.8), row("off_peak", 36, 3.6)]);
    // Saturday: no peak, shoulder 15 h (60), off-peak 9 h (36).
    let d = compute(&one_day("2025-12-20"), &s, &flat("2025-12-20", 1));
    assert_eq!(tou_table(&d), [row("peak", 0, 0.0), row("shoulder", 60, 6.0), row("off_peak", 36, 3.6)]);
    assert_eq!(tou(&d.active_import, "peak").max_block_demand, None);
    // Christmas Day (a Thursday, listed as a holiday): all off-peak.
    let d = compute(&one_day("2025-12-25"), &s, &flat("2025-12-25", 1));
    assert_eq!(tou_table(&d), [row("peak", 0, 0.0), row("shoulder", 0, 0.0), row("off_peak", 96, 9.6)]);

    // Saturday 20th to Friday 26th: weekdays Mon–Wed (3), weekend (2), holidays (2).
    // Peak 3 × 12 = 36; shoulder 3 × 48 + 2 × 60 = 264; off-peak 3 × 36 + 2 × 36 + 2 × 96 = 372.
    let week = BillingPeriod::new(date("2025-12-20"), date("2025-12-26")).unwrap();
    let d = compute(&week, &s, &flat("2025-12-20", 7));
    assert_eq!(d.intervals, 672);
    assert_eq!(tou_table(&d), [row("peak", 36, 3.6), row("shoulder", 264, 26.4), row("off_peak", 372, 37.2)]);
    assert_some_close(d.active_import.total_kwh, 67.2);
    assert!(d.is_bill_ready());
}

/// 00:00–07:00 and 23:00–24:00 night, 16:00–19:00 peak every day, the rest day, London.
fn night_peak_day() -> TouSchedule {
    schedule(json!({
        "name": "night/peak/day",
        "time_zone": "Europe/London",
        "default_period": "day",
        "rules": [
            { "period": "night", "from": "23:00", "to": "07:00" },
            { "period": "peak", "from": "16:00", "to": "19:00" }
        ]
    }))
}

/// Intervals of the u-th UTC hour from `start` use (u + 1) × 10 Wh each.
fn hour_ramp(start: &str, hours: usize) -> ChannelSeries {
    let wh: Vec<f64> = (0..hours).flat_map(|u| [(u as f64 + 1.0) * 10.0; 4]).collect();
    ChannelSeries { active_import: cumulative(ts(start), OPENING_WH, &wh), ..ChannelSeries::default() }
}

#[test]
fn spring_forward_day_has_92_intervals_and_wall_time_periods() {
    // 2025-03-30, London: 00:00 GMT (00:00Z) to 00:00 BST next day (23:00Z), 23 hours.
    // UTC hour u runs local u (u = 0, GMT) or u + 1 (u ≥ 1, BST).
    // night: u = 0 (00 GMT), u = 1..=5 (02–06 BST), u = 22 (23 BST): 7 h, 28 intervals,
    //        Σ(u + 1) = 1 + (2 + 3 + 4 + 5 + 6) + 23 = 44 → 44 × 40 Wh = 1 760 Wh.
    // peak:  16–19 BST = u 15..=17: 12 intervals, 16 + 17 + 18 = 51 → 2 040 Wh.
    // day:   07–16 BST = u 6..=14 (Σ 7..=15 = 99) and 19–23 BST = u 18..=21 (Σ 19..=22 = 82):
    //        13 h, 52 intervals, 181 → 7 240 Wh.
    // total: Σ 1..=23 = 276 → 11 040 Wh.
    let d = compute(&one_day("2025-03-30"), &night_peak_day(), &hour_ramp("2025-03-30T00:00:00Z", 23));
    assert_eq!((d.start, d.end), (ts("2025-03-30T00:00:00Z"), ts("2025-03-30T23:00:00Z")));
    assert_eq!(d.intervals, 92);
    assert_eq!(tou_table(&d), [row("night", 28, 1.76), row("peak", 12, 2.04), row("day", 52, 7.24)]);
    assert_some_close(d.active_import.total_kwh, 11.04);
    // Largest block: the first interval of u = 22 (230 Wh → 0.92 kW), 22:00–22:15Z = 23:00 BST, night.
    assert_peak(d.active_import.max_block_demand, 0.92, "2025-03-30T22:00:00Z", "2025-03-30T22:15:00Z");
    assert_peak(tou(&d.active_import, "night").max_block_demand, 0.92, "2025-03-30T22:00:00Z", "2025-03-30T22:15:00Z");
    // Peak's largest block: u = 17 (180 Wh → 0.72 kW) at 17:00Z = 18:00 BST.
    assert_peak(tou(&d.active_import, "peak").max_block_demand, 0.72, "2025-03-30T17:00:00Z", "2025-03-30T17:15:00Z");
    assert!(d.is_bill_ready());
}

#[test]
fn fall_back_day_has_100_intervals_and_wall_time_periods() {
    // 2025-10-26, London: 00:00 BST (23:00Z on the 25th) to 00:00 GMT next day, 25 hours.
    // UTC hour u from the start runs local 00 BST (u = 0), 01 BST (u = 1), 01 GMT (u = 2),
    // then local u − 1.
    // night: u = 0..=7 (00, 01, 01, 02..06) and u = 24 (23 GMT): 9 h, 36 intervals,
    //        Σ(u + 1) = 36 + 25 = 61 → 2 440 Wh.
    // peak:  16–19 GMT = u 17..=19: 12 intervals, 18 + 19 + 20 = 57 → 2 280 Wh.
    // day:   07–16 = u 8..=16 (Σ 9..=17 = 117), 19–23 = u 20..=23 (Σ 21..=24 = 90): 52 intervals,
    //        207 → 8 280 Wh.
    // total: Σ 1..=25 = 325 → 13 000 Wh.
    let d = compute(&one_day("2025-10-26"), &night_peak_day(), &hour_ramp("2025-10-25T23:00:00Z", 25));
    assert_eq!((d.start, d.end), (ts("2025-10-25T23:00:00Z"), ts("2025-10-27T00:00:00Z")));
    assert_eq!(d.intervals, 100);
    assert_eq!(tou_table(&d), [row("night", 36, 2.44), row("peak", 12, 2.28), row("day", 52, 8.28)]);
    assert_some_close(d.active_import.total_kwh, 13.0);
    // Peak's largest block: u = 19 (200 Wh → 0.8 kW), 18:00–18:15Z = 18:00 GMT.
    assert_peak(tou(&d.active_import, "peak").max_block_demand, 0.8, "2025-10-26T18:00:00Z", "2025-10-26T18:15:00Z");
    assert!(d.is_bill_ready());
}

#[test]
fn export_is_kept_separate_from_import() {
    // Monday 2025-06-02, UTC. Import 100 Wh per interval except 10:00–14:00 (k = 40..=55),
    // where it is 0; export 300 Wh in those 16 intervals, 500 Wh in 11:45–12:00 (k = 47),
    // 0 elsewhere.
    let mut import = vec![100.0; 96];
    let mut export = vec![0.0; 96];
    for k in 40..56 {
        import[k] = 0.0;
        export[k] = 300.0;
    }
    export[47] = 500.0;
    let start = ts("2025-06-02T00:00:00Z");
    let series = ChannelSeries {
        active_import: cumulative(start, OPENING_WH, &import),
        active_export: cumulative(start, 20_000.0, &export),
        ..ChannelSeries::default()
    };
    let d = compute(&one_day("2025-06-02"), &peak_off_peak("UTC", 30), &series);
    // Import: 80 × 100 Wh = 8.0 kWh; peak 12 × 100 = 1.2, off-peak 6.8.
    assert_some_close(d.active_import.total_kwh, 8.0);
    assert_close(tou(&d.active_import, "peak").kwh, 1.2);
    assert_close(tou(&d.active_import, "off_peak").kwh, 6.8);
    // Import block maximum 0.4 kW, first reached in 00:00–00:15.
    assert_peak(d.active_import.max_block_demand, 0.4, "2025-06-02T00:00:00Z", "2025-06-02T00:15:00Z");
    // Export: 15 × 300 + 500 = 5 000 Wh, all off-peak; maximum 500 Wh → 2.0 kW at 12:00.
    let export = d.active_export.as_ref().expect("export is metered");
    assert_eq!(export.reading_type, ReadingType::ActiveEnergyExport);
    assert_some_close(export.total_kwh, 5.0);
    assert_close(tou(export, "peak").kwh, 0.0);
    assert_close(tou(export, "off_peak").kwh, 5.0);
    assert_peak(export.max_block_demand, 2.0, "2025-06-02T11:45:00Z", "2025-06-02T12:00:00Z");
    // Rolling 30 min: 300 + 500 → 1.6 kW over 11:30–12:00 (tie with 11:45–12:15, earlier wins).
    assert_peak(export.max_rolling_demand, 1.6, "2025-06-02T11:30:00Z", "2025-06-02T12:00:00Z");
    assert!(d.is_bill_ready());
}

#[test]
fn reactive_energy_and_power_factor() {
    // 96 × 100 Wh = 9.6 kWh import, 96 × 75 varh = 7.2 kvarh R+, 96 × 10 varh = 0.96 kvarh R−.
    // PF = 9.6 / √(9.6² + 7.2²) = 9.6 / 12 = 0.8 (R− does not enter).
    let start = ts("2025-06-02T00:00:00Z");
    let series = ChannelSeries {
        active_import: cumulative(start, OPENING_WH, &[100.0; 96]),
        reactive_import: cumulative(start, 5_000.0, &[75.0; 96]),
        reactive_export: cumulative(start, 7_000.0, &[10.0; 96]),
        ..ChannelSeries::default()
    };
    let d = compute(&one_day("2025-06-02"), &peak_off_peak("UTC", 30), &series);
    assert_some_close(d.power_factor, 0.8);
    let r_plus = d.reactive_import.as_ref().expect("R+ metered");
    assert_eq!(r_plus.reading_type, ReadingType::ReactiveEnergyImport);
    assert_some_close(r_plus.total_kvarh, 7.2);
    // Peak 12 × 75 varh = 0.9 kvarh, off-peak 84 × 75 = 6.3 kvarh.
    let by: Vec<(String, u32, f64)> = r_plus.by_tou.iter().map(|t| (t.period.clone(), t.intervals, t.kvarh)).collect();
    assert_eq!(by.len(), 2);
    assert_eq!((by[0].0.as_str(), by[0].1), ("peak", 12));
    assert_close(by[0].2, 0.9);
    assert_eq!((by[1].0.as_str(), by[1].1), ("off_peak", 84));
    assert_close(by[1].2, 6.3);
    assert_some_close(d.reactive_export.as_ref().expect("R− metered").total_kvarh, 0.96);
    assert!(d.active_export.is_none());
    assert!(d.is_bill_ready());
}

#[test]
fn power_factor_formula() {
    use mdms::billing::determinants::average_power_factor;
    assert_some_close(average_power_factor(3.0, 4.0), 0.6);
    assert_some_close(average_power_factor(5.0, 0.0), 1.0);
    assert_some_close(average_power_factor(0.0, 2.0), 0.0);
    assert_eq!(average_power_factor(0.0, 0.0), None);
    assert_eq!(average_power_factor(f64::NAN, 1.0), None);
}
