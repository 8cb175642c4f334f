//! Stored findings, the exceptions queue and validation reports.

use jiff::Timestamp;
use model::{MeterId, ReadingType};
use serde::Serialize;

use super::RuleId;
use crate::estimation::SkippedRun;

/// The state of a stored finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// In the exceptions queue: the rule fails on the interval's latest version.
    Open,
    /// A later validation of the same version no longer found it (its context changed, e.g.
    /// a late interval closed a gap's neighbourhood).
    Cleared,
    /// A newer version of the interval (a late read, an estimate, an edit) replaced the
    /// judged one.
    Superseded,
    /// A user accepted the value as it is (audit action `accept`).
    Accepted,
}

impl FindingStatus {
    /// The code stored in the database.
    pub fn code(self) -> i64 {
        match self {
            FindingStatus::Open => 0,
            FindingStatus::Cleared => 1,
            FindingStatus::Superseded => 2,
            FindingStatus::Accepted => 3,
        }
    }

    /// The status stored as `code`.
    pub fn from_code(code: i64) -> Option<FindingStatus> {
        match code {
            0 => Some(FindingStatus::Open),
            1 => Some(FindingStatus::Cleared),
            2 => Some(FindingStatus::Superseded),
            3 => Some(FindingStatus::Accepted),
            _ => None,
        }
    }
}

/// A finding as stored: which rule failed on which interval and version, and what became
/// of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFinding {
    /// The rule.
    pub rule: RuleId,
    /// The interval end, UTC.
    pub interval_end: Timestamp,
    /// The version judged (0: the interval had no value).
    pub version: u32,
    /// What the rule measured (see [`Finding::measured`](super::Finding::measured)).
    pub measured: Option<f64>,
    /// The limit broken.
    pub limit: Option<f64>,
    /// Its state.
    pub status: FindingStatus,
    /// When the validation run that (last) found it ran, UTC.
    pub detected_at: Timestamp,
    /// What started that run: "ingest", "revalidate", "estimate" or "edit".
    pub detected_by: String,
}

/// One entry of the exceptions queue: consecutive intervals of one channel failing the same
/// rule, still open.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VeeException {
    /// The meter.
    pub meter: MeterId,
    /// The channel.
    pub reading_type: ReadingType,
    /// The rule.
    pub rule: RuleId,
    /// First interval end, UTC.
    pub first_interval_end: Timestamp,
    /// Last interval end, UTC.
    pub last_interval_end: Timestamp,
    /// Number of intervals.
    pub intervals: u32,
    /// `measured` of the first interval.
    pub measured: Option<f64>,
    /// `limit` of the first interval.
    pub limit: Option<f64>,
    /// When the earliest of them was detected, UTC.
    pub detected_at: Timestamp,
}

/// Which open exceptions to list; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionFilter {
    /// Only this meter.
    pub meter: Option<MeterId>,
    /// Only this channel.
    pub reading_type: Option<ReadingType>,
    /// Only this rule.
    pub rule: Option<RuleId>,
    /// Only intervals ending at or after this time.
    pub from: Option<Timestamp>,
    /// Only intervals ending before this time.
    pub to: Option<Timestamp>,
    /// At most this many queue entries.
    pub limit: Option<u32>,
}

/// What one validation (with its estimation, if any) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Channels validated.
    pub channels: u32,
    /// Findings recorded (new, or found again after being cleared).
    pub findings_new: u64,
    /// Findings the run reported: rules failing now (new, still open, or accepted earlier).
    pub findings_reported: u64,
    /// Open findings that no longer fail.
    pub findings_cleared: u64,
    /// Open findings whose version was replaced.
    pub findings_superseded: u64,
    /// Interval values estimated.
    pub intervals_estimated: u64,
    /// Runs estimation left alone, and why.
    pub estimation_skipped: Vec<SkippedRun>,
}

impl ValidationReport {
    /// Adds `other`'s counts to these.
    pub fn absorb(&mut self, other: ValidationReport) {
        self.channels += other.channels;
        self.findings_new += other.findings_new;
        self.findings_reported += other.findings_reported;
        self.findings_cleared += other.findings_cleared;
        self.findings_superseded += other.findings_superseded;
        self.intervals_estimated += other.intervals_estimated;
        self.estimation_skipped.extend(other.estimation_skipped);
    }
}
