//! IEC 61968-9 exports, checked by parsing them back with quick-xml: namespaces, element
//! names and order of the 2011 MeterReadings and EndDeviceEvents schemas, ReadingType and
//! ReadingQualityType codes, values.

mod exchange;

use exchange::*;
use mdms::MeterDataStore;
use mdms::export::cim::{END_DEVICE_EVENTS_NS, METER_READINGS_NS, write_end_device_events, write_meter_readings};
use mdms::export::event::{EndDeviceEvent, EndDeviceEventType};
use mdms::export::{ExportQuery, Versions};
use model::{IntervalReading, QualityFlags, ReadingType};

fn export(store: &mdms::SqliteStore, query: &ExportQuery) -> (mdms::export::cim::CimExportSummary, Node) {
    let mut out = Vec::new();
    let summary = write_meter_readings(store, query, &mut out).unwrap();
    (summary, parse_xml(&String::from_utf8(out).unwrap()))
}

#[test]
fn meter_readings_follow_the_2011_schema() {
    let store = fixture_store();
    let query = ExportQuery::all(t0(), plus(t0(), 2 * 86_400 + 1));
    let (summary, root) = export(&store, &query);

    assert_eq!((root.ns.as_deref(), root.name.as_str()), (Some(METER_READINGS_NS), "MeterReadings"));
    assert_eq!(METER_READINGS_NS, "http://iec.ch/TC57/2011/MeterReadings#");
    for node in root.walk() {
        assert_eq!(node.ns.as_deref(), Some(METER_READINGS_NS), "<{}> outside the namespace", node.name);
    }
    // One MeterReading, then the ReadingType definitions of the codes used.
    assert_eq!(root.child_names(), ["MeterReading", "ReadingType", "ReadingType", "ReadingType"]);
    let reading = root.child("MeterReading");
    assert_eq!(
        reading.child_names(),
        ["IntervalBlocks", "IntervalBlocks", "IntervalBlocks", "Meter", "Readings", "valuesInterval"]
    );
    assert_eq!(reading.child("Meter").child("mRID").text, "M1");

    let blocks = reading.all("IntervalBlocks");
    let refs: Vec<&str> = blocks.iter().map(|b| b.children.last().unwrap().attr("ref").unwrap()).collect();
    assert_eq!(
        refs,
        [
            ReadingType::ActiveEnergyImport.cim_code(),
            ReadingType::ActiveEnergyExport.cim_code(),
            ReadingType::VoltageL1.cim_code()
        ]
    );
    assert_eq!(refs[0], "0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.72.0");
    for block in &blocks {
        assert_eq!(block.children.last().unwrap().name, "ReadingType");
        assert!(block.children[..block.children.len() - 1].iter().all(|c| c.name == "IntervalReadings"));
    }

    let plus_a = blocks[0].all("IntervalReadings");
    assert_eq!(plus_a.len(), IMPORT_INTERVALS); // 193 values, one missing
    assert_eq!(summary.interval_readings, (IMPORT_INTERVALS + 9 + 2) as u64);
    assert_eq!(summary.register_readings, 1);
    let first = plus_a[0];
    assert_eq!(first.child_names(), ["reportedDateTime", "source", "timeStamp", "value"]);
    assert_eq!(first.child("timeStamp").text, "2025-01-01T00:00:00Z");
    assert_eq!(first.child("value").text, "10000");
    assert_eq!(first.child("source").text, "hes");
    assert_eq!(plus_a[1].child("value").text, (IMPORT_START_WH + import_steps()[0]).to_string());

    // Quality: the power-down value carries the end device's power-fail code.
    let power_down = plus_a[POWER_DOWN_END];
    assert_eq!(power_down.child_names(), ["reportedDateTime", "source", "timeStamp", "value", "ReadingQualities"]);
    assert_eq!(power_down.child("ReadingQualities").child("ReadingQualityType").attr("ref"), Some("1.2.32"));
    let not_valid = plus_a[NOT_VALID_END];
    assert_eq!(not_valid.child("ReadingQualities").child("ReadingQualityType").attr("ref"), Some("1.10.0"));

    let voltage = blocks[2].all("IntervalReadings");
    assert_eq!(voltage[0].child("value").text, "230.5");

    let register = reading.child("Readings");
    assert_eq!(register.child("timeStamp").text, "2025-01-03T00:00:00Z");
    assert_eq!(register.child("value").text, import_bulk().last().unwrap().to_string());
    assert_eq!(register.child("ReadingType").attr("ref"), Some(ReadingType::ActiveEnergyImport.cim_code()));

    let interval = reading.child("valuesInterval");
    assert_eq!(interval.child_names(), ["end", "start"]);
    assert_eq!(interval.child("start").text, "2025-01-01T00:00:00Z");

    let definitions: Vec<(&str, &str)> = root
        .all("ReadingType")
        .iter()
        .map(|rt| (rt.child("mRID").text.as_str(), rt.child("Names").child("name").text.as_str()))
        .collect();
    assert!(
        definitions.contains(&(ReadingType::ActiveEnergyImport.cim_code(), "active_energy_import (1-0:1.8.0.255)"))
    );
}

