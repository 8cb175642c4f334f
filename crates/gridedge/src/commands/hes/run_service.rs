//! `gridedge hes run --config FILE`: one HES process of a scale-out deployment.
//!
//! Several such processes share a fleet. Each is a member of the shard leases
//! ([`bus::ShardLeases`], a JetStream key-value bucket `<stream_prefix>_HES_LEASES`): the
//! fleet is split into `[hes] shards` by a stable hash of the serial, each member holds
//! leases on about its fair share, renews them every third of `[hes] lease_ttl_s`, and
//! when a member dies its leases expire and the survivors take its shards over (after
//! about one TTL plus one renewal period). A member starts collecting one renewal period
//! after it joined, so members started together split the fleet before either collects.
//!
//! What a member does with the meters of the shards it holds:
//!
//! * **Collection** — the scheduler ([`hes::scheduler`]) plans jobs for owned meters only
//!   (at start, whenever the owned shards change, and every minute) and starts jobs only
//!   for owned meters (re-checked at every dispatch: a shard gained is scheduled at once,
//!   a shard lost is dropped once its sessions in flight end; its queued jobs stay in this
//!   process's job store for the day it is gained again). Each reading is published on
//!   the bus (`Readings`) and counts as delivered once JetStream acknowledged it
//!   ([`super::super::bus_sink`], which also explains where catch-up positions come from).
//! * **Commands** — commands are published on the subject of their meter's shard
//!   (`<subject_prefix>.commands.s0007`); each shard has its own durable pull consumer
//!   (`hes-s0007`, filtered on that subject) which only the shard's owner pulls from, so a
//!   command waits on the bus while its shard changes hands and goes to the new owner (a
//!   command pulled just as its shard was lost is nak'ed and comes back to the same
//!   consumer). A command is recorded and carried out with
//!   [`hes::commands::CommandService`] (command store and audit log in `[hes]
//!   commands_db`), its states queued, sent, confirmed or failed are published as
//!   [`bus::CommandResultEnvelope`]s (`CommandResults`), and it is acknowledged after its
//!   final state is published. The bus command id is recorded with the command store's id
//!   (table `bus_commands` in the same file) before the command is carried out, so a
//!   redelivered command is never carried out twice: its final state is published again,
//!   or, when a previous run stopped during it, it is failed as interrupted.
//! * **Push intake** — TCP and UDP push listeners (`[hes] push_tcp`, `push_udp`; the
//!   registry's ciphered meters with their keys) feed [`hes::push_intake`], which
//!   publishes each alarm as an IEC 61968-9 `EndDeviceEvent` with its CIM event type code
//!   (`Events`). Pushes are accepted from any meter whatever its shard (a meter pushes to
//!   the address configured in its Push setup).
//!
//! Each HES process needs its own HES database (`--db` or `[hes] registry`: registry, key
//! store, jobs), provisioned with the whole fleet: the job store records what this
//! process ran, so two processes must not share one.
//!
//! Stdout carries one JSON object per line: `{"event": "started", ...}` with the member id
//! and the push listeners' addresses, `{"event": "shards", "owned": [...]}` whenever the
//! owned shards change, `{"event": "command", ...}` per command handled, and a final report
//! on SIGINT or SIGTERM (leases are then released, handing the shards over at once).

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use bus::{
    BusMessage, CommandEnvelope, CommandResultEnvelope, CommandResultState, Delivery, JetStreamBus, JetStreamPublisher,
    LeaseConfig, MessageKind, Publisher, ShardLeases, shard_of,
};
use dlms::security::SystemTitle;
use hes::MeterEndpoint;
use hes::commands::{
    CommandId, CommandProgress, CommandRecord, CommandRequest, CommandService, CommandState, CommandStore,
};
use hes::key_store::KeyStore;
use hes::key_store::endpoint::security_settings;
use hes::push_intake::{IntakeConfig, IntakeStats, PushEventMapper, run_push_intake};
use hes::push_listener::{PushListener, PushListenerConfig, PushSecurity, UdpPushListener};
use hes::registry_store::{MeterFilter, RegistryStore};
use hes::scheduler::runner::PlannerHook;
use hes::scheduler::{AdmissionHook, DlmsExecutor, JobStore, RunMode, Scheduler, TokioClock, plan_jobs};
use hes::session::SessionTimeouts;
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::super::KekArg;
use super::super::bus_sink::{BusSink, MdmsPositionSource};
use super::{RunArgs, executor_config, plan_config, scheduler_config};
use crate::services::config::{BusTransport, GridedgeConfig, StoreBackend};

