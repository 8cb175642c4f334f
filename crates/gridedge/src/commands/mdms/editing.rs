//! `gridedge mdms edit` and `gridedge mdms history`: change one interval value (a new
//! version with user and reason, audited, re-validated) and show every version of one
//! interval with its audit entry and validation findings.

use std::process::ExitCode;

use clap::Args;
use jiff::Timestamp;
use mdms::MeterDataStore;
use model::{MeterId, ReadingType};
use serde_json::{Value, json};

use super::arg_values::{parse_reading_type, parse_timestamp};
use super::output::{OutputArgs, Table, cell};
use super::quality::{interval_json, quality_text};
use super::store_args::{StoreArgs, require_meters};

/// One interval of one channel: `--meter`, `--reading-type`, `--interval-end`.
#[derive(Debug, Clone, Args)]
pub struct IntervalKey {
    /// The meter (serial number, CIM EndDevice.mRID).
    #[arg(long)]
    pub meter: String,
    /// The channel: name (active_energy_import), OBIS code (1.0.1.8.0.255) or CIM
    /// ReadingType code.
    #[arg(long, value_parser = parse_reading_type)]
    pub reading_type: ReadingType,
    /// End of the interval, RFC 3339 with an offset (e.g. 2025-06-02T10:00:00Z).
    #[arg(long, value_parser = parse_timestamp)]
    pub interval_end: Timestamp,
}

/// Arguments of `gridedge mdms edit`.
#[derive(Debug, Clone, Args)]
pub struct EditArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: IntervalKey,
    /// The new value in the channel's unit (energy channels: the cumulative register value
    /// at the interval end, Wh or varh; water: m³).
    #[arg(long, allow_negative_numbers = true)]
    pub value: f64,
    /// Who makes the change (recorded in the audit trail).
    #[arg(long)]
    pub user: String,
    /// Why (recorded in the audit trail).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `gridedge mdms history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: IntervalKey,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `gridedge mdms edit`: prints the new version, its audit id and the re-validation.
///
/// # Errors
/// An unknown meter, an empty user or reason, a non-finite value, a store failure.
pub fn run_edit(args: EditArgs) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open()?;
    let meter = MeterId(args.key.meter.clone());
    require_meters(&store, [&meter])?;
    let outcome = store.edit_interval(
        &meter,
        args.key.reading_type,
        args.key.interval_end,
        args.value,
        &args.user,
        &args.reason,
    )?;
    let out = json!({
        "meter": meter,
        "reading_type": args.key.reading_type,
        "interval_end": args.key.interval_end.to_string(),
        "new_version": interval_json(&outcome.interval),
        "audit_id": outcome.audit_id,
        "validation": outcome.validation,
    });
    args.output.print(&out, |v| {
        let mut t = Table::new(&["meter", "reading_type", "interval_end", "version", "value", "quality", "audit_id"]);
        t.row(vec![
            cell(&v["meter"]),
            cell(&v["reading_type"]),
            cell(&v["interval_end"]),
            cell(&v["new_version"]["version"]),
            cell(&v["new_version"]["value"]),
            quality_text(outcome.interval.quality),
            cell(&v["audit_id"]),
        ]);
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridedge mdms history`: every version, oldest first, with audit and findings.
///
/// # Errors
/// An unknown meter, a store failure.
pub fn run_history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let meter = MeterId(args.key.meter.clone());
    require_meters(&store, [&meter])?;
    let versions = store.interval_history_detail(&meter, args.key.reading_type, args.key.interval_end)?;
    let rows: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut entry = interval_json(&v.interval);
            entry["audit"] = serde_json::to_value(&v.audit).unwrap_or(Value::Null);
            entry["findings"] = serde_json::to_value(&v.findings).unwrap_or(Value::Null);
            entry
        })
        .collect();
    let out = json!({
        "meter": meter,
        "reading_type": args.key.reading_type,
        "interval_end": args.key.interval_end.to_string(),
        "versions": rows,
    });
    args.output.print(&out, |_| {
        let mut t = Table::new(&["version", "value", "quality", "source", "ingested_at", "user", "reason", "findings"]);
        for v in &versions {
            let findings: Vec<String> =
                v.findings.iter().map(|f| format!("{}:{}", f.rule, json!(f.status).as_str().unwrap_or(""))).collect();
            t.row(vec![
                v.interval.version.to_string(),
                v.interval.value.to_string(),
                quality_text(v.interval.quality),
                v.interval.source.clone(),
                v.interval.ingested_at.to_string(),
                v.audit.as_ref().map(|a| a.user.clone()).unwrap_or_default(),
                v.audit.as_ref().map(|a| a.reason.clone()).unwrap_or_default(),
                findings.join(" "),
            ]);
        }
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}
