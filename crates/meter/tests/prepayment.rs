//! Prepaid meter mode through the COSEM interface: the credit is charged exactly what the
//! import register advances, the relay opens at the millisecond the credit runs out and closes
//! when a token arrives; friendly hours, emergency credit, low-credit warning; tokens through
//! the Token gateway (class 115) and the keypad, with the standard's refusals.

mod prepayment_support;

use dlms::Data;
use dlms::obis::codes;
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use meter::objects::credit::{EMERGENCY_CREDIT, TOKEN_CREDIT};
use meter::objects::token_gateway::TOKEN_GATEWAY;
use meter::prepayment::{PrepaymentEventKind, WH_PER_TOKEN_UNIT};
use meter::{
    ControlMode, FriendlyCredit, MeterConfig, PrepaymentConfig, SimulatedMeter, StsKey, TokenDeliveryMethod,
    TokenStatusCode,
};
use prepayment_support::*;
use sts::{DecoderKey, Token, TransferAmount};

const ENTER: CosemMethodDescriptor = CosemMethodDescriptor::new(115, TOKEN_GATEWAY, 1);
const INVOKE_EMERGENCY: CosemMethodDescriptor = CosemMethodDescriptor::new(112, EMERGENCY_CREDIT, 3);

fn enter(m: &mut SimulatedMeter, now: Timestamp, token: &str) -> (u8, Vec<String>) {
    assert_eq!(m.action(now, &ENTER, Some(&Data::OctetString(token.as_bytes().to_vec()))), Ok(None));
    let Data::Structure(status) = get(m, now, 115, TOKEN_GATEWAY, 6) else { panic!("structure") };
    let Some(Data::Enum(code)) = status.first() else { panic!("status_code") };
    let Data::Array(lines) = get(m, now, 115, TOKEN_GATEWAY, 4) else { panic!("array") };
    let lines = lines
        .iter()
        .map(|l| match l {
            Data::OctetString(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("octet-string expected, got {other:?}"),
        })
        .collect();
    (*code, lines)
}

fn exhausted_at(m: &SimulatedMeter) -> Vec<i64> {
    let p = m.prepayment().unwrap();
    p.events().filter(|e| e.kind == PrepaymentEventKind::CreditExhausted).map(|e| e.meter_ms).collect()
}

#[test]
fn credit_is_charged_exactly_the_import_register_advance() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 80_000, |_| {});
    for hours in [1i64, 5, 13, 26] {
        let now = start + SignedDuration::from_hours(hours);
        let used = import_wh(&m, now) - import_wh(&m, start);
        assert!(used > 0 && used < 80_000, "{hours} h: {used} Wh");
        assert_eq!(credit_wh(&mut m, now), 80_000 - used as i32, "after {hours} h");
        let register = get(&mut m, now, 3, codes::ACTIVE_ENERGY_IMPORT, 2);
        assert_eq!(register, Data::DoubleLongUnsigned(import_wh(&m, now) as u32));
        assert_eq!(relay(&mut m, now), (true, 1));
    }
    let ledger = m.prepayment().unwrap().ledger();
    assert_eq!(ledger.credited_wh, 0);
    assert_eq!(ledger.charged_wh, import_wh(&m, start + SignedDuration::from_hours(26)) - import_wh(&m, start));
}

#[test]
fn relay_opens_at_the_millisecond_credit_runs_out_and_closes_when_a_token_arrives() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 2_000, |_| {});
    let later = start + SignedDuration::from_hours(48);
    assert_eq!(relay(&mut m, later), (false, 2), "ready_for_reconnection after local_disconnect");
    assert_eq!(credit_wh(&mut m, later), 0);
    let [s] = exhausted_at(&m)[..] else { panic!("one exhaustion: {:?}", exhausted_at(&m)) };
    let base = import_wh(&m, start);
    assert_eq!(m.metrology().registers(s).active_import_wh - base, 2_000, "exactly the credit");
    assert!(m.metrology().registers(s - 1).active_import_wh - base < 2_000, "not a millisecond earlier");
    assert!(!m.metrology().supply_connected_at(s) && m.metrology().supply_connected_at(s - 1));
    // Registers stand still while the relay is open.
    assert_eq!(import_wh(&m, later), base + 2_000);
    assert_eq!(m.instantaneous(later).active_power_import_w, 0);
    let kinds: Vec<_> = m.prepayment().unwrap().events().map(|e| (e.meter_ms, e.kind.clone())).collect();
    assert!(kinds.contains(&(s, PrepaymentEventKind::SupplyInterrupted)));

    // A 10.0 kWh token: mode 6 reconnects locally (transition h).
    let token = credit_token(DRN, "2024-03-06T09:00:00Z", 100);
    let (status, lines) = enter(&mut m, later, &token);
    assert_eq!(status, TokenStatusCode::ExecutionOk as u8);
    assert_eq!(lines, ["ACCEPT", "Accepted", "credit 10.0 kWh"]);
    assert_eq!(relay(&mut m, later), (true, 1));
    assert_eq!(credit_wh(&mut m, later), 10_000);
    let after = later + SignedDuration::from_hours(3);
    let resumed = import_wh(&m, after) - import_wh(&m, later);
    assert!(resumed > 0, "consumption resumed");
    assert_eq!(credit_wh(&mut m, after), 10_000 - resumed as i32);
    assert_eq!(m.prepayment().unwrap().ledger().credited_wh, 10_000);
}

