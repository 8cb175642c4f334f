//! `gridedge hes jobs`: scheduler jobs, their attempt history and the meters' health
//! (consecutive failures, circuit breaker).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use hes::scheduler::{JobFilter, JobKind, JobState, JobStore};
use serde_json::json;

use super::{DbArg, print_json};

/// Arguments of `gridedge hes jobs`.
#[derive(Args)]
pub struct JobsArgs {
    /// What to show.
    #[command(subcommand)]
    pub command: JobsCommand,
}

/// `gridedge hes jobs` subcommands.
#[derive(Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first, with counts per state.
    List(JobsListArgs),
    /// Attempts, newest first.
    History(HistoryArgs),
    /// Meters with failures or a non-closed circuit breaker.
    Health(HealthArgs),
}

/// `hes jobs list`.
#[derive(Args)]
pub struct JobsListArgs {
    #[command(flatten)]
    db: DbArg,
    /// Only this meter.
    #[arg(long)]
    serial: Option<String>,
    /// Only this state (queued, running, succeeded, failed, superseded).
    #[arg(long)]
    state: Option<String>,
    /// Only this kind (daily_billing, load_profile, instantaneous, on_demand).
    #[arg(long)]
    kind: Option<String>,
    /// At most this many jobs.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// `hes jobs history`.
#[derive(Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    db: DbArg,
    /// Only this meter.
    #[arg(long)]
    serial: Option<String>,
    /// At most this many attempts.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// `hes jobs health`.
#[derive(Args)]
pub struct HealthArgs {
    #[command(flatten)]
    db: DbArg,
}

/// Runs `gridedge hes jobs`.
pub fn run(args: JobsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        JobsCommand::List(a) => {
            let store = JobStore::open(&a.db.db)?;
            let filter = JobFilter {
                serial: a.serial,
                state: a.state.as_deref().map(str::parse::<JobState>).transpose().map_err(anyhow::Error::msg)?,
                kind: a.kind.as_deref().map(str::parse::<JobKind>).transpose().map_err(anyhow::Error::msg)?,
                limit: Some(a.limit),
            };
            print_json(&json!({ "counts": store.counts()?, "jobs": store.list(&filter)? }))?;
        }
        JobsCommand::History(a) => {
            let store = JobStore::open(&a.db.db)?;
            print_json(&store.history(a.serial.as_deref(), Some(a.limit))?)?;
        }
        JobsCommand::Health(a) => {
            let store = JobStore::open(&a.db.db)?;
            print_json(&store.unhealthy()?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
