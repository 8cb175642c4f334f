//! Tariff selection by a time-of-use programme: which energy register (T1 1.0.1.8.1 or T2
//! 1.0.1.8.2) the import counts into at each instant, once an Activity calendar (interface
//! class 20, IEC 62056-6-2 §4.5.5) has been activated.
//!
//! Until the first activation the meter uses the load model's built-in split (T1 = local
//! 07:00–23:00, [`crate::metrology::load_model::TARIFF_1_HOURS`]); each activation adds a
//! `(from, programme)` change to the [`TariffSchedule`], and from that meter-time instant on
//! the programme decides. A [`TouProgram`] is the calendar already resolved through the
//! tariffication Script table: seasons → week profiles → day profiles → tariff per switch time.
//!
//! Evaluation follows the calendar's semantics on the meter's local wall clock:
//! * **season**: the season whose most recent start is the latest one at or before the
//!   instant (recurring starts, year not specified, repeat every year; a start with a year
//!   happens once); before every start, the first season of the table;
//! * **week → day**: the week profile of that season gives the day profile of the weekday;
//! * **day**: the action with the latest start time at or before the time of day; before the
//!   day's first action, the last action of the previous day's profile stays in force (and
//!   T1 when that profile is empty too).
//!
//! Switching is exact to the millisecond: an interval in which the tariff changes is split
//! at the change, pro-rating its energy like the registers do (floor of energy × elapsed /
//! 900 s), so T1 + T2 = total import always.

use std::sync::Arc;

use thiserror::Error;

use crate::metrology::calendar::{MS_PER_DAY, civil_from_days, days_from_civil, days_in_month, weekday};
use crate::metrology::load_model::{INTERVAL_MS, IntervalEnergy, Tariff};
use crate::time_zone::MeterTimeZone;

/// Largest number of seasons, week profiles, day profiles or actions per day the meter
/// accepts (a real meter's table sizes; keeps evaluation cheap).
pub const MAX_TABLE_ENTRIES: usize = 32;

/// The start of a season on the local wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeasonStart {
    /// The year, `None` = every year (COSEM year 0xFFFF "not specified").
    pub year: Option<i32>,
    /// Month 1..=12.
    pub month: u8,
    /// Day of month 1..=31; a day beyond the month's length (29 February in a common
    /// year) means the month's last day.
    pub day: u8,
    /// Local time of day, ms (0..86 400 000).
    pub ms_of_day: i64,
}

/// One season: its start and the index of its week profile in [`TouProgram::weeks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TouSeason {
    /// When the season starts.
    pub start: SeasonStart,
    /// Index into [`TouProgram::weeks`].
    pub week: usize,
}

/// One switch of a day profile: from `ms_of_day` (local) the import counts into `tariff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TouSwitch {
    /// Local time of day, ms (0..86 400 000).
    pub ms_of_day: i64,
    /// The tariff register selected.
    pub tariff: Tariff,
}

/// Why a [`TouProgram`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TouProgramError {
    /// No season at all.
    #[error("the calendar has no season")]
    NoSeason,
    /// More than [`MAX_TABLE_ENTRIES`] entries in a table.
    #[error("too many entries in a calendar table (at most {MAX_TABLE_ENTRIES})")]
    TooLarge,
    /// A season names a week profile that does not exist.
    #[error("season {0} refers to a week profile that does not exist")]
    UnknownWeek(usize),
    /// A week profile names a day profile that does not exist.
    #[error("week profile {0} refers to a day profile that does not exist")]
    UnknownDay(usize),
    /// A month, day or time of day is out of range.
    #[error("season {0} has an invalid start")]
    InvalidSeasonStart(usize),
    /// A switch time is outside the day.
    #[error("day profile {0} has a switch time outside 00:00..24:00")]
    InvalidSwitchTime(usize),
}

/// A time-of-use programme: the active calendar resolved to tariffs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TouProgram {
    seasons: Vec<TouSeason>,
    weeks: Vec<[usize; 7]>,
    days: Vec<Vec<TouSwitch>>,
}

