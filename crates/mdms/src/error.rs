//! The typed error of every store operation.

use jiff::Timestamp;
use model::{MeterId, ReadingType};

/// Why a [`MeterDataStore`](crate::MeterDataStore) operation failed.
///
/// Ingest errors are returned before anything is acknowledged: a failed ingest leaves the
/// store exactly as it was (the whole `MeterReading` is one transaction).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite engine reported an error; `context` names the operation that was running.
    #[error("SQLite error while {context}: {source}")]
    Sqlite {
        /// What the store was doing, e.g. "inserting an interval reading".
        context: &'static str,
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },

    /// The PostgreSQL server or client reported an error (connection lost, constraint
    /// violated, server unreachable); `context` names the operation that was running.
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL error while {context}: {source}")]
    Postgres {
        /// What the store was doing, e.g. "copying interval values into the staging table".
        context: &'static str,
        /// The client's error (carries the server's SQLSTATE when there is one).
        #[source]
        source: postgres::Error,
    },

    /// The database file was written by a newer gridedge with a schema this build does not
    /// know (`PRAGMA user_version` is higher than [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)).
    #[error("database schema version {found} is newer than the {supported} this build supports")]
    SchemaTooNew {
        /// The file's `user_version`.
        found: i64,
        /// The newest schema version this build can migrate to.
        supported: i64,
    },

    /// The `MeterReading` names no meter (an empty `EndDevice.mRID`).
    #[error("meter reading has an empty meter id")]
    EmptyMeterId,

    /// A value is NaN or infinite; SQLite cannot store it faithfully, so the whole
    /// `MeterReading` is refused before anything is written.
    #[error("non-finite value {value} for meter {meter}, {reading_type} at {at}")]
    NonFiniteValue {
        /// The meter.
        meter: MeterId,
        /// The channel or register.
        reading_type: ReadingType,
        /// The interval end or register read time, UTC.
        at: Timestamp,
        /// The offending value.
        value: f64,
    },

    /// Daily consumption is a difference of bulk quantities, so it is only defined for
    /// cumulative energy reading types (Wh, varh).
    #[error("{0} is not a cumulative (bulk quantity) reading type")]
    NotCumulative(ReadingType),

    /// A local day or its bounds could not be computed in the given time zone (a date at
    /// the edge of the representable range).
    #[error("time computation failed while {context}: {source}")]
    Time {
        /// What was being computed.
        context: &'static str,
        /// jiff's error.
        #[source]
        source: jiff::Error,
    },

    /// The database holds a value this build cannot interpret (an unknown reading type
    /// name, an out-of-range timestamp or version). The file was edited by hand or damaged.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Attaches a context string to engine errors: `stmt.execute(..).context("inserting ...")?`.
pub(crate) trait SqliteContext<T> {
    /// Maps the engine error to [`StoreError::Sqlite`] with `context`.
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> SqliteContext<T> for Result<T, rusqlite::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { context, source })
    }
}
