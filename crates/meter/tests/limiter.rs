//! Limiter (class 71) 0.0.17.0.0.255: the load model's demand over a low threshold trips the
//! relay through the disconnect control script table at the exact instant
//! min_over_threshold_duration elapses; a demand-response event applies the emergency
//! threshold in its window only; with control mode 6 the limiter reconnects after
//! min_under_threshold_duration, with mode 4 the customer must.

mod common;

use common::*;
use dlms::obis::codes;
use dlms::xdlms::DataAccessResult;
use dlms::{Data, Obis};
use jiff::{SignedDuration, Timestamp};
use meter::{ControlMode, MeterConfig, MeterTimeZone, SimulatedMeter};

const LIMITER: Obis = Obis::new(0, 0, 17, 0, 0, 255);
const DISCONNECT_SCRIPTS: Obis = Obis::new(0, 0, 10, 0, 106, 255);

fn limited_meter(seed: u64, mode: ControlMode) -> SimulatedMeter {
    let config = MeterConfig { max_clock_drift_ms: 0, control_mode: mode, ..MeterConfig::default() };
    SimulatedMeter::new(&format!("LM{seed:06}"), seed, config).unwrap()
}

fn set(m: &mut SimulatedMeter, now: Timestamp, id: i8, value: Data) -> DataAccessResult {
    m.set(now, &attr(71, LIMITER, id), None, &value)
}

fn get(m: &mut SimulatedMeter, now: Timestamp, id: i8) -> Data {
    m.get(now, &attr(71, LIMITER, id), None).unwrap()
}

fn control_state(m: &mut SimulatedMeter, now: Timestamp) -> Data {
    m.get(now, &attr(70, codes::DISCONNECT_CONTROL, 3), None).unwrap()
}

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

/// The load model's import Wh in the 15-minute interval starting at `start` (UK: model days
/// are UTC days).
fn interval_wh(m: &SimulatedMeter, start: Timestamp) -> u64 {
    let ms = start.as_millisecond();
    assert_eq!(ms % 900_000, 0);
    let e =
        m.metrology().model().day_intervals(ms.div_euclid(86_400_000))[(ms.rem_euclid(86_400_000) / 900_000) as usize];
    u64::from(e.active_import_wh)
}

#[test]
fn a_low_threshold_trips_the_relay_when_the_duration_elapses() {
    for seed in [1u64, 42, 4711] {
        let mut m = limited_meter(seed, ControlMode::Mode4);
        let t0 = ts("2024-11-04T18:00:00Z"); // Monday evening, interval start
        let demand_w = interval_wh(&m, t0) * 4;
        assert!(demand_w > 100, "seed {seed}: the household draws power on a winter evening ({demand_w} W)");
        let import_0 = read_register(&mut m, t0, codes::ACTIVE_ENERGY_IMPORT);
        assert_eq!(set(&mut m, t0, 6, Data::DoubleLongUnsigned(30)), DataAccessResult::Success);
        assert_eq!(set(&mut m, t0, 4, Data::DoubleLongUnsigned(100)), DataAccessResult::Success);
        assert_eq!(get(&mut m, t0, 3), Data::DoubleLongUnsigned(100), "threshold_active = normal");
        assert_eq!(control_state(&mut m, t0 + secs(29)), Data::Enum(1), "still connected after 29 s");
        // Over the threshold for 30 s: local_disconnect (g) → ready_for_reconnection.
        assert_eq!(control_state(&mut m, t0 + secs(31)), Data::Enum(2));
        let later = t0 + SignedDuration::from_hours(2);
        assert_eq!(m.get(later, &attr(70, codes::DISCONNECT_CONTROL, 2), None), Ok(Data::Boolean(false)));
        // The register stopped 30 s after t0: floor(e × 30 s / 900 s) of the interval.
        let import = read_register(&mut m, later, codes::ACTIVE_ENERGY_IMPORT);
        assert_eq!(u64::from(import - import_0), interval_wh(&m, t0) * 30 / 900, "seed {seed}");
        assert_eq!(m.instantaneous(later).active_power_import_w, 0, "no demand with the relay open");
        let trip = m.limiter().events()[0];
        assert_eq!((trip.at_ms, trip.over, trip.changed), ((t0 + secs(30)).as_millisecond(), true, true));
        // Mode 4: the limiter cannot reconnect (h); the customer's button can (e).
        assert_eq!(m.limiter().events().len(), 2, "action_under ran but could not reconnect");
        assert!(!m.limiter().events()[1].changed);
        assert!(m.manual_reconnect(later));
        assert_eq!(control_state(&mut m, later), Data::Enum(1));
        // Still over the threshold: it trips again 30 s later.
        assert_eq!(control_state(&mut m, later + secs(31)), Data::Enum(2));
    }
}

