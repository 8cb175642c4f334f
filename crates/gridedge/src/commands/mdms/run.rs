//! `gridedge mdms run --config FILE`: the MDMS as its own process (issue 8, scale-out).
//!
//! Opens the store the configuration names (`[store]`: SQLite file or PostgreSQL
//! database), connects to NATS JetStream (`[bus]`, `transport = "nats"`) and runs three
//! durable pull consumers named `[mdms] consumer`, each on its own thread with its own store
//! connection:
//!
//! - `readings`: every bus batch is one [`MeterDataStore::ingest_batch`] transaction (VEE
//!   inside it), acknowledged after the commit (`services::mdms_ingest`);
//! - `events`: end-device events into the event store, then the outage engine (on the
//!   network topology stored in the same database, SQLite or PostgreSQL), acknowledged
//!   after the commit (`services::mdms_events`);
//! - `command_results`: each command state the HES reports, recorded in the table
//!   `mdms_command_result` of the same database (`services::command_results`), where the
//!   API reads a command's history.
//!
//! A transport error (NATS restarting) does not stop the process: the consumer reconnects
//! every second and carries on; whatever was delivered and not acknowledged is delivered
//! again after `[bus] ack_wait_s`, and the idempotent stores keep it once.
//!
//! SIGTERM or SIGINT stops it gracefully: each consumer finishes (commits and acknowledges)
//! the batch in flight, then the process prints a one-line JSON summary on stdout and exits
//! with status 0. Logs go to stderr (`RUST_LOG=info` for progress).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bus::{ConsumeOptions, Delivery, JetStreamBus, MessageKind, Subscriber};
use clap::Args;
use mdms::events::EventStore;
use mdms::outage::{OutageConfig, OutageStore};
use mdms::topology::TopologyStore;
use mdms::{DEFAULT_SOURCE, MeterDataStore, PgStore, SqliteStore};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::services::command_results::{CommandResultStore, decode_command_results};
use crate::services::config::{BusTransport, GridedgeConfig, StoreBackend, StoreConfig};
use crate::services::mdms_events::{EventIngestOptions, EventsIngested, WithOutages, ingest_events_into};
use crate::services::mdms_ingest::{ReadingsIngested, blocking, ingest_readings};

/// Arguments of `gridedge mdms run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The gridedge configuration file (TOML: `[store]`, `[bus]`, `[mdms]`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// How long a consumer waits before reconnecting after a transport error.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Runs `gridedge mdms run`.
///
/// # Errors
/// The configuration cannot be read or names the in-process bus; the store cannot be
/// opened (checked before any consumer starts); a consumer thread failed for a reason
/// other than the transport.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = GridedgeConfig::load(&args.config)?;
    if config.bus.transport != BusTransport::Nats {
        bail!(
            "gridedge mdms run needs [bus] transport = \"nats\" in {} (the in-process bus only \
             connects components inside one process)",
            args.config.display()
        );
    }
    // Open the store once up front: a bad path or an unreachable database fails the start.
    drop(open_store(&config.store)?);

    let (stop_tx, stop_rx) = watch::channel(false);
    let reconnects = std::sync::Arc::new(AtomicU64::new(0));
    let spawn = |name: &str, work: fn(&GridedgeConfig, watch::Receiver<bool>, &AtomicU64) -> anyhow::Result<Value>| {
        let (config, stop, reconnects) = (config.clone(), stop_rx.clone(), reconnects.clone());
        std::thread::Builder::new()
            .name(format!("mdms-{name}"))
            .spawn(move || work(&config, stop, &reconnects))
            .with_context(|| format!("starting the {name} consumer"))
    };
    let workers = [
        ("readings", spawn("readings", readings_worker)?),
        ("events", spawn("events", events_worker)?),
        ("command_results", spawn("command_results", command_results_worker)?),
    ];
    tracing::info!(consumer = %config.mdms.consumer, "mdms running");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    let signal = runtime.block_on(wait_for_signal(&workers))?;
    tracing::info!(signal, "stopping: finishing the batches in flight");
    let _ = stop_tx.send(true);

    let mut summary = serde_json::Map::new();
    summary.insert("mdms".into(), json!("stopped"));
    summary.insert("signal".into(), json!(signal));
    let mut failed = None;
    for (name, worker) in workers {
        match worker.join() {
            Ok(Ok(stats)) => {
                summary.insert(name.into(), stats);
            }
            Ok(Err(e)) => {
                tracing::error!(consumer = name, error = format!("{e:#}"), "consumer failed");
                summary.insert(name.into(), json!({ "error": format!("{e:#}") }));
                failed.get_or_insert(e);
            }
            Err(_) => {
                summary.insert(name.into(), json!({ "error": "panicked" }));
                failed.get_or_insert(anyhow::anyhow!("the {name} consumer panicked"));
            }
        }
    }
    summary.insert("bus_reconnects".into(), json!(reconnects.load(Ordering::Relaxed)));
    crate::commands::emit(&Value::Object(summary).to_string())?;
    match failed {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Waits for SIGTERM or SIGINT, or for a consumer thread to end on its own (a fatal error):
/// returns what ended the wait.
async fn wait_for_signal(
    workers: &[(&str, std::thread::JoinHandle<anyhow::Result<Value>>)],
) -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut poll = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = term.recv() => return Ok("SIGTERM"),
            _ = int.recv() => return Ok("SIGINT"),
            _ = poll.tick() => {
                if workers.iter().any(|(_, w)| w.is_finished()) {
                    return Ok("consumer ended");
                }
            }
        }
    }
}

