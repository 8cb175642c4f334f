//! The VEE operations of [`SqliteStore`] that write: re-validation, manual estimation,
//! edits and acceptance of exceptions (validation on ingest lives in `ingest.rs`). Each is
//! one `IMMEDIATE` transaction running the engine-independent glue of `crate::vee_run`.

use jiff::Timestamp;
use model::{MeterId, ReadingType};
use rusqlite::TransactionBehavior;

use super::SqliteStore;
use super::timestamp::floor_millisecond;
use super::vee_tx::SqliteVeeTx;
use super::vee_window::Deliveries;
use crate::editing::{EditError, check_actor, check_edit};
use crate::error::SqliteContext;
use crate::vee::{ExceptionFilter, ValidationReport};
use crate::vee_run::{
    accept_matching, check_estimate, edit_one_interval, estimate_channel_range, validate_meter_range,
};
use crate::{EditOutcome, EstimationReport, StoreError};

impl SqliteStore {
    /// [`MeterDataStore::validate_range`](crate::MeterDataStore::validate_range).
    pub(super) fn validate_range_impl(
        &mut self,
        meter: &MeterId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ValidationReport, StoreError> {
        let channels: Vec<(ReadingType, i64)> =
            ReadingType::ALL.iter().filter_map(|&t| self.reading_type_ids.get(&t).map(|&id| (t, id))).collect();
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting a validation")?;
        let mut deliveries = Deliveries::new();
        let report = validate_meter_range(
            &mut SqliteVeeTx { tx: &tx, deliveries: &mut deliveries },
            vee,
            meter,
            &channels,
            from,
            to,
            at_ms,
        )?;
        tx.commit().context("committing a validation")?;
        Ok(report)
    }

    /// [`MeterDataStore::estimate_range`](crate::MeterDataStore::estimate_range).
    pub(super) fn estimate_range_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
        user: &str,
        reason: &str,
    ) -> Result<EstimationReport, EditError> {
        check_estimate(reading_type, from, to, user, reason)?;
        let reading_type_id = self.reading_type_id(reading_type)?;
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an estimation")?;
        let mut deliveries = Deliveries::new();
        let report = estimate_channel_range(
            &mut SqliteVeeTx { tx: &tx, deliveries: &mut deliveries },
            vee,
            meter,
            reading_type,
            reading_type_id,
            (from, to),
            (user, reason),
            at_ms,
        )?;
        tx.commit().context("committing an estimation")?;
        Ok(report)
    }

    /// [`MeterDataStore::edit_interval`](crate::MeterDataStore::edit_interval).
    pub(super) fn edit_interval_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
        new_value: f64,
        user: &str,
        reason: &str,
    ) -> Result<EditOutcome, EditError> {
        check_edit(interval_end, new_value, user, reason)?;
        let reading_type_id = self.reading_type_id(reading_type)?;
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an edit")?;
        let mut deliveries = Deliveries::new();
        let outcome = edit_one_interval(
            &mut SqliteVeeTx { tx: &tx, deliveries: &mut deliveries },
            vee,
            meter,
            reading_type,
            reading_type_id,
            interval_end,
            new_value,
            (user, reason),
            at_ms,
        )?;
        tx.commit().context("committing an edit")?;
        Ok(outcome)
    }

    /// [`MeterDataStore::accept_exceptions`](crate::MeterDataStore::accept_exceptions).
    pub(super) fn accept_exceptions_impl(
        &mut self,
        filter: &ExceptionFilter,
        user: &str,
        reason: &str,
    ) -> Result<u64, EditError> {
        check_actor(user, reason)?;
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t)).transpose()?;
        let at_ms = floor_millisecond(Timestamp::now());
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an acceptance")?;
        let mut deliveries = Deliveries::new();
        let accepted = accept_matching(
            &mut SqliteVeeTx { tx: &tx, deliveries: &mut deliveries },
            filter,
            reading_type_id,
            (user, reason),
            at_ms,
        )?;
        tx.commit().context("committing an acceptance")?;
        Ok(accepted)
    }
}
