//! The meter's own time stamp of a HAN/P1 reading: the COSEM Clock value (0.b.1.0.0.255)
//! or the Data-Notification date-time for DLMS pushes, the `0-0:1.0.0` line for DSMR
//! telegrams.

use jiff::Timestamp;
use jiff::civil::{self, DateTime};
use serde::Serialize;

use crate::datetime::CosemDateTime;
use crate::obis::Obis;

/// Where a [`MeterTime`] was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "obis", rename_all = "kebab-case")]
pub enum MeterTimeSource {
    /// A Clock object value (0.b.1.0.0.255) in the notification body.
    ClockObject(Obis),
    /// The `date-time` field of the Data-Notification APDU (IEC 62056-5-3 §9.3.10).
    NotificationHeader,
    /// The DSMR `0-0:1.0.0(YYMMDDhhmmssX)` line (DSMR 5.0.2 P1 §6.12, "Date-time stamp").
    DsmrTimestamp,
}

/// The time the meter stamped on a reading, as the meter stated it.
///
/// `local` is the wall-clock time shown by the meter. `utc_offset_minutes` is the offset
/// of that local time from UTC (local = UTC + offset, +60 for UTC+01:00), present only
/// when the meter states it (the COSEM deviation, IEC 62056-6-2 §4.1.6.1, is its
/// negation); `utc` is then the instant. DSMR stamps carry no offset, only a
/// summer/winter flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterTime {
    /// Local date and time as sent (hundredths of a second kept when sent).
    pub local: DateTime,
    /// Offset of `local` from UTC in minutes, when stated.
    pub utc_offset_minutes: Option<i32>,
    /// Daylight saving in effect (COSEM clock-status bit 7, DSMR `S`), when stated.
    pub daylight_saving: Option<bool>,
    /// The UTC instant, when the offset is stated.
    pub utc: Option<Timestamp>,
    /// Where the time was read.
    pub source: MeterTimeSource,
}

impl MeterTime {
    /// From a COSEM date-time; `None` when a field needed for the local time (year, month,
    /// day, hour, minute, second) is not specified or out of range.
    pub fn from_cosem(dt: &CosemDateTime, source: MeterTimeSource) -> Option<MeterTime> {
        let local = dt.to_local_naive().ok()?;
        let utc_offset_minutes = dt.utc_offset().ok().map(|o| o.seconds() / 60);
        let daylight_saving = dt.clock_status().map(|s| s.daylight_saving_active());
        Some(MeterTime { local, utc_offset_minutes, daylight_saving, utc: dt.to_utc().ok(), source })
    }

    /// From the DSMR timestamp text `YYMMDDhhmmssX` (X = `S` summer / `W` winter time,
    /// DSMR 5.0.2 P1 §6.4 "TST"); years are 2000 + YY. Also accepts the NES P1 form
    /// `YYYYMMDD hh:mm:ss` (no summer/winter flag). `None` when malformed.
    pub fn from_dsmr(text: &str) -> Option<MeterTime> {
        if let Some(t) = Self::from_nes(text) {
            return Some(t);
        }
        let b = text.as_bytes();
        if b.len() != 13 || !b.get(..12)?.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| -> Option<i8> { text.get(i..i + 2)?.parse().ok() };
        let daylight_saving = match b.get(12)? {
            b'S' => Some(true),
            b'W' => Some(false),
            _ => return None,
        };
        let date = civil::Date::new(2000 + i16::from(two(0)?), two(2)?, two(4)?).ok()?;
        let time = civil::Time::new(two(6)?, two(8)?, two(10)?, 0).ok()?;
        Some(MeterTime {
            local: date.to_datetime(time),
            utc_offset_minutes: None,
            daylight_saving,
            utc: None,
            source: MeterTimeSource::DsmrTimestamp,
        })
    }
    /// `YYYYMMDD hh:mm:ss`, as NES meters send the `0-0:1.0.0` value.
    fn from_nes(text: &str) -> Option<MeterTime> {
        let (date, time) = text.split_once(' ')?;
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) || time.len() != 8 {
            return None;
        }
        let mut hms = time.split(':');
        let mut part = || -> Option<i8> {
            let p = hms.next()?;
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let (h, m, s) = (part()?, part()?, part()?);
        let date =
            civil::Date::new(date.get(..4)?.parse().ok()?, date.get(4..6)?.parse().ok()?, date.get(6..)?.parse().ok()?)
                .ok()?;
        Some(MeterTime {
            local: date.to_datetime(civil::Time::new(h, m, s, 0).ok()?),
            utc_offset_minutes: None,
            daylight_saving: None,
            utc: None,
            source: MeterTimeSource::DsmrTimestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosem_with_deviation_gives_offset_and_utc() {
        // 2021-09-22 17:35:30, deviation -60 (0xFFC4, UTC+01:00), status 0x00
        let dt = CosemDateTime::from_octets(&[0x07, 0xE5, 9, 22, 3, 17, 35, 30, 0xFF, 0xFF, 0xC4, 0x00]).unwrap();
        let t = MeterTime::from_cosem(&dt, MeterTimeSource::NotificationHeader).unwrap();
        assert_eq!(t.local.to_string(), "2021-09-22T17:35:30");
        assert_eq!(t.utc_offset_minutes, Some(60));
        assert_eq!(t.daylight_saving, Some(false));
        assert_eq!(t.utc.unwrap().to_string(), "2021-09-22T16:35:30Z");
    }

    #[test]
    fn cosem_without_deviation_is_local_only() {
        let dt = CosemDateTime::from_octets(&[0x07, 0xE3, 12, 16, 1, 7, 59, 40, 0xFF, 0x80, 0x00, 0xFF]).unwrap();
        let t = MeterTime::from_cosem(&dt, MeterTimeSource::NotificationHeader).unwrap();
        assert_eq!((t.local.to_string().as_str(), t.utc_offset_minutes, t.utc), ("2019-12-16T07:59:40", None, None));
        assert_eq!(t.daylight_saving, None);
        assert!(MeterTime::from_cosem(&CosemDateTime::NOT_SPECIFIED, MeterTimeSource::NotificationHeader).is_none());
    }

    #[test]
    fn dsmr_stamp() {
        let t = MeterTime::from_dsmr("240407122854S").unwrap();
        assert_eq!(t.local.to_string(), "2024-04-07T12:28:54");
        assert_eq!(t.daylight_saving, Some(true));
        let nes = MeterTime::from_dsmr("20240111 09:35:00").unwrap();
        assert_eq!((nes.local.to_string().as_str(), nes.daylight_saving), ("2024-01-11T09:35:00", None));
        for bad in [
            "",
            "240407122854",
            "240407122854X",
            "241307122854W",
            "2404071228545W",
            "24040712285W",
            "20241311 09:35:00",
            "20240111 09:35",
        ] {
            assert!(MeterTime::from_dsmr(bad).is_none(), "{bad}");
        }
    }
}
