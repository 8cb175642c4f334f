//! `gridedge mdms audit`: the audit trail of edits, estimations and acceptances (who,
//! when, why, what).

use std::process::ExitCode;

use clap::Args;
use jiff::Timestamp;
use mdms::MeterDataStore;
use mdms::editing::{AuditAction, AuditFilter};
use model::{MeterId, ReadingType};
use serde_json::json;

use super::arg_values::{parse_reading_type, parse_timestamp};
use super::output::{OutputArgs, Table, cell};
use super::store_args::StoreArgs;

/// Arguments of `gridedge mdms audit`; every filter narrows the list.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this meter.
    #[arg(long)]
    pub meter: Option<String>,
    /// Only this channel (name, OBIS or CIM code).
    #[arg(long, value_parser = parse_reading_type)]
    pub reading_type: Option<ReadingType>,
    /// Only entries whose affected intervals include this interval end (RFC 3339).
    #[arg(long, value_parser = parse_timestamp)]
    pub interval_end: Option<Timestamp>,
    /// Only this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Only this action: edit, estimate or accept.
    #[arg(long, value_parser = |s: &str| AuditAction::parse(s).ok_or_else(|| format!("unknown action {s:?}: edit, estimate or accept")))]
    pub action: Option<AuditAction>,
    /// Only entries written at or after this instant (RFC 3339).
    #[arg(long, value_parser = parse_timestamp)]
    pub since: Option<Timestamp>,
    /// At most the newest N entries (still printed oldest first).
    #[arg(long)]
    pub limit: Option<u32>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `gridedge mdms audit`.
///
/// # Errors
/// A store failure.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let filter = AuditFilter {
        meter: args.meter.clone().map(MeterId),
        reading_type: args.reading_type,
        interval_end: args.interval_end,
        user: args.user.clone(),
        action: args.action,
        since: args.since,
        limit: args.limit,
    };
    let entries = store.audit_log(&filter)?;
    let out = json!({ "count": entries.len(), "entries": entries });
    args.output.print(&out, |v| {
        let columns = [
            "id",
            "at",
            "user",
            "action",
            "meter",
            "reading_type",
            "first_interval_end",
            "last_interval_end",
            "reason",
            "detail",
        ];
        let mut t = Table::new(&columns);
        for e in v["entries"].as_array().into_iter().flatten() {
            t.row(columns.iter().map(|k| cell(&e[*k])).collect());
        }
        t.render()
    })?;
    Ok(ExitCode::SUCCESS)
}
