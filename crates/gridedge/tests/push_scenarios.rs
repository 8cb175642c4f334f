//! End to end over real sockets: grid scenarios on a simulated fleet (20 meters, two
//! transformers on two feeders) → alarm pushes over TCP and UDP → the HES push listeners →
//! push intake → in-process bus → the MDMS events service → event store and outage engine.
//!
//! A transformer outage with 30 % of the last gasps lost is declared from the last gasps
//! that arrived, interrupts all ten customers of the transformer and closes on restore; a
//! cover opened on one meter (ciphered event-notification) arrives as cover-opened; a sag
//! on the other feeder yields one sag event per meter of that feeder; republished events
//! are stored once.

#[allow(dead_code)]
#[path = "../src/services/mdms_events.rs"]
mod mdms_events;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use bus::{BusMessage, InProcessBus, MessageKind, Publisher};
use dlms::security::{AesKey, GlobalKeys, MemoryCounterStore, SecuritySettings, SystemTitle, shared_store};
use hes::push_intake::{IntakeConfig, PushEventMapper, event_message, run_push_intake};
use hes::push_listener::{PushListener, PushListenerConfig, PushSecurity, UdpPushListener};
use jiff::{SignedDuration, Timestamp};
use mdms::SqliteStore;
use mdms::events::{EventQuery, EventStore};
use mdms::outage::{OutageClass, OutageConfig, OutageQuery, OutageScope, OutageState, OutageStore};
use mdms::topology::{FeederId, ServiceRole, Topology, TransformerId};
use meter::MeterConfig;
use meter::alarm::{AlarmConfig, AlarmNotification, AlarmValue};
use meter::fleet::Fleet;
use meter::push::SendDestinationAndMethod;
use meter::push::sender::PushDelivery;
use meter::scenario::{GridTopology, MeterAction, PushResult, Scenario, ScenarioClock, ScenarioDelivery, run_scenario};
use meter::tcp_server::MeterServerConfig;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use tokio::sync::{mpsc, oneshot};

const TAMPER_METER: &str = "GE00000003";
const TAMPER_TITLE: SystemTitle = SystemTitle(*b"GRD00003");
const HES_TITLE: SystemTitle = SystemTitle(*b"GRDHES01");
/// Largest meter clock error of the fleet, ms: events are dated by the meters' clocks.
const DRIFT_MS: i64 = 2_000;

fn keys() -> GlobalKeys {
    GlobalKeys::new(AesKey::new([0x5A; 16]), AesKey::new([0xA5; 16]))
}

fn mdms_topology(grid: &GridTopology) -> Topology {
    let mut t = Topology::new();
    for (transformer, feeder) in grid.transformers() {
        t.add_transformer(TransformerId::from(transformer), FeederId::from(feeder)).unwrap();
    }
    for (serial, placement) in grid.meters() {
        t.connect_meter(
            MeterId::from(serial),
            &TransformerId::from(placement.transformer.as_str()),
            ServiceRole::Customer,
        )
        .unwrap();
    }
    t
}

fn near(actual: Timestamp, expected: Timestamp) -> bool {
    (actual.as_millisecond() - expected.as_millisecond()).abs() <= DRIFT_MS
}

