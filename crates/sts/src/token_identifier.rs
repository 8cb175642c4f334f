//! Token identifier (TID) and the TID base dates (IEC 62055-41:2018 §6.3, TokenIdentifier;
//! base dates and TID roll-over since edition 2, 2014).
//!
//! The TID is the number of minutes from the base date 00:00 to the time the token was issued,
//! in 24 bits. It carries no time zone: it counts minutes of the *civil* (wall-clock) time the
//! supply authority uses, so this module works with [`jiff::civil::DateTime`] and never with
//! instants. Callers that hold a UTC instant choose the zone explicitly at the edge (the STS
//! convention is the utility's local time; gridedge meters may simply use UTC civil time).
//!
//! 24 bits of minutes last 2^24 min ≈ 31.9 years, so each base date has a *roll-over* moment after
//! which no TID can be formed: 1993-01-01 rolls over at 2024-11-24 20:16 (the "2024 TID
//! roll-over"), 2014-01-01 at 2045-11-24 20:16 and 2035-01-01 at 2066-11-24 20:16. Before that,
//! every meter must receive a *roll-over key change* (key change tokens with the RO bit set, see
//! [`crate::token::Token::Set1stSectionDecoderKey`]) to a key of the next base date; the meter
//! then clears its TID memory and counts from the new base date.

use jiff::SignedDuration;
use jiff::civil::{DateTime, date};
use thiserror::Error;

/// Largest 24-bit TID (minutes).
pub const TID_MAX: u32 = 0x00FF_FFFF;

/// The TID base dates (IEC 62055-41:2018 §6.3, TokenIdentifier; TID roll-over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BaseDate {
    /// 1993-01-01 00:00, the original base date (roll-over 2024-11-24 20:16).
    Bd1993,
    /// 2014-01-01 00:00 (roll-over 2045-11-24 20:16).
    Bd2014,
    /// 2035-01-01 00:00 (roll-over 2066-11-24 20:16).
    Bd2035,
}

impl BaseDate {
    /// All base dates, oldest first.
    pub const ALL: [BaseDate; 3] = [BaseDate::Bd1993, BaseDate::Bd2014, BaseDate::Bd2035];

    /// 00:00 on the base date (civil time).
    pub fn start(self) -> DateTime {
        match self {
            BaseDate::Bd1993 => date(1993, 1, 1).at(0, 0, 0, 0),
            BaseDate::Bd2014 => date(2014, 1, 1).at(0, 0, 0, 0),
            BaseDate::Bd2035 => date(2035, 1, 1).at(0, 0, 0, 0),
        }
    }

    /// The two-digit code used in DKGA04 ("93", "14", "35").
    pub fn code(self) -> &'static str {
        match self {
            BaseDate::Bd1993 => "93",
            BaseDate::Bd2014 => "14",
            BaseDate::Bd2035 => "35",
        }
    }

    /// The base date for a two-digit code ("93", "14" or "35").
    pub fn from_code(code: &str) -> Option<BaseDate> {
        BaseDate::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The base date that follows this one at roll-over; `None` after 2035.
    pub fn next(self) -> Option<BaseDate> {
        match self {
            BaseDate::Bd1993 => Some(BaseDate::Bd2014),
            BaseDate::Bd2014 => Some(BaseDate::Bd2035),
            BaseDate::Bd2035 => None,
        }
    }

    /// The last minute a TID can denote under this base date (TID = 2^24 - 1).
    pub fn last_tid_minute(self) -> DateTime {
        // In range for all three base dates (year <= 2066).
        self.start().checked_add(SignedDuration::from_mins(i64::from(TID_MAX))).unwrap_or(DateTime::MAX)
    }

    /// The roll-over moment: the first minute that no TID of this base date can denote.
    pub fn rollover_at(self) -> DateTime {
        self.start().checked_add(SignedDuration::from_mins(i64::from(TID_MAX) + 1)).unwrap_or(DateTime::MAX)
    }
}