/// The store of the configuration, with its own connection.
enum Store {
    Sqlite(Box<SqliteStore>),
    Postgres(Box<PgStore>),
}

fn open_store(config: &StoreConfig) -> anyhow::Result<Store> {
    match config.backend {
        StoreBackend::Sqlite => Ok(Store::Sqlite(Box::new(
            SqliteStore::open(&config.sqlite_path)
                .with_context(|| format!("opening the MDMS store {}", config.sqlite_path.display()))?,
        ))),
        StoreBackend::Postgres => {
            let conninfo = config.postgres.as_deref().context("store.postgres is missing")?;
            Ok(Store::Postgres(Box::new(PgStore::connect(conninfo).context("opening the PostgreSQL MDMS store")?)))
        }
    }
}

fn consume_options(config: &GridedgeConfig) -> ConsumeOptions {
    ConsumeOptions {
        batch: config.mdms.batch,
        wait: Duration::from_millis(500),
        retry_delay: Duration::from_secs(config.mdms.retry_delay_s),
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `session` on a connected subscriber of `kind` until it returns `Ok` (stopped) or
/// `stop` turns true; reconnects after transport errors.
fn run_consumer<F>(
    config: &GridedgeConfig,
    kind: MessageKind,
    stop: watch::Receiver<bool>,
    reconnects: &AtomicU64,
    mut session: F,
) -> anyhow::Result<()>
where
    F: AsyncSession,
{
    // Multi-thread (one worker): the store's blocking calls run in `block_in_place`.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        let mut first = true;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if !first {
                reconnects.fetch_add(1, Ordering::Relaxed);
                tokio::select! {
                    () = stopped(stop.clone()) => return Ok(()),
                    () = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
            }
            first = false;
            let connected = async {
                let bus = JetStreamBus::connect(config.bus.jetstream()).await?;
                bus.subscriber(kind, &config.mdms.consumer).await
            };
            let mut subscriber = tokio::select! {
                () = stopped(stop.clone()) => return Ok(()),
                connected = connected => match connected {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(stream = kind.token(), error = %e, "cannot reach JetStream; retrying");
                        continue;
                    }
                },
            };
            tracing::info!(stream = kind.token(), consumer = %config.mdms.consumer, "consuming");
            match session.run(&mut subscriber, stopped(stop.clone())).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(stream = kind.token(), error = format!("{e:#}"), "transport error; reconnecting")
                }
            }
        }
    })
}

/// One consumer session on a connected subscriber (the worker's store and counters live in
/// the implementor, so they survive reconnections).
trait AsyncSession {
    async fn run(
        &mut self,
        subscriber: &mut bus::JetStreamSubscriber,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()>;
}

struct ReadingsSession<'a> {
    store: &'a mut dyn MeterDataStore,
    options: ConsumeOptions,
    totals: ReadingsIngested,
}

impl AsyncSession for ReadingsSession<'_> {
    async fn run(
        &mut self,
        subscriber: &mut bus::JetStreamSubscriber,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        ingest_readings(subscriber, &mut *self.store, DEFAULT_SOURCE, self.options, stop, &mut self.totals).await
    }
}

fn readings_worker(
    config: &GridedgeConfig,
    stop: watch::Receiver<bool>,
    reconnects: &AtomicU64,
) -> anyhow::Result<Value> {
    let mut store = open_store(&config.store)?;
    let store: &mut dyn MeterDataStore = match &mut store {
        Store::Sqlite(s) => s.as_mut(),
        Store::Postgres(s) => s.as_mut(),
    };
    let mut session = ReadingsSession { store, options: consume_options(config), totals: ReadingsIngested::default() };
    run_consumer(config, MessageKind::Readings, stop, reconnects, &mut session)?;
    let t = session.totals;
    Ok(json!({
        "batches": t.bus.batches,
        "acknowledged": t.bus.acknowledged,
        "poison": t.bus.poison,
        "retried": t.bus.retried,
        "redelivered": t.bus.redelivered,
        "meter_readings": t.readings,
        "ingest": t.values,
    }))
}

struct EventsSession<K> {
    sink: K,
    options: EventIngestOptions,
    stats: EventsIngested,
}

