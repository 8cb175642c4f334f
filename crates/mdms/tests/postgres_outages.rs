//! Outages and the network topology on `PgStore`: the topology round trip and its
//! replacement, outage correlation from stored events (opened, closed, a late last gasp,
//! provisional outages merged, a successful read as restore proof), idempotent refreshes,
//! each checked against expected values and against the same calls on an in-memory
//! `SqliteStore`.
#![cfg(feature = "postgres")]

mod postgres_support;

use jiff::{SignedDuration, Timestamp};
use mdms::events::EventStore;
use mdms::outage::{
    Outage, OutageChangeKind, OutageConfig, OutageQuery, OutageScope, OutageState, OutageStore, RefreshReport,
    RestoreEvidence, ScopeKind, refresh_outages,
};
use mdms::topology::csv::{load_dma_csv, load_electric_csv};
use mdms::topology::{DmaId, DmaRole, FeederId, ServiceRole, Topology, TopologyStore, TransformerId};
use mdms::{MeterDataStore, SqliteStore};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId, MeterReading, ReadingType, RegisterRead};
use postgres_support::{client, fresh_store};

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

fn kinds(report: &RefreshReport) -> Vec<(String, OutageChangeKind)> {
    report.sync.changes.iter().map(|c| (c.id.clone(), c.kind)).collect()
}

fn everything() -> OutageQuery {
    OutageQuery::range(at(-86_400), at(86_400))
}

const ELECTRIC: &str = "\
meter,transformer,feeder,role
M1,T1,F1
M2,T1,F1,customer
C1,T1,F1,check
M3,T2,F1
M4,T3,F2
";

const WATER: &str = "\
meter,dma,role
W-IN-1,DMA-A,inlet
W-OUT,DMA-A,outlet
W-OUT,DMA-B,inlet
W1,DMA-A
W3,DMA-B
";

#[test]
fn topology_round_trips_and_a_save_replaces_it() {
    let mut store = fresh_store();
    assert!(store.load_topology().unwrap().is_empty());

    let mut sample = Topology::new();
    load_electric_csv(&mut sample, ELECTRIC.as_bytes()).unwrap();
    load_dma_csv(&mut sample, WATER.as_bytes()).unwrap();
    store.save_topology(&sample).unwrap();
    let loaded = store.load_topology().unwrap();
    assert_eq!(loaded, sample);
    let t1 = TransformerId::from("T1");
    assert_eq!(loaded.meters_of_transformer(&t1), [MeterId::from("M1"), MeterId::from("M2")]);
    assert_eq!(loaded.check_meter(&t1), Some(&MeterId::from("C1")));
    assert_eq!(loaded.feeder_of(&MeterId::from("M4")), Some(&FeederId::from("F2")));
    let dma_a = loaded.dmas().find(|(id, _)| **id == DmaId::from("DMA-A")).unwrap().1;
    assert!(dma_a.outlets.contains(&MeterId::from("W-OUT")));

    // The same rows as SQLite stores.
    let mut lite = SqliteStore::open_in_memory().unwrap();
    lite.save_topology(&sample).unwrap();
    assert_eq!(lite.load_topology().unwrap(), loaded);

    // A second save replaces everything (no rows of the first survive).
    let mut small = Topology::new();
    small.add_transformer(TransformerId::from("T9"), FeederId::from("F9")).unwrap();
    small.connect_meter(MeterId::from("X1"), &TransformerId::from("T9"), ServiceRole::Check).unwrap();
    small.add_dma(DmaId::from("DMA-Z")).unwrap();
    small.add_dma_meter(&DmaId::from("DMA-Z"), MeterId::from("W9"), DmaRole::Inlet).unwrap();
    store.save_topology(&small).unwrap();
    assert_eq!(store.load_topology().unwrap(), small);
    let schema = store.schema().unwrap().to_string();
    let points: i64 =
        client().query_one(&format!("SELECT count(*) FROM \"{schema}\".topo_service_point"), &[]).unwrap().get(0);
    assert_eq!(points, 1);

    store.save_topology(&Topology::new()).unwrap();
    assert!(store.load_topology().unwrap().is_empty());
}

