//! COSEM date, time and date-time (IEC 62056-6-2 §4.1.6.1, "Date and time formats").
//!
//! The wire forms are kept exactly: every "not specified" (0xFF / 0xFFFF / 0x8000) and
//! the special month/day values (0xFD/0xFE = DST end/begin, second-last/last day) are
//! stored as sent, never guessed. Conversion to UTC is offered only when every field it
//! needs is specified.
//!
//! The deviation is the number of minutes *from local time to UTC*: `UTC = local +
//! deviation`, so a meter on UTC+02:00 sends −120. [`CosemDateTime::to_utc`] and
//! [`CosemDateTime::from_utc`] apply that rule; [`ClockStatus`] names the status bits.

use std::fmt;

use jiff::civil::{self, Weekday};
use jiff::tz::Offset;
use jiff::{Timestamp, Zoned};
use serde::Serialize;
use thiserror::Error;

use crate::codec::{DecodeError, Reader};

/// Year value meaning "not specified".
pub const YEAR_NOT_SPECIFIED: u16 = 0xFFFF;
/// Byte value meaning "not specified" for month, day, day of week, hour, minute, second,
/// hundredths and clock status.
pub const NOT_SPECIFIED: u8 = 0xFF;
/// Deviation value meaning "not specified".
pub const DEVIATION_NOT_SPECIFIED: i16 = i16::MIN; // 0x8000

/// COSEM date (5 bytes): year (u16, 0xFFFF n.s.), month (1..=12, 0xFD DST end, 0xFE DST
/// begin, 0xFF n.s.), day of month (1..=31, 0xFD second-last, 0xFE last, 0xFF n.s.),
/// day of week (1 = Monday ..= 7 = Sunday, 0xFF n.s.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemDate {
    /// Year, 0xFFFF = not specified.
    pub year: u16,
    /// Month, raw.
    pub month: u8,
    /// Day of month, raw.
    pub day_of_month: u8,
    /// Day of week, raw (1 = Monday).
    pub day_of_week: u8,
}

/// COSEM time (4 bytes): hour (0..=23), minute, second, hundredths (0..=99); each 0xFF =
/// not specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemTime {
    /// Hour, raw.
    pub hour: u8,
    /// Minute, raw.
    pub minute: u8,
    /// Second, raw.
    pub second: u8,
    /// Hundredths of a second, raw.
    pub hundredths: u8,
}

/// COSEM date-time (12 bytes): date, time, deviation (i16 minutes *from local time to
/// UTC*, i.e. UTC = local + deviation; −120 means UTC+02:00; 0x8000 = not specified) and
/// clock status (bit 0 invalid value, 1 doubtful, 2 different clock base, 3 invalid
/// clock status, 7 daylight saving active; 0xFF = not specified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemDateTime {
    /// The date part.
    pub date: CosemDate,
    /// The time part.
    pub time: CosemTime,
    /// Deviation in minutes, raw (`DEVIATION_NOT_SPECIFIED` = not specified).
    pub deviation: i16,
    /// Clock status byte, raw.
    pub clock_status: u8,
}

impl CosemDate {
    /// Encodes the 5 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.year.to_be_bytes());
        out.extend_from_slice(&[self.month, self.day_of_month, self.day_of_week]);
    }

    /// Decodes the 5 raw bytes (no A-XDR tag). Values are kept as sent; ranges are not
    /// checked here (see [`CosemDate::validate`]).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = r.array::<5>("date")?;
        Ok(CosemDate { year: u16::from_be_bytes([b[0], b[1]]), month: b[2], day_of_month: b[3], day_of_week: b[4] })
    }
}

impl CosemTime {
    /// Encodes the 4 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.hour, self.minute, self.second, self.hundredths]);
    }

    /// Decodes the 4 raw bytes (no A-XDR tag).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = r.array::<4>("time")?;
        Ok(CosemTime { hour: b[0], minute: b[1], second: b[2], hundredths: b[3] })
    }
}

impl CosemDateTime {
    /// Encodes the 12 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        self.date.encode_raw(out);
        self.time.encode_raw(out);
        out.extend_from_slice(&self.deviation.to_be_bytes());
        out.push(self.clock_status);
    }

    /// Decodes the 12 raw bytes (no A-XDR tag).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let date = CosemDate::decode_raw(r)?;
        let time = CosemTime::decode_raw(r)?;
        let deviation = r.u16("date-time deviation")? as i16;
        let clock_status = r.u8("date-time clock status")?;
        Ok(CosemDateTime { date, time, deviation, clock_status })
    }

    /// Decodes a date-time carried as a 12-byte octet-string value (the usual form of the
    /// Clock time attribute and of profile capture times).
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when `bytes` is not 12 bytes long.
    pub fn from_octets(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 12 {
            return Err(DecodeError::invalid("date-time octet-string", format!("length {} is not 12", bytes.len())));
        }
        Self::decode_raw(&mut Reader::new(bytes))
    }

    /// The 12-byte octet-string form.
    pub fn to_octets(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12);
        self.encode_raw(&mut v);
        v
    }
}

/// Month value 0xFD: the month in which daylight saving time ends (IEC 62056-6-2 §4.1.6.1).
pub const MONTH_DST_END: u8 = 0xFD;
/// Month value 0xFE: the month in which daylight saving time begins.
pub const MONTH_DST_BEGIN: u8 = 0xFE;
/// Day-of-month value 0xFD: the second-last day of the month.
pub const DAY_SECOND_LAST: u8 = 0xFD;
/// Day-of-month value 0xFE: the last day of the month.
pub const DAY_LAST: u8 = 0xFE;
/// Largest accepted |deviation| in minutes. IEC 62056-6-2 gives −720..=+720; real zones
/// reach UTC+14:00 (deviation −840), so ±840 is accepted.
pub const DEVIATION_LIMIT_MINUTES: i16 = 840;

/// One field of a COSEM date-time, as named in IEC 62056-6-2 §4.1.6.1 (used in
/// [`DateTimeError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateTimeField {
    /// year (u16).
    Year,
    /// month.
    Month,
    /// day of month.
    DayOfMonth,
    /// day of week.
    DayOfWeek,
    /// hour.
    Hour,
    /// minute.
    Minute,
    /// second.
    Second,
    /// hundredths of a second.
    Hundredths,
    /// deviation (minutes from local time to UTC).
    Deviation,
    /// clock status.
    ClockStatus,
}

