//! HDLC frames lost on the neighbourhood network are really dropped by the DCU, and the
//! HES still collects every interval: the HES's and the meter's HDLC links recover with
//! N(S)/N(R) and polling (IEC 62056-46 §6.4.4). Real time (the HDLC timers are the
//! HES's and the meter's own), real TCP from the HES to the DCU, in-process meters.

mod common;

use std::time::Duration;

use fieldnet::framing::{FrameKind, HdlcControl};
use fieldnet::{DcuSpec, DropReason, Field, FieldSpec, FrameFate, Framing, LinkModel};
use hes::{CollectionPlan, collect_meter};
use jiff::{SignedDuration, Timestamp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdlc_frames_are_dropped_and_the_hes_still_collects() {
    let serials = ["GE00000001", "GE00000002", "GE00000003"];
    let mut meters = Vec::new();
    // G3-PLC over one hop with 10 % loss: about one HDLC frame in ten is dropped.
    let mut dcu = DcuSpec::new("DCU-0001", LinkModel::g3_plc().with_hops(1).with_hop_loss(0.10));
    for (i, s) in serials.iter().enumerate() {
        let (meter, attachment) = common::in_process_meter(s, 100 + i as u64, Framing::Hdlc);
        meters.push(meter);
        dcu = dcu.with_meter(attachment);
    }
    let spec = FieldSpec { time_scale: 0.01, trace_capacity: 100_000, dcus: vec![dcu], ..FieldSpec::new(2024) };
    let field = Field::start(spec).await.unwrap();

    let plan =
        CollectionPlan { since: None, history: SignedDuration::from_hours(4), registers: true, load_profile: true };
    let mut tasks = tokio::task::JoinSet::new();
    for s in serials {
        let endpoint = common::endpoint(s, field.hes_address(s).unwrap(), Framing::Hdlc);
        tasks.spawn(async move { collect_meter(&endpoint, &plan, common::timeouts()).await });
    }
    let mut readings = Vec::new();
    while let Some(r) = tasks.join_next().await {
        readings.push(r.unwrap().expect("the HES collects despite dropped HDLC frames"));
    }
    for (serial, meter) in serials.iter().zip(&meters) {
        let reading = readings.iter().find(|r| r.meter.0 == *serial).unwrap();
        let truth = common::profile_truth(meter, Timestamp::now(), 50);
        assert_eq!(common::matching_intervals(reading, &truth), (16, 0), "{serial}: 4 h of 15-minute intervals");
        assert_eq!(reading.registers.len(), 9);
    }

    let trace = field.trace();
    let dropped: Vec<_> = trace.iter().filter(|r| matches!(r.fate, FrameFate::Dropped { .. })).collect();
    assert!(!dropped.is_empty(), "the link dropped frames");
    assert!(dropped.iter().all(|r| r.fate == FrameFate::Dropped { reason: DropReason::Loss }));
    assert!(dropped.iter().all(|r| matches!(r.kind, FrameKind::Hdlc { .. })), "whole HDLC frames are dropped");
    assert!(
        dropped.iter().any(|r| matches!(r.kind, FrameKind::Hdlc { control: HdlcControl::I { .. }, .. })),
        "I-frames (carrying APDU segments) were among them"
    );
    // HDLC recovered by retransmitting: some I-frame N(S) went out twice in a session.
    let resent = trace.iter().any(|a| {
        let FrameKind::Hdlc { control: HdlcControl::I { ns }, .. } = a.kind else { return false };
        trace
            .iter()
            .filter(|b| b.serial == a.serial && b.session == a.session && b.direction == a.direction)
            .filter(|b| b.kind == a.kind && b.len == a.len)
            .filter(|b| matches!(b.kind, FrameKind::Hdlc { control: HdlcControl::I { ns: n }, .. } if n == ns))
            .count()
            > 1
    });
    assert!(resent, "a dropped I-frame was sent again");
    let stats = field.stats();
    assert_eq!(stats.total.frames_dropped_loss, dropped.len() as u64);
    assert_eq!(stats.total.retransmissions, 0, "HDLC losses are not TCP retransmissions");
    assert_eq!(stats.total.sessions_reset, 0);
    tokio::time::timeout(Duration::from_secs(5), field.shutdown()).await.unwrap();
}
