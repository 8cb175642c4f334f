//! Measures `PgStore` ingest throughput end to end on a synthetic fleet: METERS meters
//! (default 2000) × DAYS days (default 14) × 96 fifteen-minute intervals × 4 energy
//! channels, one `MeterReading` per meter per day (as a daily HES collection delivers
//! them: the day's load profile plus the four registers read at midnight). One reading is
//! one interval value of one channel: the default fleet is 10 752 000 readings.
//!
//! Run: `cargo run --release -p mdms --features postgres --example pg_ingest -- [METERS] [DAYS] [BATCH] [on|off] [WRITERS]`
//! with the server in `GRIDEDGE_TEST_POSTGRES` (default
//! `host=127.0.0.1 port=5432 user=postgres dbname=postgres`, key/value form). BATCH is the
//! number of `MeterReading`s per transaction (`ingest_batch`; default 250; 1 = one `ingest`
//! per reading). The fourth argument turns validation (VEE) on ingest on (default: the
//! standard rule set with Europe/London local days) or off. The data is clean, so with VEE
//! on the store validates every channel and records almost no finding. WRITERS (default 1)
//! is the number of stores (connections) ingesting in parallel, each on its own thread with
//! its own share of the meters (`meter % WRITERS`), as a sharded HES ingest runs them.
//!
//! The store runs in a fresh schema `gridedge_bench_<pid>` with durable commits (every
//! committed batch is flushed: `synchronous_commit` as the server has it, `on` by default),
//! dropped at the end. The readings are generated batch by batch while ingesting (the
//! generator's time is inside the figure). Prints readings/s of the first ingest and of a
//! full replay (all duplicates), transactions, bytes on disk per stored value, the CPU time
//! of this process and of the store's server backend, the load average, peak RSS, and the
//! time of a one-day range query and of a week of daily consumption.

use std::time::Instant;

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mdms::vee::{ValidationReport, VeeConfig};
use mdms::{MeterDataStore, PgStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};

const INTERVALS_PER_DAY: i64 = 96;
const CHANNELS: [ReadingType; 4] = [
    ReadingType::ActiveEnergyImport,
    ReadingType::ActiveEnergyExport,
    ReadingType::ReactiveEnergyImport,
    ReadingType::ReactiveEnergyExport,
];
/// `application_name` of the store's connection, to find its server backend.
const APPLICATION: &str = "gridedge_pg_ingest";

/// Day `day` of meter `meter`: 96 interval values per channel of a cumulative register
/// growing by a meter- and channel-dependent step, and the four registers at midnight.
fn day_reading(meter: usize, day: i64, start: Timestamp) -> Result<MeterReading, jiff::Error> {
    let step = |c: usize| 50.0 + (meter % 17) as f64 + 10.0 * c as f64;
    let mut intervals = Vec::with_capacity((INTERVALS_PER_DAY as usize) * CHANNELS.len());
    for k in 0..INTERVALS_PER_DAY {
        let n = day * INTERVALS_PER_DAY + k + 1;
        let interval_end = start.checked_add(SignedDuration::from_secs(900 * n))?;
        for (c, reading_type) in CHANNELS.into_iter().enumerate() {
            intervals.push(IntervalReading {
                reading_type,
                interval_end,
                value: (n as f64) * step(c),
                quality: QualityFlags(0),
            });
        }
    }
    let n_end = (day + 1) * INTERVALS_PER_DAY;
    let read_at = start.checked_add(SignedDuration::from_secs(900 * n_end))?;
    let registers = CHANNELS
        .into_iter()
        .enumerate()
        .map(|(c, reading_type)| RegisterRead { reading_type, read_at, value: (n_end as f64) * step(c) })
        .collect();
    Ok(MeterReading {
        meter: MeterId(format!("SIM{meter:06}")),
        collected_at: start.checked_add(SignedDuration::from_secs(86_400 * (day + 1) + 300))?,
        clock_drift_ms: Some((meter % 5) as i64 * 100),
        interval_length_s: 900,
        registers,
        intervals,
    })
}

/// The readings of the meters `m` with `m % writers == writer`, day-major (as daily
/// collection rounds deliver them), in batches of `batch`, generated on demand.
fn batches(
    (writer, writers): (usize, usize),
    meters: usize,
    days: i64,
    batch: usize,
    start: Timestamp,
) -> impl Iterator<Item = Result<Vec<MeterReading>, jiff::Error>> {
    let mine: Vec<usize> = (0..meters).filter(|m| m % writers == writer).collect();
    let total = mine.len() * days as usize;
    let batch = batch.max(1);
    (0..total.div_ceil(batch)).map(move |b| {
        (b * batch..((b + 1) * batch).min(total))
            .map(|i| day_reading(mine[i % mine.len()], (i / mine.len()) as i64, start))
            .collect()
    })
}

