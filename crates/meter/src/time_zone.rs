//! The meter's local time: a fixed standard offset plus, optionally, the EU summer-time rule,
//! and the conversions between UTC instants and COSEM date-times (IEC 62056-6-2 §4.1.6.1).
//!
//! Inside the meter everything is UTC milliseconds; local time appears only in the date-times
//! the meter reports (Clock time, profile capture times) and in the household's daily routine
//! and tariff hours, which follow the wall clock.

use std::sync::OnceLock;

use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED, YEAR_NOT_SPECIFIED};
use jiff::Timestamp;

use crate::metrology::calendar::{MS_PER_DAY, civil_from_days, days_from_civil, days_in_month, last_sunday, weekday};

/// Clock status bit 7, "daylight saving active" (IEC 62056-6-2 §4.1.6.1, clock_status).
pub const CLOCK_STATUS_DAYLIGHT_SAVING: u8 = 0x80;

/// The EU summer-time window of `year`, UTC ms: from the last Sunday of March 01:00 UTC to
/// the last Sunday of October 01:00 UTC.
fn summer_window(year: i32) -> (i64, i64) {
    (last_sunday(year, 3) * MS_PER_DAY + 3_600_000, last_sunday(year, 10) * MS_PER_DAY + 3_600_000)
}

/// First year of [`summer_window_at`]'s table.
const TABLE_FIRST_YEAR: i32 = 2000;
/// Years in [`summer_window_at`]'s table.
const TABLE_YEARS: usize = 100;

/// [`summer_window`] of the UTC year containing `utc_ms`. The meter asks for every interval
/// and every capture, so the years 2000..=2098 are looked up in a table computed once (with
/// [`summer_window`]), without calendar arithmetic; other years are computed.
fn summer_window_at(utc_ms: i64) -> (i64, i64) {
    // Per year: (1 January 00:00 UTC in ms, window begin, window end).
    static TABLE: OnceLock<[(i64, i64, i64); TABLE_YEARS]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let year = TABLE_FIRST_YEAR + i as i32;
            let (begin, end) = summer_window(year);
            (days_from_civil(year, 1, 1) * MS_PER_DAY, begin, end)
        })
    });
    let first_ms = table[0].0;
    let computed = || summer_window(civil_from_days(utc_ms.div_euclid(MS_PER_DAY)).year);
    if utc_ms < first_ms {
        return computed();
    }
    // A year estimate off by at most one (146 097 days per 400 years), then corrected.
    let mut i = usize::try_from((utc_ms - first_ms) / MS_PER_DAY * 400 / 146_097).unwrap_or(usize::MAX);
    if table.get(i).is_some_and(|y| y.0 > utc_ms) {
        i = i.saturating_sub(1);
    } else if table.get(i + 1).is_some_and(|y| y.0 <= utc_ms) {
        i += 1;
    }
    match (table.get(i), table.get(i + 1)) {
        (Some(&(start, begin, end)), Some(next)) if start <= utc_ms && utc_ms < next.0 => (begin, end),
        _ => computed(),
    }
}

/// The meter's time zone: local standard time = UTC + `standard_offset_minutes`, and, when
/// `eu_summer_time` is set, one hour more from the last Sunday of March 01:00 UTC to the last
/// Sunday of October 01:00 UTC (the rule of the EU and the UK, Directive 2000/84/EC).
///
/// Other summer-time rules are not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterTimeZone {
    /// Local standard time minus UTC, in minutes (UK 0, Central Europe 60). Must be a multiple
    /// of 15 in -720..=840 so that local days and tariff hours fall on 15-minute intervals.
    pub standard_offset_minutes: i16,
    /// Whether the EU summer-time rule (+60 minutes) applies.
    pub eu_summer_time: bool,
}

impl MeterTimeZone {
    /// United Kingdom: GMT, BST in summer (the household of the load-shape data lives here).
    pub const UK: MeterTimeZone = MeterTimeZone { standard_offset_minutes: 0, eu_summer_time: true };
    /// Central European Time: UTC+1, CEST in summer.
    pub const CET: MeterTimeZone = MeterTimeZone { standard_offset_minutes: 60, eu_summer_time: true };
    /// UTC all year.
    pub const UTC: MeterTimeZone = MeterTimeZone { standard_offset_minutes: 0, eu_summer_time: false };

