//! Running one attempt of a job: the [`JobExecutor`] trait the runner drives, and
//! [`DlmsExecutor`], which reads real meters (registry → endpoint with keys → session
//! with pending-key recovery → [`super::reader::read_meter`] → release).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use dlms::security::SystemTitle;
use jiff::SignedDuration;
use model::MeterId;

use super::job::{Job, JobFailure, JobOutcome};
use super::reader::{ReadPlan, read_meter};
use super::sink::ReadingSink;
use crate::key_store::{DEFAULT_HES_SYSTEM_TITLE, KeyStore, endpoint_candidates, open_with_recovery};
use crate::registry_store::{MeterFilter, MeterRecord, MeterStatus, RegistryError, RegistryStore};
use crate::session::{SessionError, SessionTimeouts};

/// Where a meter's sessions go through, for the concurrency limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Its data concentrator.
    pub dcu: Option<String>,
    /// Its shared link.
    pub link: Option<String>,
}

/// Runs job attempts for the scheduler.
pub trait JobExecutor: Send + Sync + 'static {
    /// The meter's DCU and link.
    fn placement(&self, serial: &str) -> Placement;

    /// Runs one attempt of `job` (its `attempts` already counts this one).
    fn execute(&self, job: Job) -> impl Future<Output = Result<JobOutcome, JobFailure>> + Send;
}

/// Settings of [`DlmsExecutor`].
#[derive(Debug, Clone, Copy)]
pub struct ExecutorConfig {
    /// Session timeouts.
    pub timeouts: SessionTimeouts,
    /// How far back to read a profile the MDMS holds nothing of.
    pub history: SignedDuration,
    /// Profile range per GET during catch-up.
    pub chunk: SignedDuration,
    /// The HES's system title.
    pub hes_system_title: SystemTitle,
}

impl Default for ExecutorConfig {
    /// Default timeouts, 7 days of history, 1-day chunks, gridedge's system title.
    fn default() -> Self {
        ExecutorConfig {
            timeouts: SessionTimeouts::default(),
            history: SignedDuration::from_hours(24 * 7),
            chunk: SignedDuration::from_hours(24),
            hes_system_title: DEFAULT_HES_SYSTEM_TITLE,
        }
    }
}

/// Reads meters of a [`RegistryStore`] over DLMS/COSEM and delivers to a
/// [`ReadingSink`]. Records are taken from the registry when the executor is built (and
/// by [`DlmsExecutor::refresh`]); a provisioned meter becomes active after its first
/// successful read.
pub struct DlmsExecutor {
    registry: Mutex<RegistryStore>,
    records: Mutex<HashMap<String, MeterRecord>>,
    keys: Option<KeyStore>,
    sink: Arc<dyn ReadingSink>,
    config: ExecutorConfig,
}

fn permanent(error: impl std::fmt::Display) -> JobFailure {
    JobFailure { error: error.to_string(), transient: false }
}

impl DlmsExecutor {
    /// An executor over `registry` (every meter is loaded), `keys` (needed for ciphered
    /// or LLS meters) and `sink`.
    ///
    /// # Errors
    /// [`RegistryError`] when the registry cannot be read.
    pub fn new(
        registry: RegistryStore,
        keys: Option<KeyStore>,
        sink: Arc<dyn ReadingSink>,
        config: ExecutorConfig,
    ) -> Result<Self, RegistryError> {
        let executor =
            DlmsExecutor { registry: Mutex::new(registry), records: Mutex::new(HashMap::new()), keys, sink, config };
        executor.refresh()?;
        Ok(executor)
    }

    /// Reloads the meters from the registry.
    ///
    /// # Errors
    /// [`RegistryError`].
    pub fn refresh(&self) -> Result<usize, RegistryError> {
        let all = self.registry.lock().unwrap_or_else(|p| p.into_inner()).list(&MeterFilter::default())?;
        let map: HashMap<String, MeterRecord> =
            all.into_iter().map(|m| (m.record.serial.0.clone(), m.record)).collect();
        let n = map.len();
        *self.records.lock().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(n)
    }

    fn record(&self, serial: &str) -> Option<MeterRecord> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).get(serial).cloned()
    }

    async fn run(&self, job: Job) -> Result<JobOutcome, JobFailure> {
        let record = self
            .record(&job.serial)
            .ok_or_else(|| permanent(format!("meter {} is not in the registry", job.serial)))?;
        match record.status {
            MeterStatus::Decommissioned => return Err(permanent("the meter is decommissioned")),
            MeterStatus::Suspended if !job.kind.is_forced() => return Err(permanent("the meter is suspended")),
            _ => {}
        }
        let keys = self.keys.clone();
        let title = self.config.hes_system_title;
        let rec = record.clone();
        let candidates = tokio::task::spawn_blocking(move || endpoint_candidates(&rec, keys.as_ref(), title))
            .await
            .map_err(|e| JobFailure { error: e.to_string(), transient: true })?
            .map_err(permanent)?;
        let opened = open_with_recovery(&candidates, self.keys.as_ref(), self.config.timeouts).await.map_err(|e| {
            let transient =
                matches!(e, SessionError::Connect { .. } | SessionError::Timeout(..) | SessionError::Transport(_));
            JobFailure { error: format!("association: {e}"), transient }
        })?;
        let mut session = opened.session;
        let plan = ReadPlan {
            scope: job.kind.scope(),
            meter_type: record.meter_type,
            history: self.config.history,
            chunk: self.config.chunk,
            billing_instant: job.billing_instant,
        };
        let mut outcome = read_meter(&mut session, &MeterId(job.serial.clone()), &plan, &self.sink)
            .await
            .map_err(|e| JobFailure { transient: e.is_transient(), error: e.to_string() })?;
        if let Err(e) = session.release().await {
            outcome.notes.push(format!("release failed: {e}"));
        }
        outcome.key_generation = opened.generation;
        if opened.recovered_rotation {
            outcome.notes.push("the pending keys of an interrupted rotation were confirmed and committed".into());
        }
        if record.status == MeterStatus::Provisioned {
            let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = registry.mark_commissioned(&job.serial) {
                outcome.notes.push(format!("cannot mark the meter active: {e}"));
            }
        }
        Ok(outcome)
    }
}

impl JobExecutor for DlmsExecutor {
    fn placement(&self, serial: &str) -> Placement {
        self.record(serial).map(|r| Placement { dcu: r.dcu, link: r.link }).unwrap_or_default()
    }

    fn execute(&self, job: Job) -> impl Future<Output = Result<JobOutcome, JobFailure>> + Send {
        self.run(job)
    }
}
