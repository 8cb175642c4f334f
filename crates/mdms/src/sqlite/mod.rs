//! The embedded SQLite backend of [`MeterDataStore`].

mod audit;
mod checkpoint;
mod events;
mod findings;
mod ingest;
mod outages;
mod query;
mod schema;
mod series_table;
mod timestamp;
mod topology;
mod vee_ops;
mod vee_query;
mod vee_store;
mod vee_tx;
mod vee_window;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use model::{MeterId, MeterReading, ReadingType};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

pub use schema::SCHEMA_VERSION;

use self::query::{VersionRow, find_meter, history, last_time, latest_in_range};
use self::series_table::{INTERVALS, REGISTERS, SeriesTable};
use self::timestamp::{ceil_second, floor_second, from_millisecond};
use crate::editing::{AuditEntry, AuditFilter, EditError};
use crate::error::SqliteContext;
use crate::vee::{
    CompiledVee, ExceptionFilter, StoredFinding, ValidationReport, VeeConfig, VeeConfigError, VeeException,
};
use crate::{
    CollectionRecord, EditOutcome, EstimationReport, IngestOutcome, IntervalVersion, MeterDataStore, StoreError,
    StoreSummary, StoredInterval, StoredRegisterRead,
};

/// How long a writer waits for another connection's write lock before failing with
/// `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements kept per connection (ingest and queries use about 20).
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// [`MeterDataStore`] in one SQLite database file (or in memory).
///
/// The file runs in WAL mode with `synchronous=NORMAL`: a committed ingest survives a crash
/// of the process; after a power loss the last commits before the failure may be rolled
/// back, but the file is never corrupted. Readers on other connections to the same file do
/// not block the writer. Each ingest (one reading, or a whole
/// [`ingest_batch`](MeterDataStore::ingest_batch)) is one `IMMEDIATE` transaction. From
/// the first ingest into a file on, WAL checkpoints run on a background thread with its own
/// connection (stopped when the store drops), not inside the ingest's commit.
///
/// The store is `Send` (not `Sync`): give it to one task (the HES ingest task) and open a
/// second `SqliteStore` on the same file for readers.
///
/// Validation (VEE) runs inside each ingest transaction with [`VeeConfig::default`] (the
/// standard rules, UTC days, no automatic estimation) until
/// [`set_vee_config`](MeterDataStore::set_vee_config) gives the utility's configuration;
/// the configuration lives in the process, not in the file.
#[derive(Debug)]
pub struct SqliteStore {
    /// The background WAL checkpointer, started by the first ingest into a file (declared
    /// before `conn`: it stops before the main connection closes).
    checkpointer: Option<checkpoint::Checkpointer>,
    /// The database file (`None` in memory).
    path: Option<std::path::PathBuf>,
    conn: Connection,
    /// `reading_type.id` of every [`ReadingType`], loaded at open.
    reading_type_ids: HashMap<ReadingType, i64>,
    /// `meter.id` by mRID, for meters whose row is committed (ids never change).
    meter_ids: HashMap<String, i64>,
    /// The VEE configuration, compiled.
    vee: CompiledVee,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets WAL and `synchronous=NORMAL`,
    /// and migrates the schema to [`SCHEMA_VERSION`].
    ///
    /// Errors: [`StoreError::Sqlite`] when the file cannot be opened or is not a SQLite
    /// database; [`StoreError::SchemaTooNew`] for a file from a newer build.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path).context("opening the database file")?;
        let journal_mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .context("switching to write-ahead logging")?;
        let wal = journal_mode.eq_ignore_ascii_case("wal");
        if !wal {
            tracing::warn!(journal_mode, "SQLite did not enable WAL for the MDMS store");
        }
        let mut store = Self::setup(conn)?;
        // Background checkpoints only make sense for a write-ahead log on a file.
        store.path = wal.then(|| path.to_path_buf());
        Ok(store)
    }

    /// Opens a private in-memory database (for tests and dry runs); it vanishes on drop.
    ///
    /// Errors: [`StoreError::Sqlite`].
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let conn = Connection::open_in_memory_with_flags(flags).context("opening an in-memory database")?;
        Self::setup(conn)
    }

    fn setup(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "synchronous", "NORMAL").context("setting synchronous=NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true).context("enabling foreign keys")?;
        conn.busy_timeout(BUSY_TIMEOUT).context("setting the busy timeout")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        schema::migrate(&mut conn)?;
        events::create_tables(&conn)?;
        topology::create_tables(&conn)?;
        outages::create_tables(&conn)?;
        let reading_type_ids = register_reading_types(&mut conn)?;
        let vee = VeeConfig::default()
            .compile()
            .map_err(|e| StoreError::Corrupt(format!("the built-in VEE configuration does not compile: {e}")))?;
        Ok(SqliteStore { checkpointer: None, path: None, conn, reading_type_ids, meter_ids: HashMap::new(), vee })
    }

    fn reading_type_id(&self, reading_type: ReadingType) -> Result<i64, StoreError> {
        self.reading_type_ids
            .get(&reading_type)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("reading type {reading_type} missing from the database")))
    }

    /// Copies every committed transaction from the write-ahead log into the database file
    /// and truncates the log (`PRAGMA wal_checkpoint(TRUNCATE)`, which syncs both files), so
    /// the file alone holds all data (for backups and for measuring its size). Returns
    /// `false` when another connection's read transaction kept part of the log from being
    /// copied (nothing is lost: the rest is copied by a later checkpoint). In-memory
    /// databases have no log: `true`.
    ///
    /// Errors: [`StoreError::Sqlite`].
    pub fn checkpoint(&mut self) -> Result<bool, StoreError> {
        // The background checkpointer (if any) stops first, so the two do not race; the next
        // ingest starts it again.
        if let Some(c) = self.checkpointer.take() {
            c.stop(&self.conn)?;
        }
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .context("checkpointing the write-ahead log")?;
        Ok(busy == 0)
    }

    /// Meter and reading type ids of a query; `None` when the meter is unknown.
    fn query_ids(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<(i64, i64)>, StoreError> {
        let reading_type_id = self.reading_type_id(reading_type)?;
        Ok(find_meter(&self.conn, &meter.0)?.map(|m| (m, reading_type_id)))
    }

    fn latest(
        &self,
        table: &SeriesTable,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<VersionRow>, StoreError> {
        match self.query_ids(meter, reading_type)? {
            Some((m, rt)) => latest_in_range(&self.conn, table, m, rt, ceil_second(from), ceil_second(to)),
            None => Ok(Vec::new()),
        }
    }

    fn versions(
        &self,
        table: &SeriesTable,
        meter: &MeterId,
        reading_type: ReadingType,
        at: Timestamp,
    ) -> Result<Vec<VersionRow>, StoreError> {
        // Keys are whole seconds: a fractional `at` matches nothing.
        if at.subsec_nanosecond() != 0 {
            return Ok(Vec::new());
        }
        match self.query_ids(meter, reading_type)? {
            Some((m, rt)) => history(&self.conn, table, m, rt, floor_second(at)),
            None => Ok(Vec::new()),
        }
    }
}

/// Inserts a `reading_type` row for every [`ReadingType`] this build knows and returns
/// their ids.
fn register_reading_types(conn: &mut Connection) -> Result<HashMap<ReadingType, i64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("registering reading types")?;
    let mut ids = HashMap::new();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO reading_type (name, obis, cim_code, unit) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .context("registering reading types")?;
        let mut select =
            tx.prepare("SELECT id FROM reading_type WHERE name = ?1").context("registering reading types")?;
        for reading_type in ReadingType::ALL {
            let [a, b, c, d, e, f] = reading_type.obis();
            let obis = format!("{a}-{b}:{c}.{d}.{e}.{f}");
            insert
                .execute(params![reading_type.as_str(), obis, reading_type.cim_code(), reading_type.unit().symbol()])
                .context("registering reading types")?;
            let id: i64 =
                select.query_row([reading_type.as_str()], |row| row.get(0)).context("registering reading types")?;
            ids.insert(reading_type, id);
        }
    }
    tx.commit().context("registering reading types")?;
    Ok(ids)
}

