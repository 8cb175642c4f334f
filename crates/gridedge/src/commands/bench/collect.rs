//! `gridedge bench collect`: one daily collection of a whole simulated fleet by the HES,
//! over real DLMS/COSEM sessions on loopback TCP, in one process.
//!
//! 1. The file-descriptor soft limit is raised to the hard limit (`RLIMIT_NOFILE`).
//! 2. A [`LazyFleet`] of `--meters` meters starts: meter `i` at its own loopback address
//!    (127.16.0.1 + i) on `--port`, serial `GE…`, seed `--seed + i`, and with suite 0 its
//!    own system title ("GRD" + 5 bytes of its serial number) and its own GUEK, GAK and
//!    master key, derived with HKDF-SHA-256 from a bench master secret and the system title
//!    ([`hes::key_store::derive_meter_keys`]). Meters are built from their seed when the
//!    HES connects and dropped when it leaves. `--listen per-meter` binds one socket per
//!    meter (one descriptor each), `shared` one wildcard socket that routes connections by
//!    their local address; `auto` takes `per-meter` when the descriptor limit allows it.
//! 3. The HES registry is built: one endpoint per meter with the keys the HES derives on
//!    its own from the same secret (HLS-GMAC, client SAP 1, authenticated encryption of
//!    every xDLMS APDU), or LLS / no security.
//! 4. The HES collects every meter once with [`hes::run_campaign`] (`--concurrency`
//!    sessions at once, retries with backoff): associate (AARQ/AARE with a
//!    glo-initiateRequest, HLS-GMAC passes 3 and 4), one GET with list (clock, serial,
//!    9 registers with their scaler_unit, the profile's capture objects and period), one
//!    GET of load profile 1 by range (`--days-history` × 96 rows), release. Readings go
//!    to a sink: counted and dropped (`--store none`), or stored in SQLite by the MDMS
//!    (`--store sqlite`, a thread taking up to 256 readings per transaction).
//!
//! Figures: sessions/s and readings/s over the collection's wall time (one reading = one
//! interval value of one channel, or one register value); the process's user and system
//! CPU over the collection (`/proc/self/stat`, the values `getrusage` returns); peak RSS
//! (`VmHWM`); the simulator's memory per meter, measured (resident set after the fleet
//! started minus before, over N) and accounted (the fleet's own per-meter structures).
//! Method and figures: docs/PERFORMANCE.md, "HES collection".

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use dlms::association::Authentication;
use dlms::security::{GlobalKeys, SecurityPolicy, SecuritySettings, SystemTitle};
use hes::key_store::{DEFAULT_HES_SYSTEM_TITLE, derive_meter_keys};
use hes::{CampaignConfig, CampaignReport, MeterEndpoint, Registry, SessionTimeouts, run_campaign};
use jiff::SignedDuration;
use mdms::{DEFAULT_SOURCE, MeterDataStore, SqliteStore};
use meter::MeterConfig;
use meter::fleet::lazy::{FleetSecurity, LazyFleet, LazyFleetConfig, ListenMode, MeterSecurityKeys};
use meter::tcp_server::MeterServerConfig;
use model::{MeterId, MeterReading};
use serde_json::{Value, json};

use super::resources::peak_rss_bytes;
use crate::commands::security_args::meter_system_title;

/// The master secret the bench derives every meter's keys from (HKDF-SHA-256 with the
/// meter's system title). A bench constant, not a key for real meters.
const BENCH_MASTER_SECRET: &[u8; 32] = b"gridedge bench collect secret 01";

/// The LLS password of `--security lls`.
const LLS_PASSWORD: &[u8] = b"00000000";

/// First loopback address of the fleet: meter `i` is at this address + i.
const FIRST_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 16, 0, 1);

/// Authentication and ciphering of the collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecurityArg {
    /// Public client (SAP 16), no authentication, no ciphering.
    None,
    /// Management client (SAP 1), low level security (password), no ciphering.
    Lls,
    /// Management client (SAP 1), HLS mechanism 5 (GMAC) and suite 0: every xDLMS APDU
    /// authenticated and encrypted with the meter's own keys.
    HlsGmac,
}

