//! Errors of the persistent registry.

use thiserror::Error;

/// A field of a meter record is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// `field` holds `value`, which is not `expected`.
    #[error("{field}: {value:?} is not {expected}")]
    Invalid {
        /// The field (CSV column) name.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A required field is missing.
    #[error("{0} is required")]
    Missing(&'static str),
}

impl RecordError {
    /// Shorthand for [`RecordError::Invalid`].
    pub fn invalid(field: &'static str, value: &str, expected: &'static str) -> Self {
        RecordError::Invalid { field, value: value.to_string(), expected }
    }
}

/// Why a registry operation failed.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The database failed (cannot open, locked beyond the busy timeout, corrupt).
    #[error("registry database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The record is inconsistent.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// No meter with this serial.
    #[error("no meter {0} in the registry")]
    UnknownMeter(String),
    /// A stored row does not decode (written by a newer build, or edited by hand).
    #[error("registry row for {serial}: {detail}")]
    CorruptRow {
        /// The meter.
        serial: String,
        /// What is wrong.
        detail: String,
    },
    /// The database's schema is newer than this build.
    #[error("registry schema version {found} is newer than this build's {supported}")]
    SchemaTooNew {
        /// The file's version.
        found: i64,
        /// This build's.
        supported: i64,
    },
    /// The CSV file could not be read at all (I/O, not a per-row problem).
    #[error("CSV: {0}")]
    Csv(String),
}
