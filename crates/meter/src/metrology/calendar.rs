//! Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), in O(1)
//! and without a time-zone database: what the load model needs for every simulated day.
//!
//! The conversions are the classic era-based ones (400-year cycles of 146 097 days).

/// Milliseconds per day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// A civil date: year, month 1..=12, day 1..=31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CivilDate {
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
}

/// Days since 1970-01-01 of a civil date (negative before 1970).
pub(crate) fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub(crate) fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    CivilDate { year: year.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, month, day }
}

/// ISO weekday of a day number: 1 = Monday ..= 7 = Sunday (1970-01-01 was a Thursday).
pub(crate) fn weekday(days: i64) -> u8 {
    ((days + 3).rem_euclid(7) + 1) as u8
}

/// Whether `year` is a Gregorian leap year.
pub(crate) fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a month (month 1..=12; 0 for anything else).
pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day number of the last Sunday of a month.
pub(crate) fn last_sunday(year: i32, month: u8) -> i64 {
    let last = days_from_civil(year, month, days_in_month(year, month));
    last - i64::from(weekday(last) % 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(19_723), CivilDate { year: 2024, month: 1, day: 1 });
        assert_eq!(weekday(0), 4); // Thursday
        assert_eq!(weekday(days_from_civil(2024, 1, 1)), 1); // Monday
        // EU summer time 2024: 31 March and 27 October; 2025: 30 March and 26 October.
        assert_eq!(last_sunday(2024, 3), days_from_civil(2024, 3, 31));
        assert_eq!(last_sunday(2024, 10), days_from_civil(2024, 10, 27));
        assert_eq!(last_sunday(2025, 3), days_from_civil(2025, 3, 30));
        assert_eq!(last_sunday(2025, 10), days_from_civil(2025, 10, 26));
    }

    #[test]
    fn agrees_with_jiff_over_four_centuries() {
        let mut d = jiff::civil::date(1900, 1, 1);
        let mut n = days_from_civil(1900, 1, 1);
        while d.year() < 2300 {
            let c = civil_from_days(n);
            assert_eq!((c.year, c.month, c.day), (i32::from(d.year()), d.month() as u8, d.day() as u8));
            assert_eq!(days_from_civil(c.year, c.month, c.day), n);
            assert_eq!(weekday(n), d.weekday().to_monday_one_offset() as u8);
            d = d.tomorrow().unwrap();
            n += 1;
        }
    }
}
