//! COSEM date-time (IEC 62056-6-2 §4.1.6.1): `CosemDateTime::from_octets` on the first
//! 12 input bytes (and on the whole input), then `validate`, `to_utc`, `to_local_naive`,
//! `utc_offset` and `Display`. Never panics, and:
//! * `to_octets` gives back the 12 bytes;
//! * when `to_utc` succeeds, `from_utc(instant, deviation, status)` rebuilds the same
//!   local fields (hundredths "not specified" read as 0, day of week filled in);
//! * a value that validates with every field concrete converts to UTC unless it lies at
//!   the edge of the representable range.
#![no_main]

use dlms::datetime::{ClockStatus, CosemDate, CosemDateTime, CosemTime, DateTimeError, NOT_SPECIFIED};
use dlms::{DecodeError, Reader};
use libfuzzer_sys::fuzz_target;

fn check(dt: &CosemDateTime, octets: &[u8]) {
    assert_eq!(dt.to_octets(), octets, "to_octets does not give back the input");
    let _ = (dt.to_string(), dt.date.to_string(), dt.time.to_string());
    let _ = (dt.date.weekday(), dt.date.validate(), dt.time.validate(), dt.date.to_civil(), dt.time.to_civil());
    let _ = (dt.deviation_minutes(), dt.utc_offset(), dt.to_local_naive());
    if let Some(s) = dt.clock_status() {
        let _ = (s.invalid_value(), s.doubtful_value(), s.daylight_saving_active(), s.validate());
    }
    let valid = dt.validate();
    if let Err(e) = valid {
        let _ = e.to_string();
    }
    match dt.to_utc() {
        Ok(instant) => {
            let deviation = dt.deviation_minutes().expect("to_utc succeeded without a deviation");
            let back = CosemDateTime::from_utc(instant, Some(deviation), ClockStatus(dt.clock_status))
                .unwrap_or_else(|e| panic!("from_utc refused the instant {instant} of {dt:?}: {e}"));
            let mut expected = *dt;
            if expected.time.hundredths == NOT_SPECIFIED {
                expected.time.hundredths = 0;
            }
            expected.date.day_of_week = back.date.day_of_week;
            assert_eq!(back, expected, "from_utc(to_utc(x)) changed the local fields");
            assert_eq!(
                Some(back.date.day_of_week),
                dt.date.to_civil().ok().map(|d| d.weekday().to_monday_one_offset() as u8)
            );
        }
        Err(e) => {
            let _ = e.to_string();
            let concrete = dt.date.year != 0xFFFF
                && (1..=12).contains(&dt.date.month)
                && (1..=31).contains(&dt.date.day_of_month)
                && dt.time.hour != NOT_SPECIFIED
                && dt.time.minute != NOT_SPECIFIED
                && dt.time.second != NOT_SPECIFIED
                && dt.deviation_minutes().is_some();
            if valid.is_ok() && concrete {
                assert_eq!(e, DateTimeError::Unrepresentable, "valid concrete date-time {dt:?} not convertible");
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    match CosemDateTime::from_octets(input) {
        Ok(dt) => check(&dt, input),
        Err(e) => assert!(input.len() != 12, "12 bytes refused: {e:?}"),
    }
    if let Some(octets) = input.get(..12) {
        let dt = CosemDateTime::from_octets(octets).expect("12 bytes refused");
        check(&dt, octets);
    }
    let mut r = Reader::new(input);
    match CosemDate::decode_raw(&mut r) {
        Ok(d) => {
            let _ = (d.to_string(), d.validate());
        }
        Err(e) => assert!(matches!(e, DecodeError::Truncated { .. }) && input.len() < 5),
    }
    let mut r = Reader::new(input);
    if let Ok(t) = CosemTime::decode_raw(&mut r) {
        let _ = (t.to_string(), t.validate());
    }
});
