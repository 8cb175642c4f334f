//! Activity calendar (interface class 20 version 0, IEC 62056-6-2 §4.5.5), logical name
//! 0.0.13.0.0.255: the meter's time-of-use tariff programme.
//!
//! Attributes (2..=5 the active calendar, read-only; 6..=9 the passive one and 10,
//! read-write):
//!
//! | id | name | type |
//! |---|---|---|
//! | 2, 6 | calendar_name_active / _passive | octet-string |
//! | 3, 7 | season_profile_active / _passive | array of { season_profile_name octet-string, season_start octet-string(12) date-time, week_name octet-string } |
//! | 4, 8 | week_profile_table_active / _passive | array of { week_profile_name octet-string, monday..sunday unsigned day_id } |
//! | 5, 9 | day_profile_table_active / _passive | array of { day_id unsigned, day_schedule array of { start_time octet-string(4) time, script_logical_name octet-string(6), script_selector long-unsigned } } |
//! | 10 | activate_passive_calendar_time | octet-string(12) date-time |
//!
//! Method 1 `activate_passive_calendar` (data integer (0)) copies the passive calendar to the
//! active one now; writing a concrete date-time into attribute 10 makes the meter do so at
//! that time (at once when it is not in the future). The day profiles call the
//! tariffication Script table 0.0.10.0.100.255 (script 1 → T1, 2 → T2,
//! [`super::script_table`]), and from the activation on the meter's tariff registers
//! 1.0.1.8.1/1.0.1.8.2 follow the new calendar to the millisecond
//! ([`crate::metrology::tariff_schedule`]).
//!
//! Choices of this meter, where the standard leaves them open:
//! * Attribute 10 reads "not specified" (all 0xFF, deviation 0x8000) when no activation is
//!   pending, including after the scheduled activation happened; writing such a value
//!   cancels a pending activation.
//! * The passive calendar is checked as a whole (every week name and day id resolves, at
//!   least one season) when an activation is requested: attribute 10 or method 1 answer
//!   `other-reason` otherwise. Each passive attribute is checked on its own when written
//!   (shape → `type-unmatched`; unknown script, invalid start → `other-reason`).
//! * Writing a passive attribute while an activation is pending re-plans it with the new
//!   passive calendar, or cancels it when the calendar no longer resolves.
//! * Season starts need a concrete month and day (year may be "not specified" =
//!   every year); unspecified hour/minute/second count as 0. The deviation is ignored: the
//!   calendar runs on the meter's local wall clock.
//! * The passive calendar of a new meter is empty; the active one is "STANDARD", equal to
//!   the load model's split (T2 00:00–07:00, T1 07:00–23:00, T2 23:00–24:00, every day).

use std::sync::{Arc, OnceLock};

use dlms::Data;
use dlms::Obis;
use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED, YEAR_NOT_SPECIFIED};
use dlms::xdlms::{ActionResult, DataAccessResult};
use thiserror::Error;

use crate::metrology::Metrology;
use crate::metrology::load_model::Tariff;
use crate::metrology::tariff_schedule::{
    MAX_TABLE_ENTRIES, SeasonStart, TouProgram, TouProgramError, TouSeason, TouSwitch,
};
use crate::objects::script_table::{ScriptEffect, TARIFFICATION_SCRIPT_TABLE, resolve, tariff_script};
use crate::time_zone::MeterTimeZone;

/// Interface class id of Activity calendar.
pub const CLASS_ACTIVITY_CALENDAR: u16 = 20;
/// Logical name of the meter's Activity calendar, 0.0.13.0.0.255.
pub const ACTIVITY_CALENDAR: Obis = Obis::new(0, 0, 13, 0, 0, 255);
/// Longest calendar, season, week profile name accepted, bytes.
pub const MAX_NAME_LEN: usize = 32;

/// One season_profile element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeasonProfile {
    /// season_profile_name.
    pub name: Vec<u8>,
    /// season_start (local wall clock; see the module documentation for the wildcards
    /// accepted), kept as written.
    pub start: CosemDateTime,
    /// week_name: the week profile in force during the season.
    pub week_name: Vec<u8>,
}

/// One week_profile_table element: the day_id of each weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WeekProfile {
    /// week_profile_name.
    pub name: Vec<u8>,
    /// day_id for Monday..=Sunday.
    pub days: [u8; 7],
}

