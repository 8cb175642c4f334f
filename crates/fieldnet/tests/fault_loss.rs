//! The issue's fault test: "with 5 % link loss at least 99.9 % of intervals are
//! collected within the retry budget".
//!
//! 200 simulated meters (real TCP DLMS servers, `meter::fleet::Fleet`) behind 4 G3-PLC
//! DCUs of 50 meters, two hops each with the per-hop loss that makes 5 % of the link
//! frames lost on the neighbourhood network (1 − (1 − p)² = 0.05). The HES campaign
//! (`hes::run_campaign`, 3 attempts with backoff) collects one day of 15-minute load
//! profile from every meter through the DCUs. Every collected interval is checked
//! against the meter's own profile (capture time and active energy import), and the
//! intervals that match must be at least 99.9 % of the 200 × 96 due.
//!
//! Run twice: over HDLC (lost frames are dropped; HDLC recovers) and over the wrapper
//! (lost frames become TCP retransmissions).

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fieldnet::{FieldBuilder, FleetFieldOptions, Framing, LinkKind};
use hes::{CampaignConfig, Registry, run_campaign};
use jiff::{SignedDuration, Timestamp};
use meter::MeterConfig;
use meter::fleet::Fleet;
use tokio::sync::mpsc;

const METERS: usize = 200;
const INTERVALS_PER_METER: usize = 96;

async fn five_percent_loss_campaign(framing: Framing) {
    let fleet =
        Fleet::start(METERS, [127, 0, 0, 1].into(), 500, MeterConfig::default(), common::server_config(framing))
            .await
            .unwrap();
    let frame_loss: f64 = 0.05;
    let hop_loss = 1.0 - (1.0 - frame_loss).sqrt();
    let field = FieldBuilder::new(20_261_121)
        .time_scale(0.002)
        .dcus(4)
        .mix(vec![(LinkKind::G3Plc, 1)])
        .hop_loss(hop_loss)
        .max_sessions(50)
        .attach_fleet(&fleet, framing)
        .start()
        .await
        .unwrap();
    let mut registry = Registry::new();
    for m in fleet.meters() {
        registry.upsert(common::endpoint(&m.serial, m.address, framing));
    }
    let registry = field.route_registry(&registry);
    // A PLC exchange may legitimately take long: one day of profile is a ~4 KB APDU that
    // HDLC carries in ~34 I-frames of 128 bytes, each acknowledged (window 1), and every
    // lost frame costs the HES's 3 s HDLC response timer. 60 s per exchange, as HES
    // deployments on narrowband PLC use, instead of the LAN default of 10 s (with which
    // an exchange fails once it meets 4 losses: about 1 session in 3 at 5 % loss).
    let config = CampaignConfig {
        concurrency: FleetFieldOptions::campaign_concurrency(&field),
        history: SignedDuration::from_hours(24),
        timeouts: hes::SessionTimeouts { connect: Duration::from_secs(5), response: Duration::from_secs(60) },
        ..CampaignConfig::default()
    };
    assert_eq!(config.attempts, 3, "the retry budget: 3 attempts per meter");

    let (tx, mut rx) = mpsc::channel(256);
    let sink = tokio::spawn(async move {
        let mut readings = Vec::new();
        while let Some(r) = rx.recv().await {
            readings.push(r);
        }
        readings
    });
    let started = Instant::now();
    let report = run_campaign(&registry, &HashMap::new(), &config, tx, |_, _| {}).await;
    let elapsed = started.elapsed();
    let readings = sink.await.unwrap();

    let now = Timestamp::now();
    let (mut ok, mut wrong) = (0, 0);
    for r in &readings {
        let m = fleet.meters().iter().find(|m| m.serial == r.meter.0).unwrap();
        let truth = common::profile_truth(&m.meter, now, 200);
        let (o, w) = common::matching_intervals(r, &truth);
        ok += o;
        wrong += w;
    }
    let due = METERS * INTERVALS_PER_METER;
    let stats = field.stats().total;
    eprintln!(
        "{framing:?}: {ok}/{due} intervals ({:.3} %), {} meters failed, {} retries, {} frames delivered, \
         {} dropped, {} TCP retransmissions, {} sessions, {:.1} s",
        100.0 * ok as f64 / due as f64,
        report.failures.len(),
        report.retries,
        stats.frames_delivered,
        stats.frames_dropped_loss,
        stats.retransmissions,
        stats.sessions_opened,
        elapsed.as_secs_f64()
    );
    for f in report.failures.iter().take(5) {
        eprintln!("failed: {} after {} attempts: {}", f.meter, f.attempts, f.error);
    }
    assert_eq!(wrong, 0, "no interval differs from the meter's profile");
    assert!(ok * 1000 >= due * 999, "{ok} of {due} intervals collected: below 99.9 %");
    // The loss really happened, in the form the link layer implies.
    let lost = match framing {
        Framing::Hdlc => stats.frames_dropped_loss,
        Framing::Wrapper => stats.retransmissions,
    };
    let sent = stats.frames_delivered + stats.frames_dropped_loss;
    assert!(lost * 100 >= sent * 2 && lost * 100 <= sent * 8, "{lost} losses in {sent} frames: not about 5 %");
    field.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_5_percent_hdlc_frame_loss_99_9_percent_of_intervals_are_collected() {
    tokio::time::timeout(Duration::from_secs(600), five_percent_loss_campaign(Framing::Hdlc)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_5_percent_wrapper_frame_loss_99_9_percent_of_intervals_are_collected() {
    tokio::time::timeout(Duration::from_secs(600), five_percent_loss_campaign(Framing::Wrapper)).await.unwrap();
}
