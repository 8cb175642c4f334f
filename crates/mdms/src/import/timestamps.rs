//! Timestamps of imported files: instants with a UTC offset, or local civil times in a named
//! IANA time zone, converted to UTC at the edge (gridedge is UTC inside).

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, Zoned};

/// What a timestamp text denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedTime {
    /// Exactly one instant.
    Instant(Timestamp),
    /// A local time the zone repeats when clocks go back (a fold): it denotes two instants.
    Ambiguous {
        /// The first occurrence (the offset before the transition, e.g. BST).
        earlier: Timestamp,
        /// The second occurrence (the offset after it, e.g. GMT).
        later: Timestamp,
    },
}

/// How to read a local time that occurs twice (the repeated hour when clocks go back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmbiguousLocalTime {
    /// Refuse it: the file must give offsets around the transition.
    #[default]
    Reject,
    /// Per meter and channel, the first line with that local time is the earlier instant
    /// and the second line the later one (files list intervals in time order); a third is
    /// refused.
    FileOrder,
}

/// Parses `text` as one of:
///
/// - an RFC 3339 instant with `Z` or a numeric offset, e.g. `2025-10-26T01:15:00+01:00`;
/// - an RFC 9557 zoned time, e.g. `2025-10-26T01:15:00+01:00[Europe/London]` (the offset
///   must agree with the zone);
/// - a civil date-time without offset, e.g. `2025-10-26T01:15:00` or
///   `2025-10-26 01:15:00`, read in `zone` (required for this form). A time that the zone
///   skips (clocks going forward) is refused; one it repeats is [`ParsedTime::Ambiguous`].
///
/// Errors: a message naming the text and the problem.
pub fn parse_time(text: &str, zone: Option<&TimeZone>) -> Result<ParsedTime, String> {
    let text = text.trim();
    if text.contains('[') {
        return text
            .parse::<Zoned>()
            .map(|z| ParsedTime::Instant(z.timestamp()))
            .map_err(|e| format!("{text:?} is not a valid zoned date-time: {e}"));
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ParsedTime::Instant(ts));
    }
    let civil: DateTime =
        text.parse().map_err(|e| format!("{text:?} is neither an RFC 3339 instant nor a local date-time: {e}"))?;
    let Some(zone) = zone else {
        return Err(format!("{text:?} has no UTC offset: give one, or name the file's time zone"));
    };
    let ambiguous = zone.to_ambiguous_timestamp(civil);
    let at = |offset: jiff::tz::Offset| {
        offset.to_timestamp(civil).map_err(|e| format!("{text:?} is out of range in its time zone: {e}"))
    };
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => Ok(ParsedTime::Instant(at(offset)?)),
        AmbiguousOffset::Gap { .. } => {
            Err(format!("{text:?} does not exist in the time zone (skipped when clocks go forward)"))
        }
        AmbiguousOffset::Fold { before, after } => {
            Ok(ParsedTime::Ambiguous { earlier: at(before)?, later: at(after)? })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> TimeZone {
        TimeZone::get("Europe/London").expect("the tz database has Europe/London")
    }

    fn instant(s: &str) -> ParsedTime {
        ParsedTime::Instant(s.parse().unwrap())
    }

    #[test]
    fn offsets_zones_and_local_times() {
        assert_eq!(parse_time("2025-01-01T00:15:00Z", None), Ok(instant("2025-01-01T00:15:00Z")));
        assert_eq!(parse_time(" 2025-07-01T01:15:00+01:00 ", None), Ok(instant("2025-07-01T00:15:00Z")));
        assert_eq!(parse_time("2025-07-01T01:15:00+01:00[Europe/London]", None), Ok(instant("2025-07-01T00:15:00Z")));
        assert!(parse_time("2025-07-01T01:15:00+03:00[Europe/London]", None).is_err());
        assert_eq!(parse_time("2025-07-01T01:15:00", Some(&london())), Ok(instant("2025-07-01T00:15:00Z")));
        assert_eq!(parse_time("2025-01-01 01:15:00", Some(&london())), Ok(instant("2025-01-01T01:15:00Z")));
        assert!(parse_time("2025-07-01T01:15:00", None).unwrap_err().contains("no UTC offset"));
        assert!(parse_time("yesterday", Some(&london())).is_err());
        assert!(parse_time("", None).is_err());
    }

    #[test]
    fn transitions_are_explicit() {
        // 2025-03-30 01:30 does not exist in London; 2025-10-26 01:30 happens twice.
        assert!(parse_time("2025-03-30T01:30:00", Some(&london())).unwrap_err().contains("does not exist"));
        assert_eq!(
            parse_time("2025-10-26T01:30:00", Some(&london())),
            Ok(ParsedTime::Ambiguous {
                earlier: "2025-10-26T00:30:00Z".parse().unwrap(),
                later: "2025-10-26T01:30:00Z".parse().unwrap(),
            })
        );
    }
}
