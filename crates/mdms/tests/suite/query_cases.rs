//! Range queries, last interval end, meters and summary.

use jiff::Timestamp;
use mdms::MeterDataStore;
use model::ReadingType;

use super::fixtures::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn ends(stored: &[mdms::StoredInterval]) -> Vec<Timestamp> {
    stored.iter().map(|s| s.interval_end).collect()
}

pub fn range_queries_are_half_open(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    // Interval ends 00:15, 00:30, ..., 02:00 on 2025-01-15 (8 values), plus another meter.
    let first = ts("2025-01-15T00:15:00Z");
    store.ingest(&reading("M1", ts("2025-01-15T02:05:00Z"), energy_ramp(first, 8, 0.0, 10.0), vec![])).unwrap();
    store.ingest(&reading("M2", ts("2025-01-15T02:05:00Z"), energy_ramp(first, 8, 500.0, 1.0), vec![])).unwrap();

    let got = store.interval_readings(&m, AP, ts("2025-01-15T00:30:00Z"), ts("2025-01-15T01:00:00Z")).unwrap();
    assert_eq!(ends(&got), vec![ts("2025-01-15T00:30:00Z"), ts("2025-01-15T00:45:00Z")]);
    assert_eq!(got.iter().map(|s| s.value).collect::<Vec<_>>(), vec![10.0, 20.0]);

    // Fractional bounds: 00:30:00.5 excludes 00:30, 01:00:00.5 includes 01:00.
    let got = store.interval_readings(&m, AP, ts("2025-01-15T00:30:00.5Z"), ts("2025-01-15T01:00:00.5Z")).unwrap();
    assert_eq!(ends(&got), vec![ts("2025-01-15T00:45:00Z"), ts("2025-01-15T01:00:00Z")]);

    // Whole range, in order, and only this meter's values.
    let all = store.interval_readings(&m, AP, t_min(), t_max()).unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all.first().map(|s| s.interval_end), Some(first));
    assert_eq!(all.last().map(|s| s.interval_end), Some(ts("2025-01-15T02:00:00Z")));
    assert!(all.windows(2).all(|w| w[0].interval_end < w[1].interval_end));
    assert_eq!(all.last().map(|s| s.value), Some(70.0));

    let empty_ranges = [
        (ts("2025-01-15T00:30:00Z"), ts("2025-01-15T00:30:00Z")),
        (ts("2025-01-15T01:00:00Z"), ts("2025-01-15T00:30:00Z")),
        (ts("2025-01-15T02:00:01Z"), t_max()),
        (t_min(), first),
    ];
    for (from, to) in empty_ranges {
        assert!(store.interval_readings(&m, AP, from, to).unwrap().is_empty(), "[{from}, {to})");
    }
    assert!(store.interval_readings(&m, ReadingType::ActiveEnergyExport, t_min(), t_max()).unwrap().is_empty());
    assert!(store.interval_readings(&meter("nobody"), AP, t_min(), t_max()).unwrap().is_empty());
}

pub fn register_ranges_are_half_open(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let day1 = ts("2025-01-01T00:00:00Z");
    let day2 = ts("2025-01-02T00:00:00Z");
    let day3 = ts("2025-01-03T00:00:00Z");
    store.ingest(&reading("M1", day1, vec![], vec![reg(AP, day1, 1.0)])).unwrap();
    store.ingest(&reading("M1", day2, vec![], vec![reg(AP, day2, 2.0)])).unwrap();
    store.ingest(&reading("M1", day3, vec![], vec![reg(AP, day3, 3.0)])).unwrap();
    let got: Vec<f64> = store.register_reads(&m, AP, day1, day3).unwrap().iter().map(|r| r.value).collect();
    assert_eq!(got, vec![1.0, 2.0]);
    assert!(store.register_history(&m, AP, ts("2025-01-02T00:00:01Z")).unwrap().is_empty());
}

pub fn history_of_an_unknown_interval_is_empty(store: &mut impl MeterDataStore) {
    let t = ts("2025-01-15T00:15:00Z");
    store.ingest(&reading("M1", t, vec![iv(AP, t, 1.0, 0)], vec![])).unwrap();
    assert!(store.interval_history(&meter("M1"), AP, plus(t, 900)).unwrap().is_empty());
    assert!(store.interval_history(&meter("M1"), ReadingType::CurrentL1, t).unwrap().is_empty());
    assert!(store.interval_history(&meter("M9"), AP, t).unwrap().is_empty());
    assert!(store.interval_history(&meter("M1"), AP, ts("2025-01-15T00:15:00.5Z")).unwrap().is_empty());
}

pub fn last_interval_end_tracks_the_newest_interval(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    assert_eq!(store.last_interval_end(&m, AP).unwrap(), None);

    let day = ts("2025-01-20T00:15:00Z");
    store.ingest(&reading("M1", ts("2025-01-21T00:05:00Z"), energy_ramp(day, 96, 0.0, 1.0), vec![])).unwrap();
    assert_eq!(store.last_interval_end(&m, AP).unwrap(), Some(ts("2025-01-21T00:00:00Z")));

    // An older, late-arriving interval does not move it back.
    let older = reading("M1", ts("2025-01-21T01:00:00Z"), vec![iv(AP, ts("2025-01-19T23:45:00Z"), 0.0, 0)], vec![]);
    store.ingest(&older).unwrap();
    assert_eq!(store.last_interval_end(&m, AP).unwrap(), Some(ts("2025-01-21T00:00:00Z")));

    // Channels are tracked separately; a revision keeps the same end.
    let export = vec![iv(ReadingType::ActiveEnergyExport, ts("2025-01-20T06:00:00Z"), 3.0, 0)];
    store.ingest(&reading("M1", ts("2025-01-21T02:00:00Z"), export, vec![])).unwrap();
    assert_eq!(store.last_interval_end(&m, ReadingType::ActiveEnergyExport).unwrap(), Some(ts("2025-01-20T06:00:00Z")));
    let revised = reading("M1", ts("2025-01-21T03:00:00Z"), vec![iv(AP, ts("2025-01-21T00:00:00Z"), 7.0, 0)], vec![]);
    store.ingest(&revised).unwrap();
    assert_eq!(store.last_interval_end(&m, AP).unwrap(), Some(ts("2025-01-21T00:00:00Z")));

    assert_eq!(store.last_interval_end(&meter("M2"), AP).unwrap(), None);
    // Register reads do not count as intervals.
    store
        .ingest(&reading("M2", ts("2025-01-21T00:00:00Z"), vec![], vec![reg(AP, ts("2025-01-21T00:00:00Z"), 1.0)]))
        .unwrap();
    assert_eq!(store.last_interval_end(&meter("M2"), AP).unwrap(), None);
}

pub fn meters_are_listed_in_order(store: &mut impl MeterDataStore) {
    let t = ts("2025-01-15T00:15:00Z");
    for id in ["SIM0003", "SIM0001", "SIM0002", "SIM0001"] {
        store.ingest(&reading(id, t, vec![iv(AP, t, 1.0, 0)], vec![])).unwrap();
    }
    assert_eq!(store.meters().unwrap(), vec![meter("SIM0001"), meter("SIM0002"), meter("SIM0003")]);
    let summary = store.summary().unwrap();
    assert_eq!((summary.meters, summary.interval_rows, summary.collections), (3, 3, 3));
}
