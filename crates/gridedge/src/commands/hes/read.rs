//! `gridedge hes read --serial S --force`: the operator's forced read ("meter-read
//! --force" of the operations guides). The read runs now, in this process, as an
//! on-demand job (recorded in the job history, counted in the meter's health, not held
//! back by the circuit breaker or a suspended status); the readings go to the MDMS and
//! are printed. Without `--force` the job is queued at the highest priority for the
//! running scheduler (`gridedge hes run`) and its id printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hes::key_store::DEFAULT_HES_SYSTEM_TITLE;
use hes::registry_store::RegistryStore;
use hes::registry_store::record::parse_system_title;
use hes::scheduler::{
    DlmsExecutor, ExecutorConfig, JobExecutor, JobKind, JobSpec, JobStore, Priority, ReadingSink, SchedulerConfig,
    SinkError, record_outcome,
};
use hes::session::SessionTimeouts;
use jiff::{SignedDuration, Timestamp};
use model::{MeterId, MeterReading, ReadingType};
use serde_json::json;

use super::mdms_sink::MdmsSink;
use super::{DbArg, KekArg, print_json};

/// Arguments of `gridedge hes read`.
#[derive(Args)]
pub struct HesReadArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    kek: KekArg,
    /// The meter.
    #[arg(long)]
    serial: String,
    /// Read now in this process, whatever the breaker and status say.
    #[arg(long)]
    force: bool,
    /// The MDMS database the readings go to (with --force).
    #[arg(long, required_if_eq("force", "true"))]
    mdms_db: Option<PathBuf>,
    /// Days of load profile to read when the MDMS holds none of the meter.
    #[arg(long, default_value_t = 1)]
    history_days: u32,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// The HES's system title, 16 hex digits.
    #[arg(long)]
    hes_system_title: Option<String>,
}

/// A sink that passes readings on and keeps a copy to print.
struct Recording {
    inner: MdmsSink,
    seen: Mutex<Vec<MeterReading>>,
}

impl ReadingSink for Recording {
    fn last_interval_end(&self, meter: &MeterId, t: ReadingType) -> Result<Option<Timestamp>, SinkError> {
        self.inner.last_interval_end(meter, t)
    }

    fn has_register_read(&self, meter: &MeterId, t: ReadingType, since: Timestamp) -> Result<bool, SinkError> {
        self.inner.has_register_read(meter, t, since)
    }

    fn deliver(&self, reading: &MeterReading) -> Result<(), SinkError> {
        self.inner.deliver(reading)?;
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).push(reading.clone());
        Ok(())
    }
}

/// Runs `gridedge hes read`.
pub fn run(a: HesReadArgs) -> anyhow::Result<ExitCode> {
    let registry = RegistryStore::open(&a.db.db)?;
    registry.require(&a.serial)?;
    let mut jobs = JobStore::open(&a.db.db)?;
    let now = Timestamp::now();
    let spec = JobSpec {
        serial: a.serial.clone(),
        kind: JobKind::OnDemand,
        priority: Priority::OnDemand,
        cycle: None,
        due_at: now,
        billing_instant: None,
    };
    if !a.force {
        let queued = jobs.enqueue(&spec, now)?;
        print_json(&json!({ "queued": queued.id, "serial": a.serial }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mdms = a.mdms_db.as_ref().context("--force needs --mdms-db")?;
    let keys = a.kek.open_optional(&a.db.db)?;
    let sink = Arc::new(Recording { inner: MdmsSink::open(mdms)?, seen: Mutex::new(Vec::new()) });
    let config = ExecutorConfig {
        timeouts: SessionTimeouts { connect: Duration::from_secs(a.timeout), response: Duration::from_secs(a.timeout) },
        history: SignedDuration::from_hours(24 * i64::from(a.history_days.max(1))),
        hes_system_title: match &a.hes_system_title {
            Some(t) => parse_system_title(t)?,
            None => DEFAULT_HES_SYSTEM_TITLE,
        },
        ..ExecutorConfig::default()
    };
    let executor = DlmsExecutor::new(registry, keys, sink.clone(), config)?;
    let job = jobs.claim_new(&spec, now)?;
    let rt = super::super::runtime()?;
    let result = rt.block_on(executor.execute(job.clone()));
    record_outcome(&mut jobs, &job, &result, &SchedulerConfig::default(), Timestamp::now())?;
    let seen = sink.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let registers: Vec<_> = seen
        .iter()
        .flat_map(|r| &r.registers)
        .map(|r| {
            json!({ "reading_type": r.reading_type, "value": r.value, "unit": r.reading_type.unit().symbol(),
                    "read_at": r.read_at.to_string() })
        })
        .collect();
    let last_interval = seen.iter().flat_map(|r| &r.intervals).map(|i| i.interval_end).max();
    match result {
        Ok(outcome) => {
            print_json(&json!({
                "job": job.id,
                "serial": a.serial,
                "outcome": outcome,
                "registers": registers,
                "last_interval_end": last_interval.map(|t| t.to_string()),
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            print_json(&json!({ "job": job.id, "serial": a.serial, "error": failure.error }))?;
            Ok(ExitCode::FAILURE)
        }
    }
}
