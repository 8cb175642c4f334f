//! `gridedge mdms billing`: billing determinants of meters for billing periods under a TOU
//! schedule (kWh per TOU period, maximum demand, kvarh, power factor, estimated intervals,
//! bill readiness).
//!
//! The schedule is a JSON file in the form of `mdms::billing::TouScheduleSpec` (see the
//! `mdms::billing::tou` docs), or, without `--schedule`, a flat schedule (one period "all")
//! in `--time-zone`. Values are read with their validation results, so a value with open
//! validation findings blocks bill readiness.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use jiff::SignedDuration;
use jiff::civil::Date;
use mdms::billing::{
    BILLING_INTERVAL_S, BillingDeterminants, BillingPeriod, ChannelSeries, IntervalValue, TouSchedule, TouScheduleSpec,
    determinants_from_series,
};
use mdms::{MeterDataStore, SqliteStore};
use model::{MeterId, ReadingType};
use serde_json::{Value, json};

use super::arg_values::{meter_list, parse_date, parse_month};
use super::output::{OutputArgs, Table, cell};
use super::store_args::{StoreArgs, require_meters};

/// Arguments of `gridedge mdms billing`.
#[derive(Debug, Clone, Args)]
pub struct BillingArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Meters to bill (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', required = true)]
    pub meter: Vec<String>,
    /// TOU schedule, JSON (name, time_zone, default_period, holidays, seasons, rules,
    /// demand).
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
    /// Time zone of the flat schedule used without --schedule (IANA name).
    #[arg(long, default_value = "UTC", conflicts_with = "schedule")]
    pub time_zone: String,
    /// A calendar month, YYYY-MM (with --cycles: that many consecutive months).
    #[arg(long, value_parser = parse_month, conflicts_with_all = ["first_day", "last_day"])]
    pub month: Option<(i16, i8)>,
    /// First local day of the period (with --last-day: one period; without: --cycles
    /// monthly cycles starting on this day).
    #[arg(long, value_parser = parse_date, required_unless_present = "month")]
    pub first_day: Option<Date>,
    /// Last local day of the period (inclusive).
    #[arg(long, value_parser = parse_date, requires = "first_day")]
    pub last_day: Option<Date>,
    /// Number of consecutive monthly periods.
    #[arg(long, default_value_t = 1)]
    pub cycles: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `gridedge mdms billing`.
///
/// # Errors
/// An unreadable or invalid schedule, an invalid period, an unknown meter, a store failure.
pub fn run(args: BillingArgs) -> anyhow::Result<ExitCode> {
    let schedule = schedule(&args)?;
    let periods = periods(&args)?;
    let store = args.store.open()?;
    let meters = meter_list(&args.meter, None)?;
    require_meters(&store, &meters)?;
    let mut all = Vec::with_capacity(meters.len() * periods.len());
    for meter in &meters {
        for period in &periods {
            all.push(determinants(&store, meter, period, &schedule)?);
        }
    }
    let out = json!({
        "schedule": schedule.name(),
        "time_zone": schedule.time_zone_name(),
        "periods": schedule.periods(),
        "determinants": all,
    });
    args.output.print(&out, table)?;
    Ok(ExitCode::SUCCESS)
}

fn schedule(args: &BillingArgs) -> anyhow::Result<TouSchedule> {
    match &args.schedule {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a valid TOU schedule", path.display()))
        }
        None => Ok(TouSchedule::new(TouScheduleSpec {
            name: "flat".into(),
            time_zone: args.time_zone.clone(),
            default_period: "all".into(),
            holidays: vec![],
            seasons: vec![],
            rules: vec![],
            demand: Default::default(),
        })?),
    }
}

fn periods(args: &BillingArgs) -> anyhow::Result<Vec<BillingPeriod>> {
    if args.cycles == 0 {
        bail!("--cycles must be at least 1");
    }
    match (args.month, args.first_day, args.last_day) {
        (Some((year, month)), _, _) => (0..args.cycles)
            .map(|k| {
                let index = i64::from(month) - 1 + i64::try_from(k)?;
                let y = i16::try_from(i64::from(year) + index.div_euclid(12))?;
                let m = i8::try_from(index.rem_euclid(12) + 1)?;
                Ok(BillingPeriod::calendar_month(y, m)?)
            })
            .collect(),
        (None, Some(first), Some(last)) => {
            if args.cycles != 1 {
                bail!("--cycles needs --month or --first-day without --last-day");
            }
            Ok(vec![BillingPeriod::new(first, last)?])
        }
        (None, Some(first), None) => Ok(BillingPeriod::monthly(first, args.cycles)?),
        (None, None, _) => bail!("give --month YYYY-MM or --first-day (and --last-day)"),
    }
}

/// The determinants of one meter and period from the latest versions with their validation
/// results folded into the quality (open findings make a value suspect).
fn determinants(
    store: &SqliteStore,
    meter: &MeterId,
    period: &BillingPeriod,
    schedule: &TouSchedule,
) -> anyhow::Result<BillingDeterminants> {
    let (start, end) = period.utc_bounds(schedule.time_zone())?;
    let to = end.checked_add(SignedDuration::from_secs(1))?;
    let read = |rt| -> anyhow::Result<Vec<IntervalValue>> {
        Ok(store.validated_interval_readings(meter, rt, start, to)?.iter().map(IntervalValue::from).collect())
    };
    let series = ChannelSeries {
        active_import: read(ReadingType::ActiveEnergyImport)?,
        active_export: read(ReadingType::ActiveEnergyExport)?,
        reactive_import: read(ReadingType::ReactiveEnergyImport)?,
        reactive_export: read(ReadingType::ReactiveEnergyExport)?,
    };
    Ok(determinants_from_series(meter, period, schedule, BILLING_INTERVAL_S, &series)?)
}

fn table(v: &Value) -> String {
    let mut t = Table::new(&[
        "meter",
        "first_day",
        "last_day",
        "kwh",
        "by_tou_kwh",
        "max_block_kw",
        "max_block_end",
        "pf",
        "estimated",
        "bill_ready",
        "problems",
    ]);
    for d in v["determinants"].as_array().into_iter().flatten() {
        let imp = &d["active_import"];
        let by_tou: Vec<String> = imp["by_tou"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{}={}", cell(&p["period"]), cell(&p["kwh"])))
            .collect();
        t.row(vec![
            cell(&d["meter"]),
            cell(&d["period"]["first_day"]),
            cell(&d["period"]["last_day"]),
            cell(&imp["total_kwh"]),
            by_tou.join(" "),
            cell(&imp["max_block_demand"]["kw"]),
            cell(&imp["max_block_demand"]["end"]),
            cell(&d["power_factor"]),
            cell(&d["estimated_intervals"]),
            cell(&d["readiness"]["bill_ready"]),
            d["readiness"]["problems"].as_array().map_or(0, Vec::len).to_string(),
        ]);
    }
    t.render()
}
