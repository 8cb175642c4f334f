//! Ingest: idempotency, versioning, quality flags, refusals, collection metadata.

use mdms::{IngestReport, MeterDataStore, StoreError, StoreSummary};
use model::{QualityFlags, ReadingType};

use super::fixtures::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;
const AM: ReadingType = ReadingType::ActiveEnergyExport;

pub fn same_reading_twice_is_stored_once(store: &mut impl MeterDataStore) {
    let t0 = ts("2025-01-10T00:15:00Z");
    let r = reading(
        "M1",
        ts("2025-01-10T01:02:03Z"),
        vec![
            iv(AP, t0, 1000.0, 0),
            iv(AM, t0, 5.0, 0),
            iv(AP, plus(t0, 900), 1010.5, 0),
            iv(AM, plus(t0, 900), 5.0, 0),
            iv(AP, plus(t0, 1800), 1021.0, QualityFlags::POWER_DOWN),
            iv(AM, plus(t0, 1800), 5.25, QualityFlags::POWER_DOWN),
        ],
        vec![reg(AP, ts("2025-01-10T01:02:00Z"), 1030.0)],
    );

    let first = store.ingest(&r).unwrap();
    assert_eq!(first, IngestReport { intervals_new: 6, registers_new: 1, ..Default::default() });
    let second = store.ingest(&r).unwrap();
    assert_eq!(second, IngestReport { intervals_duplicate: 6, registers_duplicate: 1, ..Default::default() });

    assert_eq!(
        store.summary().unwrap(),
        StoreSummary {
            meters: 1,
            interval_rows: 6,
            interval_revisions: 0,
            register_rows: 1,
            register_revisions: 0,
            collections: 1
        }
    );
    let history = store.interval_history(&meter("M1"), AP, plus(t0, 900)).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].value, history[0].version), (1010.5, 1));
}

pub fn repeated_key_within_one_reading(store: &mut impl MeterDataStore) {
    let t = ts("2025-01-10T00:15:00Z");
    let same = reading("M1", ts("2025-01-10T01:00:00Z"), vec![iv(AP, t, 7.0, 0), iv(AP, t, 7.0, 0)], vec![]);
    assert_eq!(
        store.ingest(&same).unwrap(),
        IngestReport { intervals_new: 1, intervals_duplicate: 1, ..Default::default() }
    );

    let t2 = plus(t, 900);
    let differing = reading("M1", ts("2025-01-10T02:00:00Z"), vec![iv(AP, t2, 8.0, 0), iv(AP, t2, 9.0, 0)], vec![]);
    assert_eq!(
        store.ingest(&differing).unwrap(),
        IngestReport { intervals_new: 1, intervals_revised: 1, ..Default::default() }
    );
    let history = store.interval_history(&meter("M1"), AP, t2).unwrap();
    let versions: Vec<(u32, f64)> = history.iter().map(|h| (h.version, h.value)).collect();
    assert_eq!(versions, vec![(1, 8.0), (2, 9.0)]);
}

pub fn changed_value_becomes_a_new_version(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let t = ts("2025-02-01T12:00:00Z");
    let original = reading("M1", ts("2025-02-01T12:05:00Z"), vec![iv(AP, t, 100.0, 0)], vec![]);
    let corrected = reading("M1", ts("2025-02-01T13:05:00Z"), vec![iv(AP, t, 110.0, 0)], vec![]);
    store.ingest(&original).unwrap();
    assert_eq!(store.ingest(&corrected).unwrap(), IngestReport { intervals_revised: 1, ..Default::default() });

    let history = store.interval_history(&m, AP, t).unwrap();
    let versions: Vec<(u32, f64)> = history.iter().map(|h| (h.version, h.value)).collect();
    assert_eq!(versions, vec![(1, 100.0), (2, 110.0)]);
    assert_eq!(history[0].collected_at, ts("2025-02-01T12:05:00Z"));
    assert_eq!(history[1].collected_at, ts("2025-02-01T13:05:00Z"));

    let latest = store.interval_readings(&m, AP, t, plus(t, 1)).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].version, latest[0].value), (2, 110.0));

    // A replay of the first delivery matches version 1: no new version, latest unchanged.
    assert_eq!(store.ingest(&original).unwrap(), IngestReport { intervals_duplicate: 1, ..Default::default() });
    assert_eq!(store.interval_readings(&m, AP, t, plus(t, 1)).unwrap()[0].value, 110.0);

    let third = reading("M1", ts("2025-02-01T14:05:00Z"), vec![iv(AP, t, 120.0, 0)], vec![]);
    store.ingest(&third).unwrap();
    assert_eq!(store.interval_history(&m, AP, t).unwrap().len(), 3);
    assert_eq!(store.interval_readings(&m, AP, t, plus(t, 1)).unwrap()[0].version, 3);

    let summary = store.summary().unwrap();
    assert_eq!((summary.interval_rows, summary.interval_revisions), (3, 2));
}