/// Polls `probe` on the reader connection until it holds (the pipeline is asynchronous).
async fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    for _ in 0..600 {
        if probe() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn the_engine_clock_covers_meters_running_ahead() {
    let now: Timestamp = "2025-01-01T12:00:00Z".parse().unwrap();
    let event = |at: Timestamp| {
        EndDeviceEvent::new(MeterId::from("M"), EndDeviceEventType::POWER_DOWN, at, now, EndDeviceEvent::SOURCE_PUSH)
    };
    let behind = event(now - SignedDuration::from_secs(30));
    assert_eq!(mdms_events::as_of_for(std::slice::from_ref(&behind), now), now);
    let ahead = event(now + SignedDuration::from_secs(3));
    assert_eq!(mdms_events::as_of_for(&[behind, ahead], now), now + SignedDuration::from_millis(3_001));
    assert_eq!(mdms_events::as_of_for(&[], now), now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_scenarios_reach_the_mdms_as_events_and_outages() {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    // --- HES: a TCP and a UDP push listener; the tamper meter ciphers.
    let hes_side = SecuritySettings::new(keys(), HES_TITLE).with_counter_store(shared_store(MemoryCounterStore::new()));
    let listener_config = PushListenerConfig::default()
        .with_meter(TAMPER_TITLE, PushSecurity { serial: MeterId::from(TAMPER_METER), settings: hes_side });
    let tcp = PushListener::bind("127.0.0.1:0", listener_config.clone()).await.unwrap();
    let udp = UdpPushListener::bind("127.0.0.1:0", listener_config).await.unwrap();
    let (tcp_address, udp_address) = (tcp.local_addr().unwrap().to_string(), udp.local_addr().unwrap().to_string());
    let (push_tx, push_rx) = mpsc::channel(256);
    let tcp_task = tokio::spawn(tcp.run(push_tx.clone()));
    let udp_task = tokio::spawn(udp.run(push_tx));

    // --- Bus and MDMS events service on a file store; a second connection reads.
    let mut bus = InProcessBus::new(256);
    let mut events_sub = bus.subscriber(MessageKind::Events).unwrap();
    let publisher = bus.publisher();
    let intake_publisher = publisher.clone();
    let intake = tokio::spawn(async move {
        let mut mapper = PushEventMapper::default();
        run_push_intake(push_rx, &intake_publisher, &mut mapper, IntakeConfig::default()).await
    });

    // --- The fleet: 20 meters, TX01 (GE01..10) on FDR01 pushing over TCP, TX02 (GE11..20)
    // on FDR02 over UDP.
    let alarm = AlarmConfig::pushing_to(SendDestinationAndMethod::tcp(&tcp_address));
    let meter_config = MeterConfig { alarm, max_clock_drift_ms: DRIFT_MS as u32, ..MeterConfig::default() };
    let fleet =
        Fleet::start(20, IpAddr::from([127, 0, 0, 1]), 900, meter_config, MeterServerConfig::default()).await.unwrap();
    let serials: Vec<String> = fleet.meters().iter().map(|m| m.serial.clone()).collect();
    let grid = GridTopology::evenly(&serials, 2, 1);
    let tx01: BTreeSet<String> = grid.meters_of_transformer("TX01").into_iter().map(str::to_string).collect();
    let fdr02: BTreeSet<String> = grid.meters_of_feeder("FDR02").into_iter().map(str::to_string).collect();
    assert_eq!((tx01.len(), fdr02.len()), (10, 10));
    assert!(tx01.contains(TAMPER_METER));
    for m in fleet.meters() {
        let mut meter = m.meter.lock().unwrap();
        if fdr02.contains(&m.serial) {
            meter.alarms_mut().push_setup_mut().send_destination_and_method =
                SendDestinationAndMethod::udp(&udp_address);
        }
        if m.serial == TAMPER_METER {
            meter.alarms_mut().set_notification(AlarmNotification::EventNotification(AlarmValue::Descriptor));
        }
    }
    let topology = mdms_topology(&grid);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.sqlite");
    let mut store = SqliteStore::open(&db).unwrap();
    let reader = SqliteStore::open(&db).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let consumer_topology = topology.clone();
    let consumer = tokio::spawn(async move {
        let options = mdms_events::EventIngestOptions {
            refresh_every: Duration::from_millis(200),
            ..mdms_events::EventIngestOptions::default()
        };
        let stop = async {
            let _ = stop_rx.await;
        };
        mdms_events::ingest_events(
            &mut events_sub,
            &mut store,
            &consumer_topology,
            &OutageConfig::default(),
            options,
            stop,
        )
        .await
    });

    // --- The scenario, in simulated time three hours ago at 300× (30 simulated minutes
    // play in 6 s): a cover opened, a 20-minute outage of TX01 with 30 % of last gasps lost,
    // a sag on FDR02.
    let scenario = Scenario::new("transformer outage, tamper, sag")
        .cover_opened(SignedDuration::ZERO, TAMPER_METER)
        .transformer_outage(SignedDuration::from_mins(1), "TX01", SignedDuration::from_mins(20))
        .feeder_sag(SignedDuration::from_mins(30), "FDR02")
        .with_last_gasp_loss(0.3, 6);
    let clock = ScenarioClock::new(Timestamp::now() - SignedDuration::from_hours(3), 300.0).unwrap();
    let ciphered =
        PushDelivery { security: Some(SecuritySettings::new(keys(), TAMPER_TITLE)), ..PushDelivery::default() };
    let deliveries = ScenarioDelivery::default().with_meter(TAMPER_METER, ciphered);
    let report = run_scenario(&scenario, fleet.meters(), &grid, &clock, &deliveries).await.unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    let lost: BTreeSet<String> = report.lost_last_gasps().into_iter().map(str::to_string).collect();
    assert!(!lost.is_empty() && lost.len() < 5, "seed 6 loses some but not most of TX01's last gasps: {lost:?}");
    assert!(lost.is_subset(&tx01));
    let delivered = |action: MeterAction| {
        report
            .outcomes
            .iter()
            .filter(|o| o.action == action && matches!(o.result, PushResult::Delivered { .. }))
            .count()
    };
    assert_eq!(delivered(MeterAction::PowerDown), 10 - lost.len());
    assert_eq!(delivered(MeterAction::PowerUp), 10);
    let expected_events = report.delivered() as u64;

    // --- Everything delivered reaches the event store once, and the outage is closed.
    let range = EventQuery::range(clock.at(SignedDuration::from_mins(-5)), clock.at(SignedDuration::from_mins(60)));
    eventually("every pushed event stored", || reader.count_events(&range).unwrap() == expected_events).await;
    let outages_range =
        OutageQuery::range(clock.at(SignedDuration::from_mins(-5)), clock.at(SignedDuration::from_mins(60)));
    eventually("the transformer outage closed", || {
        reader.outages(&outages_range).unwrap().iter().any(|o| o.state == OutageState::Closed)
    })
    .await;

    let stored = reader.events(&range).unwrap();
    let by_type = |t: EndDeviceEventType| -> BTreeMap<String, Vec<EndDeviceEvent>> {
        let mut out: BTreeMap<String, Vec<EndDeviceEvent>> = BTreeMap::new();
        for s in stored.iter().filter(|s| s.event.event_type == t) {
            out.entry(s.event.meter.0.clone()).or_default().push(s.event.clone());
        }
        out
    };
    // Last gasps: exactly the TX01 meters whose last gasp was not lost, at the outage start.
    let downs = by_type(EndDeviceEventType::POWER_DOWN);
    let reported: BTreeSet<String> = tx01.difference(&lost).cloned().collect();
    assert_eq!(downs.keys().cloned().collect::<BTreeSet<_>>(), reported);
    for events in downs.values() {
        assert_eq!(events.len(), 1);
        assert!(near(events[0].occurred_at, clock.at(SignedDuration::from_mins(1))), "{:?}", events[0]);
        assert_eq!(events[0].source, "push");
        assert_eq!(events[0].alarm_bits, Some(1 << 5));
    }
    let ups = by_type(EndDeviceEventType::POWER_RESTORED);
    assert_eq!(ups.keys().cloned().collect::<BTreeSet<_>>(), tx01);
    assert!(ups.values().all(|e| e.len() == 1 && near(e[0].occurred_at, clock.at(SignedDuration::from_mins(21)))));
    // Tamper: cover opened on the one meter (the generic fraud attempt is not doubled).
    let covers = by_type(EndDeviceEventType::COVER_OPENED);
    assert_eq!(covers.keys().map(String::as_str).collect::<Vec<_>>(), vec![TAMPER_METER]);
    assert!(near(covers[TAMPER_METER][0].occurred_at, clock.start()));
    assert!(by_type(EndDeviceEventType::TAMPER_DETECTED).is_empty());
    // Sag: one event per FDR02 meter, none elsewhere.
    let sags = by_type(EndDeviceEventType::VOLTAGE_SAG_STARTED);
    assert_eq!(sags.keys().cloned().collect::<BTreeSet<_>>(), fdr02);
    assert!(sags.values().all(|e| e.len() == 1 && near(e[0].occurred_at, clock.at(SignedDuration::from_mins(30)))));

    // The outage: transformer TX01, declared from the last gasps that arrived, all ten
    // customers interrupted, closed at the restore, sustained (20 min > 5 min).
    let outages = reader.outages(&outages_range).unwrap();
    assert_eq!(outages.len(), 1, "{outages:#?}");
    let o = &outages[0];
    assert_eq!(o.scope, OutageScope::Transformer(TransformerId::from("TX01")));
    assert_eq!(o.state, OutageState::Closed);
    assert_eq!(o.class, Some(OutageClass::Sustained));
    assert_eq!(o.customers_interrupted, 10);
    assert_eq!(o.reporting_meters, 10 - lost.len() as u64);
    assert_eq!(o.meters.iter().map(|m| m.meter.0.clone()).collect::<BTreeSet<_>>(), tx01);
    for m in &o.meters {
        assert_eq!(m.reported_down_at.is_none(), lost.contains(&m.meter.0), "{}", m.meter);
        assert!(m.restored_at.is_some());
    }
    assert!(near(o.started_at, clock.at(SignedDuration::from_mins(1))));
    assert!(near(o.ended_at.unwrap(), clock.at(SignedDuration::from_mins(21))));

    // Republishing every stored event (a restarted HES) stores nothing twice. A fresh
    // marker event goes last: the consumer commits in order, so once the marker is stored
    // every repeat before it has been processed.
    let mut again: Vec<_> = stored.iter().map(|s| event_message(&s.event).unwrap()).collect();
    let marker_at = clock.at(SignedDuration::from_mins(150));
    let marker = EndDeviceEvent::new(
        MeterId::from(TAMPER_METER),
        EndDeviceEventType::CLOCK_SET,
        marker_at,
        marker_at,
        EndDeviceEvent::SOURCE_COMMAND,
    );
    // A message that is not an event is terminated, never retried.
    again.push(BusMessage {
        kind: MessageKind::Events,
        key: "junk".into(),
        id: "junk/1".into(),
        payload: b"not an event".to_vec(),
    });
    again.push(event_message(&marker).unwrap());
    publisher.publish_all(again).await.unwrap();
    // The store keeps whole milliseconds: the range starts a minute before the marker.
    let marker_range =
        EventQuery::range(clock.at(SignedDuration::from_mins(149)), clock.at(SignedDuration::from_mins(151)));
    eventually("the marker after the repeats", || reader.count_events(&marker_range).unwrap() == 1).await;

    // Shut the pipeline down: listeners, intake (its channel closes), then the consumer.
    tcp_task.abort();
    udp_task.abort();
    let intake_stats = intake.await.unwrap();
    assert_eq!(intake_stats.pushes, expected_events);
    assert_eq!(
        (intake_stats.events, intake_stats.unidentified, intake_stats.publish_failures),
        (expected_events, 0, 0)
    );
    let _ = stop_tx.send(());
    let stats = consumer.await.unwrap().unwrap();
    assert_eq!(stats.inserted, expected_events + 1);
    assert_eq!(stats.duplicates, expected_events);
    assert_eq!(stats.poison, 1);
    assert_eq!(reader.count_events(&range).unwrap(), expected_events, "the range ends before the marker");
    assert_eq!(reader.outages(&outages_range).unwrap(), outages, "nothing changed by the repeats");
    fleet.shutdown().await;
}