impl fmt::Display for DateTimeField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateTimeField::Year => "year",
            DateTimeField::Month => "month",
            DateTimeField::DayOfMonth => "day of month",
            DateTimeField::DayOfWeek => "day of week",
            DateTimeField::Hour => "hour",
            DateTimeField::Minute => "minute",
            DateTimeField::Second => "second",
            DateTimeField::Hundredths => "hundredths",
            DateTimeField::Deviation => "deviation",
            DateTimeField::ClockStatus => "clock status",
        })
    }
}

/// Why a COSEM date/time value is invalid or cannot be converted to a calendar value
/// or a UTC instant (IEC 62056-6-2 §4.1.6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DateTimeError {
    /// A field needed for the conversion holds its "not specified" value.
    #[error("{field} is not specified")]
    NotSpecified {
        /// The field.
        field: DateTimeField,
    },
    /// A field holds a value outside its range that is neither "not specified" nor one
    /// of the special values (e.g. month 13, hour 24, deviation +2000).
    #[error("{field} value {value} is out of range")]
    OutOfRange {
        /// The field.
        field: DateTimeField,
        /// The raw value as sent.
        value: i32,
    },
    /// Month 0xFD (DST end) or 0xFE (DST begin): a recurring pattern, not one month.
    #[error("month 0x{month:02X} ({}) names no single month", special_month_name(*.month))]
    SpecialMonth {
        /// The raw month value.
        month: u8,
    },
    /// Day 0xFD (second-last) or 0xFE (last day of month): a recurring pattern.
    #[error("day of month 0x{day:02X} ({}) names no single day", special_day_name(*.day))]
    SpecialDay {
        /// The raw day-of-month value.
        day: u8,
    },
    /// The day does not exist in that month (e.g. 2023-02-29, 2024-04-31).
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    NoSuchDay {
        /// Year.
        year: u16,
        /// Month 1..=12.
        month: u8,
        /// Day of month 1..=31.
        day: u8,
    },
    /// The day of week contradicts the fully specified date.
    #[error("day of week {stated} does not match the date (which falls on day {actual}, 1 = Monday)")]
    DayOfWeekMismatch {
        /// The day of week sent (1 = Monday).
        stated: u8,
        /// The day of week of the date (1 = Monday).
        actual: u8,
    },
    /// The value lies outside the supported calendar (years 0..=9999 for COSEM, −9999..=9999
    /// for the UTC instant).
    #[error("date-time outside the representable range (years 0..=9999)")]
    Unrepresentable,
}

fn special_month_name(month: u8) -> &'static str {
    if month == MONTH_DST_END {
        "month in which daylight saving time ends"
    } else {
        "month in which daylight saving time begins"
    }
}

fn special_day_name(day: u8) -> &'static str {
    if day == DAY_LAST { "last day of the month" } else { "second-last day of the month" }
}

/// The clock status byte of a COSEM date-time (IEC 62056-6-2 §4.1.6.1): bit 0 invalid
/// value, bit 1 doubtful value, bit 2 different clock base, bit 3 invalid clock status,
/// bits 4..=6 reserved (0), bit 7 daylight saving active; 0xFF = not specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct ClockStatus(pub u8);

impl ClockStatus {
    /// No bit set: the time is valid and standard (winter) time is in effect.
    pub const OK: ClockStatus = ClockStatus(0x00);
    /// Bit 0: invalid value (the clock could not recover a valid time, e.g. after a power
    /// failure).
    pub const INVALID_VALUE: ClockStatus = ClockStatus(0x01);
    /// Bit 1: doubtful value.
    pub const DOUBTFUL_VALUE: ClockStatus = ClockStatus(0x02);
    /// Bit 2: different clock base (the time is not from the clock's usual source).
    pub const DIFFERENT_CLOCK_BASE: ClockStatus = ClockStatus(0x04);
    /// Bit 3: invalid clock status.
    pub const INVALID_CLOCK_STATUS: ClockStatus = ClockStatus(0x08);
    /// Bit 7: daylight saving time is active.
    pub const DAYLIGHT_SAVING_ACTIVE: ClockStatus = ClockStatus(0x80);
    /// 0xFF: clock status not specified.
    pub const NOT_SPECIFIED: ClockStatus = ClockStatus(NOT_SPECIFIED);
    /// Bits 4..=6, reserved (must be 0).
    pub const RESERVED_BITS: u8 = 0x70;

    /// False for the "not specified" value 0xFF.
    pub const fn is_specified(self) -> bool {
        self.0 != NOT_SPECIFIED
    }

    /// True when the status is specified and has every bit of `flags` set.
    pub const fn contains(self, flags: ClockStatus) -> bool {
        self.is_specified() && self.0 & flags.0 == flags.0
    }

    /// Bit 0, invalid value (false when not specified).
    pub const fn invalid_value(self) -> bool {
        self.contains(Self::INVALID_VALUE)
    }

    /// Bit 1, doubtful value (false when not specified).
    pub const fn doubtful_value(self) -> bool {
        self.contains(Self::DOUBTFUL_VALUE)
    }

    /// Bit 2, different clock base (false when not specified).
    pub const fn different_clock_base(self) -> bool {
        self.contains(Self::DIFFERENT_CLOCK_BASE)
    }

    /// Bit 3, invalid clock status (false when not specified).
    pub const fn invalid_clock_status(self) -> bool {
        self.contains(Self::INVALID_CLOCK_STATUS)
    }

    /// Bit 7, daylight saving active (false when not specified).
    pub const fn daylight_saving_active(self) -> bool {
        self.contains(Self::DAYLIGHT_SAVING_ACTIVE)
    }

    /// This status with bit 7 (daylight saving active) set or cleared. A "not specified"
    /// status becomes [`ClockStatus::OK`] first.
    pub const fn with_daylight_saving(self, active: bool) -> ClockStatus {
        let base = if self.is_specified() { self.0 } else { 0 };
        ClockStatus(if active { base | 0x80 } else { base & !0x80 })
    }

