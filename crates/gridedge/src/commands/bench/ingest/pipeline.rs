//! What `gridedge bench ingest` connects: a bus from the producer (the HES side) to the
//! ingest task, and the store under test. `--bus` and `--store` choose them, in any
//! combination: [`StoreKind`] (SQLite file, or a PostgreSQL schema created for the run)
//! and [`BusKind`] (a bounded in-process channel, or NATS JetStream: JSON `Readings`
//! messages published with their acknowledgements awaited, a bounded number in flight,
//! pulled in batches by a durable consumer and acknowledged after the commit, exactly as
//! `gridedge mdms run` does). The measurement loop does not change.
//!
//! With `--writers N`, N ingest tasks share the bus (in process: one receiver behind a
//! lock; JetStream: N pull subscriptions of the same durable consumer, as MDMS replicas
//! share it) and each writes through its own store connection (PostgreSQL only: SQLite
//! takes one writer at a time).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use bus::{BusMessage, Delivery, JetStreamBus, JetStreamConfig, JetStreamDelivery, JetStreamSubscriber};
use bus::{MessageKind, Publisher, Subscriber};
use clap::ValueEnum;
use mdms::vee::VeeConfig;
use mdms::{IngestOutcome, MeterDataStore, PgStore, SqliteStore};
use model::MeterReading;
use serde_json::{Value, json};

/// The store backends `--store` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The embedded SQLite store (WAL, `synchronous=NORMAL`), one file.
    Sqlite,
    /// PostgreSQL (`--postgres CONNINFO`): a fresh schema created for the run and dropped
    /// at the end unless `--keep`.
    Postgres,
}

impl StoreKind {
    /// The name `--store` takes.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// The buses `--bus` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BusKind {
    /// A bounded in-process channel of `MeterReading`s (no serialization).
    Inproc,
    /// NATS JetStream (`--nats-url`): JSON messages on fresh streams per pass, deleted at
    /// the end of the pass.
    Nats,
}

impl BusKind {
    /// The name `--bus` takes.
    pub fn name(self) -> &'static str {
        match self {
            BusKind::Inproc => "inproc",
            BusKind::Nats => "nats",
        }
    }
}

/// Size of what a store keeps on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// Bytes of everything the store needs to reopen with its data (SQLite: database file
    /// plus write-ahead log, after a checkpoint).
    pub bytes: u64,
    /// The parts, for the report.
    pub detail: Value,
}

/// The store under test, as the ingest task drives it.
pub trait BenchStore: Send {
    /// The store, for ingest and counts.
    fn store(&mut self) -> &mut dyn MeterDataStore;

    /// The writer connections, one per ingest task: the store's own first, then those
    /// [`open_store`] opened for `writers > 1`.
    fn writers(&mut self) -> Vec<&mut (dyn MeterDataStore + Send)>;

    /// Moves everything committed to its final place (SQLite: a checkpoint of the
    /// write-ahead log into the database file, truncating the log) and measures what is
    /// on disk.
    fn footprint(&mut self) -> anyhow::Result<Footprint>;

    /// The store's settings, for the report.
    fn describe(&self) -> Value;
}

/// The producer's end of the bus.
pub trait BusPublisher: Send {
    /// Hands one reading to the bus; blocks while the bus is full (back-pressure).
    ///
    /// Errors: the consumer is gone; the broker refused a message.
    fn publish(&mut self, reading: MeterReading) -> anyhow::Result<()>;

    /// Waits until every published reading is confirmed by the bus.
    ///
    /// Errors: the broker refused a message.
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The ingest task's end of the bus.
pub trait BusConsumer: Send {
    /// Waits for the next reading, then takes what else is already queued, up to `max`
    /// readings in all; `None` once every publisher is gone and the bus is drained.
    ///
    /// Errors: `abort` was raised (another ingest task failed) while waiting on the bus;
    /// the bus failed.
    fn next_batch(&mut self, max: usize, abort: &AtomicBool) -> anyhow::Result<Option<Vec<MeterReading>>>;

    /// Acknowledges the last batch: called only after the store committed it.
    fn ack(&mut self) -> anyhow::Result<()>;
}

/// Where the store under test lives.
#[derive(Debug, Clone)]
pub struct StoreTarget<'a> {
    /// The SQLite database file (`--store sqlite`).
    pub sqlite: &'a Path,
    /// The PostgreSQL connection string (`--store postgres`), libpq key=value form.
    pub postgres: &'a str,
    /// Keep the PostgreSQL schema after the run.
    pub keep: bool,
}