#[test]
fn in_control_mode_4_the_customer_presses_the_button() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid_in_mode(ControlMode::Mode4, "2024-03-04T09:00:00Z", 500, |_| {});
    let later = start + SignedDuration::from_hours(24);
    assert_eq!(relay(&mut m, later), (false, 2));
    let token = credit_token(DRN, "2024-03-05T09:00:00Z", 50);
    assert_eq!(enter(&mut m, later, &token).0, 3);
    assert_eq!(relay(&mut m, later), (false, 2), "no local reconnection in mode 4");
    let pressed = later + SignedDuration::from_mins(10);
    assert!(m.manual_reconnect(pressed));
    assert_eq!(relay(&mut m, pressed), (true, 1));
    assert_eq!(credit_wh(&mut m, pressed), 5_000);
}

#[test]
fn the_relay_reopens_when_closed_without_credit_and_hes_disconnection_is_not_undone_by_credit() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 300, |_| {});
    let later = start + SignedDuration::from_hours(12);
    assert_eq!(relay(&mut m, later), (false, 2));
    // The customer presses the button with no credit: the meter opens again at once.
    m.manual_reconnect(later);
    assert_eq!(relay(&mut m, later), (false, 2));
    // The HES disconnects remotely (state 0); a token adds credit but does not reconnect.
    let disconnect = CosemMethodDescriptor::new(70, codes::DISCONNECT_CONTROL, 1);
    assert_eq!(m.action(later, &disconnect, Some(&Data::Integer(0))), Ok(None));
    assert_eq!(relay(&mut m, later), (false, 0));
    let token = credit_token(DRN, "2024-03-04T21:00:00Z", 100);
    assert_eq!(enter(&mut m, later, &token).0, 3);
    assert_eq!(relay(&mut m, later), (false, 0));
    assert_eq!(credit_wh(&mut m, later), 10_000);
}

#[test]
fn friendly_hours_keep_the_supply_on_and_the_debt_is_repaid_by_the_next_token() {
    // Friendly 18:00-08:00 local (UK, GMT in March).
    let start = ts("2024-03-04T15:00:00Z");
    // Give exactly the energy the household uses from 15:00 to 20:00 (the metrology of a
    // meter that was never asked anything has no relay events).
    let probe = prepaid("2024-03-04T15:00:00Z", 0, |_| {});
    let credit = import_wh(&probe, ts("2024-03-04T20:00:00Z")) - import_wh(&probe, start);
    assert!(import_wh(&probe, ts("2024-03-04T18:00:00Z")) - import_wh(&probe, start) < credit);
    let mut m = prepaid("2024-03-04T15:00:00Z", credit, |p| {
        p.friendly = FriendlyCredit { daily_hours: Some((18, 8)), weekdays: vec![] };
        p.low_credit_threshold_wh = 0;
    });
    let morning = ts("2024-03-05T08:00:00Z");
    let base = import_wh(&m, start);
    let s = exhausted_at_credit(&m, start, credit);
    assert!(s > ts("2024-03-04T18:00:00Z") && s <= ts("2024-03-04T20:00:00Z"), "runs out in the evening: {s}");
    let night = ts("2024-03-05T07:00:00Z");
    assert_eq!(relay(&mut m, night), (true, 1), "no disconnection in friendly hours");
    let owed = import_wh(&m, night) - base - credit;
    assert_eq!(credit_wh(&mut m, night), -(owed as i32));
    // 08:00 local: friendly credit ends, the supply is interrupted exactly then.
    let noon = ts("2024-03-05T12:00:00Z");
    assert_eq!(relay(&mut m, noon), (false, 2));
    let interrupted: Vec<i64> = m
        .prepayment()
        .unwrap()
        .events()
        .filter(|e| e.kind == PrepaymentEventKind::SupplyInterrupted)
        .map(|e| e.meter_ms)
        .collect();
    assert_eq!(interrupted, [morning.as_millisecond()]);
    let debt = import_wh(&m, morning) - base - credit;
    assert_eq!(credit_wh(&mut m, noon), -(debt as i32));
    assert_eq!(exhausted_at(&m), [s.as_millisecond()]);
    // A 5 kWh token repays the night's debt first.
    let token = credit_token(DRN, "2024-03-05T12:00:00Z", 50);
    assert_eq!(enter(&mut m, noon, &token).0, 3);
    assert_eq!(credit_wh(&mut m, noon), 5_000 - debt as i32);
    assert_eq!(relay(&mut m, noon), (true, 1));
}

