//! Each validation rule on hand-built series: a passing and a failing case, plus the DST
//! days of Europe/London (23- and 25-hour local days) for the rules that work per day.

mod vee_support;

use mdms::vee::{
    CompiledClass, Delivery, Finding, RegisterPoint, RuleConfig, RuleId, SeriesPoint, StatusFlag, ValidationInput,
    VeeConfig, validate,
};
use model::{QualityFlags, ReadingType};
use vee_support::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn run_on(class: &CompiledClass, rt: ReadingType, points: &[SeriesPoint], registers: &[RegisterPoint]) -> Vec<Finding> {
    let input = ValidationInput {
        reading_type: rt,
        points,
        window_from: points.first().expect("points").interval_end,
        window_to: points.last().expect("points").interval_end,
        registers,
        midnight_history: &[],
    };
    validate(&input, class).expect("validation runs")
}

fn run(class: &CompiledClass, points: &[SeriesPoint]) -> Vec<Finding> {
    run_on(class, AP, points, &[])
}

fn flat(n: usize, c: f64) -> Vec<f64> {
    vec![c; n]
}

#[test]
fn missing_intervals_are_every_grid_end_between_two_values() {
    let class = class_with("UTC", vec![RuleConfig::MissingInterval]);
    let start = ts("2025-01-06T00:00:00Z");
    let full = cumulative(start, 1000.0, &flat(12, 10.0));
    assert!(run(&class, &full).is_empty());

    // Drop 01:00 and 01:15 (ends 4 and 5).
    let gappy: Vec<_> = full.iter().enumerate().filter(|(k, _)| *k != 4 && *k != 5).map(|(_, p)| p.clone()).collect();
    let findings = run(&class, &gappy);
    assert_eq!(
        keys(&findings),
        vec![
            (RuleId::MissingInterval, ts("2025-01-06T01:00:00Z"), 0),
            (RuleId::MissingInterval, ts("2025-01-06T01:15:00Z"), 0)
        ]
    );
    assert!(findings.iter().all(|f| f.measured == Some(2.0)));
}

#[test]
fn a_gap_next_to_an_off_grid_value_reports_grid_ends_only() {
    let class = class_with("UTC", vec![RuleConfig::MissingInterval]);
    let a = SeriesPoint::new(ts("2025-01-06T00:07:00Z"), 1.0, QualityFlags(0));
    let b = SeriesPoint::new(ts("2025-01-06T00:45:00Z"), 2.0, QualityFlags(0));
    let findings = run(&class, &[a, b]);
    assert_eq!(
        keys(&findings),
        vec![
            (RuleId::MissingInterval, ts("2025-01-06T00:15:00Z"), 0),
            (RuleId::MissingInterval, ts("2025-01-06T00:30:00Z"), 0)
        ]
    );
}

#[test]
fn conflicting_deliveries_are_duplicates() {
    let class = class_with("UTC", vec![RuleConfig::DuplicateInterval]);
    let mut points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &flat(4, 5.0));
    assert!(run(&class, &points).is_empty());
    points[2].conflicting_deliveries = true;
    points[2].version = 2;
    assert_eq!(keys(&run(&class, &points)), vec![(RuleId::DuplicateInterval, ts("2025-01-06T00:30:00Z"), 2)]);
}