/// Opens a fresh store of `kind` with `vee` as its VEE configuration and `writers`
/// connections to it (each configured with `vee`), one per ingest task.
///
/// Errors: `writers` is 0, or above 1 for SQLite (one writer at a time: a second
/// connection would only wait for the database's write lock); the store cannot be opened
/// or configured (PostgreSQL unreachable, ...).
pub fn open_store(
    kind: StoreKind,
    target: &StoreTarget<'_>,
    vee: &VeeConfig,
    writers: usize,
) -> anyhow::Result<Box<dyn BenchStore>> {
    if writers == 0 {
        bail!("--writers must be at least 1");
    }
    match kind {
        StoreKind::Sqlite => {
            if writers > 1 {
                bail!(
                    "--writers {writers} needs --store postgres: SQLite takes one writer at a time (a single write \
                     lock on the whole database file), so more writer connections would only wait for each other"
                );
            }
            let db = target.sqlite;
            let mut store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
            store.set_vee_config(vee).context("configuring VEE")?;
            Ok(Box::new(SqliteBench { store, path: db.to_path_buf() }))
        }
        StoreKind::Postgres => {
            let nanos = jiff::Timestamp::now().as_nanosecond() % 1_000_000_000_000;
            let schema = format!("gridedge_bench_{}_{nanos}", std::process::id());
            let mut store = PgStore::connect_schema(target.postgres, &schema)
                .with_context(|| format!("opening the PostgreSQL store ({})", target.postgres))?;
            store.set_vee_config(vee).context("configuring VEE")?;
            let mut extra = Vec::with_capacity(writers - 1);
            for n in 1..writers {
                // The schema exists and is migrated: each writer only connects to it.
                let mut writer = PgStore::connect_schema(target.postgres, &schema)
                    .with_context(|| format!("opening writer connection {} of {writers}", n + 1))?;
                writer.set_vee_config(vee).context("configuring VEE")?;
                extra.push(writer);
            }
            let mut admin = postgres::Client::connect(target.postgres, postgres::NoTls)
                .context("connecting to PostgreSQL (measurements)")?;
            let synchronous_commit: String =
                admin.query_one("SHOW synchronous_commit", &[]).context("reading synchronous_commit")?.get(0);
            Ok(Box::new(PostgresBench {
                store: Some(store),
                extra,
                admin,
                schema,
                keep: target.keep,
                synchronous_commit,
            }))
        }
    }
}

/// A bus's ends: the producer's, and one per ingest task.
pub type BusEnds = (Box<dyn BusPublisher>, Vec<Box<dyn BusConsumer>>);

/// Where the bus under test runs.
#[derive(Debug, Clone)]
pub struct BusTarget<'a> {
    /// The NATS server (`--bus nats`).
    pub nats_url: &'a str,
    /// Pass number (each pass gets fresh streams, so a replay is not dropped as a
    /// duplicate by JetStream).
    pub pass: usize,
    /// MeterReadings the pass publishes (the consumer stops after as many distinct ones).
    pub expected: u64,
}

/// A bus of `kind` holding up to `capacity` readings in flight, with `consumers` ingest
/// ends sharing its readings (each reading goes to one of them).
///
/// Errors: the NATS server is unreachable or refuses the streams.
pub fn open_bus(kind: BusKind, capacity: usize, target: &BusTarget<'_>, consumers: usize) -> anyhow::Result<BusEnds> {
    match kind {
        BusKind::Inproc => {
            let (tx, rx) = sync_channel(capacity.max(1));
            let rx = Arc::new(Mutex::new(rx));
            let consumers = (0..consumers.max(1))
                .map(|_| Box::new(InProcessConsumer(rx.clone())) as Box<dyn BusConsumer>)
                .collect();
            Ok((Box::new(InProcessPublisher(tx)), consumers))
        }
        BusKind::Nats => open_nats(capacity, target, consumers.max(1)),
    }
}

/// [`SqliteStore`] on a file.
struct SqliteBench {
    store: SqliteStore,
    path: PathBuf,
}