/// The first meter time after `start` at which the import advance reaches `credit` Wh, by a
/// linear scan of the metrology in minutes, then seconds, then milliseconds (independent of
/// the prepayment's bisection).
fn exhausted_at_credit(m: &SimulatedMeter, start: Timestamp, credit: u64) -> Timestamp {
    let base = import_wh(m, start);
    let mut t = start.as_millisecond();
    for step in [60_000, 1_000, 1] {
        while m.metrology().registers(t + step).active_import_wh - base < credit {
            t += step;
        }
    }
    Timestamp::from_millisecond(t + 1).unwrap()
}

#[test]
fn emergency_credit_is_borrowed_over_dlms_and_repaid_from_the_next_token() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 4_000, |p| {
        p.emergency_credit_wh = 3_000;
        p.emergency_threshold_wh = 1_000;
    });
    let early = start + SignedDuration::from_mins(10);
    assert_eq!(get(&mut m, early, 112, EMERGENCY_CREDIT, 8), Data::Enum(0), "enabled, not yet selectable");
    assert_eq!(m.action(early, &INVOKE_EMERGENCY, Some(&Data::Enum(2))), Err(ActionResult::OtherReason));
    let out = start + SignedDuration::from_hours(30);
    assert_eq!(relay(&mut m, out), (false, 2));
    assert_eq!(get(&mut m, out, 112, EMERGENCY_CREDIT, 8), Data::Enum(1), "selectable");
    // Invoke: method 1 is not offered, method 3 with enum (2) is.
    let update = CosemMethodDescriptor::new(112, EMERGENCY_CREDIT, 1);
    assert_eq!(m.action(out, &update, Some(&Data::DoubleLong(5))), Err(ActionResult::ReadWriteDenied));
    assert_eq!(m.action(out, &INVOKE_EMERGENCY, Some(&Data::Unsigned(2))), Err(ActionResult::TypeUnmatched));
    assert_eq!(m.action(out, &INVOKE_EMERGENCY, Some(&Data::Enum(2))), Ok(None));
    assert_eq!(relay(&mut m, out), (true, 1), "reconnected on emergency credit");
    assert_eq!(get(&mut m, out, 112, EMERGENCY_CREDIT, 8), Data::Enum(3), "in use");
    // It runs out in turn.
    let out_again = out + SignedDuration::from_hours(30);
    assert_eq!(relay(&mut m, out_again), (false, 2));
    assert_eq!(get(&mut m, out_again, 112, EMERGENCY_CREDIT, 2), Data::DoubleLong(0));
    assert_eq!(get(&mut m, out_again, 112, EMERGENCY_CREDIT, 8), Data::Enum(4), "exhausted");
    let exhausted = exhausted_at(&m);
    assert_eq!(exhausted.len(), 2);
    let invoked_at = out.as_millisecond();
    assert_eq!(
        m.metrology().registers(exhausted[1]).active_import_wh - m.metrology().registers(invoked_at).active_import_wh,
        3_000
    );
    // A 10 kWh token repays the 3 kWh borrowed; 7 kWh remain as token credit.
    let token = credit_token(DRN, "2024-03-07T00:00:00Z", 100);
    assert_eq!(enter(&mut m, out_again, &token).0, 3);
    assert_eq!(credit_wh(&mut m, out_again), 7_000);
    assert_eq!(get(&mut m, out_again, 112, EMERGENCY_CREDIT, 2), Data::DoubleLong(3_000));
    assert_eq!(get(&mut m, out_again, 112, EMERGENCY_CREDIT, 8), Data::Enum(0));
    assert_eq!(relay(&mut m, out_again), (true, 1));
    let p = m.prepayment().unwrap();
    assert_eq!(p.credit().net_wh(), 4_000 + 10_000 - p.ledger().charged_wh as i64);
}

