//! Outages and partitions: a fleet of real TCP meters behind two DCUs, collected by the
//! HES campaign through the field. A dead DCU makes its meters fail while the other
//! DCU's meters are collected; once it is back, a new campaign catches them up. A
//! partition cut in the middle of a session resets it after TCP's retransmissions.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use fieldnet::{Effect, FieldBuilder, Framing, LinkKind, Scenario};
use hes::{CampaignConfig, DlmsSession, Registry, run_campaign};
use jiff::SignedDuration;
use meter::MeterConfig;
use meter::fleet::Fleet;
use model::MeterReading;
use tokio::sync::mpsc;

async fn fleet(count: usize, framing: Framing) -> Fleet {
    Fleet::start(count, [127, 0, 0, 1].into(), 10, MeterConfig::default(), common::server_config(framing))
        .await
        .unwrap()
}

fn registry(fleet: &Fleet, framing: Framing) -> Registry {
    let mut r = Registry::new();
    for m in fleet.meters() {
        r.upsert(common::endpoint(&m.serial, m.address, framing));
    }
    r
}

fn campaign() -> CampaignConfig {
    CampaignConfig {
        concurrency: 16,
        attempts: 2,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(100),
        timeouts: common::timeouts(),
        history: SignedDuration::from_hours(2),
        ..CampaignConfig::default()
    }
}

async fn collect(registry: &Registry) -> (hes::CampaignReport, Vec<MeterReading>) {
    let (tx, mut rx) = mpsc::channel(64);
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    });
    let report = run_campaign(registry, &HashMap::new(), &campaign(), tx, |_, _| {}).await;
    (report, reader.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dcu_outage_fails_its_meters_while_the_others_are_collected() {
    let fleet = fleet(6, Framing::Wrapper).await;
    let field = FieldBuilder::new(5)
        .time_scale(0.01)
        .meters_per_dcu(3)
        .mix(vec![(LinkKind::G3Plc, 1)])
        .attach_fleet(&fleet, Framing::Wrapper)
        .start()
        .await
        .unwrap();
    let dcus = field.dcus();
    assert_eq!(dcus.len(), 2);
    assert_eq!(dcus[0].meters, ["GE00000001", "GE00000002", "GE00000003"]);
    assert_eq!(field.dcu_of("GE00000005").unwrap().0, "DCU-0002");
    let registry = field.route_registry(&registry(&fleet, Framing::Wrapper));
    for m in registry.meters() {
        assert_eq!(Some(m.address), field.hes_address(&m.serial.0), "the HES goes through the DCU");
    }

    let outage = field.apply(Effect::DcuOutage("DCU-0001".into()));
    let (report, readings) = collect(&registry).await;
    let mut failed: Vec<String> = report.failures.iter().map(|f| f.meter.0.clone()).collect();
    failed.sort();
    assert_eq!(failed, ["GE00000001", "GE00000002", "GE00000003"]);
    assert!(report.failures.iter().all(|f| f.error.is_transient() && f.attempts == 2), "{:?}", report.failures);
    let mut ok: Vec<String> = readings.iter().map(|r| r.meter.0.clone()).collect();
    ok.sort();
    assert_eq!(ok, ["GE00000004", "GE00000005", "GE00000006"]);
    for r in &readings {
        let m = fleet.meters().iter().find(|m| m.serial == r.meter.0).unwrap();
        let truth = common::profile_truth(&m.meter, jiff::Timestamp::now(), 20);
        assert_eq!(common::matching_intervals(r, &truth), (8, 0), "{}", r.meter);
    }
    let stats = field.stats();
    assert_eq!(stats.dcus[0].1.sessions_refused_unreachable, 6, "3 meters × 2 attempts");
    assert_eq!(stats.dcus[0].1.sessions_opened, 0);
    assert_eq!(stats.dcus[1].1.sessions_opened, 3);

    // The DCU comes back: the next campaign collects its meters.
    assert!(field.clear(outage));
    let (report, readings) = collect(&registry).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(readings.len(), 6);
    field.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_refuses_new_sessions_and_resets_open_ones() {
    let fleet = fleet(2, Framing::Wrapper).await;
    let field = FieldBuilder::new(6)
        .time_scale(0.001)
        .meters_per_dcu(1)
        .mix(vec![(LinkKind::RfMesh, 1)])
        .hop_loss(0.0)
        .attach_fleet(&fleet, Framing::Wrapper)
        .start()
        .await
        .unwrap();
    let registry = field.route_registry(&registry(&fleet, Framing::Wrapper));
    let endpoint = registry.get(&"GE00000001".into()).unwrap().clone();
    let clock = CosemAttributeDescriptor::new(8, codes::CLOCK, 2);
    let mut session = DlmsSession::open(&endpoint, common::timeouts()).await.unwrap();
    session.get(clock, None).await.unwrap();

    // The WAN to DCU-0001 is cut: the next request is retransmitted by TCP until it gives
    // up (183 s simulated, 0.183 s real) and the DCU resets the session.
    let cut = field.apply(Effect::Partition(vec!["DCU-0001".into()]));
    let err = session.get(clock, None).await.unwrap_err();
    assert!(matches!(err, hes::SessionError::Transport(_)), "{err}");
    assert!(DlmsSession::open(&endpoint, common::timeouts()).await.is_err(), "new sessions are refused");
    // DCU-0002 is not partitioned.
    let other = registry.get(&"GE00000002".into()).unwrap().clone();
    DlmsSession::open(&other, common::timeouts()).await.unwrap().release().await.unwrap();
    let s = field.stats();
    assert_eq!(s.dcus[0].1.sessions_reset, 1);
    assert_eq!(s.dcus[0].1.sessions_refused_unreachable, 1);
    assert_eq!(s.dcus[0].1.retransmissions, 7, "TCP retransmitted the request 7 times");

    // Healed: the meter is reachable again.
    field.clear(cut);
    DlmsSession::open(&endpoint, common::timeouts()).await.unwrap().release().await.unwrap();

    // A scheduled partition shorter than TCP's give-up is bridged by retransmissions.
    let mut session = DlmsSession::open(&endpoint, common::timeouts()).await.unwrap();
    field.run_scenario(&Scenario::new("blip").partition(
        vec!["DCU-0001".into()],
        Duration::ZERO,
        Duration::from_secs(5),
    ));
    session.get(clock, None).await.unwrap();
    session.release().await.unwrap();
    assert_eq!(field.stats().dcus[0].1.sessions_reset, 1, "no new reset");
    field.shutdown().await;
    fleet.shutdown().await;
}
