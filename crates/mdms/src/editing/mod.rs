//! # Editing: manual changes to interval values, with an audit trail
//!
//! Every change is a new version of the interval (quality
//! [`QualityFlags::EDITED`](model::QualityFlags::EDITED), source [`EDIT_SOURCE`]); the raw
//! value and every earlier version stay, so the full history of a value is queryable
//! ([`MeterDataStore::interval_history_detail`](crate::MeterDataStore::interval_history_detail)).
//! Each change, each estimation run and each acceptance of exceptions writes one
//! [`AuditEntry`]: who, when, why and what.
//!
//! An energy value is a bulk quantity: editing the value at `t` changes the consumption of
//! the interval ending at `t` and of the next one. The store re-validates both.

mod audit;
mod request;

pub use audit::{AuditAction, AuditEntry, AuditFilter};
pub use request::{EditError, EditRefusal, check_actor, check_edit};

/// `source` of versions written by an edit.
pub const EDIT_SOURCE: &str = "edit";
/// `source` of versions written by estimation.
pub const ESTIMATION_SOURCE: &str = "estimation";
/// The user recorded for automatic estimation after ingest.
pub const AUTOMATIC_USER: &str = "vee";
