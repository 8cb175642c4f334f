//! VEE over a store, independent of the database engine: validation windows, the series
//! loaded for them, persisting findings, automatic and manual estimation, edits and
//! acceptance of exceptions.
//!
//! The pure core ([`crate::vee`], [`crate::estimation`]) knows nothing of storage; each
//! backend knows nothing of VEE. This module is the glue between them: it decides what to
//! load, runs the rules, reconciles the findings with those already open, and writes
//! estimates and edits as new versions, through the [`VeeTx`] trait that a backend
//! implements over one open transaction. Every operation runs inside the caller's
//! transaction, so it commits or rolls back with the values it judged.
//!
//! All times here are UTC seconds (interval ends) or milliseconds (run and audit times)
//! since the Unix epoch; ids are the backend's row ids as `i64`.

mod findings;
mod ops;
mod requests;
mod slice;
mod window;

use std::collections::HashSet;

use jiff::Timestamp;
use model::QualityFlags;

pub(crate) use findings::Cause;
#[cfg(feature = "postgres")]
pub(crate) use ops::validate_on_ingest;
pub(crate) use ops::{auto_estimate, revalidate, validate_points};
pub(crate) use requests::{
    accept_matching, check_estimate, edit_one_interval, estimate_channel_range, validate_meter_range,
};
pub(crate) use window::{Channel, Slice, Window};

use crate::StoreError;
use crate::editing::AuditAction;
use crate::vee::{FindingStatus, RegisterPoint, SeriesPoint};

/// A stored finding's key within its channel: (interval end in UTC seconds, rule code,
/// version judged).
pub(crate) type FindingKey = (i64, i64, i64);

/// An open finding selected for acceptance: (meter id, reading type id, interval end, rule
/// code, version).
pub(crate) type OpenFindingRow = (i64, i64, i64, i64, i64);

/// An audit entry to write.
#[derive(Debug, Clone)]
pub(crate) struct NewAudit<'a> {
    /// When, UTC milliseconds.
    pub at_ms: i64,
    /// Who.
    pub user: &'a str,
    /// What kind of change.
    pub action: AuditAction,
    /// Why.
    pub reason: &'a str,
    /// The meter's row id.
    pub meter_id: i64,
    /// The channel's reading type id, when the change concerns one channel.
    pub reading_type_id: Option<i64>,
    /// First interval end affected, UTC seconds.
    pub first_end: Option<i64>,
    /// Last interval end affected, UTC seconds.
    pub last_end: Option<i64>,
    /// Human-readable detail.
    pub detail: String,
}

/// Which open findings to select for acceptance (row ids and UTC seconds; `None` matches
/// everything).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenFindingFilter {
    pub meter_id: Option<i64>,
    pub reading_type_id: Option<i64>,
    pub rule: Option<i64>,
    /// Interval ends at or after this.
    pub from: Option<i64>,
    /// Interval ends before this.
    pub to: Option<i64>,
}

/// The storage operations VEE needs, over one open transaction of a backend.
///
/// Every method reads or writes inside that transaction; an error aborts the operation and
/// the caller rolls the transaction back. "Latest" is the highest version of an interval end.
pub(crate) trait VeeTx {
    /// The latest version of each interval end of the channel in `[lo, hi]` (closed), ordered,
    /// with the delivery facts of the collection that wrote it (`None` for estimates and
    /// edits) and whether collection sessions delivered different values for it.
    fn window_points(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The latest version of the last interval end before `at` (never conflicting).
    fn point_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError>;

    /// The latest version of the first interval end after `at` (never conflicting).
    fn point_after(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<SeriesPoint>, StoreError>;

    /// The latest version of each interval end in `[lo, hi]`, ordered, without delivery
    /// facts (for estimation's like-day search range).
    fn latest_values(&mut self, ch: &Channel<'_>, lo: i64, hi: i64) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The time of the channel's last register read before `at`.
    fn register_read_before(&mut self, ch: &Channel<'_>, at: i64) -> Result<Option<i64>, StoreError>;

    /// The channel's register reads (latest versions) with read time in `[from, to]`, ordered.
    fn register_reads(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<Vec<RegisterPoint>, StoreError>;

    /// The latest stored values at the given interval ends (those that have one), ordered.
    fn values_at(&mut self, ch: &Channel<'_>, ends: &[i64]) -> Result<Vec<(Timestamp, f64)>, StoreError>;

    /// Keys of the channel's open findings with interval end in `[from, to]`.
    fn open_findings(&mut self, ch: &Channel<'_>, from: i64, to: i64) -> Result<HashSet<FindingKey>, StoreError>;

    /// Records a validation run over `win` and returns its id.
    fn insert_run(&mut self, ch: &Channel<'_>, win: &Window, cause: Cause, at_ms: i64) -> Result<i64, StoreError>;

    /// Inserts an open finding, or re-opens it when it was cleared or superseded (an
    /// accepted one stays accepted). Returns the number of rows changed (0 or 1).
    fn upsert_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        measured: Option<f64>,
        limit: Option<f64>,
        run_id: i64,
    ) -> Result<u64, StoreError>;

    /// Closes an open finding with `status` (cleared or superseded) by run `run_id`.
    fn close_finding(
        &mut self,
        ch: &Channel<'_>,
        key: FindingKey,
        status: FindingStatus,
        run_id: i64,
    ) -> Result<(), StoreError>;

    /// Writes an audit entry and returns its id.
    fn insert_audit(&mut self, entry: &NewAudit<'_>) -> Result<i64, StoreError>;

    /// Inserts a version written by an audit entry (an estimate or an edit).
    fn insert_audited_version(
        &mut self,
        ch: &Channel<'_>,
        end_s: i64,
        version: u32,
        value: f64,
        quality: QualityFlags,
        audit_id: i64,
    ) -> Result<(), StoreError>;

    /// The row id of a known meter.
    fn find_meter(&mut self, mrid: &str) -> Result<Option<i64>, StoreError>;

    /// The first and last stored interval end of a channel in `[from, to)`.
    fn channel_extent(
        &mut self,
        meter_id: i64,
        reading_type_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Option<(i64, i64)>, StoreError>;

    /// The latest version and value stored at `end_s`.
    fn latest_version_at(&mut self, ch: &Channel<'_>, end_s: i64) -> Result<Option<(u32, f64)>, StoreError>;

    /// The open findings matching `filter`.
    fn matching_open_findings(&mut self, filter: &OpenFindingFilter) -> Result<Vec<OpenFindingRow>, StoreError>;

    /// Marks one open finding accepted by audit entry `audit_id`; returns rows changed.
    fn accept_finding(&mut self, finding: OpenFindingRow, audit_id: i64) -> Result<u64, StoreError>;
}