/// Prefix of the durable consumers of `Commands`, one per shard (`hes-s0007`, filtered on
/// `<subject_prefix>.commands.s0007`), shared by the HES processes: only the shard's owner
/// pulls from it.
pub const COMMANDS_CONSUMER_PREFIX: &str = "hes-";

/// Delay before a command pulled just as its shard was lost comes back (to the shard's
/// consumer, for the next owner).
const NOT_OWNED_DELAY: Duration = Duration::from_millis(500);

/// Delay before a command being carried out by this process, delivered again, comes back.
const IN_FLIGHT_DELAY: Duration = Duration::from_secs(5);

/// Delay before a command whose handling failed (store or bus error) comes back.
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Planning of owned meters at least this often, besides every change of ownership.
const REPLAN_EVERY: Duration = Duration::from_secs(60);

/// The shards this member holds, as the scheduler, the planner and the command consumer
/// see them.
#[derive(Debug)]
pub struct Ownership {
    shards: u32,
    owned: RwLock<BTreeSet<u32>>,
    generation: AtomicU64,
}

impl Ownership {
    /// Nothing owned yet, among `shards` shards.
    pub fn new(shards: u32) -> Self {
        Ownership { shards: shards.max(1), owned: RwLock::new(BTreeSet::new()), generation: AtomicU64::new(0) }
    }

    /// Whether this member holds the shard of the meter with serial `serial`.
    pub fn owns(&self, serial: &str) -> bool {
        self.owned.read().unwrap_or_else(|p| p.into_inner()).contains(&shard_of(serial, self.shards))
    }

    /// Whether this member holds shard `shard`.
    pub fn owns_shard(&self, shard: u32) -> bool {
        self.owned.read().unwrap_or_else(|p| p.into_inner()).contains(&shard)
    }

    /// The shards held.
    pub fn owned(&self) -> Vec<u32> {
        self.owned.read().unwrap_or_else(|p| p.into_inner()).iter().copied().collect()
    }

    /// Counts the changes of [`Ownership::set`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces the shards held; true when they changed.
    pub fn set(&self, owned: BTreeSet<u32>) -> bool {
        let mut current = self.owned.write().unwrap_or_else(|p| p.into_inner());
        if *current == owned {
            return false;
        }
        *current = owned;
        self.generation.fetch_add(1, Ordering::AcqRel);
        true
    }
}

/// The bus command ids this HES has taken on, with the command store's id of each (table
/// `bus_commands` beside the command store). A row is written before the command is
/// recorded in the command store, and its store id right after, so a command delivered
/// again is recognised whatever the moment a previous run stopped.
pub struct BusCommandLog {
    conn: Mutex<rusqlite::Connection>,
}

/// What [`BusCommandLog::lookup`] knows of a bus command id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedCommand {
    /// Never seen.
    Unknown,
    /// Taken on, but a previous run stopped before it was recorded in the command store
    /// (nothing was sent to the meter).
    Taken,
    /// Recorded in the command store under this id.
    Recorded(CommandId),
}

impl BusCommandLog {
    /// Opens (creating if needed) the log in the SQLite file `path`.
    ///
    /// # Errors
    /// The file cannot be opened or the table not created.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS bus_commands (
                command_id  TEXT PRIMARY KEY,
                store_id    INTEGER,
                meter       TEXT NOT NULL,
                received_at TEXT NOT NULL
            );",
        )?;
        Ok(BusCommandLog { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is known of `command_id`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn lookup(&self, command_id: &str) -> anyhow::Result<LoggedCommand> {
        use rusqlite::OptionalExtension;
        let row: Option<Option<i64>> = self
            .lock()
            .query_row("SELECT store_id FROM bus_commands WHERE command_id = ?1", [command_id], |r| r.get(0))
            .optional()?;
        Ok(match row {
            None => LoggedCommand::Unknown,
            Some(None) => LoggedCommand::Taken,
            Some(Some(id)) => LoggedCommand::Recorded(id),
        })
    }

    /// Records that `command_id` (for `meter`) is taken on.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn take(&self, command_id: &str, meter: &str) -> anyhow::Result<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO bus_commands (command_id, meter, received_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![command_id, meter, Timestamp::now().to_string()],
        )?;
        Ok(())
    }

    /// Records the command store's id of `command_id`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn attach(&self, command_id: &str, store_id: CommandId) -> anyhow::Result<()> {
        self.lock().execute(
            "UPDATE bus_commands SET store_id = ?2 WHERE command_id = ?1",
            rusqlite::params![command_id, store_id],
        )?;
        Ok(())
    }
}

