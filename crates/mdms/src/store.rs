//! The storage trait of the MDMS and the records it returns.
//!
//! Vocabulary follows IEC 61968-9: a `MeterReading` (one collection session of one meter)
//! carries `IntervalReading`s of load-profile channels and register `Reading`s, each
//! identified by its `ReadingType`. Stored energy values are bulk quantities (the
//! cumulative register value at the capture time), never per-interval deltas.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::{MeterId, MeterReading, QualityFlags, ReadingType};
use serde::Serialize;

use crate::StoreError;
use crate::consumption::{self, DailyConsumption};
use crate::editing::{AuditEntry, AuditFilter, EditError};
use crate::vee::{ExceptionFilter, StoredFinding, ValidationReport, VeeConfig, VeeConfigError, VeeException};

/// The `source` recorded for readings ingested through [`MeterDataStore::ingest`]: the
/// Head-End System.
pub const DEFAULT_SOURCE: &str = "hes";

/// What one ingest did, counted per value.
///
/// A value is *new* when its key (meter, reading type, interval end or read time) was not
/// stored before, a *duplicate* when the key already holds a version with the same value
/// and quality (nothing is written), and *revised* when the key holds only different
/// values (a new version is written; older versions stay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IngestReport {
    /// Interval readings stored as version 1.
    pub intervals_new: u64,
    /// Interval readings already stored with the same value and quality.
    pub intervals_duplicate: u64,
    /// Interval readings stored as a new version (2, 3, ...) of an existing interval.
    pub intervals_revised: u64,
    /// Register reads stored as version 1.
    pub registers_new: u64,
    /// Register reads already stored with the same value.
    pub registers_duplicate: u64,
    /// Register reads stored as a new version of an existing read.
    pub registers_revised: u64,
}

impl IngestReport {
    /// Number of rows the ingest wrote (new plus revised, intervals and registers).
    pub fn rows_written(&self) -> u64 {
        self.intervals_new + self.intervals_revised + self.registers_new + self.registers_revised
    }
}

/// One stored version of a load-profile interval value (IEC 61968-9 `IntervalReading`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredInterval {
    /// End of the interval, UTC, at one-second resolution.
    pub interval_end: Timestamp,
    /// The value in the reading type's unit (Wh and varh channels: the bulk quantity, i.e.
    /// the cumulative register value captured at `interval_end`).
    pub value: f64,
    /// Quality flags of this version (meter profile status in the low byte).
    pub quality: QualityFlags,
    /// Version number: 1 for the first value stored for this interval, then 2, 3, ...
    pub version: u32,
    /// `collected_at` of the `MeterReading` that delivered this version, UTC.
    pub collected_at: Timestamp,
    /// When the store committed this version, UTC (store clock, millisecond resolution).
    pub ingested_at: Timestamp,
    /// Who delivered this version, e.g. [`DEFAULT_SOURCE`].
    pub source: String,
}

/// One stored version of a register read (IEC 61968-9 `Reading` of a register).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRegisterRead {
    /// The meter's time of the read, UTC, at one-second resolution.
    pub read_at: Timestamp,
    /// The value in the reading type's unit.
    pub value: f64,
    /// Quality flags: empty for values read from the meter (a COSEM Register, class 3, has
    /// no status attribute); reserved for validation results.
    pub quality: QualityFlags,
    /// Version number, as for [`StoredInterval::version`].
    pub version: u32,
    /// `collected_at` of the `MeterReading` that delivered this version, UTC.
    pub collected_at: Timestamp,
    /// When the store committed this version, UTC.
    pub ingested_at: Timestamp,
    /// Who delivered this version.
    pub source: String,
}

/// What [`MeterDataStore::ingest_validated`] did: the ingest counts and what validation
/// (and automatic estimation) found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestOutcome {
    /// Values written and skipped.
    pub ingest: IngestReport,
    /// Validation of the channels the reading touched (empty when VEE is disabled).
    pub validation: ValidationReport,
}

/// One version of an interval with everything known about it: the value, the audit entry
/// that wrote it (estimates and edits; `None` for values delivered by the HES) and the
/// validation findings on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalVersion {
    /// The stored version.
    pub interval: StoredInterval,
    /// Who wrote it, when and why (estimates and edits).
    pub audit: Option<AuditEntry>,
    /// Findings on this version, any status.
    pub findings: Vec<StoredFinding>,
}

