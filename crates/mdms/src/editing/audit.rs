//! The audit trail: who changed what, when and why.

use std::fmt;

use jiff::Timestamp;
use model::{MeterId, ReadingType};
use serde::Serialize;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A user set an interval value (a new version).
    Edit,
    /// Values were estimated (automatically after ingest, or on request).
    Estimate,
    /// A user accepted open validation exceptions without changing values.
    Accept,
}

impl AuditAction {
    /// Stable name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Edit => "edit",
            AuditAction::Estimate => "estimate",
            AuditAction::Accept => "accept",
        }
    }

    /// The action with this name.
    pub fn parse(s: &str) -> Option<AuditAction> {
        [AuditAction::Edit, AuditAction::Estimate, AuditAction::Accept].into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its id (increasing with time).
    pub id: i64,
    /// When, UTC (store clock, millisecond resolution).
    pub at: Timestamp,
    /// Who (a user name, or [`AUTOMATIC_USER`](super::AUTOMATIC_USER)).
    pub user: String,
    /// What kind of change.
    pub action: AuditAction,
    /// Why, as given.
    pub reason: String,
    /// The meter.
    pub meter: MeterId,
    /// The channel, when the change concerns one.
    pub reading_type: Option<ReadingType>,
    /// First interval end affected, UTC.
    pub first_interval_end: Option<Timestamp>,
    /// Last interval end affected, UTC.
    pub last_interval_end: Option<Timestamp>,
    /// What changed, human-readable: old and new value and version for an edit; method and
    /// count for an estimation; rules and count for an acceptance.
    pub detail: String,
}

/// Which audit entries to list; every field narrows the list (all `None`: everything).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this meter.
    pub meter: Option<MeterId>,
    /// Only this channel.
    pub reading_type: Option<ReadingType>,
    /// Only entries whose affected interval ends include this one.
    pub interval_end: Option<Timestamp>,
    /// Only this user.
    pub user: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only entries written at or after this time.
    pub since: Option<Timestamp>,
    /// At most this many entries (newest first when set, otherwise oldest first).
    pub limit: Option<u32>,
}
