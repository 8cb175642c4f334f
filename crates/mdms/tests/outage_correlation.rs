//! The pure outage correlation engine: transformer, feeder and single-meter outages, lost
//! last gasps, missing restores, momentary vs sustained, and order/repeat independence.
//! Expected values are worked out by hand in the comments.

use jiff::{SignedDuration, Timestamp};
use mdms::outage::{
    Outage, OutageClass, OutageConfig, OutageScope, OutageState, PowerObservation, RestoreEvidence, correlate,
};
use mdms::topology::{FeederId, ServiceRole, Topology, TransformerId};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};

fn t0() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn min(m: i64) -> i64 {
    m * 60
}

/// F1: T1 (M01..M10), T2 (N1..N4), T3 (P1..P4); F2: T4 (Q1..Q4). T1 has check meter C1.
fn topology() -> Topology {
    let mut t = Topology::new();
    let add = |t: &mut Topology, tr: &str, feeder: &str, meters: Vec<String>| {
        t.add_transformer(TransformerId::from(tr), FeederId::from(feeder)).unwrap();
        for m in meters {
            t.connect_meter(MeterId(m), &TransformerId::from(tr), ServiceRole::Customer).unwrap();
        }
    };
    add(&mut t, "T1", "F1", (1..=10).map(|i| format!("M{i:02}")).collect());
    add(&mut t, "T2", "F1", (1..=4).map(|i| format!("N{i}")).collect());
    add(&mut t, "T3", "F1", (1..=4).map(|i| format!("P{i}")).collect());
    add(&mut t, "T4", "F2", (1..=4).map(|i| format!("Q{i}")).collect());
    t.connect_meter(MeterId::from("C1"), &TransformerId::from("T1"), ServiceRole::Check).unwrap();
    t
}

fn ev(meter: &str, event_type: EndDeviceEventType, secs: i64) -> EndDeviceEvent {
    EndDeviceEvent::new(MeterId::from(meter), event_type, at(secs), at(secs + 3), EndDeviceEvent::SOURCE_PUSH)
}

fn down(meter: &str, secs: i64) -> EndDeviceEvent {
    ev(meter, EndDeviceEventType::POWER_DOWN, secs)
}

fn up(meter: &str, secs: i64) -> EndDeviceEvent {
    ev(meter, EndDeviceEventType::POWER_RESTORED, secs)
}

fn run(events: &[EndDeviceEvent], as_of: Timestamp) -> Vec<Outage> {
    let obs: Vec<PowerObservation> = events.iter().filter_map(PowerObservation::from_event).collect();
    correlate(&topology(), &obs, &OutageConfig::default(), as_of).unwrap()
}

fn restored(outage: &Outage, meter: &str) -> (Option<Timestamp>, Option<RestoreEvidence>) {
    let m = outage.meters.iter().find(|m| m.meter.0 == meter).unwrap();
    (m.restored_at, m.restore)
}

/// Six of T1's ten meters report power down within 25 s; four last gasps are lost.
fn transformer_events() -> Vec<EndDeviceEvent> {
    let mut events = Vec::new();
    for i in 1..=6 {
        events.push(down(&format!("M{i:02}"), (i - 1) * 5));
    }
    for i in 1..=3 {
        events.push(up(&format!("M{i:02}"), min(20)));
    }
    for i in 4..=6 {
        events.push(up(&format!("M{i:02}"), min(22)));
    }
    // M07's last gasp was lost but its power-up arrived.
    events.push(up("M07", min(21)));
    events
}

#[test]
fn a_transformer_outage_interrupts_every_customer_even_with_lost_last_gasps() {
    let outages = run(&transformer_events(), at(min(60)));
    assert_eq!(outages.len(), 1, "{outages:#?}");
    let o = &outages[0];
    assert_eq!(o.scope, OutageScope::Transformer(TransformerId::from("T1")));
    assert_eq!(o.started_at, t0());
    assert_eq!(o.customers_interrupted, 10);
    assert_eq!(o.reporting_meters, 6);
    assert_eq!(o.state, OutageState::Closed);
    // Restore quorum: 0.5 × 6 reporting = 3 → the 3rd restore event (20 min).
    // M01-03 20 min (own), M04-06 22 min (own), M07 21 min (own), M08-10 20 min (inferred).
    assert_eq!(restored(o, "M01"), (Some(at(min(20))), Some(RestoreEvidence::Event)));
    assert_eq!(restored(o, "M05"), (Some(at(min(22))), Some(RestoreEvidence::Event)));
    assert_eq!(restored(o, "M07"), (Some(at(min(21))), Some(RestoreEvidence::Event)));
    assert_eq!(restored(o, "M09"), (Some(at(min(20))), Some(RestoreEvidence::Inferred)));
    assert_eq!(o.ended_at, Some(at(min(22))));
    assert_eq!(o.class, Some(OutageClass::Sustained));
    // 3×20 + 3×22 + 21 + 3×20 = 60 + 66 + 21 + 60 = 207 customer minutes.
    assert_eq!(o.customer_minutes, Some(207.0));
    assert_eq!(o.id, format!("transformer:T1:{}", t0().as_millisecond()));
    // The check meter is not a customer.
    assert!(o.meters.iter().all(|m| m.meter.0 != "C1"));
}

