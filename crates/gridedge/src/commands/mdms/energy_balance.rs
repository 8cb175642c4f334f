//! `gridedge mdms energy-balance`: a transformer's check meter against its customers'
//! meters, loss per day and period, and the non-technical-loss rules (sustained loss, step
//! change, negative balance, customer consumption drops, tamper correlation); see
//! `mdms::analytics`. Tamper events come from the database's event store, the meters'
//! interval status (tamper flag) and, optionally, a JSON file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;
use mdms::analytics::{LossRules, TamperEvent, TransformerRequest, tamper_events_from, transformer_loss_analysis};
use mdms::billing::BillingPeriod;
use mdms::events::{EventQuery, EventStore};
use model::{EndDeviceEvent, MeterId};
use serde::Deserialize;
use serde_json::Value;

use super::arg_values::{meter_list, parse_date, parse_time_zone};
use super::output::{OutputArgs, Table, cell};
use super::store_args::{StoreArgs, require_meters};

/// Arguments of `gridedge mdms energy-balance`.
#[derive(Debug, Clone, Args)]
pub struct EnergyBalanceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Name of the transformer (reported as given).
    #[arg(long, default_value = "transformer")]
    pub transformer: String,
    /// The transformer's check (audit) meter.
    #[arg(long)]
    pub check_meter: String,
    /// Customer meters supplied by the transformer (repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub customer: Vec<String>,
    /// A file with more customer meters, one per line.
    #[arg(long, value_name = "FILE")]
    pub customers_file: Option<PathBuf>,
    /// First local day of the period.
    #[arg(long, value_parser = parse_date)]
    pub first_day: Date,
    /// Last local day of the period (inclusive).
    #[arg(long, value_parser = parse_date)]
    pub last_day: Date,
    /// IANA time zone of the local days.
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Load-profile interval length, seconds.
    #[arg(long, default_value_t = 900)]
    pub interval_length: i64,
    /// Balance net energy (A+ − A−), for networks with customer generation.
    #[arg(long)]
    pub include_export: bool,
    /// Loss rule thresholds, JSON (the serde form of `mdms::analytics::LossRules`, every
    /// field optional).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Technical-loss allowance, percent (overrides the rules file).
    #[arg(long)]
    pub technical_loss_percent: Option<f64>,
    /// Days in a row above the allowance before a sustained loss is flagged (overrides the
    /// rules file).
    #[arg(long)]
    pub sustained_days: Option<u32>,
    /// More tamper events, besides those in the database's event store and the tamper
    /// status of intervals: a JSON array of IEC 61968-9 EndDeviceEvents (non-tamper events
    /// are ignored) or of {"meter": ..., "at": ..., "kind": ...}.
    #[arg(long, value_name = "FILE")]
    pub tamper_events: Option<PathBuf>,
    /// Include the per-interval balance in the JSON.
    #[arg(long)]
    pub intervals: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One entry of the `--tamper-events` file.
#[derive(Deserialize)]
#[serde(untagged)]
enum TamperInput {
    Event(EndDeviceEvent),
    Simple { meter: MeterId, at: Timestamp, kind: Option<String> },
}

/// Runs `gridedge mdms energy-balance`.
///
/// # Errors
/// Unknown meters, an invalid period, time zone or rules file, an unreadable events file, a
/// store failure.
pub fn run(args: EnergyBalanceArgs) -> anyhow::Result<ExitCode> {
    let mut rules = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a set of loss rules", path.display()))?
        }
        None => LossRules::default(),
    };
    if let Some(p) = args.technical_loss_percent {
        rules.technical_loss_percent = p;
    }
    if let Some(d) = args.sustained_days {
        rules.sustained_days = d;
    }
    let mut tamper = match &args.tamper_events {
        Some(path) => tamper_file(path)?,
        None => Vec::new(),
    };
    let store = args.store.open()?;
    let check = MeterId(args.check_meter.clone());
    let customers = meter_list(&args.customer, args.customers_file.as_deref())?;
    anyhow::ensure!(!customers.is_empty(), "give the transformer's customer meters (--customer or --customers-file)");
    require_meters(&store, std::iter::once(&check).chain(&customers))?;
    let request = TransformerRequest {
        transformer: args.transformer.clone(),
        check_meter: check,
        customer_meters: customers,
        period: BillingPeriod::new(args.first_day, args.last_day)?,
        time_zone: parse_time_zone(&args.time_zone)?,
        interval_length_s: args.interval_length,
        include_export: args.include_export,
    };
    // The tamper events the event store holds for these meters in the period.
    let (start, end) = request.period.utc_bounds(&request.time_zone)?;
    let meters = std::iter::once(request.check_meter.clone()).chain(request.customer_meters.iter().cloned());
    let stored = store.events(&EventQuery::range(start, end).for_meters(meters))?;
    let stored: Vec<EndDeviceEvent> = stored.into_iter().map(|e| e.event).collect();
    tamper.extend(tamper_events_from(&stored));
    let analysis = transformer_loss_analysis(&store, &request, &tamper, &rules)?;
    let mut out = serde_json::to_value(&analysis)?;
    if !args.intervals {
        if let Some(balance) = out.get_mut("balance").and_then(Value::as_object_mut) {
            balance.remove("intervals");
        }
    }
    args.output.print(&out, table)?;
    Ok(ExitCode::SUCCESS)
}

fn tamper_file(path: &std::path::Path) -> anyhow::Result<Vec<TamperEvent>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<TamperInput> =
        serde_json::from_str(&text).with_context(|| format!("{} is not a JSON array of events", path.display()))?;
    let mut events = Vec::new();
    for entry in entries {
        match entry {
            TamperInput::Event(e) => events.extend(tamper_events_from(std::slice::from_ref(&e))),
            TamperInput::Simple { meter, at, kind } => events.push(match kind {
                Some(kind) => TamperEvent::new(meter, at, kind),
                None => TamperEvent::from((meter, at)),
            }),
        }
    }
    Ok(events)
}

fn table(v: &Value) -> String {
    let b = &v["balance"];
    let mut t = Table::new(&["day", "coverage", "check_kwh", "customers_kwh", "loss_kwh", "loss_percent"]);
    for d in b["days"].as_array().into_iter().flatten() {
        t.row(
            ["day", "coverage", "check_kwh", "customers_kwh", "loss_kwh", "loss_percent"]
                .iter()
                .map(|k| cell(&d[*k]))
                .collect(),
        );
    }
    let total = &b["total"];
    t.row(vec![
        "total".into(),
        cell(&total["coverage"]),
        cell(&total["check_kwh"]),
        cell(&total["customers_kwh"]),
        cell(&total["loss_kwh"]),
        cell(&total["loss_percent"]),
    ]);
    let mut text =
        format!("transformer {} (check meter {})\n{}", cell(&b["transformer"]), cell(&b["check_meter"]), t.render());
    for f in v["transformer_flags"].as_array().into_iter().flatten() {
        text.push_str(&format!("\nflag: {f}"));
    }
    for s in v["suspects"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\nsuspect: {} from {}: {} -> {} kWh/day ({}% drop), loss +{} points, {} tamper event(s)",
            cell(&s["meter"]),
            cell(&s["change_day"]),
            cell(&s["baseline_kwh_per_day"]),
            cell(&s["recent_kwh_per_day"]),
            cell(&s["drop_percent"]),
            cell(&s["loss_rise_points"]),
            s["tamper_events"].as_array().map_or(0, Vec::len),
        ));
    }
    text
}
