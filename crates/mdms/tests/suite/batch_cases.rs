//! Batch ingest (`MeterDataStore::ingest_batch`): the same values, versions and counts as
//! ingesting the readings one by one, all or nothing.

use jiff::Timestamp;
use mdms::{IngestReport, MeterDataStore, StoreError, StoreSummary};
use model::{MeterReading, QualityFlags, ReadingType};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::fixtures::*;
use super::properties::{DeliveryCase, delivery_order, sessions};

const AP: ReadingType = ReadingType::ActiveEnergyImport;
const RP: ReadingType = ReadingType::ReactiveEnergyImport;

fn counts(store_reports: &[mdms::IngestOutcome]) -> Vec<IngestReport> {
    store_reports.iter().map(|o| o.ingest).collect()
}

pub fn duplicates_inside_one_batch(store: &mut impl MeterDataStore) {
    let t0 = ts("2025-01-10T00:15:00Z");
    let r = reading(
        "M1",
        ts("2025-01-10T02:00:00Z"),
        vec![iv(AP, t0, 1000.0, 0), iv(RP, t0, 20.0, 0), iv(AP, plus(t0, 900), 1010.0, QualityFlags::POWER_DOWN)],
        vec![reg(AP, plus(t0, 900), 1010.0)],
    );
    let outcomes = store.ingest_batch(&[r.clone(), r.clone(), r], "hes").unwrap();
    assert_eq!(
        counts(&outcomes),
        vec![
            IngestReport { intervals_new: 3, registers_new: 1, ..Default::default() },
            IngestReport { intervals_duplicate: 3, registers_duplicate: 1, ..Default::default() },
            IngestReport { intervals_duplicate: 3, registers_duplicate: 1, ..Default::default() },
        ]
    );
    assert_eq!(
        store.summary().unwrap(),
        StoreSummary { meters: 1, interval_rows: 3, register_rows: 1, collections: 1, ..Default::default() }
    );
    let history = store.interval_history(&meter("M1"), AP, plus(t0, 900)).unwrap();
    let got: Vec<(u32, f64, u32)> = history.iter().map(|h| (h.version, h.value, h.quality.0)).collect();
    assert_eq!(got, vec![(1, 1010.0, QualityFlags::POWER_DOWN)]);
}

pub fn duplicates_across_batches(store: &mut impl MeterDataStore) {
    let t0 = ts("2025-01-11T00:15:00Z");
    let day1 = reading("M1", ts("2025-01-12T01:00:00Z"), energy_ramp(t0, 96, 0.0, 10.0), vec![]);
    let day2 = reading("M1", ts("2025-01-13T01:00:00Z"), energy_ramp(plus(t0, 86_400), 96, 960.0, 10.0), vec![]);
    let other = reading("M2", ts("2025-01-12T01:00:00Z"), energy_ramp(t0, 96, 5.0, 1.0), vec![]);
    let first = store.ingest_batch(&[day1.clone(), other.clone()], "hes").unwrap();
    assert_eq!(
        counts(&first),
        vec![
            IngestReport { intervals_new: 96, ..Default::default() },
            IngestReport { intervals_new: 96, ..Default::default() }
        ]
    );
    let second = store.ingest_batch(&[other, day1, day2], "hes").unwrap();
    assert_eq!(
        counts(&second),
        vec![
            IngestReport { intervals_duplicate: 96, ..Default::default() },
            IngestReport { intervals_duplicate: 96, ..Default::default() },
            IngestReport { intervals_new: 96, ..Default::default() },
        ]
    );
    let summary = store.summary().unwrap();
    assert_eq!((summary.meters, summary.interval_rows, summary.interval_revisions), (2, 288, 0));
    assert_eq!(summary.collections, 3);
    let m1 = store.interval_readings(&meter("M1"), AP, t_min(), t_max()).unwrap();
    assert_eq!(m1.len(), 192);
    assert_eq!(m1.last().map(|s| s.value), Some(1910.0));
    assert_eq!(store.meters().unwrap(), vec![meter("M1"), meter("M2")]);
}

pub fn revisions_inside_a_batch_follow_batch_order(store: &mut impl MeterDataStore) {
    let t = ts("2025-02-01T12:00:00Z");
    let first = reading("M1", ts("2025-02-01T12:05:00Z"), vec![iv(AP, t, 100.0, 0)], vec![]);
    let corrected = reading("M1", ts("2025-02-01T13:05:00Z"), vec![iv(AP, t, 110.0, 0)], vec![]);
    let outcomes = store.ingest_batch(&[first.clone(), corrected, first], "hes").unwrap();
    assert_eq!(
        counts(&outcomes),
        vec![
            IngestReport { intervals_new: 1, ..Default::default() },
            IngestReport { intervals_revised: 1, ..Default::default() },
            // A replay of the first delivery matches version 1: no third version.
            IngestReport { intervals_duplicate: 1, ..Default::default() },
        ]
    );
    let history = store.interval_history(&meter("M1"), AP, t).unwrap();
    let got: Vec<(u32, f64, Timestamp)> = history.iter().map(|h| (h.version, h.value, h.collected_at)).collect();
    assert_eq!(got, vec![(1, 100.0, ts("2025-02-01T12:05:00Z")), (2, 110.0, ts("2025-02-01T13:05:00Z"))]);
    assert_eq!(store.interval_readings(&meter("M1"), AP, t, plus(t, 1)).unwrap()[0].value, 110.0);
}