/// Where the collected readings go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// Counted and dropped: the figures are the collection's alone.
    None,
    /// The MDMS's SQLite store (WAL), with VEE, batched per transaction.
    Sqlite,
}

/// How the fleet listens (see [`ListenMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListenArg {
    /// `per-meter` when the descriptor limit allows one socket per meter, else `shared`.
    Auto,
    /// One listening socket per meter, on the meter's own address.
    PerMeter,
    /// One wildcard listening socket; connections routed by their local address.
    Shared,
}

/// Arguments of `gridedge bench collect`.
#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Meters in the simulated fleet.
    #[arg(long, default_value_t = 10_000)]
    pub meters: usize,
    /// HES sessions open at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Authentication and ciphering.
    #[arg(long, value_enum, default_value_t = SecurityArg::HlsGmac)]
    pub security: SecurityArg,
    /// Days of load profile read from each meter (96 intervals a day).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub days_history: u32,
    /// Where the readings go.
    #[arg(long, value_enum, default_value_t = StoreArg::None)]
    pub store: StoreArg,
    /// SQLite database for `--store sqlite` (must not exist; kept afterwards). Default: a
    /// temporary file, removed at the end.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// How the fleet listens.
    #[arg(long, value_enum, default_value_t = ListenArg::Auto)]
    pub listen: ListenArg,
    /// TCP port of every meter (0: chosen by the operating system).
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Seed of the first meter (meter i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Event loops: the fleet and the HES sessions are split into this many shards, each a
    /// single-threaded runtime on its own OS thread with its meters (listeners included)
    /// and the HES sessions to them, so a session never crosses threads. Default: one per
    /// CPU.
    #[arg(long)]
    pub shards: Option<usize>,
    /// One work-stealing runtime with `--shards` worker threads for the whole fleet and
    /// HES instead of one single-threaded runtime per shard (for comparison).
    #[arg(long)]
    pub work_stealing: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The file-descriptor limit before and after raising it.
#[derive(Debug, Clone, Copy)]
struct NofileLimit {
    soft_before: Option<u64>,
    soft: Option<u64>,
    hard: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (what `ulimit -n $(ulimit -Hn)` does).
fn raise_nofile_limit() -> NofileLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let before = getrlimit(Resource::Nofile);
    if before.current != before.maximum {
        let raised = Rlimit { current: before.maximum, maximum: before.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise RLIMIT_NOFILE");
        }
    }
    let after = getrlimit(Resource::Nofile);
    NofileLimit { soft_before: before.current, soft: after.current, hard: after.maximum }
}

/// Resident set size now, bytes (`VmRSS`).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time of this process so far, (user, system) seconds: fields 14 and 15 of
/// `/proc/self/stat` in clock ticks of 1/100 s (Linux's `USER_HZ`), all threads, the
/// values `getrusage(RUSAGE_SELF)` reports.
fn cpu_times() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime as f64 / 100.0, stime as f64 / 100.0))
}

fn mib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// The keys both sides derive for the meter with `serial`.
fn meter_keys(serial: &str) -> anyhow::Result<(SystemTitle, GlobalKeys, dlms::security::AesKey)> {
    let title = meter_system_title(serial);
    let keys = derive_meter_keys(BENCH_MASTER_SECRET, None, &title).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((title, keys.global_keys(), keys.master.to_aes()))
}

/// The fleet's per-meter suite 0 security for HLS-GMAC.
fn fleet_security() -> FleetSecurity {
    FleetSecurity {
        client_sap: dlms::wrapper::WPORT_CLIENT_MANAGEMENT,
        authentication: Authentication::HighGmac,
        policy: SecurityPolicy::default(),
        client_system_title: Some(DEFAULT_HES_SYSTEM_TITLE),
        keys: Arc::new(|_, serial: &str| {
            // The bench secret is 32 bytes, so the derivation cannot fail; should it ever,
            // an all-zero key makes the association fail visibly instead of a panic.
            match meter_keys(serial) {
                Ok((system_title, keys, master)) => MeterSecurityKeys { system_title, keys, master_key: Some(master) },
                Err(e) => {
                    tracing::error!(serial, error = %e, "cannot derive the meter's keys");
                    let zero = dlms::security::AesKey::new([0; 16]);
                    MeterSecurityKeys {
                        system_title: meter_system_title(serial),
                        keys: GlobalKeys::new(zero.clone(), zero),
                        master_key: None,
                    }
                }
            }
        }),
    }
}

