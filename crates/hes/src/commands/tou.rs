//! TOU tariff change: write the passive Activity calendar (class 20, IEC 62056-6-2 §4.5.5,
//! attributes 6..=9: calendar name, season profiles, week profiles, day profiles), then
//! `activate_passive_calendar_time` (attribute 10), and verify by reading them back.
//!
//! The day profiles call the meter's tariffication Script table 0.0.10.0.100.255 (script
//! `n` selects tariff register Tn; a gridedge meter has T1 1.0.1.8.1 and T2 1.0.1.8.2).
//! Confirmation: the passive attributes read back equal what was written, and attribute 10
//! reads the activation instant — or, when the instant was not in the meter's future (it
//! then activates at once), the active calendar name (attribute 2) is the new name.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use dlms::data::Data;
use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED, YEAR_NOT_SPECIFIED};

use super::CommandProgress;
use super::cosem::{ACTIVITY_CALENDAR, TARIFFICATION_SCRIPT_TABLE, date_time, get, meter_deviation, set};
use super::error::CommandError;
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionTimeouts};

/// Largest number of seasons, weeks, days or switches per day this command writes.
pub const MAX_ENTRIES: usize = 32;

/// A season: from `start_month`/`start_day` (every year, or once in `start_year`) the week
/// profile `week` applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouSeason {
    /// season_profile_name.
    pub name: String,
    /// Start month 1..=12.
    pub start_month: u8,
    /// Start day of month 1..=31.
    pub start_day: u8,
    /// Start year; absent = every year.
    #[serde(default)]
    pub start_year: Option<u16>,
    /// The week profile's name.
    pub week: String,
}

/// A week profile: the day profile id of each weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouWeek {
    /// week_profile_name.
    pub name: String,
    /// day_id for Monday..=Sunday.
    pub days: [u8; 7],
}

/// One switch of a day profile: from `hour:minute` local time the import counts into
/// tariff register `tariff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouSwitch {
    /// Hour 0..=23 (local).
    pub hour: u8,
    /// Minute 0..=59.
    pub minute: u8,
    /// Tariff 1 or 2 (the tariffication script selector).
    pub tariff: u16,
}

/// A day profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouDay {
    /// day_id.
    pub id: u8,
    /// Its switches, in any order.
    pub switches: Vec<TouSwitch>,
}

/// A TOU calendar as written to the passive Activity calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouCalendar {
    /// calendar_name (ASCII, at most 32 bytes).
    pub name: String,
    /// Seasons.
    pub seasons: Vec<TouSeason>,
    /// Week profiles.
    pub weeks: Vec<TouWeek>,
    /// Day profiles.
    pub days: Vec<TouDay>,
}

/// A TOU change: the calendar and when the meter activates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouChange {
    /// The new calendar.
    pub calendar: TouCalendar,
    /// Activation instant (UTC); a past instant activates at once.
    pub activation: Timestamp,
}

/// What the meter read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouReport {
    /// The calendar name written.
    pub calendar_name: String,
    /// The activation the meter has pending, when it is in the future.
    pub pending_activation: Option<Timestamp>,
    /// Whether the meter already runs the new calendar (activation not in its future).
    pub active: bool,
}

fn name(s: &str) -> Data {
    Data::OctetString(s.as_bytes().to_vec())
}

impl TouCalendar {
    /// One season, one week and one day profile: the same `switches` every day.
    pub fn every_day(name: &str, switches: Vec<TouSwitch>) -> TouCalendar {
        TouCalendar {
            name: name.to_string(),
            seasons: vec![TouSeason {
                name: "ALLYEAR".into(),
                start_month: 1,
                start_day: 1,
                start_year: None,
                week: "WEEK".into(),
            }],
            weeks: vec![TouWeek { name: "WEEK".into(), days: [1; 7] }],
            days: vec![TouDay { id: 1, switches }],
        }
    }

    /// Checks sizes, ranges and references (season → week → day) before anything is sent.
    ///
    /// # Errors
    /// [`CommandError::Invalid`] naming the first problem.
    pub fn validate(&self) -> Result<(), CommandError> {
        let bad = |m: String| Err(CommandError::Invalid(m));
        let names = std::iter::once(&self.name)
            .chain(self.seasons.iter().map(|s| &s.name))
            .chain(self.weeks.iter().map(|w| &w.name));
        if let Some(n) = names.into_iter().find(|n| n.len() > 32 || !n.is_ascii()) {
            return bad(format!("name {n:?}: at most 32 ASCII characters"));
        }
        if self.seasons.is_empty() {
            return bad("the calendar needs at least one season".into());
        }
        if [self.seasons.len(), self.weeks.len(), self.days.len()].into_iter().any(|n| n > MAX_ENTRIES)
            || self.days.iter().any(|d| d.switches.len() > MAX_ENTRIES)
        {
            return bad(format!("at most {MAX_ENTRIES} entries per table"));
        }
        for s in &self.seasons {
            if !(1..=12).contains(&s.start_month) || !(1..=31).contains(&s.start_day) {
                return bad(format!("season {}: start {}-{}", s.name, s.start_month, s.start_day));
            }
            if !self.weeks.iter().any(|w| w.name == s.week) {
                return bad(format!("season {} refers to unknown week {}", s.name, s.week));
            }
        }
        for w in &self.weeks {
            if let Some(id) = w.days.iter().find(|id| !self.days.iter().any(|d| d.id == **id)) {
                return bad(format!("week {} refers to unknown day {id}", w.name));
            }
        }
        for d in &self.days {
            if let Some(sw) = d.switches.iter().find(|s| s.hour > 23 || s.minute > 59 || !(1..=2).contains(&s.tariff)) {
                return bad(format!(
                    "day {}: switch {:02}:{:02} tariff {} (tariff 1 or 2)",
                    d.id, sw.hour, sw.minute, sw.tariff
                ));
            }
        }
        Ok(())
    }