pub fn changed_quality_alone_becomes_a_new_version(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let t = ts("2025-02-01T12:00:00Z");
    store.ingest(&reading("M1", ts("2025-02-01T12:05:00Z"), vec![iv(AP, t, 100.0, 0)], vec![])).unwrap();
    let flagged =
        reading("M1", ts("2025-02-01T13:05:00Z"), vec![iv(AP, t, 100.0, QualityFlags::CLOCK_ADJUSTED)], vec![]);
    assert_eq!(store.ingest(&flagged).unwrap(), IngestReport { intervals_revised: 1, ..Default::default() });
    let latest = store.interval_readings(&m, AP, t, plus(t, 1)).unwrap();
    assert_eq!(latest[0].version, 2);
    assert_eq!(latest[0].quality, QualityFlags(QualityFlags::CLOCK_ADJUSTED));
    let history = store.interval_history(&m, AP, t).unwrap();
    assert_eq!(history[0].quality, QualityFlags(0));
}

pub fn quality_flags_and_values_round_trip(store: &mut impl MeterDataStore) {
    let t = ts("2025-03-01T00:15:00Z");
    // Meter status bits, combinations, and high bits reserved for the MDMS.
    let flags = [
        0,
        QualityFlags::CRITICAL_ERROR,
        QualityFlags::DAYLIGHT_SAVING | QualityFlags::POWER_DOWN,
        0xFF,
        1 << 16,
        u32::MAX,
    ];
    let values = [0.0, 0.1, -3.25, 123_456_789.123, 1.0e15 + 0.5, f64::MIN_POSITIVE];
    let intervals: Vec<_> =
        flags.iter().zip(values).enumerate().map(|(k, (&q, v))| iv(AP, plus(t, 900 * k as i64), v, q)).collect();
    store.ingest(&reading("M1", ts("2025-03-01T02:00:00Z"), intervals, vec![])).unwrap();

    let stored = store.interval_readings(&meter("M1"), AP, t_min(), t_max()).unwrap();
    let got: Vec<(u32, u64)> = stored.iter().map(|s| (s.quality.0, s.value.to_bits())).collect();
    let want: Vec<(u32, u64)> = flags.iter().zip(values).map(|(&q, v)| (q, v.to_bits())).collect();
    assert_eq!(got, want);
    assert!(stored.iter().all(|s| s.source == "hes"));
}

pub fn register_reads_are_idempotent_and_versioned(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let at = ts("2025-04-01T00:00:00Z");
    let r1 = reading(
        "M1",
        ts("2025-04-01T00:00:05Z"),
        vec![],
        vec![reg(AP, at, 5000.0), reg(ReadingType::VoltageL1, at, 231.4)],
    );
    assert_eq!(store.ingest(&r1).unwrap(), IngestReport { registers_new: 2, ..Default::default() });
    assert_eq!(store.ingest(&r1).unwrap(), IngestReport { registers_duplicate: 2, ..Default::default() });

    let r2 = reading("M1", ts("2025-04-01T00:10:00Z"), vec![], vec![reg(AP, at, 5001.0)]);
    assert_eq!(store.ingest(&r2).unwrap(), IngestReport { registers_revised: 1, ..Default::default() });

    let latest = store.register_reads(&m, AP, at, plus(at, 1)).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].read_at, latest[0].value, latest[0].version), (at, 5001.0, 2));
    let history: Vec<(u32, f64)> =
        store.register_history(&m, AP, at).unwrap().iter().map(|r| (r.version, r.value)).collect();
    assert_eq!(history, vec![(1, 5000.0), (2, 5001.0)]);
    let voltage = store.register_reads(&m, ReadingType::VoltageL1, t_min(), t_max()).unwrap();
    assert_eq!(voltage.iter().map(|r| r.value).collect::<Vec<_>>(), vec![231.4]);

    let summary = store.summary().unwrap();
    assert_eq!((summary.register_rows, summary.register_revisions, summary.interval_rows), (3, 1, 0));
}

