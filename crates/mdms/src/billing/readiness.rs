//! Bill readiness: a period may be billed only when every interval value it needs is
//! present and either valid, estimated or edited.
//!
//! For each metered channel the values checked are the opening read (at the period start)
//! and the value at every interval end in the period. Active import (A+) is always
//! required; the other channels (A−, R+, R−) count as not metered, and are not checked,
//! when the store holds none of their values in the period. A value is billable when its
//! quality is valid ([`QualityFlags::is_valid`]: no flag other than daylight saving),
//! estimated ([`QualityFlags::ESTIMATED`]) or edited by a user ([`QualityFlags::EDITED`]:
//! an edit is a deliberate, audited replacement, the "E" of VEE, so it counts as
//! validated), and in every case not [`QualityFlags::SUSPECT`]. An interval whose
//! consumption comes out negative (a register reset or a bad value) also blocks billing.

use jiff::Timestamp;
use model::{QualityFlags, ReadingType};
use serde::Serialize;

use super::series::{AlignedChannel, IntervalGrid};

/// True when the value was estimated by the MDMS ([`QualityFlags::ESTIMATED`]).
pub fn is_estimated(quality: QualityFlags) -> bool {
    quality.contains(QualityFlags::ESTIMATED)
}

/// True when the value was entered or changed by a user ([`QualityFlags::EDITED`]) and is
/// not an estimate.
pub fn is_edited(quality: QualityFlags) -> bool {
    quality.contains(QualityFlags::EDITED) && !is_estimated(quality)
}

/// True when a value may be billed: valid (as read, or validated), estimated, or edited,
/// and not [`QualityFlags::SUSPECT`] (an estimate or edit that failed re-validation waits
/// for review like any suspect value).
pub fn is_billable(quality: QualityFlags) -> bool {
    !quality.contains(QualityFlags::SUSPECT) && (quality.is_valid() || is_estimated(quality) || is_edited(quality))
}

/// What is wrong with one value a period needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// No value is stored at this interval end.
    Missing,
    /// The value is not billable ([`is_billable`]): e.g. data not valid, power down, or
    /// suspect (failed validation).
    NotValid {
        /// The value's quality flags.
        quality: QualityFlags,
    },
    /// The interval ending here has negative consumption (Wh or varh).
    NegativeConsumption {
        /// The interval consumption, negative, in the channel's unit.
        consumption: f64,
    },
}

/// One value that blocks billing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntervalProblem {
    /// The channel.
    pub reading_type: ReadingType,
    /// The interval end concerned, UTC; the period start means the opening read.
    pub interval_end: Timestamp,
    /// What is wrong.
    pub problem: ProblemKind,
}

/// Value counts of one channel over a period (interval ends only; the opening read is
/// checked but not counted here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelReadiness {
    /// The channel.
    pub reading_type: ReadingType,
    /// False when the channel has no value in the period and is not required (then every
    /// count below is 0 and it does not affect readiness).
    pub metered: bool,
    /// Interval ends in the period (the same for every channel).
    pub expected: u32,
    /// Interval ends with a stored value.
    pub present: u32,
    /// Values with valid quality (neither estimated nor edited).
    pub valid: u32,
    /// Billable values estimated by the MDMS.
    pub estimated: u32,
    /// Billable values edited by a user (not estimates).
    pub edited: u32,
    /// Interval ends with no stored value.
    pub missing: u32,
    /// Values that are not billable ([`is_billable`]).
    pub not_valid: u32,
    /// Intervals with negative consumption.
    pub negative: u32,
    /// Values inside the period but off the interval grid (ignored).
    pub off_grid: u32,
}

/// Whether a period can be billed, and why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    /// True when `problems` is empty: every needed value is present and billable.
    pub bill_ready: bool,
    /// Missing values across channels (opening reads included).
    pub missing_values: u32,
    /// Values that are not billable, across channels (opening reads included).
    pub not_valid_values: u32,
    /// Intervals with negative consumption, across channels.
    pub negative_intervals: u32,
    /// Per-channel counts: A+, A−, R+, R−.
    pub channels: Vec<ChannelReadiness>,
    /// Every value that blocks billing, by channel then interval end.
    pub problems: Vec<IntervalProblem>,
}

impl Readiness {
    /// Readiness of the channels `(reading type, aligned values, required)`.
    pub fn assess(grid: &IntervalGrid, channels: &[(ReadingType, &AlignedChannel, bool)]) -> Readiness {
        let mut counts = Vec::with_capacity(channels.len());
        let mut problems = Vec::new();
        for (reading_type, channel, required) in channels {
            counts.push(assess_channel(grid, *reading_type, channel, *required, &mut problems));
        }
        let count = |pred: fn(&ProblemKind) -> bool| {
            u32::try_from(problems.iter().filter(|p| pred(&p.problem)).count()).unwrap_or(u32::MAX)
        };
        Readiness {
            bill_ready: problems.is_empty(),
            missing_values: count(|p| matches!(p, ProblemKind::Missing)),
            not_valid_values: count(|p| matches!(p, ProblemKind::NotValid { .. })),
            negative_intervals: count(|p| matches!(p, ProblemKind::NegativeConsumption { .. })),
            channels: counts,
            problems,
        }
    }
}

/// Counts one channel and appends its problems.
fn assess_channel(
    grid: &IntervalGrid,
    reading_type: ReadingType,
    channel: &AlignedChannel,
    required: bool,
    problems: &mut Vec<IntervalProblem>,
) -> ChannelReadiness {
    let expected = u32::try_from(grid.count).unwrap_or(u32::MAX);
    let mut readiness = ChannelReadiness {
        reading_type,
        metered: required || !channel.is_empty(),
        expected,
        present: 0,
        valid: 0,
        estimated: 0,
        edited: 0,
        missing: 0,
        not_valid: 0,
        negative: 0,
        off_grid: channel.off_grid,
    };
    if !readiness.metered {
        readiness.expected = 0;
        return readiness;
    }
    let mut problem = |interval_end, problem| problems.push(IntervalProblem { reading_type, interval_end, problem });
    match channel.opening {
        None => problem(grid.start, ProblemKind::Missing),
        Some(v) if !is_billable(v.quality) => problem(grid.start, ProblemKind::NotValid { quality: v.quality }),
        Some(_) => {}
    }
    let consumption = channel.interval_consumption();
    for (k, (value, delta)) in channel.intervals.iter().zip(consumption).enumerate() {
        let end = grid.interval_end(k);
        match value {
            None => {
                readiness.missing += 1;
                problem(end, ProblemKind::Missing);
            }
            Some(v) => {
                readiness.present += 1;
                if !is_billable(v.quality) {
                    readiness.not_valid += 1;
                    problem(end, ProblemKind::NotValid { quality: v.quality });
                } else if is_estimated(v.quality) {
                    readiness.estimated += 1;
                } else if is_edited(v.quality) {
                    readiness.edited += 1;
                } else {
                    readiness.valid += 1;
                }
            }
        }
        if let Some(delta) = delta.filter(|d| *d < 0.0) {
            readiness.negative += 1;
            problem(end, ProblemKind::NegativeConsumption { consumption: delta });
        }
    }
    readiness
}