/// Runs `gridedge hes run --config FILE` (see the module docs).
///
/// # Errors
/// A bad configuration file, a bus other than NATS, unreachable NATS, database errors,
/// push listener addresses that cannot be bound.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let config_path = a.config.clone().context("--config is required here")?;
    let config = GridedgeConfig::load(&config_path)?;
    if config.bus.transport != BusTransport::Nats {
        anyhow::bail!(
            "gridedge hes run --config needs [bus] transport = \"nats\" (the processes exchange messages over NATS JetStream)"
        );
    }
    let db = a.db.clone().unwrap_or_else(|| config.hes.registry.clone());
    let kek = if a.kek.kek_file.is_some() { a.kek.clone() } else { KekArg { kek_file: config.hes.kek_file.clone() } };
    let keys = kek.open_optional(&db)?;
    let executor_config = executor_config(&a)?;
    let scheduler_config = scheduler_config(&a, a.max_sessions.unwrap_or(config.hes.concurrency));
    let plan_config = plan_config(&a);
    let position = match config.store.backend {
        StoreBackend::Sqlite => MdmsPositionSource::Sqlite(config.store.sqlite_path.clone()),
        StoreBackend::Postgres => {
            config.store.postgres.clone().map_or(MdmsPositionSource::None, MdmsPositionSource::Postgres)
        }
    };
    let member = member_id();
    let ttl = Duration::from_secs(config.hes.lease_ttl_s.max(1));
    let shards = config.hes.shards.max(1);
    let service = CommandService::new(
        CommandStore::open(&config.hes.commands_db)
            .with_context(|| format!("opening the command database {}", config.hes.commands_db.display()))?,
        executor_config.timeouts,
    );
    let command_log = BusCommandLog::open(&config.hes.commands_db)?;
    let command_registry = RegistryStore::open(&db)?;
    let ownership = Arc::new(Ownership::new(shards));
    let push_config = push_listener_config(&RegistryStore::open(&db)?, keys.as_ref(), executor_config.hes_system_title);

    let rt = super::super::super::runtime()?;
    let handle = rt.handle().clone();
    let out = rt.block_on(async move {
        let bus = JetStreamBus::connect(config.bus.jetstream())
            .await
            .with_context(|| format!("connecting to NATS at {}", config.bus.nats_url))?;
        let publisher = bus.publisher();
        let commands = Arc::new(CommandContext {
            service,
            log: command_log,
            registry: Mutex::new(command_registry),
            keys: keys.clone(),
            hes_system_title: executor_config.hes_system_title,
            in_flight: Mutex::new(HashSet::new()),
            publisher: publisher.clone(),
            shards,
            ownership: ownership.clone(),
            timeouts: executor_config.timeouts,
        });
        let lease_config = LeaseConfig {
            url: config.bus.nats_url.clone(),
            bucket: format!("{}_HES_LEASES", config.bus.stream_prefix),
            shards,
            ttl,
            member: member.clone(),
        };
        let leases = ShardLeases::connect(lease_config).await.context("joining the shard leases")?;
        let poll = leases.renew_interval().clamp(Duration::from_millis(200), Duration::from_secs(5));
        let (stop_tx, stop_rx) = watch::channel(false);

        // Push listeners and intake.
        let (push_tx, push_rx) = mpsc::channel(1024);
        let mut listeners = JoinSet::new();
        let mut push_addresses = json!({});
        if let Some(address) = listener_address(&config.hes.push_tcp) {
            let tcp = PushListener::bind(address, push_config.clone())
                .await
                .with_context(|| format!("binding the TCP push listener on {address}"))?;
            push_addresses["tcp"] = json!(tcp.local_addr()?.to_string());
            listeners.spawn(tcp.run(push_tx.clone()));
        }
        if let Some(address) = listener_address(&config.hes.push_udp) {
            let udp = UdpPushListener::bind(address, push_config)
                .await
                .with_context(|| format!("binding the UDP push listener on {address}"))?;
            push_addresses["udp"] = json!(udp.local_addr()?.to_string());
            listeners.spawn(udp.run(push_tx.clone()));
        }
        drop(push_tx);
        let intake_publisher = publisher.clone();
        let intake = tokio::spawn(async move {
            let mut mapper = PushEventMapper::default();
            run_push_intake(push_rx, &intake_publisher, &mut mapper, IntakeConfig::default()).await
        });

        // Commands.
        let client = async_nats::ConnectOptions::new()
            .name("gridedge-hes-commands")
            .connect(config.bus.nats_url.as_str())
            .await
            .with_context(|| format!("connecting to NATS at {}", config.bus.nats_url))?;
        let source = CommandSource {
            context: async_nats::jetstream::new(client),
            stream: format!("{}_{}", config.bus.stream_prefix, MessageKind::Commands.token().to_ascii_uppercase()),
            subject: format!("{}.{}", config.bus.subject_prefix, MessageKind::Commands.token()),
            ack_wait: Duration::from_secs(config.bus.ack_wait_s.max(1)),
        };
        let command_task = tokio::spawn(command_loop(commands.clone(), source, stop_rx.clone()));

        // Leases.
        let lease_task = tokio::spawn(lease_loop(leases, ownership.clone(), ttl, stop_rx.clone()));

        // Collection.
        let sink = Arc::new(BusSink::new(publisher, handle, position));
        let executor = Arc::new(DlmsExecutor::new(RegistryStore::open(&db)?, keys, sink.clone(), executor_config)?);
        let planner = owned_planner(RegistryStore::open(&db)?, ownership.clone(), plan_config);
        let admit_ownership = ownership.clone();
        let admit: AdmissionHook = Arc::new(move |serial: &str| admit_ownership.owns(serial));
        let mut scheduler =
            Scheduler::new(JobStore::open(&db)?, executor, TokioClock::from_wall_clock(), scheduler_config)
                .with_planner(poll, planner)
                .with_admission(admit);
        scheduler.idle_poll = poll;
        emit_line(&json!({
            "event": "started",
            "member": member,
            "pid": std::process::id(),
            "shards": shards,
            "lease_ttl_s": ttl.as_secs(),
            "push": push_addresses,
        }));
        let report = scheduler.run(RunMode::Forever, shutdown_signal()).await?;
        let _ = stop_tx.send(true);
        listeners.shutdown().await;
        let push = intake.await.unwrap_or_default();
        let commands_handled = command_task.await.unwrap_or(0);
        if let Ok(Err(e)) = lease_task.await {
            tracing::warn!(error = %e, "releasing the shard leases");
        }
        let counts = scheduler.store().counts()?;
        anyhow::Ok(json!({
            "event": "stopped",
            "member": member,
            "run": report,
            "jobs": counts,
            "readings_published": sink.delivered(),
            "commands_handled": commands_handled,
            "push": intake_json(&push),
        }))
    })?;
    emit_line(&out);
    Ok(ExitCode::SUCCESS)
}

