//! The SQLite schema and its migrations, tracked in `PRAGMA user_version`.
//!
//! Layout (schema version 1):
//! - `meter`: one row per end device (`mrid` = IEC 61968-9 `EndDevice.mRID`, the serial).
//! - `reading_type`: one row per `ReadingType`, keyed by its stable name, with its OBIS
//!   code, IEC 61968-9 ReadingType code and unit, so the file describes itself.
//! - `collection`: one row per collection session (meter, collected_at): clock drift,
//!   interval length, ingest time and source. Each stored value points to the collection
//!   that delivered it, which gives its `ingested_at` and `source`.
//! - `interval_reading` and `register_read`: append-only, `WITHOUT ROWID`, primary key
//!   (meter, reading type, time in UTC seconds, version). All versions of one key are
//!   adjacent in the B-tree, so the latest version of a range is one index range scan and
//!   ingest finds the existing versions of a whole load-profile range in one seek.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::error::SqliteContext;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Migration steps: `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE meter (
    id   INTEGER PRIMARY KEY,
    mrid TEXT NOT NULL UNIQUE
);

CREATE TABLE reading_type (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    obis     TEXT NOT NULL,
    cim_code TEXT NOT NULL,
    unit     TEXT NOT NULL
);

CREATE TABLE collection (
    id                INTEGER PRIMARY KEY,
    meter_id          INTEGER NOT NULL REFERENCES meter(id),
    collected_at_ms   INTEGER NOT NULL,
    clock_drift_ms    INTEGER,
    interval_length_s INTEGER NOT NULL,
    ingested_at_ms    INTEGER NOT NULL,
    source            TEXT NOT NULL,
    UNIQUE (meter_id, collected_at_ms)
);

CREATE TABLE interval_reading (
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER NOT NULL REFERENCES reading_type(id),
    interval_end    INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    value           REAL NOT NULL,
    quality         INTEGER NOT NULL,
    collection_id   INTEGER NOT NULL REFERENCES collection(id),
    PRIMARY KEY (meter_id, reading_type_id, interval_end, version)
) WITHOUT ROWID;

CREATE TABLE register_read (
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER NOT NULL REFERENCES reading_type(id),
    read_at         INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    value           REAL NOT NULL,
    quality         INTEGER NOT NULL,
    collection_id   INTEGER NOT NULL REFERENCES collection(id),
    PRIMARY KEY (meter_id, reading_type_id, read_at, version)
) WITHOUT ROWID;
"#];

const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION, "one migration step per schema version");

/// Brings the database to [`SCHEMA_VERSION`], one step per transaction, so two processes
/// opening the same new file do not both create the tables.
///
/// Errors: [`StoreError::SchemaTooNew`] for a file from a newer build; engine errors.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a schema migration transaction")?;
        let version: i64 =
            tx.query_row("PRAGMA user_version", [], |row| row.get(0)).context("reading the schema version")?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
        }
        let step = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v));
        let Some(sql) = step else {
            // Already current (or a negative version, which no build writes).
            if version < 0 {
                return Err(StoreError::Corrupt(format!("negative schema version {version}")));
            }
            return Ok(());
        };
        tx.execute_batch(sql).context("applying a schema migration")?;
        tx.pragma_update(None, "user_version", version + 1).context("writing the schema version")?;
        tx.commit().context("committing a schema migration")?;
        tracing::info!(from = version, to = version + 1, "mdms schema migrated");
    }
}