impl From<VersionRow> for StoredInterval {
    fn from(r: VersionRow) -> Self {
        StoredInterval {
            interval_end: r.at,
            value: r.value,
            quality: r.quality,
            version: r.version,
            collected_at: r.collected_at,
            ingested_at: r.ingested_at,
            source: r.source,
        }
    }
}

impl From<VersionRow> for StoredRegisterRead {
    fn from(r: VersionRow) -> Self {
        StoredRegisterRead {
            read_at: r.at,
            value: r.value,
            quality: r.quality,
            version: r.version,
            collected_at: r.collected_at,
            ingested_at: r.ingested_at,
            source: r.source,
        }
    }
}

impl MeterDataStore for SqliteStore {
    fn ingest_validated(&mut self, reading: &MeterReading, source: &str) -> Result<IngestOutcome, StoreError> {
        let outcomes = self.ingest_batch_impl(std::slice::from_ref(reading), source)?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    fn ingest_batch(&mut self, readings: &[MeterReading], source: &str) -> Result<Vec<IngestOutcome>, StoreError> {
        self.ingest_batch_impl(readings, source)
    }

    fn set_vee_config(&mut self, config: &VeeConfig) -> Result<(), VeeConfigError> {
        self.vee = config.compile()?;
        Ok(())
    }

    fn vee_config(&self) -> &VeeConfig {
        self.vee.config()
    }

    fn validate_range(
        &mut self,
        meter: &MeterId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ValidationReport, StoreError> {
        self.validate_range_impl(meter, from, to)
    }

    fn estimate_range(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
        user: &str,
        reason: &str,
    ) -> Result<EstimationReport, EditError> {
        self.estimate_range_impl(meter, reading_type, from, to, user, reason)
    }

    fn edit_interval(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
        new_value: f64,
        user: &str,
        reason: &str,
    ) -> Result<EditOutcome, EditError> {
        self.edit_interval_impl(meter, reading_type, interval_end, new_value, user, reason)
    }

    fn accept_exceptions(&mut self, filter: &ExceptionFilter, user: &str, reason: &str) -> Result<u64, EditError> {
        self.accept_exceptions_impl(filter, user, reason)
    }

    fn vee_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<VeeException>, StoreError> {
        self.vee_exceptions_impl(filter)
    }

    fn interval_findings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        self.interval_findings_impl(meter, reading_type, interval_end)
    }

    fn interval_history_detail(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<IntervalVersion>, StoreError> {
        self.interval_history_detail_impl(meter, reading_type, interval_end)
    }

    fn validated_interval_readings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        self.validated_interval_readings_impl(meter, reading_type, from, to)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_log_impl(filter)
    }

    fn interval_readings(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        Ok(self.latest(&INTERVALS, meter, reading_type, from, to)?.into_iter().map(Into::into).collect())
    }

    fn interval_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        Ok(self.versions(&INTERVALS, meter, reading_type, interval_end)?.into_iter().map(Into::into).collect())
    }

