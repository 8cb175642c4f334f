//! The relay adds exactly the modelled delay to the real DLMS frames, in virtual time: a
//! paused tokio clock, an in-process DCU session (`Field::connect`) and an in-process
//! meter, so nothing but the model moves the clock. A 1 byte/ms link (8 kbit/s, no
//! overhead) with a fixed 40 ms hop latency delays a frame of `n` bytes by `n + 40` ms.

mod common;

use std::time::Duration;

use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use fieldnet::{
    Airtime, DcuSpec, Degradation, Direction, Effect, Field, FieldSpec, FrameFate, FrameRecord, Framing, Latency,
    LinkKind, LinkModel, Medium,
};
use hes::DlmsSession;
use tokio::time::Instant;

/// 1 byte per ms, 40 ms per hop, one hop, no loss.
fn slow_link() -> LinkModel {
    LinkModel {
        kind: LinkKind::G3Plc,
        airtime: Airtime::Bitrate { bits_per_second: 8_000 },
        frame_overhead: 0,
        max_payload: None,
        hops: 1,
        hop_latency: Latency::fixed_ms(40),
        hop_loss: 0.0,
        duty_cycle: None,
        medium: Medium::DedicatedFullDuplex,
        radio: None,
        availability: fieldnet::Availability::AlwaysUp,
    }
}

fn delivered_delay(r: &FrameRecord) -> Duration {
    match r.fate {
        FrameFate::Delivered { at, retransmissions: 0, .. } => at - r.entered,
        other => panic!("frame not delivered cleanly: {other:?}"),
    }
}

const CLOCK: CosemAttributeDescriptor = CosemAttributeDescriptor::new(8, codes::CLOCK, 2);

