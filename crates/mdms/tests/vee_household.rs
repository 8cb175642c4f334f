//! VEE on a real series: one UK household's hourly consumption (2020-04-01 to 2022-12-06,
//! /work/shared/testdata/loads, OpenEEmeter sample, Apache-2.0), spread evenly over
//! 15-minute intervals and accumulated into a bulk register, ingested day by day with the
//! standard rules in Europe/London and automatic estimation. Injected: short gaps (one
//! across the spring DST change), a lost 25-hour DST day, conflicting duplicates, a
//! consumption spike, a register glitch, a meter clock jumping one hour ahead and a
//! power-down status. Each must be caught by its rule and, where specified, estimated; the
//! real data's own anomalies (three 23-hour runs of zero consumption) are caught too, and
//! nothing else is.

mod vee_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use mdms::estimation::EstimationMethod;
use mdms::vee::{ExceptionFilter, RuleId, VeeConfig, interval_consumption};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};
use vee_support::{plus, ts};

const AP: ReadingType = ReadingType::ActiveEnergyImport;
const Q: i64 = 900;

/// (hour start, Wh) of every hour of the sample.
fn household_hours() -> Vec<(Timestamp, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz");
    let out = Command::new("gzip").arg("-dc").arg(&path).output().expect("gzip runs");
    assert!(out.status.success(), "gzip -dc {} failed", path.display());
    let text = String::from_utf8(out.stdout).expect("UTF-8 CSV");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("start,value"));
    lines
        .map(|line| {
            let (start, kwh) = line.split_once(',').expect("two columns");
            let start: Timestamp = start.replacen(' ', "T", 1).parse().expect("ISO 8601 start");
            let kwh: f64 = kwh.parse().expect("kWh value");
            (start, (kwh * 1000.0).round())
        })
        .collect()
}

/// The true bulk register: its value at the first hour's start, then at every quarter-hour
/// end (each hour's energy spread evenly over its four intervals).
fn bulk_series(hours: &[(Timestamp, f64)]) -> BTreeMap<Timestamp, f64> {
    let mut value = 5_000_000.0;
    let mut out = BTreeMap::from([(hours[0].0, value)]);
    for &(start, wh) in hours {
        for q in 1..=4 {
            value += wh / 4.0;
            out.insert(plus(start, Q * q), value);
        }
    }
    out
}

fn ends_between(from: &str, to: &str) -> Vec<Timestamp> {
    let (mut t, to) = (ts(from), ts(to));
    let mut out = Vec::new();
    while t <= to {
        out.push(t);
        t = plus(t, Q);
    }
    out
}

fn consumption_at(series: &BTreeMap<Timestamp, f64>, end: Timestamp) -> f64 {
    series[&end] - series[&plus(end, -Q)]
}

struct Injected {
    short_gap: Vec<Timestamp>,
    dst_day_gap: Vec<Timestamp>,
    spring_gap: Vec<Timestamp>,
    duplicates: Vec<Timestamp>,
    spike: Timestamp,
    glitch: Timestamp,
    jump_gap: Vec<Timestamp>,
    jump_day: jiff::civil::Date,
    power_down: Timestamp,
}