#[test]
fn interval_length_checks_the_reported_period_and_the_local_grid() {
    let class = class_with("UTC", vec![RuleConfig::IntervalLength]);
    let mut points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &flat(3, 5.0));
    for p in &mut points {
        p.delivery = Some(Delivery { clock_drift_ms: Some(0), interval_length_s: 900 });
    }
    assert!(run(&class, &points).is_empty());
    points[1].delivery = Some(Delivery { clock_drift_ms: Some(0), interval_length_s: 1800 });
    points.push(SeriesPoint::new(ts("2025-01-06T01:07:00Z"), 20.0, QualityFlags(0)));
    let findings = run(&class, &points);
    assert_eq!(
        keys(&findings),
        vec![
            (RuleId::IntervalLength, ts("2025-01-06T00:15:00Z"), 1),
            (RuleId::IntervalLength, ts("2025-01-06T01:07:00Z"), 1)
        ]
    );
    assert_eq!((findings[0].measured, findings[0].limit), (Some(1800.0), Some(900.0)));
    assert_eq!(findings[1].measured, Some(420.0));

    // Hourly intervals in India (UTC+05:30) end at local whole hours: xx:30 UTC.
    let mut kolkata = MeterClassBuilder::hourly("Asia/Kolkata");
    kolkata.rules = vec![mdms::vee::RuleSpec::new(RuleConfig::IntervalLength)];
    let kolkata = class_from(kolkata);
    let on_grid = SeriesPoint::new(ts("2025-01-06T00:30:00Z"), 1.0, QualityFlags(0));
    let off_grid = SeriesPoint::new(ts("2025-01-06T02:00:00Z"), 2.0, QualityFlags(0));
    let findings = run(&kolkata, &[on_grid, off_grid]);
    assert_eq!(keys(&findings), vec![(RuleId::IntervalLength, ts("2025-01-06T02:00:00Z"), 1)]);
    assert_eq!(findings[0].measured, Some(1800.0));
}

/// Shorthand for classes with another interval length.
struct MeterClassBuilder;

impl MeterClassBuilder {
    fn hourly(tz: &str) -> mdms::vee::MeterClass {
        mdms::vee::MeterClass { interval_length_s: 3600, time_zone: tz.into(), ..Default::default() }
    }
}

#[test]
fn time_tolerance_flags_values_collected_with_a_bad_clock() {
    let class = class_with("UTC", vec![RuleConfig::TimeTolerance { max_clock_error_s: 120 }]);
    let mut points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &flat(3, 5.0));
    let with_drift = |ms| Some(Delivery { clock_drift_ms: Some(ms), interval_length_s: 900 });
    points[0].delivery = with_drift(120_000);
    points[1].delivery = with_drift(120_001);
    points[2].delivery = with_drift(-150_000);
    points[3].delivery = Some(Delivery { clock_drift_ms: None, interval_length_s: 900 });
    let findings = run(&class, &points);
    assert_eq!(
        keys(&findings),
        vec![
            (RuleId::TimeTolerance, ts("2025-01-06T00:15:00Z"), 1),
            (RuleId::TimeTolerance, ts("2025-01-06T00:30:00Z"), 1)
        ]
    );
    assert_eq!(findings[0].measured, Some(120.001));
    assert_eq!((findings[1].measured, findings[1].limit), (Some(-150.0), Some(120.0)));
}

#[test]
fn zero_consumption_is_flagged_only_when_long_and_unexplained() {
    let class = class_with("UTC", vec![RuleConfig::ZeroConsumption { min_duration_s: 3600 }]);
    let start = ts("2025-01-06T00:00:00Z");
    // Four zero intervals (one hour) between active ones.
    let consumption = [10.0, 0.0, 0.0, 0.0, 0.0, 10.0];
    let findings = run(&class, &cumulative(start, 500.0, &consumption));
    let ends: Vec<_> = (2..=5).map(|k| (RuleId::ZeroConsumption, plus(start, 900 * k), 1)).collect();
    assert_eq!(keys(&findings), ends);
    assert!(findings.iter().all(|f| f.measured == Some(3600.0) && f.limit == Some(3600.0)));

    // Three zero intervals: shorter than the minimum.
    assert!(run(&class, &cumulative(start, 500.0, &[10.0, 0.0, 0.0, 0.0, 10.0])).is_empty());

    // The meter reported a power failure on the interval that ends the run: an outage.
    let mut outage = cumulative(start, 500.0, &consumption);
    outage[6].quality = QualityFlags(QualityFlags::POWER_DOWN);
    assert!(run(&class, &outage).is_empty());
    // ... or the relay was open inside the run.
    let mut disconnected = cumulative(start, 500.0, &consumption);
    disconnected[3].quality = QualityFlags(QualityFlags::SUPPLY_DISCONNECTED);
    assert!(run(&class, &disconnected).is_empty());
}