impl TouProgram {
    /// Builds and checks a programme. `weeks[w][i]` is the day profile (index into `days`)
    /// of weekday `i` (0 = Monday .. 6 = Sunday); each day's switches are sorted by time.
    ///
    /// # Errors
    /// [`TouProgramError`] for an empty or oversized table, dangling indices, an invalid
    /// season start or switch time.
    pub fn new(
        seasons: Vec<TouSeason>,
        weeks: Vec<[usize; 7]>,
        mut days: Vec<Vec<TouSwitch>>,
    ) -> Result<TouProgram, TouProgramError> {
        if seasons.is_empty() {
            return Err(TouProgramError::NoSeason);
        }
        if seasons.len() > MAX_TABLE_ENTRIES
            || weeks.len() > MAX_TABLE_ENTRIES
            || days.len() > MAX_TABLE_ENTRIES
            || days.iter().any(|d| d.len() > MAX_TABLE_ENTRIES)
        {
            return Err(TouProgramError::TooLarge);
        }
        for (i, s) in seasons.iter().enumerate() {
            if s.week >= weeks.len() {
                return Err(TouProgramError::UnknownWeek(i));
            }
            let st = s.start;
            if !(1..=12).contains(&st.month) || !(1..=31).contains(&st.day) || !(0..MS_PER_DAY).contains(&st.ms_of_day)
            {
                return Err(TouProgramError::InvalidSeasonStart(i));
            }
        }
        for (i, w) in weeks.iter().enumerate() {
            if w.iter().any(|&d| d >= days.len()) {
                return Err(TouProgramError::UnknownDay(i));
            }
        }
        for (i, d) in days.iter_mut().enumerate() {
            if d.iter().any(|s| !(0..MS_PER_DAY).contains(&s.ms_of_day)) {
                return Err(TouProgramError::InvalidSwitchTime(i));
            }
            d.sort_by_key(|s| s.ms_of_day);
        }
        Ok(TouProgram { seasons, weeks, days })
    }

    /// The built-in programme, equal to the load model's split: T2 from 00:00, T1 from
    /// 07:00, T2 from 23:00, every day, one recurring season from 1 January.
    pub fn standard() -> TouProgram {
        let day = vec![
            TouSwitch { ms_of_day: 0, tariff: Tariff::T2 },
            TouSwitch { ms_of_day: 7 * 3_600_000, tariff: Tariff::T1 },
            TouSwitch { ms_of_day: 23 * 3_600_000, tariff: Tariff::T2 },
        ];
        let season = TouSeason { start: SeasonStart { year: None, month: 1, day: 1, ms_of_day: 0 }, week: 0 };
        TouProgram { seasons: vec![season], weeks: vec![[0; 7]], days: vec![day] }
    }

    /// The seasons.
    pub fn seasons(&self) -> &[TouSeason] {
        &self.seasons
    }

    /// The week profiles (day-profile index per weekday, Monday first).
    pub fn weeks(&self) -> &[[usize; 7]] {
        &self.weeks
    }

    /// The day profiles, each sorted by switch time.
    pub fn days(&self) -> &[Vec<TouSwitch>] {
        &self.days
    }

    /// Local wall-clock ms (since 1970-01-01 local) of season `s`'s start in `year`.
    fn start_in_year(s: &SeasonStart, year: i32) -> i64 {
        let day = s.day.min(days_in_month(year, s.month));
        days_from_civil(year, s.month, day) * MS_PER_DAY + s.ms_of_day
    }

    /// The most recent start of `s` at or before local wall-clock ms `local`, if any.
    fn latest_start(s: &SeasonStart, local: i64) -> Option<i64> {
        match s.year {
            Some(y) => Some(Self::start_in_year(s, y)).filter(|&t| t <= local),
            None => {
                let year = civil_from_days(local.div_euclid(MS_PER_DAY)).year;
                let this = Self::start_in_year(s, year);
                Some(if this <= local { this } else { Self::start_in_year(s, year - 1) })
            }
        }
    }

