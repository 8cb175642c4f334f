//! `compute_billing_determinants` over a SQLite store: a month of a real UK household's
//! load (shared test data), latest-version reads, an unknown meter.

mod billing_support;

use std::collections::BTreeMap;
use std::process::Command;

use billing_support::*;
use jiff::Timestamp;
use mdms::billing::{BillingPeriod, DemandPeak, TouSchedule, compute_billing_determinants};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};
use serde_json::json;

const LOADS: &str = "../../../shared/testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz";

/// Hourly consumption of the shared UK household series, Wh (the file's kWh rounded to
/// whole Wh, its stated resolution), keyed by the UTC start of the hour.
fn household_hours() -> BTreeMap<Timestamp, i64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(LOADS);
    let out = Command::new("gzip").arg("-dc").arg(&path).output().expect("gzip runs");
    assert!(out.status.success(), "gzip -dc {} failed", path.display());
    let text = String::from_utf8(out.stdout).expect("UTF-8 CSV");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("start,value"));
    lines
        .map(|line| {
            let (start, value) = line.split_once(',').expect("two columns");
            // "2020-04-01 01:00:00+00:00" → RFC 3339.
            let start: Timestamp = start.replacen(' ', "T", 1).parse().expect("start instant");
            let kwh: f64 = value.parse().expect("kWh value");
            (start, (kwh * 1000.0).round() as i64)
        })
        .collect()
}

/// The hours `[from, to)` spread evenly over four 15-minute intervals, as one A+
/// collection: cumulative values from `opening_wh` at `from`.
fn spread_to_quarter_hours(
    hours: &BTreeMap<Timestamp, i64>,
    from: Timestamp,
    to: Timestamp,
    opening_wh: f64,
) -> MeterReading {
    let mut register = opening_wh;
    let mut intervals = vec![IntervalReading {
        reading_type: ReadingType::ActiveEnergyImport,
        interval_end: from,
        value: register,
        quality: QualityFlags(0),
    }];
    for (start, wh) in hours.range(from..to) {
        for q in 1..=4 {
            register += *wh as f64 / 4.0;
            intervals.push(IntervalReading {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: plus_min(*start, 15 * q),
                value: register,
                quality: QualityFlags(0),
            });
        }
    }
    MeterReading {
        meter: MeterId::from("UK-HOUSEHOLD-0"),
        collected_at: to,
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![],
        intervals,
    }
}

fn weekday_peak_london() -> TouSchedule {
    schedule(json!({
        "name": "UK weekday peak",
        "time_zone": "Europe/London",
        "default_period": "off_peak",
        "rules": [{ "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" }]
    }))
}

#[track_caller]
fn assert_peak(peak: Option<DemandPeak>, kw: f64, end: &str) {
    let peak = peak.expect("a demand peak");
    assert_close(peak.kw, kw);
    assert_eq!(peak.end, ts(end));
}

#[test]
fn october_2020_of_a_uk_household() {
    // October 2020 in London: 2020-09-30T23:00Z (midnight BST) to 2020-11-01T00:00Z
    // (midnight GMT), 745 hours with the fall-back on Sunday 25th: 2 980 intervals.
    let hours = household_hours();
    let (from, to) = (ts("2020-09-30T23:00:00Z"), ts("2020-11-01T00:00:00Z"));
    let source_wh: i64 = hours.range(from..to).map(|(_, wh)| wh).sum();
    assert_eq!(hours.range(from..to).count(), 745);

    let mut store = SqliteStore::open_in_memory().unwrap();
    store.ingest(&spread_to_quarter_hours(&hours, from, to, 5_000_000.0)).unwrap();
    let meter = MeterId::from("UK-HOUSEHOLD-0");
    // The real series has no consumption from 2020-10-30 05:00 to 10-31 04:00 (a day
    // away): VEE holds it as a zero-consumption exception, and the bill waits for it.
    let held = compute_billing_determinants(
        &store,
        &meter,
        &BillingPeriod::calendar_month(2020, 10).unwrap(),
        &weekday_peak_london(),
    )
    .unwrap();
    assert!(!held.is_bill_ready());
    let queue = store.vee_exceptions(&mdms::vee::ExceptionFilter::default()).unwrap();
    assert!(!queue.is_empty());
    assert!(queue.iter().all(|e| e.rule == mdms::vee::RuleId::ZeroConsumption), "{queue:?}");
    // The analyst confirms the household was away: the values stand and the month bills.
    let filter = mdms::vee::ExceptionFilter { meter: Some(meter.clone()), ..Default::default() };
    store.accept_exceptions(&filter, "analyst", "customer confirmed the home was empty").unwrap();
    let d = compute_billing_determinants(
        &store,
        &meter,
        &BillingPeriod::calendar_month(2020, 10).unwrap(),
        &weekday_peak_london(),
    )
    .unwrap();

    assert_eq!((d.start, d.end, d.intervals), (from, to, 2980));
    assert!(d.is_bill_ready(), "{:?}", d.readiness.problems);
    assert_eq!(d.estimated_intervals, 0);
    // The total equals the source data over the period: 117 766 Wh (also computed
    // independently with Python's zoneinfo from the same file).
    assert_eq!(source_wh, 117_766);
    assert_some_close(d.active_import.total_kwh, source_wh as f64 / 1000.0);
    // TOU amounts add up to the total.
    let tou_sum: f64 = d.active_import.by_tou.iter().map(|t| t.kwh).sum();
    assert_close(tou_sum, 117.766);
    // Independent (Python zoneinfo) split: peak = weekday 16:00–19:00 local, 22 weekdays ×
    // 12 intervals = 264 intervals, 10 550 Wh; off-peak 2 716 intervals, 107 216 Wh.
    let peak = &d.active_import.by_tou[0];
    assert_eq!((peak.period.as_str(), peak.intervals), ("peak", 264));
    assert_close(peak.kwh, 10.55);
    let off = &d.active_import.by_tou[1];
    assert_eq!((off.period.as_str(), off.intervals), ("off_peak", 2716));
    assert_close(off.kwh, 107.216);
    // Maximum demand (Python, from the same quarter-hour spread): the largest hour is
    // 1.314 kWh starting 2020-10-11T11:00Z, so 1.314 kW for the first block (ending
    // 11:15Z) and the first 30-minute window inside it (ending 11:30Z); in the peak, the
    // largest hour is 0.408 kWh starting 2020-10-28T18:00Z (18:00 GMT).
    assert_peak(d.active_import.max_block_demand, 1.314, "2020-10-11T11:15:00Z");
    assert_peak(d.active_import.max_rolling_demand, 1.314, "2020-10-11T11:30:00Z");
    assert_peak(peak.max_block_demand, 0.408, "2020-10-28T18:15:00Z");
    assert_peak(peak.max_rolling_demand, 0.408, "2020-10-28T18:30:00Z");
}