#[test]
fn low_credit_warning_at_the_crossing() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 6_000, |p| p.low_credit_threshold_wh = 2_000);
    let now = start + SignedDuration::from_hours(40);
    assert_eq!(get(&mut m, now, 112, TOKEN_CREDIT, 5), Data::DoubleLong(2_000));
    let low: Vec<i64> = m
        .prepayment()
        .unwrap()
        .events()
        .filter(|e| e.kind == PrepaymentEventKind::LowCredit)
        .map(|e| e.meter_ms)
        .collect();
    let [t] = low[..] else { panic!("one warning: {low:?}") };
    let base = import_wh(&m, start);
    assert_eq!(m.metrology().registers(t).active_import_wh - base, 4_000);
    assert!(m.metrology().registers(t - 1).active_import_wh - base < 4_000);
    assert!(m.prepayment().unwrap().is_low_credit());
    // A token above the threshold clears the warning.
    let token = credit_token(DRN, "2024-03-06T01:00:00Z", 300);
    enter(&mut m, now, &token);
    assert!(!m.prepayment().unwrap().is_low_credit());
}

#[test]
fn refused_tokens_carry_the_standards_result_and_display() {
    let now = ts("2024-03-04T10:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 50_000, |_| {});
    let good = credit_token(DRN, "2024-03-04T09:30:00Z", 20);
    assert_eq!(enter(&mut m, now, &good).0, 3);
    // Replayed.
    let (code, lines) = enter(&mut m, now, &good);
    assert_eq!((code, lines[0].as_str(), lines[1].as_str()), (6, "USED", "UsedError"));
    // Another meter's token: authentication (CRC) failure.
    let foreign = credit_token(OTHER_DRN, "2024-03-04T09:31:00Z", 20);
    let (code, lines) = enter(&mut m, now, &foreign);
    assert_eq!((code, lines[0].as_str(), lines[1].as_str()), (5, "REJECT", "CRCError"));
    // Not 20 digits: format failure.
    let (code, lines) = enter(&mut m, now, "1234-5678");
    assert_eq!((code, lines[1].as_str()), (4, "FormatError"));
    // A mistyped digit of a good token.
    let other = credit_token(DRN, "2024-03-04T09:32:00Z", 20);
    let mut typo = other.clone().into_bytes();
    typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
    let (code, _) = enter(&mut m, now, std::str::from_utf8(&typo).unwrap());
    assert!(code == 5 || code == 4, "mistyped digit refused: {code}");
    // A management function the meter does not model: accepted by the decoder, not executed.
    let civil = ts("2024-03-04T09:33:00Z").to_zoned(TimeZone::UTC).datetime();
    let tid = issuer(DRN).tid(civil).unwrap();
    let limit = management_token(Token::SetMaximumPowerLimit {
        rnd: 1,
        tid,
        limit: TransferAmount::from_value_rounded_up(5_000).unwrap(),
    });
    let (code, lines) = enter(&mut m, now, &limit);
    assert_eq!((code, lines[0].as_str()), (7, "NOT SUPP"));
    // Only the good token changed the credit.
    assert_eq!(m.prepayment().unwrap().ledger().credited_wh, 2_000);
    // Wrong parameter type for enter.
    assert_eq!(m.action(now, &ENTER, Some(&Data::Unsigned(1))), Err(ActionResult::TypeUnmatched));
    // Token gateway attributes after a remote entry.
    assert_eq!(get(&mut m, now, 115, TOKEN_GATEWAY, 2), Data::OctetString(limit.as_bytes().to_vec()));
    assert_eq!(get(&mut m, now, 115, TOKEN_GATEWAY, 5), Data::Enum(0));
    let Data::OctetString(time) = get(&mut m, now, 115, TOKEN_GATEWAY, 3) else { panic!("octet-string") };
    assert_eq!(m.config().time_zone.from_cosem(&dlms::datetime::CosemDateTime::from_octets(&time).unwrap()), Some(now));
}

#[test]
fn keypad_entry_and_clear_credit() {
    let now = ts("2024-03-04T10:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 0, |_| {});
    assert_eq!(relay(&mut m, now), (false, 2));
    let token = credit_token(DRN, "2024-03-04T09:45:00Z", 123);
    let entry = m.enter_token(now, &token, TokenDeliveryMethod::Manual).unwrap();
    assert_eq!((entry.status, entry.display, entry.credit_added_wh), (TokenStatusCode::ExecutionOk, "ACCEPT", 12_300));
    assert_eq!(get(&mut m, now, 115, TOKEN_GATEWAY, 5), Data::Enum(2), "manual entry");
    assert_eq!(relay(&mut m, now), (true, 1));
    let civil = ts("2024-03-04T09:50:00Z").to_zoned(TimeZone::UTC).datetime();
    let clear = management_token(Token::ClearCredit { rnd: 3, tid: issuer(DRN).tid(civil).unwrap(), register: 0 });
    let entry = m.enter_token(now, &clear, TokenDeliveryMethod::Manual).unwrap();
    assert_eq!(entry.status, TokenStatusCode::ExecutionOk);
    assert_eq!(credit_wh(&mut m, now), 0);
    assert_eq!(relay(&mut m, now), (false, 2), "no credit: supply interrupted at once");
    assert_eq!(m.prepayment().unwrap().ledger().credited_wh, 0);
    assert_eq!(entry.outcome.as_ref().map(|_| ()), Ok(()));
    assert_eq!(WH_PER_TOKEN_UNIT, 100);
}

#[test]
fn a_backward_clock_step_does_not_charge_the_repeated_hour_twice() {
    let start = ts("2024-03-04T09:00:00Z");
    let mut m = prepaid("2024-03-04T09:00:00Z", 50_000, |_| {});
    let t1 = start + SignedDuration::from_hours(6);
    credit_wh(&mut m, t1);
    // Set the meter clock one hour back.
    let back = m.config().time_zone.to_cosem(t1 - SignedDuration::from_hours(1));
    let clock = CosemAttributeDescriptor::new(8, codes::CLOCK, 2);
    assert_eq!(m.set(t1, &clock, None, &Data::OctetString(back.to_octets())), DataAccessResult::Success);
    // One true hour later the meter is back at t1: nothing more is charged than R(t1) - R(start).
    let t2 = t1 + SignedDuration::from_hours(1);
    assert_eq!(m.meter_time(t2), t1);
    assert_eq!(credit_wh(&mut m, t2), 50_000 - (import_wh(&m, t1) - import_wh(&m, start)) as i32);
    // And afterwards charging resumes normally.
    let t3 = t2 + SignedDuration::from_hours(2);
    let meter_t3 = m.meter_time(t3);
    assert_eq!(credit_wh(&mut m, t3), 50_000 - (import_wh(&m, meter_t3) - import_wh(&m, start)) as i32);
}

#[test]
fn the_object_list_shows_the_prepayment_objects_only_on_prepaid_meters() {
    let now = ts("2024-03-04T10:00:00Z");
    let classes = |m: &mut SimulatedMeter| -> Vec<(u16, dlms::Obis)> {
        let Data::Array(list) = get(m, now, 15, codes::ASSOCIATION_LN, 2) else { panic!("array") };
        list.iter()
            .map(|e| match e {
                Data::Structure(f) => match (&f[0], &f[2]) {
                    (Data::LongUnsigned(c), Data::OctetString(ln)) => (*c, dlms::Obis::from_slice(ln).unwrap()),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let mut prepaid_meter = prepaid("2024-03-04T09:00:00Z", 1_000, |_| {});
    let list = classes(&mut prepaid_meter);
    assert!(list.contains(&(115, TOKEN_GATEWAY)));
    assert!(list.contains(&(112, TOKEN_CREDIT)) && list.contains(&(112, EMERGENCY_CREDIT)));
    let mut credit_meter = SimulatedMeter::new("C0001", 42, MeterConfig::default()).unwrap();
    let list = classes(&mut credit_meter);
    assert!(!list.iter().any(|(c, _)| *c == 115 || *c == 112));
    let token_gateway = CosemAttributeDescriptor::new(115, TOKEN_GATEWAY, 2);
    assert_eq!(credit_meter.get(now, &token_gateway, None), Err(DataAccessResult::ObjectUndefined));
    assert_eq!(
        credit_meter.action(now, &ENTER, Some(&Data::OctetString(b"1".to_vec()))),
        Err(ActionResult::ObjectUndefined)
    );
    assert!(credit_meter.enter_token(now, "1", TokenDeliveryMethod::Manual).is_none());
}

#[test]
fn invalid_prepayment_configurations_are_refused() {
    let mut c = MeterConfig::default();
    let mut p = PrepaymentConfig::new(StsKey::misty1(DecoderKey::Bits64([0; 8])));
    c.prepayment = Some(p.clone());
    assert!(matches!(SimulatedMeter::new("X", 1, c.clone()), Err(meter::MeterConfigError::InvalidPrepayment(_))));
    p.key = StsKey::misty1(decoder_key(DRN));
    p.friendly.weekdays = vec![8];
    c.prepayment = Some(p.clone());
    assert!(SimulatedMeter::new("X", 1, c.clone()).is_err());
    p.friendly.weekdays = vec![];
    p.tid_memory = 0;
    c.prepayment = Some(p);
    assert!(SimulatedMeter::new("X", 1, c).is_err());
}
