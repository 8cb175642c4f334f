//! `gridedge hes run`: the scheduler over the fleet of the registry, delivering to the
//! MDMS. With `--once` it plans the current daily collection cycle (every scheduled
//! meter's billing read with its load-profile catch-up), runs it with its retries, prints
//! a JSON report and exits (exit code 1 when some job failed). Without it, it runs until
//! interrupted, re-planning every minute (a new local day creates the next billing jobs).
//! A killed run loses nothing: the next run re-queues the jobs that were running, and
//! they resume from the MDMS's last stored interval.
//!
//! With `--config FILE` it runs instead as one HES process of a scale-out deployment
//! (shard leases, readings and events to the bus, commands from the bus): see
//! [`service`].

#[path = "run_service.rs"]
pub mod service;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hes::key_store::DEFAULT_HES_SYSTEM_TITLE;
use hes::registry_store::record::parse_system_title;
use hes::registry_store::{MeterFilter, RegistryStore};
use hes::scheduler::{
    BreakerConfig, DlmsExecutor, ExecutorConfig, JobStore, Limits, PlanConfig, RetryPolicy, RunMode, Scheduler,
    SchedulerConfig, TokioClock, plan_jobs,
};
use hes::session::SessionTimeouts;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::mdms_sink::MdmsSink;
use super::{KekArg, print_json};

/// Arguments of `gridedge hes run`.
#[derive(Args)]
pub struct RunArgs {
    /// The HES database (registry, keys, jobs), SQLite; created if missing. With
    /// `--config`, default: `[hes] registry` of the file.
    #[arg(long, visible_alias = "registry", env = "GRIDEDGE_HES_DB", required_unless_present = "config")]
    db: Option<PathBuf>,
    #[command(flatten)]
    kek: KekArg,
    /// The MDMS database (SQLite) the readings go to (not with `--config`: readings then
    /// go to the bus).
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    mdms_db: Option<PathBuf>,
    /// The deployment's TOML file (`[bus]`, `[store]`, `[hes]`): run as one HES of the
    /// fleet's shards, publishing to and consuming from the bus, until SIGINT or SIGTERM.
    #[arg(long, conflicts_with = "once")]
    config: Option<PathBuf>,
    /// Run one daily collection cycle and exit.
    #[arg(long)]
    once: bool,
    /// Spread each day's jobs over this many seconds after the meters' local midnight.
    #[arg(long, default_value_t = 7200)]
    jitter_s: u64,
    /// Days of load profile to read from a meter the MDMS holds nothing of.
    #[arg(long, default_value_t = 7)]
    history_days: u32,
    /// Hours of load profile per GET during catch-up.
    #[arg(long, default_value_t = 24)]
    chunk_hours: u32,
    /// Sessions open at once (default 64; with `--config`, `[hes] concurrency`).
    #[arg(long)]
    max_sessions: Option<usize>,
    /// Sessions at once through one DCU.
    #[arg(long, default_value_t = 8)]
    per_dcu: usize,
    /// Sessions at once on one shared link.
    #[arg(long, default_value_t = 4)]
    per_link: usize,
    /// Attempts per job.
    #[arg(long, default_value_t = 4)]
    max_attempts: u32,
    /// First retry delay, milliseconds (doubles per attempt, plus up to 50 % jitter).
    #[arg(long, default_value_t = 30_000)]
    backoff_base_ms: u64,
    /// Largest retry delay, seconds.
    #[arg(long, default_value_t = 900)]
    backoff_max_s: u64,
    /// Consecutive failures that open a meter's circuit breaker.
    #[arg(long, default_value_t = 5)]
    breaker_threshold: u32,
    /// Seconds an open breaker holds a meter's jobs back.
    #[arg(long, default_value_t = 1800)]
    breaker_cooldown_s: u64,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
    /// Also read instantaneous values every this many seconds (daemon mode).
    #[arg(long)]
    instantaneous_every_s: Option<u64>,
    /// Also catch up load profiles every this many seconds (daemon mode).
    #[arg(long)]
    load_profile_every_s: Option<u64>,
    /// The HES's system title, 16 hex digits.
    #[arg(long)]
    hes_system_title: Option<String>,
}