#[test]
fn the_latest_version_is_billed() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let start = ts("2025-06-02T00:00:00Z");
    let meter = MeterId::from("MTR-7");
    let reading = |values: &[mdms::billing::IntervalValue], collected_at: &str| MeterReading {
        meter: meter.clone(),
        collected_at: ts(collected_at),
        clock_drift_ms: None,
        interval_length_s: 900,
        registers: vec![],
        intervals: values
            .iter()
            .map(|v| IntervalReading {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: v.interval_end,
                value: v.value,
                quality: v.quality,
            })
            .collect(),
    };
    // Read from the meter: 100 Wh per interval, k = 20 flagged "data not valid".
    let mut raw = cumulative(start, 0.0, &[100.0; 96]);
    set_quality(&mut raw, 20, QualityFlags(QualityFlags::DATA_NOT_VALID));
    store.ingest(&reading(&raw, "2025-06-03T01:00:00Z")).unwrap();
    let period = one_day("2025-06-02");
    let schedule = schedule(json!({ "name": "flat", "time_zone": "UTC", "default_period": "all" }));
    let d = compute_billing_determinants(&store, &meter, &period, &schedule).unwrap();
    assert!(!d.is_bill_ready());
    assert_eq!(d.readiness.not_valid_values, 1);

    // VEE stores an estimate as version 2 of that interval: now bill-ready, 1 estimated.
    let mut fixed = vec![raw[21]];
    fixed[0].quality = QualityFlags::estimated(1, false);
    store.ingest_from(&reading(&fixed, "2025-06-03T02:00:00Z"), "vee").unwrap();
    let d = compute_billing_determinants(&store, &meter, &period, &schedule).unwrap();
    assert!(d.is_bill_ready(), "{:?}", d.readiness.problems);
    assert_eq!(d.estimated_intervals, 1);
    assert_eq!(d.readiness.channels[0].estimated, 1);
    // The estimate kept the value: 96 × 100 Wh.
    assert_some_close(d.active_import.total_kwh, 9.6);
}

#[test]
fn unknown_meter_is_not_bill_ready() {
    let store = SqliteStore::open_in_memory().unwrap();
    let boxed: Box<dyn MeterDataStore> = Box::new(store);
    let d = compute_billing_determinants(
        boxed.as_ref(),
        &MeterId::from("NOBODY"),
        &one_day("2025-06-02"),
        &weekday_peak_london(),
    )
    .unwrap();
    assert!(!d.is_bill_ready());
    assert_eq!(d.readiness.missing_values, 97);
    assert_eq!(d.active_import.total_kwh, None);
}

#[test]
fn a_value_with_an_open_vee_exception_holds_the_bill_until_it_is_resolved() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let start = ts("2025-06-02T00:00:00Z");
    let meter = MeterId::from("MTR-8");
    // 100 Wh per interval, but one interval of 20 kWh: the spike rule fails it on ingest.
    let mut deltas = [100.0; 96];
    deltas[40] = 20_000.0;
    let raw = cumulative(start, 0.0, &deltas);
    let reading = MeterReading {
        meter: meter.clone(),
        collected_at: ts("2025-06-03T01:00:00Z"),
        clock_drift_ms: None,
        interval_length_s: 900,
        registers: vec![],
        intervals: raw
            .iter()
            .map(|v| IntervalReading {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: v.interval_end,
                value: v.value,
                quality: v.quality,
            })
            .collect(),
    };
    let outcome = store.ingest_validated(&reading, "hes").unwrap();
    assert!(outcome.validation.findings_new >= 1, "the spike must be found: {outcome:?}");
    let period = one_day("2025-06-02");
    let schedule = schedule(json!({ "name": "flat", "time_zone": "UTC", "default_period": "all" }));
    let d = compute_billing_determinants(&store, &meter, &period, &schedule).unwrap();
    assert!(!d.is_bill_ready(), "a suspect value must not be billed: {:?}", d.readiness);

    // The analyst accepts the exception (a real event at the premises): the period bills.
    let filter = mdms::vee::ExceptionFilter { meter: Some(meter.clone()), ..Default::default() };
    assert!(store.accept_exceptions(&filter, "analyst", "confirmed on site").unwrap() >= 1);
    let d = compute_billing_determinants(&store, &meter, &period, &schedule).unwrap();
    assert!(d.is_bill_ready(), "{:?}", d.readiness.problems);
    assert_some_close(d.active_import.total_kwh, 95.0 * 0.1 + 20.0);
}
