//! IEEE 1366-2012 indices against values worked out by hand from the definitions
//! (clause 3): SAIFI = ΣN_i/N_T, SAIDI = Σr_i·N_i/N_T, CAIDI = SAIDI/SAIFI,
//! CAIFI = ΣN_i/CN, ASAI = 1 − Σr_i·N_i/(N_T·T), MAIFI = ΣIM_i·N_mi/N_T,
//! MAIFIe = ΣIM_E·N_mi/N_T. Major event days by the 2.5 beta method (clause 4.5).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mdms::outage::{AffectedMeter, Outage, OutageClass, OutageScope, OutageState};
use mdms::reliability::major_event::{daily_saidi, exclude_major_event_days, major_event_days, major_event_threshold};
use mdms::reliability::{InterruptionEvent, MOMENTARY_LIMIT, ReliabilityError, reliability_indices};
use mdms::topology::TransformerId;
use model::MeterId;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// A year on a system of 1 000 customers:
/// - A: 200 customers for 90 min, B: 50 for 30 min, C: 100 for 10 min (sustained);
/// - D: 300 customers for 1 min, E: 40 for exactly 5 min (momentary: ≤ 5 min);
/// - F: 500 customers for 2 h, but starting after the period (not counted).
fn year() -> Vec<InterruptionEvent> {
    vec![
        InterruptionEvent::uniform(ts("2024-02-01T10:00:00Z"), mins(90), 200),
        InterruptionEvent::uniform(ts("2024-05-01T10:00:00Z"), mins(30), 50),
        InterruptionEvent::uniform(ts("2024-07-01T10:00:00Z"), mins(10), 100),
        InterruptionEvent::uniform(ts("2024-08-01T10:00:00Z"), mins(1), 300),
        InterruptionEvent::uniform(ts("2024-09-01T10:00:00Z"), mins(5), 40),
        InterruptionEvent::uniform(ts("2025-01-01T00:00:00Z"), mins(120), 500),
    ]
}

#[test]
fn indices_of_a_year_match_the_definitions() {
    let from = ts("2024-01-01T00:00:00Z");
    let to = ts("2025-01-01T00:00:00Z");
    let r = reliability_indices(&year(), 1000, from, to, MOMENTARY_LIMIT).unwrap();
    assert_eq!(r.sustained_events, 3);
    assert_eq!(r.momentary_events, 2);
    // ΣN_i = 200 + 50 + 100 = 350.
    assert_eq!(r.customer_interruptions, 350);
    close(r.saifi, 0.35);
    // Σr_i·N_i = 90·200 + 30·50 + 10·100 = 18 000 + 1 500 + 1 000 = 20 500 min.
    close(r.customer_minutes, 20_500.0);
    close(r.saidi_minutes, 20.5);
    // CAIDI = 20.5 / 0.35 = 58.571 428… min.
    close(r.caidi_minutes.unwrap(), 20.5 / 0.35);
    // MAIFI = (300 + 40) / 1000.
    assert_eq!(r.customer_momentary_interruptions, 340);
    close(r.maifi, 0.34);
    // 2024 is a leap year: 366 × 1440 = 527 040 min; ASAI = 1 − 20 500 / (1000 × 527 040).
    close(r.asai, 1.0 - 20_500.0 / 527_040_000.0);
    // Without customer ids there is no CAIFI or MAIFIe.
    assert_eq!(r.caifi, None);
    assert_eq!(r.maifi_e, None);
}

#[test]
fn no_sustained_interruption_gives_no_caidi() {
    let events = [InterruptionEvent::uniform(ts("2024-03-01T00:00:00Z"), mins(2), 10)];
    let r = reliability_indices(&events, 100, ts("2024-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z"), MOMENTARY_LIMIT)
        .unwrap();
    assert_eq!(r.saifi, 0.0);
    assert_eq!(r.saidi_minutes, 0.0);
    assert_eq!(r.caidi_minutes, None);
    assert_eq!(r.asai, 1.0);
    close(r.maifi, 0.1);
}

#[test]
fn bad_inputs_are_errors() {
    let from = ts("2024-01-01T00:00:00Z");
    let to = ts("2025-01-01T00:00:00Z");
    assert_eq!(reliability_indices(&year(), 0, from, to, MOMENTARY_LIMIT), Err(ReliabilityError::NoCustomers));
    assert!(matches!(
        reliability_indices(&year(), 10, to, from, MOMENTARY_LIMIT),
        Err(ReliabilityError::EmptyPeriod { .. })
    ));
    let mut bad = InterruptionEvent::uniform(ts("2024-03-01T00:00:00Z"), mins(10), 10);
    bad.customer_minutes = f64::NAN;
    assert!(matches!(
        reliability_indices(&[bad], 10, from, to, MOMENTARY_LIMIT),
        Err(ReliabilityError::InvalidEvent(_))
    ));
}

fn with_ids(start: &str, duration: SignedDuration, customers: &[&str]) -> InterruptionEvent {
    let mut e = InterruptionEvent::uniform(ts(start), duration, customers.len() as u64);
    e.customers = customers.iter().map(|c| MeterId::from(*c)).collect();
    e
}

