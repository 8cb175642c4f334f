//! `gridedge bench ingest`: MDMS ingest with VEE at fleet volume, end to end.
//!
//! A producer thread (the HES side) generates a simulated fleet's daily collections
//! ([`fleet`]: the `meter` crate's household load model, 96 intervals × up to 4 bulk
//! energy channels, status byte and daily register reads per meter and day) and publishes
//! them on the bus ([`pipeline`], `--bus inproc`: a bounded channel, so a slow store slows
//! the producer down; `--bus nats`: one JSON `Readings` message per MeterReading on NATS
//! JetStream, each publish acknowledgement awaited, at most 512 unconfirmed). The ingest
//! task takes what the bus has queued (JetStream: a pull of a durable consumer), up to
//! `--batch-meters` MeterReadings, stores it (`--store sqlite`, or `--store postgres`: a
//! fresh schema in the `--postgres` database) with
//! [`MeterDataStore::ingest_batch`](mdms::MeterDataStore::ingest_batch) (one transaction,
//! VEE inside it), acknowledges, and repeats. `--writers N` (PostgreSQL) runs N ingest
//! tasks on threads of their own, each with its own store connection, taking batches from
//! the same bus (JetStream: the same durable consumer, as MDMS replicas share it; each task
//! acknowledges after its own commit); two batches holding the same meter are serialised by
//! the store's per-meter lock. Two passes over the same data:
//!
//! 1. first ingest into a fresh store: every value is new and validated;
//! 2. replay (`--replay`, on by default): the same readings again, every value a
//!    duplicate, nothing written.
//!
//! One *reading* is one interval value of one channel (a `MeterReading` of one meter-day
//! with 4 channels holds 384 readings); register reads are counted apart. Readings/s is
//! readings ingested divided by the wall-clock time from the producer's start (its first
//! publish) to the last commit (and its acknowledgement). CPU time is the process's (user +
//! system, all threads; at most 2 s per second on 2 cores) and the ingest threads' own
//! (summed over the writers). Bytes per stored value divide the store's size
//! on disk after a checkpoint (database file + write-ahead log) by the stored rows
//! (interval and register values). Peak memory is the process's peak RSS (`VmHWM`).
//! Method and figures: docs/PERFORMANCE.md.

mod fleet;
mod pipeline;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use mdms::vee::VeeConfig;
use mdms::{DEFAULT_SOURCE, IngestOutcome, MeterDataStore, StoreSummary};
use serde_json::{Value, json};

use self::fleet::{Fleet, FleetShape};
use self::pipeline::{
    BenchStore, BusConsumer, BusKind, BusPublisher, BusTarget, Footprint, StoreKind, StoreTarget, open_bus, open_store,
};
use super::resources::{peak_rss_bytes, process_cpu_seconds, thread_cpu_ns};

