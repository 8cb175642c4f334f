//! Time-of-use (TOU) schedules: which tariff period (peak, shoulder, off-peak, ...) applies
//! at each local wall-clock time.
//!
//! A schedule is loaded from TOML or JSON through serde ([`TouScheduleSpec`]) and checked
//! once when it becomes a [`TouSchedule`] (deserializing a `TouSchedule` directly runs the
//! same checks). Example (TOML; times and month-days are strings):
//!
//! ```toml
//! name = "Economy peak/off-peak"
//! time_zone = "Europe/London"        # IANA name; periods follow local wall time (DST)
//! default_period = "off_peak"        # applies wherever no rule matches
//! holidays = ["2025-12-25", "2025-12-26"]
//!
//! [demand]
//! rolling_window_minutes = 30        # see billing::demand
//!
//! [[seasons]]                        # optional
//! name = "winter"
//! first_day = "10-01"                # MM-DD, inclusive; a season may wrap the year end
//! last_day = "03-31"
//!
//! [[rules]]                          # first matching rule wins
//! period = "peak"
//! day_types = ["weekday"]            # weekday | weekend | holiday; omitted = every day type
//! seasons = ["winter"]               # omitted = every date
//! from = "16:00"                     # local wall time, [from, to); "24:00" = end of day
//! to = "19:00"                       # to < from wraps past midnight (e.g. 23:00 to 07:00)
//! ```
//!
//! Conventions:
//! - Day types: a date in `holidays` is a holiday whatever its weekday; otherwise Saturday
//!   and Sunday are the weekend and Monday to Friday are weekdays.
//! - A local time is matched against rules in order; the first rule whose day types,
//!   seasons and time range all match gives the period, else `default_period`. A rule that
//!   wraps past midnight is matched against the day type and season of the local date of
//!   the time being classified (so a weekday 23:00–07:00 rule covers Monday 00:00–07:00
//!   and Friday 23:00–24:00, not Saturday 00:00–07:00).
//! - Times are compared at minute resolution. Wall time that a DST transition skips never
//!   occurs; wall time that it repeats is classified the same both times.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::demand::DemandSettings;
use super::error::BillingError;

/// The kind of day a local date is, for TOU rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    /// Monday to Friday, unless listed as a holiday.
    Weekday,
    /// Saturday and Sunday, unless listed as a holiday.
    Weekend,
    /// A date in the schedule's holiday list.
    Holiday,
}

/// A local wall-clock time of day at minute resolution, "HH:MM" from "00:00" to "24:00"
/// ("24:00" is the end of the day, usable as a rule's `to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// The end of the day, "24:00".
    pub const END_OF_DAY: TimeOfDay = TimeOfDay { minutes: 24 * 60 };

    /// The time `hour:minute`; `None` unless it lies in 00:00..=24:00.
    pub fn new(hour: u8, minute: u8) -> Option<TimeOfDay> {
        let minutes = u16::from(hour) * 60 + u16::from(minute);
        (minute < 60 && minutes <= 24 * 60).then_some(TimeOfDay { minutes })
    }

    /// Minutes since local midnight, 0..=1440.
    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl FromStr for TimeOfDay {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BillingError::InvalidSchedule(format!("time of day {s:?} is not \"HH:MM\" in 00:00..=24:00"));
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        TimeOfDay::new(hour, minute).ok_or_else(bad)
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = BillingError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        t.to_string()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A day of the year without a year, "MM-DD" ("02-29" is allowed and matches only in leap
/// years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonthDay {
    month: i8,
    day: i8,
}

impl MonthDay {
    /// The day `month`-`day`; `None` unless it exists in a leap year.
    pub fn new(month: i8, day: i8) -> Option<MonthDay> {
        // 2000 is a leap year, so 02-29 is accepted.
        Date::new(2000, month, day).ok().map(|_| MonthDay { month, day })
    }

    /// The month-day of a calendar date.
    pub fn of(date: Date) -> MonthDay {
        MonthDay { month: date.month(), day: date.day() }
    }

    /// Month, 1..=12.
    pub fn month(self) -> i8 {
        self.month
    }

    /// Day of the month, 1..=31.
    pub fn day(self) -> i8 {
        self.day
    }
}

impl FromStr for MonthDay {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BillingError::InvalidSchedule(format!("month-day {s:?} is not \"MM-DD\""));
        let (m, d) = s.split_once('-').ok_or_else(bad)?;
        if m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let month: i8 = m.parse().map_err(|_| bad())?;
        let day: i8 = d.parse().map_err(|_| bad())?;
        MonthDay::new(month, day).ok_or_else(bad)
    }
}

