//! Validation and estimation inside one SQLite transaction, as the ingest path calls them:
//! thin adapters from the SQLite ingest's preloaded versions to the engine-independent glue
//! in `crate::vee_run`.

use rusqlite::Connection;

use super::findings::Cause;
use super::ingest::Versions;
use super::vee_tx::{SqliteVeeTx, points_of};
use super::vee_window::{Channel, Deliveries, Slice, Window};
use crate::StoreError;
use crate::vee::{Finding, ValidationReport};

/// Validates `win` from `versions` (every version in its context) and records the findings.
pub(crate) fn validate_loaded(
    tx: &Connection,
    ch: &Channel<'_>,
    win: &Window,
    versions: &Versions,
    cause: Cause,
    at_ms: i64,
    deliveries: &mut Deliveries,
) -> Result<(ValidationReport, Slice, Vec<Finding>), StoreError> {
    let points = points_of(tx, deliveries, versions)?;
    crate::vee_run::validate_points(&mut SqliteVeeTx { tx, deliveries }, ch, win, points, cause, at_ms)
}

/// Loads `win` from the store and validates it.
pub(crate) fn revalidate(
    tx: &Connection,
    ch: &Channel<'_>,
    win: &Window,
    cause: Cause,
    at_ms: i64,
    deliveries: &mut Deliveries,
) -> Result<(ValidationReport, Slice, Vec<Finding>), StoreError> {
    crate::vee_run::revalidate(&mut SqliteVeeTx { tx, deliveries }, ch, win, cause, at_ms)
}

/// After a validation on ingest: estimates what the class estimates automatically and
/// validates the estimates (see `crate::vee_run::auto_estimate`).
pub(crate) fn auto_estimate(
    tx: &Connection,
    ch: &Channel<'_>,
    win: &Window,
    slice: &Slice,
    findings: &[Finding],
    at_ms: i64,
    deliveries: &mut Deliveries,
) -> Result<ValidationReport, StoreError> {
    crate::vee_run::auto_estimate(&mut SqliteVeeTx { tx, deliveries }, ch, win, slice, findings, at_ms)
}