/// One day_profile_action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayProfileAction {
    /// start_time (local; hundredths and unspecified fields count as 0).
    pub start_time: CosemTime,
    /// script_logical_name: the tariffication script table.
    pub script_logical_name: Obis,
    /// script_selector: 1 → T1, 2 → T2.
    pub script_selector: u16,
}

/// One day_profile_table element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DayProfile {
    /// day_id.
    pub day_id: u8,
    /// day_schedule.
    pub actions: Vec<DayProfileAction>,
}

/// One calendar (the active or the passive set of attributes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CalendarSet {
    /// calendar_name.
    pub name: Vec<u8>,
    /// season_profile.
    pub seasons: Vec<SeasonProfile>,
    /// week_profile_table.
    pub weeks: Vec<WeekProfile>,
    /// day_profile_table.
    pub days: Vec<DayProfile>,
}

/// Why a calendar attribute or a whole calendar is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// The value does not have the attribute's type (`type-unmatched`).
    #[error("{0} has the wrong type")]
    Shape(&'static str),
    /// A name is longer than [`MAX_NAME_LEN`] or a table longer than
    /// [`MAX_TABLE_ENTRIES`].
    #[error("{0} is too long")]
    TooLong(&'static str),
    /// A season start is not a usable recurring or one-off date.
    #[error("season start {0:?} needs a concrete month and day")]
    SeasonStart(Vec<u8>),
    /// A start time is not a time of day.
    #[error("invalid day profile start time")]
    StartTime,
    /// A day profile action calls a script the meter does not have.
    #[error("script {selector} of {table} is not a tariffication script")]
    UnknownScript {
        /// script_logical_name.
        table: Obis,
        /// script_selector.
        selector: u16,
    },
    /// A season's week_name is not in the week profile table.
    #[error("week profile {0:?} does not exist")]
    UnknownWeek(Vec<u8>),
    /// A week profile's day_id is not in the day profile table.
    #[error("day_id {0} does not exist")]
    UnknownDay(u8),
    /// The calendar does not make a programme (e.g. no season).
    #[error(transparent)]
    Program(#[from] TouProgramError),
}

impl CalendarError {
    fn access_result(&self) -> DataAccessResult {
        match self {
            CalendarError::Shape(_) => DataAccessResult::TypeUnmatched,
            _ => DataAccessResult::OtherReason,
        }
    }
}

fn octets(d: &Data, what: &'static str) -> Result<Vec<u8>, CalendarError> {
    match d {
        Data::OctetString(b) | Data::VisibleString(b) => {
            if b.len() > MAX_NAME_LEN {
                Err(CalendarError::TooLong(what))
            } else {
                Ok(b.clone())
            }
        }
        _ => Err(CalendarError::Shape(what)),
    }
}

fn items<'a>(d: &'a Data, what: &'static str) -> Result<&'a [Data], CalendarError> {
    match d {
        Data::Array(v) if v.len() > MAX_TABLE_ENTRIES => Err(CalendarError::TooLong(what)),
        Data::Array(v) => Ok(v),
        _ => Err(CalendarError::Shape(what)),
    }
}

fn fields<'a, const N: usize>(d: &'a Data, what: &'static str) -> Result<&'a [Data; N], CalendarError> {
    match d {
        Data::Structure(v) => <&[Data; N]>::try_from(v.as_slice()).map_err(|_| CalendarError::Shape(what)),
        _ => Err(CalendarError::Shape(what)),
    }
}

/// Local wall-clock ms of day of a COSEM time (unspecified fields = 0), `None` when out of
/// range.
fn ms_of_day(t: &CosemTime) -> Option<i64> {
    let f = |v: u8, max: u8| match v {
        NOT_SPECIFIED => Some(0),
        v if v <= max => Some(i64::from(v)),
        _ => None,
    };
    Some(f(t.hour, 23)? * 3_600_000 + f(t.minute, 59)? * 60_000 + f(t.second, 59)? * 1000 + f(t.hundredths, 99)? * 10)
}

fn season_start(dt: &CosemDateTime) -> Result<SeasonStart, CalendarError> {
    let bad = || CalendarError::SeasonStart(dt.to_octets());
    let d = &dt.date;
    if !(1..=12).contains(&d.month) || !(1..=31).contains(&d.day_of_month) {
        return Err(bad());
    }
    let year = if d.year == YEAR_NOT_SPECIFIED { None } else { Some(i32::from(d.year)) };
    Ok(SeasonStart { year, month: d.month, day: d.day_of_month, ms_of_day: ms_of_day(&dt.time).ok_or_else(bad)? })
}

impl SeasonProfile {
    fn from_data(d: &Data) -> Result<SeasonProfile, CalendarError> {
        let [name, start, week] = fields::<3>(d, "season_profile element")?;
        let start = start.as_date_time().ok_or(CalendarError::Shape("season_start"))?;
        season_start(&start)?;
        Ok(SeasonProfile { name: octets(name, "season_profile_name")?, start, week_name: octets(week, "week_name")? })
    }

    fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::OctetString(self.name.clone()),
            Data::OctetString(self.start.to_octets()),
            Data::OctetString(self.week_name.clone()),
        ])
    }
}

