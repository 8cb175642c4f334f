//! Activity calendar (class 20) 0.0.13.0.0.255 with the tariffication Script table and the
//! Register activation: the passive calendar written through SET, activated at a time or by
//! method 1, and the tariff registers 1.0.1.8.1 / 1.0.1.8.2 following it from exactly that
//! instant — checked against the load model's interval energies.

mod common;

use common::*;
use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED, YEAR_NOT_SPECIFIED};
use dlms::obis::codes;
use dlms::xdlms::{ActionResult, CosemMethodDescriptor, DataAccessResult};
use dlms::{Data, Obis};
use jiff::{SignedDuration, Timestamp};
use meter::{MeterConfig, MeterTimeZone, SimulatedMeter};

const CALENDAR: Obis = Obis::new(0, 0, 13, 0, 0, 255);
const TARIFF_SCRIPTS: Obis = Obis::new(0, 0, 10, 0, 100, 255);
const REGISTER_ACTIVATION: Obis = Obis::new(0, 0, 14, 0, 1, 255);
const ACTIVATE: CosemMethodDescriptor = CosemMethodDescriptor::new(20, CALENDAR, 1);
const QUARTER_MS: i64 = 900_000;

/// A UK meter whose clock is exact (meter time = true time).
fn exact_meter(seed: u64) -> SimulatedMeter {
    let config = MeterConfig { max_clock_drift_ms: 0, ..MeterConfig::default() };
    SimulatedMeter::new(&format!("AC{seed:06}"), seed, config).unwrap()
}

fn set(m: &mut SimulatedMeter, now: Timestamp, id: i8, value: Data) -> DataAccessResult {
    m.set(now, &attr(20, CALENDAR, id), None, &value)
}

fn get(m: &mut SimulatedMeter, now: Timestamp, class: u16, ln: Obis, id: i8) -> Data {
    m.get(now, &attr(class, ln, id), None).unwrap()
}

fn t1_t2_total(m: &mut SimulatedMeter, now: Timestamp) -> (u64, u64, u64) {
    (
        u64::from(read_register(m, now, codes::ACTIVE_ENERGY_IMPORT_T1)),
        u64::from(read_register(m, now, codes::ACTIVE_ENERGY_IMPORT_T2)),
        u64::from(read_register(m, now, codes::ACTIVE_ENERGY_IMPORT)),
    )
}

/// The load model's import over `[from, to)` (interval-aligned, UK zone: model days are UTC
/// days) counting only intervals whose start satisfies `keep`.
fn model_import(m: &SimulatedMeter, from: Timestamp, to: Timestamp, keep: impl Fn(i64) -> bool) -> u64 {
    let (from, to) = (from.as_millisecond(), to.as_millisecond());
    assert!(from % QUARTER_MS == 0 && to % QUARTER_MS == 0, "interval-aligned span");
    let mut sum = 0;
    let mut start = from;
    while start < to {
        let day = start.div_euclid(86_400_000);
        let k = (start.rem_euclid(86_400_000) / QUARTER_MS) as usize;
        let e = m.metrology().model().day_intervals(day)[k];
        if keep(start) {
            sum += u64::from(e.active_import_wh);
        }
        start += QUARTER_MS;
    }
    sum
}

fn switch(hour: u8, minute: u8, selector: u16) -> Data {
    Data::Structure(vec![
        Data::OctetString(vec![hour, minute, 0, 0]),
        Data::OctetString(TARIFF_SCRIPTS.0.to_vec()),
        Data::LongUnsigned(selector),
    ])
}

fn season(name: &str, month: u8, day: u8, week: &str) -> Data {
    let start = CosemDateTime {
        date: CosemDate { year: YEAR_NOT_SPECIFIED, month, day_of_month: day, day_of_week: NOT_SPECIFIED },
        time: CosemTime { hour: 0, minute: 0, second: 0, hundredths: 0 },
        deviation: DEVIATION_NOT_SPECIFIED,
        clock_status: NOT_SPECIFIED,
    };
    Data::Structure(vec![
        Data::OctetString(name.as_bytes().to_vec()),
        Data::OctetString(start.to_octets()),
        Data::OctetString(week.as_bytes().to_vec()),
    ])
}

