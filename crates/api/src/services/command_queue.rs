//! [`CommandService`] with the SQLite command table (`api_command`) and a
//! [`RelayControl`]: each accepted command is stored `queued`, delivered by a tokio task
//! (one command at a time per meter, at most [`CommandQueue::CONCURRENCY`] meters at
//! once), and its outcome stored. A confirmed relay operation is also recorded as an
//! end device event (`3.31.0.68` relay disconnected / `3.31.0.42` relay connected, source
//! `command`), and counted in `gridedge_commands_total`.
//!
//! Restart: commands still `queued` or `sent` when the process stopped are marked
//! `failed` ("interrupted by a restart; the meter's state is unknown") when the queue
//! opens, never re-sent blindly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use rusqlite::{OptionalExtension, params};
use tokio::sync::Semaphore;

use super::commands::{CommandKind, CommandRecord, CommandService, CommandState};
use super::events::EventSource;
use super::registry::MeterRegistry;
use super::relay::{RelayControl, RelayOperation, RelayState};
use crate::db::{ApiDb, from_ms, to_ms};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The reason given to commands a restart interrupted.
pub const INTERRUPTED: &str = "interrupted by a restart before confirmation; the meter's state is unknown";

/// The command queue (see the module docs).
pub struct CommandQueue {
    db: ApiDb,
    relay: Arc<dyn RelayControl>,
    registry: Arc<dyn MeterRegistry>,
    events: Arc<dyn EventSource>,
    metrics: Arc<Metrics>,
    limit: Arc<Semaphore>,
    /// Commands waiting per meter, in id order; a meter is in the map while its worker
    /// task runs (its commands are delivered one after the other).
    pending: Mutex<HashMap<String, VecDeque<(i64, CommandKind)>>>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for CommandQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandQueue").finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, meter, kind, state, issued_by, created_at_ms, sent_at_ms, finished_at_ms, reason, relay_state";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommandRecord> {
    let kind: String = r.get(2)?;
    let state: String = r.get(3)?;
    let relay: Option<String> = r.get(9)?;
    let bad = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, format!("unknown {what}").into())
    };
    Ok(CommandRecord {
        id: r.get(0)?,
        meter: r.get(1)?,
        kind: CommandKind::parse(&kind).ok_or_else(|| bad(2, "command kind"))?,
        state: CommandState::parse(&state).ok_or_else(|| bad(3, "command state"))?,
        issued_by: r.get(4)?,
        created_at: from_ms(r.get(5)?),
        sent_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
        finished_at: r.get::<_, Option<i64>>(7)?.map(from_ms),
        reason: r.get(8)?,
        relay_state: relay.as_deref().and_then(RelayState::parse),
    })
}

impl CommandQueue {
    /// Meters served at once.
    pub const CONCURRENCY: usize = 16;