    /// Checks that the reserved bits 4..=6 are zero (0xFF, not specified, is accepted).
    ///
    /// # Errors
    /// [`DateTimeError::OutOfRange`] for [`DateTimeField::ClockStatus`].
    pub const fn validate(self) -> Result<(), DateTimeError> {
        if self.is_specified() && self.0 & Self::RESERVED_BITS != 0 {
            return Err(DateTimeError::OutOfRange { field: DateTimeField::ClockStatus, value: self.0 as i32 });
        }
        Ok(())
    }
}

impl std::ops::BitOr for ClockStatus {
    type Output = ClockStatus;
    fn bitor(self, rhs: ClockStatus) -> ClockStatus {
        ClockStatus(self.0 | rhs.0)
    }
}

impl From<u8> for ClockStatus {
    fn from(raw: u8) -> Self {
        ClockStatus(raw)
    }
}

/// `Some(v)` unless `v` is the byte "not specified" value 0xFF.
const fn specified(v: u8) -> Option<u8> {
    if v == NOT_SPECIFIED { None } else { Some(v) }
}

/// Checks a plain byte field: "not specified" or within `min..=max`.
fn check_byte(field: DateTimeField, v: u8, min: u8, max: u8) -> Result<(), DateTimeError> {
    if v == NOT_SPECIFIED || (min..=max).contains(&v) {
        Ok(())
    } else {
        Err(DateTimeError::OutOfRange { field, value: i32::from(v) })
    }
}

/// A required byte field: specified and within `min..=max`.
fn require_byte(field: DateTimeField, v: u8, min: u8, max: u8) -> Result<u8, DateTimeError> {
    match v {
        NOT_SPECIFIED => Err(DateTimeError::NotSpecified { field }),
        v if (min..=max).contains(&v) => Ok(v),
        v => Err(DateTimeError::OutOfRange { field, value: i32::from(v) }),
    }
}

/// The jiff offset for a deviation (UTC = local + deviation, so offset = −deviation).
fn offset_for_deviation(deviation: i16) -> Result<Offset, DateTimeError> {
    if deviation == DEVIATION_NOT_SPECIFIED {
        return Err(DateTimeError::NotSpecified { field: DateTimeField::Deviation });
    }
    if !(-DEVIATION_LIMIT_MINUTES..=DEVIATION_LIMIT_MINUTES).contains(&deviation) {
        return Err(DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: i32::from(deviation) });
    }
    Offset::from_seconds(-i32::from(deviation) * 60).map_err(|_| DateTimeError::Unrepresentable)
}

fn weekday_short(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

impl CosemDate {
    /// Every field "not specified" (`FFFF FF FF FF`).
    pub const NOT_SPECIFIED: CosemDate = CosemDate {
        year: YEAR_NOT_SPECIFIED,
        month: NOT_SPECIFIED,
        day_of_month: NOT_SPECIFIED,
        day_of_week: NOT_SPECIFIED,
    };

    /// The year, `None` when not specified (0xFFFF).
    pub const fn year(&self) -> Option<u16> {
        if self.year == YEAR_NOT_SPECIFIED { None } else { Some(self.year) }
    }

    /// The raw month, `None` when not specified (0xFF). May be 1..=12 or the special
    /// [`MONTH_DST_END`] / [`MONTH_DST_BEGIN`] (or an invalid value, see [`Self::validate`]).
    pub const fn month(&self) -> Option<u8> {
        specified(self.month)
    }

    /// The raw day of month, `None` when not specified (0xFF). May be 1..=31 or the
    /// special [`DAY_SECOND_LAST`] / [`DAY_LAST`].
    pub const fn day_of_month(&self) -> Option<u8> {
        specified(self.day_of_month)
    }

    /// The raw day of week (1 = Monday ..= 7 = Sunday), `None` when not specified.
    pub const fn day_of_week(&self) -> Option<u8> {
        specified(self.day_of_week)
    }

    /// The day of week as a [`Weekday`]; `None` when not specified or outside 1..=7.
    pub fn weekday(&self) -> Option<Weekday> {
        match self.day_of_week {
            d @ 1..=7 => Weekday::from_monday_one_offset(d as i8).ok(),
            _ => None,
        }
    }

    /// True when the month is 0xFD (the month in which DST ends).
    pub const fn is_dst_end_month(&self) -> bool {
        self.month == MONTH_DST_END
    }

    /// True when the month is 0xFE (the month in which DST begins).
    pub const fn is_dst_begin_month(&self) -> bool {
        self.month == MONTH_DST_BEGIN
    }

    /// True when the day of month is 0xFD (second-last day of the month).
    pub const fn is_second_last_day(&self) -> bool {
        self.day_of_month == DAY_SECOND_LAST
    }

    /// True when the day of month is 0xFE (last day of the month).
    pub const fn is_last_day(&self) -> bool {
        self.day_of_month == DAY_LAST
    }

    /// Checks every field against IEC 62056-6-2 §4.1.6.1: month 1..=12 / 0xFD / 0xFE /
    /// 0xFF, day 1..=31 / 0xFD / 0xFE / 0xFF, day of week 1..=7 / 0xFF; when year, month
    /// and day are all concrete, the day must exist and a specified day of week must
    /// match it.
    ///
    /// # Errors
    /// [`DateTimeError::OutOfRange`], [`DateTimeError::NoSuchDay`],
    /// [`DateTimeError::DayOfWeekMismatch`].
    pub fn validate(&self) -> Result<(), DateTimeError> {
        if !matches!(self.month, 1..=12 | MONTH_DST_END | MONTH_DST_BEGIN | NOT_SPECIFIED) {
            return Err(DateTimeError::OutOfRange { field: DateTimeField::Month, value: i32::from(self.month) });
        }
        if !matches!(self.day_of_month, 1..=31 | DAY_SECOND_LAST | DAY_LAST | NOT_SPECIFIED) {
            return Err(DateTimeError::OutOfRange {
                field: DateTimeField::DayOfMonth,
                value: i32::from(self.day_of_month),
            });
        }
        check_byte(DateTimeField::DayOfWeek, self.day_of_week, 1, 7)?;
        let concrete =
            self.year != YEAR_NOT_SPECIFIED && (1..=12).contains(&self.month) && (1..=31).contains(&self.day_of_month);
        if concrete {
            let date = self.to_civil()?;
            if let Some(stated) = self.day_of_week() {
                let actual = date.weekday().to_monday_one_offset() as u8;
                if stated != actual {
                    return Err(DateTimeError::DayOfWeekMismatch { stated, actual });
                }
            }
        }
        Ok(())
    }

    /// The calendar date, when year, month and day are specified and concrete. The day
    /// of week is not consulted.
    ///
    /// # Errors
    /// [`DateTimeError::NotSpecified`], [`DateTimeError::SpecialMonth`],
    /// [`DateTimeError::SpecialDay`], [`DateTimeError::OutOfRange`],
    /// [`DateTimeError::NoSuchDay`], [`DateTimeError::Unrepresentable`] (year > 9999).
    pub fn to_civil(&self) -> Result<civil::Date, DateTimeError> {
        let year = self.year().ok_or(DateTimeError::NotSpecified { field: DateTimeField::Year })?;
        let month = match self.month {
            MONTH_DST_END | MONTH_DST_BEGIN => return Err(DateTimeError::SpecialMonth { month: self.month }),
            m => require_byte(DateTimeField::Month, m, 1, 12)?,
        };
        let day = match self.day_of_month {
            DAY_SECOND_LAST | DAY_LAST => return Err(DateTimeError::SpecialDay { day: self.day_of_month }),
            d => require_byte(DateTimeField::DayOfMonth, d, 1, 31)?,
        };
        let y = i16::try_from(year).ok().filter(|y| *y <= 9999).ok_or(DateTimeError::Unrepresentable)?;
        civil::Date::new(y, month as i8, day as i8).map_err(|_| DateTimeError::NoSuchDay { year, month, day })
    }

    /// The COSEM date of a calendar date, with the day of week filled in (1 = Monday).
    ///
    /// # Errors
    /// [`DateTimeError::Unrepresentable`] for years before 0 (COSEM years are u16).
    pub fn from_civil(date: civil::Date) -> Result<CosemDate, DateTimeError> {
        Ok(CosemDate {
            year: u16::try_from(date.year()).map_err(|_| DateTimeError::Unrepresentable)?,
            month: date.month() as u8,
            day_of_month: date.day() as u8,
            day_of_week: date.weekday().to_monday_one_offset() as u8,
        })
    }
}

impl fmt::Display for CosemDate {
    /// `YYYY-MM-DD`, `*` for a field not specified, `dst-end`/`dst-begin` for months
    /// 0xFD/0xFE, `2nd-last`/`last` for days 0xFD/0xFE. When the date is not fully
    /// specified and the day of week is, it follows in parentheses: `*-*-* (Mon)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.year() {
            Some(y) => write!(f, "{y:04}-")?,
            None => f.write_str("*-")?,
        }
        match self.month {
            NOT_SPECIFIED => f.write_str("*-")?,
            MONTH_DST_END => f.write_str("dst-end-")?,
            MONTH_DST_BEGIN => f.write_str("dst-begin-")?,
            m => write!(f, "{m:02}-")?,
        }
        match self.day_of_month {
            NOT_SPECIFIED => f.write_str("*")?,
            DAY_SECOND_LAST => f.write_str("2nd-last")?,
            DAY_LAST => f.write_str("last")?,
            d => write!(f, "{d:02}")?,
        }
        let complete = self.year().is_some() && (1..=12).contains(&self.month) && (1..=31).contains(&self.day_of_month);
        if !complete {
            match (self.weekday(), self.day_of_week()) {
                (Some(w), _) => write!(f, " ({})", weekday_short(w))?,
                (None, Some(raw)) => write!(f, " (day-of-week {raw})")?,
                (None, None) => {}
            }
        }
        Ok(())
    }
}