    fn register_reads(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError> {
        Ok(self.latest(&REGISTERS, meter, reading_type, from, to)?.into_iter().map(Into::into).collect())
    }

    fn register_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        read_at: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError> {
        Ok(self.versions(&REGISTERS, meter, reading_type, read_at)?.into_iter().map(Into::into).collect())
    }

    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, StoreError> {
        match self.query_ids(meter, reading_type)? {
            Some((m, rt)) => last_time(&self.conn, &INTERVALS, m, rt),
            None => Ok(None),
        }
    }

    fn meters(&self) -> Result<Vec<MeterId>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT mrid FROM meter ORDER BY mrid").context("listing meters")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0).map(MeterId)).context("listing meters")?;
        rows.collect::<Result<Vec<_>, _>>().context("listing meters")
    }

    fn summary(&self) -> Result<StoreSummary, StoreError> {
        let counts: [i64; 6] = self
            .conn
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM meter), \
                 (SELECT COUNT(*) FROM interval_reading), \
                 (SELECT COUNT(*) FROM interval_reading WHERE version > 1), \
                 (SELECT COUNT(*) FROM register_read), \
                 (SELECT COUNT(*) FROM register_read WHERE version > 1), \
                 (SELECT COUNT(*) FROM collection)",
            )
            .and_then(|mut s| {
                s.query_row([], |row| {
                    Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?])
                })
            })
            .context("counting stored rows")?;
        let count = |n: i64| u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative row count {n}")));
        let [meters, interval_rows, interval_revisions, register_rows, register_revisions, collections] = [
            count(counts[0])?,
            count(counts[1])?,
            count(counts[2])?,
            count(counts[3])?,
            count(counts[4])?,
            count(counts[5])?,
        ];
        Ok(StoreSummary { meters, interval_rows, interval_revisions, register_rows, register_revisions, collections })
    }

    fn clock_drift_history(&self, meter: &MeterId) -> Result<Vec<CollectionRecord>, StoreError> {
        let Some(meter_id) = find_meter(&self.conn, &meter.0)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT collected_at_ms, clock_drift_ms, interval_length_s, ingested_at_ms, source \
                 FROM collection WHERE meter_id = ?1 ORDER BY collected_at_ms",
            )
            .context("listing collection sessions")?;
        let rows = stmt
            .query_map([meter_id], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .context("listing collection sessions")?;
        let mut out = Vec::new();
        for row in rows {
            let (collected_at_ms, clock_drift_ms, interval_length_s, ingested_at_ms, source) =
                row.context("listing collection sessions")?;
            out.push(CollectionRecord {
                collected_at: from_millisecond(collected_at_ms)?,
                clock_drift_ms,
                interval_length_s: u32::try_from(interval_length_s)
                    .map_err(|_| StoreError::Corrupt(format!("interval length {interval_length_s} s out of range")))?,
                ingested_at: from_millisecond(ingested_at_ms)?,
                source,
            });
        }
        Ok(out)
    }
}
