//! [`CommandService`] for the scale-out deployment: the API does not talk to meters; it
//! records each accepted command in its [`CommandLog`] (`queued`), publishes it on the bus
//! as a [`bus::CommandEnvelope`] (stream `Commands`, keyed by the meter's shard, so the HES
//! holding that shard's lease carries it out) and follows it from the
//! [`bus::CommandResultEnvelope`]s the HES publishes on `CommandResults`
//! (`queued` → `sent` → `confirmed` | `failed`), consumed with a durable consumer of its
//! own ([`BusCommands::results_consumer`]).
//!
//! Ids: the envelope's `command_id` is `<instance>-<id>` (e.g. `api-42`), unique per
//! deployment as long as each API process has its own instance name; results of other
//! instances' commands are acknowledged and ignored.
//!
//! Delivery: publishing waits for the bus's acknowledgement and is retried with the same
//! message id (`cmd/<command_id>`, so the bus drops a repeat); a command that cannot be
//! published after [`BusCommands::PUBLISH_ATTEMPTS`] attempts fails with the reason.
//! A result is acknowledged only after its state change is committed; a repeated or late
//! result (a state the command already passed, or any after a final state) changes
//! nothing. Unlike the in-process service, a restart of the API does not fail unfinished
//! commands: the HES is still carrying them out and its results wait in the stream.

use std::sync::Arc;
use std::time::Duration;

use bus::{CommandEnvelope, CommandResultEnvelope, CommandResultState, Delivery, Publisher, Subscriber};
use hes::commands::CommandRequest;
use jiff::Timestamp;
use model::MeterId;

use super::commands::{
    CommandFilter, CommandHistoryEntry, CommandLog, CommandRecord, CommandService, prospective_record,
};
use super::hes_commands::CommandOutcomes;
use super::registry::MeterRegistry;
use crate::error::ApiError;

/// The bus command service (see the module docs).
pub struct BusCommands<P: Publisher> {
    log: Arc<CommandLog>,
    publisher: P,
    shards: u32,
    instance: String,
    registry: Option<Arc<dyn MeterRegistry>>,
    outcomes: CommandOutcomes,
    runtime: tokio::runtime::Handle,
}

impl<P: Publisher> std::fmt::Debug for BusCommands<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusCommands")
            .field("instance", &self.instance)
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

/// What one result did to its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultEffect {
    /// The command moved to the result's state (or the HES's `queued` was noted).
    Applied,
    /// The command is already in that state, further along, or final.
    Stale,
    /// Not one of this instance's commands.
    NotOurs,
}

impl<P: Publisher> BusCommands<P> {
    /// Publishing attempts before a command fails.
    pub const PUBLISH_ATTEMPTS: u32 = 5;

