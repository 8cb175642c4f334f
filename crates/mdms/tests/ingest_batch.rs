//! Batch ingest on `SqliteStore` beyond the backend-independent suite: a failure anywhere
//! in a batch (values, registers, validation) rolls back every reading of it, including
//! meters it registered; validation runs once per channel on the state at commit.

mod vee_support;

use jiff::Timestamp;
use mdms::vee::{
    EstimationConfig, ExceptionFilter, FindingStatus, MeterClass, RuleConfig, RuleId, RuleSpec, VeeConfig,
};
use mdms::{IngestReport, MeterDataStore, SqliteStore, StoreError, StoreSummary};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};
use vee_support::{plus, ts};

const AP: ReadingType = ReadingType::ActiveEnergyImport;
const DAY: &str = "2025-01-06T00:00:00Z";

fn at(k: i64) -> Timestamp {
    plus(ts(DAY), 900 * k)
}

/// `meter`'s +A interval ends `ks` of the test day, 10 Wh per interval from 1000 Wh.
fn reading(
    meter: &str,
    collected_k: i64,
    ks: impl IntoIterator<Item = i64>,
    registers: Vec<RegisterRead>,
) -> MeterReading {
    MeterReading {
        meter: MeterId::from(meter),
        collected_at: at(collected_k),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers,
        intervals: ks
            .into_iter()
            .map(|k| IntervalReading {
                reading_type: AP,
                interval_end: at(k),
                value: 1000.0 + 10.0 * k as f64,
                quality: QualityFlags(0),
            })
            .collect(),
    }
}

fn file_store(dir: &tempfile::TempDir) -> (std::path::PathBuf, SqliteStore) {
    let path = dir.path().join("mdms.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    (path, store)
}

fn missing_interval_store() -> SqliteStore {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let class = MeterClass {
        interval_length_s: 900,
        time_zone: "UTC".into(),
        rules: vec![RuleSpec::new(RuleConfig::MissingInterval)],
        estimation: EstimationConfig::default(),
    };
    let config = VeeConfig {
        enabled: true,
        default_class: "c".into(),
        classes: [("c".to_string(), class)].into_iter().collect(),
        meters: Default::default(),
    };
    store.set_vee_config(&config).unwrap();
    store
}

fn open_missing(store: &SqliteStore) -> Vec<(RuleId, Timestamp, Timestamp)> {
    store
        .vee_exceptions(&ExceptionFilter::default())
        .unwrap()
        .iter()
        .map(|e| (e.rule, e.first_interval_end, e.last_interval_end))
        .collect()
}

#[test]
fn an_engine_failure_late_in_a_batch_rolls_back_every_reading_and_new_meter() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = file_store(&dir);
    store.ingest(&reading("M1", 97, 1..=4, vec![])).unwrap();

    // Register inserts fail: the batch's first readings (intervals only, one a new meter)
    // are written before the third reading's register insert aborts the transaction.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_registers BEFORE INSERT ON register_read BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    let batch = [
        reading("M1", 98, 5..=8, vec![]),
        reading("M2", 98, 1..=4, vec![]),
        reading("M3", 98, 1..=4, vec![RegisterRead { reading_type: AP, read_at: at(4), value: 1040.0 }]),
    ];
    assert!(matches!(store.ingest_batch(&batch, "hes"), Err(StoreError::Sqlite { .. })));
    assert_eq!(
        store.summary().unwrap(),
        StoreSummary { meters: 1, interval_rows: 4, collections: 1, ..Default::default() }
    );
    assert_eq!(store.meters().unwrap(), vec![MeterId::from("M1")]);

    // A meter registered after the rollback may get the id M2 had inside it; M2 must still
    // get its own id when it comes back.
    store.ingest(&reading("M4", 99, 1..=2, vec![])).unwrap();
    conn.execute_batch("DROP TRIGGER fail_registers;").unwrap();
    let outcomes = store.ingest_batch(&batch, "hes").unwrap();
    let counts: Vec<IngestReport> = outcomes.iter().map(|o| o.ingest).collect();
    assert_eq!(
        counts,
        vec![
            IngestReport { intervals_new: 4, ..Default::default() },
            IngestReport { intervals_new: 4, ..Default::default() },
            IngestReport { intervals_new: 4, registers_new: 1, ..Default::default() },
        ]
    );
    let ids = ["M1", "M2", "M3", "M4"].map(MeterId::from);
    assert_eq!(store.meters().unwrap(), ids.to_vec());
    let counts: Vec<usize> =
        ids.iter().map(|m| store.interval_readings(m, AP, at(0), at(200)).unwrap().len()).collect();
    assert_eq!(counts, vec![8, 4, 4, 2]);
    let summary = store.summary().unwrap();
    assert_eq!((summary.meters, summary.interval_rows, summary.register_rows), (4, 18, 1));

    // A second handle on the file sees the same ids (the cache only holds committed rows).
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    let m2 = reopened.interval_readings(&MeterId::from("M2"), AP, at(0), at(200)).unwrap();
    assert_eq!(m2.iter().map(|s| s.value).collect::<Vec<_>>(), vec![1010.0, 1020.0, 1030.0, 1040.0]);
}

