//! CSV export of interval data with quality and version, and its round trip through the CSV
//! import.

mod exchange;

use exchange::*;
use mdms::export::csv::{HEADER, write_intervals_csv};
use mdms::export::{ExportQuery, Versions, interval_rows};
use mdms::import::csv::{CsvImportOptions, IntervalConvention, import_csv};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};
use proptest::prelude::*;

fn export(store: &SqliteStore, query: &ExportQuery) -> String {
    let mut out = Vec::new();
    write_intervals_csv(store, query, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn everything() -> ExportQuery {
    ExportQuery::all(ts("1970-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"))
}

#[test]
fn rows_carry_quality_version_and_provenance() {
    let store = fixture_store();
    let query = ExportQuery {
        meters: vec![m1()],
        reading_types: vec![ReadingType::ActiveEnergyImport],
        from: plus(t0(), 900 * POWER_DOWN_END as i64),
        to: plus(t0(), 900 * (POWER_DOWN_END as i64 + 2)),
        versions: Versions::Latest,
    };
    let csv = export(&store, &query);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], HEADER.join(","));
    let bulk = import_bulk();
    assert_eq!(
        lines[1..],
        [
            format!(
                "M1,active_energy_import,1-0:1.8.0.255,2025-01-01T12:30:00Z,{},Wh,128,power_down,1,2025-01-03T00:01:00Z,{},hes",
                bulk[POWER_DOWN_END],
                lines[1].split(',').nth(10).unwrap()
            ),
            format!(
                "M1,active_energy_import,1-0:1.8.0.255,2025-01-01T12:45:00Z,{},Wh,0,,1,2025-01-03T00:01:00Z,{},hes",
                bulk[POWER_DOWN_END + 1],
                lines[2].split(',').nth(10).unwrap()
            ),
        ]
    );
    // ingested_at is the store's clock: only its form is known.
    let ingested: jiff::Timestamp = lines[1].split(',').nth(10).unwrap().parse().unwrap();
    assert!(ingested > t0());
}

#[test]
fn all_versions_list_every_revision_oldest_first() {
    let mut store = fixture_store();
    let end = plus(t0(), 900);
    for (value, source, day) in [(10_101.0, "fix-1", 3), (10_102.0, "fix-2", 4)] {
        let reading = MeterReading {
            meter: m1(),
            collected_at: plus(t0(), day * 86_400),
            clock_drift_ms: None,
            interval_length_s: 900,
            registers: vec![],
            intervals: vec![IntervalReading {
                reading_type: ReadingType::ActiveEnergyImport,
                interval_end: end,
                value,
                quality: QualityFlags(0),
            }],
        };
        store.ingest_from(&reading, source).unwrap();
    }
    let query = ExportQuery {
        meters: vec![m1()],
        reading_types: vec![ReadingType::ActiveEnergyImport],
        from: end,
        to: plus(end, 1),
        versions: Versions::All,
    };
    let rows = interval_rows(&store, &query).unwrap();
    let got: Vec<(u32, f64, &str)> = rows.iter().map(|r| (r.version, r.value, r.source.as_str())).collect();
    assert_eq!(got, [(1, 10_100.0, "hes"), (2, 10_101.0, "fix-1"), (3, 10_102.0, "fix-2")]);
    assert_eq!(export(&store, &query).lines().count(), 4);
    let latest = interval_rows(&store, &ExportQuery { versions: Versions::Latest, ..query }).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].version, 3);
}

#[test]
fn csv_export_imports_back_into_an_equal_store() {
    let source = fixture_store();
    let csv = export(&source, &everything());
    let mut target = SqliteStore::open_in_memory().unwrap();
    let options = CsvImportOptions::new(IntervalConvention::End, 900, ts("2025-02-01T00:00:00Z"));
    let report = import_csv(&mut target, csv.as_bytes(), &options).unwrap();
    assert_eq!(report.meters.len(), 1);
    assert_eq!(report.totals().intervals_new, (IMPORT_INTERVALS + 9 + 2) as u64);
    for rt in ReadingType::ALL {
        assert_eq!(channel(&target, &m1(), rt), channel(&source, &m1(), rt), "{rt}");
    }
    // The second import of the same file stores nothing new.
    let again = import_csv(&mut target, csv.as_bytes(), &options).unwrap();
    assert_eq!(again.totals().intervals_duplicate, (IMPORT_INTERVALS + 9 + 2) as u64);
    assert_eq!(again.totals().intervals_new + again.totals().intervals_revised, 0);
}

/// Meter ids that need CSV quoting, and odd-but-storable values.
fn meter_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("M1".to_string()),
        Just("a,b".to_string()),
        Just("say \"hi\"".to_string()),
        "[a-zA-Zäß0-9 ;]{1,12}"
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty() && s.trim() == s)
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>().prop_filter("finite", |v| v.is_finite()), -1e6..1e9f64, Just(0.1 + 0.2), Just(-0.0)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_stored_rows_survive_a_csv_round_trip(
        meter in meter_id(),
        points in prop::collection::vec((0i64..2_000, value(), any::<u32>()), 1..40),
        rt in prop::sample::select(ReadingType::ALL.to_vec()),
    ) {
        let mut source = SqliteStore::open_in_memory().unwrap();
        let intervals: Vec<IntervalReading> = points
            .iter()
            .map(|&(k, v, q)| IntervalReading {
                reading_type: rt,
                interval_end: plus(t0(), 900 * k),
                value: v,
                quality: QualityFlags(q),
            })
            .collect();
        let reading = MeterReading {
            meter: MeterId(meter.clone()),
            collected_at: t0(),
            clock_drift_ms: None,
            interval_length_s: 900,
            registers: vec![],
            intervals,
        };
        source.ingest(&reading).unwrap();
        let csv = export(&source, &everything());
        let mut target = SqliteStore::open_in_memory().unwrap();
        let options = CsvImportOptions::new(IntervalConvention::End, 900, t0());
        import_csv(&mut target, csv.as_bytes(), &options).unwrap();
        let id = MeterId(meter);
        prop_assert_eq!(channel(&target, &id, rt), channel(&source, &id, rt));
    }
}