fn week(name: &str, days: [u8; 7]) -> Data {
    let mut v = vec![Data::OctetString(name.as_bytes().to_vec())];
    v.extend(days.iter().map(|d| Data::Unsigned(*d)));
    Data::Structure(v)
}

fn day(id: u8, switches: Vec<Data>) -> Data {
    Data::Structure(vec![Data::Unsigned(id), Data::Array(switches)])
}

/// Writes a passive calendar with the same profile every day.
fn write_every_day(m: &mut SimulatedMeter, now: Timestamp, name: &str, switches: Vec<Data>) {
    assert_eq!(set(m, now, 6, Data::OctetString(name.as_bytes().to_vec())), DataAccessResult::Success);
    assert_eq!(set(m, now, 7, Data::Array(vec![season("ALL", 1, 1, "W")])), DataAccessResult::Success);
    assert_eq!(set(m, now, 8, Data::Array(vec![week("W", [1; 7])])), DataAccessResult::Success);
    assert_eq!(set(m, now, 9, Data::Array(vec![day(1, switches)])), DataAccessResult::Success);
}

fn date_time(t: Timestamp) -> Data {
    Data::OctetString(MeterTimeZone::UK.to_cosem(t).to_octets())
}

#[test]
fn t2_accumulates_from_the_activation_time_on() {
    for seed in [4u64, 77, 31_337] {
        let mut m = exact_meter(seed);
        // Wednesday 15 May 2024, 10:00 BST: tariff 1 hours of the standard calendar.
        let t0 = ts("2024-05-15T09:00:00Z");
        let activation = ts("2024-05-15T12:00:00Z");
        let t1 = ts("2024-05-15T18:00:00Z");
        assert_eq!(get(&mut m, t0, 20, CALENDAR, 2), Data::OctetString(b"STANDARD".to_vec()));
        assert_eq!(get(&mut m, t0, 6, REGISTER_ACTIVATION, 4), Data::OctetString(b"T1".to_vec()));
        let (t1_0, t2_0, total_0) = t1_t2_total(&mut m, t0);
        assert_eq!(t1_0 + t2_0, total_0);

        write_every_day(&mut m, t0, "FLAT-T2", vec![switch(0, 0, 2)]);
        assert_eq!(set(&mut m, t0, 10, date_time(activation)), DataAccessResult::Success);
        // Read back: passive written, activation pending, active unchanged.
        assert_eq!(get(&mut m, t0, 20, CALENDAR, 6), Data::OctetString(b"FLAT-T2".to_vec()));
        assert_eq!(get(&mut m, t0, 20, CALENDAR, 9), Data::Array(vec![day(1, vec![switch(0, 0, 2)])]));
        let pending = get(&mut m, t0, 20, CALENDAR, 10);
        assert_eq!(MeterTimeZone::UK.from_cosem(&pending.as_date_time().unwrap()), Some(activation));
        assert_eq!(get(&mut m, t0, 20, CALENDAR, 2), Data::OctetString(b"STANDARD".to_vec()));

        // Before the activation the standard calendar still counts into T1.
        let before = activation - SignedDuration::from_mins(15);
        let (t1_b, t2_b, _) = t1_t2_total(&mut m, before);
        assert_eq!(t1_b - t1_0, model_import(&m, t0, before, |_| true), "seed {seed}: T1 before activation");
        assert_eq!(t2_b, t2_0);

        // From the activation on every Wh goes to T2 and T1 stands still.
        let (t1_1, t2_1, total_1) = t1_t2_total(&mut m, t1);
        assert_eq!(t1_1 - t1_0, model_import(&m, t0, activation, |_| true), "seed {seed}: T1 frozen at activation");
        assert_eq!(t2_1 - t2_0, model_import(&m, activation, t1, |_| true), "seed {seed}: T2 from activation");
        assert_eq!(t1_1 + t2_1, total_1);
        assert!(t2_1 - t2_0 > 0, "the household consumed something in six hours");
        // The calendar is now the active one; attribute 10 is no longer pending.
        assert_eq!(get(&mut m, t1, 20, CALENDAR, 2), Data::OctetString(b"FLAT-T2".to_vec()));
        assert_eq!(get(&mut m, t1, 20, CALENDAR, 5), Data::Array(vec![day(1, vec![switch(0, 0, 2)])]));
        let pending = get(&mut m, t1, 20, CALENDAR, 10).as_date_time().unwrap();
        assert_eq!((pending.date.year, pending.date.month), (YEAR_NOT_SPECIFIED, NOT_SPECIFIED));
        assert_eq!(get(&mut m, t1, 6, REGISTER_ACTIVATION, 4), Data::OctetString(b"T2".to_vec()));
    }
}