    /// The season in force at local wall-clock ms `local`.
    fn season_at(&self, local: i64) -> Option<&TouSeason> {
        let mut best: Option<(i64, &TouSeason)> = None;
        for s in &self.seasons {
            if let Some(t) = Self::latest_start(&s.start, local) {
                if best.is_none_or(|(b, _)| t >= b) {
                    best = Some((t, s));
                }
            }
        }
        best.map(|(_, s)| s).or(self.seasons.first())
    }

    /// The day profile in force on the local day containing local wall-clock ms `local`.
    fn day_profile_at(&self, local: i64) -> &[TouSwitch] {
        let day = local.div_euclid(MS_PER_DAY);
        let wd = usize::from(weekday(day).saturating_sub(1)).min(6);
        self.season_at(local)
            .and_then(|s| self.weeks.get(s.week))
            .and_then(|w| self.days.get(w[wd]))
            .map_or(&[], Vec::as_slice)
    }

    /// The tariff at local wall-clock ms `local`.
    pub fn tariff_at_local(&self, local: i64) -> Tariff {
        let day_start = local.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        let tod = local - day_start;
        let today = self.day_profile_at(local);
        if let Some(s) = today.iter().rev().find(|s| s.ms_of_day <= tod) {
            return s.tariff;
        }
        // Before today's first switch: the previous day's last switch stays in force.
        self.day_profile_at(day_start - 1).last().map_or(Tariff::T1, |s| s.tariff)
    }

    /// Local instants strictly inside `(local_a, local_b)` at which the tariff may change
    /// (switch times of the day, season starts), unsorted. `local_b - local_a` ≤ one day.
    fn candidates(&self, local_a: i64, local_b: i64, out: &mut Vec<i64>) {
        let day_start = local_a.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        for d in [day_start, day_start + MS_PER_DAY] {
            for s in self.day_profile_at(d) {
                let t = d + s.ms_of_day;
                if local_a < t && t < local_b {
                    out.push(t);
                }
            }
        }
        for s in &self.seasons {
            if let Some(t) = Self::latest_start(&s.start, local_b - 1) {
                if local_a < t && t < local_b {
                    out.push(t);
                }
            }
        }
    }
}

/// The meter's tariff programmes over meter time: empty (the load model's split) until the
/// first Activity calendar activation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TariffSchedule {
    /// `(from_ms, programme)`, sorted by `from_ms` (meter time, UTC ms).
    changes: Vec<(i64, Arc<TouProgram>)>,
}

impl TariffSchedule {
    /// Whether no programme was ever activated.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes, oldest first.
    pub fn changes(&self) -> &[(i64, Arc<TouProgram>)] {
        &self.changes
    }

    /// From `from_ms` on, `program` decides: later changes are dropped (the timeline from
    /// that instant is rewritten).
    pub fn set_from(&mut self, from_ms: i64, program: Arc<TouProgram>) {
        self.changes.retain(|(t, _)| *t < from_ms);
        self.changes.push((from_ms, program));
    }

    /// Drops the changes at or after `from_ms`.
    pub fn cancel_from(&mut self, from_ms: i64) {
        self.changes.retain(|(t, _)| *t < from_ms);
    }

    /// Whether any programme is in force somewhere in `[a_ms, b_ms)`.
    pub fn affects(&self, _a_ms: i64, b_ms: i64) -> bool {
        self.changes.first().is_some_and(|(t, _)| *t < b_ms)
    }

    /// The programme in force at `t_ms` (`None` = the load model's split).
    pub fn program_at(&self, t_ms: i64) -> Option<&TouProgram> {
        self.changes.iter().rev().find(|(t, _)| *t <= t_ms).map(|(_, p)| p.as_ref())
    }

    /// The tariff at `t_ms`; `default` when no programme is in force.
    pub fn tariff_at(&self, t_ms: i64, zone: MeterTimeZone, default: Tariff) -> Tariff {
        match self.program_at(t_ms) {
            Some(p) => p.tariff_at_local(t_ms + zone.offset_ms_at(t_ms)),
            None => default,
        }
    }