pub fn refused_reading_rolls_back_the_whole_batch(store: &mut impl MeterDataStore) {
    let t = ts("2025-05-01T00:15:00Z");
    let good = reading("M1", t, vec![iv(AP, t, 1.0, 0)], vec![reg(AP, t, 1.0)]);
    let also_good = reading("M2", t, vec![iv(AP, t, 2.0, 0)], vec![]);
    let bad = reading("M3", t, vec![iv(AP, t, 3.0, 0), iv(AP, plus(t, 900), f64::INFINITY, 0)], vec![]);
    match store.ingest_batch(&[good.clone(), bad, also_good.clone()], "hes") {
        Err(StoreError::NonFiniteValue { meter, at, .. }) => assert_eq!((meter.0.as_str(), at), ("M3", plus(t, 900))),
        other => panic!("expected NonFiniteValue, got {other:?}"),
    }
    let no_meter = reading("", t, vec![iv(AP, t, 1.0, 0)], vec![]);
    assert!(matches!(store.ingest_batch(&[good.clone(), no_meter], "hes"), Err(StoreError::EmptyMeterId)));
    assert_eq!(store.summary().unwrap(), StoreSummary::default());
    assert!(store.meters().unwrap().is_empty());

    // The good readings go in once the bad one is left out.
    let outcomes = store.ingest_batch(&[good, also_good], "hes").unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(store.summary().unwrap().interval_rows, 2);
}

pub fn an_empty_batch_writes_nothing(store: &mut impl MeterDataStore) {
    assert!(store.ingest_batch(&[], "hes").unwrap().is_empty());
    assert_eq!(store.summary().unwrap(), StoreSummary::default());
}

pub fn batch_source_is_recorded(store: &mut impl MeterDataStore) {
    let t = ts("2025-06-01T00:15:00Z");
    let r = reading("M1", ts("2025-06-01T01:00:00Z"), vec![iv(AP, t, 1.0, 0)], vec![]);
    store.ingest_batch(&[r], "csv-import").unwrap();
    let stored = store.interval_history(&meter("M1"), AP, t).unwrap();
    assert_eq!(stored.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), vec!["csv-import"]);
    assert_eq!(store.clock_drift_history(&meter("M1")).unwrap()[0].source, "csv-import");
}

/// (version, value bits, quality, collected_at) of each version of one key.
type History = Vec<(u32, u64, u32, Timestamp)>;

/// Every version of every key the case delivers, and the row counts.
fn histories(
    store: &impl MeterDataStore,
    sessions: &[MeterReading],
) -> Result<(Vec<History>, StoreSummary), TestCaseError> {
    let fail = |e: StoreError| TestCaseError::fail(format!("store error: {e}"));
    let mut keys: Vec<(String, ReadingType, Timestamp)> = sessions
        .iter()
        .flat_map(|s| s.intervals.iter().map(|i| (s.meter.0.clone(), i.reading_type, i.interval_end)))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for (m, c, end) in keys {
        let history = store.interval_history(&meter(&m), c, end).map_err(fail)?;
        out.push(history.iter().map(|h| (h.version, h.value.to_bits(), h.quality.0, h.collected_at)).collect());
    }
    Ok((out, store.summary().map_err(fail)?))
}

/// Delivering a case's sessions in batches of `batch_sizes` (cycled) gives the same
/// per-reading counts, versions and rows as delivering them one by one.
pub fn check_batching_equivalence<S: MeterDataStore>(
    fresh: impl Fn() -> S,
    case: &DeliveryCase,
    batch_sizes: &[usize],
) -> Result<(), TestCaseError> {
    let fail = |e: StoreError| TestCaseError::fail(format!("store error: {e}"));
    let sessions = sessions(case);
    let order: Vec<MeterReading> =
        delivery_order(case, sessions.len()).into_iter().map(|i| sessions[i].clone()).collect();
    let mut one_by_one = fresh();
    let mut want = Vec::new();
    for r in &order {
        want.push(one_by_one.ingest(r).map_err(fail)?);
    }
    let mut batched = fresh();
    let mut got = Vec::new();
    let mut rest = order.as_slice();
    for &size in batch_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at(size.clamp(1, rest.len()));
        let outcomes = batched.ingest_batch(batch, mdms::DEFAULT_SOURCE).map_err(fail)?;
        prop_assert_eq!(outcomes.len(), batch.len());
        got.extend(outcomes.into_iter().map(|o| o.ingest));
        rest = tail;
    }
    prop_assert_eq!(got, want);
    prop_assert_eq!(histories(&batched, &sessions)?, histories(&one_by_one, &sessions)?);
    Ok(())
}