/// The scenario of `outage_store.rs`: three last gasps of T1, restores, a late last gasp of
/// A4. Returns every refresh report and the stored outages after it.
fn opens_closes_and_late_last_gasp<S>(store: &mut S) -> Vec<(RefreshReport, Vec<Outage>)>
where
    S: EventStore + OutageStore + MeterDataStore,
{
    let topo = topology();
    let config = OutageConfig::default();
    let mut steps = Vec::new();
    let mut refresh = |store: &mut S, from: i64, as_of: i64| {
        let report = refresh_outages(store, &topo, &config, at(from), at(as_of)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
    };
    let downs: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_DOWN, i - 1)).collect();
    store.insert_events(&downs).unwrap();
    refresh(store, 0, 300);
    refresh(store, 0, 300);
    let ups: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_RESTORED, 1200)).collect();
    store.insert_events(&ups).unwrap();
    refresh(store, 1200, 1800);
    refresh(store, 1200, 1800);
    store.insert_events(&[ev("A4", EndDeviceEventType::POWER_DOWN, 3)]).unwrap();
    refresh(store, 3, 2400);
    refresh(store, 3, 2400);
    steps
}

#[test]
fn correlation_opens_closes_and_is_idempotent_as_on_sqlite() {
    let mut pg = fresh_store();
    let steps = opens_closes_and_late_last_gasp(&mut pg);
    let id = format!("transformer:T1:{}", t0().as_millisecond());
    let expected_kinds = [
        vec![(id.clone(), OutageChangeKind::Opened)],
        vec![],
        vec![(id.clone(), OutageChangeKind::Closed)],
        vec![],
        vec![(id.clone(), OutageChangeKind::Updated)],
        vec![],
    ];
    for (i, ((report, _), want)) in steps.iter().zip(&expected_kinds).enumerate() {
        assert_eq!(&kinds(report), want, "refresh {i}");
    }
    for idempotent in [1, 3, 5] {
        assert_eq!(steps[idempotent].0.sync.unchanged, 1, "refresh {idempotent}");
        assert_eq!(steps[idempotent].1, steps[idempotent - 1].1, "refresh {idempotent} changed the outages");
    }
    assert_eq!(steps[0].0.power_events, 3);
    assert_eq!(steps[2].0.recomputed_from, Some(t0()));

    let open = &steps[0].1;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, OutageState::Open);
    assert_eq!(open[0].customers_interrupted, 4);
    assert_eq!(open[0].started_at, t0());
    let closed = &steps[3].1[0];
    assert_eq!(closed.ended_at, Some(at(1200)));
    // 4 customers × 20 min.
    assert_eq!(closed.customer_minutes, Some(80.0));
    let last = &steps[5].1;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].reporting_meters, 4);
    let meters: Vec<&str> = last[0].meters.iter().map(|m| m.meter.0.as_str()).collect();
    assert_eq!(meters, ["A1", "A2", "A3", "A4"]);

    // Reads by id, state, scope and overlap.
    assert_eq!(pg.outage(&id).unwrap().as_ref(), last.first());
    assert!(pg.outage("transformer:T9:0").unwrap().is_none());
    let mut q = everything();
    q.state = Some(OutageState::Open);
    assert!(pg.outages(&q).unwrap().is_empty());
    q.state = Some(OutageState::Closed);
    assert_eq!(pg.outages(&q).unwrap().len(), 1);
    let mut q = everything();
    q.scope = Some(ScopeKind::Meter);
    assert!(pg.outages(&q).unwrap().is_empty());
    assert_eq!(pg.outages_overlapping(at(600), at(600)).unwrap().len(), 1);
    assert!(pg.outages_overlapping(at(1800), at(1800)).unwrap().is_empty());

    // The same events give the same reports and outages on SQLite.
    let mut lite = SqliteStore::open_in_memory().unwrap();
    let lite_steps = opens_closes_and_late_last_gasp(&mut lite);
    assert_eq!(steps, lite_steps);
}

