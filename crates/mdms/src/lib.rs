//! # mdms — the gridedge Meter Data Management System store
//!
//! Stores what the Head-End System collects, in IEC 61968-9 terms: per meter (end device)
//! and `ReadingType`, load-profile `IntervalReading`s and register `Reading`s, each value
//! with its quality flags and a version. Energy channels are kept as bulk quantities (the
//! cumulative register value at each interval end, in Wh or varh); consumption is derived
//! by difference ([`consumption`]).
//!
//! - [`MeterDataStore`]: the storage trait (idempotent, append-only, versioned ingest; range,
//!   history and daily-consumption queries). Backends: [`SqliteStore`] (embedded, WAL) and, behind the
//!   `postgres` feature, `PgStore` (PostgreSQL system of record, monthly partitions, binary
//!   COPY ingest); the same conformance suite runs on both.
//! - [`consumption`]: pure functions over interval series (local days in an IANA time zone).
//!
//! Everything is UTC inside; local time appears only in [`consumption`], at the edge.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analytics;
pub mod billing;
pub mod consumption;
mod epoch;
mod error;
pub mod export;
pub mod import;
mod ingest_check;
mod known_versions;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
mod store;

#[cfg(feature = "postgres")]
pub use self::postgres::{PG_SCHEMA_VERSION, PgStore};
pub use consumption::DailyConsumption;
pub use error::StoreError;
pub use ingest_check::check_ingestible;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use store::{
    CollectionRecord, DEFAULT_SOURCE, IngestReport, MeterDataStore, StoreSummary, StoredInterval, StoredRegisterRead,
};
pub mod editing;
pub mod estimation;
pub mod events;
pub mod outage;
pub mod reliability;
pub mod topology;
pub mod vee;
mod vee_run;
pub use store::{EditOutcome, EstimationReport, IngestOutcome, IntervalVersion};
