//! Green Button (ESPI) export: structure, an independent parser (the Python package
//! greenbutton-objects) reading our feed, and export → import round trips.

mod exchange;

use exchange::*;
use mdms::export::ExportError;
use mdms::export::espi::{EspiExportOptions, write_usage_point};
use mdms::import::greenbutton::{GreenButtonImportOptions, import_green_button, parse_green_button};
use mdms::import::{DeltaAnchor, ImportError};
use mdms::{MeterDataStore, SqliteStore};
use model::ReadingType;

const ESPI: &str = "http://naesb.org/espi";
const ATOM: &str = "http://www.w3.org/2005/Atom";

fn export(store: &SqliteStore, options: &EspiExportOptions) -> String {
    let mut out = Vec::new();
    write_usage_point(store, &m1(), t0(), plus(t0(), 2 * 86_400), options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn options() -> EspiExportOptions {
    EspiExportOptions::new(ts("2025-01-03T06:00:00Z"))
}

/// Expected +A intervals: all 192 but the two around the missing value.
fn expected_import() -> (usize, f64) {
    let steps = import_steps();
    let total: f64 = steps.iter().sum::<f64>() - steps[MISSING_END - 1] - steps[MISSING_END];
    (IMPORT_INTERVALS - 2, total)
}

#[test]
fn feed_structure_follows_espi() {
    let store = fixture_store();
    let xml = export(&store, &options());
    let feed = parse_xml(&xml);
    assert_eq!((feed.ns.as_deref(), feed.name.as_str()), (Some(ATOM), "feed"));
    let entries = feed.all("entry");
    let kinds: Vec<&str> = entries.iter().map(|e| e.child("content").children[0].name.as_str()).collect();
    // UsagePoint, then per channel (+A, then -A): MeterReading, ReadingType, blocks (+A
    // spans two UTC days, -A one).
    assert_eq!(
        kinds,
        [
            "UsagePoint",
            "MeterReading",
            "ReadingType",
            "IntervalBlock",
            "IntervalBlock",
            "MeterReading",
            "ReadingType",
            "IntervalBlock"
        ]
    );
    for e in &entries {
        assert!(e.child("id").text.starts_with("urn:uuid:"));
        for resource in &e.child("content").children {
            assert_eq!(resource.ns.as_deref(), Some(ESPI), "{}", resource.name);
        }
    }
    assert_eq!(entries[0].child("title").text, "M1");

    let reading_type = &entries[2].child("content").children[0];
    assert_eq!(
        reading_type.child_names(),
        [
            "accumulationBehaviour",
            "commodity",
            "dataQualifier",
            "flowDirection",
            "intervalLength",
            "kind",
            "powerOfTenMultiplier",
            "timeAttribute",
            "uom"
        ]
    );
    let field = |name: &str| reading_type.child(name).text.clone();
    assert_eq!(
        (field("accumulationBehaviour"), field("flowDirection"), field("kind"), field("uom"), field("intervalLength")),
        ("4".into(), "1".into(), "12".into(), "72".into(), "900".into())
    );
    let minus_a = &entries[6].child("content").children[0];
    assert_eq!(minus_a.child("flowDirection").text, "19");

    // First block: the interval starting at t0 carries 100 Wh (steps[0]).
    let block = &entries[3].child("content").children[0];
    assert_eq!(block.child("interval").child("start").text, t0().as_second().to_string());
    let first = block.all("IntervalReading")[0];
    assert_eq!(first.child_names(), ["timePeriod", "value"]);
    assert_eq!(first.child("timePeriod").child("start").text, "1735689600");
    assert_eq!(first.child("timePeriod").child("duration").text, "900");
    assert_eq!(first.child("value").text, "100");
    // The interval ending at the power-down capture is questionable; ReadingQuality comes
    // before timePeriod, as the schema orders it.
    let flagged = block.all("IntervalReading")[POWER_DOWN_END - 1];
    assert_eq!(flagged.child_names(), ["ReadingQuality", "timePeriod", "value"]);
    assert_eq!(flagged.child("ReadingQuality").child("quality").text, "10");

    // Entries link as ESPI prescribes.
    let link = |e: &Node, rel: &str| -> Vec<String> {
        e.all("link")
            .iter()
            .filter(|l| l.attr("rel") == Some(rel))
            .map(|l| l.attr("href").unwrap().to_string())
            .collect()
    };
    assert!(link(entries[0], "related").contains(&link(entries[1], "up")[0]));
    assert!(link(entries[1], "related").contains(&link(entries[2], "self")[0]));
    assert!(link(entries[1], "related").contains(&link(entries[3], "up")[0]));
}

#[test]
fn greenbutton_objects_parses_the_export() {
    let store = fixture_store();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage_point.xml");
    std::fs::write(&path, export(&store, &options())).unwrap();

    let output = python().arg(workspace_root().join("tests/interop/parse_greenbutton.py")).arg(&path).output().unwrap();
    assert!(output.status.success(), "parse_greenbutton.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    let ups = parsed["usage_points"].as_array().unwrap();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["title"], "M1");
    assert_eq!(ups[0]["service_kind"], "electricity");
    let readings = ups[0]["meter_readings"].as_array().unwrap();
    let titles: Vec<&str> = readings.iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["active_energy_export (1-0:2.8.0.255)", "active_energy_import (1-0:1.8.0.255)"]);

    let (count, total) = expected_import();
    let plus_a = &readings[1];
    assert_eq!(plus_a["uom"], "wattHours");
    assert_eq!(plus_a["flow_direction"], 1);
    assert_eq!(plus_a["accumulation"], 4);
    assert_eq!(plus_a["interval_length"], 900);
    assert_eq!(plus_a["interval_count"], count as u64);
    assert_eq!(plus_a["total"].as_f64().unwrap(), total);
    assert_eq!(plus_a["first_start"], t0().as_second());
    assert_eq!(plus_a["last_end"], plus(t0(), 900 * IMPORT_INTERVALS as i64).as_second());
    assert_eq!(plus_a["durations"], serde_json::json!([900]));
    // Power down at end 50 flags one interval; not-valid at end 100 flags the intervals on
    // both sides of that value.
    assert_eq!(plus_a["qualities"], serde_json::json!({"questionable": 3}));

    let minus_a = &readings[0];
    assert_eq!(minus_a["flow_direction"], 19);
    assert_eq!(minus_a["interval_count"], 8);
    assert_eq!(minus_a["total"].as_f64().unwrap(), 40.0);
}

#[test]
fn fractional_consumption_uses_a_power_of_ten_the_python_parser_applies() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut reading = fixture_reading();
    reading.intervals.retain(|i| i.reading_type == ReadingType::ActiveEnergyExport);
    // 500 + k²/4: deltas 0.25, 0.75, 1.25, ... need 10^-2.
    for (k, i) in reading.intervals.iter_mut().enumerate() {
        i.value = 500.0 + 0.25 * (k * k) as f64;
    }
    store.ingest(&reading).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fractional.xml");
    std::fs::write(&path, export(&store, &options())).unwrap();
    let output = python().arg(workspace_root().join("tests/interop/parse_greenbutton.py")).arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let r = &parsed["usage_points"][0]["meter_readings"][0];
    assert_eq!(r["power_of_ten_multiplier"], -2);
    // 500 + 64/4 = 516 at k = 8.
    assert!((r["total"].as_f64().unwrap() - 16.0).abs() < 1e-9, "{r}");
}

#[test]
fn export_then_import_gives_the_same_interval_consumption() {
    let source = fixture_store();
    let xml = export(&source, &options());

    let mut target = SqliteStore::open_in_memory().unwrap();
    let mut opts = GreenButtonImportOptions::new(DeltaAnchor::Fixed(IMPORT_START_WH), ts("2025-02-01T00:00:00Z"));
    opts.channel_anchors.push((ReadingType::ActiveEnergyExport, DeltaAnchor::Fixed(500.0)));
    // The feed has a gap in +A (the missing value): deltas cannot be chained across it.
    match import_green_button(&mut target, &xml, &opts) {
        Err(ImportError::DeltaGap { reading_type, after, next, .. }) => {
            assert_eq!(reading_type, ReadingType::ActiveEnergyImport);
            assert_eq!((after, next), (plus(t0(), 900 * 149), plus(t0(), 900 * 152)));
        }
        other => panic!("expected a delta gap, got {other:?}"),
    }
    assert_eq!(target.summary().unwrap().interval_rows, 0, "a refused file stores nothing");

    // Export the contiguous part (up to the value before the gap) and import it.
    let mut out = Vec::new();
    write_usage_point(&source, &m1(), t0(), plus(t0(), 900 * 149), &options(), &mut out).unwrap();
    let xml = String::from_utf8(out).unwrap();
    let report = import_green_button(&mut target, &xml, &opts).unwrap();
    assert_eq!(report.meters.len(), 1);
    assert_eq!(report.totals().intervals_new, 150 + 9, "149 intervals + anchor of +A, 8 + anchor of -A");

    let want: Vec<(jiff::Timestamp, f64)> = channel(&source, &m1(), ReadingType::ActiveEnergyImport)
        .into_iter()
        .take(150)
        .map(|(t, v, _)| (t, v))
        .collect();
    let got: Vec<(jiff::Timestamp, f64)> =
        channel(&target, &m1(), ReadingType::ActiveEnergyImport).into_iter().map(|(t, v, _)| (t, v)).collect();
    assert_eq!(got, want);
    let want: Vec<(jiff::Timestamp, f64)> =
        channel(&source, &m1(), ReadingType::ActiveEnergyExport).into_iter().map(|(t, v, _)| (t, v)).collect();
    let got: Vec<(jiff::Timestamp, f64)> =
        channel(&target, &m1(), ReadingType::ActiveEnergyExport).into_iter().map(|(t, v, _)| (t, v)).collect();
    assert_eq!(got, want);
    // The questionable interval comes back not valid.
    let flagged = channel(&target, &m1(), ReadingType::ActiveEnergyImport)[POWER_DOWN_END].2;
    assert_ne!(flagged, 0);

    // Re-importing the same file is idempotent.
    let again = import_green_button(&mut target, &xml, &opts).unwrap();
    assert_eq!(again.totals().intervals_new + again.totals().intervals_revised, 0);

    // A second export of the target parses to the same consumption as the first.
    let mut out = Vec::new();
    write_usage_point(&target, &m1(), t0(), plus(t0(), 900 * 149), &options(), &mut out).unwrap();
    let reparsed = parse_green_button(&String::from_utf8(out).unwrap()).unwrap();
    let original = parse_green_button(&xml).unwrap();
    for rt in [ReadingType::ActiveEnergyImport, ReadingType::ActiveEnergyExport] {
        assert_eq!(reparsed.total(rt), original.total(rt), "{rt}");
    }
    assert_eq!(original.total(ReadingType::ActiveEnergyImport), import_steps()[..149].iter().sum::<f64>());
}

#[test]
fn a_later_file_continues_the_stored_register() {
    let full = fixture_store();
    // The target holds day 1; a feed of day 2 continues from the value stored at its start.
    let mut target = SqliteStore::open_in_memory().unwrap();
    let mut day1 = fixture_reading();
    day1.intervals
        .retain(|i| i.reading_type == ReadingType::ActiveEnergyImport && i.interval_end <= plus(t0(), 86_400));
    target.ingest(&day1).unwrap();

    let mut out = Vec::new();
    let day2_opts = EspiExportOptions { reading_types: vec![ReadingType::ActiveEnergyImport], ..options() };
    write_usage_point(&full, &m1(), plus(t0(), 86_400), plus(t0(), 900 * 149), &day2_opts, &mut out).unwrap();
    let xml = String::from_utf8(out).unwrap();
    let opts =
        GreenButtonImportOptions::new(DeltaAnchor::ContinueFromStore { if_empty: 0.0 }, ts("2025-02-01T00:00:00Z"));
    let report = import_green_button(&mut target, &xml, &opts).unwrap();
    assert_eq!(report.totals().intervals_new, 149 - 96);
    let want: Vec<f64> = import_bulk()[..150].to_vec();
    let got: Vec<f64> =
        channel(&target, &m1(), ReadingType::ActiveEnergyImport).into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(got, want);

    // Continuing a channel that has data, but not at the file's start, is refused.
    let mut out = Vec::new();
    write_usage_point(&full, &m1(), plus(t0(), 900 * 151), plus(t0(), 900 * 160), &day2_opts, &mut out).unwrap();
    match import_green_button(&mut target, &String::from_utf8(out).unwrap(), &opts) {
        Err(ImportError::NoAnchor { at, .. }) => assert_eq!(at, plus(t0(), 900 * 151)),
        other => panic!("expected NoAnchor, got {other:?}"),
    }
}

#[test]
fn export_refuses_what_it_cannot_express() {
    let store = fixture_store();
    let bad = EspiExportOptions { reading_types: vec![ReadingType::VoltageL1], ..options() };
    assert!(matches!(
        write_usage_point(&store, &m1(), t0(), plus(t0(), 3600), &bad, Vec::new()),
        Err(ExportError::NotCumulative(ReadingType::VoltageL1))
    ));
    let unknown = model::MeterId::from("nobody");
    assert!(matches!(
        write_usage_point(&store, &unknown, t0(), plus(t0(), 3600), &options(), Vec::new()),
        Err(ExportError::NoIntervalLength(_))
    ));
    let zero = EspiExportOptions { block_length_s: 0, ..options() };
    assert!(matches!(
        write_usage_point(&store, &m1(), t0(), plus(t0(), 3600), &zero, Vec::new()),
        Err(ExportError::InvalidOptions(_))
    ));
    // A meter without data in the range gives a feed with only its usage point.
    let mut out = Vec::new();
    let summary =
        write_usage_point(&store, &m1(), ts("2030-01-01T00:00:00Z"), ts("2030-01-02T00:00:00Z"), &options(), &mut out)
            .unwrap();
    assert!(summary.is_empty());
    let feed = parse_xml(&String::from_utf8(out).unwrap());
    assert_eq!(feed.all("entry").len(), 1);
}
