//! The MDMS's SQLite store as the scheduler's [`ReadingSink`]: ingest is idempotent and
//! committed when it returns, which the HES's crash safety relies on.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use hes::scheduler::{ReadingSink, SinkError};
use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, SqliteStore};
use model::{MeterId, MeterReading, ReadingType};

/// The MDMS store behind a mutex (SQLite has one writer anyway).
pub struct MdmsSink {
    store: Mutex<SqliteStore>,
}

impl MdmsSink {
    /// Opens (creating if needed) the MDMS database at `path`.
    ///
    /// # Errors
    /// The store's open errors.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let store = SqliteStore::open(path).with_context(|| format!("opening the MDMS database {}", path.display()))?;
        Ok(MdmsSink { store: Mutex::new(store) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SqliteStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn sink_error(e: impl std::fmt::Display) -> SinkError {
    SinkError(e.to_string())
}

impl ReadingSink for MdmsSink {
    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, SinkError> {
        self.lock().last_interval_end(meter, reading_type).map_err(sink_error)
    }

    fn has_register_read(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        since: Timestamp,
    ) -> Result<bool, SinkError> {
        // Any read from `since` on counts (the range is half-open, so bound it far ahead).
        let to = since.checked_add(SignedDuration::from_hours(24 * 400)).unwrap_or(since);
        Ok(!self.lock().register_reads(meter, reading_type, since, to).map_err(sink_error)?.is_empty())
    }

    fn deliver(&self, reading: &MeterReading) -> Result<(), SinkError> {
        self.lock().ingest(reading).map(|_| ()).map_err(sink_error)
    }
}
