//! Bill readiness: estimated and edited values are billable and counted; gaps, values of
//! bad quality, a missing opening read and negative consumption block billing and are
//! listed.

mod billing_support;

use billing_support::*;
use mdms::billing::{
    BillingDeterminants, ChannelSeries, IntervalProblem, ProblemKind, TouSchedule, determinants_from_series,
    is_billable, is_estimated,
};
use model::{MeterId, QualityFlags, ReadingType};
use serde_json::json;

fn peak_off_peak() -> TouSchedule {
    schedule(json!({
        "name": "peak/off-peak",
        "time_zone": "UTC",
        "default_period": "off_peak",
        "rules": [{ "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" }]
    }))
}

fn compute(series: &ChannelSeries) -> BillingDeterminants {
    determinants_from_series(&MeterId::from("MTR-1"), &one_day("2025-06-02"), &peak_off_peak(), 900, series)
        .expect("determinants")
}

fn start() -> jiff::Timestamp {
    ts("2025-06-02T00:00:00Z")
}

/// Monday 2025-06-02, 100 Wh / 75 varh per interval.
fn full_day() -> ChannelSeries {
    ChannelSeries {
        active_import: cumulative(start(), 1_000_000.0, &[100.0; 96]),
        reactive_import: cumulative(start(), 5_000.0, &[75.0; 96]),
        ..ChannelSeries::default()
    }
}

fn estimated() -> QualityFlags {
    QualityFlags::estimated(1, false)
}

#[test]
fn quality_classification() {
    assert!(is_billable(QualityFlags(0)));
    assert!(is_billable(QualityFlags(QualityFlags::DAYLIGHT_SAVING)));
    assert!(is_billable(estimated()));
    assert!(is_billable(QualityFlags::estimated(3, true)));
    assert!(is_billable(QualityFlags(QualityFlags::EDITED)));
    assert!(!is_billable(QualityFlags(QualityFlags::POWER_DOWN)));
    assert!(!is_billable(QualityFlags(QualityFlags::SUSPECT)));
    assert!(!is_billable(QualityFlags(QualityFlags::DATA_NOT_VALID)));
    // An estimate or edit that failed re-validation waits for review.
    assert!(!is_billable(QualityFlags(QualityFlags::estimated(1, false).0 | QualityFlags::SUSPECT)));
    assert!(!is_billable(QualityFlags(QualityFlags::EDITED | QualityFlags::SUSPECT)));
    assert!(is_estimated(estimated()));
    assert!(!is_estimated(QualityFlags(QualityFlags::EDITED)));
}

#[test]
fn estimated_intervals_are_billable_and_counted() {
    let mut series = full_day();
    // A+ estimated at k = 5, 6, 40; R+ estimated at k = 40 (same interval) and k = 70.
    for k in [5, 6, 40] {
        set_quality(&mut series.active_import, k, estimated());
    }
    for k in [40, 70] {
        set_quality(&mut series.reactive_import, k, estimated());
    }
    // An edited value and a daylight-saving flag are billable too, and not estimates.
    set_quality(&mut series.active_import, 80, QualityFlags(QualityFlags::EDITED));
    set_quality(&mut series.active_import, 81, QualityFlags(QualityFlags::DAYLIGHT_SAVING));
    let d = compute(&series);
    assert!(d.is_bill_ready(), "{:?}", d.readiness.problems);
    assert_eq!(d.readiness.problems, []);
    // Distinct intervals with an estimate: 5, 6, 40, 70.
    assert_eq!(d.estimated_intervals, 4);
    let a = &d.readiness.channels[0];
    assert_eq!(a.reading_type, ReadingType::ActiveEnergyImport);
    assert_eq!(
        (a.expected, a.present, a.valid, a.estimated, a.edited, a.missing, a.not_valid),
        (96, 96, 92, 3, 1, 0, 0)
    );
    let r = &d.readiness.channels[2];
    assert_eq!(r.reading_type, ReadingType::ReactiveEnergyImport);
    assert_eq!((r.metered, r.estimated, r.valid), (true, 2, 94));
    // Not metered channels report nothing.
    let export = &d.readiness.channels[1];
    assert_eq!((export.reading_type, export.metered, export.expected), (ReadingType::ActiveEnergyExport, false, 0));
    assert_some_close(d.active_import.total_kwh, 9.6);
}

#[test]
fn suspect_estimate_is_counted_but_blocks_billing() {
    let mut series = full_day();
    let suspect_estimate = QualityFlags(estimated().0 | QualityFlags::SUSPECT);
    set_quality(&mut series.active_import, 3, suspect_estimate);
    let d = compute(&series);
    assert!(!d.is_bill_ready());
    assert_eq!(d.estimated_intervals, 1);
    assert_eq!((d.readiness.channels[0].estimated, d.readiness.channels[0].not_valid), (0, 1));
    assert_eq!(
        d.readiness.problems,
        [IntervalProblem {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: ts("2025-06-02T01:00:00Z"),
            problem: ProblemKind::NotValid { quality: suspect_estimate }
        }]
    );
}