#[tokio::test(start_paused = true)]
async fn the_relay_adds_the_modelled_latency_to_every_frame() {
    let (_meter, attachment) = common::in_process_meter("GE00000001", 1, Framing::Wrapper);
    let mut dcu = DcuSpec::new("DCU-0001", slow_link()).with_backhaul(LinkModel::ideal()).with_meter(attachment);
    dcu.max_sessions = 1;
    let spec = FieldSpec { listen: false, trace_capacity: 100, dcus: vec![dcu], ..FieldSpec::new(7) };
    let field = Field::start(spec).await.unwrap();
    let endpoint = common::endpoint("GE00000001", "127.0.0.1:4059".parse().unwrap(), Framing::Wrapper);

    let t0 = Instant::now();
    let stream = field.connect("GE00000001").await.unwrap();
    let mut session = DlmsSession::open_over(stream, &endpoint, common::timeouts()).await.unwrap();
    let t1 = Instant::now();
    session.get(CLOCK, None).await.unwrap();
    let t2 = Instant::now();

    let trace = field.trace();
    assert_eq!(trace.len(), 4, "AARQ, AARE, GET request, GET response: {trace:#?}");
    assert_eq!(
        trace.iter().map(|r| r.direction).collect::<Vec<_>>(),
        [Direction::Downlink, Direction::Uplink, Direction::Downlink, Direction::Uplink]
    );
    for r in &trace {
        assert_eq!(delivered_delay(r), Duration::from_millis(r.len as u64 + 40), "{r:?}");
    }
    let expected = |a: &FrameRecord, b: &FrameRecord| Duration::from_millis(a.len as u64 + b.len as u64 + 80);
    // Virtual time: the association and the GET took exactly their two frames' delays.
    assert_eq!(t1 - t0, expected(&trace[0], &trace[1]));
    assert_eq!(t2 - t1, expected(&trace[2], &trace[3]));

    let stats = field.stats();
    assert_eq!(stats.total.frames_delivered, 4);
    assert_eq!(stats.total.sessions_opened, 1);
    let total: u64 = trace.iter().map(|r| r.len as u64 + 40).sum();
    assert_eq!(stats.total.modelled_delay, Duration::from_millis(total));
    assert_eq!(stats.dcus[0].1, stats.total);
    assert_eq!(field.meter_stats("GE00000001"), Some(stats.total));

    // A degraded neighbourhood network: half the bandwidth, three times the latency.
    let degraded = field.apply(Effect::Degrade(
        "DCU-0001".into(),
        Degradation { extra_loss: 0.0, latency_factor: 3.0, rate_factor: 0.5 },
    ));
    let t3 = Instant::now();
    session.get(CLOCK, None).await.unwrap();
    let t4 = Instant::now();
    let trace = field.trace();
    let (req, resp) = (&trace[4], &trace[5]);
    for r in [req, resp] {
        assert_eq!(delivered_delay(r), Duration::from_millis(2 * r.len as u64 + 120), "{r:?}");
    }
    assert_eq!(t4 - t3, Duration::from_millis(2 * (req.len + resp.len) as u64 + 240));

    assert!(field.clear(degraded));
    let t5 = Instant::now();
    session.release().await.unwrap();
    let trace = field.trace();
    assert_eq!(Instant::now() - t5, expected(&trace[6], &trace[7]), "back to normal after the degradation");
    field.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_shared_medium_makes_concurrent_sessions_queue() {
    // Two meters on one half-duplex PLC segment: their requests, sent at the same
    // instant, cannot be on the medium together.
    let mut link = slow_link();
    link.medium = Medium::SharedHalfDuplex;
    let (_a, a) = common::in_process_meter("GE00000001", 1, Framing::Wrapper);
    let (_b, b) = common::in_process_meter("GE00000002", 2, Framing::Wrapper);
    let dcu = DcuSpec::new("DCU-0001", link).with_backhaul(LinkModel::ideal()).with_meter(a).with_meter(b);
    let spec = FieldSpec { listen: false, trace_capacity: 100, dcus: vec![dcu], ..FieldSpec::new(7) };
    let field = Field::start(spec).await.unwrap();
    let open = |serial: &'static str| {
        let field = &field;
        async move {
            let endpoint = common::endpoint(serial, "127.0.0.1:4059".parse().unwrap(), Framing::Wrapper);
            let stream = field.connect(serial).await.unwrap();
            DlmsSession::open_over(stream, &endpoint, common::timeouts()).await.unwrap()
        }
    };
    let (sa, sb) = tokio::join!(open("GE00000001"), open("GE00000002"));
    let trace = field.trace();
    let aarqs: Vec<&FrameRecord> = trace.iter().filter(|r| r.direction == Direction::Downlink).collect();
    assert_eq!(aarqs.len(), 2);
    assert_eq!(aarqs[0].entered, aarqs[1].entered, "both AARQs entered the DCU at once");
    // The second AARQ waits for the first one's serialization (its length in ms).
    assert_eq!(delivered_delay(aarqs[0]), Duration::from_millis(aarqs[0].len as u64 + 40));
    assert_eq!(delivered_delay(aarqs[1]), Duration::from_millis((aarqs[0].len + aarqs[1].len) as u64 + 40));
    drop((sa, sb));
    field.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_dcu_relays_at_most_its_session_limit_and_refuses_after_its_queue_time() {
    let (_a, a) = common::in_process_meter("GE00000001", 1, Framing::Wrapper);
    let (_b, b) = common::in_process_meter("GE00000002", 2, Framing::Wrapper);
    let mut dcu = DcuSpec::new("DCU-0001", slow_link()).with_max_sessions(1).with_meter(a).with_meter(b);
    dcu.queue_timeout = Duration::from_secs(10);
    let field = Field::start(FieldSpec { listen: false, dcus: vec![dcu], ..FieldSpec::new(1) }).await.unwrap();
    assert_eq!(field.dcus()[0].max_sessions, 1);
    let endpoint = common::endpoint("GE00000001", "127.0.0.1:4059".parse().unwrap(), Framing::Wrapper);
    let first = DlmsSession::open_over(field.connect("GE00000001").await.unwrap(), &endpoint, common::timeouts())
        .await
        .unwrap();

    // The only slot is taken: the second session waits the queue time, then is refused.
    let t0 = Instant::now();
    let err = field.connect("GE00000002").await.map(|_| ()).unwrap_err();
    assert_eq!(Instant::now() - t0, Duration::from_secs(10));
    assert!(matches!(err, fieldnet::FieldError::Refused { .. }), "{err}");
    assert_eq!(field.stats().total.sessions_refused_busy, 1);

    // Once the first session is released, the slot is free again.
    first.release().await.unwrap();
    let endpoint = common::endpoint("GE00000002", "127.0.0.1:4059".parse().unwrap(), Framing::Wrapper);
    let second = DlmsSession::open_over(field.connect("GE00000002").await.unwrap(), &endpoint, common::timeouts())
        .await
        .unwrap();
    second.release().await.unwrap();
    assert_eq!(field.stats().total.sessions_opened, 2);
}