    /// Summer-time shift, minutes (the Clock's daylight_savings_deviation).
    pub const SUMMER_TIME_DEVIATION_MINUTES: i8 = 60;

    /// Whether the offset is usable (multiple of 15 minutes, within -12:00..=+14:00).
    pub fn is_valid(&self) -> bool {
        let m = self.standard_offset_minutes;
        (-720..=840).contains(&m) && m % 15 == 0
    }

    /// Standard offset in milliseconds.
    pub(crate) fn standard_offset_ms(&self) -> i64 {
        i64::from(self.standard_offset_minutes) * 60_000
    }

    /// Whether summer time is in force at the UTC instant `utc_ms` (ms since the Unix epoch).
    pub(crate) fn summer_time_at_ms(&self, utc_ms: i64) -> bool {
        if !self.eu_summer_time {
            return false;
        }
        let (begin, end) = summer_window_at(utc_ms);
        (begin..end).contains(&utc_ms)
    }

    /// Local time minus UTC at `utc_ms`, in milliseconds.
    pub(crate) fn offset_ms_at(&self, utc_ms: i64) -> i64 {
        self.standard_offset_ms() + if self.summer_time_at_ms(utc_ms) { 3_600_000 } else { 0 }
    }

    /// Whether summer time is in force at `t`.
    pub fn summer_time_at(&self, t: Timestamp) -> bool {
        self.summer_time_at_ms(t.as_millisecond())
    }

    /// The COSEM date-time of an instant in this zone: local wall-clock fields, deviation
    /// = UTC − local in minutes (the `dlms::datetime` convention: −60 for UTC+01:00) and clock
    /// status bit 7 set in summer time (IEC 62056-6-2 §4.1.6.1).
    pub fn to_cosem(&self, t: Timestamp) -> CosemDateTime {
        self.cosem_from_ms(t.as_millisecond())
    }

    pub(crate) fn cosem_from_ms(&self, utc_ms: i64) -> CosemDateTime {
        let offset = self.offset_ms_at(utc_ms);
        let local = utc_ms + offset;
        let days = local.div_euclid(MS_PER_DAY);
        let ms_of_day = local.rem_euclid(MS_PER_DAY);
        let date = civil_from_days(days);
        CosemDateTime {
            date: CosemDate {
                year: u16::try_from(date.year).unwrap_or(YEAR_NOT_SPECIFIED),
                month: date.month,
                day_of_month: date.day,
                day_of_week: weekday(days),
            },
            time: CosemTime {
                hour: (ms_of_day / 3_600_000) as u8,
                minute: (ms_of_day / 60_000 % 60) as u8,
                second: (ms_of_day / 1000 % 60) as u8,
                hundredths: (ms_of_day % 1000 / 10) as u8,
            },
            deviation: (-offset / 60_000) as i16,
            clock_status: if self.summer_time_at_ms(utc_ms) { CLOCK_STATUS_DAYLIGHT_SAVING } else { 0 },
        }
    }

    /// The UTC instant a COSEM date-time denotes, or `None` when it is not one concrete
    /// instant (year, month or day not specified or out of range, wildcard days 0xFD/0xFE,
    /// deviation beyond ±720 minutes). Unspecified hour, minute, second or hundredths count as
    /// 0; the day of week and clock status are ignored. Without a deviation (0x8000) the
    /// fields are read as this zone's wall-clock time (in the repeated autumn hour, the summer
    /// time reading).
    pub fn from_cosem(&self, dt: &CosemDateTime) -> Option<Timestamp> {
        Timestamp::from_millisecond(self.ms_from_cosem(dt)?).ok()
    }