#[test]
fn gap_and_bad_quality_make_the_period_not_bill_ready() {
    let mut series = full_day();
    // Drop the A+ values at the ends of k = 10 and 11 (02:45 and 03:00): the consumption
    // of k = 10, 11 and 12 is unknown. Mark k = 50 (ends 12:45) power down.
    series.active_import.remove(12); // end of k = 11
    series.active_import.remove(11); // end of k = 10
    let k50 = series.active_import.iter_mut().find(|v| v.interval_end == ts("2025-06-02T12:45:00Z")).unwrap();
    k50.quality = QualityFlags(QualityFlags::POWER_DOWN);
    let d = compute(&series);
    assert!(!d.is_bill_ready());
    let r = &d.readiness;
    assert_eq!((r.missing_values, r.not_valid_values, r.negative_intervals), (2, 1, 0));
    assert_eq!(
        r.problems,
        [
            IntervalProblem {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: ts("2025-06-02T02:45:00Z"),
                problem: ProblemKind::Missing
            },
            IntervalProblem {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: ts("2025-06-02T03:00:00Z"),
                problem: ProblemKind::Missing
            },
            IntervalProblem {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: ts("2025-06-02T12:45:00Z"),
                problem: ProblemKind::NotValid { quality: QualityFlags(QualityFlags::POWER_DOWN) }
            },
        ]
    );
    let a = &r.channels[0];
    assert_eq!((a.present, a.valid, a.missing, a.not_valid), (94, 93, 2, 1));
    // The total is still the register difference (both bounds present): 9.6 kWh; the TOU
    // amounts leave out the three intervals of unknown consumption (all off-peak):
    // 81 × 0.1 = 8.1 kWh off-peak, 1.2 kWh peak.
    assert_some_close(d.active_import.total_kwh, 9.6);
    assert_close(d.active_import.by_tou[0].kwh, 1.2);
    assert_close(d.active_import.by_tou[1].kwh, 8.1);
    // The problems serialize with their kind.
    let v = serde_json::to_value(r.problems[2]).unwrap();
    assert_eq!(v["problem"], json!({ "kind": "not_valid", "quality": 128 }));
    assert_eq!(v["reading_type"], "active_energy_import");
}

#[test]
fn missing_opening_read_blocks_billing_and_the_total() {
    let mut series = full_day();
    series.active_import.remove(0);
    let d = compute(&series);
    assert!(!d.is_bill_ready());
    assert_eq!(
        d.readiness.problems,
        [IntervalProblem {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: start(),
            problem: ProblemKind::Missing
        }]
    );
    // Per-channel counts cover interval ends only: all 96 are present.
    assert_eq!((d.readiness.channels[0].present, d.readiness.channels[0].missing), (96, 0));
    assert_eq!(d.active_import.total_kwh, None);
    // The first interval's consumption is unknown: off-peak 83 × 0.1 kWh.
    assert_close(d.active_import.by_tou[1].kwh, 8.3);
    // The power factor needs the A+ total.
    assert_eq!(d.power_factor, None);
}

#[test]
fn negative_consumption_blocks_billing() {
    let mut series = full_day();
    // A register that goes back by 250 Wh in 10:00–10:15 (k = 40).
    let mut wh = vec![100.0; 96];
    wh[40] = -250.0;
    series.active_import = cumulative(start(), 1_000_000.0, &wh);
    let d = compute(&series);
    assert!(!d.is_bill_ready());
    assert_eq!(d.readiness.negative_intervals, 1);
    assert_eq!(
        d.readiness.problems,
        [IntervalProblem {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: ts("2025-06-02T10:15:00Z"),
            problem: ProblemKind::NegativeConsumption { consumption: -250.0 }
        }]
    );
}

#[test]
fn partially_metered_secondary_channel_must_be_complete() {
    let mut series = full_day();
    // R+ holds only its first 50 interval ends (plus the opening read).
    series.reactive_import.truncate(51);
    let d = compute(&series);
    assert!(!d.is_bill_ready());
    let r = &d.readiness.channels[2];
    assert_eq!((r.metered, r.present, r.missing), (true, 50, 46));
    assert_eq!(d.readiness.missing_values, 46);
    assert!(d.readiness.problems.iter().all(|p| p.reading_type == ReadingType::ReactiveEnergyImport));
    assert_eq!(d.readiness.problems[0].interval_end, ts("2025-06-02T12:45:00Z"));
    // The R+ total needs its last value.
    assert_eq!(d.reactive_import.as_ref().unwrap().total_kvarh, None);
}

#[test]
fn no_data_at_all_is_not_bill_ready() {
    let d = compute(&ChannelSeries::default());
    assert!(!d.is_bill_ready());
    // The opening read and all 96 interval ends of A+; other channels are not metered.
    assert_eq!(d.readiness.missing_values, 97);
    assert_eq!(d.active_import.total_kwh, None);
    assert_eq!(d.active_import.max_block_demand, None);
    assert!(d.active_export.is_none());
}

#[test]
fn values_off_the_grid_and_outside_the_period_are_ignored() {
    let mut series = full_day();
    let mut stray = series.active_import[5];
    stray.interval_end = ts("2025-06-02T01:07:00Z");
    stray.value = 0.0;
    series.active_import.push(stray);
    let mut outside = series.active_import[5];
    outside.interval_end = ts("2025-06-03T00:15:00Z");
    outside.value = 0.0;
    series.active_import.push(outside);
    let d = compute(&series);
    assert!(d.is_bill_ready());
    assert_eq!(d.readiness.channels[0].off_grid, 1);
    assert_some_close(d.active_import.total_kwh, 9.6);
}