/// `hes-<host>-<pid>`: unique per process.
fn member_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".to_string());
    format!("hes-{host}-{}", std::process::id())
}

/// A listener address, or `None` for `""` and `"0"` (off).
fn listener_address(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty() && text != "0").then_some(text)
}

/// Writes one JSON line on stdout (errors are logged: stdout is informational).
fn emit_line(value: &serde_json::Value) {
    if let Err(e) = crate::commands::emit(&value.to_string()) {
        tracing::warn!(error = %e, "writing to stdout");
    }
}

fn intake_json(s: &IntakeStats) -> serde_json::Value {
    json!({
        "pushes": s.pushes,
        "alarm_pushes": s.alarm_pushes,
        "events": s.events,
        "not_alarms": s.not_alarms,
        "unidentified": s.unidentified,
        "malformed": s.malformed,
        "publish_failures": s.publish_failures,
    })
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match &mut term {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
    }
}

/// The push listeners' configuration: the registry's ciphered meters (a system title and
/// active keys) with their security; meters whose keys cannot be used are logged and left
/// out (their pushes are refused as undecipherable).
fn push_listener_config(
    registry: &RegistryStore,
    keys: Option<&KeyStore>,
    hes_system_title: SystemTitle,
) -> PushListenerConfig {
    let mut config = PushListenerConfig::default();
    let Some(keys) = keys else { return config };
    let meters = match registry.list(&MeterFilter::default()) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "listing the registry for the push listeners");
            return config;
        }
    };
    for meter in meters {
        let record = meter.record;
        let Some(title) = record.system_title else { continue };
        let set = match keys.active(&record.serial.0) {
            Ok(Some(set)) => set,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(meter = %record.serial, error = %e, "meter keys unusable for its pushes");
                continue;
            }
        };
        match security_settings(&record, &set.keys, keys, set.info.generation, hes_system_title) {
            Ok(settings) => {
                config = config.with_meter(title, PushSecurity { serial: record.serial.clone(), settings });
            }
            Err(e) => tracing::warn!(meter = %record.serial, error = %e, "meter security unusable for its pushes"),
        }
    }
    config
}

