//! The HES's SQLite database file: one file holds the registry (`meters`), the key store
//! (`meter_keys`, `invocation_counters`) and the scheduler (`jobs`, `job_attempts`,
//! `meter_health`); each module creates and migrates its own tables and records its
//! schema version in `hes_schema`. Each module opens its own connection with the
//! durability its data needs ([`Durability`]).

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

/// How long a writer waits for another connection's lock (the scheduler, an operator's
/// CLI and the key store share the file).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How durable a connection's commits are (SQLite `synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = FULL`: a commit survives a power cut (keys, invocation counters,
    /// registry changes).
    Full,
    /// `synchronous = NORMAL`: a commit survives a process crash (SIGKILL); a power cut
    /// may lose the last commits (job states: a lost state only re-runs an idempotent
    /// job). Much cheaper per commit (no fsync).
    Normal,
}

/// Opens (creating if needed) the database at `path` in WAL mode with foreign keys on.
///
/// # Errors
/// SQLite errors (not a database, unwritable directory).
pub fn open(path: &Path, durability: Durability) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    setup(conn, durability)
}

/// A private in-memory database (tests, dry runs).
///
/// # Errors
/// SQLite errors.
pub fn open_in_memory() -> Result<Connection, rusqlite::Error> {
    setup(Connection::open_in_memory()?, Durability::Normal)
}

fn setup(conn: Connection, durability: Durability) -> Result<Connection, rusqlite::Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let level = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS hes_schema (module TEXT PRIMARY KEY, version INTEGER NOT NULL)")?;
    Ok(conn)
}

/// The schema version recorded for `module`, 0 when none.
///
/// # Errors
/// SQLite errors.
pub fn schema_version(conn: &Connection, module: &str) -> Result<i64, rusqlite::Error> {
    Ok(conn
        .query_row("SELECT version FROM hes_schema WHERE module = ?1", [module], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Records `version` for `module`.
///
/// # Errors
/// SQLite errors.
pub fn set_schema_version(conn: &Connection, module: &str, version: i64) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO hes_schema (module, version) VALUES (?1, ?2)
         ON CONFLICT(module) DO UPDATE SET version = excluded.version",
        rusqlite::params![module, version],
    )?;
    Ok(())
}

/// A timestamp as stored: Unix milliseconds, UTC.
pub fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A stored Unix-milliseconds value as a timestamp (clamped into jiff's range).
pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}