impl WeekProfile {
    fn from_data(d: &Data) -> Result<WeekProfile, CalendarError> {
        let f = fields::<8>(d, "week_profile element")?;
        let mut days = [0u8; 7];
        for (slot, v) in days.iter_mut().zip(&f[1..]) {
            let Data::Unsigned(id) = v else { return Err(CalendarError::Shape("week_profile day_id")) };
            *slot = *id;
        }
        Ok(WeekProfile { name: octets(&f[0], "week_profile_name")?, days })
    }

    fn to_data(&self) -> Data {
        let mut v = vec![Data::OctetString(self.name.clone())];
        v.extend(self.days.iter().map(|d| Data::Unsigned(*d)));
        Data::Structure(v)
    }
}

impl DayProfileAction {
    fn from_data(d: &Data) -> Result<DayProfileAction, CalendarError> {
        let [time, script, selector] = fields::<3>(d, "day_profile_action")?;
        let start_time = match time {
            Data::Time(t) => *t,
            Data::OctetString(b) if b.len() == 4 => {
                CosemTime { hour: b[0], minute: b[1], second: b[2], hundredths: b[3] }
            }
            _ => return Err(CalendarError::Shape("start_time")),
        };
        ms_of_day(&start_time).ok_or(CalendarError::StartTime)?;
        let script_logical_name = match script {
            Data::OctetString(b) => Obis::from_slice(b).ok_or(CalendarError::Shape("script_logical_name"))?,
            _ => return Err(CalendarError::Shape("script_logical_name")),
        };
        let Data::LongUnsigned(script_selector) = selector else {
            return Err(CalendarError::Shape("script_selector"));
        };
        let action = DayProfileAction { start_time, script_logical_name, script_selector: *script_selector };
        action.tariff()?;
        Ok(action)
    }

    fn to_data(self) -> Data {
        let t = &self.start_time;
        Data::Structure(vec![
            Data::OctetString(vec![t.hour, t.minute, t.second, t.hundredths]),
            Data::OctetString(self.script_logical_name.0.to_vec()),
            Data::LongUnsigned(self.script_selector),
        ])
    }

    /// The tariff the action selects.
    ///
    /// # Errors
    /// [`CalendarError::UnknownScript`] unless it calls tariffication script 1 or 2.
    pub fn tariff(&self) -> Result<Tariff, CalendarError> {
        match resolve(self.script_logical_name, self.script_selector) {
            Some(ScriptEffect::SelectTariff(t)) => Ok(t),
            _ => Err(CalendarError::UnknownScript { table: self.script_logical_name, selector: self.script_selector }),
        }
    }
}

impl DayProfile {
    fn from_data(d: &Data) -> Result<DayProfile, CalendarError> {
        let [id, schedule] = fields::<2>(d, "day_profile element")?;
        let Data::Unsigned(day_id) = id else { return Err(CalendarError::Shape("day_id")) };
        let actions =
            items(schedule, "day_schedule")?.iter().map(DayProfileAction::from_data).collect::<Result<_, _>>()?;
        Ok(DayProfile { day_id: *day_id, actions })
    }

    fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::Unsigned(self.day_id),
            Data::Array(self.actions.iter().map(|a| a.to_data()).collect()),
        ])
    }
}