/// Renews the leases every renewal period until `stop`, publishing the owned shards from
/// the second round on; then releases them. When the bucket cannot be reached for about
/// two thirds of the TTL, nothing is owned any more (the leases are about to expire).
async fn lease_loop(
    mut leases: ShardLeases,
    ownership: Arc<Ownership>,
    ttl: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), bus::BusError> {
    let every = leases.renew_interval().max(Duration::from_millis(100));
    let mut rounds = 0u64;
    let mut last_ok = Instant::now();
    loop {
        match leases.tick().await {
            Ok(owned) => {
                last_ok = Instant::now();
                rounds += 1;
                if rounds >= 2 && ownership.set(owned.into_iter().collect()) {
                    announce(&ownership);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the shard leases");
                if last_ok.elapsed() >= ttl.mul_f64(2.0 / 3.0) && ownership.set(BTreeSet::new()) {
                    announce(&ownership);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
    ownership.set(BTreeSet::new());
    leases.release_all().await
}

fn announce(ownership: &Ownership) {
    let owned = ownership.owned();
    tracing::info!(?owned, "owned shards changed");
    emit_line(&json!({ "event": "shards", "owned": owned, "at": Timestamp::now().to_string() }));
}

/// The planner of owned meters: runs when the owned shards changed, and at least every
/// [`REPLAN_EVERY`].
fn owned_planner(
    registry: RegistryStore,
    ownership: Arc<Ownership>,
    plan_config: hes::scheduler::PlanConfig,
) -> PlannerHook {
    let mut planned_generation = None;
    let mut next_full = Timestamp::MIN;
    Box::new(move |store: &mut JobStore, now: Timestamp| {
        let generation = ownership.generation();
        if planned_generation == Some(generation) && now < next_full {
            return Ok(());
        }
        planned_generation = Some(generation);
        next_full = now.checked_add(jiff::SignedDuration::try_from(REPLAN_EVERY).unwrap_or_default()).unwrap_or(now);
        let meters: Vec<_> = registry
            .list(&MeterFilter { scheduled_only: true, ..MeterFilter::default() })?
            .into_iter()
            .map(|m| m.record)
            .filter(|r| ownership.owns(&r.serial.0))
            .collect();
        let report = plan_jobs(store, &meters, now, &plan_config)?;
        if report.created > 0 {
            tracing::info!(created = report.created, meters = report.meters, "planned jobs for owned meters");
        }
        Ok(())
    })
}

/// What the command consumer needs.
struct CommandContext {
    service: CommandService,
    log: BusCommandLog,
    registry: Mutex<RegistryStore>,
    keys: Option<KeyStore>,
    hes_system_title: SystemTitle,
    in_flight: Mutex<HashSet<String>>,
    publisher: JetStreamPublisher,
    shards: u32,
    ownership: Arc<Ownership>,
    timeouts: SessionTimeouts,
}

/// How a command delivery was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Carried out: confirmed.
    Confirmed,
    /// Carried out (or refused before): failed.
    Failed,
    /// Already carried out: its final state was published again.
    Duplicate,
    /// A previous run stopped during it: failed as interrupted, not repeated.
    Interrupted,
    /// The request does not decode: failed.
    Invalid,
}

impl Handled {
    fn as_str(self) -> &'static str {
        match self {
            Handled::Confirmed => "confirmed",
            Handled::Failed => "failed",
            Handled::Duplicate => "duplicate",
            Handled::Interrupted => "interrupted",
            Handled::Invalid => "invalid",
        }
    }
}

/// Where the commands are on JetStream.
#[derive(Debug, Clone)]
struct CommandSource {
    context: async_nats::jetstream::Context,
    /// `<stream_prefix>_COMMANDS`.
    stream: String,
    /// `<subject_prefix>.commands`.
    subject: String,
    ack_wait: Duration,
}

/// The durable consumer of one shard's commands: `hes-s0007`.
fn shard_consumer_name(shard: u32) -> String {
    format!("{COMMANDS_CONSUMER_PREFIX}s{shard:04}")
}

/// Pulls the commands of every owned shard until `stop`: one task per owned shard, each on
/// the shard's durable consumer (filtered on the shard's subject, so only the owner pulls
/// them); a task ends soon after its shard is lost (its commands then wait on the consumer
/// for the next owner). Returns how many commands were handled (acknowledged). Commands
/// in flight at the stop are abandoned (delivered again after the ack wait).
async fn command_loop(context: Arc<CommandContext>, source: CommandSource, mut stop: watch::Receiver<bool>) -> u64 {
    let handled = Arc::new(AtomicU64::new(0));
    let mut pullers: std::collections::HashMap<u32, tokio::task::JoinHandle<()>> = std::collections::HashMap::new();
    loop {
        pullers.retain(|_, task| !task.is_finished());
        for shard in context.ownership.owned() {
            pullers.entry(shard).or_insert_with(|| {
                tokio::spawn(pull_shard(context.clone(), source.clone(), shard, handled.clone(), stop.clone()))
            });
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    for (_, task) in pullers {
        let _ = task.await;
    }
    handled.load(Ordering::Acquire)
}

/// Pulls shard `shard`'s commands while it is owned.
async fn pull_shard(
    context: Arc<CommandContext>,
    source: CommandSource,
    shard: u32,
    handled: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    use async_nats::jetstream::consumer;
    use futures_util::StreamExt;
    let name = shard_consumer_name(shard);
    let subject = format!("{}.s{shard:04}", source.subject);
    let consumer = async {
        let stream = source.context.get_stream(&source.stream).await.map_err(|e| e.to_string())?;
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: subject.clone(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: source.ack_wait,
            max_ack_pending: 1_000,
            ..Default::default()
        };
        stream.get_or_create_consumer(&name, config).await.map_err(|e| e.to_string())
    };
    let consumer: consumer::PullConsumer = match consumer.await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(shard, error = %e, "opening the shard's command consumer; trying again");
            tokio::time::sleep(RETRY_DELAY).await;
            return;
        }
    };
    let mut tasks: JoinSet<bool> = JoinSet::new();
    while context.ownership.owns_shard(shard) && !*stop.borrow() {
        let batch = tokio::select! {
            _ = stop.changed() => break,
            batch = consumer.batch().max_messages(16).expires(Duration::from_secs(1)).messages() => batch,
        };
        match batch {
            Ok(mut messages) => {
                while let Some(next) = messages.next().await {
                    match next {
                        Ok(raw) => {
                            tasks.spawn(handle_delivery(context.clone(), ShardDelivery::new(raw, shard)));
                        }
                        Err(e) => {
                            tracing::warn!(shard, error = %e, "fetching commands");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(shard, error = %e, "fetching commands");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        while let Some(done) = tasks.try_join_next() {
            handled.fetch_add(u64::from(done.unwrap_or(false)), Ordering::AcqRel);
        }
    }
    // Commands under way finish (a shard lost keeps its session in flight).
    while let Some(done) = tokio::select! {
        _ = stop.changed() => None,
        done = tasks.join_next() => done,
    } {
        handled.fetch_add(u64::from(done.unwrap_or(false)), Ordering::AcqRel);
    }
    tasks.shutdown().await;
}

/// A command pulled from a shard's consumer, as a [`bus::Delivery`].
struct ShardDelivery {
    message: BusMessage,
    count: u64,
    raw: async_nats::jetstream::Message,
}

impl ShardDelivery {
    fn new(raw: async_nats::jetstream::Message, shard: u32) -> Self {
        let id =
            raw.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.as_str().to_string()).unwrap_or_default();
        let count = raw.info().map(|i| u64::try_from(i.delivered).unwrap_or(1)).unwrap_or(1);
        let message =
            BusMessage { kind: MessageKind::Commands, key: format!("s{shard:04}"), id, payload: raw.payload.to_vec() };
        ShardDelivery { message, count, raw }
    }
}

impl Delivery for ShardDelivery {
    fn message(&self) -> &BusMessage {
        &self.message
    }

    fn delivery_count(&self) -> u64 {
        self.count
    }

    async fn ack(self) -> Result<(), bus::BusError> {
        self.raw.ack().await.map_err(|e| bus::BusError::broker("acknowledging a command", e))
    }

    async fn nak(self, delay: Duration) -> Result<(), bus::BusError> {
        self.raw
            .ack_with(async_nats::jetstream::AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| bus::BusError::broker("nak'ing a command", e))
    }

    async fn term(self) -> Result<(), bus::BusError> {
        self.raw
            .ack_with(async_nats::jetstream::AckKind::Term)
            .await
            .map_err(|e| bus::BusError::broker("terminating a command", e))
    }
}

/// Handles one command delivery; true when it was acknowledged.
async fn handle_delivery(context: Arc<CommandContext>, delivery: impl Delivery) -> bool {
    let envelope: CommandEnvelope = match delivery.message().decode() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "a command message does not decode; dropped");
            if let Err(e) = delivery.term().await {
                tracing::warn!(error = %e, "terminating a command message");
            }
            return false;
        }
    };
    let owned = context.ownership.owns(&envelope.meter);
    tracing::debug!(command = %envelope.command_id, meter = %envelope.meter, owned, delivery = delivery.delivery_count(), "command delivered");
    if !owned {
        if let Err(e) = delivery.nak(NOT_OWNED_DELAY).await {
            tracing::debug!(error = %e, "handing a command back");
        }
        return false;
    }
    let fresh = context.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(envelope.command_id.clone());
    if !fresh {
        let _ = delivery.nak(IN_FLIGHT_DELAY).await;
        return false;
    }
    let result = context.process(&envelope).await;
    context.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&envelope.command_id);
    match result {
        Ok(handled) => {
            emit_line(&json!({
                "event": "command",
                "command_id": envelope.command_id,
                "meter": envelope.meter,
                "outcome": handled.as_str(),
                "delivery": delivery.delivery_count(),
            }));
            match delivery.ack().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, command = %envelope.command_id, "acknowledging a command");
                    false
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), command = %envelope.command_id, "command not handled; it will come back");
            let _ = delivery.nak(RETRY_DELAY).await;
            false
        }
    }
}