impl TryFrom<String> for MonthDay {
    type Error = BillingError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MonthDay> for String {
    fn from(d: MonthDay) -> String {
        d.to_string()
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// A named part of the year, `first_day..=last_day`; when `last_day` is before
/// `first_day` the season wraps the year end (e.g. "10-01" to "03-31").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    /// Name used by [`TouRule::seasons`], e.g. "winter".
    pub name: String,
    /// First day of the season (inclusive).
    pub first_day: MonthDay,
    /// Last day of the season (inclusive).
    pub last_day: MonthDay,
}

impl Season {
    /// True when the local `date` lies in the season.
    pub fn contains(&self, date: Date) -> bool {
        let d = MonthDay::of(date);
        if self.first_day <= self.last_day {
            self.first_day <= d && d <= self.last_day
        } else {
            d >= self.first_day || d <= self.last_day
        }
    }
}

/// One TOU rule: `period` applies on the given day types and seasons between `from`
/// (inclusive) and `to` (exclusive), local wall time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouRule {
    /// The tariff period this rule selects, e.g. "peak".
    pub period: String,
    /// Day types the rule applies to; empty (or omitted) means every day type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub day_types: Vec<DayType>,
    /// Names of the seasons the rule applies in; empty (or omitted) means every date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seasons: Vec<String>,
    /// Start of the range, local wall time (inclusive).
    pub from: TimeOfDay,
    /// End of the range, local wall time (exclusive); before `from` to wrap past midnight,
    /// "24:00" for the end of the day. Must differ from `from`.
    pub to: TimeOfDay,
}

impl TouRule {
    /// True when the minute of the day `minute` (0..1440) lies in `[from, to)`, wrapping
    /// past midnight when `to < from`.
    pub fn covers_minute(&self, minute: u16) -> bool {
        let (from, to) = (self.from.minutes, self.to.minutes);
        if from < to { from <= minute && minute < to } else { minute >= from || minute < to }
    }
}

/// A TOU schedule as written in a configuration file (TOML or JSON); see the module docs
/// for the format. Turn it into a checked [`TouSchedule`] with [`TouSchedule::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouScheduleSpec {
    /// Name of the schedule (tariff), reported with the determinants.
    pub name: String,
    /// IANA time zone the periods are defined in, e.g. "Europe/London".
    pub time_zone: String,
    /// Period that applies wherever no rule matches, e.g. "off_peak".
    pub default_period: String,
    /// Local dates that are holidays (day type [`DayType::Holiday`]), "YYYY-MM-DD".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<Date>,
    /// Optional seasons, referenced by name from [`TouRule::seasons`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seasons: Vec<Season>,
    /// Rules in priority order (the first match wins).
    #[serde(default)]
    pub rules: Vec<TouRule>,
    /// Maximum-demand settings (rolling window).
    #[serde(default)]
    pub demand: DemandSettings,
}

/// A checked TOU schedule with its time zone resolved.
///
/// Serializes as, and deserializes from, its [`TouScheduleSpec`] (deserializing runs the
/// checks of [`TouSchedule::new`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "TouScheduleSpec", into = "TouScheduleSpec")]
pub struct TouSchedule {
    spec: TouScheduleSpec,
    tz: TimeZone,
    holidays: BTreeSet<Date>,
    periods: Vec<String>,
}