#[test]
fn a_validation_failure_rolls_back_the_values_of_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_findings BEFORE INSERT ON vee_finding BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    // The second meter's day has a gap: recording its finding fails after both readings'
    // values were written.
    let batch = [reading("M1", 97, 1..=96, vec![]), reading("M2", 97, (1..=96).filter(|k| *k != 50), vec![])];
    assert!(matches!(store.ingest_batch(&batch, "hes"), Err(StoreError::Sqlite { .. })));
    assert_eq!(store.summary().unwrap(), StoreSummary::default());
    conn.execute_batch("DROP TRIGGER fail_findings;").unwrap();
    let outcomes = store.ingest_batch(&batch, "hes").unwrap();
    assert_eq!(outcomes.iter().map(|o| o.ingest.intervals_new).sum::<u64>(), 191);
    assert_eq!(outcomes[1].validation.findings_new, 1);
}

#[test]
fn a_gap_filled_later_in_the_same_batch_is_never_a_finding() {
    let first_half = reading("M1", 97, (1..=96).filter(|k| *k % 2 == 1), vec![]);
    let second_half = reading("M1", 98, (1..=96).filter(|k| *k % 2 == 0), vec![]);

    // One by one: the first reading leaves 48 one-interval gaps, the second closes them.
    let mut one_by_one = missing_interval_store();
    let first = one_by_one.ingest_validated(&first_half, "hes").unwrap();
    assert_eq!(first.validation.findings_new, 47);
    let second = one_by_one.ingest_validated(&second_half, "hes").unwrap();
    assert_eq!(second.validation.findings_superseded, 47);
    assert!(open_missing(&one_by_one).is_empty());

    // In one batch, validation sees the complete day once: nothing to find, nothing to close.
    let mut batched = missing_interval_store();
    let outcomes = batched.ingest_batch(&[first_half.clone(), second_half.clone()], "hes").unwrap();
    assert_eq!(outcomes[0].ingest, IngestReport { intervals_new: 48, ..Default::default() });
    assert_eq!(outcomes[1].ingest, IngestReport { intervals_new: 48, ..Default::default() });
    // The channel's validation is reported with its last delivery.
    assert_eq!(outcomes[0].validation.channels, 0);
    assert_eq!(outcomes[1].validation.channels, 1);
    assert_eq!(outcomes[1].validation.findings_new + outcomes[1].validation.findings_superseded, 0);
    assert!(open_missing(&batched).is_empty());
    assert!(batched.interval_findings(&MeterId::from("M1"), AP, at(2)).unwrap().is_empty());

    // The stored values are the same either way.
    let values = |s: &SqliteStore| {
        s.interval_readings(&MeterId::from("M1"), AP, at(0), at(200))
            .unwrap()
            .iter()
            .map(|v| (v.interval_end, v.value, v.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&batched), values(&one_by_one));
    assert_eq!(values(&batched).len(), 96);
}

#[test]
fn findings_of_a_batch_are_those_of_the_state_at_commit() {
    // Two meters in one batch, each with a gap no later reading fills; one reading of M1
    // replayed inside the batch.
    let m1 = reading("M1", 97, (1..=96).filter(|k| !(20..=21).contains(k)), vec![]);
    let m2 = reading("M2", 97, (1..=96).filter(|k| *k != 60), vec![]);
    let mut store = missing_interval_store();
    let outcomes = store.ingest_batch(&[m1.clone(), m2, m1], "hes").unwrap();
    assert_eq!(outcomes[2].ingest.intervals_duplicate, 94);
    let total: u64 = outcomes.iter().map(|o| o.validation.findings_new).sum();
    assert_eq!(total, 3);
    let queue = store.vee_exceptions(&ExceptionFilter::default()).unwrap();
    let got: Vec<(&str, RuleId, Timestamp, Timestamp, u32)> = queue
        .iter()
        .map(|e| (e.meter.0.as_str(), e.rule, e.first_interval_end, e.last_interval_end, e.intervals))
        .collect();
    assert_eq!(
        got,
        vec![("M1", RuleId::MissingInterval, at(20), at(21), 2), ("M2", RuleId::MissingInterval, at(60), at(60), 1),]
    );
    let findings = store.interval_findings(&MeterId::from("M2"), AP, at(60)).unwrap();
    assert_eq!((findings[0].version, findings[0].status), (0, FindingStatus::Open));
}

#[test]
fn a_file_store_checkpoints_its_log_on_request_and_keeps_ingesting() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = file_store(&dir);
    let wal = dir.path().join("mdms.sqlite-wal");
    for batch in 0..5 {
        let readings: Vec<MeterReading> = (0..20)
            .map(|m| reading(&format!("M{m:02}"), 97 + batch, (1 + 8 * batch)..=(8 + 8 * batch), vec![]))
            .collect();
        let outcomes = store.ingest_batch(&readings, "hes").unwrap();
        assert_eq!(outcomes.iter().map(|o| o.ingest.intervals_new).sum::<u64>(), 160);
    }
    // A checkpoint copies everything into the database file and empties the log.
    assert!(store.checkpoint().unwrap());
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    let in_file_alone = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM interval_reading", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(in_file_alone, 800);

    // Ingest goes on after it, and every acknowledged value is there after reopening.
    store.ingest(&reading("M00", 200, 41..=48, vec![])).unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    let summary = reopened.summary().unwrap();
    assert_eq!((summary.meters, summary.interval_rows, summary.collections), (20, 808, 101));
    assert_eq!(reopened.interval_readings(&MeterId::from("M00"), AP, at(0), at(200)).unwrap().len(), 48);
}