#[test]
fn exactly_the_share_declares_a_transformer_outage() {
    // 5 of 10 = 50 % (default share) within the window.
    let events: Vec<_> = (1..=5).map(|i| down(&format!("M{i:02}"), i * 10)).collect();
    let outages = run(&events, at(min(30)));
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].scope, OutageScope::Transformer(TransformerId::from("T1")));
    assert_eq!(outages[0].customers_interrupted, 10);
    assert_eq!(outages[0].state, OutageState::Open);
    assert_eq!(outages[0].class, None);
    assert_eq!(outages[0].class_at(at(min(30)), SignedDuration::from_mins(5)), Some(OutageClass::Sustained));
    // Still open: every customer counts until as_of; first power down at 10 s.
    // 10 customers × (30 min − 10 s) = 10 × 29 min 50 s = 298.333… min.
    assert!((outages[0].customer_minutes_at(at(min(30))) - 10.0 * (29.0 + 50.0 / 60.0)).abs() < 1e-9);

    // The fifth power down 61 s after the first is outside the window: 4 of 10 < 50 %.
    let mut late = events.clone();
    late[4] = down("M05", 10 + 61);
    let outages = run(&late, at(min(30)));
    assert!(outages.iter().all(|o| matches!(o.scope, OutageScope::Meter(_))), "{outages:#?}");
    assert_eq!(outages.len(), 5);
}

#[test]
fn below_the_share_single_meter_outages_wait_for_their_window() {
    let events = [down("M01", 0), down("M02", 10)];
    // Both still within their 60 s window: nothing declared yet (they may join a
    // transformer outage).
    assert!(run(&events, at(30)).is_empty());
    let outages = run(&events, at(65));
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].scope, OutageScope::Meter(MeterId::from("M01")));
    assert_eq!(outages[0].customers_interrupted, 1);
    let outages = run(&events, at(min(2)));
    let scopes: Vec<&OutageScope> = outages.iter().map(|o| &o.scope).collect();
    assert_eq!(scopes, [&OutageScope::Meter(MeterId::from("M01")), &OutageScope::Meter(MeterId::from("M02"))]);
}

#[test]
fn transformers_out_together_make_a_feeder_outage() {
    // F1 has 3 transformers with customers: quorum ceil(0.5 × 3) = 2.
    let mut events: Vec<_> = (1..=5).map(|i| down(&format!("M{i:02}"), i - 1)).collect();
    events.push(down("N1", 20));
    events.push(down("N2", 21));
    // A lone power down on T3 in the window joins the feeder outage.
    events.push(down("P1", 30));
    // T4 is on F2: its meter stays a separate outage.
    events.push(down("Q1", 5));
    for m in ["M01", "M02", "M03", "M04", "M05", "N1", "N2", "P1", "Q1"] {
        events.push(up(m, min(10)));
    }
    let outages = run(&events, at(min(60)));
    assert_eq!(outages.len(), 2, "{outages:#?}");
    let feeder = outages.iter().find(|o| o.scope == OutageScope::Feeder(FeederId::from("F1"))).unwrap();
    // 10 + 4 + 4 customers on F1, 8 of them reported.
    assert_eq!(feeder.customers_interrupted, 18);
    assert_eq!(feeder.reporting_meters, 8);
    assert_eq!(feeder.started_at, t0());
    assert_eq!(feeder.ended_at, Some(at(min(10))));
    // Everyone restored at 10 min (silent meters at the quorum time, also 10 min).
    assert_eq!(feeder.customer_minutes, Some(18.0 * 10.0));
    assert_eq!(restored(feeder, "P4"), (Some(at(min(10))), Some(RestoreEvidence::Inferred)));
    let single = outages.iter().find(|o| o.scope == OutageScope::Meter(MeterId::from("Q1"))).unwrap();
    assert_eq!(single.customers_interrupted, 1);
    // Down at 5 s, restored at 10 min: 9 min 55 s.
    assert!((single.customer_minutes.unwrap() - (9.0 + 55.0 / 60.0)).abs() < 1e-9);
}

#[test]
fn one_transformer_out_on_a_feeder_stays_a_transformer_outage() {
    let events: Vec<_> = (1..=3).map(|i| down(&format!("N{i}"), i)).collect();
    let outages = run(&events, at(min(60)));
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].scope, OutageScope::Transformer(TransformerId::from("T2")));
    assert_eq!(outages[0].customers_interrupted, 4);
}