#[test]
fn all_versions_are_listed_with_their_provenance() {
    let mut store = fixture_store();
    let end = plus(t0(), 900);
    let mut revision = fixture_reading();
    revision.collected_at = plus(t0(), 3 * 86_400);
    revision.registers.clear();
    revision.intervals = vec![IntervalReading {
        reading_type: ReadingType::ActiveEnergyImport,
        interval_end: end,
        value: 10_101.0,
        quality: QualityFlags(0),
    }];
    store.ingest_from(&revision, "manual-fix").unwrap();
    let query = ExportQuery {
        meters: vec![m1()],
        reading_types: vec![ReadingType::ActiveEnergyImport],
        from: end,
        to: plus(end, 1),
        versions: Versions::All,
    };
    let (summary, root) = export(&store, &query);
    assert_eq!(summary.interval_readings, 2);
    let readings = root.child("MeterReading").child("IntervalBlocks").all("IntervalReadings");
    let got: Vec<(&str, &str, &str)> = readings
        .iter()
        .map(|r| {
            (r.child("source").text.as_str(), r.child("value").text.as_str(), r.child("reportedDateTime").text.as_str())
        })
        .collect();
    assert_eq!(got, [("hes", "10100", "2025-01-03T00:01:00Z"), ("manual-fix", "10101", "2025-01-04T00:00:00Z")]);

    // Latest only: the revision.
    let (_, root) = export(&store, &ExportQuery { versions: Versions::Latest, ..query });
    let readings = root.child("MeterReading").child("IntervalBlocks").all("IntervalReadings");
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].child("value").text, "10101");
}

#[test]
fn meters_without_data_are_left_out() {
    let store = fixture_store();
    let (summary, root) = export(&store, &ExportQuery::all(ts("2030-01-01T00:00:00Z"), ts("2030-01-02T00:00:00Z")));
    assert_eq!(summary.meter_readings, 0);
    assert!(root.children.is_empty());
}

#[test]
fn end_device_events_carry_the_four_part_type_codes() {
    let events = vec![
        EndDeviceEvent {
            mrid: Some("evt-1".into()),
            meter: m1(),
            created_at: ts("2025-01-01T03:00:00Z"),
            event_type: EndDeviceEventType::POWER_DOWN,
            reason: Some("Power down <mains> & battery".into()),
            severity: None,
            details: vec![("dlmsEventCode".into(), "1".into())],
        },
        EndDeviceEvent {
            mrid: None,
            meter: m1(),
            created_at: ts("2025-01-01T03:07:00Z"),
            event_type: EndDeviceEventType::POWER_RESTORED,
            reason: None,
            severity: Some("info".into()),
            details: vec![],
        },
    ];
    let mut out = Vec::new();
    write_end_device_events(&events, &mut out).unwrap();
    let root = parse_xml(&String::from_utf8(out).unwrap());
    assert_eq!((root.ns.as_deref(), root.name.as_str()), (Some(END_DEVICE_EVENTS_NS), "EndDeviceEvents"));
    assert_eq!(END_DEVICE_EVENTS_NS, "http://iec.ch/TC57/2011/EndDeviceEvents#");
    assert!(root.walk().iter().all(|n| n.ns.as_deref() == Some(END_DEVICE_EVENTS_NS)));
    let list = root.all("EndDeviceEvent");
    assert_eq!(
        list[0].child_names(),
        ["mRID", "createdDateTime", "reason", "Assets", "EndDeviceEventDetails", "EndDeviceEventType"]
    );
    assert_eq!(list[0].child("reason").text, "Power down <mains> & battery");
    assert_eq!(list[0].child("Assets").child("mRID").text, "M1");
    assert_eq!(list[0].child("EndDeviceEventType").attr("ref"), Some("3.26.0.47"));
    assert_eq!(list[0].child("EndDeviceEventDetails").child("value").text, "1");
    assert_eq!(list[1].child_names(), ["createdDateTime", "severity", "Assets", "EndDeviceEventType"]);
    assert_eq!(list[1].child("createdDateTime").text, "2025-01-01T03:07:00Z");
    assert_eq!(list[1].child("EndDeviceEventType").attr("ref"), Some("3.26.0.216"));
}
