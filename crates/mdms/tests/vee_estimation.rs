//! Estimation methods on hand-built series: linear interpolation (exact on linear data,
//! scaled to the bracketing advance otherwise), like-day averaging (same day type, actual
//! reads only, outage days excluded), register reads inside a gap, DST days, and the runs
//! estimation refuses.

mod vee_support;

use jiff::Timestamp;
use mdms::estimation::{EstimationInput, EstimationMethod, EstimationOutcome, SkipReason, estimate};
use mdms::vee::{CompiledClass, EstimationConfig, MeterClass, RegisterPoint, SeriesPoint};
use model::{QualityFlags, ReadingType};
use vee_support::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn class(tz: &str, estimation: EstimationConfig) -> CompiledClass {
    class_from(MeterClass { time_zone: tz.into(), estimation, ..MeterClass::default() })
}

fn run(
    class: &CompiledClass,
    points: &[SeriesPoint],
    targets: &[Timestamp],
    registers: &[RegisterPoint],
) -> EstimationOutcome {
    let input = EstimationInput { reading_type: AP, points, targets, registers, max_gap_s: None };
    estimate(&input, class).expect("estimation runs")
}

/// Removes the points at `targets` (a gap).
fn without(points: &[SeriesPoint], targets: &[Timestamp]) -> Vec<SeriesPoint> {
    points.iter().filter(|p| !targets.contains(&p.interval_end)).cloned().collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn interpolation_is_exact_on_linearly_changing_consumption() {
    let class = class("UTC", EstimationConfig::default());
    let start = ts("2025-01-06T00:00:00Z");
    // Consumption 10, 12, 14, ... Wh: linear.
    let consumption: Vec<f64> = (0..12).map(|k| 10.0 + 2.0 * k as f64).collect();
    let truth = cumulative(start, 1000.0, &consumption);
    let targets: Vec<Timestamp> = truth[5..8].iter().map(|p| p.interval_end).collect();
    let outcome = run(&class, &without(&truth, &targets), &targets, &[]);
    assert!(outcome.skipped.is_empty());
    assert_eq!(outcome.estimates.len(), 3);
    for (e, t) in outcome.estimates.iter().zip(&truth[5..8]) {
        assert_eq!(e.interval_end, t.interval_end);
        assert!(close(e.value, t.value), "{} vs {}", e.value, t.value);
        assert_eq!(e.method, EstimationMethod::LinearInterpolation);
        assert_eq!(e.quality, QualityFlags::estimated(1, false), "exact: no scaling");
    }
}

#[test]
fn interpolation_is_scaled_to_the_bracketing_advance() {
    let class = class("UTC", EstimationConfig::default());
    let start = ts("2025-01-06T00:00:00Z");
    // Flat 10 Wh around the gap, but 100 Wh went through the register over the gap's three
    // missing ends plus the interval closing it.
    let points = [
        SeriesPoint::new(start, 0.0, QualityFlags(0)),
        SeriesPoint::new(plus(start, 900), 10.0, QualityFlags(0)),
        SeriesPoint::new(plus(start, 4500), 110.0, QualityFlags(0)),
        SeriesPoint::new(plus(start, 5400), 120.0, QualityFlags(0)),
    ];
    let targets = [plus(start, 1800), plus(start, 2700), plus(start, 3600)];
    let outcome = run(&class, &points, &targets, &[]);
    let values: Vec<f64> = outcome.estimates.iter().map(|e| e.value).collect();
    assert_eq!(values, vec![35.0, 60.0, 85.0], "25 Wh per interval: 100 Wh over 4 intervals");
    assert!(outcome.estimates.iter().all(|e| e.quality == QualityFlags::estimated(1, true)));
}

#[test]
fn a_register_read_inside_the_gap_brackets_both_parts() {
    let class = class("UTC", EstimationConfig::default());
    let start = ts("2025-01-06T00:00:00Z");
    let points =
        [SeriesPoint::new(start, 0.0, QualityFlags(0)), SeriesPoint::new(plus(start, 900 * 7), 700.0, QualityFlags(0))];
    let targets: Vec<Timestamp> = (1..7).map(|k| plus(start, 900 * k)).collect();
    // A billing read at 00:45 says 60 Wh had been used by then, not 300.
    let read = [RegisterPoint { read_at: plus(start, 2700), value: 60.0 }];
    let outcome = run(&class, &points, &targets, &read);
    let values: Vec<(Timestamp, f64)> = outcome.estimates.iter().map(|e| (e.interval_end, e.value)).collect();
    assert_eq!(
        values,
        vec![
            (plus(start, 900), 20.0),
            (plus(start, 1800), 40.0),
            (plus(start, 2700), 60.0),
            (plus(start, 3600), 220.0),
            (plus(start, 4500), 380.0),
            (plus(start, 5400), 540.0),
        ]
    );
    // The estimated intervals sum to each register advance: 60 Wh, then 640 Wh.
    assert!(outcome.estimates.iter().all(|e| e.quality.contains(QualityFlags::ESTIMATE_SCALED)));
}

/// Working-day consumption with its peak at `peak_hour`; other hours 10 Wh per interval.
fn day_profile(peak_hour: usize) -> Vec<f64> {
    (0..96).map(|k| if k / 4 == peak_hour { 100.0 } else { 10.0 }).collect()
}

#[test]
fn like_day_averages_the_nearest_working_days_of_actual_reads_without_outages() {
    let class = class("UTC", EstimationConfig { like_days: 3, ..EstimationConfig::default() });
    // Monday 2025-01-06 .. Sunday 2025-01-19; the gap is Wednesday 8 January, all day.
    let start = ts("2025-01-06T00:00:00Z");
    let peaks = [
        8,  // Mon 6
        1,  // Tue 7: an outage day (power failure), excluded
        5,  // Wed 8: the day lost, the truth
        12, // Thu 9: one estimated value, so not all actual reads: excluded
        18, // Fri 10
        3, 3,  // Sat 11, Sun 12: weekend, excluded
        20, // Mon 13
        20, 20, 20, 20, 3, 3,
    ];
    let consumption: Vec<f64> = peaks.iter().flat_map(|&h| day_profile(h)).collect();
    let mut truth = cumulative(start, 50_000.0, &consumption);
    truth[96 + 40].quality = QualityFlags(QualityFlags::POWER_DOWN);
    truth[3 * 96 + 7].quality = QualityFlags::estimated(1, false);
    // Wednesday's ends 00:15 .. 23:45 (its closing midnight value is kept as the bracket).
    let targets: Vec<Timestamp> = truth[2 * 96 + 1..3 * 96].iter().map(|p| p.interval_end).collect();
    let outcome = run(&class, &without(&truth, &targets), &targets, &[]);
    assert!(outcome.skipped.is_empty());
    assert_eq!(outcome.estimates.len(), 95);
    assert!(outcome.estimates.iter().all(|e| e.method == EstimationMethod::LikeDayAverage));

    // Expected shape: the average of Monday 6, Friday and Monday 13 (distances 2, 2, 5:
    // Tuesday is an outage day, Thursday holds an estimate, the weekend at distances 3 and
    // 4 is another day type), scaled to Wednesday's real advance.
    let like: Vec<Vec<f64>> = [8, 18, 20].iter().map(|&h| day_profile(h)).collect();
    let shape: Vec<f64> = (0..96).map(|k| like.iter().map(|d| d[k]).sum::<f64>() / 3.0).collect();
    let advance: f64 = day_profile(5).iter().sum();
    let factor = advance / shape.iter().sum::<f64>();
    let mut value = truth[2 * 96].value;
    for (k, e) in outcome.estimates.iter().enumerate() {
        value += shape[k] * factor;
        assert!(close(e.value, value), "interval {k}: {} vs {value}", e.value);
    }
    // The day total is exact: estimates plus the closing interval equal the advance.
    assert!(close(truth[3 * 96].value - truth[2 * 96].value, advance));
}

#[test]
fn like_day_falls_back_to_interpolation_without_like_days() {
    let class = class("UTC", EstimationConfig { like_day_search_days: 3, ..EstimationConfig::default() });
    let start = ts("2025-01-06T00:00:00Z");
    let truth = cumulative(start, 0.0, &vec![10.0; 96 * 2]);
    // Four hours missing on Monday, no other working day with complete data in reach.
    let targets: Vec<Timestamp> = truth[10..26].iter().map(|p| p.interval_end).collect();
    let points = without(&truth[..100], &targets);
    let outcome = run(&class, &points, &targets, &[]);
    assert_eq!(outcome.estimates.len(), 16);
    assert!(outcome.estimates.iter().all(|e| e.method == EstimationMethod::LinearInterpolation));
}

#[test]
fn like_day_estimation_of_a_25_hour_day_fills_every_missing_utc_interval_once() {
    // Sunday 26 October 2025 in London has 100 intervals; its like days are weekend days.
    let class = class("Europe/London", EstimationConfig::default());
    let start = ts("2025-10-10T23:00:00Z"); // local midnight starting Saturday 11 October
    let day_start = ts("2025-10-25T23:00:00Z");
    let day_end = ts("2025-10-27T00:00:00Z");
    let n = (day_end.as_second() - start.as_second()) / 900 + 96;
    // Consumption follows the local hour, so like days agree on the shape.
    let consumption: Vec<f64> = (1..=n)
        .map(|k| {
            let end = plus(start, 900 * k);
            let hour = end.to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap()).hour();
            5.0 + f64::from(hour)
        })
        .collect();
    let truth = cumulative(start, 0.0, &consumption);
    let targets: Vec<Timestamp> =
        truth.iter().map(|p| p.interval_end).filter(|&t| t > day_start && t < day_end).collect();
    assert_eq!(targets.len(), 99, "100 intervals, the last one closes on the kept midnight value");
    let outcome = run(&class, &without(&truth, &targets), &targets, &[]);
    assert_eq!(outcome.estimates.len(), 99);
    assert!(outcome.estimates.iter().all(|e| e.method == EstimationMethod::LikeDayAverage));
    // The shape matches the local hours, the repeated 01:00 hour included, so after
    // scaling every estimate equals the truth.
    for (e, t) in outcome.estimates.iter().zip(truth.iter().filter(|p| targets.contains(&p.interval_end))) {
        assert_eq!(e.interval_end, t.interval_end);
        assert!(close(e.value, t.value), "{}: {} vs {}", e.interval_end, e.value, t.value);
    }
}

