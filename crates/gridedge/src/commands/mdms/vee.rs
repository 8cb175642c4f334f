//! The VEE queue on the command line: `gridedge mdms exceptions` (list open findings),
//! `accept` (accept them as they are), `estimate` (estimate a range) and `validate`
//! (validate a range again).

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use jiff::Timestamp;
use mdms::MeterDataStore;
use mdms::vee::{ExceptionFilter, RuleId, ValidationReport};
use model::{MeterId, ReadingType};
use serde_json::{Value, json};

use super::arg_values::{meter_list, parse_reading_type, parse_timestamp};
use super::output::{OutputArgs, Table, cell};
use super::quality::interval_json;
use super::store_args::{StoreArgs, require_meters};

/// Filters of the exceptions queue; each narrows it.
#[derive(Debug, Clone, Args)]
pub struct ExceptionFilterArgs {
    /// Only this meter.
    #[arg(long)]
    pub meter: Option<String>,
    /// Only this channel (name, OBIS or CIM code).
    #[arg(long, value_parser = parse_reading_type)]
    pub reading_type: Option<ReadingType>,
    /// Only this rule (missing_interval, spike, high_low_usage, status_flags, ...).
    #[arg(long, value_parser = |s: &str| s.parse::<RuleId>().map_err(|e| e.to_string()))]
    pub rule: Option<RuleId>,
    /// Only intervals ending at or after this instant (RFC 3339).
    #[arg(long, value_parser = parse_timestamp)]
    pub from: Option<Timestamp>,
    /// Only intervals ending before this instant (RFC 3339).
    #[arg(long, value_parser = parse_timestamp)]
    pub to: Option<Timestamp>,
    /// At most this many queue entries.
    #[arg(long)]
    pub limit: Option<u32>,
}

impl ExceptionFilterArgs {
    fn filter(&self) -> ExceptionFilter {
        ExceptionFilter {
            meter: self.meter.clone().map(MeterId),
            reading_type: self.reading_type,
            rule: self.rule,
            from: self.from,
            to: self.to,
            limit: self.limit,
        }
    }