impl CosemTime {
    /// Every field "not specified" (`FF FF FF FF`).
    pub const NOT_SPECIFIED: CosemTime =
        CosemTime { hour: NOT_SPECIFIED, minute: NOT_SPECIFIED, second: NOT_SPECIFIED, hundredths: NOT_SPECIFIED };

    /// The hour, `None` when not specified.
    pub const fn hour(&self) -> Option<u8> {
        specified(self.hour)
    }

    /// The minute, `None` when not specified.
    pub const fn minute(&self) -> Option<u8> {
        specified(self.minute)
    }

    /// The second, `None` when not specified.
    pub const fn second(&self) -> Option<u8> {
        specified(self.second)
    }

    /// The hundredths of a second, `None` when not specified.
    pub const fn hundredths(&self) -> Option<u8> {
        specified(self.hundredths)
    }

    /// Checks hour 0..=23, minute 0..=59, second 0..=59, hundredths 0..=99 (each may be
    /// 0xFF, not specified).
    ///
    /// # Errors
    /// [`DateTimeError::OutOfRange`] naming the first offending field.
    pub fn validate(&self) -> Result<(), DateTimeError> {
        check_byte(DateTimeField::Hour, self.hour, 0, 23)?;
        check_byte(DateTimeField::Minute, self.minute, 0, 59)?;
        check_byte(DateTimeField::Second, self.second, 0, 59)?;
        check_byte(DateTimeField::Hundredths, self.hundredths, 0, 99)
    }

    /// The time of day, when hour, minute and second are specified; hundredths not
    /// specified count as 0.
    ///
    /// # Errors
    /// [`DateTimeError::NotSpecified`], [`DateTimeError::OutOfRange`].
    pub fn to_civil(&self) -> Result<civil::Time, DateTimeError> {
        let h = require_byte(DateTimeField::Hour, self.hour, 0, 23)?;
        let m = require_byte(DateTimeField::Minute, self.minute, 0, 59)?;
        let s = require_byte(DateTimeField::Second, self.second, 0, 59)?;
        let cs = match self.hundredths {
            NOT_SPECIFIED => 0,
            c => require_byte(DateTimeField::Hundredths, c, 0, 99)?,
        };
        civil::Time::new(h as i8, m as i8, s as i8, i32::from(cs) * 10_000_000)
            .map_err(|_| DateTimeError::Unrepresentable)
    }

    /// The COSEM time of a time of day; sub-second precision is truncated to hundredths.
    pub fn from_civil(time: civil::Time) -> CosemTime {
        CosemTime {
            hour: time.hour() as u8,
            minute: time.minute() as u8,
            second: time.second() as u8,
            hundredths: (time.subsec_nanosecond() / 10_000_000) as u8,
        }
    }
}

