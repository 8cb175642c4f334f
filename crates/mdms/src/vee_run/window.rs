//! The validation window of one channel and the series loaded for it.
//!
//! Validation runs over whole local days (in the meter class's time zone) covering the
//! interval ends concerned, plus context: `margin` seconds either side (one interval, plus
//! the zero-consumption rule's minimum run), the stored value just before and just after,
//! the register reads (back to the read before the window, for the sum check) and the
//! values at the local midnights of the high/low rule's history days.

use jiff::Timestamp;
use model::ReadingType;

use crate::StoreError;
use crate::vee::local_days::days_covering;
use crate::vee::{CompiledClass, RegisterPoint, RuleConfig, RuleId, SeriesPoint};

/// One channel of one meter, with the class that validates it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Channel<'a> {
    /// Load the channel's register reads for the sum check. Ingest sets it only when the
    /// reading delivers register reads of the channel (a sum-check pair is complete only
    /// when its second read arrives), sparing two queries per profile-only batch.
    pub with_registers: bool,
    /// The meter's row id.
    pub meter_id: i64,
    /// The channel.
    pub reading_type: ReadingType,
    /// The channel's reading type row id.
    pub reading_type_id: i64,
    /// The class validating the meter.
    pub class: &'a CompiledClass,
}

/// The interval ends validated (`from..=to`, whole local days) and the context loaded
/// around them (`ctx_lo..=ctx_hi`), UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
    pub ctx_lo: i64,
    pub ctx_hi: i64,
}

impl Window {
    /// The whole local days holding the interval ends `first_end..=last_end`.
    ///
    /// Errors: [`StoreError::Time`] at the edge of the representable range.
    pub fn covering(ch: &Channel<'_>, first_end: i64, last_end: i64) -> Result<Window, StoreError> {
        let days = days_covering(first_end, last_end.max(first_end), &ch.class.tz)?;
        let (from, to) = match (days.first(), days.last()) {
            (Some(a), Some(b)) => (a.start + 1, b.end),
            _ => (first_end, last_end),
        };
        let zero_run = match ch.class.rule(RuleId::ZeroConsumption, ch.reading_type) {
            Some(RuleConfig::ZeroConsumption { min_duration_s }) => i64::from(*min_duration_s),
            _ => 0,
        };
        let margin = ch.class.interval_length_s + zero_run;
        Ok(Window { from, to, ctx_lo: from - 1 - margin, ctx_hi: to + margin })
    }

    /// The smallest window holding both.
    pub fn union(self, other: Window) -> Window {
        Window {
            from: self.from.min(other.from),
            to: self.to.max(other.to),
            ctx_lo: self.ctx_lo.min(other.ctx_lo),
            ctx_hi: self.ctx_hi.max(other.ctx_hi),
        }
    }
}

/// What validation and estimation of one window look at.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    /// Latest version per interval end, ordered.
    pub points: Vec<SeriesPoint>,
    /// The channel's register reads (latest versions), ordered.
    pub registers: Vec<RegisterPoint>,
    /// Values at the high/low rule's history midnights.
    pub midnights: Vec<(Timestamp, f64)>,
}

impl Slice {
    /// The latest version at `end_s` (`None`: no value).
    pub fn version_at(&self, end_s: i64) -> Option<u32> {
        self.point_at(end_s).map(|p| p.version)
    }

    /// The point at `end_s`.
    pub fn point_at(&self, end_s: i64) -> Option<&SeriesPoint> {
        self.points.binary_search_by_key(&end_s, |p| p.interval_end.as_second()).ok().and_then(|i| self.points.get(i))
    }
}
