//! Outages kept in SQLite and refreshed from stored events: opened, closed, idempotent,
//! provisional single-meter outages merged, late last gasps joining their outage, and a
//! successful read closing an outage whose restore was lost.

use jiff::{SignedDuration, Timestamp};
use mdms::events::EventStore;
use mdms::outage::{
    OutageChange, OutageChangeKind, OutageConfig, OutageQuery, OutageScope, OutageState, OutageStore, RestoreEvidence,
    ScopeKind, refresh_outages,
};
use mdms::topology::{FeederId, ServiceRole, Topology, TransformerId};
use mdms::{MeterDataStore, SqliteStore};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId, MeterReading, ReadingType, RegisterRead};

fn t0() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

/// F1: T1 (A1..A4); F2: T2 (Z1..Z4).
fn topology() -> Topology {
    let mut t = Topology::new();
    for (tr, feeder, prefix) in [("T1", "F1", "A"), ("T2", "F2", "Z")] {
        t.add_transformer(TransformerId::from(tr), FeederId::from(feeder)).unwrap();
        for i in 1..=4 {
            t.connect_meter(MeterId(format!("{prefix}{i}")), &TransformerId::from(tr), ServiceRole::Customer).unwrap();
        }
    }
    t
}

fn ev(meter: &str, event_type: EndDeviceEventType, secs: i64) -> EndDeviceEvent {
    EndDeviceEvent::new(MeterId::from(meter), event_type, at(secs), at(secs + 2), EndDeviceEvent::SOURCE_PUSH)
}

fn kinds(changes: &[OutageChange]) -> Vec<(String, OutageChangeKind)> {
    changes.iter().map(|c| (c.id.clone(), c.kind)).collect()
}

fn everything() -> OutageQuery {
    OutageQuery::range(at(-86_400), at(86_400))
}

#[test]
fn refresh_opens_closes_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let topo = topology();
    let config = OutageConfig::default();
    let id = format!("transformer:T1:{}", t0().as_millisecond());

    let downs: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_DOWN, i - 1)).collect();
    store.insert_events(&downs).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(0), at(300)).unwrap();
    assert_eq!(kinds(&report.sync.changes), [(id.clone(), OutageChangeKind::Opened)]);
    assert_eq!(report.power_events, 3);
    let again = refresh_outages(&mut store, &topo, &config, at(0), at(300)).unwrap();
    assert!(again.sync.changes.is_empty());
    assert_eq!(again.sync.unchanged, 1);

    let open = store.outages(&everything()).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, OutageState::Open);
    assert_eq!(open[0].customers_interrupted, 4);
    assert_eq!(store.outages_overlapping(at(600), at(600)).unwrap().len(), 1);

    // Restores arrive; the refresh starts at their time but goes back to the open outage.
    let ups: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_RESTORED, 1200)).collect();
    store.insert_events(&ups).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(1200), at(1800)).unwrap();
    assert_eq!(report.recomputed_from, Some(t0()));
    assert_eq!(kinds(&report.sync.changes), [(id.clone(), OutageChangeKind::Closed)]);
    assert!(refresh_outages(&mut store, &topo, &config, at(1200), at(1800)).unwrap().sync.changes.is_empty());
    let closed = store.outage(&id).unwrap().unwrap();
    assert_eq!(closed.ended_at, Some(at(1200)));
    // 4 customers × 20 min.
    assert_eq!(closed.customer_minutes, Some(80.0));
    assert!(store.outages_overlapping(at(1800), at(1800)).unwrap().is_empty());

    // A last gasp of A4 delivered late: it joins the closed outage instead of opening a
    // single-meter outage.
    store.insert_events(&[ev("A4", EndDeviceEventType::POWER_DOWN, 3)]).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(3), at(2400)).unwrap();
    assert_eq!(kinds(&report.sync.changes), [(id.clone(), OutageChangeKind::Updated)]);
    let all = store.outages(&everything()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].reporting_meters, 4);

    // Everything is in the file.
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.outages(&everything()).unwrap(), all);
    let mut q = everything();
    q.state = Some(OutageState::Open);
    assert!(store.outages(&q).unwrap().is_empty());
    let mut q = everything();
    q.scope = Some(ScopeKind::Meter);
    assert!(store.outages(&q).unwrap().is_empty());
    assert!(store.outage("transformer:T9:0").unwrap().is_none());
}

#[test]
fn a_provisional_single_meter_outage_is_merged_when_more_last_gasps_arrive() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let topo = topology();
    let config = OutageConfig::default();
    store.insert_events(&[ev("A1", EndDeviceEventType::POWER_DOWN, 0)]).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(0), at(120)).unwrap();
    let single = format!("meter:A1:{}", t0().as_millisecond());
    assert_eq!(kinds(&report.sync.changes), [(single.clone(), OutageChangeKind::Opened)]);

    // Two more last gasps from the same moment, delivered late by the network.
    store
        .insert_events(&[ev("A2", EndDeviceEventType::POWER_DOWN, 10), ev("A3", EndDeviceEventType::POWER_DOWN, 20)])
        .unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(10), at(180)).unwrap();
    let transformer = format!("transformer:T1:{}", t0().as_millisecond());
    assert_eq!(
        kinds(&report.sync.changes),
        [(single, OutageChangeKind::Removed), (transformer, OutageChangeKind::Opened)]
    );
    let all = store.outages(&everything()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scope, OutageScope::Transformer(TransformerId::from("T1")));
}

#[test]
fn a_successful_read_closes_an_outage_whose_restore_was_lost() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let topo = topology();
    let config = OutageConfig::default();
    store.insert_events(&[ev("Z1", EndDeviceEventType::POWER_DOWN, 0)]).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(0), at(600)).unwrap();
    assert_eq!(report.sync.changes.len(), 1);
    assert_eq!(store.outages(&everything()).unwrap()[0].state, OutageState::Open);

    // The HES reads the meter 45 min after the power down: it has supply again.
    let reading = MeterReading {
        meter: MeterId::from("Z1"),
        collected_at: at(2700),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![RegisterRead {
            reading_type: ReadingType::ActiveEnergyImport,
            read_at: at(2700),
            value: 1.0e6,
        }],
        intervals: vec![],
    };
    store.ingest(&reading).unwrap();
    let report = refresh_outages(&mut store, &topo, &config, at(2700), at(3600)).unwrap();
    assert_eq!(report.proofs, 1);
    assert_eq!(report.sync.changes[0].kind, OutageChangeKind::Closed);
    let o = &store.outages(&everything()).unwrap()[0];
    assert_eq!(o.ended_at, Some(at(2700)));
    assert_eq!(o.meters[0].restore, Some(RestoreEvidence::Proof));
    assert_eq!(o.customer_minutes, Some(45.0));
}
