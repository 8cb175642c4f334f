//! The `gridedge demo --field …` path: a running fleet put behind a field with
//! `start_for_fleet`, its registry routed through the DCUs, and the HES campaign
//! collecting every meter through them.

mod common;

use std::collections::HashMap;

use fieldnet::{FieldProfile, FleetFieldOptions, Framing, LinkKind, start_for_fleet};
use hes::{CampaignConfig, Registry, run_campaign};
use jiff::{SignedDuration, Timestamp};
use meter::MeterConfig;
use meter::fleet::Fleet;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_behind_a_mixed_field_is_collected_through_its_dcus() {
    let fleet =
        Fleet::start(12, [127, 0, 0, 1].into(), 77, MeterConfig::default(), common::server_config(Framing::Wrapper))
            .await
            .unwrap();
    let options = FleetFieldOptions { seed: 9, time_scale: 0.005, meters_per_dcu: 2, hop_loss: None };
    let field = start_for_fleet(&fleet, Framing::Wrapper, FieldProfile::Mixed, &options).await.unwrap();

    // 6 DCUs split 12 : 5 : 3 by largest remainder: 4 G3-PLC, 1 RF mesh, 1 LTE-M.
    let dcus = field.dcus();
    assert_eq!(dcus.len(), 6);
    let count = |k: LinkKind| dcus.iter().filter(|d| d.neighbourhood == k).count();
    assert_eq!((count(LinkKind::G3Plc), count(LinkKind::RfMesh), count(LinkKind::LteM)), (4, 1, 1));
    assert!(dcus.iter().all(|d| d.meters.len() == 2 && d.backhaul == LinkKind::Fibre));
    assert_eq!(FleetFieldOptions::campaign_concurrency(&field), 4 * 8 + 16 + 1024);

    let mut registry = Registry::new();
    for m in fleet.meters() {
        registry.upsert(common::endpoint(&m.serial, m.address, Framing::Wrapper));
    }
    let registry = field.route_registry(&registry);
    for (m, routed) in fleet.meters().iter().zip(registry.meters()) {
        assert_ne!(m.address, routed.address, "{} is reached through its DCU", m.serial);
    }
    let config = CampaignConfig {
        concurrency: FleetFieldOptions::campaign_concurrency(&field),
        history: SignedDuration::from_hours(6),
        timeouts: common::timeouts(),
        ..CampaignConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(64);
    let report = run_campaign(&registry, &HashMap::new(), &config, tx, |_, _| {}).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let mut readings = Vec::new();
    while let Some(r) = rx.recv().await {
        readings.push(r);
    }
    assert_eq!(readings.len(), 12);
    for r in &readings {
        let m = fleet.meters().iter().find(|m| m.serial == r.meter.0).unwrap();
        let truth = common::profile_truth(&m.meter, Timestamp::now(), 40);
        assert_eq!(common::matching_intervals(r, &truth), (24, 0), "{}", r.meter);
    }
    let stats = field.stats();
    for (id, s) in &stats.dcus {
        assert_eq!(s.sessions_opened, 2, "{id}");
    }
    let lte = dcus.iter().position(|d| d.neighbourhood == LinkKind::LteM).unwrap();
    // Each LTE-M meter's radio was paged and set up (again, if the session idled past the
    // RRC inactivity release: real processing time counts as simulated time too).
    assert!(stats.dcus[lte].1.wake_ups >= 2, "{:?}", stats.dcus[lte]);
    let g3 = dcus.iter().position(|d| d.neighbourhood == LinkKind::G3Plc).unwrap();
    assert_eq!(stats.dcus[g3].1.wake_ups, 0);
    field.shutdown().await;
    fleet.shutdown().await;
}