impl fmt::Display for CosemTime {
    /// `HH:MM:SS` with `.hh` appended when the hundredths are specified; `*` for a field
    /// not specified (e.g. `08:30:15.23`, `*:*:*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |f: &mut fmt::Formatter<'_>, v: u8| match v {
            NOT_SPECIFIED => f.write_str("*"),
            v => write!(f, "{v:02}"),
        };
        field(f, self.hour)?;
        f.write_str(":")?;
        field(f, self.minute)?;
        f.write_str(":")?;
        field(f, self.second)?;
        if self.hundredths != NOT_SPECIFIED {
            write!(f, ".{:02}", self.hundredths)?;
        }
        Ok(())
    }
}

impl CosemDateTime {
    /// Every field "not specified" (`FFFF FF FF FF FF FF FF FF 8000 FF`).
    pub const NOT_SPECIFIED: CosemDateTime = CosemDateTime {
        date: CosemDate::NOT_SPECIFIED,
        time: CosemTime::NOT_SPECIFIED,
        deviation: DEVIATION_NOT_SPECIFIED,
        clock_status: NOT_SPECIFIED,
    };

    /// The deviation in minutes from local time to UTC (UTC = local + deviation, −120
    /// = UTC+02:00), `None` when not specified (0x8000).
    pub const fn deviation_minutes(&self) -> Option<i16> {
        if self.deviation == DEVIATION_NOT_SPECIFIED { None } else { Some(self.deviation) }
    }

    /// The clock status, `None` when not specified (0xFF).
    pub const fn clock_status(&self) -> Option<ClockStatus> {
        match specified(self.clock_status) {
            Some(s) => Some(ClockStatus(s)),
            None => None,
        }
    }

    /// The UTC offset of the local time (offset = −deviation), e.g. +02:00 for
    /// deviation −120.
    ///
    /// # Errors
    /// [`DateTimeError::NotSpecified`] when the deviation is 0x8000,
    /// [`DateTimeError::OutOfRange`] when |deviation| > [`DEVIATION_LIMIT_MINUTES`].
    pub fn utc_offset(&self) -> Result<Offset, DateTimeError> {
        offset_for_deviation(self.deviation)
    }

    /// Checks date, time, deviation (−840..=840 minutes or 0x8000) and clock status
    /// (reserved bits 4..=6 zero, or 0xFF) — see [`CosemDate::validate`] and
    /// [`CosemTime::validate`].
    ///
    /// # Errors
    /// The first [`DateTimeError`] found.
    pub fn validate(&self) -> Result<(), DateTimeError> {
        self.date.validate()?;
        self.time.validate()?;
        if self.deviation != DEVIATION_NOT_SPECIFIED {
            offset_for_deviation(self.deviation)?;
        }
        ClockStatus(self.clock_status).validate()
    }

    /// The local (wall-clock) date and time as sent, without the deviation. Needs year,
    /// month, day, hour, minute and second; hundredths not specified count as 0. The day
    /// of week, deviation and clock status are not consulted.
    ///
    /// # Errors
    /// As [`CosemDate::to_civil`] and [`CosemTime::to_civil`].
    pub fn to_local_naive(&self) -> Result<civil::DateTime, DateTimeError> {
        Ok(self.date.to_civil()?.to_datetime(self.time.to_civil()?))
    }

    /// The UTC instant: local date-time + deviation (IEC 62056-6-2 §4.1.6.1). Needs year,
    /// month, day, hour, minute, second and the deviation; hundredths not specified count
    /// as 0. Day of week and clock status are not consulted (check
    /// [`ClockStatus::invalid_value`] yourself before trusting the value).
    ///
    /// # Errors
    /// [`DateTimeError::NotSpecified`] (including the deviation),
    /// [`DateTimeError::SpecialMonth`], [`DateTimeError::SpecialDay`],
    /// [`DateTimeError::OutOfRange`], [`DateTimeError::NoSuchDay`],
    /// [`DateTimeError::Unrepresentable`].
    pub fn to_utc(&self) -> Result<Timestamp, DateTimeError> {
        let local = self.to_local_naive()?;
        let offset = self.utc_offset()?;
        offset.to_timestamp(local).map_err(|_| DateTimeError::Unrepresentable)
    }

    /// Builds the date-time a device at `deviation_min` minutes from UTC shows at the
    /// instant `ts`: local fields = UTC − deviation, day of week filled in (1 = Monday),
    /// hundredths = sub-second part truncated to 1/100 s. With `deviation_min = None`
    /// the local fields are the UTC fields and the deviation is sent as not specified
    /// (0x8000).
    ///
    /// # Errors
    /// [`DateTimeError::OutOfRange`] when |deviation| > [`DEVIATION_LIMIT_MINUTES`] or
    /// equals 0x8000; [`DateTimeError::Unrepresentable`] when the local year is negative.
    pub fn from_utc(
        ts: Timestamp,
        deviation_min: Option<i16>,
        clock_status: ClockStatus,
    ) -> Result<CosemDateTime, DateTimeError> {
        let (offset, deviation) = match deviation_min {
            Some(DEVIATION_NOT_SPECIFIED) => {
                return Err(DateTimeError::OutOfRange {
                    field: DateTimeField::Deviation,
                    value: i32::from(DEVIATION_NOT_SPECIFIED),
                });
            }
            Some(d) => (offset_for_deviation(d)?, d),
            None => (Offset::UTC, DEVIATION_NOT_SPECIFIED),
        };
        let local = offset.to_datetime(ts);
        Ok(CosemDateTime {
            date: CosemDate::from_civil(local.date())?,
            time: CosemTime::from_civil(local.time()),
            deviation,
            clock_status: clock_status.0,
        })
    }

    /// Builds the date-time of a zoned instant: deviation = −(the zone's UTC offset in
    /// minutes, truncated toward zero for historic non-minute offsets), clock status
    /// [`ClockStatus::OK`] with bit 7 set when daylight saving time is in effect.
    ///
    /// # Errors
    /// As [`CosemDateTime::from_utc`].
    pub fn from_zoned(zoned: &Zoned) -> Result<CosemDateTime, DateTimeError> {
        let offset_min = zoned.offset().seconds() / 60;
        let deviation = i16::try_from(-offset_min)
            .map_err(|_| DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: -offset_min })?;
        let dst = zoned.time_zone().to_offset_info(zoned.timestamp()).dst().is_dst();
        Self::from_utc(zoned.timestamp(), Some(deviation), ClockStatus::OK.with_daylight_saving(dst))
    }
}