    /// Attribute 7 season_profile.
    pub fn seasons_data(&self) -> Data {
        Data::Array(
            self.seasons
                .iter()
                .map(|s| {
                    let start = CosemDateTime {
                        date: CosemDate {
                            year: s.start_year.unwrap_or(YEAR_NOT_SPECIFIED),
                            month: s.start_month,
                            day_of_month: s.start_day,
                            day_of_week: NOT_SPECIFIED,
                        },
                        time: CosemTime { hour: 0, minute: 0, second: 0, hundredths: 0 },
                        deviation: DEVIATION_NOT_SPECIFIED,
                        clock_status: NOT_SPECIFIED,
                    };
                    Data::Structure(vec![name(&s.name), Data::OctetString(start.to_octets()), name(&s.week)])
                })
                .collect(),
        )
    }

    /// Attribute 8 week_profile_table.
    pub fn weeks_data(&self) -> Data {
        Data::Array(
            self.weeks
                .iter()
                .map(|w| {
                    let mut v = vec![name(&w.name)];
                    v.extend(w.days.iter().map(|d| Data::Unsigned(*d)));
                    Data::Structure(v)
                })
                .collect(),
        )
    }

    /// Attribute 9 day_profile_table (switches sorted by time).
    pub fn days_data(&self) -> Data {
        Data::Array(
            self.days
                .iter()
                .map(|d| {
                    let mut switches = d.switches.clone();
                    switches.sort_by_key(|s| (s.hour, s.minute));
                    let actions = switches
                        .iter()
                        .map(|s| {
                            Data::Structure(vec![
                                Data::OctetString(vec![s.hour, s.minute, 0, 0]),
                                Data::OctetString(TARIFFICATION_SCRIPT_TABLE.0.to_vec()),
                                Data::LongUnsigned(s.tariff),
                            ])
                        })
                        .collect();
                    Data::Structure(vec![Data::Unsigned(d.id), Data::Array(actions)])
                })
                .collect(),
        )
    }
}

/// Writes `change` to the meter at `endpoint` and verifies it (see the module
/// documentation).
///
/// # Errors
/// [`CommandError::Invalid`] (nothing sent), session errors, refused SETs (e.g. the meter's
/// `other-reason` for a calendar it cannot resolve), [`CommandError::NotConfirmed`] when
/// the read-back differs.
pub async fn change_tariff_calendar(
    endpoint: &MeterEndpoint,
    change: &TouChange,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<TouReport, CommandError> {
    change.calendar.validate()?;
    let written = [
        (6, name(&change.calendar.name), "calendar_name_passive"),
        (7, change.calendar.seasons_data(), "season_profile_passive"),
        (8, change.calendar.weeks_data(), "week_profile_table_passive"),
        (9, change.calendar.days_data(), "day_profile_table_passive"),
    ];
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    progress.sent();
    let deviation = meter_deviation(&mut s).await?;
    for (attribute, value, what) in &written {
        set(&mut s, ACTIVITY_CALENDAR, *attribute, value.clone(), what).await?;
    }
    set(&mut s, ACTIVITY_CALENDAR, 10, date_time(change.activation, deviation)?, "activate_passive_calendar_time")
        .await?;
    for (attribute, value, what) in &written {
        let back = get(&mut s, ACTIVITY_CALENDAR, *attribute).await?;
        if back != *value {
            return Err(CommandError::NotConfirmed(format!("{what} reads back {back:?}")));
        }
    }
    let pending = get(&mut s, ACTIVITY_CALENDAR, 10).await?;
    let pending = pending.as_date_time().and_then(|dt| dt.to_utc().ok());
    let active_name = get(&mut s, ACTIVITY_CALENDAR, 2).await?;
    s.release().await?;
    let active = active_name == name(&change.calendar.name);
    let close = |t: Timestamp| t.duration_since(change.activation).as_millis().abs() < 10;
    match pending {
        Some(t) if close(t) => {
            Ok(TouReport { calendar_name: change.calendar.name.clone(), pending_activation: Some(t), active: false })
        }
        None if active => {
            Ok(TouReport { calendar_name: change.calendar.name.clone(), pending_activation: None, active })
        }
        other => Err(CommandError::NotConfirmed(format!(
            "activate_passive_calendar_time reads {other:?}, active calendar {active_name:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_encoding() {
        let sw = |hour, tariff| TouSwitch { hour, minute: 0, tariff };
        let c = TouCalendar::every_day("WINTER", vec![sw(21, 1), sw(0, 2)]);
        assert!(c.validate().is_ok());
        let Data::Array(days) = c.days_data() else { panic!("array") };
        let Data::Structure(d) = &days[0] else { panic!("structure") };
        let Data::Array(actions) = &d[1] else { panic!("actions") };
        // Sorted by time: 00:00 first.
        assert_eq!(
            actions[0],
            Data::Structure(vec![
                Data::OctetString(vec![0, 0, 0, 0]),
                Data::OctetString(vec![0, 0, 10, 0, 100, 255]),
                Data::LongUnsigned(2)
            ])
        );
        let mut bad = c.clone();
        bad.days[0].switches.push(sw(24, 1));
        assert!(matches!(bad.validate(), Err(CommandError::Invalid(_))));
        let mut bad = c.clone();
        bad.weeks[0].days[3] = 7;
        assert!(matches!(bad.validate(), Err(CommandError::Invalid(_))));
        let mut bad = c;
        bad.days[0].switches[0].tariff = 3;
        assert!(matches!(bad.validate(), Err(CommandError::Invalid(_))));
    }
}