#[test]
fn negative_consumption_and_register_rollover() {
    let class = class_with(
        "UTC",
        vec![
            RuleConfig::NegativeConsumption { tolerance: 0.001 },
            RuleConfig::RegisterRollover { register_max: 1_000_000.0, margin_percent: 10.0 },
        ],
    );
    let start = ts("2025-01-06T00:00:00Z");
    let findings = run(&class, &cumulative(start, 500.0, &[10.0, -5.0, -0.0005, 10.0]));
    assert_eq!(keys(&findings), vec![(RuleId::NegativeConsumption, plus(start, 1800), 1)]);
    assert_eq!(findings[0].measured, Some(-5.0));

    // 999 990 -> 10 is a wrap of a 10^6 register, not a decrease.
    let mut wrap = cumulative(start, 999_980.0, &[10.0]);
    wrap.push(SeriesPoint::new(plus(start, 1800), 10.0, QualityFlags(0)));
    let findings = run(&class, &wrap);
    assert_eq!(keys(&findings), vec![(RuleId::RegisterRollover, plus(start, 1800), 1)]);
    assert_eq!((findings[0].measured, findings[0].limit), (Some(10.0), Some(1_000_000.0)));

    // A drop to a small value from a small value is not a rollover.
    let mut reset = cumulative(start, 5_000.0, &[10.0]);
    reset.push(SeriesPoint::new(plus(start, 1800), 10.0, QualityFlags(0)));
    assert_eq!(keys(&run(&class, &reset)), vec![(RuleId::NegativeConsumption, plus(start, 1800), 1)]);
}

#[test]
fn meter_advance_is_bounded_by_the_maximum_demand() {
    // 4 kW: at most 1000 Wh per 15 minutes.
    let class = class_with("UTC", vec![RuleConfig::MeterAdvance { max_demand_w: 4000.0 }]);
    let start = ts("2025-01-06T00:00:00Z");
    let findings = run(&class, &cumulative(start, 0.0, &[900.0, 1000.0, 1200.0]));
    assert_eq!(keys(&findings), vec![(RuleId::MeterAdvance, plus(start, 2700), 1)]);
    assert_eq!((findings[0].measured, findings[0].limit), (Some(1200.0), Some(1000.0)));
    // Across a gap of three intervals the bound is three intervals' worth.
    let across = [
        SeriesPoint::new(start, 0.0, QualityFlags(0)),
        SeriesPoint::new(plus(start, 2700), 2900.0, QualityFlags(0)),
        SeriesPoint::new(plus(start, 5400), 6100.0, QualityFlags(0)),
    ];
    let findings = run(&class, &across);
    assert_eq!(keys(&findings), vec![(RuleId::MeterAdvance, plus(start, 5400), 1)]);
    assert_eq!(findings[0].limit, Some(3000.0));
}

#[test]
fn spike_compares_the_highest_interval_with_the_third_highest_of_the_day() {
    let class = class_with("UTC", vec![RuleConfig::Spike { threshold_percent: 400.0, min_peak: 50.0 }]);
    let start = ts("2025-01-06T00:00:00Z");
    let mut day = flat(96, 10.0);
    day[40] = 12.0;
    day[41] = 11.0;
    day[60] = 100.0;
    // 100 > 11 * (1 + 400 %) = 55.
    let findings = run(&class, &cumulative(start, 0.0, &day));
    assert_eq!(keys(&findings), vec![(RuleId::Spike, plus(start, 900 * 61), 1)]);
    assert_eq!((findings[0].measured, findings[0].limit), (Some(100.0), Some(55.0)));

    day[60] = 50.0;
    assert!(run(&class, &cumulative(start, 0.0, &day)).is_empty());

    // Below min_peak nothing is a spike, however sharp.
    let mut quiet = flat(96, 1.0);
    quiet[10] = 40.0;
    assert!(run(&class, &cumulative(start, 0.0, &quiet)).is_empty());
}

