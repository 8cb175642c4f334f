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
//!
//! Schema version 2 adds validation, estimation and editing (VEE):
//! - `audit_log`: one row per edit, estimation run or acceptance of exceptions: who
//!   (`user`), when (`at_ms`), why (`reason`), the meter, channel and interval-end range
//!   affected, and a human-readable `detail`.
//! - `interval_reading` gains `audit_id`: a version is written either by a collection
//!   session (`collection_id`, values from the HES) or by an audit entry (estimates and
//!   edits), never both (CHECK). `collection_id` becomes nullable, so the table is rebuilt
//!   once by the migration. Interval consumption is not stored: it is the difference of
//!   two latest versions and would go stale when a neighbour gets a new version.
//! - `vee_run`: one row per validation run that changed findings (what triggered it, the
//!   meter class, the validated window).
//! - `vee_finding`: which rule failed on which interval and version (version 0 for a
//!   missing interval), what it measured, the limit, and its status (0 open, 1 cleared,
//!   2 superseded by a newer version, 3 accepted). A partial index over the open ones serves
//!   the exceptions queue.
//!
//! Schema version 3 rebuilds `interval_reading` and `register_read` without `REFERENCES`
//! clauses (same columns, keys and checks). They hold nearly every row of the file, and
//! enforcing the foreign keys looked up three parent rows (meter, reading type, collection)
//! for every value inserted, about a sixth of the ingest's CPU time. Only ingest, estimation
//! and editing write these tables, each with ids it read or wrote in the same transaction;
//! meters, reading types and collections are never deleted. The small tables keep their
//! foreign keys.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::error::SqliteContext;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

/// Migration steps: `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: [&str; 3] = [
    r#"
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
"#,
    r#"
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at_ms           INTEGER NOT NULL,
    user            TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('edit', 'estimate', 'accept')),
    reason          TEXT NOT NULL,
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER REFERENCES reading_type(id),
    first_end       INTEGER,
    last_end        INTEGER,
    detail          TEXT NOT NULL
);
CREATE INDEX audit_log_by_channel ON audit_log (meter_id, reading_type_id, first_end);

CREATE TABLE interval_reading_v2 (
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER NOT NULL REFERENCES reading_type(id),
    interval_end    INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    value           REAL NOT NULL,
    quality         INTEGER NOT NULL,
    collection_id   INTEGER REFERENCES collection(id),
    audit_id        INTEGER REFERENCES audit_log(id),
    CHECK ((collection_id IS NULL) <> (audit_id IS NULL)),
    PRIMARY KEY (meter_id, reading_type_id, interval_end, version)
) WITHOUT ROWID;
INSERT INTO interval_reading_v2
    (meter_id, reading_type_id, interval_end, version, value, quality, collection_id)
    SELECT meter_id, reading_type_id, interval_end, version, value, quality, collection_id FROM interval_reading;
DROP TABLE interval_reading;
ALTER TABLE interval_reading_v2 RENAME TO interval_reading;

CREATE TABLE vee_run (
    id              INTEGER PRIMARY KEY,
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER NOT NULL REFERENCES reading_type(id),
    at_ms           INTEGER NOT NULL,
    cause           TEXT NOT NULL CHECK (cause IN ('ingest', 'revalidate', 'estimate', 'edit')),
    meter_class     TEXT NOT NULL,
    window_from     INTEGER NOT NULL,
    window_to       INTEGER NOT NULL
);

CREATE TABLE vee_finding (
    meter_id        INTEGER NOT NULL REFERENCES meter(id),
    reading_type_id INTEGER NOT NULL REFERENCES reading_type(id),
    interval_end    INTEGER NOT NULL,
    rule            INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 0),
    measured        REAL,
    limit_value     REAL,
    status          INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
    run_id          INTEGER NOT NULL REFERENCES vee_run(id),
    closed_run_id   INTEGER REFERENCES vee_run(id),
    closed_audit_id INTEGER REFERENCES audit_log(id),
    PRIMARY KEY (meter_id, reading_type_id, interval_end, rule, version)
) WITHOUT ROWID;
CREATE INDEX vee_finding_open ON vee_finding (meter_id, reading_type_id, interval_end) WHERE status = 0;
"#,
    r#"
CREATE TABLE interval_reading_v3 (
    meter_id        INTEGER NOT NULL,
    reading_type_id INTEGER NOT NULL,
    interval_end    INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    value           REAL NOT NULL,
    quality         INTEGER NOT NULL,
    collection_id   INTEGER,
    audit_id        INTEGER,
    CHECK ((collection_id IS NULL) <> (audit_id IS NULL)),
    PRIMARY KEY (meter_id, reading_type_id, interval_end, version)
) WITHOUT ROWID;
INSERT INTO interval_reading_v3
    (meter_id, reading_type_id, interval_end, version, value, quality, collection_id, audit_id)
    SELECT meter_id, reading_type_id, interval_end, version, value, quality, collection_id, audit_id
    FROM interval_reading;
DROP TABLE interval_reading;
ALTER TABLE interval_reading_v3 RENAME TO interval_reading;

CREATE TABLE register_read_v3 (
    meter_id        INTEGER NOT NULL,
    reading_type_id INTEGER NOT NULL,
    read_at         INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    value           REAL NOT NULL,
    quality         INTEGER NOT NULL,
    collection_id   INTEGER NOT NULL,
    PRIMARY KEY (meter_id, reading_type_id, read_at, version)
) WITHOUT ROWID;
INSERT INTO register_read_v3
    (meter_id, reading_type_id, read_at, version, value, quality, collection_id)
    SELECT meter_id, reading_type_id, read_at, version, value, quality, collection_id FROM register_read;
DROP TABLE register_read;
ALTER TABLE register_read_v3 RENAME TO register_read;
"#,
];

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