#[test]
fn method_activation_splits_an_interval_to_the_millisecond() {
    let mut m = exact_meter(12);
    let t = ts("2024-02-06T13:07:30Z"); // mid-interval, standard T1 hours (GMT)
    let (t1_t, t2_t, _) = t1_t2_total(&mut m, t);
    write_every_day(&mut m, t, "ALL-T2", vec![switch(0, 0, 2)]);
    assert_eq!(m.action(t, &ACTIVATE, Some(&Data::Integer(0))), Ok(None));
    assert_eq!(get(&mut m, t, 20, CALENDAR, 2), Data::OctetString(b"ALL-T2".to_vec()));
    let later = ts("2024-02-06T20:00:00Z");
    let (t1_l, t2_l, _) = t1_t2_total(&mut m, later);
    assert_eq!(t1_l, t1_t, "T1 stops at the activation instant");
    // Everything since the activation counts into T2: the rest of 13:00–13:15 pro-rated
    // the way the registers are (floor(e × elapsed / 900 s)), then whole intervals.
    let first = m.metrology().model().day_intervals(ts("2024-02-06T00:00:00Z").as_millisecond() / 86_400_000)[52];
    let head = u64::from(first.active_import_wh) - u64::from(first.active_import_wh) * 450 / 900;
    let rest = model_import(&m, ts("2024-02-06T13:15:00Z"), later, |_| true);
    assert_eq!(t2_l - t2_t, head + rest);
}

#[test]
fn seasons_and_weekdays_pick_the_day_profile() {
    let mut m = exact_meter(5);
    // Summer from 1 April: weekdays T1 08:00–20:00 local, weekends T2; winter from
    // 1 October: all T2.
    let now = ts("2024-03-29T12:00:00Z");
    let ok = DataAccessResult::Success;
    assert_eq!(set(&mut m, now, 6, Data::OctetString(b"SEASONS".to_vec())), ok);
    assert_eq!(set(&mut m, now, 7, Data::Array(vec![season("SUMMER", 4, 1, "SW"), season("WINTER", 10, 1, "WW")])), ok);
    assert_eq!(set(&mut m, now, 8, Data::Array(vec![week("SW", [1, 1, 1, 1, 1, 2, 2]), week("WW", [2; 7])])), ok);
    let days = Data::Array(vec![day(1, vec![switch(8, 0, 1), switch(20, 0, 2)]), day(2, vec![switch(0, 0, 2)])]);
    assert_eq!(set(&mut m, now, 9, days), ok);
    // Activation Saturday 30 March 00:00 GMT (winter still), read Tuesday 2 April 00:00 BST.
    let activation = ts("2024-03-30T00:00:00Z");
    assert_eq!(set(&mut m, now, 10, date_time(activation)), ok);
    let (t1_a, t2_a, _) = t1_t2_total(&mut m, activation);
    let end = ts("2024-04-01T23:00:00Z");
    let (t1_e, t2_e, _) = t1_t2_total(&mut m, end);
    // Only Monday 1 April 08:00–20:00 BST (07:00–19:00 UTC) is T1.
    let monday_t1 = |s: i64| {
        (ts("2024-04-01T07:00:00Z").as_millisecond()..ts("2024-04-01T19:00:00Z").as_millisecond()).contains(&s)
    };
    assert_eq!(t1_e - t1_a, model_import(&m, activation, end, monday_t1));
    assert_eq!(t2_e - t2_a, model_import(&m, activation, end, |s| !monday_t1(s)));
    assert_eq!(get(&mut m, ts("2024-04-01T12:00:00Z"), 6, REGISTER_ACTIVATION, 4), Data::OctetString(b"T1".to_vec()));
    assert_eq!(get(&mut m, ts("2024-03-31T12:00:00Z"), 6, REGISTER_ACTIVATION, 4), Data::OctetString(b"T2".to_vec()));
}