    pub(crate) fn ms_from_cosem(&self, dt: &CosemDateTime) -> Option<i64> {
        let d = &dt.date;
        if d.year == YEAR_NOT_SPECIFIED || !(1..=12).contains(&d.month) {
            return None;
        }
        let year = i32::from(d.year);
        if d.day_of_month == 0 || d.day_of_month > days_in_month(year, d.month) {
            return None;
        }
        let field = |v: u8, max: u8| -> Option<i64> {
            match v {
                NOT_SPECIFIED => Some(0),
                v if v <= max => Some(i64::from(v)),
                _ => None,
            }
        };
        let t = &dt.time;
        let ms_of_day = field(t.hour, 23)? * 3_600_000
            + field(t.minute, 59)? * 60_000
            + field(t.second, 59)? * 1000
            + field(t.hundredths, 99)? * 10;
        let local = days_from_civil(year, d.month, d.day_of_month) * MS_PER_DAY + ms_of_day;
        if dt.deviation == DEVIATION_NOT_SPECIFIED {
            let standard = local - self.standard_offset_ms();
            let summer = standard - 3_600_000;
            Some(if self.summer_time_at_ms(summer) { summer } else { standard })
        } else if (-720..=720).contains(&dt.deviation) {
            Some(local + i64::from(dt.deviation) * 60_000)
        } else {
            None
        }
    }

    /// Clock attribute 5 `daylight_savings_begin` (IEC 62056-6-2 §4.5.1): a recurring local
    /// date-time, year not specified, March, day of month 0xFE (last) with day of week 7
    /// (Sunday) = the last Sunday of March, at the local standard time of 01:00 UTC
    /// (01:00 in the UK, 02:00 in Central Europe). Deviation not specified.
    pub fn summer_time_begin(&self) -> CosemDateTime {
        self.recurring_switch(3, self.standard_offset_ms() + 3_600_000)
    }

    /// Clock attribute 6 `daylight_savings_end`: the last Sunday of October at the local
    /// summer time of 01:00 UTC (02:00 in the UK, 03:00 in Central Europe).
    pub fn summer_time_end(&self) -> CosemDateTime {
        self.recurring_switch(10, self.standard_offset_ms() + 2 * 3_600_000)
    }