/// What [`MeterDataStore::edit_interval`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditOutcome {
    /// The new version.
    pub interval: StoredInterval,
    /// The audit entry recording the edit.
    pub audit_id: i64,
    /// The re-validation of the edited interval's neighbourhood (its local day and the next
    /// interval's).
    pub validation: ValidationReport,
}

/// What [`MeterDataStore::estimate_range`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimationReport {
    /// The audit entry, when anything was estimated.
    pub audit_id: Option<i64>,
    /// The new versions, by interval end.
    pub estimated: Vec<StoredInterval>,
    /// The re-validation after estimation, with the runs left alone and why.
    pub validation: ValidationReport,
}

/// Metadata of one collection session (one ingested `MeterReading`), kept per meter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionRecord {
    /// HES time when the session read the meter's clock, UTC (millisecond resolution).
    pub collected_at: Timestamp,
    /// Meter clock minus HES clock at `collected_at`, milliseconds (positive: the meter is
    /// ahead); `None` when the clock was not read.
    pub clock_drift_ms: Option<i64>,
    /// Length of the load profile's intervals, seconds.
    pub interval_length_s: u32,
    /// When the store first committed this collection, UTC.
    pub ingested_at: Timestamp,
    /// Who delivered it.
    pub source: String,
}

/// Row counts of the whole store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreSummary {
    /// Meters (end devices) the store knows.
    pub meters: u64,
    /// Stored interval rows, all versions.
    pub interval_rows: u64,
    /// Interval rows with version > 1 (revisions).
    pub interval_revisions: u64,
    /// Stored register rows, all versions.
    pub register_rows: u64,
    /// Register rows with version > 1.
    pub register_revisions: u64,
    /// Collection sessions recorded.
    pub collections: u64,
}

/// Storage of IEC 61968-9 meter readings: the interface every MDMS backend (SQLite, and
/// PostgreSQL behind the `postgres` feature) implements, so the same test suite runs on each.
///
/// Rules every backend keeps:
/// - Ingest is idempotent and append-only. A value whose key (meter, reading type, UTC
///   interval end or read time, at one-second resolution; sub-second parts are dropped)
///   already holds a version with an equal value and equal quality is a duplicate and is
///   not written again, whichever version that was, so a replayed old message never
///   creates a version nor changes the latest value. Any other value becomes the next
///   version of that key; no version is ever overwritten or deleted.
/// - One `MeterReading` is one transaction: `ingest` returns `Ok` only after the data is
///   committed, and an error leaves the store unchanged.
/// - "Latest" means the highest version.
/// - Time ranges are half-open, `[from, to)`, in UTC.
pub trait MeterDataStore {
    /// Stores one collection session of one meter, recording `source` as its origin.
    ///
    /// Also records the session's metadata (collected_at, clock drift, interval length),
    /// once per (meter, collected_at).
    ///
    /// With VEE enabled the reading is also validated in the same transaction (see
    /// [`MeterDataStore::ingest_validated`]).
    ///
    /// Errors: [`StoreError::EmptyMeterId`], [`StoreError::NonFiniteValue`] (checked before
    /// anything is written), backend errors.
    fn ingest_from(&mut self, reading: &MeterReading, source: &str) -> Result<IngestReport, StoreError> {
        self.ingest_validated(reading, source).map(|outcome| outcome.ingest)
    }

    /// Stores one collection session delivered by the HES ([`DEFAULT_SOURCE`]); see
    /// [`MeterDataStore::ingest_from`].
    fn ingest(&mut self, reading: &MeterReading) -> Result<IngestReport, StoreError> {
        self.ingest_from(reading, DEFAULT_SOURCE)
    }

    /// [`MeterDataStore::ingest_from`], returning what VEE did as well.
    ///
    /// With VEE enabled ([`VeeConfig::enabled`]), each channel the reading touched is
    /// validated over the whole local days its intervals fall in (in the meter class's time
    /// zone) inside the ingest transaction; findings are recorded per interval and version,
    /// open findings that no longer fail are closed, and, where the class enables automatic
    /// estimation, missing (and configured rejected) intervals get estimated versions that
    /// are validated again. All of it commits or rolls back with the values.
    ///
    /// Errors: as [`MeterDataStore::ingest_from`].
    fn ingest_validated(&mut self, reading: &MeterReading, source: &str) -> Result<IngestOutcome, StoreError>;