/// What one pass wrote.
#[derive(Default)]
struct Pass {
    rows: u64,
    written: u64,
    transactions: u64,
    validation: ValidationReport,
}

/// Ingests writer `writer`'s share of the fleet in transactions of `batch` readings.
fn ingest_share(
    store: &mut PgStore,
    writer: (usize, usize),
    meters: usize,
    days: i64,
    batch: usize,
    start: Timestamp,
) -> Result<Pass, Box<dyn std::error::Error + Send + Sync>> {
    let mut pass = Pass::default();
    for chunk in batches(writer, meters, days, batch, start) {
        let chunk = chunk?;
        pass.rows += chunk.iter().map(|r| r.intervals.len() as u64).sum::<u64>();
        if batch <= 1 {
            for r in &chunk {
                let outcome = store.ingest_validated(r, mdms::DEFAULT_SOURCE)?;
                pass.written += outcome.ingest.intervals_new + outcome.ingest.intervals_revised;
                pass.validation.absorb(outcome.validation);
                pass.transactions += 1;
            }
        } else {
            for outcome in store.ingest_batch(&chunk, mdms::DEFAULT_SOURCE)? {
                pass.written += outcome.ingest.intervals_new + outcome.ingest.intervals_revised;
                pass.validation.absorb(outcome.validation);
            }
            pass.transactions += 1;
        }
    }
    Ok(pass)
}

/// Ingests the fleet with one thread per store of `stores` (writer `w` takes the meters
/// `m % stores.len() == w`), all in parallel; returns the sum of their passes.
fn ingest_all(
    stores: &mut [PgStore],
    meters: usize,
    days: i64,
    batch: usize,
    start: Timestamp,
) -> Result<Pass, Box<dyn std::error::Error>> {
    let writers = stores.len();
    let results: Vec<Result<Pass, Box<dyn std::error::Error + Send + Sync>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter_mut()
            .enumerate()
            .map(|(w, store)| scope.spawn(move || ingest_share(store, (w, writers), meters, days, batch, start)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a writer thread panicked".into()))).collect()
    });
    let mut total = Pass::default();
    for r in results {
        let p = r.map_err(|e| e.to_string())?;
        total.rows += p.rows;
        total.written += p.written;
        total.transactions += p.transactions;
        total.validation.absorb(p.validation);
    }
    Ok(total)
}

/// CPU seconds (user + system) of process `pid` from `/proc/<pid>/stat` (Linux; `None`
/// elsewhere or when unreadable).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some((utime + stime) / 100.0)
}

/// The 1-minute load average (`/proc/loadavg`).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Peak resident set size of this process, kB (`VmHWM` in `/proc/self/status`).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let meters: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let days: i64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(14);
    let batch: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(250);
    let vee_on = args.next().is_none_or(|s| s != "off");
    let writers: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1).max(1);
    let conninfo = std::env::var("GRIDEDGE_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=postgres".to_string());
    let schema = format!("gridedge_bench_{}", std::process::id());
    let result = run(&conninfo, &schema, meters, days, batch, vee_on, writers);
    let mut admin = postgres::Client::connect(&conninfo, postgres::NoTls)?;
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
    result
}

