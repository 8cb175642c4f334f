//! CSV import: interval conventions, offsets and named time zones across DST, units,
//! interval deltas with anchors, and refusal of malformed files (nothing stored).

mod exchange;

use exchange::*;
use jiff::tz::TimeZone;
use mdms::import::csv::{CsvImportOptions, IntervalConvention, ValueKind, import_csv, read_csv_intervals};
use mdms::import::timestamps::AmbiguousLocalTime;
use mdms::import::{DeltaAnchor, ImportError};
use mdms::{MeterDataStore, SqliteStore};
use model::{MeterId, ReadingType};

fn options(convention: IntervalConvention) -> CsvImportOptions {
    CsvImportOptions::new(convention, 900, ts("2025-11-01T00:00:00Z"))
}

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn values(store: &SqliteStore, meter: &str, rt: ReadingType) -> Vec<(String, f64)> {
    channel(store, &MeterId::from(meter), rt).into_iter().map(|(t, v, _)| (t.to_string(), v)).collect()
}

fn pairs(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|(t, v)| (t.to_string(), *v)).collect()
}

#[test]
fn start_convention_with_offsets_and_kwh() {
    let csv = "\
meter,interval_start,value,unit,reading_type
M1,2025-07-01T01:00:00+01:00,1.5,kWh,1-0:1.8.0.255
M1,2025-07-01T01:15:00+01:00,1.75,kWh,1-0:1.8.0.255
M2,2025-07-01T00:00:00Z,230.1,V,voltage_l1
";
    let mut store = SqliteStore::open_in_memory().unwrap();
    let report = import_csv(&mut store, csv.as_bytes(), &options(IntervalConvention::Start)).unwrap();
    let meters: Vec<(String, u64)> = report.meters.iter().map(|m| (m.meter.0.clone(), m.intervals)).collect();
    assert_eq!(meters, [("M1".to_string(), 2), ("M2".to_string(), 1)]);
    // Starts 00:00Z and 00:15Z end at 00:15Z and 00:30Z; kWh become Wh.
    assert_eq!(
        values(&store, "M1", ReadingType::ActiveEnergyImport),
        pairs(&[("2025-07-01T00:15:00Z", 1500.0), ("2025-07-01T00:30:00Z", 1750.0)])
    );
    assert_eq!(values(&store, "M2", ReadingType::VoltageL1), pairs(&[("2025-07-01T00:15:00Z", 230.1)]));
    // Provenance: the import's source and collected_at.
    let stored = store
        .interval_history(&MeterId::from("M1"), ReadingType::ActiveEnergyImport, ts("2025-07-01T00:15:00Z"))
        .unwrap();
    assert_eq!((stored[0].source.as_str(), stored[0].collected_at), ("csv-import", ts("2025-11-01T00:00:00Z")));
    assert_eq!(store.clock_drift_history(&MeterId::from("M1")).unwrap()[0].interval_length_s, 900);
}

/// Local times of the autumn DST change in London: 01:00-02:00 BST then 01:00-02:00 GMT.
const FALL_BACK: &str = "\
meter,timestamp,value,unit
M1,2025-10-26 00:45:00,100,Wh
M1,2025-10-26 01:00:00,110,Wh
M1,2025-10-26 01:15:00,120,Wh
M1,2025-10-26 01:00:00,130,Wh
M1,2025-10-26 01:15:00,140,Wh
M1,2025-10-26 02:00:00,150,Wh
";