impl fmt::Display for CosemDateTime {
    /// `{date} {time} {offset}`: the offset is `UTC+02:00` for deviation −120 and `*`
    /// when the deviation is not specified, e.g. `2020-02-15 01:25:34 *`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.date, self.time)?;
        match self.deviation_minutes() {
            None => f.write_str("*"),
            Some(d) => {
                let offset = -i32::from(d);
                let sign = if offset < 0 { '-' } else { '+' };
                let abs = offset.unsigned_abs();
                write!(f, "UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptest_strategies;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    /// A change applied to [`sample`] to make it invalid.
    type Mutation = fn(&mut CosemDateTime);

    fn dt(bytes: [u8; 12]) -> CosemDateTime {
        CosemDateTime::from_octets(&bytes).unwrap()
    }

    /// 2024-03-31 (a Sunday) 02:30:15.50, deviation −60, clock status 0.
    fn sample() -> CosemDateTime {
        dt([0x07, 0xE8, 3, 31, 7, 2, 30, 15, 50, 0xFF, 0xC4, 0x00])
    }

    #[test]
    fn accessors_report_not_specified_as_none() {
        let n = CosemDateTime::NOT_SPECIFIED;
        assert_eq!(n.to_octets(), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF]);
        assert_eq!(
            (n.date.year(), n.date.month(), n.date.day_of_month(), n.date.day_of_week(), n.date.weekday()),
            (None, None, None, None, None)
        );
        assert_eq!((n.time.hour(), n.time.minute(), n.time.second(), n.time.hundredths()), (None, None, None, None));
        assert_eq!((n.deviation_minutes(), n.clock_status()), (None, None));

        let s = sample();
        assert_eq!((s.date.year(), s.date.month(), s.date.day_of_month()), (Some(2024), Some(3), Some(31)));
        assert_eq!((s.date.day_of_week(), s.date.weekday()), (Some(7), Some(Weekday::Sunday)));
        assert_eq!(
            (s.time.hour(), s.time.minute(), s.time.second(), s.time.hundredths()),
            (Some(2), Some(30), Some(15), Some(50))
        );
        assert_eq!((s.deviation_minutes(), s.clock_status()), (Some(-60), Some(ClockStatus::OK)));
    }

    #[test]
    fn to_utc_adds_the_deviation_to_local_time() {
        // 02:30:15.50 local at UTC+01:00 is 01:30:15.50 UTC.
        let expected: Timestamp = "2024-03-31T01:30:15.5Z".parse().unwrap();
        assert_eq!(sample().to_utc(), Ok(expected));
        assert_eq!(sample().utc_offset(), Ok(Offset::from_seconds(3600).unwrap()));
        // deviation +300 (UTC−05:00): 2024-01-01 23:00 local is 2024-01-02 04:00 UTC.
        let ny = dt([0x07, 0xE8, 1, 1, 0xFF, 23, 0, 0, 0xFF, 0x01, 0x2C, 0x00]);
        assert_eq!(ny.to_utc(), Ok("2024-01-02T04:00:00Z".parse().unwrap()));
        // leap day exists in 2024.
        let leap = dt([0x07, 0xE8, 2, 29, 0xFF, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(leap.to_utc(), Ok("2024-02-29T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn to_local_naive_ignores_a_missing_deviation() {
        let mut s = sample();
        s.deviation = DEVIATION_NOT_SPECIFIED;
        s.time.hundredths = NOT_SPECIFIED;
        assert_eq!(s.to_local_naive(), Ok(civil::date(2024, 3, 31).at(2, 30, 15, 0)));
        assert_eq!(s.to_utc(), Err(DateTimeError::NotSpecified { field: DateTimeField::Deviation }));
    }

    #[test]
    fn to_utc_names_the_missing_or_bad_field() {
        let cases: [(Mutation, DateTimeError); 14] = [
            (|d| d.date.year = YEAR_NOT_SPECIFIED, DateTimeError::NotSpecified { field: DateTimeField::Year }),
            (|d| d.date.month = NOT_SPECIFIED, DateTimeError::NotSpecified { field: DateTimeField::Month }),
            (|d| d.date.month = MONTH_DST_END, DateTimeError::SpecialMonth { month: 0xFD }),
            (|d| d.date.month = MONTH_DST_BEGIN, DateTimeError::SpecialMonth { month: 0xFE }),
            (|d| d.date.month = 13, DateTimeError::OutOfRange { field: DateTimeField::Month, value: 13 }),
            (|d| d.date.day_of_month = DAY_LAST, DateTimeError::SpecialDay { day: 0xFE }),
            (|d| d.date.day_of_month = DAY_SECOND_LAST, DateTimeError::SpecialDay { day: 0xFD }),
            (|d| d.date.day_of_month = 0, DateTimeError::OutOfRange { field: DateTimeField::DayOfMonth, value: 0 }),
            (|d| d.time.hour = 24, DateTimeError::OutOfRange { field: DateTimeField::Hour, value: 24 }),
            (|d| d.time.minute = NOT_SPECIFIED, DateTimeError::NotSpecified { field: DateTimeField::Minute }),
            (|d| d.time.second = 60, DateTimeError::OutOfRange { field: DateTimeField::Second, value: 60 }),
            (|d| d.time.hundredths = 100, DateTimeError::OutOfRange { field: DateTimeField::Hundredths, value: 100 }),
            (|d| d.deviation = 841, DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: 841 }),
            (|d| d.date.year = 10_000, DateTimeError::Unrepresentable),
        ];
        for (mutate, err) in cases {
            let mut d = sample();
            mutate(&mut d);
            assert_eq!(d.to_utc(), Err(err), "{d:?}");
        }
        let feb29 = dt([0x07, 0xE7, 2, 29, 0xFF, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(feb29.to_utc(), Err(DateTimeError::NoSuchDay { year: 2023, month: 2, day: 29 }));
    }

    #[test]
    fn validate_accepts_wildcards_and_special_values() {
        assert_eq!(CosemDateTime::NOT_SPECIFIED.validate(), Ok(()));
        assert_eq!(sample().validate(), Ok(()));
        // Every year, last Sunday of the DST-begin month at 02:00 (a schedule pattern).
        let pattern = dt([0xFF, 0xFF, 0xFE, 0xFE, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF]);
        assert_eq!(pattern.validate(), Ok(()));
        assert_eq!(pattern.to_utc(), Err(DateTimeError::NotSpecified { field: DateTimeField::Year }));
    }

    #[test]
    fn validate_rejects_out_of_range_fields() {
        let cases: [(Mutation, DateTimeError); 8] = [
            (|d| d.date.month = 0, DateTimeError::OutOfRange { field: DateTimeField::Month, value: 0 }),
            (|d| d.date.month = 0xFC, DateTimeError::OutOfRange { field: DateTimeField::Month, value: 0xFC }),
            (|d| d.date.day_of_month = 32, DateTimeError::OutOfRange { field: DateTimeField::DayOfMonth, value: 32 }),
            (|d| d.date.day_of_week = 8, DateTimeError::OutOfRange { field: DateTimeField::DayOfWeek, value: 8 }),
            (|d| d.date.day_of_week = 1, DateTimeError::DayOfWeekMismatch { stated: 1, actual: 7 }),
            (|d| d.time.minute = 60, DateTimeError::OutOfRange { field: DateTimeField::Minute, value: 60 }),
            (|d| d.deviation = -841, DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: -841 }),
            (|d| d.clock_status = 0x10, DateTimeError::OutOfRange { field: DateTimeField::ClockStatus, value: 0x10 }),
        ];
        for (mutate, err) in cases {
            let mut d = sample();
            mutate(&mut d);
            assert_eq!(d.validate(), Err(err), "{d:?}");
        }
        let april31 = CosemDate { year: 2024, month: 4, day_of_month: 31, day_of_week: NOT_SPECIFIED };
        assert_eq!(april31.validate(), Err(DateTimeError::NoSuchDay { year: 2024, month: 4, day: 31 }));
    }

    #[test]
    fn from_utc_subtracts_the_deviation_and_fills_the_day_of_week() {
        let ts: Timestamp = "2024-03-31T01:30:15.509Z".parse().unwrap();
        let d = CosemDateTime::from_utc(ts, Some(-60), ClockStatus::OK).unwrap();
        assert_eq!(d, sample()); // hundredths truncated: .509 s -> 50
        let utc = CosemDateTime::from_utc(ts, None, ClockStatus::NOT_SPECIFIED).unwrap();
        assert_eq!(utc.to_octets(), [0x07, 0xE8, 3, 31, 7, 1, 30, 15, 50, 0x80, 0x00, 0xFF]);
        assert_eq!(
            CosemDateTime::from_utc(ts, Some(900), ClockStatus::OK),
            Err(DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: 900 })
        );
        assert_eq!(
            CosemDateTime::from_utc(ts, Some(DEVIATION_NOT_SPECIFIED), ClockStatus::OK),
            Err(DateTimeError::OutOfRange { field: DateTimeField::Deviation, value: -32768 })
        );
        assert_eq!(
            CosemDateTime::from_utc(Timestamp::MIN, Some(0), ClockStatus::OK),
            Err(DateTimeError::Unrepresentable)
        );
    }

    #[test]
    fn from_zoned_sets_deviation_and_dst_bit() {
        let tz = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let summer = Timestamp::from_second(1_719_835_200).unwrap().to_zoned(tz.clone()); // 2024-07-01T12:00Z
        let d = CosemDateTime::from_zoned(&summer).unwrap();
        assert_eq!(d.to_octets(), [0x07, 0xE8, 7, 1, 1, 14, 0, 0, 0, 0xFF, 0x88, 0x80]);
        assert!(d.clock_status().unwrap().daylight_saving_active());
        let winter = Timestamp::from_second(1_704_110_400).unwrap().to_zoned(tz); // 2024-01-01T12:00Z
        let d = CosemDateTime::from_zoned(&winter).unwrap();
        assert_eq!(d.to_octets(), [0x07, 0xE8, 1, 1, 1, 13, 0, 0, 0, 0xFF, 0xC4, 0x00]);
        assert_eq!(d.to_utc(), Ok(winter.timestamp()));
    }

    #[test]
    fn clock_status_bits() {
        let s = ClockStatus(0x83);
        assert!(s.invalid_value() && s.doubtful_value() && s.daylight_saving_active());
        assert!(!s.different_clock_base() && !s.invalid_clock_status());
        assert_eq!(ClockStatus::INVALID_VALUE | ClockStatus::DAYLIGHT_SAVING_ACTIVE, ClockStatus(0x81));
        let n = ClockStatus::NOT_SPECIFIED;
        assert!(!n.is_specified() && !n.invalid_value() && !n.daylight_saving_active());
        assert_eq!(n.with_daylight_saving(true), ClockStatus(0x80));
        assert_eq!(ClockStatus(0x85).with_daylight_saving(false), ClockStatus(0x05));
        assert_eq!(ClockStatus(0x8F).validate(), Ok(()));
        assert_eq!(n.validate(), Ok(()));
        assert!(ClockStatus(0x40).validate().is_err());
    }

    #[test]
    fn display_marks_unspecified_fields_with_stars() {
        let kaifa = dt([0x07, 0xE4, 0x02, 0x0F, 0x06, 0x01, 0x19, 0x22, 0xFF, 0x80, 0x00, 0x00]);
        assert_eq!(kaifa.to_string(), "2020-02-15 01:25:34 *");
        assert_eq!(sample().to_string(), "2024-03-31 02:30:15.50 UTC+01:00");
        let plus2 = dt([0x07, 0xE4, 1, 1, 0xFF, 0, 3, 0, 0, 0xFF, 0x88, 0]);
        assert_eq!(plus2.to_string(), "2020-01-01 00:03:00.00 UTC+02:00");
        let minus = dt([0x07, 0xE4, 1, 1, 0xFF, 0, 3, 0, 0xFF, 0x01, 0x4A, 0]);
        assert_eq!(minus.to_string(), "2020-01-01 00:03:00 UTC-05:30");
        let t = CosemTime { hour: 8, minute: 30, second: 15, hundredths: 23 };
        assert_eq!(format!("{} {t}", CosemDate::NOT_SPECIFIED), "*-*-* 08:30:15.23");
        assert_eq!(CosemTime { hour: 8, minute: 0xFF, second: 0xFF, hundredths: 0xFF }.to_string(), "08:*:*");
        assert_eq!(CosemDateTime::NOT_SPECIFIED.to_string(), "*-*-* *:*:* *");
        let pattern = CosemDate { year: 0xFFFF, month: MONTH_DST_BEGIN, day_of_month: DAY_LAST, day_of_week: 7 };
        assert_eq!(pattern.to_string(), "*-dst-begin-last (Sun)");
        let monthly = CosemDate { year: 0xFFFF, month: 0xFF, day_of_month: DAY_SECOND_LAST, day_of_week: 9 };
        assert_eq!(monthly.to_string(), "*-*-2nd-last (day-of-week 9)");
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            DateTimeError::NotSpecified { field: DateTimeField::Deviation }.to_string(),
            "deviation is not specified"
        );
        assert_eq!(
            DateTimeError::SpecialMonth { month: 0xFD }.to_string(),
            "month 0xFD (month in which daylight saving time ends) names no single month"
        );
        assert_eq!(
            DateTimeError::NoSuchDay { year: 2023, month: 2, day: 29 }.to_string(),
            "day 29 does not exist in 2023-02"
        );
    }

    #[test]
    fn from_octets_rejects_wrong_lengths() {
        for n in [0usize, 11, 13] {
            assert!(matches!(CosemDateTime::from_octets(&vec![0; n]), Err(DecodeError::Invalid { .. })));
        }
        assert!(matches!(
            CosemDate::decode_raw(&mut Reader::new(&[7, 0xE8, 1, 1])),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(CosemTime::decode_raw(&mut Reader::new(&[1, 2, 3])), Err(DecodeError::Truncated { .. })));
    }

    /// Instants with 1/100 s precision in years 0001..=9998.
    fn centisecond_instant() -> impl Strategy<Value = Timestamp> {
        (-62_135_596_800i64 + 86_400..253_370_764_800i64, 0i32..100)
            .prop_map(|(s, cs)| Timestamp::new(s, cs * 10_000_000).unwrap())
    }

    /// Fully specified, valid date-times (years 0001..=9998, day of week not specified,
    /// hundredths specified or not, any deviation in range).
    fn valid_date_time() -> impl Strategy<Value = CosemDateTime> {
        (
            (1u16..=9998, 1u8..=12, 1u8..=31),
            (0u8..=23, 0u8..=59, 0u8..=59, prop_oneof![0u8..=99, Just(NOT_SPECIFIED)]),
            -DEVIATION_LIMIT_MINUTES..=DEVIATION_LIMIT_MINUTES,
            prop_oneof![Just(0u8), Just(0x80u8), Just(0xFFu8)],
        )
            .prop_map(|((year, month, day), (hour, minute, second, hundredths), deviation, clock_status)| {
                let days = civil::Date::new(year as i16, month as i8, 1).unwrap().days_in_month() as u8;
                CosemDateTime {
                    date: CosemDate { year, month, day_of_month: day.min(days), day_of_week: NOT_SPECIFIED },
                    time: CosemTime { hour, minute, second, hundredths },
                    deviation,
                    clock_status,
                }
            })
    }

    proptest! {
        #[test]
        fn raw_date_round_trips(d in proptest_strategies::date()) {
            let mut out = Vec::new();
            d.encode_raw(&mut out);
            prop_assert_eq!(out.len(), 5);
            let mut r = Reader::new(&out);
            prop_assert_eq!(CosemDate::decode_raw(&mut r).unwrap(), d);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn raw_time_round_trips(t in proptest_strategies::time()) {
            let mut out = Vec::new();
            t.encode_raw(&mut out);
            prop_assert_eq!(out.len(), 4);
            prop_assert_eq!(CosemTime::decode_raw(&mut Reader::new(&out)).unwrap(), t);
        }

        #[test]
        fn raw_date_time_round_trips(d in proptest_strategies::date_time()) {
            let octets = d.to_octets();
            prop_assert_eq!(octets.len(), 12);
            prop_assert_eq!(CosemDateTime::from_octets(&octets).unwrap(), d);
        }

        #[test]
        fn from_utc_then_to_utc_is_the_identity(
            ts in centisecond_instant(),
            deviation in -DEVIATION_LIMIT_MINUTES..=DEVIATION_LIMIT_MINUTES,
            status in prop_oneof![Just(0u8), Just(0x80u8), Just(0x01u8), Just(0xFFu8)],
        ) {
            let d = CosemDateTime::from_utc(ts, Some(deviation), ClockStatus(status)).unwrap();
            prop_assert_eq!(d.validate(), Ok(()));
            prop_assert_eq!(d.deviation_minutes(), Some(deviation));
            prop_assert_eq!(d.to_utc(), Ok(ts));
            // local = UTC − deviation
            let local = d.to_local_naive().unwrap();
            prop_assert_eq!(Offset::UTC.to_timestamp(local).unwrap().as_second() + i64::from(deviation) * 60, ts.as_second());
        }

        #[test]
        fn to_utc_then_from_utc_restores_valid_values(d in valid_date_time()) {
            prop_assert_eq!(d.validate(), Ok(()));
            let ts = d.to_utc().unwrap();
            let back = CosemDateTime::from_utc(ts, d.deviation_minutes(), ClockStatus(d.clock_status)).unwrap();
            let mut expected = d;
            expected.date.day_of_week = d.date.to_civil().unwrap().weekday().to_monday_one_offset() as u8;
            if expected.time.hundredths == NOT_SPECIFIED {
                expected.time.hundredths = 0;
            }
            prop_assert_eq!(back, expected);
        }

        #[test]
        fn conversions_never_panic(d in proptest_strategies::date_time()) {
            let _ = d.to_utc();
            let _ = d.to_local_naive();
            let _ = d.validate();
            let _ = d.utc_offset();
            let _ = d.to_string();
            let _ = d.date.weekday();
        }
    }
}
