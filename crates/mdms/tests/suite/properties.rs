//! Property tests: the final state does not depend on delivery order or duplication.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use mdms::MeterDataStore;
use model::{MeterReading, ReadingType};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

use super::fixtures::*;

const METERS: [&str; 3] = ["PM1", "PM2", "PM3"];
const CHANNELS: [ReadingType; 2] = [ReadingType::ActiveEnergyImport, ReadingType::ReactiveEnergyImport];
const CHUNKS: usize = 4;
const QUALITIES: [u32; 4] = [0, 1 << 3, 1 << 7, 1 << 20];

/// (meter index, channel index, 15-minute slot).
type Key = (usize, usize, i64);

/// A set of interval values split over collection sessions and delivered in some order.
#[derive(Debug, Clone)]
pub struct DeliveryCase {
    /// Every interval value to deliver, per key (one entry per key for a consistent case,
    /// several differing or equal ones for a conflicting case), with the chunk (collection
    /// session number) that carries it.
    pub values: Vec<(Key, f64, u32, usize)>,
    /// Sort keys giving the delivery order of the sessions, and extra re-deliveries.
    pub order_keys: Vec<u64>,
    pub replays: Vec<(Index, u64)>,
}

fn slot_end(slot: i64) -> Timestamp {
    plus(ts("2025-01-01T00:00:00Z"), 900 * slot)
}

/// The sessions of a case in canonical order: one `MeterReading` per (chunk, meter) that has
/// values, intervals in the order the case lists them.
pub fn sessions(case: &DeliveryCase) -> Vec<MeterReading> {
    let mut by_session: BTreeMap<(usize, usize), Vec<model::IntervalReading>> = BTreeMap::new();
    for &((m, c, slot), value, quality, chunk) in &case.values {
        by_session.entry((chunk, m)).or_default().push(iv(CHANNELS[c], slot_end(slot), value, quality));
    }
    by_session
        .into_iter()
        .map(|((chunk, m), intervals)| {
            let mut r = reading(METERS[m], plus(ts("2025-02-01T00:00:00Z"), 3600 * chunk as i64), intervals, vec![]);
            r.clock_drift_ms = Some(chunk as i64 * 100 - m as i64);
            r
        })
        .collect()
}

/// Indices into `sessions(case)` in delivery order: every session once, plus the replays,
/// shuffled by the case's sort keys.
pub fn delivery_order(case: &DeliveryCase, session_count: usize) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> =
        (0..session_count).map(|i| (case.order_keys.get(i).copied().unwrap_or(i as u64), i)).collect();
    keyed.extend(case.replays.iter().map(|(idx, key)| (*key, idx.index(session_count))));
    keyed.sort();
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn key_strategy() -> impl Strategy<Value = Key> {
    (0..METERS.len(), 0..CHANNELS.len(), 0..24i64)
}

fn value_strategy() -> impl Strategy<Value = (f64, u32)> {
    (-1.0e9..1.0e9f64, prop::sample::select(QUALITIES.to_vec()))
}

fn order_strategy() -> impl Strategy<Value = (Vec<u64>, Vec<(Index, u64)>)> {
    (
        prop::collection::vec(any::<u64>(), CHUNKS * METERS.len()),
        prop::collection::vec((any::<Index>(), any::<u64>()), 0..8),
    )
}

/// Each key has one value, carried by one or two sessions.
pub fn consistent_case() -> impl Strategy<Value = DeliveryCase> {
    (
        prop::collection::btree_map(key_strategy(), (value_strategy(), 0..CHUNKS, prop::option::of(0..CHUNKS)), 1..40),
        order_strategy(),
    )
        .prop_map(|(facts, (order_keys, replays))| {
            let mut values = Vec::new();
            for (key, ((value, quality), chunk, also)) in facts {
                values.push((key, value, quality, chunk));
                if let Some(other) = also {
                    values.push((key, value, quality, other));
                }
            }
            DeliveryCase { values, order_keys, replays }
        })
}

/// Keys may carry several values (some equal), in any sessions.
pub fn conflicting_case() -> impl Strategy<Value = DeliveryCase> {
    let small_key = (0..2usize, 0..1usize, 0..4i64);
    let small_value = (prop::sample::select(vec![1.0, 2.0, 3.0]), prop::sample::select(vec![0u32, 1 << 7]));
    (prop::collection::vec((small_key, small_value, 0..CHUNKS), 1..24), order_strategy()).prop_map(
        |(entries, (order_keys, replays))| DeliveryCase {
            values: entries.into_iter().map(|(k, (v, q), chunk)| (k, v, q, chunk)).collect(),
            order_keys,
            replays,
        },
    )
}