#[test]
fn local_times_in_a_named_zone_across_the_autumn_change() {
    let mut opts = options(IntervalConvention::End);
    opts.time_zone = Some(london());
    opts.reading_type = Some(ReadingType::ActiveEnergyImport);

    // Refused by default: 01:00 and 01:15 happen twice. Nothing is stored.
    let mut store = SqliteStore::open_in_memory().unwrap();
    match import_csv(&mut store, FALL_BACK.as_bytes(), &opts) {
        Err(ImportError::Field { line, column, message }) => {
            assert_eq!((line, column), (3, "interval_end"));
            assert!(message.contains("occurs twice"), "{message}");
        }
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_eq!(store.summary().unwrap().interval_rows, 0);

    // In file order: first occurrence BST (UTC+1), second GMT.
    opts.ambiguous = AmbiguousLocalTime::FileOrder;
    import_csv(&mut store, FALL_BACK.as_bytes(), &opts).unwrap();
    assert_eq!(
        values(&store, "M1", ReadingType::ActiveEnergyImport),
        pairs(&[
            ("2025-10-25T23:45:00Z", 100.0),
            ("2025-10-26T00:00:00Z", 110.0),
            ("2025-10-26T00:15:00Z", 120.0),
            ("2025-10-26T01:00:00Z", 130.0),
            ("2025-10-26T01:15:00Z", 140.0),
            ("2025-10-26T02:00:00Z", 150.0),
        ])
    );

    // A local time skipped in spring is an error.
    let spring = "meter,timestamp,value,unit\nM1,2025-03-30 01:30:00,1,Wh\n";
    match import_csv(&mut SqliteStore::open_in_memory().unwrap(), spring.as_bytes(), &opts) {
        Err(ImportError::Field { line: 2, message, .. }) => assert!(message.contains("does not exist"), "{message}"),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn interval_deltas_become_register_values() {
    let csv = "\
meter,interval_end,value,unit,reading_type
M1,2025-01-01T00:30:00Z,0.25,kWh,active_energy_import
M1,2025-01-01T00:15:00Z,0.1,kWh,active_energy_import
M1,2025-01-01T00:45:00Z,0,kWh,active_energy_import
";
    let mut opts = options(IntervalConvention::End);
    opts.values = ValueKind::IntervalDelta(DeltaAnchor::Fixed(5000.0));
    let mut store = SqliteStore::open_in_memory().unwrap();
    let report = import_csv(&mut store, csv.as_bytes(), &opts).unwrap();
    assert_eq!(report.totals().intervals_new, 4);
    assert_eq!(
        values(&store, "M1", ReadingType::ActiveEnergyImport),
        pairs(&[
            ("2025-01-01T00:00:00Z", 5000.0),
            ("2025-01-01T00:15:00Z", 5100.0),
            ("2025-01-01T00:30:00Z", 5350.0),
            ("2025-01-01T00:45:00Z", 5350.0),
        ])
    );

    // The next file continues the stored register.
    let next = "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T01:00:00Z,40,Wh,active_energy_import\n";
    opts.values = ValueKind::IntervalDelta(DeltaAnchor::ContinueFromStore { if_empty: 0.0 });
    import_csv(&mut store, next.as_bytes(), &opts).unwrap();
    assert_eq!(
        values(&store, "M1", ReadingType::ActiveEnergyImport).last(),
        Some(&("2025-01-01T01:00:00Z".to_string(), 5390.0))
    );

    // A gap in deltas is refused, naming both sides.
    let gap = "meter,interval_end,value,unit,reading_type\n\
               M1,2025-01-02T00:15:00Z,1,Wh,active_energy_import\n\
               M1,2025-01-02T01:00:00Z,1,Wh,active_energy_import\n";
    opts.values = ValueKind::IntervalDelta(DeltaAnchor::Fixed(0.0));
    match import_csv(&mut store, gap.as_bytes(), &opts) {
        Err(ImportError::DeltaGap { after, next, .. }) => {
            assert_eq!((after, next), (ts("2025-01-02T00:15:00Z"), ts("2025-01-02T01:00:00Z")));
        }
        other => panic!("expected a gap, got {other:?}"),
    }
    // Deltas of an instantaneous channel are meaningless.
    let volts = "meter,interval_end,value,unit\nM1,2025-01-02T00:15:00Z,230,V\n";
    opts.reading_type = Some(ReadingType::VoltageL1);
    match read_csv_intervals(volts.as_bytes(), &opts) {
        Err(ImportError::Field { line: 2, column: "value", message }) => {
            assert!(message.contains("energy"), "{message}")
        }
        other => panic!("expected deltas of volts to be refused, got {other:?}"),
    }
}

/// A malformed file, the convention to read it with, and the (line, column) of the field
/// error it must give (`None`: a header error).
type MalformedCase = (&'static str, IntervalConvention, Option<(u64, &'static str)>);

#[test]
fn malformed_files_are_refused_with_line_and_column() {
    let cases: [MalformedCase; 10] = [
        ("meter,interval_end,value\nM1,2025-01-01T00:15:00Z,1\n", IntervalConvention::End, None),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1,Wh,x\n",
            IntervalConvention::Start,
            None,
        ),
        ("meter,interval_end,interval_start,value,unit,reading_type\n", IntervalConvention::End, None),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1,kg,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "unit")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1,V,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "unit")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1,Wh,active_energy_import\nM1,2025-01-01T00:30:00Z,one,Wh,active_energy_import\n",
            IntervalConvention::End,
            Some((3, "value")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,NaN,Wh,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "value")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\n,2025-01-01T00:15:00Z,1,Wh,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "meter")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00.5Z,1,Wh,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "interval_end")),
        ),
        (
            "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00,1,Wh,active_energy_import\n",
            IntervalConvention::End,
            Some((2, "interval_end")),
        ),
    ];
    for (csv, convention, want) in cases {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let result = import_csv(&mut store, csv.as_bytes(), &options(convention));
        match (result, want) {
            (Err(ImportError::Header(_)), None) => {}
            (Err(ImportError::Field { line, column, .. }), Some(want)) => assert_eq!((line, column), want, "{csv}"),
            (other, _) => panic!("{csv}: unexpected {other:?}"),
        }
        assert_eq!(store.summary().unwrap().interval_rows, 0, "{csv}");
    }
    // A record with the wrong number of fields.
    let ragged = "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1\n";
    assert!(matches!(
        import_csv(&mut SqliteStore::open_in_memory().unwrap(), ragged.as_bytes(), &options(IntervalConvention::End)),
        Err(ImportError::Csv { line: 2, .. })
    ));
}

