//! The conformance suite on `SqliteStore`, plus SQLite-specific behaviour: the file format
//! (WAL, user_version), durability across reopen, atomic ingest, schema version checks.

#[macro_use]
mod suite;

use mdms::{IngestReport, MeterDataStore, SCHEMA_VERSION, SqliteStore, StoreError, StoreSummary};
use model::ReadingType;
use suite::fixtures::*;

fn fresh_store() -> SqliteStore {
    SqliteStore::open_in_memory().expect("in-memory SQLite opens")
}

store_conformance_tests!(fresh_store);

#[test]
fn store_can_move_to_the_ingest_task() {
    fn assert_send<T: Send>() {}
    assert_send::<SqliteStore>();
    let boxed: Box<dyn MeterDataStore + Send> = Box::new(fresh_store());
    assert_eq!(boxed.summary().unwrap(), StoreSummary::default());
}

#[test]
fn acknowledged_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    suite::durability_cases::acknowledged_data_survives_reopen(|| SqliteStore::open(&path).unwrap());
}

#[test]
fn file_uses_wal_and_records_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), version), ("wal", 3));
    assert_eq!(SCHEMA_VERSION, 3);
    let reading_types: i64 = conn.query_row("SELECT COUNT(*) FROM reading_type", [], |r| r.get(0)).unwrap();
    assert_eq!(reading_types, ReadingType::ALL.len() as i64);
    let obis: String =
        conn.query_row("SELECT obis FROM reading_type WHERE name = 'active_energy_import'", [], |r| r.get(0)).unwrap();
    assert_eq!(obis, "1-0:1.8.0.255");
}

#[test]
fn reopening_keeps_reading_type_ids_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let t = ts("2025-01-01T00:15:00Z");
    let r = reading("M1", t, vec![iv(ReadingType::VoltageL1, t, 230.0, 0)], vec![]);
    SqliteStore::open(&path).unwrap().ingest(&r).unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.ingest(&r).unwrap(), IngestReport { intervals_duplicate: 1, ..Default::default() });
    assert_eq!(store.interval_readings(&meter("M1"), ReadingType::VoltageL1, t_min(), t_max()).unwrap().len(), 1);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 7).unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => assert_eq!((found, supported), (7, SCHEMA_VERSION)),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db.sqlite");
    std::fs::write(&path, b"this is not a SQLite database, just some bytes long enough to have a header..").unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::Sqlite { context, .. }) => assert!(!context.is_empty()),
        other => panic!("expected a SQLite error, got {other:?}"),
    }
}

#[test]
fn a_failure_mid_ingest_rolls_back_the_whole_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let t = ts("2025-01-01T00:15:00Z");
    let good = reading("M1", t, vec![iv(ReadingType::ActiveEnergyImport, t, 1.0, 0)], vec![]);
    SqliteStore::open(&path).unwrap().ingest(&good).unwrap();

    // Make register inserts fail: intervals of the next reading are written first, then
    // the register insert aborts the transaction.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_registers BEFORE INSERT ON register_read BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    let later = plus(t, 900);
    let doomed = reading(
        "M2",
        later,
        vec![iv(ReadingType::ActiveEnergyImport, later, 2.0, 0), iv(ReadingType::ActiveEnergyImport, t, 9.0, 0)],
        vec![reg(ReadingType::ActiveEnergyImport, later, 2.0)],
    );
    assert!(matches!(store.ingest(&doomed), Err(StoreError::Sqlite { .. })));
    assert_eq!(
        store.summary().unwrap(),
        StoreSummary { meters: 1, interval_rows: 1, collections: 1, ..Default::default() }
    );
    assert_eq!(store.meters().unwrap(), vec![meter("M1")]);

    // The store stays usable: once the fault is gone the same reading goes in.
    conn.execute_batch("DROP TRIGGER fail_registers;").unwrap();
    let report = store.ingest(&doomed).unwrap();
    assert_eq!(report, IngestReport { intervals_new: 2, registers_new: 1, ..Default::default() });
}