#[test]
fn a_demand_response_event_applies_the_emergency_threshold_in_its_window() {
    let mut m = limited_meter(7, ControlMode::Mode6);
    let t0 = ts("2024-12-02T17:00:00Z");
    for k in 0..4 {
        let at = t0 + SignedDuration::from_mins(15 * k);
        assert!(interval_wh(&m, at) > 0, "demand in every interval of the event ({at})");
    }
    let zone = MeterTimeZone::UK;
    let start = t0 + SignedDuration::from_mins(10);
    let end = start + SignedDuration::from_mins(30);
    let ok = DataAccessResult::Success;
    assert_eq!(set(&mut m, t0, 4, Data::DoubleLongUnsigned(50_000)), ok);
    assert_eq!(set(&mut m, t0, 5, Data::DoubleLongUnsigned(1)), ok);
    assert_eq!(set(&mut m, t0, 6, Data::DoubleLongUnsigned(60)), ok);
    assert_eq!(set(&mut m, t0, 7, Data::DoubleLongUnsigned(120)), ok);
    assert_eq!(set(&mut m, t0, 9, Data::Array(vec![Data::LongUnsigned(7)])), ok);
    let profile = Data::Structure(vec![
        Data::LongUnsigned(7),
        Data::OctetString(zone.to_cosem(start).to_octets()),
        Data::DoubleLongUnsigned(1800),
    ]);
    assert_eq!(set(&mut m, t0, 8, profile.clone()), ok);
    assert_eq!(get(&mut m, t0, 8), profile, "emergency_profile reads back");
    assert_eq!(get(&mut m, t0, 10), Data::Boolean(false));
    assert_eq!(get(&mut m, start + secs(1), 10), Data::Boolean(true));
    assert_eq!(get(&mut m, start + secs(1), 3), Data::DoubleLongUnsigned(1));
    // Connected until the event, tripped 60 s into it.
    assert_eq!(control_state(&mut m, start - secs(1)), Data::Enum(1));
    assert_eq!(control_state(&mut m, start + secs(61)), Data::Enum(2));
    assert_eq!(m.limiter().events()[0].at_ms, (start + secs(60)).as_millisecond());
    // Mode 6: 120 s under the threshold (the relay is open, no demand) → local_reconnect
    // (h), then over again for 60 s → trip: a 3-minute cycle during the event.
    let in_event = start + SignedDuration::from_mins(20);
    let _ = control_state(&mut m, in_event);
    let events = m.limiter().events().to_vec();
    assert!(events.len() >= 6, "several cycles in 20 minutes: {events:?}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.over, i % 2 == 0, "alternating trips and reconnections");
        assert!(e.changed);
    }
    let gaps: Vec<i64> = events.windows(2).map(|w| (w[1].at_ms - w[0].at_ms) / 1000).collect();
    assert!(gaps.iter().enumerate().all(|(i, g)| *g == if i % 2 == 0 { 120 } else { 60 }), "{gaps:?}");
    // After the event the normal threshold (50 kW) applies: reconnected for good.
    let after = end + SignedDuration::from_mins(5);
    assert_eq!(control_state(&mut m, after), Data::Enum(1));
    assert_eq!(get(&mut m, after, 10), Data::Boolean(false));
    assert_eq!(get(&mut m, after, 3), Data::DoubleLongUnsigned(50_000));
    let last = *m.limiter().events().last().unwrap();
    assert!(!last.over && last.at_ms <= (end + secs(120)).as_millisecond());
    assert_eq!(control_state(&mut m, after + SignedDuration::from_hours(3)), Data::Enum(1));
}

#[test]
fn limiter_settings_are_checked() {
    let mut m = limited_meter(3, ControlMode::Mode4);
    let t = ts("2024-11-04T18:00:00Z");
    assert!(interval_wh(&m, t) > 0, "the household draws power");
    // Defaults: no limitation, 60 s, disconnect/reconnect scripts.
    assert_eq!(get(&mut m, t, 4), Data::DoubleLongUnsigned(u32::MAX));
    let actions = Data::Structure(vec![
        Data::Structure(vec![Data::OctetString(DISCONNECT_SCRIPTS.0.to_vec()), Data::LongUnsigned(1)]),
        Data::Structure(vec![Data::OctetString(DISCONNECT_SCRIPTS.0.to_vec()), Data::LongUnsigned(2)]),
    ]);
    assert_eq!(get(&mut m, t, 11), actions);
    assert_eq!(
        get(&mut m, t, 2),
        Data::Structure(vec![
            Data::LongUnsigned(3),
            Data::OctetString(codes::ACTIVE_POWER_IMPORT.0.to_vec()),
            Data::Integer(2)
        ])
    );
    assert_eq!(set(&mut m, t, 4, Data::OctetString(vec![])), DataAccessResult::TypeUnmatched);
    assert_eq!(set(&mut m, t, 3, Data::DoubleLongUnsigned(5)), DataAccessResult::ReadWriteDenied);
    assert_eq!(set(&mut m, t, 10, Data::Boolean(true)), DataAccessResult::ReadWriteDenied);
    // Only active power import can be monitored.
    let voltage =
        Data::Structure(vec![Data::LongUnsigned(3), Data::OctetString(codes::VOLTAGE_L1.0.to_vec()), Data::Integer(2)]);
    assert_eq!(set(&mut m, t, 2, voltage), DataAccessResult::OtherReason);
    // Actions must name disconnect control scripts (or no script at all).
    let unknown = Data::Structure(vec![
        Data::Structure(vec![Data::OctetString(DISCONNECT_SCRIPTS.0.to_vec()), Data::LongUnsigned(9)]),
        Data::Structure(vec![Data::OctetString(vec![0; 6]), Data::LongUnsigned(0)]),
    ]);
    assert_eq!(set(&mut m, t, 11, unknown), DataAccessResult::OtherReason);
    let none = Data::Structure(vec![
        Data::Structure(vec![Data::OctetString(vec![0; 6]), Data::LongUnsigned(0)]),
        Data::Structure(vec![Data::OctetString(vec![0; 6]), Data::LongUnsigned(0)]),
    ]);
    assert_eq!(set(&mut m, t, 11, none), DataAccessResult::Success);
    // With no action the limiter notes the trip but leaves the relay alone.
    assert_eq!(set(&mut m, t, 6, Data::DoubleLongUnsigned(1)), DataAccessResult::Success);
    assert_eq!(set(&mut m, t, 4, Data::DoubleLongUnsigned(0)), DataAccessResult::Success);
    let later = t + SignedDuration::from_mins(30);
    assert_eq!(control_state(&mut m, later), Data::Enum(1));
    assert!(m.limiter().is_tripped());
    assert_eq!(m.limiter().events()[0].trigger, None);
}