    /// The tariff-1 import accumulated in `[a + from_ms, a + to_ms)` of the interval
    /// starting at `a_ms` with energy `e` (offsets clamped to the interval), splitting the
    /// interval at every tariff change inside it.
    pub fn t1_import(&self, a_ms: i64, e: &IntervalEnergy, from_ms: i64, to_ms: i64, zone: MeterTimeZone) -> u64 {
        let from = from_ms.clamp(0, INTERVAL_MS);
        let to = to_ms.clamp(from, INTERVAL_MS);
        let b_ms = a_ms + INTERVAL_MS;
        // Intervals are aligned to the UTC 15-minute grid and zone offsets and summer-time
        // switches to whole quarters, so the local offset is constant within the interval.
        let offset = zone.offset_ms_at(a_ms);
        let mut points: Vec<i64> = self.changes.iter().map(|(t, _)| *t).filter(|t| a_ms < *t && *t < b_ms).collect();
        let mut local_points = Vec::new();
        for (_, p) in &self.changes {
            p.candidates(a_ms + offset, b_ms + offset, &mut local_points);
        }
        points.extend(local_points.into_iter().map(|l| l - offset));
        points.push(a_ms);
        points.push(b_ms);
        points.sort_unstable();
        points.dedup();
        let part = |ms: i64| u64::from(e.active_import_wh) * ms.clamp(0, INTERVAL_MS) as u64 / INTERVAL_MS as u64;
        let mut t1 = 0;
        for w in points.windows(2) {
            let (s, en) = ((w[0] - a_ms).clamp(from, to), (w[1] - a_ms).clamp(from, to));
            if s < en && self.tariff_at(w[0], zone, e.tariff) == Tariff::T1 {
                t1 += part(en) - part(s);
            }
        }
        t1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: i64, m: i64) -> i64 {
        h * 3_600_000 + m * 60_000
    }

    fn local(y: i32, mo: u8, d: u8, h: i64, m: i64) -> i64 {
        days_from_civil(y, mo, d) * MS_PER_DAY + hm(h, m)
    }

    /// Summer (from 1 April) weekdays T1 08:00–20:00, weekends all T2; winter (from
    /// 1 October) T1 06:00–22:00 every day.
    fn two_seasons() -> TouProgram {
        let sw = |h: i64, t: Tariff| TouSwitch { ms_of_day: hm(h, 0), tariff: t };
        let start = |month| SeasonStart { year: None, month, day: 1, ms_of_day: 0 };
        TouProgram::new(
            vec![TouSeason { start: start(4), week: 0 }, TouSeason { start: start(10), week: 1 }],
            vec![[0, 0, 0, 0, 0, 1, 1], [2; 7]],
            vec![
                vec![sw(8, Tariff::T1), sw(20, Tariff::T2)],
                vec![sw(0, Tariff::T2)],
                vec![sw(6, Tariff::T1), sw(22, Tariff::T2)],
            ],
        )
        .unwrap()
    }

    #[test]
    fn seasons_weeks_and_days() {
        let p = two_seasons();
        // Wednesday 2024-07-10 (summer).
        assert_eq!(p.tariff_at_local(local(2024, 7, 10, 7, 59)), Tariff::T2, "previous day's last switch");
        assert_eq!(p.tariff_at_local(local(2024, 7, 10, 8, 0)), Tariff::T1);
        assert_eq!(p.tariff_at_local(local(2024, 7, 10, 20, 0)), Tariff::T2);
        // Saturday 2024-07-13: weekend profile.
        assert_eq!(p.tariff_at_local(local(2024, 7, 13, 12, 0)), Tariff::T2);
        // January belongs to the winter season that started the previous October.
        assert_eq!(p.tariff_at_local(local(2024, 1, 15, 6, 30)), Tariff::T1);
        assert_eq!(p.tariff_at_local(local(2024, 1, 15, 5, 59)), Tariff::T2);
        // Season change at 1 October 00:00.
        assert_eq!(p.tariff_at_local(local(2024, 9, 30, 21, 0)), Tariff::T2);
        assert_eq!(p.tariff_at_local(local(2024, 10, 1, 21, 0)), Tariff::T1);
    }

