//! The PostgreSQL backend of [`MeterDataStore`], behind the `postgres` feature: the system of
//! record of a scaled-out MDMS.
//!
//! Same rules and same results as [`SqliteStore`](crate::SqliteStore) (the conformance suite
//! runs on both), on PostgreSQL 12 or newer:
//! - Schema with embedded, ordered migrations tracked in `schema_version`
//!   ([`PG_SCHEMA_VERSION`]); `interval_reading` is range-partitioned by month of interval
//!   end, partitions created on demand before a write.
//! - Ingest reads the stored versions of a batch's channels with one statement per value
//!   table, classifies the values in memory and streams the new rows into the value table
//!   with one binary `COPY` (see `ingest.rs`); one call is one transaction.
//! - VEE runs inside the ingest transaction through the engine-independent glue in
//!   `crate::vee_run`, exactly as on SQLite.
//! - [`EventStore`](crate::events::EventStore): end device events (schema version 2).
//! - [`OutageStore`](crate::outage::OutageStore) and
//!   [`TopologyStore`](crate::topology::TopologyStore): declared outages and the network
//!   topology (schema version 3), so `refresh_outages` correlates outages on PostgreSQL as
//!   on SQLite.
//!
//! The client is the synchronous `postgres` crate (tokio-postgres with a runtime inside),
//! one connection per store: the store is `Send`, not `Sync`, like the SQLite one. Give it
//! to one ingest task; open more stores (connections) for parallel writers or readers.
//! Concurrent writers of the same meter are serialised by an advisory lock on the meter.

mod context;
mod convert;
mod events;
mod ingest;
mod outages;
mod partitions;
mod prefetch;
mod query;
mod schema;
mod topology;
mod vee_query;
mod vee_tx;
mod writes;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use model::{MeterId, MeterReading, ReadingType};
use postgres::{Client, NoTls};

pub use schema::PG_SCHEMA_VERSION;

use self::context::{Db, PgContext, Statements, get};
use self::convert::at_second;
use self::partitions::Month;
use self::query::{INTERVALS, REGISTERS, VersionRow, find_meter, versions};
use crate::editing::{AuditEntry, AuditFilter, EditError};
use crate::epoch::{ceil_second, floor_second};
use crate::vee::{
    CompiledVee, Delivery, ExceptionFilter, StoredFinding, ValidationReport, VeeConfig, VeeConfigError, VeeException,
};
use crate::{
    CollectionRecord, EditOutcome, EstimationReport, IngestOutcome, IntervalVersion, MeterDataStore, StoreError,
    StoreSummary, StoredInterval, StoredRegisterRead,
};

/// `work_mem` of the store's sessions: the per-batch statements (register reads with
/// `DISTINCT ON`, history midnights) sort in memory.
const WORK_MEM: &str = "64MB";

/// Meter ids cached per connection before the cache is emptied (about 100 bytes each).
const METER_CACHE_MAX: usize = 1_000_000;

/// Delivery facts of collection sessions cached per connection before the cache is emptied
/// (about 50 bytes each; sessions never change once recorded).
const DELIVERY_CACHE_MAX: usize = 1_000_000;

/// One connection with what the store keeps per connection.
struct Conn {
    client: Client,
    statements: Statements,
    /// Ids of committed meters, by mRID.
    meter_ids: HashMap<String, i32>,
    /// Months whose interval partition exists.
    partitions: BTreeSet<Month>,
    /// Delivery facts (clock drift, interval length) of collection sessions, by id, for
    /// validation on ingest. May hold sessions of rolled-back ingests: their ids are never
    /// reused, so no stored value refers to them.
    deliveries: HashMap<i64, Delivery>,
}

impl Conn {
    fn db(&mut self) -> Db<'_, Client> {
        Db { client: &mut self.client, statements: &mut self.statements }
    }
}