/// Records the `sent` state and tells the consumer to publish it.
struct BusProgress<'a> {
    store: &'a CommandStore,
    id: CommandId,
    sent: mpsc::UnboundedSender<()>,
}

impl CommandProgress for BusProgress<'_> {
    fn sent(&self) {
        if let Err(e) = self.store.transition(self.id, &CommandState::Sent, &serde_json::Value::Null) {
            tracing::error!(command = self.id, error = %e, "cannot record command state sent");
        }
        let _ = self.sent.send(());
    }

    fn note(&self, detail: &serde_json::Value) {
        if let Err(e) = self.store.note(self.id, detail) {
            tracing::error!(command = self.id, error = %e, "cannot record command progress");
        }
    }
}

impl CommandContext {
    /// Carries `envelope` out once (see the module docs).
    async fn process(&self, envelope: &CommandEnvelope) -> anyhow::Result<Handled> {
        let id = &envelope.command_id;
        match self.log.lookup(id)? {
            LoggedCommand::Recorded(store_id) => match self.service.store().get(store_id)? {
                Some(record) if record.state.is_final() => {
                    self.publish_record(envelope, &record).await?;
                    return Ok(Handled::Duplicate);
                }
                Some(_) => {
                    let reason = "interrupted: the HES stopped while carrying the command out; not repeated";
                    let record =
                        self.transition(store_id, &CommandState::Failed(reason.to_string()), &serde_json::Value::Null)?;
                    self.publish_record(envelope, &record).await?;
                    return Ok(Handled::Interrupted);
                }
                None => {}
            },
            LoggedCommand::Taken | LoggedCommand::Unknown => {}
        }
        let request: CommandRequest = match serde_json::from_value(envelope.request.clone()) {
            Ok(r) => r,
            Err(e) => {
                self.publish(envelope, CommandResultState::Failed, Some(format!("invalid request: {e}")), json!(null))
                    .await?;
                return Ok(Handled::Invalid);
            }
        };
        self.log.take(id, &envelope.meter)?;
        let store_id = self.service.enqueue(&envelope.meter, &envelope.issued_by, &request)?;
        self.log.attach(id, store_id)?;
        self.publish(envelope, CommandResultState::Queued, None, json!(null)).await?;
        let record = match self.endpoint(&envelope.meter).await {
            Ok(endpoint) => self.carry_out(envelope, store_id, &endpoint, &request).await?,
            Err(reason) => self.transition(store_id, &CommandState::Failed(reason), &serde_json::Value::Null)?,
        };
        self.publish_record(envelope, &record).await?;
        Ok(if record.state == CommandState::Confirmed { Handled::Confirmed } else { Handled::Failed })
    }