#[test]
fn maifi_e_counts_reclosing_sequences_once_and_not_before_a_lockout() {
    // Ten customers. A recloser operates at 10:00 (A, B, C out 30 s), A sees two more
    // operations at 10:01 and 10:03 (same sequence), B's circuit locks out at 10:02 for an
    // hour, and C sees another momentary at 10:10 (a new sequence).
    let events = [
        with_ids("2024-06-01T10:00:00Z", SignedDuration::from_secs(30), &["A", "B", "C"]),
        with_ids("2024-06-01T10:01:00Z", SignedDuration::from_secs(30), &["A"]),
        with_ids("2024-06-01T10:02:00Z", mins(60), &["B"]),
        with_ids("2024-06-01T10:03:00Z", SignedDuration::from_secs(30), &["A"]),
        with_ids("2024-06-01T10:10:00Z", SignedDuration::from_secs(30), &["C"]),
    ];
    let r = reliability_indices(&events, 10, ts("2024-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z"), MOMENTARY_LIMIT)
        .unwrap();
    // MAIFI: momentary customer interruptions 3 + 1 + 1 + 1 = 6 → 0.6.
    close(r.maifi, 0.6);
    // MAIFIe: A one event (10:00, 10:01, 10:03 within 5 min of the first), B none (its
    // momentary precedes the 10:02 lockout), C two (10:00 and 10:10) → 3 / 10.
    close(r.maifi_e.unwrap(), 0.3);
    // Sustained: B for 60 min. SAIFI 0.1, SAIDI 6 min, CAIDI 60 min, CAIFI 1/1.
    close(r.saifi, 0.1);
    close(r.saidi_minutes, 6.0);
    close(r.caidi_minutes.unwrap(), 60.0);
    close(r.caifi.unwrap(), 1.0);
}

#[test]
fn closed_outages_become_interruption_events() {
    let start = ts("2024-06-01T10:00:00Z");
    let meter = |id: &str, restored: i64| AffectedMeter {
        meter: MeterId::from(id),
        reported_down_at: None,
        restored_at: Some(start + mins(restored)),
        restore: None,
    };
    let mut outage = Outage {
        id: "transformer:T1:0".into(),
        scope: OutageScope::Transformer(TransformerId::from("T1")),
        started_at: start,
        ended_at: Some(start + mins(40)),
        state: OutageState::Closed,
        class: Some(OutageClass::Sustained),
        customers_interrupted: 2,
        customer_minutes: Some(70.0),
        reporting_meters: 1,
        meters: vec![meter("M1", 30), meter("M2", 40)],
    };
    let e = InterruptionEvent::from_outage(&outage).unwrap();
    assert_eq!(e.duration, mins(40));
    assert_eq!(e.customers_interrupted, 2);
    assert_eq!(e.customer_minutes, 70.0);
    assert_eq!(e.customers, [MeterId::from("M1"), MeterId::from("M2")]);
    // Stepwise restoration: SAIDI = (30 + 40) / 4 customers served, CAIDI = 70 / 2.
    let r =
        reliability_indices(&[e], 4, ts("2024-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z"), MOMENTARY_LIMIT).unwrap();
    close(r.saidi_minutes, 17.5);
    close(r.caidi_minutes.unwrap(), 35.0);
    outage.state = OutageState::Open;
    assert!(InterruptionEvent::from_outage(&outage).is_none());
}

#[test]
fn the_major_event_threshold_follows_the_2_5_beta_method() {
    // Daily SAIDI e^0, e^1, e^2, e^3 min (and two days without interruptions, skipped):
    // ln = 0, 1, 2, 3 → α = 1.5; sample variance = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3;
    // β = √(5/3) = 1.290 994…; T_MED = e^(1.5 + 2.5 β) = e^4.727 486… ≈ 113.01 min.
    let history = [1.0, 0.0, std::f64::consts::E, 0.0, std::f64::consts::E.powi(2), std::f64::consts::E.powi(3)];
    let t = major_event_threshold(history).unwrap();
    assert_eq!(t.days, 4);
    close(t.alpha, 1.5);
    close(t.beta, (5.0f64 / 3.0).sqrt());
    close(t.t_med, (1.5 + 2.5 * (5.0f64 / 3.0).sqrt()).exp());
    assert!((t.t_med - 113.011).abs() < 0.001, "{}", t.t_med);
    assert!(major_event_threshold([0.0, 5.0]).is_none());

    let daily: BTreeMap<_, _> =
        [(date(2024, 1, 1), 12.0), (date(2024, 1, 2), 150.0), (date(2024, 1, 3), 113.0)].into_iter().collect();
    assert_eq!(major_event_days(&daily, t.t_med), BTreeSet::from([date(2024, 1, 2)]));
}

#[test]
fn daily_saidi_counts_an_interruption_on_the_local_day_it_began() {
    let tz = TimeZone::get("America/New_York").unwrap();
    // 2024-03-10 23:30 EDT = 2024-03-11 03:30 UTC, lasting 2 h across local midnight:
    // 100 customers × 120 min / 1 000 customers = 12 min on 2024-03-10.
    // 2024-03-11 12:00 EDT: 50 customers × 60 min → 3 min on 2024-03-11.
    // A momentary interruption adds nothing.
    let events = [
        InterruptionEvent::uniform(ts("2024-03-11T03:30:00Z"), mins(120), 100),
        InterruptionEvent::uniform(ts("2024-03-11T16:00:00Z"), mins(60), 50),
        InterruptionEvent::uniform(ts("2024-03-11T17:00:00Z"), mins(1), 900),
    ];
    let daily = daily_saidi(&events, 1000, &tz, MOMENTARY_LIMIT).unwrap();
    assert_eq!(daily.len(), 2);
    close(daily[&date(2024, 3, 10)], 12.0);
    close(daily[&date(2024, 3, 11)], 3.0);

    // Excluding 2024-03-10 as a major event day leaves the other two events.
    let kept = exclude_major_event_days(&events, &tz, &BTreeSet::from([date(2024, 3, 10)]));
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|e| e.start >= ts("2024-03-11T16:00:00Z")));
    assert_eq!(daily_saidi(&events, 0, &tz, MOMENTARY_LIMIT), Err(ReliabilityError::NoCustomers));
}