/// The HES's endpoint of fleet meter `index`.
fn endpoint(fleet: &LazyFleet, index: usize, security: SecurityArg) -> anyhow::Result<MeterEndpoint> {
    let serial = fleet.serial(index);
    let (client_sap, authentication, settings) = match security {
        SecurityArg::None => (dlms::wrapper::WPORT_PUBLIC_CLIENT, Authentication::None, None),
        SecurityArg::Lls => {
            (dlms::wrapper::WPORT_CLIENT_MANAGEMENT, Authentication::Low { password: LLS_PASSWORD.to_vec() }, None)
        }
        SecurityArg::HlsGmac => {
            let (title, keys, _) = meter_keys(&serial)?;
            let settings = SecuritySettings::new(keys, DEFAULT_HES_SYSTEM_TITLE).with_peer_system_title(title);
            (dlms::wrapper::WPORT_CLIENT_MANAGEMENT, Authentication::HighGmac, Some(settings))
        }
    };
    Ok(MeterEndpoint {
        serial: MeterId(serial),
        address: fleet.address(index),
        client_sap,
        server_sap: dlms::wrapper::WPORT_MANAGEMENT_LOGICAL_DEVICE,
        authentication,
        link: hes::transport::LinkLayer::Wrapper,
        security: settings,
    })
}

/// What the readings sink saw.
#[derive(Debug, Default)]
struct SinkTotals {
    meter_readings: u64,
    interval_values: u64,
    register_values: u64,
    stored_interval_values: u64,
    stored_register_values: u64,
    store_errors: Vec<String>,
    /// From the first reading received to the last commit.
    store_busy: Duration,
}

/// Stores readings in SQLite on its own thread, up to 256 per transaction.
fn sqlite_sink(
    path: PathBuf,
    mut rx: tokio::sync::mpsc::Receiver<MeterReading>,
) -> anyhow::Result<std::thread::JoinHandle<SinkTotals>> {
    let mut store = SqliteStore::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(std::thread::Builder::new().name("mdms-ingest".into()).spawn(move || {
        let mut totals = SinkTotals::default();
        let mut first: Option<Instant> = None;
        let mut batch = Vec::with_capacity(256);
        while let Some(reading) = rx.blocking_recv() {
            first.get_or_insert_with(Instant::now);
            batch.push(reading);
            while batch.len() < 256 {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            for r in &batch {
                totals.meter_readings += 1;
                totals.interval_values += r.intervals.len() as u64;
                totals.register_values += r.registers.len() as u64;
            }
            match store.ingest_batch(&batch, DEFAULT_SOURCE) {
                Ok(outcomes) => {
                    for o in outcomes {
                        totals.stored_interval_values += o.ingest.intervals_new;
                        totals.stored_register_values += o.ingest.registers_new;
                    }
                }
                Err(e) => totals.store_errors.push(e.to_string()),
            }
            batch.clear();
        }
        totals.store_busy = first.map(|f| f.elapsed()).unwrap_or_default();
        totals
    })?)
}

/// One shard: its runtime, its part of the fleet and the HES registry of those meters.
struct Shard {
    rt: tokio::runtime::Runtime,
    fleet: LazyFleet,
    registry: Registry,
    concurrency: usize,
}

/// What one shard's collection gave.
struct ShardOutcome {
    report: CampaignReport,
    totals: SinkTotals,
    /// CPU time of the shard's thread during the collection, s.
    thread_cpu_s: Option<f64>,
    fleet_stats: meter::fleet::lazy::LazyFleetStats,
}

/// Runs one shard's collection on the calling thread: the HES campaign over the shard's
/// registry, the readings to `sink` or counted on the shard, the fleet left idle.
fn collect_shard(
    shard: &Shard,
    config: &CampaignConfig,
    sink: Option<tokio::sync::mpsc::Sender<MeterReading>>,
) -> anyhow::Result<ShardOutcome> {
    let cpu_before = super::resources::thread_cpu_ns();
    let (report, totals) = shard.rt.block_on(async {
        let config = CampaignConfig { concurrency: shard.concurrency, ..config.clone() };
        let (report, totals) = match sink {
            Some(tx) => (run_campaign(&shard.registry, &HashMap::new(), &config, tx, |_, _| {}).await, None),
            None => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<MeterReading>(256);
                let counter = tokio::spawn(async move {
                    let mut totals = SinkTotals::default();
                    while let Some(r) = rx.recv().await {
                        totals.meter_readings += 1;
                        totals.interval_values += r.intervals.len() as u64;
                        totals.register_values += r.registers.len() as u64;
                    }
                    totals
                });
                let report = run_campaign(&shard.registry, &HashMap::new(), &config, tx, |_, _| {}).await;
                (report, counter.await.ok())
            }
        };
        // The HES has released every association; let the meters see their connections close.
        shard.fleet.idle(Duration::from_secs(10)).await;
        (report, totals)
    });
    let cpu_after = super::resources::thread_cpu_ns();
    Ok(ShardOutcome {
        report,
        totals: totals.unwrap_or_default(),
        thread_cpu_s: cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a) as f64 / 1e9),
        fleet_stats: shard.fleet.stats(),
    })
}