pub fn refused_readings_write_nothing(store: &mut impl MeterDataStore) {
    let t = ts("2025-05-01T00:15:00Z");
    let nan_interval = reading("M1", t, vec![iv(AP, t, 1.0, 0), iv(AP, plus(t, 900), f64::NAN, 0)], vec![]);
    match store.ingest(&nan_interval) {
        Err(StoreError::NonFiniteValue { meter, reading_type, at, value }) => {
            assert_eq!((meter.0.as_str(), reading_type, at), ("M1", AP, plus(t, 900)));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFiniteValue, got {other:?}"),
    }
    let infinite_register = reading("M2", t, vec![iv(AP, t, 1.0, 0)], vec![reg(AP, t, f64::INFINITY)]);
    assert!(matches!(store.ingest(&infinite_register), Err(StoreError::NonFiniteValue { .. })));
    let no_meter = reading("", t, vec![iv(AP, t, 1.0, 0)], vec![]);
    assert!(matches!(store.ingest(&no_meter), Err(StoreError::EmptyMeterId)));

    assert_eq!(store.summary().unwrap(), StoreSummary::default());
    assert!(store.meters().unwrap().is_empty());
}

pub fn collection_metadata_is_recorded_once_per_session(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let t = ts("2025-06-01T00:15:00Z");
    let mut late = reading("M1", ts("2025-06-02T08:00:00.250Z"), vec![iv(AP, t, 1.0, 0)], vec![]);
    late.clock_drift_ms = Some(-1_500);
    let mut early = reading("M1", ts("2025-06-01T08:00:00Z"), vec![iv(AP, t, 1.0, 0)], vec![]);
    early.clock_drift_ms = Some(42_000);
    let mut unread = reading("M1", ts("2025-06-03T08:00:00Z"), vec![], vec![]);
    unread.clock_drift_ms = None;
    unread.interval_length_s = 3600;

    store.ingest(&late).unwrap();
    store.ingest(&early).unwrap();
    store.ingest(&late).unwrap(); // replay: same session
    store.ingest_from(&unread, "import").unwrap();

    let sessions = store.clock_drift_history(&m).unwrap();
    let got: Vec<_> =
        sessions.iter().map(|s| (s.collected_at, s.clock_drift_ms, s.interval_length_s, s.source.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (ts("2025-06-01T08:00:00Z"), Some(42_000), 900, "hes"),
            (ts("2025-06-02T08:00:00.250Z"), Some(-1_500), 900, "hes"),
            (ts("2025-06-03T08:00:00Z"), None, 3600, "import"),
        ]
    );
    assert_eq!(store.summary().unwrap().collections, 3);
    // The interval was first delivered by the later-collected session (ingested first).
    let stored = store.interval_history(&m, AP, t).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].collected_at, ts("2025-06-02T08:00:00.250Z"));
    assert!(store.clock_drift_history(&meter("unknown")).unwrap().is_empty());
}

pub fn source_is_recorded_per_version(store: &mut impl MeterDataStore) {
    let m = meter("M1");
    let t = ts("2025-06-01T00:15:00Z");
    store.ingest(&reading("M1", ts("2025-06-01T01:00:00Z"), vec![iv(AP, t, 1.0, 0)], vec![])).unwrap();
    store
        .ingest_from(&reading("M1", ts("2025-06-01T02:00:00Z"), vec![iv(AP, t, 2.0, 0)], vec![]), "csv-import")
        .unwrap();
    let sources: Vec<String> = store.interval_history(&m, AP, t).unwrap().into_iter().map(|h| h.source).collect();
    assert_eq!(sources, vec!["hes".to_string(), "csv-import".to_string()]);
}
