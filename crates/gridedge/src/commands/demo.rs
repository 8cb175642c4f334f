//! `gridedge demo`: the whole system in one process. A simulated fleet of N meters (each
//! a DLMS/COSEM server on its own loopback TCP port), the HES collecting D days of load
//! profile and the registers from every meter over real DLMS sessions, and the MDMS
//! ingesting into an embedded SQLite database (WAL).
//!
//! With `--serve` the fleet keeps running after the collection and the process serves the
//! operator API and the dashboard over the demo database (until Ctrl-C), printing the
//! dashboard URL with a fresh operator token: commands issued from the dashboard reach the
//! simulated meters over DLMS/COSEM (management client 1, direct TCP to each meter).
//!
//! The ingest runs on its own thread: the HES hands each meter's [`MeterReading`] over a
//! bounded channel; a reading counts as delivered only after its SQLite transaction
//! commits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use dlms::association::Authentication;
use hes::{CampaignConfig, MeterEndpoint, Registry, SessionTimeouts, run_campaign};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::SignedDuration;
use mdms::{IngestReport, MeterDataStore, SqliteStore};
use meter::MeterConfig;
use meter::fleet::Fleet;
use meter::tcp_server::MeterServerConfig;
use model::{MeterId, MeterReading, ReadingType};

/// Arguments of `gridedge demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Number of simulated meters.
    #[arg(long, default_value_t = 100)]
    pub meters: usize,
    /// Days of load-profile history to collect (96 intervals a day).
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// HES sessions open at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// The SQLite database file.
    #[arg(long, default_value = "gridedge-demo.db")]
    pub db: PathBuf,
    /// Keep an existing database and collect only what is new since its last interval
    /// (the default starts from an empty database).
    #[arg(long)]
    pub resume: bool,
    /// Seed of the first meter (meter i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Link layer of every fleet meter: the IEC 62056-47 wrapper or HDLC (IEC 62056-46,
    /// server address 1/17) on each meter's TCP port.
    #[arg(long, value_enum, default_value_t = super::read::TransportArg::Wrapper)]
    pub transport: super::read::TransportArg,
    /// Field network between the HES and the meters (crate fieldnet): `none` (direct
    /// loopback TCP), `plc` (G3-PLC DCUs), `prime`, `rf` (RF mesh), `cellular` (LTE-M),
    /// `nb-iot`, `lorawan` or `mixed`; meters are registered with DCUs of 100 meters and
    /// every DLMS frame gets the link's latency, bandwidth and loss.
    #[arg(long, default_value = "none")]
    pub field: fieldnet::FieldProfile,
    /// Real seconds per simulated second of the field's delays (1.0 = real time; the
    /// default runs a PLC field fifty times faster than life).
    #[arg(long, default_value_t = 0.02)]
    pub field_time_scale: f64,
    /// After collecting, keep the fleet running and serve the API and dashboard over the
    /// database until Ctrl-C; prints `dashboard: URL` with an operator token.
    #[arg(long)]
    pub serve: bool,
    /// Address of `--serve` (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    pub listen: std::net::SocketAddr,
}

/// The command-line name of a field profile.
fn field_profile_name(profile: fieldnet::FieldProfile) -> &'static str {
    fieldnet::FieldProfile::NAMES
        .into_iter()
        .find(|name| name.parse::<fieldnet::FieldProfile>().ok() == Some(profile))
        .unwrap_or("none")
}

/// What the ingest thread did.
#[derive(Debug, Default)]
struct IngestTotals {
    readings: u64,
    report: IngestReport,
    errors: Vec<String>,
}

fn add(total: &mut IngestReport, r: &IngestReport) {
    total.intervals_new += r.intervals_new;
    total.intervals_duplicate += r.intervals_duplicate;
    total.intervals_revised += r.intervals_revised;
    total.registers_new += r.registers_new;
    total.registers_duplicate += r.registers_duplicate;
    total.registers_revised += r.registers_revised;
}

fn remove_db(path: &std::path::Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", PathBuf::from(&p).display())),
        }
    }
    Ok(())
}