#[test]
fn spike_uses_local_days_around_the_spring_dst_change() {
    // London, 30 March 2025: 23 hours, 00:00Z to 23:00Z. 31 March starts at 23:00Z.
    let class = class_with("Europe/London", vec![RuleConfig::Spike { threshold_percent: 400.0, min_peak: 50.0 }]);
    let start = ts("2025-03-30T00:00:00Z");
    let mut consumption = flat(92 + 96, 10.0);
    consumption[90] = 200.0; // ends 22:45Z, in the 23-hour day
    consumption[93] = 100.0; // ends 23:30Z: 00:30 BST on 31 March
    let findings = run(&class, &cumulative(start, 0.0, &consumption));
    // Per UTC day both would be in 30 March and only the 200 would be a spike.
    assert_eq!(
        keys(&findings),
        vec![(RuleId::Spike, ts("2025-03-30T22:45:00Z"), 1), (RuleId::Spike, ts("2025-03-30T23:30:00Z"), 1)]
    );
}

/// `days` local days of `per_interval` Wh per 15 minutes in London from `start` (a local
/// midnight), then `last_day` Wh per interval for the day after.
fn daily_series(start: jiff::Timestamp, days: usize, per_interval: f64, last_day: &[f64]) -> Vec<SeriesPoint> {
    let mut consumption = flat(days * 96, per_interval);
    consumption.extend_from_slice(last_day);
    cumulative(start, 10_000.0, &consumption)
}

fn validate_last_day(class: &CompiledClass, points: &[SeriesPoint], day_intervals: usize) -> Vec<Finding> {
    let first = &points[points.len() - day_intervals];
    let input = ValidationInput {
        reading_type: AP,
        points,
        window_from: first.interval_end,
        window_to: points[points.len() - 1].interval_end,
        registers: &[],
        midnight_history: &[],
    };
    validate(&input, class).unwrap()
}

#[test]
fn high_low_usage_against_the_meters_own_history() {
    let rule =
        RuleConfig::HighLowUsage { history_days: 10, min_history_days: 5, high_percent: 300.0, low_percent: 20.0 };
    let class = class_with("UTC", vec![rule]);
    let start = ts("2025-01-01T00:00:00Z");
    // Ten days of 10 Wh per interval (960 Wh per day), then the day under test.
    let high = daily_series(start, 10, 10.0, &flat(96, 31.0));
    let findings = validate_last_day(&class, &high, 96);
    assert_eq!(findings.len(), 96, "every value of the day is flagged");
    assert!(findings.iter().all(|f| f.rule == RuleId::HighLowUsage));
    assert_eq!((findings[0].measured, findings[0].limit), (Some(2976.0), Some(2880.0)));
    assert_eq!(findings[0].interval_end, ts("2025-01-11T00:15:00Z"));

    assert!(validate_last_day(&class, &daily_series(start, 10, 10.0, &flat(96, 29.0)), 96).is_empty());

    let low = daily_series(start, 10, 10.0, &flat(96, 1.0));
    let findings = validate_last_day(&class, &low, 96);
    assert_eq!(findings.len(), 96);
    assert_eq!(findings[0].limit, Some(192.0));

    // The same low day with a reported power failure is an outage, not a finding.
    let mut outage = daily_series(start, 10, 10.0, &flat(96, 1.0));
    let n = outage.len();
    outage[n - 50].quality = QualityFlags(QualityFlags::POWER_DOWN);
    assert!(validate_last_day(&class, &outage, 96).is_empty());

    // Too little history: no check.
    assert!(validate_last_day(&class, &daily_series(start, 4, 10.0, &flat(96, 100.0)), 96).is_empty());
}

#[test]
fn high_low_usage_compares_25_hour_days_per_24_hours() {
    // A tight 103 % bound: the 25-hour day (26 October 2025) uses 100/96 of a normal
    // day's energy at the same rate, which must not count as high usage.
    let rule =
        RuleConfig::HighLowUsage { history_days: 7, min_history_days: 7, high_percent: 103.0, low_percent: 97.0 };
    let class = class_with("Europe/London", vec![rule]);
    let start = ts("2025-10-18T23:00:00Z"); // local midnight starting 19 October (BST)
    let points = daily_series(start, 7, 10.0, &flat(100, 10.0));
    assert_eq!(points.last().unwrap().interval_end, ts("2025-10-27T00:00:00Z"));
    assert!(validate_last_day(&class, &points, 100).is_empty());
    // 10 % more per interval is high, whatever the day's length.
    let points = daily_series(start, 7, 10.0, &flat(100, 11.0));
    assert_eq!(validate_last_day(&class, &points, 100).len(), 100);
}