fn run(
    conninfo: &str,
    schema: &str,
    meters: usize,
    days: i64,
    batch: usize,
    vee_on: bool,
    writers: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let start: Timestamp = "2025-03-24T00:00:00Z".parse()?;
    let application = format!("{APPLICATION}_{}", std::process::id());
    let store_conninfo = format!("{conninfo} application_name={application}");
    let mut stores: Vec<PgStore> =
        (0..writers).map(|_| PgStore::connect_schema(&store_conninfo, schema)).collect::<Result<_, _>>()?;
    let mut admin = postgres::Client::connect(conninfo, postgres::NoTls)?;
    let backends: Vec<String> = admin
        .query("SELECT pid FROM pg_stat_activity WHERE application_name = $1", &[&application])?
        .iter()
        .map(|r| r.get::<_, i32>(0).to_string())
        .collect();
    let backend_cpu = || backends.iter().map(|p| cpu_seconds(p)).sum::<Option<f64>>();
    let own_cpu = || cpu_seconds("self");
    let synchronous_commit: String = admin.query_one("SHOW synchronous_commit", &[])?.get(0);

    let mut config = VeeConfig { enabled: vee_on, ..VeeConfig::default() };
    for class in config.classes.values_mut() {
        class.time_zone = "Europe/London".into();
    }
    for store in &mut stores {
        store.set_vee_config(&config)?;
    }

    let (load0, cpu0, pg0) = (load_average(), own_cpu(), backend_cpu());
    let t0 = Instant::now();
    let first = ingest_all(&mut stores, meters, days, batch, start)?;
    let first_s = t0.elapsed().as_secs_f64();
    let (load1, cpu1, pg1) = (load_average(), own_cpu(), backend_cpu());
    assert_eq!(first.written, first.rows, "every interval value is new on the first pass");

    let t1 = Instant::now();
    let replay = ingest_all(&mut stores, meters, days, batch, start)?;
    let store = &stores[0];
    let replay_s = t1.elapsed().as_secs_f64();
    let (load2, cpu2, pg2) = (load_average(), own_cpu(), backend_cpu());
    assert_eq!(replay.written, 0, "a replay writes nothing");

    let m = MeterId("SIM000000".into());
    let day_from: Timestamp = "2025-03-26T00:00:00Z".parse()?;
    let day_to = day_from.checked_add(SignedDuration::from_hours(24))?;
    let t2 = Instant::now();
    let one_day = store.interval_readings(&m, ReadingType::ActiveEnergyImport, day_from, day_to)?;
    let range_query = t2.elapsed();
    let tz = TimeZone::get("Europe/London")?;
    let t3 = Instant::now();
    let week =
        store.daily_consumption(&m, ReadingType::ActiveEnergyImport, date(2025, 3, 24), date(2025, 3, 30), &tz)?;
    let consumption_query = t3.elapsed();
    let summary = store.summary()?;
    let sizes = admin.query_one(
        &format!(
            "SELECT (SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_inherits i \
               JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '\"{schema}\".interval_reading'::regclass), \
             (SELECT COALESCE(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_inherits i \
               JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '\"{schema}\".interval_reading'::regclass), \
             pg_total_relation_size('\"{schema}\".register_read'), pg_total_relation_size('\"{schema}\".collection'), \
             pg_database_size(current_database())"
        ),
        &[],
    )?;
    let (interval_total, interval_heap, register_total, collection_total, database): (i64, i64, i64, i64, i64) =
        (sizes.get(0), sizes.get(1), sizes.get(2), sizes.get(3), sizes.get(4));

    let per_s = |n: u64, s: f64| n as f64 / s;
    let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map_or("?".to_string(), |(a, b)| format!("{:.1}", b - a));
    let rows = first.rows;
    println!(
        "fleet: {meters} meters x {days} days x {INTERVALS_PER_DAY} intervals x {} channels = {rows} readings \
         (+ {} register reads) in {} MeterReadings",
        CHANNELS.len(),
        meters as u64 * days as u64 * CHANNELS.len() as u64,
        meters as u64 * days as u64
    );
    println!(
        "store: PostgreSQL, schema {schema}, synchronous_commit={synchronous_commit}, {writers} writer \
         connection(s), {} MeterReadings per transaction, VEE on ingest {}",
        batch.max(1),
        if vee_on { "on (standard rules, Europe/London)" } else { "off" }
    );
    println!(
        "first ingest: {first_s:.2} s, {:.0} readings/s, {} transactions; CPU s: client {}, server backends {}; \
         load average {load0} -> {load1}",
        per_s(rows, first_s),
        first.transactions,
        delta(cpu0, cpu1),
        delta(pg0, pg1)
    );
    if vee_on {
        println!(
            "  validation: {} channel validations, {} findings",
            first.validation.channels, first.validation.findings_reported
        );
    }
    println!(
        "replay (all duplicates): {replay_s:.2} s, {:.0} readings/s, {} transactions; CPU s: client {}, server \
         backends {}; load average -> {load2}",
        per_s(rows, replay_s),
        replay.transactions,
        delta(cpu1, cpu2),
        delta(pg1, pg2)
    );
    let per_value = |bytes: i64| bytes as f64 / summary.interval_rows.max(1) as f64;
    println!(
        "on disk: interval_reading {:.1} MB = {:.1} bytes per value ({:.1} heap + {:.1} primary key); \
         register_read {:.1} MB, collection {:.1} MB, database {:.1} MB",
        interval_total as f64 / 1e6,
        per_value(interval_total),
        per_value(interval_heap),
        per_value(interval_total - interval_heap),
        register_total as f64 / 1e6,
        collection_total as f64 / 1e6,
        database as f64 / 1e6
    );
    println!(
        "one-day range query: {} values in {:.2} ms; 7 days of daily consumption: {} days in {:.2} ms",
        one_day.len(),
        range_query.as_secs_f64() * 1e3,
        week.len(),
        consumption_query.as_secs_f64() * 1e3
    );
    println!("peak RSS: {} MB", peak_rss_kb().map_or("?".to_string(), |kb| format!("{:.1}", kb as f64 / 1024.0)));
    println!("summary: {summary:?}");
    Ok(())
}