    /// The meter's endpoint from the registry (with its keys), or why there is none.
    async fn endpoint(&self, meter: &str) -> Result<MeterEndpoint, String> {
        let record = self
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(meter)
            .map_err(|e| format!("registry: {e}"))?
            .ok_or_else(|| format!("meter {meter} is not in the registry"))?
            .record;
        let keys = self.keys.clone();
        let title = self.hes_system_title;
        tokio::task::spawn_blocking(move || hes::key_store::endpoint_candidates(&record, keys.as_ref(), title))
            .await
            .map_err(|e| e.to_string())?
            .map(|c| c.active)
            .map_err(|e| e.to_string())
    }

    /// Carries out the queued command `store_id`, publishing `sent` when the association
    /// is open; returns the final record.
    async fn carry_out(
        &self,
        envelope: &CommandEnvelope,
        store_id: CommandId,
        endpoint: &MeterEndpoint,
        request: &CommandRequest,
    ) -> anyhow::Result<CommandRecord> {
        let store = self.service.store();
        let (sent_tx, mut sent_rx) = mpsc::unbounded_channel();
        let progress = BusProgress { store, id: store_id, sent: sent_tx };
        let running = hes::commands::run(endpoint, request, self.timeouts, &progress);
        tokio::pin!(running);
        let result = loop {
            tokio::select! {
                result = &mut running => break result,
                Some(()) = sent_rx.recv() => {
                    self.publish(envelope, CommandResultState::Sent, None, json!(null)).await?;
                }
            }
        };
        while sent_rx.try_recv().is_ok() {
            self.publish(envelope, CommandResultState::Sent, None, json!(null)).await?;
        }
        let record = match result {
            Ok(report) => self.transition(store_id, &CommandState::Confirmed, &report)?,
            Err(e) => {
                tracing::warn!(command = %envelope.command_id, meter = %envelope.meter, error = %e, "command failed");
                self.transition(store_id, &CommandState::Failed(e.to_string()), &serde_json::Value::Null)?
            }
        };
        Ok(record)
    }

