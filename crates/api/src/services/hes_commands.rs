//! [`CommandService`] that carries commands out in this process with the HES's tracked
//! command service (`hes::commands::CommandService`): each accepted command is recorded
//! `queued` in the [`CommandLog`], then a tokio task opens a management association with
//! the meter (the registry's [`MeterRegistry::command_endpoint`]) and runs it — `sent`,
//! then `confirmed` with the meter's read-back or `failed` with the reason. One command at
//! a time per meter (in order), at most [`HesCommands::CONCURRENCY`] meters at once.
//!
//! A confirmed disconnect or reconnect is also recorded as an end device event
//! (`3.31.0.68` relay disconnected / `3.31.0.42` relay connected, source `command`); every
//! outcome is counted in `gridedge_commands_total{kind, outcome}` and each association in
//! the HES session metrics.
//!
//! Restart: commands still `queued` or `sent` when the process stopped are marked `failed`
//! ([`super::commands::INTERRUPTED`]) when the service starts, never re-sent blindly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hes::SessionTimeouts;
use hes::commands::CommandRequest;
use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use tokio::sync::Semaphore;

use super::commands::{
    CommandFilter, CommandHistoryEntry, CommandKind, CommandLog, CommandRecord, CommandService, CommandState,
    prospective_record,
};
use super::events::EventSource;
use super::registry::MeterRegistry;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What happens after a command finished: relay events and metrics (shared with the bus
/// implementation).
#[derive(Clone)]
pub struct CommandOutcomes {
    /// Where relay events go.
    pub events: Arc<dyn EventSource>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl CommandOutcomes {
    /// Counts `record`'s outcome and, for a confirmed relay command, records the end
    /// device event.
    pub fn finished(&self, record: &CommandRecord) {
        self.metrics.command_finished(record.kind.as_str(), record.state.as_str());
        if record.state != CommandState::Confirmed {
            return;
        }
        let event_type = match record.kind {
            CommandKind::Disconnect => EndDeviceEventType::RELAY_DISCONNECTED,
            CommandKind::Reconnect => EndDeviceEventType::RELAY_CONNECTED,
            _ => return,
        };
        let at = record.finished_at.unwrap_or_else(Timestamp::now);
        let mut event =
            EndDeviceEvent::new(MeterId(record.meter.clone()), event_type, at, at, EndDeviceEvent::SOURCE_COMMAND);
        event.details.insert("commandId".into(), record.id.to_string());
        if let Some(state) = record.relay_state {
            event.details.insert("controlState".into(), state.as_str().into());
        }
        if let Err(e) = self.events.record(&[event]) {
            tracing::warn!(command = record.id, error = %e.message, "could not record the relay event");
        }
    }
}

/// The in-process command service (see the module docs).
pub struct HesCommands {
    log: Arc<CommandLog>,
    registry: Arc<dyn MeterRegistry>,
    outcomes: CommandOutcomes,
    limit: Arc<Semaphore>,
    meters: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for HesCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HesCommands").finish_non_exhaustive()
    }
}

impl HesCommands {
    /// Meters served at once.
    pub const CONCURRENCY: usize = 16;

    /// A service recording in the command store at `path` (`None`: in memory), reaching
    /// meters through `registry` with `timeouts`. Must be called inside a tokio runtime.
    /// Marks interrupted commands failed.
    ///
    /// Errors: 500 when the store cannot be opened or recovered, or outside a runtime.
    pub fn new(
        path: Option<&std::path::Path>,
        registry: Arc<dyn MeterRegistry>,
        timeouts: SessionTimeouts,
        outcomes: CommandOutcomes,
    ) -> Result<HesCommands, ApiError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ApiError::internal("starting the command service outside a tokio runtime", e))?;
        let log = match path {
            Some(p) => CommandLog::open(p, timeouts)?,
            None => CommandLog::in_memory(timeouts)?,
        };
        let interrupted = log.fail_unfinished()?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "commands interrupted by a restart were marked failed");
        }
        Ok(HesCommands {
            log: Arc::new(log),
            registry,
            outcomes,
            limit: Arc::new(Semaphore::new(Self::CONCURRENCY)),
            meters: Mutex::new(HashMap::new()),
            runtime,
        })
    }

    /// The command log (e.g. to open the same store elsewhere).
    pub fn log(&self) -> &Arc<CommandLog> {
        &self.log
    }

    fn meter_lock(&self, meter: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut meters = self.meters.lock().unwrap_or_else(|p| p.into_inner());
        meters.entry(meter.to_string()).or_default().clone()
    }
}

impl CommandService for HesCommands {
    fn submit(&self, meter: &MeterId, request: &CommandRequest, issued_by: &str) -> Result<CommandRecord, ApiError> {
        let endpoint = self
            .registry
            .command_endpoint(meter)?
            .ok_or_else(|| ApiError::not_found(format!("meter {meter} is not in the HES registry")))?;
        let id = self.log.enqueue(meter, request, issued_by)?;
        let record = self.log.get(id)?.ok_or_else(|| ApiError::internal("storing a command", "it vanished"))?;
        // Taken now, in submission order: the meter's commands run one after the other.
        let turn = self.meter_lock(&meter.0);
        let (hes, log, limit, outcomes, metrics) = (
            self.log.service().clone(),
            self.log.clone(),
            self.limit.clone(),
            self.outcomes.clone(),
            self.outcomes.metrics.clone(),
        );
        let request = request.clone();
        self.runtime.spawn(async move {
            let _turn = turn.lock_owned().await;
            let Ok(_permit) = limit.acquire_owned().await else { return };
            let started = Instant::now();
            metrics.session_started();
            // Metrics and the relay event are recorded before the command reads final.
            let finished = std::sync::atomic::AtomicBool::new(false);
            let before_final = |state: &hes::commands::CommandState, report: &serde_json::Value| {
                finished.store(true, std::sync::atomic::Ordering::Relaxed);
                metrics.session_finished(*state == hes::commands::CommandState::Confirmed, started.elapsed());
                match prospective_record(log.store(), id, state, report, Timestamp::now()) {
                    Ok(Some(record)) => {
                        tracing::info!(command = id, meter = %record.meter, kind = record.kind.as_str(),
                            state = record.state.as_str(), "command finished");
                        outcomes.finished(&record);
                    }
                    Ok(None) => tracing::error!(command = id, "a finishing command vanished from the store"),
                    Err(e) => tracing::error!(command = id, error = %e.message, "cannot read a finishing command"),
                }
            };
            if let Err(e) = hes.carry_out_then(id, &endpoint, &request, before_final).await {
                tracing::error!(command = id, error = %e, "the command store failed");
                if !finished.load(std::sync::atomic::Ordering::Relaxed) {
                    metrics.session_finished(false, started.elapsed());
                }
            }
        });
        Ok(record)
    }

    fn get(&self, id: i64) -> Result<Option<CommandRecord>, ApiError> {
        self.log.get(id)
    }

    fn history(&self, id: i64) -> Result<Vec<CommandHistoryEntry>, ApiError> {
        self.log.history(id)
    }

    fn list(&self, filter: &CommandFilter, before: Option<i64>, limit: u32) -> Result<Vec<CommandRecord>, ApiError> {
        self.log.list(filter, before, limit)
    }
}