    #[test]
    fn standard_programme_matches_the_load_model_hours() {
        let p = TouProgram::standard();
        for h in 0..24 {
            let want = if (7..23).contains(&h) { Tariff::T1 } else { Tariff::T2 };
            assert_eq!(p.tariff_at_local(local(2025, 3, 3, h, 30)), want, "{h}:30");
        }
    }

    #[test]
    fn invalid_programmes_are_refused() {
        let season = |week| TouSeason { start: SeasonStart { year: None, month: 1, day: 1, ms_of_day: 0 }, week };
        assert_eq!(TouProgram::new(vec![], vec![], vec![]), Err(TouProgramError::NoSeason));
        assert_eq!(TouProgram::new(vec![season(1)], vec![[0; 7]], vec![vec![]]), Err(TouProgramError::UnknownWeek(0)));
        assert_eq!(TouProgram::new(vec![season(0)], vec![[1; 7]], vec![vec![]]), Err(TouProgramError::UnknownDay(0)));
        let bad_time = vec![vec![TouSwitch { ms_of_day: MS_PER_DAY, tariff: Tariff::T1 }]];
        assert_eq!(
            TouProgram::new(vec![season(0)], vec![[0; 7]], bad_time),
            Err(TouProgramError::InvalidSwitchTime(0))
        );
        let mut bad_start = season(0);
        bad_start.start.month = 13;
        assert_eq!(
            TouProgram::new(vec![bad_start], vec![[0; 7]], vec![vec![]]),
            Err(TouProgramError::InvalidSeasonStart(0))
        );
    }

    #[test]
    fn an_interval_is_split_at_a_switch_and_at_the_activation() {
        let e = IntervalEnergy {
            active_import_wh: 900,
            active_export_wh: 0,
            reactive_import_varh: 0,
            reactive_export_varh: 0,
            tariff: Tariff::T1,
        };
        let sw = |ms: i64, t: Tariff| TouSwitch { ms_of_day: ms, tariff: t };
        let season = TouSeason { start: SeasonStart { year: None, month: 1, day: 1, ms_of_day: 0 }, week: 0 };
        // All day T2, T1 from 10:05.
        let p = TouProgram::new(vec![season], vec![[0; 7]], vec![vec![sw(0, Tariff::T2), sw(hm(10, 5), Tariff::T1)]])
            .unwrap();
        let zone = MeterTimeZone::UTC;
        let a = local(2024, 2, 1, 10, 0); // UTC zone: local = UTC
        let mut s = TariffSchedule::default();
        assert_eq!(s.t1_import(a, &e, 0, INTERVAL_MS, zone), 900, "no programme: the interval's own tariff");
        s.set_from(a - MS_PER_DAY, Arc::new(p.clone()));
        // 10:00–10:05 T2 (300 Wh), 10:05–10:15 T1 (600 Wh).
        assert_eq!(s.t1_import(a, &e, 0, INTERVAL_MS, zone), 600);
        assert_eq!(s.t1_import(a, &e, 0, 450_000, zone), 150);
        // Activation at 10:02 of a programme that is all T2: T1 only before it.
        let all_t2 = TouProgram::new(vec![season], vec![[0; 7]], vec![vec![sw(0, Tariff::T2)]]).unwrap();
        let mut s = TariffSchedule::default();
        s.set_from(a + 120_000, Arc::new(all_t2));
        assert_eq!(s.t1_import(a, &e, 0, INTERVAL_MS, zone), 120);
        assert!(s.affects(a, a + INTERVAL_MS) && !s.affects(a - INTERVAL_MS, a));
        s.cancel_from(a);
        assert!(s.is_empty());
    }
}
