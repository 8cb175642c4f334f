//! Local days in the meter class's time zone, for per-day rules and like-day estimation.
//!
//! An interval belongs to the local day in which it starts: the interval ending at `e`
//! belongs to the day containing the instant `e − 1 s`, so the interval ending at local
//! midnight closes the previous day. Days are 23, 24 or 25 hours long around daylight-saving
//! changes (92, 96 or 100 fifteen-minute intervals); everything else is UTC, so a DST change
//! never creates a gap or a duplicate.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::StoreError;
use crate::consumption::local_day_bounds;

/// One local day as UTC seconds: its intervals end in `(start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalDay {
    pub date: Date,
    /// The local midnight starting the day, UTC seconds.
    pub start: i64,
    /// The local midnight ending it, UTC seconds.
    pub end: i64,
}

impl LocalDay {
    /// The day `date` in `tz`.
    pub fn of(date: Date, tz: &TimeZone) -> Result<LocalDay, StoreError> {
        let (start, end) = local_day_bounds(date, tz)?;
        Ok(LocalDay { date, start: start.as_second(), end: end.as_second() })
    }

    /// Length in seconds (82 800, 86 400 or 90 000 for whole-hour DST changes).
    #[cfg(test)]
    pub fn length_s(&self) -> i64 {
        self.end - self.start
    }
}

fn time_error(context: &'static str) -> impl FnOnce(jiff::Error) -> StoreError {
    move |source| StoreError::Time { context, source }
}

/// The local date of the day the interval ending at `end_s` belongs to.
pub(crate) fn day_of_interval_end(end_s: i64, tz: &TimeZone) -> Result<Date, StoreError> {
    let start = Timestamp::from_second(end_s.saturating_sub(1)).map_err(time_error("finding an interval's day"))?;
    Ok(start.to_zoned(tz.clone()).date())
}

/// The consecutive local days whose intervals include every end in `[first_end, last_end]`.
pub(crate) fn days_covering(first_end: i64, last_end: i64, tz: &TimeZone) -> Result<Vec<LocalDay>, StoreError> {
    let mut days = Vec::new();
    let mut date = day_of_interval_end(first_end, tz)?;
    loop {
        let day = LocalDay::of(date, tz)?;
        days.push(day);
        if day.end >= last_end {
            return Ok(days);
        }
        date = date.tomorrow().map_err(time_error("stepping to the next local day"))?;
    }
}

/// The `count` local days before `date` (oldest first).
pub(crate) fn days_before(date: Date, count: u32, tz: &TimeZone) -> Result<Vec<LocalDay>, StoreError> {
    let mut days = Vec::with_capacity(count as usize);
    let mut d = date;
    for _ in 0..count {
        d = d.yesterday().map_err(time_error("stepping to the previous local day"))?;
        days.push(LocalDay::of(d, tz)?);
    }
    days.reverse();
    Ok(days)
}

/// The two kinds of like days: working days and weekends (with public holidays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayType {
    Working,
    Weekend,
}

/// Saturday, Sunday and the listed holidays are weekend days.
pub(crate) fn day_type(date: Date, holidays: &[Date]) -> DayType {
    if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) || holidays.contains(&date) {
        DayType::Weekend
    } else {
        DayType::Working
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn s(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn days_around_the_london_dst_changes_have_23_and_25_hours() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let days = days_covering(s("2025-03-30T00:15:00Z"), s("2025-03-30T23:00:00Z"), &tz).unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!((days[0].date, days[0].length_s()), (date(2025, 3, 30), 82_800));
        // The interval ending at local midnight (23:00Z in summer) closes the day; the next
        // one opens 31 March.
        let days = days_covering(s("2025-03-30T23:00:00Z"), s("2025-03-30T23:15:00Z"), &tz).unwrap();
        assert_eq!(days.iter().map(|d| d.date).collect::<Vec<_>>(), vec![date(2025, 3, 30), date(2025, 3, 31)]);
        let autumn = LocalDay::of(date(2025, 10, 26), &tz).unwrap();
        assert_eq!((autumn.start, autumn.length_s()), (s("2025-10-25T23:00:00Z"), 90_000));
        let before = days_before(date(2025, 10, 27), 2, &tz).unwrap();
        assert_eq!(before.iter().map(|d| d.length_s()).collect::<Vec<_>>(), vec![86_400, 90_000]);
    }

    #[test]
    fn weekends_and_holidays_are_one_day_type() {
        let holidays = [date(2025, 12, 25)];
        assert_eq!(day_type(date(2025, 12, 24), &holidays), DayType::Working);
        assert_eq!(day_type(date(2025, 12, 25), &holidays), DayType::Weekend);
        assert_eq!(day_type(date(2025, 12, 27), &holidays), DayType::Weekend);
    }
}