#[test]
fn runs_that_cannot_be_estimated_are_reported_with_the_reason() {
    let class = class("UTC", EstimationConfig::default());
    let start = ts("2025-01-06T00:00:00Z");
    let points =
        [SeriesPoint::new(start, 100.0, QualityFlags(0)), SeriesPoint::new(plus(start, 2700), 50.0, QualityFlags(0))];
    // The register went backwards across the gap.
    let outcome = run(&class, &points, &[plus(start, 900), plus(start, 1800)], &[]);
    assert!(outcome.estimates.is_empty());
    assert_eq!(outcome.skipped.len(), 1);
    assert_eq!(
        (outcome.skipped[0].first, outcome.skipped[0].last, outcome.skipped[0].reason),
        (plus(start, 900), plus(start, 1800), SkipReason::NegativeAdvance)
    );
    // Nothing after the gap: data may still arrive.
    let outcome = run(&class, &points[..1], &[plus(start, 900)], &[]);
    assert_eq!(outcome.skipped[0].reason, SkipReason::NoValueAfter);
    let outcome = run(&class, &points[1..], &[plus(start, 1800)], &[]);
    assert_eq!(outcome.skipped[0].reason, SkipReason::NoValueBefore);
    // Longer than allowed.
    let input = EstimationInput {
        reading_type: AP,
        points: &points,
        targets: &[plus(start, 900), plus(start, 1800)],
        registers: &[],
        max_gap_s: Some(900),
    };
    assert_eq!(estimate(&input, &class).unwrap().skipped[0].reason, SkipReason::TooLong);
    // Voltages are not estimated.
    let input = EstimationInput { reading_type: ReadingType::VoltageL1, max_gap_s: None, ..input };
    assert_eq!(estimate(&input, &class).unwrap().skipped[0].reason, SkipReason::NotCumulative);
}

#[test]
fn a_rejected_value_is_replaced_from_its_neighbours() {
    // A transmission glitch: one bulk value 5000 Wh too high. Estimating that end treats
    // the stored value as missing.
    let class = class("UTC", EstimationConfig::default());
    let start = ts("2025-01-06T00:00:00Z");
    let mut points = cumulative(start, 0.0, &[10.0; 6]);
    points[3].value += 5000.0;
    let outcome = run(&class, &points, &[points[3].interval_end], &[]);
    assert_eq!(outcome.estimates.len(), 1);
    assert!(close(outcome.estimates[0].value, 30.0));
}