#[test]
fn sum_check_compares_interval_and_register_advances() {
    let rule = RuleConfig::SumCheck { tolerance_percent: 1.0, tolerance_abs: 10.0 };
    let class = class_with("UTC", vec![rule]);
    let start = ts("2025-01-06T00:00:00Z");
    let points = cumulative(start, 1000.0, &flat(8, 100.0)); // 1000 .. 1800 at 02:00
    let reads = |a: f64, b: f64| {
        [RegisterPoint { read_at: start, value: a }, RegisterPoint { read_at: plus(start, 7200), value: b }]
    };
    assert!(run_on(&class, AP, &points, &reads(5000.0, 5800.0)).is_empty());
    // Within max(1 % of 800, 10) = 10.
    assert!(run_on(&class, AP, &points, &reads(5000.0, 5809.0)).is_empty());
    let findings = run_on(&class, AP, &points, &reads(5000.0, 6300.0));
    assert_eq!(findings.len(), 8, "every interval between the reads");
    assert!(findings.iter().all(|f| f.rule == RuleId::SumCheck));
    assert_eq!((findings[0].measured, findings[0].limit), (Some(800.0), Some(1300.0)));
    assert_eq!(findings[0].interval_end, plus(start, 900));

    // A read 5 minutes after the last interval end: the channel is extrapolated at the last
    // interval's rate (100 Wh / 15 min), so a register 33.3 Wh ahead matches.
    let late =
        [RegisterPoint { read_at: start, value: 5000.0 }, RegisterPoint { read_at: plus(start, 7500), value: 5833.3 }];
    assert!(run_on(&class, AP, &points, &late).is_empty());
    let wrong =
        [RegisterPoint { read_at: start, value: 5000.0 }, RegisterPoint { read_at: plus(start, 7500), value: 6000.0 }];
    assert!(!run_on(&class, AP, &points, &wrong).is_empty());
}

#[test]
fn status_flags_from_the_meter() {
    let class = class_with("UTC", vec![RuleConfig::StatusFlags { flags: StatusFlag::ALL.to_vec() }]);
    let mut points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &flat(4, 5.0));
    points[1].quality = QualityFlags(QualityFlags::DAYLIGHT_SAVING);
    assert!(run(&class, &points).is_empty(), "daylight saving is not a defect");
    points[2].quality = QualityFlags(QualityFlags::TAMPER | QualityFlags::DAYLIGHT_SAVING);
    points[3].quality = QualityFlags(QualityFlags::WATCHDOG | QualityFlags::CLOCK_ADJUSTED);
    let findings = run(&class, &points);
    assert_eq!(
        keys(&findings).iter().map(|k| k.1).collect::<Vec<_>>(),
        vec![points[2].interval_end, points[3].interval_end]
    );
    assert_eq!(findings[0].measured, Some(f64::from(QualityFlags::TAMPER)));

    let only_power = class_with("UTC", vec![RuleConfig::StatusFlags { flags: vec![StatusFlag::PowerDown] }]);
    assert!(run(&only_power, &points).is_empty());
}

#[test]
fn reverse_flow_runs_on_the_export_channel() {
    let class = class_with("UTC", vec![RuleConfig::ReverseFlow { min_export: 1.0 }]);
    let points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &[0.0, 0.5, 5.0]);
    let findings = run_on(&class, ReadingType::ActiveEnergyExport, &points, &[]);
    assert_eq!(keys(&findings), vec![(RuleId::ReverseFlow, ts("2025-01-06T00:45:00Z"), 1)]);
    assert!(run_on(&class, AP, &points, &[]).is_empty(), "import channel: not applicable");
}