/// Validation on ingest: `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// Arguments of `gridedge bench ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Meters in the simulated fleet (serials GE00000001, ...). The default volume, 2,000
    /// meters × 14 days × 4 channels × 96 intervals, is 10,752,000 readings.
    #[arg(long, default_value_t = 2_000)]
    pub meters: usize,
    /// Days of load profile per meter (one MeterReading per meter and day).
    #[arg(long, default_value_t = 14)]
    pub days: usize,
    /// Channels per meter: 1 to 4 of +A, −A, +R, −R (bulk registers, Wh / varh).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub channels: u8,
    /// First day (UTC midnight), YYYY-MM-DD. The default range crosses the UK change to
    /// summer time (2025-03-30).
    #[arg(long, default_value = "2025-03-17")]
    pub start: jiff::civil::Date,
    /// Validation (VEE, the standard rules in Europe/London local days) on ingest.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub vee: Switch,
    /// Database file to create (must not exist; kept afterwards). Default: a temporary
    /// file, removed at the end.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// At most this many MeterReadings per store transaction (the ingest task takes what
    /// the bus has queued, up to this many).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_meters: u32,
    /// Ingest tasks (threads), each with its own store connection, sharing the bus
    /// (`--bus nats`: the same durable consumer). Above 1 needs `--store postgres`
    /// (SQLite takes one writer at a time).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub writers: u32,
    /// The store under test.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// The bus between the producer and the ingest task.
    #[arg(long, value_enum, default_value_t = BusKind::Inproc)]
    pub bus: BusKind,
    /// PostgreSQL connection string (libpq key=value) for `--store postgres`; the run
    /// creates a fresh schema `gridedge_bench_<pid>_<n>` in that database and drops it at
    /// the end (unless `--keep`).
    #[arg(long, value_name = "CONNINFO", default_value = "host=127.0.0.1 user=postgres")]
    pub postgres: String,
    /// Keep the PostgreSQL schema after the run (its name is printed on stderr).
    #[arg(long)]
    pub keep: bool,
    /// NATS server for `--bus nats` (JetStream enabled). Each pass uses fresh streams
    /// `GRIDEDGE_BENCH_<pid>_<pass>_*`, deleted at the end of the pass.
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Replay the same data after the first ingest (every value a duplicate).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub replay: Switch,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `gridedge bench ingest`.
pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    if args.meters == 0 || args.days == 0 {
        bail!("--meters and --days must be at least 1");
    }
    let first_day = args.start.to_zoned(jiff::tz::TimeZone::UTC).context("--start")?.timestamp();
    let shape = FleetShape {
        meters: args.meters,
        days: args.days,
        channels: usize::from(args.channels),
        first_day_s: first_day.as_second(),
    };
    let batch = args.batch_meters as usize;
    let writers = args.writers as usize;
    let vee = vee_config(args.vee == Switch::On);

    let (db, _temp) = match &args.db {
        Some(path) => {
            if path.exists() {
                bail!("{} exists: the benchmark needs a fresh store (remove it or pick another --db)", path.display());
            }
            (path.clone(), None)
        }
        None => {
            let dir = TempDir::new()?;
            (dir.0.join("bench-ingest.sqlite"), Some(dir))
        }
    };
    let target = StoreTarget { sqlite: &db, postgres: &args.postgres, keep: args.keep };
    let mut store = open_store(args.store, &target, &vee, writers)?;

    let setup = Instant::now();
    let fleet = Fleet::new(shape)?;
    let setup_s = setup.elapsed().as_secs_f64();

    let bus = |pass: usize| BusTarget { nats_url: &args.nats_url, pass, expected: shape.meter_readings() };
    let first = run_phase("first ingest", &fleet, store.as_mut(), args.bus, &bus(0), batch)?;
    let after_first = store.footprint()?;
    let summary = store.store().summary()?;
    let replay = match args.replay {
        Switch::On => Some(run_phase("replay", &fleet, store.as_mut(), args.bus, &bus(1), batch)?),
        Switch::Off => None,
    };
    let after_replay = match &replay {
        Some(_) => Some(store.footprint()?),
        None => None,
    };
    let report = Report {
        args: &args,
        shape,
        setup_s,
        store: store.describe(),
        phases: std::iter::once(first).chain(replay).collect(),
        summary,
        after_first,
        after_replay,
        peak_rss: peak_rss_bytes(),
    };
    drop(store);
    if args.json {
        super::super::emit(&serde_json::to_string_pretty(&report.to_json())?)?;
    } else {
        super::super::emit(&report.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The VEE configuration of the run: the standard rules on Europe/London local days (the
/// fleet's zone), automatic estimation off (the default), validation on or off.
fn vee_config(enabled: bool) -> VeeConfig {
    let mut config = VeeConfig { enabled, ..VeeConfig::default() };
    for class in config.classes.values_mut() {
        class.time_zone = "Europe/London".into();
    }
    config
}

/// What one pass measured.
#[derive(Debug, Clone)]
struct Phase {
    name: &'static str,
    wall_s: f64,
    /// Process CPU time (all threads), seconds.
    process_cpu_s: Option<f64>,
    /// CPU time of the ingest threads (summed over the writers), seconds.
    ingest_cpu_s: Option<f64>,
    /// CPU time of the producer thread, seconds.
    producer_cpu_s: Option<f64>,
    meter_readings: u64,
    batches: u64,
    outcome: IngestOutcome,
    /// What each writer (ingest task) did, in the order of their connections.
    writers: Vec<WriterShare>,
}

/// One writer's share of a pass.
#[derive(Debug, Clone)]
struct WriterShare {
    meter_readings: u64,
    batches: u64,
    intervals_new: u64,
    intervals_duplicate: u64,
    cpu_s: Option<f64>,
}

impl Phase {
    /// Interval values the store classified (new, duplicate or revised).
    fn readings(&self) -> u64 {
        let i = &self.outcome.ingest;
        i.intervals_new + i.intervals_duplicate + i.intervals_revised
    }

    fn registers(&self) -> u64 {
        let i = &self.outcome.ingest;
        i.registers_new + i.registers_duplicate + i.registers_revised
    }

    fn readings_per_s(&self) -> f64 {
        self.readings() as f64 / self.wall_s
    }

    /// Readings per second of the ingest threads' own CPU time (summed): what one core would
    /// ingest with the machine to itself (steadier than the wall-clock rate on a busy machine).
    fn readings_per_ingest_cpu_s(&self) -> Option<f64> {
        self.ingest_cpu_s.filter(|&c| c > 0.0).map(|c| self.readings() as f64 / c)
    }

    fn cpu_percent(&self) -> Option<f64> {
        self.process_cpu_s.map(|c| 100.0 * c / self.wall_s)
    }

    fn to_json(&self) -> Value {
        let v = &self.outcome.validation;
        json!({
            "phase": self.name,
            "wall_s": self.wall_s,
            "readings": self.readings(),
            "readings_per_s": self.readings_per_s(),
            "register_reads": self.registers(),
            "meter_readings": self.meter_readings,
            "meter_readings_per_s": self.meter_readings as f64 / self.wall_s,
            "transactions": self.batches,
            "process_cpu_s": self.process_cpu_s,
            "cpu_percent": self.cpu_percent(),
            "ingest_thread_cpu_s": self.ingest_cpu_s,
            "readings_per_ingest_cpu_s": self.readings_per_ingest_cpu_s(),
            "producer_thread_cpu_s": self.producer_cpu_s,
            "writers": self.writers.iter().map(|w| json!({
                "meter_readings": w.meter_readings,
                "transactions": w.batches,
                "intervals_new": w.intervals_new,
                "intervals_duplicate": w.intervals_duplicate,
                "ingest_thread_cpu_s": w.cpu_s,
            })).collect::<Vec<_>>(),
            "ingest": self.outcome.ingest,
            "validation": {
                "channels": v.channels,
                "findings_new": v.findings_new,
                "findings_reported": v.findings_reported,
                "findings_cleared": v.findings_cleared,
                "findings_superseded": v.findings_superseded,
                "intervals_estimated": v.intervals_estimated,
            },
        })
    }
}

/// One pass: the producer thread publishes every reading of the fleet, one ingest thread
/// per writer connection ingests.
fn run_phase(
    name: &'static str,
    fleet: &Fleet,
    store: &mut dyn BenchStore,
    bus: BusKind,
    bus_target: &BusTarget<'_>,
    batch: usize,
) -> anyhow::Result<Phase> {
    let writers = store.writers();
    let (publisher, consumers) = open_bus(bus, batch.saturating_mul(2).max(64), bus_target, writers.len())?;
    let abort = AtomicBool::new(false);
    let cpu_start = process_cpu_seconds();
    let start = Instant::now();
    let (ingested, produced) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(fleet, publisher));
        // Each ingest task owns its consumer: on an error it is dropped (and the others
        // stop at their next batch), which unblocks a producer waiting on a full bus.
        let abort = &abort;
        let tasks: Vec<_> = consumers
            .into_iter()
            .zip(writers)
            .map(|(consumer, writer)| {
                scope.spawn(move || {
                    let ingested = consume(consumer, writer, batch, abort);
                    if ingested.is_err() {
                        abort.store(true, Ordering::Release);
                    }
                    ingested
                })
            })
            .collect();
        let mut ingested = Vec::with_capacity(tasks.len());
        for task in tasks {
            ingested.push(task.join().map_err(|_| anyhow::anyhow!("an ingest thread panicked"))?);
        }
        let produced = producer.join().map_err(|_| anyhow::anyhow!("the producer thread panicked"))?;
        anyhow::Ok((ingested, produced))
    })?;
    let end = Instant::now();
    let process_cpu_s = cpu_start.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    // The first real failure, rather than the "another task failed" of the tasks it stopped.
    let (mut failed, mut stopped, mut tasks) = (None, None, Vec::with_capacity(ingested.len()));
    for result in ingested {
        match result {
            Ok(i) => tasks.push(i),
            Err(e) if e.to_string() == pipeline::ABORTED => {
                stopped.get_or_insert(e);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed.or(stopped) {
        return Err(e);
    }
    let ingested = tasks;
    // To the last acknowledged commit: a task that found the bus drained may still be
    // waiting out a pull (JetStream: up to 0.5 s) after the last commit of another one.
    let last_commit = ingested.iter().filter_map(|i| i.last_commit).max().unwrap_or(end);
    let wall_s = last_commit.duration_since(start).as_secs_f64();
    let producer_cpu_s = produced?;
    let outcomes: Vec<IngestOutcome> = ingested.iter().map(|i| i.outcome.clone()).collect();
    let ingest_cpu_s = ingested.iter().map(|i| i.cpu_s).sum::<Option<f64>>();
    Ok(Phase {
        name,
        wall_s,
        process_cpu_s,
        ingest_cpu_s,
        producer_cpu_s,
        meter_readings: ingested.iter().map(|i| i.meter_readings).sum(),
        batches: ingested.iter().map(|i| i.batches).sum(),
        outcome: pipeline::sum_outcomes(&outcomes),
        writers: ingested
            .iter()
            .map(|i| WriterShare {
                meter_readings: i.meter_readings,
                batches: i.batches,
                intervals_new: i.outcome.ingest.intervals_new,
                intervals_duplicate: i.outcome.ingest.intervals_duplicate,
                cpu_s: i.cpu_s,
            })
            .collect(),
    })
}

/// Publishes every reading of one pass; returns the thread's CPU time, seconds.
fn produce(fleet: &Fleet, mut publisher: Box<dyn BusPublisher>) -> anyhow::Result<Option<f64>> {
    let cpu = thread_cpu_ns();
    for reading in fleet.readings() {
        publisher.publish(reading?)?;
    }
    publisher.finish()?;
    Ok(cpu.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a) as f64 * 1e-9))
}

struct Ingested {
    meter_readings: u64,
    batches: u64,
    outcome: IngestOutcome,
    cpu_s: Option<f64>,
    /// When the task's last batch was committed and acknowledged.
    last_commit: Option<Instant>,
}

/// One ingest task: batches from the bus into its store connection until the bus is
/// drained (or `abort` is raised by another task's failure).
fn consume(
    mut consumer: Box<dyn BusConsumer>,
    store: &mut (dyn MeterDataStore + Send),
    batch: usize,
    abort: &AtomicBool,
) -> anyhow::Result<Ingested> {
    let cpu = thread_cpu_ns();
    let mut totals = Vec::with_capacity(1);
    let (mut meter_readings, mut batches, mut last_commit) = (0u64, 0u64, None);
    while let Some(readings) = consumer.next_batch(batch, abort)? {
        let outcomes = store.ingest_batch(&readings, DEFAULT_SOURCE).context("ingesting a batch")?;
        consumer.ack()?;
        last_commit = Some(Instant::now());
        meter_readings += readings.len() as u64;
        batches += 1;
        totals.push(pipeline::sum_outcomes(&outcomes));
        if totals.len() >= 64 {
            let sum = pipeline::sum_outcomes(&totals);
            totals.clear();
            totals.push(sum);
        }
    }
    Ok(Ingested {
        meter_readings,
        batches,
        outcome: pipeline::sum_outcomes(&totals),
        cpu_s: cpu.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a) as f64 * 1e-9),
        last_commit,
    })
}

