//! Query parameters every list route shares: UTC time ranges (ISO 8601 / RFC 3339) and
//! pagination (a `limit` and an opaque `cursor`).
//!
//! Time ranges are half-open, `[from, to)`, in UTC, like the MDMS store. A timestamp must
//! carry its offset (`2025-01-01T00:00:00Z` or `2025-01-01T01:00:00+01:00`); local times
//! without an offset are refused, because the API never guesses a time zone.
//!
//! Pagination: a list answers with a [`Page`]: `items` and `next_cursor`. Pass
//! `next_cursor` back as `cursor` to get the next page; `null` means the list is complete.
//! Cursors are opaque strings: clients must not build them.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Default page size of list routes.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size a client may ask for (interval readings: [`MAX_READINGS_LIMIT`]).
pub const MAX_LIMIT: u32 = 1000;
/// Largest page size of the readings routes (two months of 15-minute intervals).
pub const MAX_READINGS_LIMIT: u32 = 10_000;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Cursor of the next page (pass it as `cursor`); `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from `items` fetched with one item more than `limit`: when the extra item is
    /// there it is dropped and `cursor_of` the last kept item is the next cursor.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if items.len() > limit {
            items.truncate(limit);
            let next_cursor = items.last().map(cursor_of);
            Page { items, next_cursor }
        } else {
            Page { items, next_cursor: None }
        }
    }
}

/// `limit` and `cursor` query parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1..=1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size: `limit` or [`DEFAULT_LIMIT`], checked against `max`.
    ///
    /// Errors: 400 for 0 or more than `max`.
    pub fn limit(&self, max: u32) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT.min(max)),
            Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
            Some(n) if n > max => Err(ApiError::bad_request(format!("limit must be at most {max}"))),
            Some(n) => Ok(n),
        }
    }
}

/// Parses an RFC 3339 / ISO 8601 timestamp with an offset into UTC.
///
/// Errors: 400 naming the parameter.
pub fn parse_timestamp(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    text.trim().parse::<Timestamp>().map_err(|e| {
        ApiError::bad_request(format!(
            "{name}: {text:?} is not an ISO 8601 timestamp with an offset (e.g. 2025-01-01T00:00:00Z): {e}"
        ))
    })
}

/// A half-open UTC range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant included.
    pub from: Timestamp,
    /// First instant excluded.
    pub to: Timestamp,
}

impl TimeRange {
    /// The range from optional `from` / `to` texts: `to` defaults to `now`, `from` to
    /// `to - default_span`.
    ///
    /// Errors: 400 for an unparsable timestamp or `from >= to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: Timestamp,
        default_span: SignedDuration,
    ) -> Result<TimeRange, ApiError> {
        let to = match to {
            Some(t) => parse_timestamp("to", t)?,
            None => now,
        };
        let from = match from {
            Some(f) => parse_timestamp("from", f)?,
            None => to.checked_sub(default_span).map_err(|e| ApiError::bad_request(format!("to: {e}")))?,
        };
        if from >= to {
            return Err(ApiError::bad_request(format!("empty time range: from {from} is not before to {to}")));
        }
        Ok(TimeRange { from, to })
    }
}

/// `from` and `to` query parameters (ISO 8601 with offset, UTC inside).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// First instant included, e.g. `2025-01-01T00:00:00Z` (default: `to` minus the
    /// route's default span).
    pub from: Option<String>,
    /// First instant excluded (default: now).
    pub to: Option<String>,
}

impl RangeParams {
    /// The range; see [`TimeRange::parse`].
    ///
    /// Errors: 400.
    pub fn range(&self, default_span: SignedDuration) -> Result<TimeRange, ApiError> {
        TimeRange::parse(self.from.as_deref(), self.to.as_deref(), Timestamp::now(), default_span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_need_offsets_and_order() {
        let now: Timestamp = "2025-03-01T00:00:00Z".parse().unwrap();
        let day = SignedDuration::from_hours(24);
        let r = TimeRange::parse(None, None, now, day).unwrap();
        assert_eq!(r.from, "2025-02-28T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(r.to, now);
        let r = TimeRange::parse(Some("2025-01-01T01:00:00+01:00"), Some("2025-01-02T00:00:00Z"), now, day).unwrap();
        assert_eq!(r.from, "2025-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert!(TimeRange::parse(Some("2025-01-01T00:00:00"), None, now, day).is_err(), "no offset");
        assert!(TimeRange::parse(Some("2025-01-02T00:00:00Z"), Some("2025-01-02T00:00:00Z"), now, day).is_err());
        assert!(TimeRange::parse(Some("yesterday"), None, now, day).is_err());
    }

    #[test]
    fn limits_and_overfetch() {
        assert_eq!(PageParams::default().limit(MAX_LIMIT).unwrap(), DEFAULT_LIMIT);
        assert!(PageParams { limit: Some(0), cursor: None }.limit(MAX_LIMIT).is_err());
        assert!(PageParams { limit: Some(1001), cursor: None }.limit(MAX_LIMIT).is_err());
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!((page.items, page.next_cursor), (vec![1, 2], Some("2".to_string())));
        let page = Page::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert_eq!((page.items, page.next_cursor), (vec![1, 2], None));
    }
}