impl<K: crate::services::mdms_events::EventSink> AsyncSession for EventsSession<K> {
    async fn run(
        &mut self,
        subscriber: &mut bus::JetStreamSubscriber,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        ingest_events_into(subscriber, &mut self.sink, self.options, stop, &mut self.stats).await
    }
}

fn events_json(s: &EventsIngested, outages: bool) -> Value {
    json!({
        "batches": s.batches,
        "acknowledged": s.acknowledged,
        "poison": s.poison,
        "retried": s.retried,
        "redelivered": s.redelivered,
        "inserted": s.inserted,
        "duplicates": s.duplicates,
        "outage_correlation": outages,
        "refreshes": s.refreshes,
        "outage_changes": s.outage_changes,
    })
}

fn events_worker(
    config: &GridedgeConfig,
    stop: watch::Receiver<bool>,
    reconnects: &AtomicU64,
) -> anyhow::Result<Value> {
    let options = EventIngestOptions { consume: consume_options(config), refresh_every: Duration::from_secs(10) };
    match open_store(&config.store)? {
        Store::Sqlite(mut store) => events_with_outages(config, stop, reconnects, options, store.as_mut()),
        Store::Postgres(mut store) => events_with_outages(config, stop, reconnects, options, store.as_mut()),
    }
}

/// Consumes events into `store` and refreshes its outages (correlated on its stored
/// network topology), on either backend.
fn events_with_outages<M>(
    config: &GridedgeConfig,
    stop: watch::Receiver<bool>,
    reconnects: &AtomicU64,
    options: EventIngestOptions,
    store: &mut M,
) -> anyhow::Result<Value>
where
    M: EventStore + OutageStore + TopologyStore + MeterDataStore,
{
    let topology = store.load_topology().context("loading the network topology")?;
    let outage_config = OutageConfig::default();
    let sink = WithOutages { store, topology: &topology, config: &outage_config };
    let mut session = EventsSession { sink, options, stats: EventsIngested::default() };
    run_consumer(config, MessageKind::Events, stop, reconnects, &mut session)?;
    Ok(events_json(&session.stats, true))
}

#[derive(Default)]
struct CommandResultsStats {
    batches: u64,
    acknowledged: u64,
    poison: u64,
    retried: u64,
    inserted: u64,
    duplicates: u64,
}

struct CommandResultsSession {
    store: CommandResultStore,
    options: ConsumeOptions,
    stats: CommandResultsStats,
}

impl AsyncSession for CommandResultsSession {
    async fn run(
        &mut self,
        subscriber: &mut bus::JetStreamSubscriber,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::pin!(stop);
        loop {
            let deliveries = tokio::select! {
                biased;
                () = &mut stop => return Ok(()),
                fetched = subscriber.fetch(self.options.batch, self.options.wait) => fetched?,
            };
            if deliveries.is_empty() {
                continue;
            }
            let (results, poison) = decode_command_results(deliveries.iter().map(Delivery::message));
            match blocking(|| self.store.record(&results)) {
                Ok(recorded) => {
                    self.stats.batches += 1;
                    self.stats.inserted += recorded.inserted;
                    self.stats.duplicates += recorded.duplicates;
                    for (index, delivery) in deliveries.into_iter().enumerate() {
                        if poison.contains(&index) {
                            self.stats.poison += 1;
                            delivery.term().await?;
                        } else {
                            self.stats.acknowledged += 1;
                            delivery.ack().await?;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "command results not recorded; they will be delivered again"
                    );
                    self.stats.retried += deliveries.len() as u64;
                    for delivery in deliveries {
                        delivery.nak(self.options.retry_delay).await?;
                    }
                }
            }
        }
    }
}

fn command_results_worker(
    config: &GridedgeConfig,
    stop: watch::Receiver<bool>,
    reconnects: &AtomicU64,
) -> anyhow::Result<Value> {
    let store = match config.store.backend {
        StoreBackend::Sqlite => CommandResultStore::open_sqlite(&config.store.sqlite_path)?,
        StoreBackend::Postgres => {
            CommandResultStore::open_postgres(config.store.postgres.as_deref().context("store.postgres is missing")?)?
        }
    };
    let mut session =
        CommandResultsSession { store, options: consume_options(config), stats: CommandResultsStats::default() };
    run_consumer(config, MessageKind::CommandResults, stop, reconnects, &mut session)?;
    let s = &session.stats;
    Ok(json!({
        "batches": s.batches,
        "acknowledged": s.acknowledged,
        "poison": s.poison,
        "retried": s.retried,
        "inserted": s.inserted,
        "duplicates": s.duplicates,
        "table": "mdms_command_result",
    }))
}

impl<T: AsyncSession + ?Sized> AsyncSession for &mut T {
    async fn run(
        &mut self,
        subscriber: &mut bus::JetStreamSubscriber,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        (**self).run(subscriber, stop).await
    }
}
