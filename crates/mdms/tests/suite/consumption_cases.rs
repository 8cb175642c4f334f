//! Daily consumption over local days in Europe/London, including both DST changes of 2025
//! (30 March: 23-hour day; 26 October: 25-hour day).

use jiff::civil::{Time, date};
use jiff::tz::TimeZone;
use mdms::{DailyConsumption, MeterDataStore, StoreError};
use model::{QualityFlags, ReadingType, Unit};

use super::fixtures::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn london() -> TimeZone {
    TimeZone::get("Europe/London").expect("the IANA database has Europe/London")
}

/// (start, end, day length in s, consumption) of each day.
fn shape(days: &[DailyConsumption]) -> Vec<(jiff::Timestamp, jiff::Timestamp, i64, Option<f64>)> {
    days.iter().map(|d| (d.start, d.end, d.day_length_s(), d.consumption)).collect()
}

/// 100 Wh per 15 minutes from 2025-03-28T00:00Z (1000 Wh) to 2025-04-01T00:00Z.
fn spring_profile() -> Vec<model::IntervalReading> {
    energy_ramp(ts("2025-03-28T00:00:00Z"), 4 * 96 + 1, 1000.0, 100.0)
}

pub fn spring_forward_day_has_23_hours(store: &mut impl MeterDataStore) {
    store.ingest(&reading("M1", ts("2025-04-01T00:05:00Z"), spring_profile(), vec![])).unwrap();
    let tz = london();
    let days = store.daily_consumption(&meter("M1"), AP, date(2025, 3, 29), date(2025, 3, 31), &tz).unwrap();
    assert_eq!(
        shape(&days),
        vec![
            (ts("2025-03-29T00:00:00Z"), ts("2025-03-30T00:00:00Z"), 86_400, Some(9_600.0)),
            // Clocks go from 01:00 GMT to 02:00 BST: 92 intervals.
            (ts("2025-03-30T00:00:00Z"), ts("2025-03-30T23:00:00Z"), 82_800, Some(9_200.0)),
            (ts("2025-03-30T23:00:00Z"), ts("2025-03-31T23:00:00Z"), 86_400, Some(9_600.0)),
        ]
    );
    let d = &days[1];
    assert_eq!(d.day, date(2025, 3, 30));
    assert_eq!((d.start_value, d.end_value, d.unit), (Some(20_200.0), Some(29_400.0), Unit::Wh));
    for d in &days {
        assert_eq!(d.start.to_zoned(tz.clone()).time(), Time::midnight());
        assert_eq!(d.end.to_zoned(tz.clone()).time(), Time::midnight());
        assert_eq!(d.quality, QualityFlags(0));
    }
}

pub fn fall_back_day_has_25_hours(store: &mut impl MeterDataStore) {
    let profile = energy_ramp(ts("2025-10-25T00:00:00Z"), 3 * 96 + 1, 0.0, 100.0);
    store.ingest(&reading("M1", ts("2025-10-28T00:05:00Z"), profile, vec![])).unwrap();
    let days = store.daily_consumption(&meter("M1"), AP, date(2025, 10, 25), date(2025, 10, 27), &london()).unwrap();
    assert_eq!(
        shape(&days),
        vec![
            // Starts at 2025-10-24T23:00Z (BST midnight), before the first stored value.
            (ts("2025-10-24T23:00:00Z"), ts("2025-10-25T23:00:00Z"), 86_400, None),
            // Clocks go from 02:00 BST back to 01:00 GMT: 100 intervals.
            (ts("2025-10-25T23:00:00Z"), ts("2025-10-27T00:00:00Z"), 90_000, Some(10_000.0)),
            (ts("2025-10-27T00:00:00Z"), ts("2025-10-28T00:00:00Z"), 86_400, Some(9_600.0)),
        ]
    );
    assert_eq!((days[0].start_value, days[0].end_value), (None, Some(9_200.0)));
}

pub fn missing_bounding_value_is_missing_not_zero(store: &mut impl MeterDataStore) {
    let ends_to_drop = [
        ts("2025-03-30T23:00:00Z"), // the midnight between 30 and 31 March (BST)
        ts("2025-03-29T12:00:00Z"), // inside 29 March: does not matter for a bulk difference
    ];
    let profile: Vec<_> = spring_profile().into_iter().filter(|i| !ends_to_drop.contains(&i.interval_end)).collect();
    store.ingest(&reading("M1", ts("2025-04-01T00:05:00Z"), profile, vec![])).unwrap();
    let days = store.daily_consumption(&meter("M1"), AP, date(2025, 3, 29), date(2025, 4, 2), &london()).unwrap();
    let got: Vec<_> = days.iter().map(|d| (d.day, d.consumption)).collect();
    assert_eq!(
        got,
        vec![
            (date(2025, 3, 29), Some(9_600.0)),
            (date(2025, 3, 30), None),
            (date(2025, 3, 31), None),
            (date(2025, 4, 1), None),
            (date(2025, 4, 2), None),
        ]
    );
    assert_eq!((days[1].start_value, days[1].end_value), (Some(20_200.0), None));
    assert_eq!((days[2].start_value, days[2].end_value), (None, Some(39_000.0)));

    // Unknown meter: every day missing.
    let none = store.daily_consumption(&meter("M9"), AP, date(2025, 3, 29), date(2025, 3, 30), &london()).unwrap();
    assert!(none.iter().all(|d| d.consumption.is_none() && d.start_value.is_none()));
    assert_eq!(none.len(), 2);
}

pub fn daily_consumption_uses_latest_versions_and_flags(store: &mut impl MeterDataStore) {
    store.ingest(&reading("M1", ts("2025-04-01T00:05:00Z"), spring_profile(), vec![])).unwrap();
    let fix = vec![iv(AP, ts("2025-03-30T23:00:00Z"), 29_450.0, QualityFlags::POWER_DOWN)];
    store.ingest(&reading("M1", ts("2025-04-01T06:00:00Z"), fix, vec![])).unwrap();
    let days = store.daily_consumption(&meter("M1"), AP, date(2025, 3, 29), date(2025, 3, 31), &london()).unwrap();
    let got: Vec<_> = days.iter().map(|d| (d.consumption, d.quality.contains(QualityFlags::POWER_DOWN))).collect();
    assert_eq!(got, vec![(Some(9_600.0), false), (Some(9_250.0), true), (Some(9_550.0), true)]);
}

pub fn daily_consumption_needs_a_cumulative_reading_type(store: &mut impl MeterDataStore) {
    let err =
        store.daily_consumption(&meter("M1"), ReadingType::VoltageL1, date(2025, 1, 1), date(2025, 1, 2), &london());
    assert!(matches!(err, Err(StoreError::NotCumulative(ReadingType::VoltageL1))), "{err:?}");
    let empty = store.daily_consumption(&meter("M1"), AP, date(2025, 1, 2), date(2025, 1, 1), &london()).unwrap();
    assert!(empty.is_empty());
}
