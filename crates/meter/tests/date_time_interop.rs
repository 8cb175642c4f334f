//! The date-times the meter emits (Clock time, profile capture times, summer-time switch
//! points) are valid COSEM date-times for the `dlms` crate's decoder (IEC 62056-6-2
//! §4.1.6.1), and a client converting them with `CosemDateTime::to_utc` recovers the exact
//! instants — across both summer-time changes and in two zones.

mod common;

use common::*;
use dlms::Data;
use dlms::datetime::CosemDateTime;
use dlms::obis::codes;
use jiff::SignedDuration;
use meter::{MeterConfig, MeterTimeZone, SimulatedMeter};

#[test]
fn capture_times_convert_back_to_their_instants() {
    for zone in [MeterTimeZone::UK, MeterTimeZone::CET] {
        let config = MeterConfig { time_zone: zone, ..MeterConfig::default() };
        let mut m = SimulatedMeter::new("TZ1", 1, config).unwrap();
        for around in ["2024-03-31T01:00:00Z", "2024-10-27T01:00:00Z"] {
            let centre = ts(around);
            let from = zone.to_cosem(centre - SignedDuration::from_hours(4));
            let to = zone.to_cosem(centre + SignedDuration::from_hours(4));
            let now = centre + SignedDuration::from_hours(24);
            let rows = rows(&m.get(now, &BUFFER, Some(&range(from, to, vec![]))).unwrap());
            assert_eq!(rows.len(), 33);
            for (i, r) in rows.iter().enumerate() {
                r.time.validate().expect("valid date-time");
                let want = centre - SignedDuration::from_hours(4) + SignedDuration::from_mins(15 * i as i64);
                assert_eq!(r.time.to_utc().unwrap(), want, "{zone:?} capture {i}");
                assert_eq!(r.time.clock_status & 0x80 != 0, r.status & 0x08 != 0);
            }
            // The wall clock moves 15 minutes per capture except once, at the switch, where it
            // moves +75 (spring) or −45 (autumn) minutes.
            let minute_of_day = |r: &Row| i32::from(r.time.time.hour) * 60 + i32::from(r.time.time.minute);
            let steps: Vec<i32> =
                rows.windows(2).map(|w| (minute_of_day(&w[1]) - minute_of_day(&w[0])).rem_euclid(1440)).collect();
            let odd: Vec<i32> = steps.iter().copied().filter(|&s| s != 15).collect();
            let want = if around.starts_with("2024-03") { 75 } else { 1440 - 45 };
            assert_eq!(odd, vec![want], "{zone:?} around {around}");
        }
    }
}

#[test]
fn clock_attributes_decode() {
    let mut m = meter(3);
    let now = ts("2024-12-01T17:45:30.5Z");
    let Ok(Data::OctetString(b)) = m.get(now, &attr(8, codes::CLOCK, 2), None) else { panic!() };
    let dt = CosemDateTime::from_octets(&b).unwrap();
    dt.validate().unwrap();
    // Hundredths of a second: the meter's time truncated to 10 ms.
    let meter_ms = m.meter_time(now).as_millisecond();
    assert_eq!(dt.to_utc().unwrap(), jiff::Timestamp::from_millisecond(meter_ms - meter_ms.rem_euclid(10)).unwrap());
    for id in [5, 6] {
        let Ok(Data::OctetString(b)) = m.get(now, &attr(8, codes::CLOCK, id), None) else { panic!() };
        let dt = CosemDateTime::from_octets(&b).unwrap();
        dt.validate().expect("recurring switch date-time is valid");
        assert_eq!(dt.deviation_minutes(), None);
    }
}
