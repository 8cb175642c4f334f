//! Friendly credit: local hours and days during which a prepaid meter does not interrupt the
//! supply, even with no credit left (evenings, nights, weekends: when the customer cannot buy
//! a token). Consumption then is owed and repaid from the next token.
//!
//! The schedule is on the meter's wall clock ([`MeterTimeZone`], summer time included).
//! Every local whole hour falls on a UTC quarter hour (standard offsets are multiples of 15
//! minutes, summer time adds 60), so friendliness is constant on every UTC quarter hour
//! `[k × 15 min, (k + 1) × 15 min)` and changes can only happen at quarter-hour boundaries.

use crate::metrology::calendar::{MS_PER_DAY, weekday};
use crate::metrology::load_model::INTERVAL_MS;
use crate::time_zone::MeterTimeZone;

/// When the supply stays on without credit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FriendlyCredit {
    /// Daily local hours `[start, end)` (0..=23 each; wrapping past midnight when
    /// `start > end`, e.g. `(18, 8)` = 18:00–08:00; equal = none).
    pub daily_hours: Option<(u8, u8)>,
    /// Local days of week friendly all day, 1 = Monday ..= 7 = Sunday.
    pub weekdays: Vec<u8>,
}

impl FriendlyCredit {
    /// No friendly credit.
    pub fn none() -> FriendlyCredit {
        FriendlyCredit::default()
    }

    /// Whether hours are in 0..=23 and days in 1..=7.
    pub fn is_valid(&self) -> bool {
        self.daily_hours.is_none_or(|(s, e)| s < 24 && e < 24) && self.weekdays.iter().all(|d| (1..=7).contains(d))
    }

    /// Whether the meter time `t_ms` (UTC ms) is friendly in `zone`.
    pub fn is_friendly(&self, zone: MeterTimeZone, t_ms: i64) -> bool {
        let local = t_ms + zone.offset_ms_at(t_ms);
        let day = local.div_euclid(MS_PER_DAY);
        if self.weekdays.contains(&weekday(day)) {
            return true;
        }
        let hour = (local.rem_euclid(MS_PER_DAY) / 3_600_000) as u8;
        match self.daily_hours {
            Some((start, end)) if start < end => (start..end).contains(&hour),
            Some((start, end)) if start > end => hour >= start || hour < end,
            _ => false,
        }
    }

    /// The first quarter-hour boundary in `(from_ms, until_ms]` at which friendliness differs
    /// from its value at `from_ms`, else `until_ms`.
    pub fn next_change(&self, zone: MeterTimeZone, from_ms: i64, until_ms: i64) -> i64 {
        if self.daily_hours.is_none() && self.weekdays.is_empty() {
            return until_ms;
        }
        let now = self.is_friendly(zone, from_ms);
        let mut q = (from_ms.div_euclid(INTERVAL_MS) + 1) * INTERVAL_MS;
        while q <= until_ms {
            if self.is_friendly(zone, q) != now {
                return q;
            }
            q += INTERVAL_MS;
        }
        until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn evenings_and_weekends_on_the_wall_clock() {
        let f = FriendlyCredit { daily_hours: Some((18, 8)), weekdays: vec![6, 7] };
        let uk = MeterTimeZone::UK;
        // Wednesday 2024-07-10, BST (UTC+1): 16:59 UTC = 17:59 local, 17:00 UTC = 18:00 local.
        assert!(!f.is_friendly(uk, ms("2024-07-10T16:59:59Z")));
        assert!(f.is_friendly(uk, ms("2024-07-10T17:00:00Z")));
        assert!(f.is_friendly(uk, ms("2024-07-11T06:59:59Z")));
        assert!(!f.is_friendly(uk, ms("2024-07-11T07:00:00Z")));
        // Saturday all day.
        assert!(f.is_friendly(uk, ms("2024-07-13T12:00:00Z")));
        // Winter, GMT: 18:00 local = 18:00 UTC.
        assert!(!f.is_friendly(uk, ms("2024-01-10T17:59:59Z")));
        assert_eq!(
            f.next_change(uk, ms("2024-01-10T12:07:00Z"), ms("2024-01-11T00:00:00Z")),
            ms("2024-01-10T18:00:00Z")
        );
        assert_eq!(
            f.next_change(uk, ms("2024-01-10T12:07:00Z"), ms("2024-01-10T13:00:00Z")),
            ms("2024-01-10T13:00:00Z")
        );
        // Friday 18:00 to Monday 08:00 is one friendly stretch.
        assert_eq!(
            f.next_change(uk, ms("2024-01-12T19:00:00Z"), ms("2024-01-20T00:00:00Z")),
            ms("2024-01-15T08:00:00Z")
        );
        let day = FriendlyCredit { daily_hours: Some((9, 17)), weekdays: vec![] };
        assert!(day.is_friendly(MeterTimeZone::UTC, ms("2024-01-10T09:00:00Z")));
        assert!(!day.is_friendly(MeterTimeZone::UTC, ms("2024-01-10T17:00:00Z")));
        assert!(!FriendlyCredit::none().is_friendly(uk, ms("2024-01-13T12:00:00Z")));
        assert!(!FriendlyCredit { daily_hours: Some((24, 1)), weekdays: vec![] }.is_valid());
        assert!(!FriendlyCredit { daily_hours: None, weekdays: vec![0] }.is_valid());
    }
}