    /// Moves command `id` to `state` (with `detail` for the audit log) and returns its
    /// record.
    fn transition(
        &self,
        id: CommandId,
        state: &CommandState,
        detail: &serde_json::Value,
    ) -> anyhow::Result<CommandRecord> {
        let store = self.service.store();
        store.transition(id, state, detail)?;
        store.get(id)?.with_context(|| format!("command {id} vanished from the command store"))
    }

    /// Publishes the state of `record` (final or not).
    async fn publish_record(&self, envelope: &CommandEnvelope, record: &CommandRecord) -> anyhow::Result<()> {
        let (state, reason) = match &record.state {
            CommandState::Queued => (CommandResultState::Queued, None),
            CommandState::Sent => (CommandResultState::Sent, None),
            CommandState::Confirmed => (CommandResultState::Confirmed, None),
            CommandState::Failed(reason) => (CommandResultState::Failed, Some(reason.clone())),
        };
        self.publish(envelope, state, reason, record.result.clone()).await
    }

    /// Publishes one state of `envelope`'s command, retrying a few times.
    async fn publish(
        &self,
        envelope: &CommandEnvelope,
        state: CommandResultState,
        reason: Option<String>,
        detail: serde_json::Value,
    ) -> anyhow::Result<()> {
        let result = CommandResultEnvelope {
            command_id: envelope.command_id.clone(),
            meter: envelope.meter.clone(),
            state,
            at: Timestamp::now(),
            reason,
            detail,
        };
        let message = result.to_message(self.shards)?;
        let publisher = &self.publisher;
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match publisher.publish(message.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= 5 => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "publishing a command result failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_command_log_remembers_taken_and_recorded_ids_across_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path: PathBuf = dir.path().join("commands.db");
        let log = BusCommandLog::open(&path).expect("open");
        assert_eq!(log.lookup("c-1").expect("lookup"), LoggedCommand::Unknown);
        log.take("c-1", "GE00000001").expect("take");
        assert_eq!(log.lookup("c-1").expect("lookup"), LoggedCommand::Taken);
        log.attach("c-1", 7).expect("attach");
        log.take("c-1", "GE00000001").expect("taking again keeps the store id");
        drop(log);
        let reopened = BusCommandLog::open(&path).expect("reopen");
        assert_eq!(reopened.lookup("c-1").expect("lookup"), LoggedCommand::Recorded(7));
        assert_eq!(reopened.lookup("c-2").expect("lookup"), LoggedCommand::Unknown);
    }

    #[test]
    fn ownership_follows_the_shard_of_the_serial() {
        let ownership = Ownership::new(8);
        assert!(!ownership.owns("GE00000001"));
        let shard = shard_of("GE00000001", 8);
        assert!(ownership.set([shard].into()));
        assert!(!ownership.set([shard].into()), "the same set is no change");
        assert_eq!(ownership.generation(), 1);
        assert!(ownership.owns("GE00000001"));
        let other = (0..100).map(|i| format!("GE{i:08}")).find(|s| shard_of(s, 8) != shard).expect("another shard");
        assert!(!ownership.owns(&other));
    }

    #[test]
    fn listener_addresses_can_be_turned_off() {
        assert_eq!(listener_address(""), None);
        assert_eq!(listener_address("0"), None);
        assert_eq!(listener_address(" 127.0.0.1:4059 "), Some("127.0.0.1:4059"));
    }
}
