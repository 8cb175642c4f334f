//! Measures `SqliteStore` ingest throughput on a synthetic fleet: METERS meters (default
//! 100) × 7 days × 96 fifteen-minute intervals × 4 energy channels, one `MeterReading` per
//! meter per day (as a daily HES collection delivers them), into a fresh WAL file.
//!
//! Run: `cargo run --release -p mdms --example ingest_throughput -- [METERS] [DB_PATH] [on|off]`
//! Prints rows/s for the first ingest, for a full replay (all duplicates), and the time of
//! a one-day range query and a week of daily consumption. The third argument turns
//! validation (VEE) on ingest on (default, the standard rule set with Europe/London local
//! days) or off; the data is clean, so with VEE on the store validates every interval and
//! records no finding.

use std::time::Instant;

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mdms::vee::{ValidationReport, VeeConfig};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};

const DAYS: i64 = 7;
const INTERVALS_PER_DAY: i64 = 96;
const CHANNELS: [ReadingType; 4] = [
    ReadingType::ActiveEnergyImport,
    ReadingType::ActiveEnergyExport,
    ReadingType::ReactiveEnergyImport,
    ReadingType::ReactiveEnergyExport,
];

fn day_reading(meter: usize, day: i64, start: Timestamp) -> Result<MeterReading, jiff::Error> {
    let mut intervals = Vec::with_capacity((INTERVALS_PER_DAY as usize) * CHANNELS.len());
    for k in 0..INTERVALS_PER_DAY {
        let n = day * INTERVALS_PER_DAY + k + 1;
        let interval_end = start.checked_add(SignedDuration::from_secs(900 * n))?;
        for (c, reading_type) in CHANNELS.into_iter().enumerate() {
            // A cumulative register growing by a meter- and channel-dependent step.
            let value = (n as f64) * (50.0 + (meter % 17) as f64 + 10.0 * c as f64);
            intervals.push(IntervalReading { reading_type, interval_end, value, quality: QualityFlags(0) });
        }
    }
    Ok(MeterReading {
        meter: MeterId(format!("SIM{meter:06}")),
        collected_at: start.checked_add(SignedDuration::from_secs(86_400 * (day + 1) + 300))?,
        clock_drift_ms: Some((meter % 5) as i64 * 100),
        interval_length_s: 900,
        registers: Vec::new(),
        intervals,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let meters: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let dir = tempfile::tempdir()?;
    let path = args.next().map(std::path::PathBuf::from).unwrap_or_else(|| dir.path().join("throughput.sqlite"));
    let vee_on = args.next().is_none_or(|s| s != "off");
    let start: Timestamp = "2025-03-24T00:00:00Z".parse()?;

    let readings: Vec<MeterReading> = (0..meters)
        .flat_map(|m| (0..DAYS).map(move |d| (m, d)))
        .map(|(m, d)| day_reading(m, d, start))
        .collect::<Result<_, _>>()?;
    let rows: u64 = readings.iter().map(|r| r.intervals.len() as u64).sum();

    let mut store = SqliteStore::open(&path)?;
    let mut config = VeeConfig { enabled: vee_on, ..VeeConfig::default() };
    for class in config.classes.values_mut() {
        class.time_zone = "Europe/London".into();
    }
    store.set_vee_config(&config)?;
    let t0 = Instant::now();
    let mut written = 0;
    let mut validation = ValidationReport::default();
    for r in &readings {
        let outcome = store.ingest_validated(r, mdms::DEFAULT_SOURCE)?;
        written += outcome.ingest.rows_written();
        validation.absorb(outcome.validation);
    }
    let first = t0.elapsed();
    assert_eq!(written, rows, "every row is new on the first pass");

    let t1 = Instant::now();
    let mut duplicates = 0;
    for r in &readings {
        duplicates += store.ingest(r)?.intervals_duplicate;
    }
    let replay = t1.elapsed();
    assert_eq!(duplicates, rows, "every row is a duplicate on the replay");

    let meter = MeterId("SIM000000".into());
    let t2 = Instant::now();
    let one_day = store.interval_readings(
        &meter,
        ReadingType::ActiveEnergyImport,
        "2025-03-26T00:00:00Z".parse()?,
        "2025-03-27T00:00:00Z".parse()?,
    )?;
    let range_query = t2.elapsed();
    let tz = TimeZone::get("Europe/London")?;
    let t3 = Instant::now();
    let week =
        store.daily_consumption(&meter, ReadingType::ActiveEnergyImport, date(2025, 3, 25), date(2025, 3, 30), &tz)?;
    let consumption_query = t3.elapsed();
    let summary = store.summary()?;
    let file_mb = std::fs::metadata(&path).map(|m| m.len() as f64 / 1e6).unwrap_or(f64::NAN);

    println!(
        "meters {meters}, MeterReadings {}, interval rows {rows}, VEE {}",
        readings.len(),
        if vee_on { "on" } else { "off" }
    );
    println!(
        "validation: {} channel windows, {} findings reported, {} new",
        validation.channels, validation.findings_reported, validation.findings_new
    );
    println!(
        "first ingest: {:.2} s, {:.0} rows/s ({:.2} ms per MeterReading)",
        first.as_secs_f64(),
        rows as f64 / first.as_secs_f64(),
        first.as_secs_f64() * 1e3 / readings.len() as f64
    );
    println!(
        "replay (all duplicates): {:.2} s, {:.0} rows/s",
        replay.as_secs_f64(),
        rows as f64 / replay.as_secs_f64()
    );
    println!("one-day range query: {} rows in {:.3} ms", one_day.len(), range_query.as_secs_f64() * 1e3);
    println!("6 local days of consumption: {} days in {:.3} ms", week.len(), consumption_query.as_secs_f64() * 1e3);
    println!("summary: {summary:?}; main file {file_mb:.1} MB (WAL not included)");
    Ok(())
}