    /// Stores many collection sessions (of any meters, in the given order) as one
    /// transaction, recording `source` as their origin: the MDMS ingest task hands over
    /// whatever the bus has delivered since its last commit (a group commit).
    ///
    /// The stored values and the returned ingest counts are those of ingesting the readings
    /// one after the other with [`MeterDataStore::ingest_validated`]: a value repeated inside
    /// the batch, or already stored, is a duplicate; a different value for the same key
    /// becomes the next version, in batch order. `Ok` comes only after the whole batch is
    /// committed; on `Err` nothing of the batch is stored.
    ///
    /// With VEE enabled, validation (and automatic estimation) runs once per channel the
    /// batch touched, over the whole local days of all its intervals in the batch, after
    /// all of them are stored and inside the same transaction, so findings reflect the
    /// state at commit. Element `i` of the result holds reading `i`'s ingest counts and
    /// the validation of the channels whose last delivery in the batch was reading `i`
    /// (summing the elements gives the batch's totals). Backends override this to make it
    /// one transaction; the provided implementation checks every reading first, so
    /// refused input ([`StoreError::EmptyMeterId`], [`StoreError::NonFiniteValue`]) writes
    /// nothing, and then ingests the readings one at a time (not atomic against backend
    /// errors).
    ///
    /// Errors: as [`MeterDataStore::ingest_from`], for the first reading that fails.
    fn ingest_batch(&mut self, readings: &[MeterReading], source: &str) -> Result<Vec<IngestOutcome>, StoreError> {
        readings.iter().try_for_each(crate::check_ingestible)?;
        readings.iter().map(|r| self.ingest_validated(r, source)).collect()
    }

    /// Replaces the VEE configuration used from the next ingest on.
    ///
    /// Errors: [`VeeConfigError`] when the configuration does not compile (nothing changes).
    fn set_vee_config(&mut self, config: &VeeConfig) -> Result<(), VeeConfigError>;

    /// The VEE configuration in use.
    fn vee_config(&self) -> &VeeConfig;