impl TouSchedule {
    /// Checks `spec` and resolves its time zone.
    ///
    /// Errors: [`BillingError::UnknownTimeZone`]; [`BillingError::InvalidSchedule`] for an
    /// empty schedule or period name, duplicate or empty season names, a rule naming an
    /// undefined season, a rule whose `from` equals its `to` or whose `from` is "24:00".
    pub fn new(spec: TouScheduleSpec) -> Result<TouSchedule, BillingError> {
        let invalid = |what: String| Err(BillingError::InvalidSchedule(what));
        let tz = TimeZone::get(&spec.time_zone)
            .map_err(|source| BillingError::UnknownTimeZone { name: spec.time_zone.clone(), source })?;
        if spec.name.trim().is_empty() {
            return invalid("the schedule name is empty".into());
        }
        if spec.default_period.trim().is_empty() {
            return invalid("default_period is empty".into());
        }
        let mut season_names = BTreeSet::new();
        for season in &spec.seasons {
            if season.name.trim().is_empty() {
                return invalid("a season has an empty name".into());
            }
            if !season_names.insert(season.name.as_str()) {
                return invalid(format!("season {:?} is defined twice", season.name));
            }
        }
        let mut periods: Vec<String> = Vec::new();
        for (index, rule) in spec.rules.iter().enumerate() {
            let at = format!("rule {} (period {:?})", index + 1, rule.period);
            if rule.period.trim().is_empty() {
                return invalid(format!("rule {} has an empty period name", index + 1));
            }
            if rule.from == rule.to {
                return invalid(format!("{at}: from and to are both {}", rule.from));
            }
            if rule.from == TimeOfDay::END_OF_DAY {
                return invalid(format!("{at}: from cannot be 24:00"));
            }
            if let Some(unknown) = rule.seasons.iter().find(|s| !season_names.contains(s.as_str())) {
                return invalid(format!("{at}: season {unknown:?} is not defined"));
            }
            if !periods.contains(&rule.period) {
                periods.push(rule.period.clone());
            }
        }
        if !periods.contains(&spec.default_period) {
            periods.push(spec.default_period.clone());
        }
        let holidays = spec.holidays.iter().copied().collect();
        Ok(TouSchedule { spec, tz, holidays, periods })
    }

    /// The schedule as configured.
    pub fn spec(&self) -> &TouScheduleSpec {
        &self.spec
    }

    /// The schedule's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The schedule's IANA time zone name, as configured.
    pub fn time_zone_name(&self) -> &str {
        &self.spec.time_zone
    }

    /// Maximum-demand settings.
    pub fn demand(&self) -> &DemandSettings {
        &self.spec.demand
    }

    /// Every period the schedule can yield, in order of first appearance in the rules,
    /// then the default period (if no rule names it).
    pub fn periods(&self) -> &[String] {
        &self.periods
    }

    /// The day type of a local date.
    pub fn day_type(&self, date: Date) -> DayType {
        if self.holidays.contains(&date) {
            DayType::Holiday
        } else if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            DayType::Weekend
        } else {
            DayType::Weekday
        }
    }

    /// The period that applies at local wall time `local` (see the module docs for the
    /// matching rules).
    pub fn period_at_local(&self, local: DateTime) -> &str {
        let date = local.date();
        let day_type = self.day_type(date);
        let minute = u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
        let rule = self.spec.rules.iter().find(|rule| {
            (rule.day_types.is_empty() || rule.day_types.contains(&day_type))
                && (rule.seasons.is_empty() || self.in_any_season(&rule.seasons, date))
                && rule.covers_minute(minute)
        });
        rule.map_or(self.spec.default_period.as_str(), |r| r.period.as_str())
    }

    /// The period that applies at the instant `at` (converted to the schedule's local time).
    pub fn period_at(&self, at: Timestamp) -> &str {
        self.period_at_local(self.tz.to_datetime(at))
    }

    /// Index into [`TouSchedule::periods`] of the period at `at`.
    pub(crate) fn period_index_at(&self, at: Timestamp) -> usize {
        let name = self.period_at(at);
        // Every name period_at returns is in `periods` (built from the same rules).
        self.periods.iter().position(|p| p == name).unwrap_or(0)
    }

    fn in_any_season(&self, names: &[String], date: Date) -> bool {
        self.spec.seasons.iter().any(|s| names.contains(&s.name) && s.contains(date))
    }
}

impl TryFrom<TouScheduleSpec> for TouSchedule {
    type Error = BillingError;
    fn try_from(spec: TouScheduleSpec) -> Result<Self, Self::Error> {
        TouSchedule::new(spec)
    }
}

impl From<TouSchedule> for TouScheduleSpec {
    fn from(schedule: TouSchedule) -> TouScheduleSpec {
        schedule.spec
    }
}

impl PartialEq for TouSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}
