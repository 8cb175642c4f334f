//! The disconnector through the COSEM interface: remote_disconnect stops all energy
//! registers (the profile shows zero deltas and status bit 6), remote_reconnect resumes them;
//! control modes decide whether reconnection is direct or needs the customer.

mod common;

use common::*;
use dlms::Data;
use dlms::obis::codes;
use dlms::xdlms::{ActionResult, CosemMethodDescriptor, DataAccessResult};
use jiff::SignedDuration;
use meter::MeterTimeZone;

const DISCONNECT: CosemMethodDescriptor = CosemMethodDescriptor::new(70, codes::DISCONNECT_CONTROL, 1);
const RECONNECT: CosemMethodDescriptor = CosemMethodDescriptor::new(70, codes::DISCONNECT_CONTROL, 2);

fn relay_attr(m: &mut meter::SimulatedMeter, now: jiff::Timestamp, id: i8) -> Data {
    m.get(now, &attr(70, codes::DISCONNECT_CONTROL, id), None).unwrap()
}

#[test]
fn disconnect_stops_consumption_and_reconnect_resumes() {
    for seed in [3u64, 17, 2024, 987_654_321] {
        let mut m = meter(seed);
        let off_at = ts("2024-04-10T10:07:13Z"); // mid-interval on purpose
        let on_at = ts("2024-04-12T16:52:41Z");
        let zero = Data::Integer(0);
        assert_eq!(relay_attr(&mut m, off_at, 2), Data::Boolean(true));
        assert_eq!(m.action(off_at, &DISCONNECT, Some(&zero)), Ok(None));
        assert_eq!(relay_attr(&mut m, off_at, 2), Data::Boolean(false));
        assert_eq!(relay_attr(&mut m, off_at, 3), Data::Enum(0));

        let frozen = m.registers(off_at);
        for hours in [1i64, 7, 30, 54] {
            let t = off_at + SignedDuration::from_hours(hours);
            assert_eq!(m.registers(t), frozen, "seed {seed}: registers moved {hours} h after disconnect");
            assert_eq!(m.instantaneous(t).active_power_import_w, 0);
            assert_eq!(m.instantaneous(t).current_ca, 0);
        }
        assert_eq!(m.get(off_at, &attr(1, codes::LOAD_PROFILE_STATUS, 2), None), Ok(Data::Unsigned(0x08 | 0x40)));

        // Mode 4 (default): remote reconnection is direct.
        assert_eq!(m.action(on_at, &RECONNECT, Some(&zero)), Ok(None));
        assert_eq!(relay_attr(&mut m, on_at, 3), Data::Enum(1));
        let resumed = m.registers(on_at + SignedDuration::from_hours(6));
        assert_eq!(m.registers(on_at), frozen, "nothing accumulated while open");
        assert!(resumed.active_import_wh > frozen.active_import_wh, "seed {seed}: consumption resumed");

        // The profile agrees: zero deltas while open, status bit 6 on every touched interval,
        // and the deltas still sum to the register advance.
        let zone = MeterTimeZone::UK;
        let from = ts("2024-04-10T09:00:00Z");
        let to = ts("2024-04-13T00:00:00Z");
        let now = on_at + SignedDuration::from_hours(12);
        let rows = rows(&m.get(now, &BUFFER, Some(&range(zone.to_cosem(from), zone.to_cosem(to), vec![]))).unwrap());
        for w in rows.windows(2) {
            let end = zone.from_cosem(&w[1].time).unwrap();
            let start = end - SignedDuration::from_mins(15);
            let touched = end > off_at && start < on_at;
            assert_eq!(w[1].status & 0x40 != 0, touched, "status at {end}");
            if start >= off_at && end <= on_at {
                assert_eq!(w[1].import_wh, w[0].import_wh, "zero import at {end}");
                assert_eq!(w[1].q_import, w[0].q_import);
                assert_eq!(w[1].export_wh, w[0].export_wh);
            }
        }
        let first = zone.from_cosem(&rows[0].time).unwrap();
        let last = zone.from_cosem(&rows[rows.len() - 1].time).unwrap();
        let regs = |t: jiff::Timestamp| m.metrology().registers(t.as_millisecond());
        assert_eq!(
            u64::from(rows[rows.len() - 1].import_wh - rows[0].import_wh),
            regs(last).active_import_wh - regs(first).active_import_wh
        );
    }
}

#[test]
fn mode_1_reconnection_needs_the_customer() {
    let mut m = meter(9);
    let t0 = ts("2024-08-01T08:00:00Z");
    assert_eq!(m.set(t0, &attr(70, codes::DISCONNECT_CONTROL, 4), None, &Data::Enum(1)), DataAccessResult::Success);
    assert_eq!(relay_attr(&mut m, t0, 4), Data::Enum(1));
    m.action(t0, &DISCONNECT, None).unwrap();
    let t1 = t0 + SignedDuration::from_hours(2);
    m.action(t1, &RECONNECT, Some(&Data::Integer(0))).unwrap();
    assert_eq!(relay_attr(&mut m, t1, 3), Data::Enum(2), "ready_for_reconnection");
    assert_eq!(relay_attr(&mut m, t1, 2), Data::Boolean(false));
    let t2 = t1 + SignedDuration::from_hours(3);
    assert_eq!(m.registers(t2), m.registers(t0), "still open until the button is pressed");
    assert!(m.manual_reconnect(t2));
    assert_eq!(relay_attr(&mut m, t2, 3), Data::Enum(1));
    assert!(m.registers(t2 + SignedDuration::from_hours(2)).active_import_wh > m.registers(t2).active_import_wh);
}

#[test]
fn control_mode_errors_and_idempotence() {
    let mut m = meter(10);
    let t = ts("2024-08-01T08:00:00Z");
    let mode = attr(70, codes::DISCONNECT_CONTROL, 4);
    assert_eq!(m.set(t, &mode, None, &Data::Enum(7)), DataAccessResult::OtherReason);
    assert_eq!(m.set(t, &mode, None, &Data::Unsigned(1)), DataAccessResult::TypeUnmatched);
    assert_eq!(m.action(t, &DISCONNECT, Some(&Data::OctetString(vec![]))), Err(ActionResult::TypeUnmatched));
    // Disconnecting twice is harmless; the registers stay frozen from the first time.
    m.action(t, &DISCONNECT, None).unwrap();
    let frozen = m.registers(t);
    m.action(t + SignedDuration::from_hours(1), &DISCONNECT, None).unwrap();
    assert_eq!(m.registers(t + SignedDuration::from_hours(5)), frozen);
    // Mode 0: the remote methods are refused.
    assert_eq!(m.set(t, &mode, None, &Data::Enum(0)), DataAccessResult::Success);
    assert_eq!(m.action(t, &RECONNECT, None), Err(ActionResult::OtherReason));
    assert_eq!(
        m.action(t, &CosemMethodDescriptor::new(70, codes::DISCONNECT_CONTROL, 3), None),
        Err(ActionResult::ObjectUnavailable)
    );
    // The output state cannot be written.
    assert_eq!(
        m.set(t, &attr(70, codes::DISCONNECT_CONTROL, 2), None, &Data::Boolean(true)),
        DataAccessResult::ReadWriteDenied
    );
}