#[test]
fn imports_pass_the_same_ingest_checks_as_collected_data() {
    // A value that overflows to infinity after unit scaling is refused before the store.
    let huge = "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1e308,GWh,active_energy_import\n";
    let mut store = SqliteStore::open_in_memory().unwrap();
    match import_csv(&mut store, huge.as_bytes(), &options(IntervalConvention::End)) {
        Err(ImportError::Field { column: "value", .. }) => {}
        other => panic!("expected the infinite value to be refused, got {other:?}"),
    }
    // A changed value for a stored interval becomes a new version, as for collected data.
    let first = "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,1,Wh,active_energy_import\n";
    let second = "meter,interval_end,value,unit,reading_type\nM1,2025-01-01T00:15:00Z,2,Wh,active_energy_import\n";
    import_csv(&mut store, first.as_bytes(), &options(IntervalConvention::End)).unwrap();
    let report = import_csv(&mut store, second.as_bytes(), &options(IntervalConvention::End)).unwrap();
    assert_eq!(report.totals().intervals_revised, 1);
    let history = store
        .interval_history(&MeterId::from("M1"), ReadingType::ActiveEnergyImport, ts("2025-01-01T00:15:00Z"))
        .unwrap();
    assert_eq!(history.iter().map(|h| (h.version, h.value)).collect::<Vec<_>>(), [(1, 1.0), (2, 2.0)]);
}

#[test]
fn the_import_report_says_what_each_validation_rule_caught() {
    // 15-minute +A values of one day: a missing interval end (00:45), a register that goes
    // backwards (01:15) and a power-down flag (01:30).
    let csv = "\
meter,interval_end,value,unit,reading_type,quality
M1,2025-01-01T00:00:00Z,1000,Wh,active_energy_import,0
M1,2025-01-01T00:15:00Z,1010,Wh,active_energy_import,0
M1,2025-01-01T00:30:00Z,1020,Wh,active_energy_import,0
M1,2025-01-01T01:00:00Z,1040,Wh,active_energy_import,0
M1,2025-01-01T01:15:00Z,1035,Wh,active_energy_import,0
M1,2025-01-01T01:30:00Z,1045,Wh,active_energy_import,128
M1,2025-01-01T01:45:00Z,1055,Wh,active_energy_import,0
";
    let mut store = SqliteStore::open_in_memory().unwrap();
    let report = import_csv(&mut store, csv.as_bytes(), &options(IntervalConvention::End)).unwrap();
    let meter = &report.meters[0];
    let caught: Vec<(&str, String, String)> = meter
        .exceptions
        .iter()
        .map(|e| (e.rule.as_str(), e.first_interval_end.to_string(), e.last_interval_end.to_string()))
        .collect();
    let one = |rule: &'static str, at: &str| (rule, at.to_string(), at.to_string());
    assert_eq!(
        caught,
        [
            one("missing_interval", "2025-01-01T00:45:00Z"),
            one("negative_consumption", "2025-01-01T01:15:00Z"),
            one("status_flags", "2025-01-01T01:30:00Z"),
        ]
    );
    let by_rule: Vec<(&str, u64)> = meter.caught_by_rule().into_iter().map(|(r, n)| (r.as_str(), n)).collect();
    assert_eq!(by_rule, [("missing_interval", 1), ("negative_consumption", 1), ("status_flags", 1)]);
    assert_eq!(report.validation().findings_new, 3);
}