#[test]
fn momentary_and_sustained_split_at_five_minutes() {
    let case = |restore_secs: i64| {
        let events = [
            down("N1", 0),
            down("N2", 0),
            down("N3", 1),
            up("N1", restore_secs),
            up("N2", restore_secs),
            up("N3", restore_secs),
        ];
        let outages = run(&events, at(min(60)));
        assert_eq!(outages.len(), 1);
        outages[0].clone()
    };
    let two = case(min(2));
    assert_eq!(two.class, Some(OutageClass::Momentary));
    // 4 customers (N4 silent, inferred at the quorum restore) × 2 min.
    assert_eq!(two.customer_minutes, Some(8.0));
    assert_eq!(case(min(5)).class, Some(OutageClass::Momentary));
    assert_eq!(case(min(5) + 1).class, Some(OutageClass::Sustained));
}

#[test]
fn a_read_after_the_outage_proves_power_when_the_restore_is_lost() {
    let events = [down("Q1", 0)];
    let obs: Vec<PowerObservation> = events.iter().filter_map(PowerObservation::from_event).collect();
    let config = OutageConfig::default();
    let open = correlate(&topology(), &obs, &config, at(min(10))).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, OutageState::Open);
    assert_eq!(open[0].class_at(at(min(3)), config.momentary_limit), None);
    assert_eq!(open[0].class_at(at(min(10)), config.momentary_limit), Some(OutageClass::Sustained));
    assert_eq!(open[0].customer_minutes_at(at(min(10))), 10.0);

    let mut with_read = obs.clone();
    with_read.push(PowerObservation::proof(MeterId::from("Q1"), at(min(30))));
    let closed = correlate(&topology(), &with_read, &config, at(min(40))).unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].state, OutageState::Closed);
    assert_eq!(closed[0].ended_at, Some(at(min(30))));
    assert_eq!(restored(&closed[0], "Q1"), (Some(at(min(30))), Some(RestoreEvidence::Proof)));
    // Any other event of the meter itself is a proof too.
    let mut with_event = obs;
    with_event.extend(PowerObservation::from_event(&ev("Q1", EndDeviceEventType::CLOCK_SET, min(25))));
    let closed = correlate(&topology(), &with_event, &config, at(min(40))).unwrap();
    assert_eq!(closed[0].ended_at, Some(at(min(25))));
}

#[test]
fn the_restore_quorum_closes_a_transformer_outage_with_a_lost_restore() {
    // N1..N3 report down; N1, N2 report restore at 15 min; N3's restore is lost and the
    // meter is only read an hour later. Quorum ceil(0.5 × 3) = 2 → re-energised at 15 min.
    let events = [down("N1", 0), down("N2", 1), down("N3", 2), up("N1", min(15)), up("N2", min(15))];
    let mut obs: Vec<PowerObservation> = events.iter().filter_map(PowerObservation::from_event).collect();
    obs.push(PowerObservation::proof(MeterId::from("N3"), at(min(75))));
    let outages = correlate(&topology(), &obs, &OutageConfig::default(), at(min(90))).unwrap();
    assert_eq!(outages.len(), 1);
    let o = &outages[0];
    assert_eq!(o.ended_at, Some(at(min(15))));
    assert_eq!(restored(o, "N3"), (Some(at(min(15))), Some(RestoreEvidence::Inferred)));
    assert_eq!(o.customer_minutes, Some(4.0 * 15.0));
}

#[test]
fn repeats_other_paths_and_order_do_not_change_the_result() {
    let events = transformer_events();
    let reference = run(&events, at(min(60)));
    let mut noisy: Vec<EndDeviceEvent> = events.iter().rev().cloned().collect();
    noisy.extend(events.iter().cloned());
    // The same power downs read back later from the event-log profile.
    for e in &events {
        let mut copy = e.clone();
        copy.source = EndDeviceEvent::SOURCE_PROFILE.into();
        noisy.push(copy);
    }
    assert_eq!(run(&noisy, at(min(60))), reference);
}

#[test]
fn meters_outside_the_topology_and_check_meters() {
    let outages = run(&[down("STRAY", 0), down("C1", 0)], at(10));
    // A meter not in the topology cannot join anything: declared at once. The check meter
    // is no customer: no outage.
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].scope, OutageScope::Meter(MeterId::from("STRAY")));
}

#[test]
fn a_meter_already_out_is_not_interrupted_again() {
    let mut events = vec![down("M10", -min(60))];
    events.extend((1..=5).map(|i| down(&format!("M{i:02}"), i)));
    let outages = run(&events, at(min(5)));
    assert_eq!(outages.len(), 2, "{outages:#?}");
    let transformer = outages.iter().find(|o| matches!(o.scope, OutageScope::Transformer(_))).unwrap();
    assert_eq!(transformer.customers_interrupted, 9);
    assert!(transformer.meters.iter().all(|m| m.meter.0 != "M10"));
}