#[test]
fn the_passive_calendar_is_checked() {
    let mut m = exact_meter(8);
    let now = ts("2024-06-01T10:00:00Z");
    // Shapes.
    assert_eq!(set(&mut m, now, 7, Data::Unsigned(3)), DataAccessResult::TypeUnmatched);
    assert_eq!(set(&mut m, now, 9, Data::Array(vec![Data::Unsigned(1)])), DataAccessResult::TypeUnmatched);
    assert_eq!(set(&mut m, now, 10, Data::Boolean(true)), DataAccessResult::TypeUnmatched);
    // A script the meter does not have, an invalid time, a season without a concrete date.
    let bad_script = Data::Structure(vec![
        Data::OctetString(vec![0, 0, 0, 0]),
        Data::OctetString(TARIFF_SCRIPTS.0.to_vec()),
        Data::LongUnsigned(5),
    ]);
    assert_eq!(set(&mut m, now, 9, Data::Array(vec![day(1, vec![bad_script])])), DataAccessResult::OtherReason);
    assert_eq!(set(&mut m, now, 9, Data::Array(vec![day(1, vec![switch(24, 0, 1)])])), DataAccessResult::OtherReason);
    assert_eq!(set(&mut m, now, 7, Data::Array(vec![season("X", 13, 1, "W")])), DataAccessResult::OtherReason);
    // The active calendar is read-only.
    assert_eq!(set(&mut m, now, 2, Data::OctetString(b"X".to_vec())), DataAccessResult::ReadWriteDenied);
    // A new meter's passive calendar is empty: activating it is refused.
    assert_eq!(m.action(now, &ACTIVATE, None), Err(ActionResult::OtherReason));
    // A week naming a day profile that does not exist cannot be activated.
    assert_eq!(set(&mut m, now, 7, Data::Array(vec![season("ALL", 1, 1, "W")])), DataAccessResult::Success);
    assert_eq!(set(&mut m, now, 8, Data::Array(vec![week("W", [1, 1, 1, 1, 1, 1, 9])])), DataAccessResult::Success);
    assert_eq!(set(&mut m, now, 9, Data::Array(vec![day(1, vec![switch(0, 0, 1)])])), DataAccessResult::Success);
    assert_eq!(set(&mut m, now, 10, date_time(now + SignedDuration::from_hours(1))), DataAccessResult::OtherReason);
    assert_eq!(get(&mut m, now, 20, CALENDAR, 2), Data::OctetString(b"STANDARD".to_vec()));
    // Fixed, it activates; writing "not specified" cancels a pending activation.
    assert_eq!(set(&mut m, now, 8, Data::Array(vec![week("W", [1; 7])])), DataAccessResult::Success);
    assert_eq!(set(&mut m, now, 10, date_time(now + SignedDuration::from_hours(1))), DataAccessResult::Success);
    let not_specified = Data::OctetString(vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF]);
    assert_eq!(set(&mut m, now, 10, not_specified.clone()), DataAccessResult::Success);
    assert_eq!(get(&mut m, now, 20, CALENDAR, 10), not_specified);
    let later = now + SignedDuration::from_hours(3);
    assert_eq!(get(&mut m, later, 20, CALENDAR, 2), Data::OctetString(b"STANDARD".to_vec()), "cancelled");
    // Public scripts: the tariffication table lists scripts 1 and 2.
    let Data::Array(scripts) = get(&mut m, now, 9, TARIFF_SCRIPTS, 2) else { panic!("scripts") };
    assert_eq!(scripts.len(), 2);
}