/// (meter, reading type name, interval end).
type SeriesKey = (String, &'static str, Timestamp);

type Snapshot = (Vec<(String, &'static str, Vec<(Timestamp, u64, u32, u32)>)>, mdms::StoreSummary, Vec<String>);

/// Everything observable about intervals and sessions in `store`, for comparison.
fn snapshot(store: &impl MeterDataStore) -> Result<Snapshot, TestCaseError> {
    let mut series = Vec::new();
    for m in METERS {
        for c in CHANNELS {
            let latest = store.interval_readings(&meter(m), c, t_min(), t_max()).map_err(fail)?;
            let rows = latest.iter().map(|s| (s.interval_end, s.value.to_bits(), s.quality.0, s.version)).collect();
            series.push((m.to_string(), c.as_str(), rows));
        }
    }
    let mut sessions = Vec::new();
    for m in METERS {
        for s in store.clock_drift_history(&meter(m)).map_err(fail)? {
            sessions.push(format!("{m} {} {:?} {}", s.collected_at, s.clock_drift_ms, s.interval_length_s));
        }
    }
    Ok((series, store.summary().map_err(fail)?, sessions))
}

fn fail(e: mdms::StoreError) -> TestCaseError {
    TestCaseError::fail(format!("store error: {e}"))
}

/// A consistent case delivered in any order, with replays, ends in the same state as the
/// canonical delivery, and that state is exactly the case's facts, each as version 1.
pub fn check_order_independence<S: MeterDataStore>(
    fresh: impl Fn() -> S,
    case: &DeliveryCase,
) -> Result<(), TestCaseError> {
    let sessions = sessions(case);
    let mut reference = fresh();
    for s in &sessions {
        reference.ingest(s).map_err(fail)?;
    }
    let mut shuffled = fresh();
    for i in delivery_order(case, sessions.len()) {
        shuffled.ingest(&sessions[i]).map_err(fail)?;
    }
    let want = snapshot(&reference)?;
    prop_assert_eq!(&snapshot(&shuffled)?, &want);

    // Oracle independent of the store: one version-1 row per distinct key.
    let facts: BTreeMap<Key, (f64, u32)> = case.values.iter().map(|&(k, v, q, _)| (k, (v, q))).collect();
    let (series, summary, _) = want;
    prop_assert_eq!(summary.interval_rows, facts.len() as u64);
    prop_assert_eq!(summary.interval_revisions, 0);
    let mut expected_series = Vec::new();
    for (mi, m) in METERS.iter().enumerate() {
        for (ci, c) in CHANNELS.iter().enumerate() {
            let rows: Vec<_> = facts
                .range((mi, ci, i64::MIN)..=(mi, ci, i64::MAX))
                .map(|(&(_, _, slot), &(v, q))| (slot_end(slot), v.to_bits(), q, 1u32))
                .collect();
            expected_series.push((m.to_string(), c.as_str(), rows));
        }
    }
    prop_assert_eq!(series, expected_series);
    Ok(())
}

/// With conflicting values, in any delivery order each key's history holds each distinct
/// (value, quality) once, numbered 1, 2, ... in order of first delivery, and the latest is
/// the highest version.
pub fn check_version_semantics<S: MeterDataStore>(
    fresh: impl Fn() -> S,
    case: &DeliveryCase,
) -> Result<(), TestCaseError> {
    let sessions = sessions(case);
    let order = delivery_order(case, sessions.len());
    let mut store = fresh();
    // Oracle: replay the deliveries and list distinct (value, quality) per key in order of
    // first appearance.
    let mut expected: BTreeMap<SeriesKey, Vec<(u64, u32)>> = BTreeMap::new();
    for &i in &order {
        let s = &sessions[i];
        store.ingest(s).map_err(fail)?;
        for interval in &s.intervals {
            let seen =
                expected.entry((s.meter.0.clone(), interval.reading_type.as_str(), interval.interval_end)).or_default();
            let pair = (interval.value.to_bits(), interval.quality.0);
            if !seen.contains(&pair) {
                seen.push(pair);
            }
        }
    }
    let mut keys_seen = BTreeSet::new();
    for ((m, c, end), versions) in &expected {
        let reading_type: ReadingType = c.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let history = store.interval_history(&meter(m), reading_type, *end).map_err(fail)?;
        let got: Vec<(u32, u64, u32)> = history.iter().map(|h| (h.version, h.value.to_bits(), h.quality.0)).collect();
        let want: Vec<(u32, u64, u32)> = versions.iter().enumerate().map(|(n, &(v, q))| (n as u32 + 1, v, q)).collect();
        prop_assert_eq!(&got, &want, "history of {} {} {}", m, c, end);
        let latest = store.interval_readings(&meter(m), reading_type, *end, plus(*end, 1)).map_err(fail)?;
        prop_assert_eq!(latest.len(), 1);
        prop_assert_eq!(latest[0].version as usize, versions.len());
        keys_seen.insert((m.clone(), *c, *end));
    }
    let summary = store.summary().map_err(fail)?;
    let rows: usize = expected.values().map(Vec::len).sum();
    prop_assert_eq!(summary.interval_rows as usize, rows);
    prop_assert_eq!(summary.interval_revisions as usize, rows - keys_seen.len());
    Ok(())
}
