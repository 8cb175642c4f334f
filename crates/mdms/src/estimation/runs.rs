//! Target runs and the values that bracket them.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

use super::{SkipReason, SkippedRun};
use crate::vee::{RegisterPoint, SeriesPoint};

/// The known values around the targets: stored values at non-target ends, and register
/// reads taken exactly at target ends.
pub(super) struct Brackets<'a> {
    pub points: &'a [SeriesPoint],
    pub ends: Vec<i64>,
    pub targets: BTreeSet<i64>,
    registers_at_targets: HashMap<i64, f64>,
}

impl<'a> Brackets<'a> {
    pub fn new(points: &'a [SeriesPoint], targets: &[Timestamp], registers: &[RegisterPoint]) -> Self {
        let targets: BTreeSet<i64> = targets.iter().map(|t| t.as_second()).collect();
        let registers_at_targets =
            registers.iter().map(|r| (r.read_at.as_second(), r.value)).filter(|(t, _)| targets.contains(t)).collect();
        Brackets {
            points,
            ends: points.iter().map(|p| p.interval_end.as_second()).collect(),
            targets,
            registers_at_targets,
        }
    }

    /// The stored point at `t` unless `t` is a target.
    pub fn point(&self, t: i64) -> Option<&'a SeriesPoint> {
        if self.targets.contains(&t) {
            return None;
        }
        let points: &'a [SeriesPoint] = self.points;
        self.ends.binary_search(&t).ok().and_then(|i| points.get(i))
    }

    /// The value known at `t`: a register read at a target end, or a non-target point.
    pub fn known(&self, t: i64) -> Option<f64> {
        match self.registers_at_targets.get(&t) {
            Some(v) => Some(*v),
            None => self.point(t).map(|p| p.value),
        }
    }

    /// Consumption of the interval ending at `t` from known values.
    pub fn consumption(&self, t: i64, l: i64) -> Option<f64> {
        Some(self.known(t)? - self.known(t - l)?)
    }

    /// Target ends with a register read, and the read's value.
    pub fn register_targets(&self) -> Vec<(i64, f64)> {
        let mut v: Vec<(i64, f64)> = self.registers_at_targets.iter().map(|(&t, &v)| (t, v)).collect();
        v.sort_by_key(|&(t, _)| t);
        v
    }
}

/// Consecutive target ends (one interval apart) without a known value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Run {
    /// First interval end, UTC seconds.
    pub start: i64,
    /// Last interval end, UTC seconds.
    pub end: i64,
    /// Number of interval ends.
    pub count: i64,
}

impl Run {
    /// Missing duration: count × interval length.
    pub fn len_s(&self, l: i64) -> i64 {
        self.count * l
    }

    pub fn skipped(&self, reason: SkipReason) -> SkippedRun {
        let at = |s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH);
        SkippedRun { first: at(self.start), last: at(self.end), reason }
    }
}

/// The runs of targets, in time order; target ends with a register read split runs.
pub(super) fn runs(brackets: &Brackets<'_>, l: i64) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for &t in &brackets.targets {
        if brackets.registers_at_targets.contains_key(&t) {
            continue;
        }
        match out.last_mut() {
            Some(run) if run.end + l == t => {
                run.end = t;
                run.count += 1;
            }
            _ => out.push(Run { start: t, end: t, count: 1 }),
        }
    }
    out
}