impl CalendarSet {
    /// The built-in calendar "STANDARD" (see the module documentation).
    pub fn standard() -> CalendarSet {
        let action = |h: u8, t: Tariff| DayProfileAction {
            start_time: CosemTime { hour: h, minute: 0, second: 0, hundredths: 0 },
            script_logical_name: TARIFFICATION_SCRIPT_TABLE,
            script_selector: tariff_script(t),
        };
        CalendarSet {
            name: b"STANDARD".to_vec(),
            seasons: vec![SeasonProfile {
                name: b"ALLYEAR".to_vec(),
                start: CosemDateTime {
                    date: CosemDate { year: YEAR_NOT_SPECIFIED, month: 1, day_of_month: 1, day_of_week: NOT_SPECIFIED },
                    time: CosemTime { hour: 0, minute: 0, second: 0, hundredths: 0 },
                    deviation: DEVIATION_NOT_SPECIFIED,
                    clock_status: NOT_SPECIFIED,
                },
                week_name: b"WEEK".to_vec(),
            }],
            weeks: vec![WeekProfile { name: b"WEEK".to_vec(), days: [1; 7] }],
            days: vec![DayProfile {
                day_id: 1,
                actions: vec![action(0, Tariff::T2), action(7, Tariff::T1), action(23, Tariff::T2)],
            }],
        }
    }

    /// Parses attribute 3/7 `season_profile`.
    ///
    /// # Errors
    /// [`CalendarError`].
    pub fn seasons_from_data(d: &Data) -> Result<Vec<SeasonProfile>, CalendarError> {
        items(d, "season_profile")?.iter().map(SeasonProfile::from_data).collect()
    }

    /// Parses attribute 4/8 `week_profile_table`.
    ///
    /// # Errors
    /// [`CalendarError`].
    pub fn weeks_from_data(d: &Data) -> Result<Vec<WeekProfile>, CalendarError> {
        items(d, "week_profile_table")?.iter().map(WeekProfile::from_data).collect()
    }

    /// Parses attribute 5/9 `day_profile_table`.
    ///
    /// # Errors
    /// [`CalendarError`].
    pub fn days_from_data(d: &Data) -> Result<Vec<DayProfile>, CalendarError> {
        items(d, "day_profile_table")?.iter().map(DayProfile::from_data).collect()
    }

    /// The attribute of this calendar at offset `k` (0 name, 1 seasons, 2 weeks, 3 days).
    fn attribute(&self, k: i8) -> Option<Data> {
        Some(match k {
            0 => Data::OctetString(self.name.clone()),
            1 => Data::Array(self.seasons.iter().map(SeasonProfile::to_data).collect()),
            2 => Data::Array(self.weeks.iter().map(WeekProfile::to_data).collect()),
            3 => Data::Array(self.days.iter().map(DayProfile::to_data).collect()),
            _ => return None,
        })
    }

    /// The calendar resolved into a tariff programme.
    ///
    /// # Errors
    /// [`CalendarError::UnknownWeek`], [`CalendarError::UnknownDay`],
    /// [`CalendarError::UnknownScript`], [`CalendarError::SeasonStart`] and
    /// [`CalendarError::Program`] (no season, too large).
    pub fn to_program(&self) -> Result<TouProgram, CalendarError> {
        let mut seasons = Vec::with_capacity(self.seasons.len());
        for s in &self.seasons {
            let week = self
                .weeks
                .iter()
                .position(|w| w.name == s.week_name)
                .ok_or_else(|| CalendarError::UnknownWeek(s.week_name.clone()))?;
            seasons.push(TouSeason { start: season_start(&s.start)?, week });
        }
        let mut weeks = Vec::with_capacity(self.weeks.len());
        for w in &self.weeks {
            let mut days = [0usize; 7];
            for (slot, id) in days.iter_mut().zip(w.days) {
                *slot = self.days.iter().position(|d| d.day_id == id).ok_or(CalendarError::UnknownDay(id))?;
            }
            weeks.push(days);
        }
        let mut days = Vec::with_capacity(self.days.len());
        for d in &self.days {
            let mut switches = Vec::with_capacity(d.actions.len());
            for a in &d.actions {
                let ms = ms_of_day(&a.start_time).ok_or(CalendarError::StartTime)?;
                switches.push(TouSwitch { ms_of_day: ms, tariff: a.tariff()? });
            }
            days.push(switches);
        }
        Ok(TouProgram::new(seasons, weeks, days)?)
    }
}