/// Why a time cannot be expressed as a TID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TidError {
    /// The time is before 00:00 of the base date.
    #[error("{time} is before the TID base date {base:?}")]
    BeforeBaseDate {
        /// The base date in use.
        base: BaseDate,
        /// The requested issue time.
        time: DateTime,
    },
    /// The time is at or after the roll-over moment of the base date: a roll-over key change to
    /// the next base date is due.
    #[error("{time} is past the TID roll-over of base date {base:?}: change keys to the next base date")]
    PastRollover {
        /// The base date in use.
        base: BaseDate,
        /// The requested issue time.
        time: DateTime,
    },
    /// A raw TID wider than 24 bits.
    #[error("TID {minutes} does not fit in 24 bits")]
    TooWide {
        /// The raw value.
        minutes: u32,
    },
}

/// A 24-bit token identifier: minutes since 00:00 of the base date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct Tid(u32);

impl TryFrom<u32> for Tid {
    type Error = TidError;

    fn try_from(minutes: u32) -> Result<Tid, TidError> {
        Tid::from_minutes(minutes)
    }
}

impl From<Tid> for u32 {
    fn from(tid: Tid) -> u32 {
        tid.0
    }
}

impl Tid {
    /// TID 0: 00:00 of the base date.
    pub const ZERO: Tid = Tid(0);

    /// A TID from its minute count; errors above 2^24 - 1.
    pub fn from_minutes(minutes: u32) -> Result<Tid, TidError> {
        if minutes > TID_MAX { Err(TidError::TooWide { minutes }) } else { Ok(Tid(minutes)) }
    }

    /// The TID of an issue time (civil time; seconds and sub-seconds are dropped, i.e. the
    /// minute is truncated as the TID counts whole minutes).
    pub fn from_datetime(base: BaseDate, time: DateTime) -> Result<Tid, TidError> {
        let start = base.start();
        if time < start {
            return Err(TidError::BeforeBaseDate { base, time });
        }
        let elapsed = time.duration_since(start);
        let minutes = elapsed.as_secs() / 60;
        match u32::try_from(minutes) {
            Ok(m) if m <= TID_MAX => Ok(Tid(m)),
            _ => Err(TidError::PastRollover { base, time }),
        }
    }

    /// The minute count (0..=2^24 - 1).
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// The civil time the TID denotes under `base`.
    pub fn to_datetime(self, base: BaseDate) -> DateTime {
        // At most 2^24 minutes after a base date <= 2035: always representable.
        base.start().checked_add(SignedDuration::from_mins(i64::from(self.0))).unwrap_or(DateTime::MAX)
    }

    /// The 8 high-order bits of the TID, which are compared with the key expiry number (KEN):
    /// a key has expired for a token when this is greater than the KEN
    /// (IEC 62055-41:2018 §6.5, KeyExpiryNumber).
    pub fn expiry_index(self) -> u8 {
        // 24-bit value shifted by 16: at most 8 bits.
        (self.0 >> 16) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollover_of_1993_is_24_november_2024() {
        assert_eq!(BaseDate::Bd1993.rollover_at(), date(2024, 11, 24).at(20, 16, 0, 0));
        assert_eq!(BaseDate::Bd1993.last_tid_minute(), date(2024, 11, 24).at(20, 15, 0, 0));
        assert_eq!(
            Tid::from_datetime(BaseDate::Bd1993, date(2024, 11, 24).at(20, 15, 59, 0)).unwrap().minutes(),
            TID_MAX
        );
        assert!(matches!(
            Tid::from_datetime(BaseDate::Bd1993, date(2024, 11, 24).at(20, 16, 0, 0)),
            Err(TidError::PastRollover { .. })
        ));
        assert_eq!(BaseDate::Bd2014.rollover_at(), date(2045, 11, 24).at(20, 16, 0, 0));
        assert_eq!(BaseDate::Bd2035.rollover_at(), date(2066, 11, 24).at(20, 16, 0, 0));
    }

    #[test]
    fn before_base_date_is_refused() {
        assert!(matches!(
            Tid::from_datetime(BaseDate::Bd2014, date(2013, 12, 31).at(23, 59, 0, 0)),
            Err(TidError::BeforeBaseDate { .. })
        ));
        assert_eq!(Tid::from_minutes(TID_MAX + 1), Err(TidError::TooWide { minutes: TID_MAX + 1 }));
    }

    #[test]
    fn base_date_codes() {
        for b in BaseDate::ALL {
            assert_eq!(BaseDate::from_code(b.code()), Some(b));
        }
        assert_eq!(BaseDate::Bd1993.next(), Some(BaseDate::Bd2014));
        assert_eq!(BaseDate::Bd2035.next(), None);
    }
}