    /// A queue on `db` delivering with `relay`; meters are checked against `registry`,
    /// confirmed operations recorded in `events`. Must be called inside a tokio runtime
    /// (delivery tasks are spawned on it). Marks interrupted commands failed.
    ///
    /// Errors: [`ApiError`] 500 when the table cannot be updated.
    pub fn new(
        db: ApiDb,
        relay: Arc<dyn RelayControl>,
        registry: Arc<dyn MeterRegistry>,
        events: Arc<dyn EventSource>,
        metrics: Arc<Metrics>,
    ) -> Result<CommandQueue, ApiError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ApiError::internal("starting the command queue outside a tokio runtime", e))?;
        let interrupted = db
            .lock()
            .execute(
                "UPDATE api_command SET state = 'failed', finished_at_ms = ?1, reason = ?2 \
                 WHERE state IN ('queued', 'sent')",
                params![to_ms(Timestamp::now()), INTERRUPTED],
            )
            .map_err(|e| ApiError::internal("recovering the command table", e))?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "commands interrupted by a restart were marked failed");
        }
        Ok(CommandQueue {
            db,
            relay,
            registry,
            events,
            metrics,
            limit: Arc::new(Semaphore::new(Self::CONCURRENCY)),
            pending: Mutex::new(HashMap::new()),
            runtime,
        })
    }

    fn update(&self, id: i64, sql: &str, values: &[&dyn rusqlite::ToSql]) {
        let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
        all.push(&id);
        if let Err(e) = self.db.lock().execute(sql, all.as_slice()) {
            tracing::error!(command = id, error = %e, "could not update a command");
        }
    }

    /// Queues command `id` for `meter`; starts the meter's worker when it has none.
    fn enqueue(self: &Arc<Self>, meter: &MeterId, id: i64, kind: CommandKind) {
        let start_worker = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            match pending.get_mut(&meter.0) {
                Some(queue) => {
                    queue.push_back((id, kind));
                    false
                }
                None => {
                    pending.insert(meter.0.clone(), VecDeque::from([(id, kind)]));
                    true
                }
            }
        };
        if start_worker {
            self.runtime.spawn(self.clone().work(meter.clone()));
        }
    }

    /// Delivers `meter`'s commands in order until its queue is empty.
    async fn work(self: Arc<Self>, meter: MeterId) {
        loop {
            let next = {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                let next = pending.get_mut(&meter.0).and_then(VecDeque::pop_front);
                if next.is_none() {
                    pending.remove(&meter.0);
                }
                next
            };
            let Some((id, kind)) = next else { return };
            self.deliver(id, &meter, kind).await;
        }
    }

    /// Delivers command `id` (runs on the runtime).
    async fn deliver(&self, id: i64, meter: &MeterId, kind: CommandKind) {
        let Ok(_permit) = self.limit.clone().acquire_owned().await else { return };
        let now = to_ms(Timestamp::now());
        self.update(id, "UPDATE api_command SET state = 'sent', sent_at_ms = ?1 WHERE id = ?2", &[&now]);
        let op = kind.relay_operation();
        let result = self.relay.operate(meter, op).await;
        let finished = Timestamp::now();
        let (state, reason, relay_state) = match result {
            Ok(readback) if readback.confirms(op) => {
                let event_type = match op {
                    RelayOperation::Disconnect => Some(EndDeviceEventType::RELAY_DISCONNECTED),
                    RelayOperation::Reconnect => Some(EndDeviceEventType::RELAY_CONNECTED),
                    RelayOperation::Status => None,
                };
                if let Some(event_type) = event_type {
                    let mut event = EndDeviceEvent::new(
                        meter.clone(),
                        event_type,
                        finished,
                        finished,
                        EndDeviceEvent::SOURCE_COMMAND,
                    );
                    event.details.insert("commandId".into(), id.to_string());
                    event.details.insert("controlState".into(), readback.control_state.as_str().into());
                    if let Err(e) = self.events.record(&[event]) {
                        tracing::warn!(command = id, error = %e.message, "could not record the relay event");
                    }
                }
                (CommandState::Confirmed, None, Some(readback.control_state))
            }
            Ok(readback) => (
                CommandState::Failed,
                Some(format!(
                    "the meter reports control_state {} and output_state {} after the ACTION",
                    readback.control_state.as_str(),
                    readback.output_state
                )),
                Some(readback.control_state),
            ),
            Err(reason) => (CommandState::Failed, Some(reason), None),
        };
        self.metrics.command_finished(kind.as_str(), state.as_str());
        let finished_ms = to_ms(finished);
        let relay_name = relay_state.map(|s| s.as_str());
        self.update(
            id,
            "UPDATE api_command SET state = ?1, finished_at_ms = ?2, reason = ?3, relay_state = ?4 WHERE id = ?5",
            &[&state.as_str(), &finished_ms, &reason, &relay_name],
        );
        tracing::info!(command = id, %meter, kind = kind.as_str(), state = state.as_str(), "command finished");
    }
}

/// A [`CommandService`] handle over a shared [`CommandQueue`].
#[derive(Debug, Clone)]
pub struct SharedCommandQueue(pub Arc<CommandQueue>);

impl CommandService for SharedCommandQueue {
    fn submit(&self, meter: &MeterId, kind: CommandKind, issued_by: &str) -> Result<CommandRecord, ApiError> {
        let queue = &self.0;
        if queue.registry.command_endpoint(meter)?.is_none() {
            return Err(ApiError::not_found(format!("meter {meter} is not in the HES registry")));
        }
        let now = Timestamp::now();
        let id = {
            let conn = queue.db.lock();
            conn.execute(
                "INSERT INTO api_command (meter, kind, state, issued_by, created_at_ms) VALUES (?1, ?2, 'queued', ?3, ?4)",
                params![meter.0, kind.as_str(), issued_by, to_ms(now)],
            )
            .map_err(|e| ApiError::internal("storing a command", e))?;
            conn.last_insert_rowid()
        };
        queue.enqueue(meter, id, kind);
        Ok(CommandRecord {
            id,
            meter: meter.0.clone(),
            kind,
            state: CommandState::Queued,
            issued_by: issued_by.to_string(),
            created_at: from_ms(to_ms(now)),
            sent_at: None,
            finished_at: None,
            reason: None,
            relay_state: None,
        })
    }

    fn get(&self, id: i64) -> Result<Option<CommandRecord>, ApiError> {
        let conn = self.0.db.lock();
        conn.query_row(&format!("SELECT {COLUMNS} FROM api_command WHERE id = ?1"), [id], read_row)
            .optional()
            .map_err(|e| ApiError::internal("reading a command", e))
    }

    fn list(&self, meter: Option<&MeterId>, before: Option<i64>, limit: u32) -> Result<Vec<CommandRecord>, ApiError> {
        let conn = self.0.db.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM api_command WHERE (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR id < ?2) \
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(|e| ApiError::internal("listing commands", e))?;
        let rows = stmt
            .query_map(params![meter.map(|m| m.0.as_str()), before, limit], read_row)
            .map_err(|e| ApiError::internal("listing commands", e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| ApiError::internal("listing commands", e))
    }
}