#[test]
fn vee_catches_and_estimates_injected_anomalies_in_a_real_household_series() {
    let hours = household_hours();
    assert_eq!(hours.len(), 23_508);
    let mut truth = bulk_series(&hours);
    let london = TimeZone::get("Europe/London").unwrap();

    let inj = Injected {
        // Wednesday 9 June 2021, 10:15Z..11:30Z: 1.5 h, interpolated.
        short_gap: ends_between("2021-06-09T10:15:00Z", "2021-06-09T11:30:00Z"),
        // Sunday 31 October 2021, the 25-hour day: every interval but the one closing on the
        // kept midnight value, estimated from like days.
        dst_day_gap: ends_between("2021-10-30T23:15:00Z", "2021-10-31T23:45:00Z"),
        // Sunday 27 March 2022, around 01:00Z when London springs forward: 1 h.
        spring_gap: ends_between("2022-03-27T00:45:00Z", "2022-03-27T01:30:00Z"),
        // Wednesday 3 February 2021: three intervals delivered twice, the second time 2 Wh higher.
        duplicates: ends_between("2021-02-03T12:15:00Z", "2021-02-03T12:45:00Z"),
        // Wednesday 18 August 2021: 3 kWh more in one interval (real energy: the register
        // keeps it).
        spike: ts("2021-08-18T19:00:00Z"),
        // Wednesday 11 May 2022: one bulk value 5 kWh too high (a transmission glitch).
        glitch: ts("2022-05-11T09:00:00Z"),
        // Wednesday 14 September 2022: the meter clock jumps one hour ahead after 14:00Z.
        jump_gap: ends_between("2022-09-14T14:15:00Z", "2022-09-14T15:00:00Z"),
        jump_day: date(2022, 9, 14),
        power_down: ts("2020-12-02T08:00:00Z"),
    };
    // Real energy for the spike: every later bulk value moves up.
    for (_, v) in truth.range_mut(inj.spike..) {
        *v += 3000.0;
    }
    for &t in &inj.duplicates {
        assert!(consumption_at(&truth, plus(t, Q)) >= 2.0, "the +2 Wh duplicate keeps consumption positive");
    }

    // Daily MeterReadings (UTC days), as a daily HES collection delivers them.
    let mut days: BTreeMap<jiff::civil::Date, Vec<IntervalReading>> = BTreeMap::new();
    // (The clock jump's gap is not dropped: it appears because later values are stamped late.)
    let dropped: BTreeSet<Timestamp> =
        inj.short_gap.iter().chain(&inj.dst_day_gap).chain(&inj.spring_gap).copied().collect();
    let jump_start = ts("2022-09-14T14:00:00Z");
    let jump_end = ts("2022-09-15T00:00:00Z");
    for (&end, &value) in &truth {
        if dropped.contains(&end) {
            continue;
        }
        let mut quality = QualityFlags(0);
        if end == inj.power_down {
            quality = QualityFlags(QualityFlags::POWER_DOWN);
        }
        let value = if end == inj.glitch { value + 5000.0 } else { value };
        // After the jump the meter stamps each value one hour late.
        let stamped = if end > jump_start && end <= jump_end { plus(end, 3600) } else { end };
        let day = plus(end, -1).to_zoned(TimeZone::UTC).date();
        let list = days.entry(day).or_default();
        list.push(IntervalReading { reading_type: AP, interval_end: stamped, value, quality });
        if inj.duplicates.contains(&end) {
            list.push(IntervalReading { reading_type: AP, interval_end: end, value: value + 2.0, quality });
        }
    }

    let mut config = VeeConfig::default();
    let class = config.classes.get_mut("default").unwrap();
    class.time_zone = "Europe/London".into();
    class.estimation.auto = true;
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.set_vee_config(&config).unwrap();
    let meter = MeterId::from("UK-HOUSEHOLD-0");
    let mut estimated = 0;
    for (day, intervals) in days {
        let collected_at = plus(day.tomorrow().unwrap().to_zoned(TimeZone::UTC).unwrap().timestamp(), 300);
        let drift = if day == inj.jump_day { 3_600_000 } else { 0 };
        let reading = MeterReading {
            meter: meter.clone(),
            collected_at,
            clock_drift_ms: Some(drift),
            interval_length_s: 900,
            registers: vec![],
            intervals,
        };
        estimated += store.ingest_validated(&reading, "hes").unwrap().validation.intervals_estimated;
    }

    // Estimated on ingest: the four gaps, each by its method, and nothing else.
    let all = store.interval_readings(&meter, AP, ts("2020-01-01T00:00:00Z"), ts("2023-01-01T00:00:00Z")).unwrap();
    let by_method = |m: EstimationMethod| -> Vec<Timestamp> {
        all.iter().filter(|s| s.quality.estimation_method() == Some(m.code())).map(|s| s.interval_end).collect()
    };
    let mut interpolated = inj.short_gap.clone();
    interpolated.extend(&inj.spring_gap);
    interpolated.extend(&inj.jump_gap);
    interpolated.sort();
    assert_eq!(by_method(EstimationMethod::LinearInterpolation), interpolated);
    assert_eq!(by_method(EstimationMethod::LikeDayAverage), inj.dst_day_gap);
    assert_eq!(inj.dst_day_gap.len(), 99, "a 25-hour day has 100 intervals");
    assert_eq!(estimated, (interpolated.len() + inj.dst_day_gap.len()) as u64);
    assert!(all.iter().filter(|s| s.source == "estimation").all(|s| s.version == 1));

    // No double counting on the lost DST day: its consumption is the true 25 hours'.
    let tz = &london;
    let daily = store.daily_consumption(&meter, AP, date(2021, 10, 31), date(2021, 10, 31), tz).unwrap();
    let true_day: f64 = hours
        .iter()
        .filter(|(s, _)| *s >= ts("2021-10-30T23:00:00Z") && *s < ts("2021-11-01T00:00:00Z"))
        .map(|h| h.1)
        .sum();
    assert_eq!(daily[0].day_length_s(), 90_000);
    assert_eq!(daily[0].consumption, Some(true_day));
    let day_values =
        store.interval_readings(&meter, AP, ts("2021-10-30T23:00:00Z"), ts("2021-11-01T00:00:01Z")).unwrap();
    let parts = interval_consumption(AP, &day_values);
    assert_eq!(parts.len(), 100);
    assert!(parts.iter().all(|c| c.covered_s == Q && c.consumption >= 0.0));
    assert!((parts.iter().map(|c| c.consumption).sum::<f64>() - true_day).abs() < 1e-6);
    // Around the spring change the interpolated hour keeps the day's total exact too.
    let spring = store.daily_consumption(&meter, AP, date(2022, 3, 27), date(2022, 3, 27), tz).unwrap();
    let true_spring: f64 = hours
        .iter()
        .filter(|(s, _)| *s >= ts("2022-03-27T00:00:00Z") && *s < ts("2022-03-27T23:00:00Z"))
        .map(|h| h.1)
        .sum();
    assert_eq!((spring[0].day_length_s(), spring[0].consumption), (82_800, Some(true_spring)));

    // The register glitch is fixed by a manual estimation of the one value.
    let glitch_queue = |store: &SqliteStore| {
        let f =
            ExceptionFilter { from: Some(inj.glitch), to: Some(plus(inj.glitch, Q + 1)), ..ExceptionFilter::default() };
        store.vee_exceptions(&f).unwrap().iter().map(|e| (e.rule, e.first_interval_end)).collect::<Vec<_>>()
    };
    assert_eq!(
        glitch_queue(&store),
        vec![(RuleId::NegativeConsumption, plus(inj.glitch, Q)), (RuleId::Spike, inj.glitch)]
    );
    let fixed = store.estimate_range(&meter, AP, inj.glitch, plus(inj.glitch, 1), "ops", "register glitch").unwrap();
    assert_eq!(fixed.estimated.len(), 1);
    let (before, after) = (truth[&plus(inj.glitch, -Q)], truth[&plus(inj.glitch, Q)]);
    assert!(fixed.estimated[0].value > before && fixed.estimated[0].value < after);
    assert!(glitch_queue(&store).is_empty());

    // What is left in the queue: exactly the injected anomalies that need a person, and the
    // real data's three 23-hour runs of zero consumption.
    let queue: Vec<(RuleId, Timestamp, Timestamp, u32)> = store
        .vee_exceptions(&ExceptionFilter::default())
        .unwrap()
        .iter()
        .map(|e| (e.rule, e.first_interval_end, e.last_interval_end, e.intervals))
        .collect();
    let mut expected = vec![
        (RuleId::DuplicateInterval, inj.duplicates[0], inj.duplicates[2], 3),
        // The next day's session re-delivers the hour the jumped clock had stamped into it.
        (RuleId::DuplicateInterval, ts("2022-09-15T00:15:00Z"), ts("2022-09-15T01:00:00Z"), 4),
        (RuleId::Spike, inj.spike, inj.spike, 1),
        (RuleId::StatusFlags, inj.power_down, inj.power_down, 1),
        // Every value the drifted session delivered and that is still the latest.
        (RuleId::TimeTolerance, ts("2022-09-14T00:15:00Z"), jump_start, 56),
        (RuleId::TimeTolerance, ts("2022-09-14T15:15:00Z"), jump_end, 36),
    ];
    for (first, last) in zero_runs(&hours) {
        let n = ((last.as_second() - first.as_second()) / Q + 1) as u32;
        expected.push((RuleId::ZeroConsumption, first, last, n));
    }
    assert_eq!(expected.iter().filter(|e| e.0 == RuleId::ZeroConsumption).count(), 3);
    expected.sort_by_key(|e| (e.0, e.1));
    assert_eq!(queue, expected);
}

/// Quarter-hour ends of each run of at least four zero hours in the source (oracle for the
/// zero-consumption rule's default four-hour minimum).
fn zero_runs(hours: &[(Timestamp, f64)]) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hours.len() {
        if hours[i].1 != 0.0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < hours.len() && hours[i].1 == 0.0 {
            i += 1;
        }
        if i - start >= 4 {
            out.push((plus(hours[start].0, Q), plus(hours[i - 1].0, 4 * Q)));
        }
    }
    out
}