    /// A service recording in `log`, publishing with `publisher` for a fleet of `shards`
    /// shards (the HES's `hes.shards`), as API instance `instance` (letters, digits, `_`;
    /// 1..=32). When `registry` is given, commands for meters it does not know are refused
    /// (404). Must be called inside a tokio runtime.
    ///
    /// Errors: 422 for an invalid instance name or 0 shards; 500 outside a runtime.
    pub fn new(
        log: Arc<CommandLog>,
        publisher: P,
        shards: u32,
        instance: &str,
        registry: Option<Arc<dyn MeterRegistry>>,
        outcomes: CommandOutcomes,
    ) -> Result<BusCommands<P>, ApiError> {
        if instance.is_empty()
            || instance.len() > 32
            || !instance.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ApiError::unprocessable("the API instance name must be 1..=32 letters, digits or _"));
        }
        if shards == 0 {
            return Err(ApiError::unprocessable("shards must be at least 1"));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ApiError::internal("starting the bus command service outside a tokio runtime", e))?;
        Ok(BusCommands { log, publisher, shards, instance: instance.to_string(), registry, outcomes, runtime })
    }

    /// The durable consumer of the command results: `<instance>-command-results`.
    pub fn results_consumer(&self) -> String {
        format!("{}-command-results", self.instance)
    }

    /// The bus id of command `id`: `<instance>-<id>`.
    pub fn command_id(&self, id: i64) -> String {
        format!("{}-{id}", self.instance)
    }

    /// The log id of bus command id `command_id`, `None` for another instance's command.
    pub fn local_id(&self, command_id: &str) -> Option<i64> {
        command_id.strip_prefix(&self.instance)?.strip_prefix('-')?.parse().ok()
    }

    /// Records the outcome (relay event, metrics) of command `id`, then its final `state`:
    /// whoever sees the command final also sees its outcome. The outcome carries the HES's
    /// time `at`, so a result delivered again records the same event.
    fn finish(
        &self,
        id: i64,
        state: &hes::commands::CommandState,
        report: &serde_json::Value,
        at: Timestamp,
    ) -> Result<(), ApiError> {
        if let Some(record) = prospective_record(self.log.store(), id, state, report, at)? {
            self.outcomes.finished(&record);
        }
        self.log.store().transition(id, state, report).map_err(|e| ApiError::internal("recording a command result", e))
    }

    /// Applies one result to its command (see the module docs).
    ///
    /// Errors: 500 when the log cannot be written (the result must be delivered again).
    pub fn apply(&self, result: &CommandResultEnvelope) -> Result<ResultEffect, ApiError> {
        use hes::commands::CommandState as H;
        let Some(id) = self.local_id(&result.command_id) else { return Ok(ResultEffect::NotOurs) };
        let Some(current) = self.log.get(id)? else {
            tracing::warn!(command = %result.command_id, "a result for a command this API does not know");
            return Ok(ResultEffect::NotOurs);
        };
        use super::commands::CommandState as S;
        let store = self.log.store();
        let detail = serde_json::json!({"hes_state": result.state.as_str(), "at": result.at, "detail": result.detail});
        let changed = match (current.state, result.state) {
            (S::Confirmed | S::Failed, _) => false,
            (S::Queued, CommandResultState::Queued) => {
                store.note(id, &detail).map_err(|e| ApiError::internal("recording a command result", e))?;
                true
            }
            (S::Sent, CommandResultState::Queued | CommandResultState::Sent) => false,
            (S::Queued, CommandResultState::Sent) => {
                store
                    .transition(id, &H::Sent, &detail)
                    .map_err(|e| ApiError::internal("recording a command result", e))?;
                true
            }
            (_, CommandResultState::Confirmed) => {
                self.finish(id, &H::Confirmed, &result.detail, result.at)?;
                true
            }
            (_, CommandResultState::Failed) => {
                let reason = result.reason.clone().unwrap_or_else(|| "failed at the HES (no reason given)".into());
                self.finish(id, &H::Failed(reason), &serde_json::Value::Null, result.at)?;
                true
            }
        };
        if !changed {
            return Ok(ResultEffect::Stale);
        }
        Ok(ResultEffect::Applied)
    }

    /// Consumes command results from `subscriber` (the durable consumer
    /// [`BusCommands::results_consumer`]) until the bus closes: each result is applied,
    /// then acknowledged; one that does not decode is terminated; one whose change cannot
    /// be committed is delivered again after a second.
    ///
    /// Errors: [`bus::BusError`] when fetching fails for good (closed bus).
    pub async fn follow_results<S: Subscriber>(self: Arc<Self>, mut subscriber: S) -> Result<(), bus::BusError> {
        loop {
            let batch = match subscriber.fetch(64, Duration::from_secs(1)).await {
                Ok(b) => b,
                Err(bus::BusError::Closed) => return Err(bus::BusError::Closed),
                Err(e) => {
                    tracing::warn!(error = %e, "fetching command results failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            for delivery in batch {
                let result = match delivery.message().decode::<CommandResultEnvelope>() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "a command result does not decode; dropped");
                        let _ = delivery.term().await;
                        continue;
                    }
                };
                let this = self.clone();
                let applied = tokio::task::spawn_blocking(move || this.apply(&result)).await;
                let outcome = match applied {
                    Ok(Ok(_)) => delivery.ack().await,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e.message, "cannot record a command result; will retry");
                        delivery.nak(Duration::from_secs(1)).await
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "recording a command result panicked; will retry");
                        delivery.nak(Duration::from_secs(1)).await
                    }
                };
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "acknowledging a command result failed");
                }
            }
        }
    }

    fn envelope(
        &self,
        id: i64,
        meter: &MeterId,
        request: &CommandRequest,
        issued_by: &str,
    ) -> Result<CommandEnvelope, ApiError> {
        Ok(CommandEnvelope {
            command_id: self.command_id(id),
            meter: meter.0.clone(),
            issued_by: issued_by.to_string(),
            issued_at: Timestamp::now(),
            request: serde_json::to_value(request).map_err(|e| ApiError::internal("encoding a command", e))?,
        })
    }
}

async fn publish<P: Publisher>(publisher: P, log: Arc<CommandLog>, id: i64, message: bus::BusMessage, attempts: u32) {
    let mut last = String::new();
    for attempt in 1..=attempts {
        match publisher.publish(message.clone()).await {
            Ok(()) => return,
            Err(e) => {
                last = e.to_string();
                tracing::warn!(command = id, attempt, error = %e, "publishing a command failed");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    let reason = format!("could not publish the command on the bus: {last}");
    let failed = tokio::task::spawn_blocking(move || {
        // Only a command no HES has reported on yet is failed here.
        match log.get(id) {
            Ok(Some(r)) if r.state == super::commands::CommandState::Queued => log
                .store()
                .transition(id, &hes::commands::CommandState::Failed(reason), &serde_json::Value::Null)
                .map_err(|e| e.to_string()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.message),
        }
    })
    .await;
    if !matches!(failed, Ok(Ok(()))) {
        tracing::error!(command = id, "cannot record that a command could not be published");
    }
}

impl<P: Publisher> CommandService for BusCommands<P> {
    fn submit(&self, meter: &MeterId, request: &CommandRequest, issued_by: &str) -> Result<CommandRecord, ApiError> {
        if let Some(registry) = &self.registry
            && registry.get(meter)?.is_none()
        {
            return Err(ApiError::not_found(format!("meter {meter} is not in the HES registry")));
        }
        let id = self.log.enqueue(meter, request, issued_by)?;
        let message = self
            .envelope(id, meter, request, issued_by)?
            .to_message(self.shards)
            .map_err(|e| ApiError::internal("encoding a command", e))?;
        let record = self.log.get(id)?.ok_or_else(|| ApiError::internal("storing a command", "it vanished"))?;
        self.runtime.spawn(publish(self.publisher.clone(), self.log.clone(), id, message, Self::PUBLISH_ATTEMPTS));
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