fn standard_set() -> Arc<CalendarSet> {
    static STANDARD: OnceLock<Arc<CalendarSet>> = OnceLock::new();
    STANDARD.get_or_init(|| Arc::new(CalendarSet::standard())).clone()
}

fn empty_set() -> Arc<CalendarSet> {
    static EMPTY: OnceLock<Arc<CalendarSet>> = OnceLock::new();
    EMPTY.get_or_init(|| Arc::new(CalendarSet::default())).clone()
}

/// The date-time "not specified" in every field (attribute 10 without a pending activation).
pub fn date_time_not_specified() -> CosemDateTime {
    CosemDateTime {
        date: CosemDate::NOT_SPECIFIED,
        time: CosemTime::NOT_SPECIFIED,
        deviation: DEVIATION_NOT_SPECIFIED,
        clock_status: NOT_SPECIFIED,
    }
}

/// The Activity calendar object: active and passive calendars and the pending activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCalendar {
    active: Arc<CalendarSet>,
    passive: Arc<CalendarSet>,
    /// Meter time (UTC ms) of the pending activation.
    pending_ms: Option<i64>,
    /// Meter times of the activations so far, oldest first (at most 32 kept).
    activations: Vec<i64>,
}

impl Default for ActivityCalendar {
    fn default() -> Self {
        ActivityCalendar { active: standard_set(), passive: empty_set(), pending_ms: None, activations: Vec::new() }
    }
}

impl ActivityCalendar {
    /// The active calendar.
    pub fn active(&self) -> &CalendarSet {
        &self.active
    }

    /// The passive calendar.
    pub fn passive(&self) -> &CalendarSet {
        &self.passive
    }

    /// Meter time (UTC ms) of the pending activation, if any.
    pub fn pending_activation_ms(&self) -> Option<i64> {
        self.pending_ms
    }

    /// Meter times (UTC ms) of the activations that happened, oldest first.
    pub fn activations(&self) -> &[i64] {
        &self.activations
    }

    fn activate(&mut self, t_ms: i64) {
        self.active = self.passive.clone();
        self.pending_ms = None;
        if self.activations.len() >= 32 {
            self.activations.remove(0);
        }
        self.activations.push(t_ms);
    }

    /// Carries out a pending activation whose time has come (meter time `t_ms`). The
    /// metrology already follows the new programme from the activation time on.
    pub fn settle(&mut self, t_ms: i64) {
        if let Some(a) = self.pending_ms.filter(|&a| a <= t_ms) {
            self.activate(a);
        }
    }

    /// Attribute value 2..=10, date-times in `zone` (`None` for other indices).
    pub fn attribute(&self, id: i8, zone: &MeterTimeZone) -> Option<Data> {
        match id {
            2..=5 => self.active.attribute(id - 2),
            6..=9 => self.passive.attribute(id - 6),
            10 => Some(Data::OctetString(
                self.pending_ms.map_or_else(date_time_not_specified, |a| zone.cosem_from_ms(a)).to_octets(),
            )),
            _ => None,
        }
    }

    /// Plans the activation of the passive calendar at meter time `at_ms` (or at `t_ms` when
    /// that is later): the metrology follows it from then on.
    fn plan(&mut self, at_ms: i64, t_ms: i64, metrology: &mut Metrology) -> Result<(), CalendarError> {
        let program = self.passive.to_program()?;
        if let Some(old) = self.pending_ms {
            metrology.cancel_tariff_programs(old);
        }
        let at = at_ms.max(t_ms);
        metrology.set_tariff_program(at, Arc::new(program));
        self.pending_ms = Some(at);
        self.settle(t_ms);
        Ok(())
    }