#[test]
fn dst_days_raise_nothing_with_the_standard_rules() {
    // Clean data across both 2025 changes in London: no false gap, duplicate, spike or
    // high/low finding. 30 March has 92 intervals, 26 October 100.
    let mut config = VeeConfig::default();
    config.classes.get_mut("default").unwrap().time_zone = "Europe/London".into();
    let class = config.compile().unwrap().class_for(&model::MeterId::from("m")).clone();
    for (start, days) in [("2025-03-20T00:00:00Z", 15), ("2025-10-16T23:00:00Z", 15)] {
        let start = ts(start);
        let consumption: Vec<f64> = (0..days * 96).map(|k| 20.0 + (k % 96) as f64).collect();
        let points = cumulative(start, 0.0, &consumption);
        assert!(run(&class, &points).is_empty(), "from {start}");
    }
}

#[test]
fn instantaneous_channels_get_only_the_rules_that_apply() {
    let class = VeeConfig::default().compile().unwrap().class_for(&model::MeterId::from("m")).clone();
    // Voltages go up and down: no consumption rule may judge them.
    let start = ts("2025-01-06T00:00:00Z");
    let volts: Vec<SeriesPoint> = (0..8)
        .map(|k| SeriesPoint::new(plus(start, 900 * k), if k % 2 == 0 { 230.0 } else { 228.0 }, QualityFlags(0)))
        .collect();
    assert!(run_on(&class, ReadingType::VoltageL1, &volts, &[]).is_empty());
    let gappy: Vec<_> = volts.iter().enumerate().filter(|(k, _)| *k != 3).map(|(_, p)| p.clone()).collect();
    assert_eq!(
        keys(&run_on(&class, ReadingType::VoltageL1, &gappy, &[])),
        vec![(RuleId::MissingInterval, plus(start, 2700), 0)]
    );
}

#[test]
fn unordered_points_are_sorted_before_validation() {
    let class =
        class_with("UTC", vec![RuleConfig::MissingInterval, RuleConfig::NegativeConsumption { tolerance: 0.0 }]);
    let mut points = cumulative(ts("2025-01-06T00:00:00Z"), 0.0, &flat(4, 5.0));
    points.reverse();
    assert!(run_on(&class, AP, &points, &[]).is_empty());
}

#[test]
fn configuration_loads_from_json_with_defaults_for_omitted_parameters() {
    let json = r#"{
        "default_class": "household",
        "classes": {
            "household": {
                "time_zone": "Europe/London",
                "rules": [
                    { "rule": "missing_interval" },
                    { "rule": "spike", "threshold_percent": 250.0 },
                    { "rule": "zero_consumption", "reading_types": ["active_energy_import", "active_energy_export"] },
                    { "rule": "status_flags", "flags": ["power_down", "tamper"] }
                ],
                "estimation": { "auto": true, "like_days": 4 }
            },
            "prosumer": { "rules": [ { "rule": "reverse_flow", "min_export": 5.0 } ] }
        },
        "meters": { "SIM000007": "prosumer" }
    }"#;
    let config: VeeConfig = serde_json::from_str(json).expect("valid VEE configuration");
    let household = &config.classes["household"];
    assert!(config.enabled, "enabled defaults to true");
    assert_eq!(household.interval_length_s, 900);
    assert_eq!(household.rules[1].rule, RuleConfig::Spike { threshold_percent: 250.0, min_peak: 50.0 });
    assert_eq!(household.rules[2].rule, RuleConfig::ZeroConsumption { min_duration_s: 14_400 });
    assert!(household.rules[2].applies_to(ReadingType::ActiveEnergyExport));
    assert_eq!(
        household.rules[3].rule,
        RuleConfig::StatusFlags { flags: vec![StatusFlag::PowerDown, StatusFlag::Tamper] }
    );
    assert!(household.estimation.auto);
    assert_eq!((household.estimation.like_days, household.estimation.max_interpolation_s), (4, 7200));
    let compiled = config.compile().unwrap();
    assert_eq!(compiled.class_for(&model::MeterId::from("SIM000007")).name, "prosumer");
    assert_eq!(compiled.class_for(&model::MeterId::from("SIM000001")).name, "household");

    // Round trip through JSON.
    let text = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<VeeConfig>(&text).unwrap(), config);
    // An unknown rule name is an error, not a silently skipped rule.
    assert!(serde_json::from_str::<VeeConfig>(r#"{"classes":{"x":{"rules":[{"rule":"gap"}]}}}"#).is_err());
}