/// Peak resident set size of this process, KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the subcommand.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.meters > 0, "--meters must be at least 1");
    anyhow::ensure!(args.days > 0 && args.days <= 60, "--days must be in 1..=60 (the meters keep 60 days of profile)");
    if !args.resume {
        remove_db(&args.db)?;
    }
    let store = SqliteStore::open(&args.db).with_context(|| format!("cannot open {}", args.db.display()))?;
    // Where each meter's profile was last stored, so a resumed run reads only new intervals.
    let mut since: HashMap<MeterId, jiff::Timestamp> = HashMap::new();
    for m in store.meters()? {
        if let Some(t) = store.last_interval_end(&m, ReadingType::ActiveEnergyImport)? {
            since.insert(m, t);
        }
    }

    let rt = super::runtime()?;
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<MeterReading>(256);
    let ingest = std::thread::Builder::new().name("mdms-ingest".into()).spawn(move || {
        let mut store = store;
        let mut totals = IngestTotals::default();
        while let Some(reading) = rx.blocking_recv() {
            match store.ingest(&reading) {
                Ok(r) => {
                    totals.readings += 1;
                    add(&mut totals.report, &r);
                }
                Err(e) => totals.errors.push(format!("{}: {e}", reading.meter)),
            }
        }
        (store, totals)
    })?;

    let meters = args.meters;
    let history = SignedDuration::from_hours(24 * i64::from(args.days));
    let concurrency = args.concurrency;
    let seed = args.seed;
    let field_profile = args.field;
    let field_time_scale = args.field_time_scale;
    anyhow::ensure!(
        field_time_scale.is_finite() && field_time_scale > 0.0,
        "--field-time-scale must be a positive number"
    );
    let (meter_link, hes_link) = match args.transport {
        super::read::TransportArg::Wrapper => {
            (meter::tcp_server::MeterLink::Wrapper, hes::transport::LinkLayer::Wrapper)
        }
        super::read::TransportArg::Hdlc => (
            meter::tcp_server::MeterLink::Hdlc { physical_address: 17 },
            hes::transport::LinkLayer::Hdlc { server_physical: Some(17) },
        ),
    };
    let serve = args.serve;
    let (report, fleet_started, field_stats, kept_fleet) = rt.block_on(async move {
        let fleet = Fleet::start(
            meters,
            std::net::IpAddr::from([127, 0, 0, 1]),
            seed,
            MeterConfig::default(),
            MeterServerConfig { link: meter_link, ..MeterServerConfig::default() },
        )
        .await
        .context("starting the meter fleet")?;
        let fleet_started = started.elapsed();
        let mut registry = Registry::new();
        for m in fleet.meters() {
            registry.upsert(MeterEndpoint {
                serial: MeterId(m.serial.clone()),
                address: m.address,
                client_sap: dlms::wrapper::WPORT_PUBLIC_CLIENT,
                server_sap: dlms::wrapper::WPORT_MANAGEMENT_LOGICAL_DEVICE,
                authentication: Authentication::None,
                security: None,
                link: hes_link,
            });
        }
        // Behind a field network the HES reaches each meter through its DCU, at most as
        // many sessions at once as the DCUs take, and waits longer for slow links.
        let (field, registry, concurrency, response_timeout) = if field_profile == fieldnet::FieldProfile::None {
            (None, registry, concurrency, Duration::from_secs(30))
        } else {
            let options = fieldnet::FleetFieldOptions { seed, time_scale: field_time_scale, ..Default::default() };
            let field = fieldnet::start_for_fleet(&fleet, meter_link.into(), field_profile, &options)
                .await
                .context("starting the field network")?;
            let routed = field.route_registry(&registry);
            let limit = fieldnet::FleetFieldOptions::campaign_concurrency(&field);
            (Some(field), routed, concurrency.min(limit), Duration::from_secs(120))
        };
        let config = CampaignConfig {
            concurrency,
            history,
            timeouts: SessionTimeouts { connect: Duration::from_secs(5), response: response_timeout },
            ..CampaignConfig::default()
        };
        let bar = ProgressBar::new(meters as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} collecting [{bar:40}] {pos}/{len} meters {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let bar = Arc::new(bar);
        let progress = bar.clone();
        let report = run_campaign(&registry, &since, &config, tx, move |_, _| progress.inc(1)).await;
        bar.finish_and_clear();
        let field_stats = match field {
            Some(field) => {
                let stats = field.stats();
                field.shutdown().await;
                Some(stats)
            }
            None => None,
        };
        let kept_fleet = if serve {
            Some(fleet)
        } else {
            fleet.shutdown().await;
            None
        };
        anyhow::Ok((report, fleet_started, field_stats, kept_fleet))
    })?;
    let (store, totals) = ingest.join().map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
    let elapsed = started.elapsed();
    let summary = store.summary()?;
    let failures = report.failures.len() + totals.errors.len();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let interval_values_new = totals.report.intervals_new;
    let out = serde_json::json!({
        "meters": meters,
        "days": args.days,
        "meters_read": report.meters_ok,
        "failures": failures,
        "retries": report.retries,
        "intervals_collected": report.intervals,
        "interval_values_collected": report.interval_values,
        "register_values_collected": report.registers,
        "interval_values_stored_new": interval_values_new,
        "interval_values_duplicate": totals.report.intervals_duplicate,
        "interval_values_revised": totals.report.intervals_revised,
        "database_interval_rows": summary.interval_rows,
        "database_register_rows": summary.register_rows,
        "database_meters": summary.meters,
        "max_abs_clock_drift_ms": report.max_abs_drift_ms,
        "fleet_start_s": fleet_started.as_secs_f64(),
        "elapsed_s": secs,
        "meters_per_s": report.meters_ok as f64 / secs,
        "readings_per_s": (report.interval_values + report.registers) as f64 / secs,
        "peak_rss_mib": peak_rss_kib().map(|k| k as f64 / 1024.0),
        "database": args.db.canonicalize().unwrap_or(args.db.clone()).display().to_string(),
        "field": field_profile_name(args.field),
        "field_stats": field_stats,
    });
    if args.json {
        super::emit(&serde_json::to_string_pretty(&out)?)?;
    } else {
        println!(
            "gridedge demo: {meters} meters, {} days of 15-minute load profile over DLMS/COSEM (TCP wrapper)",
            args.days
        );
        println!(
            "  meters read        {} of {meters} ({failures} failures, {} retries)",
            report.meters_ok, report.retries
        );
        println!(
            "  intervals          {} collected ({} channel values; {} new, {} duplicate, {} revised)",
            report.intervals,
            report.interval_values,
            interval_values_new,
            totals.report.intervals_duplicate,
            totals.report.intervals_revised
        );
        println!("  registers          {} values", report.registers);
        if let Some(stats) = &field_stats {
            println!(
                "  field network      {} ({} DCUs; frames: {})",
                field_profile_name(args.field),
                stats.dcus.len(),
                serde_json::to_string(&stats.total).unwrap_or_default()
            );
        }
        println!("  clock drift        max |drift| {} ms", report.max_abs_drift_ms);
        println!(
            "  elapsed            {secs:.2} s ({:.0} meters/s, {:.0} readings/s)",
            report.meters_ok as f64 / secs,
            (report.interval_values + report.registers) as f64 / secs
        );
        if let Some(k) = peak_rss_kib() {
            println!("  peak memory        {:.1} MiB", k as f64 / 1024.0);
        }
        println!(
            "  database           {} ({} meters, {} interval rows, {} register rows)",
            out["database"].as_str().unwrap_or_default(),
            summary.meters,
            summary.interval_rows,
            summary.register_rows
        );
    }
    for f in report.failures.iter().take(10) {
        eprintln!("failed: {} after {} attempt(s): {}", f.meter, f.attempts, f.error);
    }
    for e in totals.errors.iter().take(10) {
        eprintln!("ingest failed: {e}");
    }
    if let Some(fleet) = kept_fleet {
        drop(store);
        let meters: Vec<(String, std::net::SocketAddr)> =
            fleet.meters().iter().map(|m| (m.serial.clone(), m.address)).collect();
        let config = super::api::DashboardConfig {
            demo_token: true,
            ..super::api::DashboardConfig::new(args.db.clone(), args.listen)
        };
        let metrics = Arc::new(api::Metrics::new());
        rt.block_on(async move {
            let served = super::api::serve_fleet_dashboard(&meters, hes_link, config, metrics).await;
            fleet.shutdown().await;
            served
        })?;
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
