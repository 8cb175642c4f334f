//! The API's own tables in SQLite: API tokens and the audit log. (`api_command`, the
//! command queue of earlier builds, is kept but no longer written: commands live in the HES
//! command store, see [`crate::services::commands::CommandLog`].)
//!
//! They may live in the MDMS database file (the default of `gridedge api --db`) or in a file
//! of their own: the tables are prefixed `api_` and never touch the MDMS schema or its
//! `PRAGMA user_version`. The file runs in WAL mode with a busy timeout, so the MDMS ingest
//! and the API write to the same file without blocking readers.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

/// Version of the `api_` tables, kept in `api_schema`.
pub const API_SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at_ms INTEGER
);
CREATE TABLE IF NOT EXISTS api_audit (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    token_id INTEGER,
    actor TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_command (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meter TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    sent_at_ms INTEGER,
    finished_at_ms INTEGER,
    reason TEXT,
    relay_state TEXT
);
CREATE INDEX IF NOT EXISTS api_command_meter ON api_command (meter, id);
";

/// Why the API database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite reported an error.
    #[error("API database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file holds `api_` tables of a newer gridedge.
    #[error("API tables have schema version {found}, newer than the {supported} this build supports")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Version this build writes.
        supported: i64,
    },
}

/// A shared connection to the API database (tokens, audit, commands). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiDb {
    conn: Arc<Mutex<Connection>>,
}

impl ApiDb {
    /// Opens (creating if needed) the database at `path` in WAL mode and creates the `api_`
    /// tables.
    ///
    /// Errors: [`DbError`].
    pub fn open(path: impl AsRef<Path>) -> Result<ApiDb, DbError> {
        let conn = Connection::open(path)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get::<_, String>(0))?;
        Self::setup(conn)
    }

    /// A private in-memory database (tests).
    ///
    /// Errors: [`DbError`].
    pub fn open_in_memory() -> Result<ApiDb, DbError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<ApiDb, DbError> {
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        let found: Option<i64> = conn.query_row("SELECT MAX(version) FROM api_schema", [], |r| r.get(0))?;
        match found {
            None => {
                conn.execute("INSERT INTO api_schema (version) VALUES (?1)", [API_SCHEMA_VERSION])?;
            }
            Some(v) if v > API_SCHEMA_VERSION => {
                return Err(DbError::SchemaTooNew { found: v, supported: API_SCHEMA_VERSION });
            }
            Some(_) => {}
        }
        Ok(ApiDb { conn: Arc::new(Mutex::new(conn)) })
    }

    /// The connection, locked. A poisoned lock (a panic while it was held) is taken over:
    /// SQLite's own transactions keep the data consistent.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Milliseconds since the Unix epoch of `t`.
pub(crate) fn to_ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

/// The instant `ms` milliseconds after the Unix epoch; the epoch itself for values jiff
/// cannot represent (only a hand-edited row has them).
pub(crate) fn from_ms(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