    fn is_empty(&self) -> bool {
        self.meter.is_none()
            && self.reading_type.is_none()
            && self.rule.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// Arguments of `gridedge mdms exceptions`.
#[derive(Debug, Clone, Args)]
pub struct ExceptionsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub filter: ExceptionFilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `gridedge mdms accept`.
#[derive(Debug, Clone, Args)]
pub struct AcceptArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub filter: ExceptionFilterArgs,
    /// Accept the whole queue (required when no filter is given).
    #[arg(long)]
    pub all: bool,
    /// Who accepts (audit trail).
    #[arg(long)]
    pub user: String,
    /// Why (audit trail).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `gridedge mdms estimate`.
#[derive(Debug, Clone, Args)]
pub struct EstimateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The meter.
    #[arg(long)]
    pub meter: String,
    /// The channel (a cumulative one: energy or volume).
    #[arg(long, value_parser = parse_reading_type)]
    pub reading_type: ReadingType,
    /// First interval end to estimate (inclusive), RFC 3339.
    #[arg(long, value_parser = parse_timestamp)]
    pub from: Timestamp,
    /// End of the range (exclusive), RFC 3339.
    #[arg(long, value_parser = parse_timestamp)]
    pub to: Timestamp,
    /// Who asks for the estimation (audit trail).
    #[arg(long)]
    pub user: String,
    /// Why (audit trail).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `gridedge mdms validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Meters to validate (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', required_unless_present = "all_meters")]
    pub meter: Vec<String>,
    /// Validate every meter in the database.
    #[arg(long, conflicts_with = "meter")]
    pub all_meters: bool,
    /// Start of the range (interval ends from here), RFC 3339; whole local days around it
    /// are validated.
    #[arg(long, value_parser = parse_timestamp)]
    pub from: Timestamp,
    /// End of the range (exclusive), RFC 3339.
    #[arg(long, value_parser = parse_timestamp)]
    pub to: Timestamp,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `gridedge mdms exceptions`.
///
/// # Errors
/// A store failure.
pub fn run_exceptions(args: ExceptionsArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let queue = store.vee_exceptions(&args.filter.filter())?;
    let out = json!({ "count": queue.len(), "exceptions": queue });
    args.output.print(&out, |v| {
        let mut t = Table::new(&[
            "meter",
            "reading_type",
            "rule",
            "first_interval_end",
            "last_interval_end",
            "intervals",
            "measured",
            "limit",
        ]);
        for e in v["exceptions"].as_array().into_iter().flatten() {
            t.row(
                [
                    "meter",
                    "reading_type",
                    "rule",
                    "first_interval_end",
                    "last_interval_end",
                    "intervals",
                    "measured",
                    "limit",
                ]
                .iter()
                .map(|k| cell(&e[*k]))
                .collect(),
            );
        }
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridedge mdms accept`.
///
/// # Errors
/// No filter without `--all`, an empty user or reason, a store failure.
pub fn run_accept(args: AcceptArgs) -> anyhow::Result<ExitCode> {
    if args.filter.is_empty() && !args.all {
        bail!("accepting the whole exceptions queue needs --all (or narrow it with --meter, --rule, --from ...)");
    }
    let mut store = args.store.open()?;
    if let Some(m) = &args.filter.meter {
        require_meters(&store, [&MeterId(m.clone())])?;
    }
    let accepted = store.accept_exceptions(&args.filter.filter(), &args.user, &args.reason)?;
    let out = json!({ "accepted": accepted, "user": args.user, "reason": args.reason });
    args.output.print(&out, |v| format!("accepted {} finding(s)", cell(&v["accepted"])))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridedge mdms estimate`.
///
/// # Errors
/// An unknown meter, an empty range, an instantaneous channel, an empty user or reason.
pub fn run_estimate(args: EstimateArgs) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open()?;
    let meter = MeterId(args.meter.clone());
    require_meters(&store, [&meter])?;
    let report = store.estimate_range(&meter, args.reading_type, args.from, args.to, &args.user, &args.reason)?;
    let out = json!({
        "meter": meter,
        "reading_type": args.reading_type,
        "audit_id": report.audit_id,
        "estimated": report.estimated.iter().map(interval_json).collect::<Vec<_>>(),
        "validation": report.validation,
    });
    args.output.print(&out, |v| {
        let mut t = Table::new(&["interval_end", "version", "value", "estimation_method"]);
        for e in v["estimated"].as_array().into_iter().flatten() {
            t.row(vec![
                cell(&e["interval_end"]),
                cell(&e["version"]),
                cell(&e["value"]),
                cell(&e["quality"]["estimation_method"]),
            ]);
        }
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridedge mdms validate`.
///
/// # Errors
/// An unknown meter, a store failure.
pub fn run_validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open()?;
    let meters = if args.all_meters { store.meters()? } else { meter_list(&args.meter, None)? };
    require_meters(&store, &meters)?;
    let mut total = ValidationReport::default();
    let mut per_meter: Vec<Value> = Vec::with_capacity(meters.len());
    for meter in &meters {
        let report = store.validate_range(meter, args.from, args.to)?;
        per_meter.push(json!({ "meter": meter, "report": report }));
        total.absorb(report);
    }
    let out = json!({ "from": args.from.to_string(), "to": args.to.to_string(), "meters": per_meter, "total": total });
    args.output.print(&out, |v| {
        let mut t = Table::new(&["meter", "channels", "findings_new", "findings_reported", "findings_cleared"]);
        for m in v["meters"].as_array().into_iter().flatten() {
            t.row(vec![
                cell(&m["meter"]),
                cell(&m["report"]["channels"]),
                cell(&m["report"]["findings_new"]),
                cell(&m["report"]["findings_reported"]),
                cell(&m["report"]["findings_cleared"]),
            ]);
        }
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}