/// Runs `gridedge hes run`.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    if a.config.is_some() {
        return service::run(a);
    }
    let (Some(db), Some(mdms_db)) = (a.db.clone(), a.mdms_db.clone()) else {
        anyhow::bail!("hes run needs --db and --mdms-db (or --config)");
    };
    let registry = RegistryStore::open(&db)?;
    let keys = a.kek.open_optional(&db)?;
    let sink = Arc::new(MdmsSink::open(&mdms_db)?);
    let executor = Arc::new(DlmsExecutor::new(registry, keys, sink, executor_config(&a)?)?);
    let config = scheduler_config(&a, a.max_sessions.unwrap_or(64));
    let plan_config = plan_config(&a);
    let planner_registry = RegistryStore::open(&db)?;
    let plan_reports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let reports = plan_reports.clone();
    let planner: hes::scheduler::runner::PlannerHook = Box::new(move |store: &mut JobStore, now: Timestamp| {
        let meters: Vec<_> = planner_registry
            .list(&MeterFilter { scheduled_only: true, ..MeterFilter::default() })?
            .into_iter()
            .map(|m| m.record)
            .collect();
        let report = plan_jobs(store, &meters, now, &plan_config)?;
        if report.created > 0 {
            tracing::info!(created = report.created, meters = report.meters, "planned jobs");
        }
        reports.lock().unwrap_or_else(|p| p.into_inner()).push(report);
        Ok(())
    });
    let rt = super::super::runtime()?;
    let out = rt.block_on(async move {
        let store = JobStore::open(&db)?;
        let every = if a.once { Duration::MAX } else { Duration::from_secs(60) };
        let mut scheduler =
            Scheduler::new(store, executor, TokioClock::from_wall_clock(), config).with_planner(every, planner);
        let mode = if a.once {
            // Retries (up to the largest backoff plus its jitter) belong to the cycle;
            // jobs behind an open breaker wait for the next run.
            RunMode::UntilIdle { horizon: config.retry.backoff_max.mul_f64(1.5) + Duration::from_secs(1) }
        } else {
            RunMode::Forever
        };
        if !a.once {
            println!("hes scheduler running (Ctrl-C to stop)");
        }
        let report = scheduler
            .run(mode, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        let counts = scheduler.store().counts()?;
        anyhow::Ok((report, counts))
    })?;
    let (report, counts) = out;
    let plans = plan_reports.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let failed = report.failed;
    print_json(&json!({ "plan": plans.first(), "run": report, "jobs": counts }))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The executor settings from the arguments.
fn executor_config(a: &RunArgs) -> anyhow::Result<ExecutorConfig> {
    Ok(ExecutorConfig {
        timeouts: SessionTimeouts {
            connect: Duration::from_secs(a.timeout_s),
            response: Duration::from_secs(a.timeout_s),
        },
        history: SignedDuration::from_hours(24 * i64::from(a.history_days.max(1))),
        chunk: SignedDuration::from_hours(i64::from(a.chunk_hours.max(1))),
        hes_system_title: match &a.hes_system_title {
            Some(t) => parse_system_title(t)?,
            None => DEFAULT_HES_SYSTEM_TITLE,
        },
    })
}

/// The scheduler settings from the arguments, with `max_sessions` sessions at most.
fn scheduler_config(a: &RunArgs, max_sessions: usize) -> SchedulerConfig {
    SchedulerConfig {
        limits: Limits { max_sessions: max_sessions.max(1), per_dcu: a.per_dcu.max(1), per_link: a.per_link.max(1) },
        retry: RetryPolicy {
            max_attempts: a.max_attempts.max(1),
            backoff_base: Duration::from_millis(a.backoff_base_ms),
            backoff_max: Duration::from_secs(a.backoff_max_s),
        },
        breaker: BreakerConfig {
            failure_threshold: a.breaker_threshold.max(1),
            cool_down: Duration::from_secs(a.breaker_cooldown_s),
        },
    }
}

/// The planning settings from the arguments.
fn plan_config(a: &RunArgs) -> PlanConfig {
    PlanConfig {
        jitter: Duration::from_secs(a.jitter_s),
        instantaneous_every: a.instantaneous_every_s.map(Duration::from_secs),
        load_profile_every: a.load_profile_every_s.map(Duration::from_secs),
    }
}