impl BenchStore for SqliteBench {
    fn store(&mut self) -> &mut dyn MeterDataStore {
        &mut self.store
    }

    fn writers(&mut self) -> Vec<&mut (dyn MeterDataStore + Send)> {
        vec![&mut self.store]
    }

    fn footprint(&mut self) -> anyhow::Result<Footprint> {
        let complete = self.store.checkpoint().context("checkpointing the write-ahead log")?;
        let size = |suffix: &str| -> anyhow::Result<u64> {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            match std::fs::metadata(&name) {
                Ok(m) => Ok(m.len()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(e).with_context(|| format!("measuring {}", Path::new(&name).display())),
            }
        };
        let (db, wal) = (size("")?, size("-wal")?);
        Ok(Footprint {
            bytes: db + wal,
            detail: json!({ "database_bytes": db, "wal_bytes": wal, "checkpoint_complete": complete }),
        })
    }

    fn describe(&self) -> Value {
        json!({
            "backend": "sqlite",
            "path": self.path.display().to_string(),
            "journal_mode": "wal",
            "synchronous": "normal",
        })
    }
}

/// [`PgStore`] in a schema of its own.
struct PostgresBench {
    /// `None` once dropped (before the schema).
    store: Option<PgStore>,
    /// The other writers' connections (`--writers` above 1).
    extra: Vec<PgStore>,
    /// A second connection, for sizes and the final `DROP SCHEMA`.
    admin: postgres::Client,
    schema: String,
    keep: bool,
    synchronous_commit: String,
}

impl BenchStore for PostgresBench {
    fn store(&mut self) -> &mut dyn MeterDataStore {
        self.store.as_mut().expect("the store lives until drop")
    }

    fn writers(&mut self) -> Vec<&mut (dyn MeterDataStore + Send)> {
        let mut writers: Vec<&mut (dyn MeterDataStore + Send)> = Vec::with_capacity(1 + self.extra.len());
        if let Some(store) = self.store.as_mut() {
            writers.push(store);
        }
        writers.extend(self.extra.iter_mut().map(|s| s as &mut (dyn MeterDataStore + Send)));
        writers
    }

    fn footprint(&mut self) -> anyhow::Result<Footprint> {
        // Tables with their indexes and TOAST (partitions are relkind 'r'), WAL excluded.
        let row = self
            .admin
            .query_one(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT, \
                        COALESCE(SUM(pg_indexes_size(c.oid)), 0)::BIGINT \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
                &[&self.schema],
            )
            .context("measuring the schema")?;
        let (total, indexes): (i64, i64) = (row.get(0), row.get(1));
        Ok(Footprint {
            bytes: u64::try_from(total).unwrap_or(0),
            detail: json!({ "relations_bytes": total, "of_which_indexes_bytes": indexes, "wal_excluded": true }),
        })
    }

    fn describe(&self) -> Value {
        json!({
            "backend": "postgres",
            "schema": self.schema,
            "kept": self.keep,
            "synchronous_commit": self.synchronous_commit,
            "writer_connections": 1 + self.extra.len(),
        })
    }
}

impl Drop for PostgresBench {
    fn drop(&mut self) {
        drop(self.store.take());
        self.extra.clear();
        if self.keep {
            eprintln!("kept PostgreSQL schema {}", self.schema);
            return;
        }
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema.replace('"', "\"\""));
        if let Err(e) = self.admin.batch_execute(&sql) {
            eprintln!("warning: could not drop the benchmark schema {}: {e}", self.schema);
        }
    }
}

/// The error of an ingest task stopped because another one failed (`--writers` above 1).
pub const ABORTED: &str = "stopped: another ingest task failed";

/// Publish acknowledgements awaited at once by the NATS producer (each one a message of
/// one meter-day).
const NATS_IN_FLIGHT: usize = 512;

/// Producer state shared with the NATS consumer: running, finished, or failed.
const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const FAILED: u8 = 2;