    /// SET of attribute 6..=10 at meter time `t_ms` (see the module documentation).
    /// Returns `success`, `type-unmatched` (wrong shape) or `other-reason` (invalid content,
    /// a passive calendar that does not resolve when activation is requested);
    /// `read-write-denied` for other attributes.
    pub fn set_attribute(
        &mut self,
        id: i8,
        value: &Data,
        t_ms: i64,
        zone: &MeterTimeZone,
        metrology: &mut Metrology,
    ) -> DataAccessResult {
        self.settle(t_ms);
        let mut passive = (*self.passive).clone();
        let parsed = match id {
            6 => octets(value, "calendar_name").map(|n| passive.name = n),
            7 => CalendarSet::seasons_from_data(value).map(|s| passive.seasons = s),
            8 => CalendarSet::weeks_from_data(value).map(|w| passive.weeks = w),
            9 => CalendarSet::days_from_data(value).map(|d| passive.days = d),
            10 => return self.set_activation_time(value, t_ms, zone, metrology),
            _ => return DataAccessResult::ReadWriteDenied,
        };
        if let Err(e) = parsed {
            return e.access_result();
        }
        self.passive = Arc::new(passive);
        if let Some(at) = self.pending_ms {
            if self.plan(at, t_ms, metrology).is_err() {
                metrology.cancel_tariff_programs(at);
                self.pending_ms = None;
            }
        }
        DataAccessResult::Success
    }

    fn set_activation_time(
        &mut self,
        value: &Data,
        t_ms: i64,
        zone: &MeterTimeZone,
        metrology: &mut Metrology,
    ) -> DataAccessResult {
        let Some(dt) = value.as_date_time() else { return DataAccessResult::TypeUnmatched };
        if dt.date.year == YEAR_NOT_SPECIFIED && dt.date.month == NOT_SPECIFIED && dt.date.day_of_month == NOT_SPECIFIED
        {
            if let Some(old) = self.pending_ms.take() {
                metrology.cancel_tariff_programs(old);
            }
            return DataAccessResult::Success;
        }
        let Some(at) = zone.ms_from_cosem(&dt) else { return DataAccessResult::OtherReason };
        match self.plan(at, t_ms, metrology) {
            Ok(()) => DataAccessResult::Success,
            Err(e) => e.access_result(),
        }
    }

    /// Method 1 `activate_passive_calendar` at meter time `t_ms` (data integer (0) or
    /// absent).
    ///
    /// # Errors
    /// `type-unmatched` for another parameter, `other-reason` when the passive calendar does
    /// not resolve, `object-unavailable` for other methods.
    pub fn action(
        &mut self,
        method_id: i8,
        param: Option<&Data>,
        t_ms: i64,
        metrology: &mut Metrology,
    ) -> Result<Option<Data>, ActionResult> {
        if method_id != 1 {
            return Err(ActionResult::ObjectUnavailable);
        }
        if !matches!(param, None | Some(Data::Integer(_))) {
            return Err(ActionResult::TypeUnmatched);
        }
        self.settle(t_ms);
        self.plan(t_ms, t_ms, metrology).map_err(|_| ActionResult::OtherReason)?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_calendar_round_trips_and_resolves() {
        let s = CalendarSet::standard();
        assert_eq!(CalendarSet::seasons_from_data(&s.attribute(1).unwrap()).unwrap(), s.seasons);
        assert_eq!(CalendarSet::weeks_from_data(&s.attribute(2).unwrap()).unwrap(), s.weeks);
        assert_eq!(CalendarSet::days_from_data(&s.attribute(3).unwrap()).unwrap(), s.days);
        assert_eq!(s.to_program().unwrap(), TouProgram::standard());
    }

    #[test]
    fn shapes_and_references_are_checked() {
        assert_eq!(CalendarSet::seasons_from_data(&Data::Unsigned(1)), Err(CalendarError::Shape("season_profile")));
        let action = |table: Obis, selector| {
            Data::Structure(vec![
                Data::OctetString(vec![7, 0, 0, 0]),
                Data::OctetString(table.0.to_vec()),
                Data::LongUnsigned(selector),
            ])
        };
        let day = |a| Data::Array(vec![Data::Structure(vec![Data::Unsigned(1), Data::Array(vec![a])])]);
        assert!(CalendarSet::days_from_data(&day(action(TARIFFICATION_SCRIPT_TABLE, 2))).is_ok());
        assert!(matches!(
            CalendarSet::days_from_data(&day(action(TARIFFICATION_SCRIPT_TABLE, 3))),
            Err(CalendarError::UnknownScript { selector: 3, .. })
        ));
        let mut s = CalendarSet::standard();
        s.weeks[0].days[6] = 9;
        assert_eq!(s.to_program(), Err(CalendarError::UnknownDay(9)));
        s.seasons[0].week_name = b"NOPE".to_vec();
        assert_eq!(s.to_program(), Err(CalendarError::UnknownWeek(b"NOPE".to_vec())));
    }
}