/// [`MeterDataStore`] on a PostgreSQL database, in one schema.
///
/// Open it with [`PgStore::connect`] (the connection's default schema, usually `public`),
/// [`PgStore::connect_schema`] (a named schema, created if missing) or
/// [`PgStore::connect_scratch`] (a fresh private schema dropped with the store, for tests
/// and dry runs). The connection string is libpq's, e.g.
/// `"host=127.0.0.1 port=5432 user=postgres dbname=gridedge"` or
/// `"postgresql://gridedge@db.example/gridedge"`; TLS is not used (run the MDMS next to its
/// database or through a tunnel).
///
/// Validation (VEE) runs inside each ingest transaction with [`VeeConfig::default`] until
/// [`set_vee_config`](MeterDataStore::set_vee_config) gives the utility's configuration;
/// the configuration lives in the process, not in the database.
pub struct PgStore {
    conn: RefCell<Conn>,
    /// `reading_type.id` of every [`ReadingType`], loaded at open.
    reading_type_ids: HashMap<ReadingType, i16>,
    /// The reverse of `reading_type_ids`.
    types_by_id: HashMap<i16, ReadingType>,
    /// The VEE configuration, compiled.
    vee: CompiledVee,
    /// The schema holding the tables (`None`: the connection's default `search_path`).
    schema: Option<String>,
    /// Drop the schema with the store ([`PgStore::connect_scratch`]).
    scratch: bool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("schema", &self.schema).field("scratch", &self.scratch).finish_non_exhaustive()
    }
}

/// `name` as a quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PgStore {
    /// Connects to the database `conninfo` names and migrates the schema of the connection's
    /// default `search_path` (usually `public`) to [`PG_SCHEMA_VERSION`].
    ///
    /// Errors: [`StoreError::Postgres`] when the server is unreachable, refuses the login or
    /// a migration fails; [`StoreError::SchemaTooNew`] for a schema from a newer build.
    pub fn connect(conninfo: &str) -> Result<PgStore, StoreError> {
        Self::open(conninfo, None, false)
    }

    /// Connects and uses the schema `schema` (created if missing; any name, quoted as an
    /// identifier), migrating it to [`PG_SCHEMA_VERSION`]. Several stores (tenants, test
    /// runs) can share one database this way.
    ///
    /// Errors: as [`PgStore::connect`].
    pub fn connect_schema(conninfo: &str, schema: &str) -> Result<PgStore, StoreError> {
        Self::open(conninfo, Some(schema.to_string()), false)
    }

    /// Connects and creates a fresh schema of its own, `gridedge_scratch_<pid>_<n>_<ns>`,
    /// which is dropped with everything in it when the store is dropped (for tests and dry
    /// runs, like [`SqliteStore::open_in_memory`](crate::SqliteStore::open_in_memory)). Its
    /// commits do not wait for the WAL flush (`synchronous_commit = off`).
    ///
    /// Errors: as [`PgStore::connect`].
    pub fn connect_scratch(conninfo: &str) -> Result<PgStore, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = Timestamp::now().subsec_nanosecond();
        let name =
            format!("gridedge_scratch_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos);
        Self::open(conninfo, Some(name), true)
    }

    /// The schema holding the store's tables (`None`: the connection's default).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn open(conninfo: &str, schema: Option<String>, scratch: bool) -> Result<PgStore, StoreError> {
        let mut client = Client::connect(conninfo, NoTls).context("connecting to the PostgreSQL server")?;
        if let Some(name) = &schema {
            let quoted = quote_identifier(name);
            // A scratch store is thrown away with its schema: its commits need not wait for
            // the WAL flush (a crash loses at most its last commits, never consistency).
            let setup = if scratch {
                format!("CREATE SCHEMA {quoted}; SET search_path TO {quoted}; SET synchronous_commit TO off")
            } else {
                format!("CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}")
            };
            client.batch_execute(&setup).context("selecting the store's schema")?;
        }
        // Ingest sorts a batch in memory; prepared statements over the partitioned table
        // keep one generic plan (partitions are pruned at execution) instead of being planned
        // again on every call.
        client
            .batch_execute(&format!("SET work_mem TO '{WORK_MEM}'; SET plan_cache_mode TO force_generic_plan"))
            .context("configuring the session")?;
        // From here on a scratch schema exists: the store's Drop removes it on any error.
        let mut store = PgStore {
            conn: RefCell::new(Conn {
                client,
                statements: Statements::default(),
                meter_ids: HashMap::new(),
                partitions: BTreeSet::new(),
                deliveries: HashMap::new(),
            }),
            reading_type_ids: HashMap::new(),
            types_by_id: HashMap::new(),
            vee: VeeConfig::default()
                .compile()
                .map_err(|e| StoreError::Corrupt(format!("the built-in VEE configuration does not compile: {e}")))?,
            schema,
            scratch,
        };
        let conn = store.conn.get_mut();
        schema::migrate(&mut conn.client)?;
        store.reading_type_ids = register_reading_types(&mut conn.client)?;
        store.types_by_id = store.reading_type_ids.iter().map(|(&t, &id)| (id, t)).collect();
        conn.partitions = partitions::existing(&mut conn.client)?;
        Ok(store)
    }

    fn reading_type_id(&self, reading_type: ReadingType) -> Result<i16, StoreError> {
        self.reading_type_ids
            .get(&reading_type)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("reading type {reading_type} missing from the database")))
    }

    fn reading_type_of(&self, id: i16) -> Result<ReadingType, StoreError> {
        self.types_by_id.get(&id).copied().ok_or_else(|| StoreError::Corrupt(format!("reading type id {id}")))
    }

    /// Meter and reading type ids of a query; `None` when the meter is unknown.
    fn query_ids(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<(i32, i16)>, StoreError> {
        let reading_type_id = self.reading_type_id(reading_type)?;
        let mut conn = self.conn.borrow_mut();
        Ok(find_meter(&mut conn.db(), &meter.0)?.map(|m| (m, reading_type_id)))
    }

    fn latest(
        &self,
        sql: &'static str,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let (from_s, to_s) = (ceil_second(from), ceil_second(to));
        if from_s >= to_s {
            return Ok(Vec::new());
        }
        let Some((m, rt)) = self.query_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let (from, to) = (at_second(from_s)?, at_second(to_s)?);
        versions(&mut self.conn.borrow_mut().db(), sql, &[&m, &rt, &from, &to])
    }

    fn history_of(
        &self,
        sql: &'static str,
        meter: &MeterId,
        reading_type: ReadingType,
        at: Timestamp,
    ) -> Result<Vec<VersionRow>, StoreError> {
        // Keys are whole seconds: a fractional `at` matches nothing.
        if at.subsec_nanosecond() != 0 {
            return Ok(Vec::new());
        }
        let Some((m, rt)) = self.query_ids(meter, reading_type)? else { return Ok(Vec::new()) };
        let at = at_second(floor_second(at))?;
        versions(&mut self.conn.borrow_mut().db(), sql, &[&m, &rt, &at])
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if !self.scratch {
            return;
        }
        if let Some(name) = &self.schema {
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_identifier(name));
            if let Err(e) = self.conn.get_mut().client.batch_execute(&sql) {
                tracing::warn!(schema = %name, error = %e, "could not drop the scratch schema");
            }
        }
    }
}