fn open_nats(capacity: usize, target: &BusTarget<'_>, consumers: usize) -> anyhow::Result<BusEnds> {
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-nats")
            .enable_all()
            .build()
            .context("starting tokio")?,
    );
    let mut config = JetStreamConfig::new(target.nats_url);
    let tag = format!("{}_{}", std::process::id(), target.pass);
    config.stream_prefix = format!("GRIDEDGE_BENCH_{tag}");
    config.subject_prefix = format!("gridedge-bench-{tag}");
    let (bus, subscribers) = runtime
        .block_on(async {
            let bus = JetStreamBus::connect(config).await?;
            // The same durable consumer for every ingest task, as MDMS replicas share it.
            let mut subscribers = Vec::with_capacity(consumers);
            for _ in 0..consumers {
                subscribers.push(bus.subscriber(MessageKind::Readings, "bench-mdms").await?);
            }
            anyhow::Ok((bus, subscribers))
        })
        .with_context(|| format!("connecting to NATS JetStream at {}", target.nats_url))?;
    let state = Arc::new(AtomicU8::new(RUNNING));
    let in_flight = capacity.clamp(1, NATS_IN_FLIGHT);
    let publisher = NatsPublisher {
        runtime: runtime.clone(),
        publisher: bus.publisher(),
        permits: Arc::new(tokio::sync::Semaphore::new(in_flight)),
        in_flight,
        error: Arc::new(Mutex::new(None)),
        state: state.clone(),
    };
    let streams = Arc::new(NatsStreams { runtime: runtime.clone(), bus });
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let consumers = subscribers
        .into_iter()
        .map(|subscriber| {
            Box::new(NatsConsumer {
                runtime: runtime.clone(),
                _streams: streams.clone(),
                subscriber,
                pending: Vec::new(),
                expected: target.expected,
                seen: seen.clone(),
                state: state.clone(),
            }) as Box<dyn BusConsumer>
        })
        .collect();
    Ok((Box::new(publisher), consumers))
}

/// The HES side on JetStream: each reading becomes one JSON `Readings` message, published
/// on a task that waits for the stream's acknowledgement; at most `in_flight` unconfirmed.
struct NatsPublisher {
    runtime: Arc<tokio::runtime::Runtime>,
    publisher: bus::JetStreamPublisher,
    permits: Arc<tokio::sync::Semaphore>,
    in_flight: usize,
    error: Arc<Mutex<Option<String>>>,
    state: Arc<AtomicU8>,
}

impl NatsPublisher {
    fn check(&self) -> anyhow::Result<()> {
        match self.error.lock().map(|e| e.clone()) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => bail!("publishing to JetStream: {e}"),
            Err(_) => bail!("publishing to JetStream: a publish task panicked"),
        }
    }
}