#[test]
fn a_provisional_single_meter_outage_is_merged_as_on_sqlite() {
    fn run<S: EventStore + OutageStore + MeterDataStore>(store: &mut S) -> Vec<(RefreshReport, Vec<Outage>)> {
        let topo = topology();
        let config = OutageConfig::default();
        let mut steps = Vec::new();
        store.insert_events(&[ev("A1", EndDeviceEventType::POWER_DOWN, 0)]).unwrap();
        let report = refresh_outages(store, &topo, &config, at(0), at(120)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
        store
            .insert_events(&[
                ev("A2", EndDeviceEventType::POWER_DOWN, 10),
                ev("A3", EndDeviceEventType::POWER_DOWN, 20),
            ])
            .unwrap();
        let report = refresh_outages(store, &topo, &config, at(10), at(180)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
        steps
    }
    let mut pg = fresh_store();
    let steps = run(&mut pg);
    let single = format!("meter:A1:{}", t0().as_millisecond());
    let transformer = format!("transformer:T1:{}", t0().as_millisecond());
    assert_eq!(kinds(&steps[0].0), [(single.clone(), OutageChangeKind::Opened)]);
    assert_eq!(
        kinds(&steps[1].0),
        [(single.clone(), OutageChangeKind::Removed), (transformer, OutageChangeKind::Opened)]
    );
    assert_eq!(steps[1].1.len(), 1);
    assert_eq!(steps[1].1[0].scope, OutageScope::Transformer(TransformerId::from("T1")));
    assert!(pg.outage(&single).unwrap().is_none());
    assert_eq!(steps, run(&mut SqliteStore::open_in_memory().unwrap()));
}

#[test]
fn a_successful_read_closes_an_outage_as_on_sqlite() {
    fn run<S: EventStore + OutageStore + MeterDataStore>(store: &mut S) -> Vec<(RefreshReport, Vec<Outage>)> {
        let topo = topology();
        let config = OutageConfig::default();
        let mut steps = Vec::new();
        store.insert_events(&[ev("Z1", EndDeviceEventType::POWER_DOWN, 0)]).unwrap();
        let report = refresh_outages(store, &topo, &config, at(0), at(600)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
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
        let report = refresh_outages(store, &topo, &config, at(2700), at(3600)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
        let report = refresh_outages(store, &topo, &config, at(2700), at(3600)).unwrap();
        steps.push((report, store.outages(&everything()).unwrap()));
        steps
    }
    let mut pg = fresh_store();
    let steps = run(&mut pg);
    assert_eq!(steps[0].1[0].state, OutageState::Open);
    assert_eq!(steps[1].0.proofs, 1);
    assert_eq!(steps[1].0.sync.changes[0].kind, OutageChangeKind::Closed);
    let o = &steps[1].1[0];
    assert_eq!(o.ended_at, Some(at(2700)));
    assert_eq!(o.meters[0].restore, Some(RestoreEvidence::Proof));
    assert_eq!(o.customer_minutes, Some(45.0));
    assert!(steps[2].0.sync.changes.is_empty());
    assert_eq!(steps[2].1, steps[1].1);
    assert_eq!(steps, run(&mut SqliteStore::open_in_memory().unwrap()));
}

#[test]
fn sync_keeps_outages_before_from_and_stores_milliseconds() {
    let mut store = fresh_store();
    let early = Outage {
        id: "meter:E1:0".into(),
        scope: OutageScope::Meter(MeterId::from("E1")),
        started_at: at(0),
        ended_at: None,
        state: OutageState::Open,
        class: None,
        customers_interrupted: 1,
        customer_minutes: None,
        reporting_meters: 1,
        meters: vec![],
    };
    let mut late = early.clone();
    late.id = "meter:E2:1".into();
    late.scope = OutageScope::Meter(MeterId::from("E2"));
    // Sub-millisecond parts are dropped, as on SQLite.
    late.started_at = at(100) + SignedDuration::from_micros(1_500);
    let report = store.sync_outages(at(0), &[early.clone(), late.clone()]).unwrap();
    assert_eq!(report.changes.len(), 2);
    // A sync from after `early` leaves it alone and removes nothing but later ones.
    let report = store.sync_outages(at(50), &[]).unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].kind, OutageChangeKind::Removed);
    assert_eq!(report.changes[0].id, late.id);
    let left = store.outages(&everything()).unwrap();
    assert_eq!(left, [early]);
    let report = store.sync_outages(at(0), &[late.clone()]).unwrap();
    let stored = store.outage(&late.id).unwrap().unwrap();
    assert_eq!(stored.started_at, at(100) + SignedDuration::from_millis(1));
    assert_eq!(report.changes.len(), 2);
    let mut lite = SqliteStore::open_in_memory().unwrap();
    lite.sync_outages(at(0), &[late.clone()]).unwrap();
    assert_eq!(lite.outage(&late.id).unwrap(), Some(stored));
}