    fn recurring_switch(&self, month: u8, local_ms_of_day: i64) -> CosemDateTime {
        let ms = local_ms_of_day.rem_euclid(MS_PER_DAY);
        CosemDateTime {
            date: CosemDate { year: YEAR_NOT_SPECIFIED, month, day_of_month: 0xFE, day_of_week: 7 },
            time: CosemTime {
                hour: (ms / 3_600_000) as u8,
                minute: (ms / 60_000 % 60) as u8,
                second: 0,
                hundredths: 0,
            },
            deviation: DEVIATION_NOT_SPECIFIED,
            clock_status: NOT_SPECIFIED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn uk_summer_time_switches_at_0100_utc() {
        let uk = MeterTimeZone::UK;
        assert!(!uk.summer_time_at(ts("2024-03-31T00:59:59Z")));
        assert!(uk.summer_time_at(ts("2024-03-31T01:00:00Z")));
        assert!(uk.summer_time_at(ts("2024-10-27T00:59:59Z")));
        assert!(!uk.summer_time_at(ts("2024-10-27T01:00:00Z")));
        assert!(!MeterTimeZone::UTC.summer_time_at(ts("2024-07-01T12:00:00Z")));
    }

    #[test]
    fn agrees_with_tzdb_when_available() {
        // Cross-check against the system time-zone database (skipped where none is installed).
        for (zone, name) in [(MeterTimeZone::UK, "Europe/London"), (MeterTimeZone::CET, "Europe/Berlin")] {
            let Ok(tz) = jiff::tz::TimeZone::get(name) else { continue };
            let mut t = ts("2023-01-01T00:00:00Z");
            while t < ts("2027-01-01T00:00:00Z") {
                let want = tz.to_offset(t).seconds() as i64 * 1000;
                assert_eq!(zone.offset_ms_at(t.as_millisecond()), want, "{name} {t}");
                t += jiff::SignedDuration::from_mins(15);
            }
        }
    }

    #[test]
    fn cosem_date_time_fields() {
        let dt = MeterTimeZone::CET.to_cosem(ts("2024-07-01T10:15:30.25Z"));
        assert_eq!(dt.date, CosemDate { year: 2024, month: 7, day_of_month: 1, day_of_week: 1 });
        assert_eq!(dt.time, CosemTime { hour: 12, minute: 15, second: 30, hundredths: 25 });
        assert_eq!(dt.deviation, -120);
        assert_eq!(dt.clock_status, 0x80);
        let w = MeterTimeZone::UK.to_cosem(ts("2024-01-15T23:45:00Z"));
        assert_eq!((w.time.hour, w.time.minute, w.deviation, w.clock_status), (23, 45, 0, 0));
    }

    #[test]
    fn cosem_round_trip_and_unspecified_deviation() {
        for zone in [
            MeterTimeZone::UK,
            MeterTimeZone::CET,
            MeterTimeZone { standard_offset_minutes: -300, eu_summer_time: false },
        ] {
            let mut t = ts("2024-03-30T00:00:00Z");
            while t < ts("2024-04-02T00:00:00Z") {
                let dt = zone.to_cosem(t);
                assert_eq!(zone.from_cosem(&dt), Some(t));
                let unspecified = CosemDateTime { deviation: DEVIATION_NOT_SPECIFIED, ..dt };
                assert_eq!(zone.from_cosem(&unspecified), Some(t), "{t}");
                t += jiff::SignedDuration::from_mins(15);
            }
        }
    }

    #[test]
    fn rejects_non_instants() {
        let good = MeterTimeZone::UK.to_cosem(ts("2024-02-29T12:00:00Z"));
        let mut bad = good;
        bad.date.year = YEAR_NOT_SPECIFIED;
        assert_eq!(MeterTimeZone::UK.from_cosem(&bad), None);
        let mut bad = good;
        bad.date.day_of_month = 0xFE;
        assert_eq!(MeterTimeZone::UK.from_cosem(&bad), None);
        let mut bad = good;
        bad.date.year = 2023; // 29 February 2023 does not exist
        assert_eq!(MeterTimeZone::UK.from_cosem(&bad), None);
        let mut bad = good;
        bad.time.minute = 60;
        assert_eq!(MeterTimeZone::UK.from_cosem(&bad), None);
        let mut bad = good;
        bad.deviation = 721;
        assert_eq!(MeterTimeZone::UK.from_cosem(&bad), None);
        let mut wild = good;
        wild.time.second = NOT_SPECIFIED;
        wild.time.hundredths = NOT_SPECIFIED;
        assert_eq!(MeterTimeZone::UK.from_cosem(&wild), Some(ts("2024-02-29T12:00:00Z")));
    }

    #[test]
    fn summer_time_switch_points() {
        let b = MeterTimeZone::CET.summer_time_begin();
        assert_eq!((b.date.month, b.date.day_of_month, b.date.day_of_week, b.time.hour), (3, 0xFE, 7, 2));
        let e = MeterTimeZone::UK.summer_time_end();
        assert_eq!((e.date.month, e.time.hour), (10, 2));
    }

    #[test]
    fn the_summer_window_table_gives_each_instants_own_year() {
        // The first and last millisecond of every day from 1995 to 2105 (the table covers
        // 2000..=2098), against the year computed from the calendar.
        let days = days_from_civil(1995, 1, 1)..days_from_civil(2106, 1, 1);
        for day in days {
            for utc_ms in [day * MS_PER_DAY, day * MS_PER_DAY + MS_PER_DAY - 1] {
                let year = civil_from_days(day).year;
                assert_eq!(summer_window_at(utc_ms), summer_window(year), "day {day}");
            }
        }
        // 2024: 31 March 01:00 UTC to 27 October 01:00 UTC.
        assert!(!MeterTimeZone::UK.summer_time_at(ts("2024-03-31T00:59:59.999Z")));
        assert!(MeterTimeZone::UK.summer_time_at(ts("2024-03-31T01:00:00Z")));
        assert!(MeterTimeZone::UK.summer_time_at(ts("2024-10-27T00:59:59.999Z")));
        assert!(!MeterTimeZone::UK.summer_time_at(ts("2024-10-27T01:00:00Z")));
    }
}