struct Report<'a> {
    args: &'a IngestArgs,
    shape: FleetShape,
    setup_s: f64,
    store: Value,
    phases: Vec<Phase>,
    summary: StoreSummary,
    after_first: Footprint,
    after_replay: Option<Footprint>,
    peak_rss: Option<u64>,
}

impl Report<'_> {
    fn stored_values(&self) -> u64 {
        self.summary.interval_rows + self.summary.register_rows
    }

    fn bytes_per_value(&self) -> f64 {
        self.after_first.bytes as f64 / self.stored_values().max(1) as f64
    }

    fn to_json(&self) -> Value {
        json!({
            "benchmark": "ingest",
            "reading": "one interval value of one channel",
            "machine": {
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
                "debug_build": cfg!(debug_assertions),
            },
            "config": {
                "meters": self.shape.meters,
                "days": self.shape.days,
                "channels": self.shape.channels,
                "start": self.args.start.to_string(),
                "vee": self.args.vee == Switch::On,
                "batch_meters": self.args.batch_meters,
                "writers": self.args.writers,
                "store": self.args.store.name(),
                "bus": self.args.bus.name(),
            },
            "data_set": {
                "meter_readings": self.shape.meter_readings(),
                "readings": self.shape.interval_values(),
                "register_reads": self.shape.register_values(),
            },
            "fleet_setup_s": self.setup_s,
            "store": self.store,
            "phases": self.phases.iter().map(Phase::to_json).collect::<Vec<_>>(),
            "stored": self.summary,
            "disk": {
                "after_first_ingest": { "bytes": self.after_first.bytes, "detail": self.after_first.detail },
                "after_replay": self.after_replay.as_ref().map(|f| json!({ "bytes": f.bytes, "detail": f.detail })),
                "stored_values": self.stored_values(),
                "bytes_per_stored_value": self.bytes_per_value(),
            },
            "peak_rss_bytes": self.peak_rss,
        })
    }

    fn to_text(&self) -> String {
        let mut s = String::new();
        if cfg!(debug_assertions) {
            let _ = writeln!(s, "note: debug build; use `cargo build --release` for meaningful figures\n");
        }
        let _ = writeln!(
            s,
            "{} meters × {} days × {} channels × 96 intervals = {} readings (interval values), {} register reads, \
             {} MeterReadings; VEE {}, ≤ {} MeterReadings per transaction, store {} ({} writer{}), bus {}",
            self.shape.meters,
            self.shape.days,
            self.shape.channels,
            self.shape.interval_values(),
            self.shape.register_values(),
            self.shape.meter_readings(),
            if self.args.vee == Switch::On { "on" } else { "off" },
            self.args.batch_meters,
            self.args.store.name(),
            self.args.writers,
            if self.args.writers == 1 { "" } else { "s" },
            self.args.bus.name(),
        );
        let _ = writeln!(s, "fleet setup (load models, registers at the first day): {:.2} s\n", self.setup_s);
        let _ = writeln!(
            s,
            "{:<14} {:>9} {:>13} {:>12} {:>10} {:>10} {:>8} {:>7} {:>13} {:>12} {:>11} {:>9}",
            "phase",
            "wall s",
            "readings/s",
            "per CPU-s",
            "new",
            "dup",
            "revised",
            "CPU %",
            "ingest CPU s",
            "producer s",
            "MeterRdg/s",
            "findings"
        );
        for p in &self.phases {
            let i = &p.outcome.ingest;
            let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
            let _ = writeln!(
                s,
                "{:<14} {:>9.2} {:>13.0} {:>12} {:>10} {:>10} {:>8} {:>7} {:>13} {:>12} {:>11.0} {:>9}",
                p.name,
                p.wall_s,
                p.readings_per_s(),
                opt(p.readings_per_ingest_cpu_s(), 0),
                i.intervals_new,
                i.intervals_duplicate,
                i.intervals_revised,
                opt(p.cpu_percent(), 0),
                opt(p.ingest_cpu_s, 2),
                opt(p.producer_cpu_s, 2),
                p.meter_readings as f64 / p.wall_s,
                p.outcome.validation.findings_new,
            );
        }
        let _ = writeln!(
            s,
            "\non disk after the first ingest (checkpointed): {} bytes = {:.1} bytes per stored value ({} values: {} \
             interval, {} register)",
            self.after_first.bytes,
            self.bytes_per_value(),
            self.stored_values(),
            self.summary.interval_rows,
            self.summary.register_rows,
        );
        if let Some(f) = &self.after_replay {
            let _ = writeln!(s, "on disk after the replay: {} bytes", f.bytes);
        }
        match self.peak_rss {
            Some(b) => {
                let _ = writeln!(s, "peak RSS: {:.1} MiB", b as f64 / (1024.0 * 1024.0));
            }
            None => {
                let _ = writeln!(s, "peak RSS: not available on this platform");
            }
        }
        s
    }
}

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("gridedge-bench-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