    /// Validates again every channel of `meter` with values in `[from, to)`, over whole
    /// local days, recording new findings and closing those that no longer fail (a
    /// re-validation after a configuration change, or after late data). Does not estimate.
    /// Runs even when VEE on ingest is disabled. An unknown meter validates nothing.
    ///
    /// Errors: backend errors; [`StoreError::Time`] at the edge of the representable range.
    fn validate_range(
        &mut self,
        meter: &MeterId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ValidationReport, StoreError>;

    /// Estimates every interval end of one channel in `[from, to)` on the meter class's grid,
    /// missing or present (present values are replaced by a new version: a manual
    /// estimation of rejected data), with the class's methods, bracketed by the values just
    /// outside the range. Writes one audit entry (action `estimate`) and validates the
    /// estimates again.
    ///
    /// Errors: [`EditError::Refused`] for an empty user or reason, an unknown meter, an empty
    /// range or an instantaneous channel; [`EditError::Store`] for backend errors.
    fn estimate_range(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
        user: &str,
        reason: &str,
    ) -> Result<EstimationReport, EditError>;

    /// Sets the value of one interval: writes it as a new version (quality `EDITED`,
    /// source `"edit"`), records an audit entry with `user`, `reason`, the time and the old
    /// and new value, and re-validates the interval and the next one. Raw values and earlier
    /// versions are never changed. An interval that had no value gets version 1.
    ///
    /// Errors: [`EditError::Refused`] for an empty user or reason, a non-finite value, a
    /// fractional-second interval end or an unknown meter; [`EditError::Store`] for backend
    /// errors.
    fn edit_interval(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
        new_value: f64,
        user: &str,
        reason: &str,
    ) -> Result<EditOutcome, EditError>;

    /// Accepts the open exceptions matching `filter` (their values stay as they are; the
    /// findings leave the queue with status `accepted` and are not re-opened by later
    /// validations of the same version), with one audit entry per meter and channel.
    /// Returns the number of findings accepted.
    ///
    /// Errors: [`EditError::Refused`] for an empty user or reason; [`EditError::Store`].
    fn accept_exceptions(&mut self, filter: &ExceptionFilter, user: &str, reason: &str) -> Result<u64, EditError>;

    /// The open exceptions queue: open findings matching `filter`, consecutive intervals of
    /// one channel and rule merged into one entry, ordered by meter, channel, rule and first
    /// interval end.
    ///
    /// Errors: backend errors.
    fn vee_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<VeeException>, StoreError>;

    /// Every finding ever recorded on one interval (all versions, any status), by version
    /// then rule.
    ///
    /// Errors: backend errors.
    fn interval_findings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredFinding>, StoreError>;

    /// The full history of one interval value: every version, oldest first, each with the
    /// audit entry that wrote it (estimates, edits) and the findings on it.
    ///
    /// Errors: backend errors.
    fn interval_history_detail(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<IntervalVersion>, StoreError>;

    /// [`MeterDataStore::interval_readings`] with validation results folded into the
    /// quality: a value with open findings on its version carries
    /// [`QualityFlags::SUSPECT`] and the lowest failed rule code in bits 24–31.
    ///
    /// Errors: backend errors.
    fn validated_interval_readings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError>;

    /// The audit trail: entries matching `filter`, oldest first (with a limit, the newest
    /// `limit` entries, still oldest first).
    ///
    /// Errors: backend errors.
    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;

    /// The latest version of each interval of one channel whose end lies in `[from, to)`,
    /// ordered by interval end. Empty for an unknown meter.
    fn interval_readings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError>;

    /// Every stored version of one interval, oldest (version 1) first. Empty when the
    /// interval was never stored.
    fn interval_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError>;

    /// The latest version of each register read whose read time lies in `[from, to)`,
    /// ordered by read time.
    fn register_reads(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError>;

    /// Every stored version of one register read, oldest first.
    fn register_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        read_at: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError>;

    /// The latest interval end stored for one channel of one meter, UTC; `None` when none
    /// is stored. The HES reads the load profile from this time on (selective access by
    /// range, IEC 62056-6-2 profile generic, attribute 2).
    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, StoreError>;

    /// Every meter the store knows, ordered by id.
    fn meters(&self) -> Result<Vec<MeterId>, StoreError>;

    /// Row counts of the whole store.
    fn summary(&self) -> Result<StoreSummary, StoreError>;

    /// The collection sessions recorded for one meter (clock drift and collected_at per
    /// ingest), ordered by `collected_at`.
    fn clock_drift_history(&self, meter: &MeterId) -> Result<Vec<CollectionRecord>, StoreError>;

    /// Energy used per local day, for each day from `from_day` to `to_day` inclusive, in
    /// `tz` (an IANA zone such as Europe/London, so days are 23, 24 or 25 hours long).
    ///
    /// The consumption of day D is the bulk quantity stored at the interval ending at the
    /// local midnight that ends D minus the one at the local midnight that starts D
    /// (latest versions), in the reading type's unit (Wh for active energy). A day
    /// missing either bounding value is reported with `consumption: None`, never zero.
    ///
    /// Errors: [`StoreError::NotCumulative`] for instantaneous reading types (W, V, A),
    /// [`StoreError::Time`] for days at the edge of the representable range.
    fn daily_consumption(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from_day: Date,
        to_day: Date,
        tz: &TimeZone,
    ) -> Result<Vec<DailyConsumption>, StoreError> {
        if !reading_type.is_cumulative() {
            return Err(StoreError::NotCumulative(reading_type));
        }
        if from_day > to_day {
            return Ok(Vec::new());
        }
        let (first_start, _) = consumption::local_day_bounds(from_day, tz)?;
        let (_, last_end) = consumption::local_day_bounds(to_day, tz)?;
        // The range is half-open: one second past the last boundary includes it.
        let to = last_end
            .checked_add(jiff::SignedDuration::from_secs(1))
            .map_err(|source| StoreError::Time { context: "extending the last local day bound", source })?;
        let intervals = self.interval_readings(meter, reading_type, first_start, to)?;
        consumption::daily_from_intervals(&intervals, reading_type, from_day, to_day, tz)
    }
}
