//! Parquet export round trip (only with `cargo test -p mdms --features parquet`).
#![cfg(feature = "parquet")]

mod exchange;

use exchange::*;
use mdms::export::parquet::{interval_schema, read_intervals_parquet, write_intervals_parquet};
use mdms::export::{ExportQuery, Versions, interval_rows};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterReading, QualityFlags, ReadingType};

#[test]
fn parquet_holds_every_row_and_reads_back_equal() {
    let mut store = fixture_store();
    // A revision, so the file carries versions 1 and 2 of one interval.
    let revision = MeterReading {
        meter: m1(),
        collected_at: plus(t0(), 5 * 86_400),
        clock_drift_ms: None,
        interval_length_s: 900,
        registers: vec![],
        intervals: vec![IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: plus(t0(), 900),
            value: 10_100.5,
            quality: QualityFlags(1 << 9),
        }],
    };
    store.ingest_from(&revision, "estimator").unwrap();
    let query = ExportQuery { versions: Versions::All, ..ExportQuery::all(t0(), plus(t0(), 3 * 86_400)) };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intervals.parquet");
    let written = write_intervals_parquet(&store, &query, std::fs::File::create(&path).unwrap()).unwrap();
    assert_eq!(written, (IMPORT_INTERVALS + 1 + 9 + 2) as u64);

    let back = read_intervals_parquet(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(back, interval_rows(&store, &query).unwrap());
    let revised: Vec<(u32, f64, &str)> = back
        .iter()
        .filter(|r| r.interval_end == plus(t0(), 900) && r.reading_type == ReadingType::ActiveEnergyImport)
        .map(|r| (r.version, r.value, r.source.as_str()))
        .collect();
    assert_eq!(revised, [(1, 10_100.0, "hes"), (2, 10_100.5, "estimator")]);
    assert_eq!(interval_schema().fields().len(), 10);
}

#[test]
fn a_file_that_is_not_parquet_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.parquet");
    std::fs::write(&path, b"PAR1 this is not a parquet file PAR1").unwrap();
    assert!(read_intervals_parquet(std::fs::File::open(&path).unwrap()).is_err());
    let empty = SqliteStore::open_in_memory().unwrap();
    let path = dir.path().join("empty.parquet");
    let written =
        write_intervals_parquet(&empty, &ExportQuery::all(t0(), plus(t0(), 1)), std::fs::File::create(&path).unwrap())
            .unwrap();
    assert_eq!(written, 0);
    assert!(read_intervals_parquet(std::fs::File::open(&path).unwrap()).unwrap().is_empty());
    assert!(empty.meters().unwrap().is_empty());
}