/// Inserts a `reading_type` row for every [`ReadingType`] this build knows and returns
/// their ids.
fn register_reading_types(client: &mut Client) -> Result<HashMap<ReadingType, i16>, StoreError> {
    const CTX: &str = "registering reading types";
    let mut tx = client.transaction().context(CTX)?;
    let insert = tx
        .prepare(
            "INSERT INTO reading_type (name, obis, cim_code, unit) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .context(CTX)?;
    for reading_type in ReadingType::ALL {
        let [a, b, c, d, e, f] = reading_type.obis();
        let obis = format!("{a}-{b}:{c}.{d}.{e}.{f}");
        tx.execute(&insert, &[&reading_type.as_str(), &obis, &reading_type.cim_code(), &reading_type.unit().symbol()])
            .context(CTX)?;
    }
    let mut ids = HashMap::new();
    for row in tx.query("SELECT id, name FROM reading_type", &[]).context(CTX)? {
        let id: i16 = get(&row, 0, CTX)?;
        let name: String = get(&row, 1, CTX)?;
        if let Ok(reading_type) = name.parse::<ReadingType>() {
            ids.insert(reading_type, id);
        }
    }
    tx.commit().context(CTX)?;
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

impl MeterDataStore for PgStore {
    fn ingest_validated(&mut self, reading: &MeterReading, source: &str) -> Result<IngestOutcome, StoreError> {
        let outcome = self.ingest_many(std::slice::from_ref(reading), source)?.into_iter().next().unwrap_or_default();
        tracing::debug!(meter = %reading.meter, ingest = ?outcome.ingest, validation = ?outcome.validation, "meter reading ingested");
        Ok(outcome)
    }

    /// One transaction for the whole batch: the stored versions of all its channels are
    /// loaded with one statement per value table and the new rows written with one `COPY`
    /// per value table.
    fn ingest_batch(&mut self, readings: &[MeterReading], source: &str) -> Result<Vec<IngestOutcome>, StoreError> {
        self.ingest_many(readings, source)
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
        Ok(self.latest(INTERVALS.latest_in_range, meter, reading_type, from, to)?.into_iter().map(Into::into).collect())
    }

    fn interval_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        Ok(self.history_of(INTERVALS.history, meter, reading_type, interval_end)?.into_iter().map(Into::into).collect())
    }

    fn register_reads(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError> {
        Ok(self.latest(REGISTERS.latest_in_range, meter, reading_type, from, to)?.into_iter().map(Into::into).collect())
    }

    fn register_history(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        read_at: Timestamp,
    ) -> Result<Vec<StoredRegisterRead>, StoreError> {
        Ok(self.history_of(REGISTERS.history, meter, reading_type, read_at)?.into_iter().map(Into::into).collect())
    }

    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, StoreError> {
        const CTX: &str = "finding the last stored time";
        let Some((m, rt)) = self.query_ids(meter, reading_type)? else { return Ok(None) };
        let row = self.conn.borrow_mut().db().query_opt(INTERVALS.last, &[&m, &rt], CTX)?;
        row.map(|r| get(&r, 0, CTX)).transpose()
    }

    fn meters(&self) -> Result<Vec<MeterId>, StoreError> {
        const CTX: &str = "listing meters";
        let rows = self.conn.borrow_mut().db().query("SELECT mrid FROM meter ORDER BY mrid", &[], CTX)?;
        rows.iter().map(|r| get(r, 0, CTX).map(MeterId)).collect()
    }

    fn summary(&self) -> Result<StoreSummary, StoreError> {
        const CTX: &str = "counting stored rows";
        let row = self.conn.borrow_mut().db().query_one(
            "SELECT (SELECT count(*) FROM meter), \
             (SELECT count(*) FROM interval_reading), \
             (SELECT count(*) FROM interval_reading WHERE version > 1), \
             (SELECT count(*) FROM register_read), \
             (SELECT count(*) FROM register_read WHERE version > 1), \
             (SELECT count(*) FROM collection)",
            &[],
            CTX,
        )?;
        let count = |i: usize| -> Result<u64, StoreError> {
            let n: i64 = get(&row, i, CTX)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative row count {n}")))
        };
        Ok(StoreSummary {
            meters: count(0)?,
            interval_rows: count(1)?,
            interval_revisions: count(2)?,
            register_rows: count(3)?,
            register_revisions: count(4)?,
            collections: count(5)?,
        })
    }

    fn clock_drift_history(&self, meter: &MeterId) -> Result<Vec<CollectionRecord>, StoreError> {
        const CTX: &str = "listing collection sessions";
        let mut conn = self.conn.borrow_mut();
        let mut db = conn.db();
        let Some(meter_id) = find_meter(&mut db, &meter.0)? else { return Ok(Vec::new()) };
        let rows = db.query(
            "SELECT collected_at, clock_drift_ms, interval_length_s, ingested_at, source \
             FROM collection WHERE meter_id = $1 ORDER BY collected_at",
            &[&meter_id],
            CTX,
        )?;
        rows.iter()
            .map(|r| {
                let length: i32 = get(r, 2, CTX)?;
                Ok(CollectionRecord {
                    collected_at: get(r, 0, CTX)?,
                    clock_drift_ms: get(r, 1, CTX)?,
                    interval_length_s: u32::try_from(length)
                        .map_err(|_| StoreError::Corrupt(format!("interval length {length} s out of range")))?,
                    ingested_at: get(r, 3, CTX)?,
                    source: get(r, 4, CTX)?,
                })
            })
            .collect()
    }
}