impl BusPublisher for NatsPublisher {
    fn publish(&mut self, reading: MeterReading) -> anyhow::Result<()> {
        self.check()?;
        let message = BusMessage::reading(&reading).context("encoding a reading")?;
        let permit = self
            .runtime
            .block_on(self.permits.clone().acquire_owned())
            .map_err(|_| anyhow::anyhow!("the publish window is closed"))?;
        let (publisher, error) = (self.publisher.clone(), self.error.clone());
        self.runtime.spawn(async move {
            // A refused or unconfirmed publish is repeated with the same id: JetStream drops
            // the copy if the first one was stored after all.
            let mut attempt = 0;
            loop {
                match publisher.publish(message.clone()).await {
                    Ok(()) => break,
                    Err(e) if attempt < 5 => {
                        attempt += 1;
                        tracing::warn!(error = %e, attempt, "publish not confirmed; publishing again");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => {
                        if let Ok(mut slot) = error.lock() {
                            slot.get_or_insert(e.to_string());
                        }
                        break;
                    }
                }
            }
            drop(permit);
        });
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let all = u32::try_from(self.in_flight).unwrap_or(u32::MAX);
        let permits = self.permits.clone();
        let _all = self
            .runtime
            .block_on(permits.acquire_many_owned(all))
            .map_err(|_| anyhow::anyhow!("the publish window is closed"))?;
        self.check()?;
        self.state.store(FINISHED, Ordering::Release);
        Ok(())
    }
}

impl Drop for NatsPublisher {
    fn drop(&mut self) {
        let _ = self.state.compare_exchange(RUNNING, FAILED, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// The pass's JetStream streams, deleted when the last consumer is gone.
struct NatsStreams {
    runtime: Arc<tokio::runtime::Runtime>,
    bus: JetStreamBus,
}

impl Drop for NatsStreams {
    fn drop(&mut self) {
        if let Err(e) = self.runtime.block_on(self.bus.delete_streams()) {
            eprintln!("warning: could not delete the benchmark's JetStream streams: {e}");
        }
    }
}

/// The MDMS side on JetStream: a pull subscription of the durable consumer (shared by every
/// ingest task); batches are acknowledged after the commit; an ingest task stops once every
/// published reading (by message id) was delivered to one of them, and the pass ends when
/// every task committed what it took.
struct NatsConsumer {
    runtime: Arc<tokio::runtime::Runtime>,
    _streams: Arc<NatsStreams>,
    subscriber: JetStreamSubscriber,
    pending: Vec<JetStreamDelivery>,
    expected: u64,
    /// Message ids delivered to any of the pass's consumers.
    seen: Arc<Mutex<HashSet<String>>>,
    state: Arc<AtomicU8>,
}

impl NatsConsumer {
    fn seen_count(&self) -> anyhow::Result<u64> {
        let seen = self.seen.lock().map_err(|_| anyhow::anyhow!("an ingest task panicked"))?;
        Ok(seen.len() as u64)
    }
}

impl BusConsumer for NatsConsumer {
    fn next_batch(&mut self, max: usize, abort: &AtomicBool) -> anyhow::Result<Option<Vec<MeterReading>>> {
        loop {
            if self.seen_count()? >= self.expected {
                return Ok(None);
            }
            if abort.load(Ordering::Acquire) {
                bail!("{ABORTED}");
            }
            let deliveries = self
                .runtime
                .block_on(self.subscriber.fetch(max, Duration::from_millis(500)))
                .context("fetching from JetStream")?;
            if deliveries.is_empty() {
                if self.state.load(Ordering::Acquire) == FAILED {
                    bail!("the producer stopped before publishing every reading");
                }
                continue;
            }
            let mut readings = Vec::with_capacity(deliveries.len());
            for delivery in &deliveries {
                readings.push(delivery.message().decode::<MeterReading>().context("decoding a Readings message")?);
            }
            {
                let mut seen = self.seen.lock().map_err(|_| anyhow::anyhow!("an ingest task panicked"))?;
                seen.extend(deliveries.iter().map(|d| d.message().id.clone()));
            }
            self.pending = deliveries;
            return Ok(Some(readings));
        }
    }

    fn ack(&mut self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.runtime.block_on(async {
            for delivery in pending {
                delivery.ack().await?;
            }
            anyhow::Ok(())
        })
    }
}

/// The in-process bus: a bounded channel of readings.
struct InProcessPublisher(SyncSender<MeterReading>);

impl BusPublisher for InProcessPublisher {
    fn publish(&mut self, reading: MeterReading) -> anyhow::Result<()> {
        self.0.send(reading).map_err(|_| anyhow::anyhow!("the ingest side of the in-process bus is gone"))
    }
}

/// One ingest task's end: the receiver is shared by every task, each batch taken under its
/// lock (a reading goes to one task).
struct InProcessConsumer(Arc<Mutex<Receiver<MeterReading>>>);

impl BusConsumer for InProcessConsumer {
    fn next_batch(&mut self, max: usize, abort: &AtomicBool) -> anyhow::Result<Option<Vec<MeterReading>>> {
        if abort.load(Ordering::Acquire) {
            bail!("{ABORTED}");
        }
        let rx = self.0.lock().map_err(|_| anyhow::anyhow!("an ingest task panicked"))?;
        let Ok(first) = rx.recv() else { return Ok(None) };
        let mut batch = Vec::with_capacity(max.max(1));
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        Ok(Some(batch))
    }

    fn ack(&mut self) -> anyhow::Result<()> {
        // In one process a reading is delivered once; nothing to acknowledge.
        Ok(())
    }
}

/// Everything one batch did, summed.
pub fn sum_outcomes(outcomes: &[IngestOutcome]) -> IngestOutcome {
    let mut sum = IngestOutcome::default();
    for o in outcomes {
        let (s, r) = (&mut sum.ingest, &o.ingest);
        s.intervals_new += r.intervals_new;
        s.intervals_duplicate += r.intervals_duplicate;
        s.intervals_revised += r.intervals_revised;
        s.registers_new += r.registers_new;
        s.registers_duplicate += r.registers_duplicate;
        s.registers_revised += r.registers_revised;
        sum.validation.absorb(o.validation.clone());
    }
    sum
}