/// Adds a shard's campaign report to the total.
fn merge(total: &mut CampaignReport, r: CampaignReport) {
    total.meters_total += r.meters_total;
    total.meters_ok += r.meters_ok;
    total.failures.extend(r.failures);
    total.interval_values += r.interval_values;
    total.intervals += r.intervals;
    total.registers += r.registers;
    total.retries += r.retries;
    total.max_abs_drift_ms = total.max_abs_drift_ms.max(r.max_abs_drift_ms);
}

/// Runs `gridedge bench collect`.
pub fn run(args: CollectArgs) -> anyhow::Result<ExitCode> {
    if args.meters == 0 {
        bail!("--meters must be at least 1");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.shards.unwrap_or(cpus).max(1);
    let shard_count = if args.work_stealing { 1 } else { threads.min(args.meters) };
    let nofile = raise_nofile_limit();
    // One descriptor per listening meter, two per open session (both ends), and room for
    // the runtimes, the store and stdio.
    let needed_per_meter = args.meters as u64 + 2 * args.concurrency as u64 + 256;
    let listen = match args.listen {
        ListenArg::PerMeter => ListenMode::PerMeter,
        ListenArg::Shared => ListenMode::Shared,
        ListenArg::Auto if nofile.soft.is_none_or(|s| s >= needed_per_meter) => ListenMode::PerMeter,
        ListenArg::Auto => ListenMode::Shared,
    };
    if listen == ListenMode::Shared && nofile.soft.is_some_and(|s| s < 2 * args.concurrency as u64 + 256) {
        bail!(
            "the descriptor limit {:?} is too low for {} sessions: lower --concurrency",
            nofile.soft,
            args.concurrency
        );
    }
    let db = match (args.store, &args.db) {
        (StoreArg::None, _) => None,
        (StoreArg::Sqlite, Some(p)) => {
            if p.exists() {
                bail!("{} exists; give a new file", p.display());
            }
            Some((p.clone(), None))
        }
        (StoreArg::Sqlite, None) => {
            let dir = TempDir::new()?;
            Some((dir.0.join("bench-collect.db"), Some(dir)))
        }
    };

    // The fleet, shard by shard: meters [k·N/S, (k+1)·N/S) on shard k.
    let rss_before_fleet = rss_bytes();
    let started = Instant::now();
    let server = match args.security {
        SecurityArg::HlsGmac => MeterServerConfig::default(),
        SecurityArg::None | SecurityArg::Lls => MeterServerConfig::with_password(LLS_PASSWORD),
    };
    let mut shards = Vec::with_capacity(shard_count);
    let mut port = args.port;
    for k in 0..shard_count {
        let (first, end) = (k * args.meters / shard_count, (k + 1) * args.meters / shard_count);
        let rt = if args.work_stealing {
            tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
        } else {
            tokio::runtime::Builder::new_current_thread().enable_all().build()?
        };
        let first_address = Ipv4Addr::from(u32::from(FIRST_ADDRESS).saturating_add(first as u32));
        let shard_port = match listen {
            // Every meter on the same port: the one the first shard was given.
            ListenMode::PerMeter => port,
            // One wildcard listener per shard, each on its own port.
            ListenMode::Shared if args.port == 0 => 0,
            ListenMode::Shared => args.port.checked_add(k as u16).context("--port too high for the shards")?,
        };
        let fleet_config = LazyFleetConfig {
            count: end - first,
            first_index: first,
            first_address,
            port: shard_port,
            listen,
            base_seed: args.seed,
            meter: MeterConfig::default(),
            server: server.clone(),
            security: (args.security == SecurityArg::HlsGmac).then(fleet_security),
        };
        let fleet = rt.block_on(LazyFleet::start(fleet_config)).context("starting the meter fleet")?;
        if listen == ListenMode::PerMeter {
            port = fleet.port();
        }
        let concurrency = args.concurrency.div_ceil(shard_count);
        shards.push(Shard { rt, fleet, registry: Registry::new(), concurrency });
    }
    let fleet_start = started.elapsed();
    let rss_after_fleet = rss_bytes();

    let registry_started = Instant::now();
    for shard in &mut shards {
        for index in 0..shard.fleet.len() {
            shard.registry.upsert(endpoint(&shard.fleet, index, args.security)?);
        }
    }
    let registry_build = registry_started.elapsed();
    let rss_after_registry = rss_bytes();

    let (store_tx, store_thread) = match &db {
        Some((path, _)) => {
            let (tx, rx) = tokio::sync::mpsc::channel::<MeterReading>(1024);
            (Some(tx), Some(sqlite_sink(path.clone(), rx)?))
        }
        None => (None, None),
    };
    let config = CampaignConfig {
        concurrency: args.concurrency,
        history: SignedDuration::from_hours(24 * i64::from(args.days_history)),
        timeouts: SessionTimeouts { connect: Duration::from_secs(10), response: Duration::from_secs(30) },
        ..CampaignConfig::default()
    };
    let cpu_before = cpu_times();
    let collect_started = Instant::now();
    let outcomes: Vec<anyhow::Result<ShardOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .iter()
            .enumerate()
            .map(|(k, shard)| {
                let sink = store_tx.clone();
                let config = &config;
                std::thread::Builder::new()
                    .name(format!("collect-shard-{k}"))
                    .spawn_scoped(scope, move || collect_shard(shard, config, sink))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a shard thread panicked"))),
                Err(e) => Err(anyhow::anyhow!("cannot start a shard thread: {e}")),
            })
            .collect()
    });
    let collection_wall = collect_started.elapsed();
    let cpu_after = cpu_times();
    drop(store_tx);
    let mut report = CampaignReport::default();
    let mut sink_totals = SinkTotals::default();
    let mut shard_cpu = Vec::new();
    let mut fleet_stats = meter::fleet::lazy::LazyFleetStats::default();
    for outcome in outcomes {
        let o = outcome?;
        merge(&mut report, o.report);
        sink_totals.meter_readings += o.totals.meter_readings;
        sink_totals.interval_values += o.totals.interval_values;
        sink_totals.register_values += o.totals.register_values;
        shard_cpu.push(o.thread_cpu_s);
        fleet_stats.connections += o.fleet_stats.connections;
        fleet_stats.materialisations += o.fleet_stats.materialisations;
        fleet_stats.refused += o.fleet_stats.refused;
        fleet_stats.open_connections += o.fleet_stats.open_connections;
        fleet_stats.materialised += o.fleet_stats.materialised;
    }
    if let Some(t) = store_thread {
        sink_totals = t.join().map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
    }
    let end_to_end = collect_started.elapsed();
    let cpu_end = cpu_times();
    let accounted_per_meter = shards.first().map_or(0, |s| s.fleet.accounted_bytes_per_meter());
    let port = shards.first().map_or(0, |s| s.fleet.port());
    for shard in shards {
        shard.rt.block_on(shard.fleet.shutdown());
    }
    let store_summary = match &db {
        Some((path, _)) => Some(SqliteStore::open(path)?.summary()?),
        None => None,
    };

    let secs = collection_wall.as_secs_f64().max(1e-9);
    let readings = report.interval_values + report.registers;
    let (cpu_user, cpu_sys) = match (cpu_before, cpu_after) {
        (Some((u0, s0)), Some((u1, s1))) => (Some(u1 - u0), Some(s1 - s0)),
        _ => (None, None),
    };
    let cpu_total = cpu_user.zip(cpu_sys).map(|(u, s)| u + s);
    let fleet_rss_per_meter = rss_before_fleet
        .zip(rss_after_fleet)
        .map(|(before, after)| after.saturating_sub(before) as f64 / args.meters as f64);
    let failures = report.failures.len() + sink_totals.store_errors.len();
    let mut out = json!({
        "meters": args.meters,
        "concurrency": args.concurrency,
        "security": match args.security {
            SecurityArg::None => "none",
            SecurityArg::Lls => "lls",
            SecurityArg::HlsGmac => "hls-gmac",
        },
        "days_history": args.days_history,
        "runtime": if args.work_stealing { "work-stealing" } else { "shards" },
        "shards": shard_count,
        "threads": threads,
        "listen": match listen { ListenMode::PerMeter => "per-meter", ListenMode::Shared => "shared" },
        "port": port,
        "nofile_soft_before": nofile.soft_before,
        "nofile_soft": nofile.soft,
        "nofile_hard": nofile.hard,
        "fleet_start_s": fleet_start.as_secs_f64(),
        "registry_build_s": registry_build.as_secs_f64(),
    });
    let figures = json!({
        "sessions_ok": report.meters_ok,
        "sessions_failed": report.failures.len(),
        "retries": report.retries,
        "intervals": report.intervals,
        "interval_values": report.interval_values,
        "register_values": report.registers,
        "readings": readings,
        "collection_wall_s": secs,
        "sessions_per_s": report.meters_ok as f64 / secs,
        "readings_per_s": readings as f64 / secs,
        "cpu_user_s": cpu_user,
        "cpu_sys_s": cpu_sys,
        "cpu_per_session_us": cpu_total.map(|c| c * 1e6 / report.meters_ok.max(1) as f64),
        "cpu_utilisation": cpu_total.map(|c| c / secs),
        "shard_thread_cpu_s": shard_cpu,
        "peak_rss_mib": mib(peak_rss_bytes()),
        "rss_before_fleet_mib": mib(rss_before_fleet),
        "rss_after_fleet_mib": mib(rss_after_fleet),
        "rss_after_registry_mib": mib(rss_after_registry),
        "fleet_rss_bytes_per_meter": fleet_rss_per_meter,
        "fleet_accounted_bytes_per_meter": accounted_per_meter,
        "materialised_meter_struct_bytes": LazyFleet::materialised_struct_bytes(),
        "fleet_connections": fleet_stats.connections,
        "fleet_materialisations": fleet_stats.materialisations,
        "fleet_materialised_after": fleet_stats.materialised,
        "fleet_open_connections_after": fleet_stats.open_connections,
        "sink_meter_readings": sink_totals.meter_readings,
        "sink_interval_values": sink_totals.interval_values,
        "sink_register_values": sink_totals.register_values,
        "max_abs_clock_drift_ms": report.max_abs_drift_ms,
    });
    if let (Some(obj), Value::Object(figures)) = (out.as_object_mut(), figures) {
        obj.extend(figures);
    }
    if let (Some(summary), Some(obj)) = (&store_summary, out.as_object_mut()) {
        let end_secs = end_to_end.as_secs_f64().max(1e-9);
        let stored = sink_totals.stored_interval_values + sink_totals.stored_register_values;
        let store = json!({
            "stored_interval_values": sink_totals.stored_interval_values,
            "stored_register_values": sink_totals.stored_register_values,
            "database_interval_rows": summary.interval_rows,
            "database_register_rows": summary.register_rows,
            "store_errors": sink_totals.store_errors.len(),
            "end_to_end_wall_s": end_secs,
            "end_to_end_readings_per_s": stored as f64 / end_secs,
            "store_busy_s": sink_totals.store_busy.as_secs_f64(),
            "cpu_s_end_to_end": cpu_before.zip(cpu_end).map(|((u0, s0), (u1, s1))| u1 - u0 + s1 - s0),
        });
        obj.insert("store".into(), store);
    }
    if args.json {
        super::super::emit(&serde_json::to_string_pretty(&out)?)?;
    } else {
        print_text(&out);
    }
    for f in report.failures.iter().take(10) {
        eprintln!("failed: {} after {} attempt(s): {}", f.meter, f.attempts, f.error);
    }
    for e in sink_totals.store_errors.iter().take(10) {
        eprintln!("store failed: {e}");
    }
    drop(db);
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn print_text(out: &Value) {
    let text = |key: &str| out.get(key).map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_default();
    println!(
        "gridedge bench collect: {} meters, {} security, {} sessions at once, {} {} runtime(s) on {} threads, listen {} (port {})",
        text("meters"),
        text("security"),
        text("concurrency"),
        text("shards"),
        text("runtime"),
        text("threads"),
        text("listen"),
        text("port")
    );
    println!(
        "  descriptors      soft limit {} -> {} (hard {})",
        text("nofile_soft_before"),
        text("nofile_soft"),
        text("nofile_hard")
    );
    println!(
        "  set-up           fleet {:.2} s, HES registry {:.2} s",
        num(out, "fleet_start_s"),
        num(out, "registry_build_s")
    );
    println!(
        "  sessions         {} ok, {} failed, {} retries",
        text("sessions_ok"),
        text("sessions_failed"),
        text("retries")
    );
    println!(
        "  readings         {} ({} interval values, {} register values)",
        text("readings"),
        text("interval_values"),
        text("register_values")
    );
    println!(
        "  collection       {:.2} s: {:.0} sessions/s, {:.0} readings/s",
        num(out, "collection_wall_s"),
        num(out, "sessions_per_s"),
        num(out, "readings_per_s")
    );
    println!(
        "  CPU              user {:.2} s + sys {:.2} s = {:.0} µs per session ({:.2} cores busy)",
        num(out, "cpu_user_s"),
        num(out, "cpu_sys_s"),
        num(out, "cpu_per_session_us"),
        num(out, "cpu_utilisation")
    );
    println!(
        "  memory           peak RSS {:.1} MiB; fleet {:.0} B/meter measured, {} B/meter accounted; {} B per materialised meter struct",
        num(out, "peak_rss_mib"),
        num(out, "fleet_rss_bytes_per_meter"),
        text("fleet_accounted_bytes_per_meter"),
        text("materialised_meter_struct_bytes")
    );
    println!(
        "  fleet            {} connections, {} meters built from their seed, {} kept after",
        text("fleet_connections"),
        text("fleet_materialisations"),
        text("fleet_materialised_after")
    );
    if let Some(store) = out.get("store") {
        println!(
            "  MDMS (SQLite)    {} interval + {} register values stored; end to end {:.2} s, {:.0} readings/s",
            store.get("stored_interval_values").map(Value::to_string).unwrap_or_default(),
            store.get("stored_register_values").map(Value::to_string).unwrap_or_default(),
            num(store, "end_to_end_wall_s"),
            num(store, "end_to_end_readings_per_s")
        );
    }
}

/// A private temporary directory for the default database, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("gridedge-bench-collect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
