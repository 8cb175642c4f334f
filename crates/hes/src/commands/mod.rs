//! Commands to meters, each tracked from request to confirmation and written to an audit
//! log (IEC 62056-6-2 interface classes over IEC 62056-5-3 SET/ACTION, always unicast):
//!
//! | command | COSEM object | module |
//! |---|---|---|
//! | remote disconnect / reconnect, confirmed by control_state | Disconnect control (70) 0.0.96.3.10.255 | [`relay`] |
//! | time synchronisation (drift by round-trip midpoint, set beyond a threshold, verify ±1 s) | Clock (8) 0.0.1.0.0.255 | [`time_sync`] |
//! | TOU tariff change (passive calendar + activation time, read back) | Activity calendar (20) 0.0.13.0.0.255 | [`tou`] |
//! | load limit and demand-response event (read back) | Limiter (71) 0.0.17.0.0.255 | [`load_limit`] |
//! | firmware update (blocks, resume after interruption, verify, activate, version read back) | Image transfer (18) 0.0.44.0.0.255 | [`fota`] |
//!
//! Every command goes through the states of [`CommandState`]: **queued** (recorded),
//! **sent** (an association with the meter is open and the command is under way),
//! **confirmed** (read back as intended) or **failed** (with the reason). The
//! [`CommandStore`] (SQLite, its own database file) keeps the commands and an append-only
//! audit log: who, when, which meter, what, and the outcome. [`CommandService::execute`]
//! runs one command through all of it; the command functions can also be called directly
//! with a [`CommandProgress`] of `()`.
//!
//! Commands need the management client's association (client SAP 1 with its
//! authentication, in the [`MeterEndpoint`]): a public client's SET and ACTION are refused
//! by the meter (`read-write-denied`), which fails the command with that reason.

pub mod cosem;
pub mod error;
pub mod fota;
pub mod load_limit;
pub mod relay;
pub mod state;
pub mod store;
pub mod time_sync;
pub mod tou;

use serde::{Deserialize, Serialize};

use crate::registry::MeterEndpoint;
use crate::session::SessionTimeouts;

pub use error::CommandError;
pub use fota::{FirmwareUpdate, FotaReport, update_firmware};
pub use load_limit::{DemandResponseEvent, LoadLimit, LoadLimitReport, set_load_limit};
pub use relay::{ControlState, RelayReport, remote_disconnect, remote_reconnect};
pub use state::{AuditEntry, CommandId, CommandKind, CommandRecord, CommandState};
pub use store::{CommandFilter, CommandStore};
pub use time_sync::{TimeSyncParams, TimeSyncReport, synchronise_clock};
pub use tou::{TouCalendar, TouChange, TouDay, TouReport, TouSeason, TouSwitch, TouWeek, change_tariff_calendar};

/// Receives a command's progress: the moment it is sent, and notes for the audit log.
pub trait CommandProgress: Send + Sync {
    /// The association is open and the command is being carried out.
    fn sent(&self);
    /// A progress note (JSON) for the audit log, e.g. a firmware transfer resumed.
    fn note(&self, detail: &serde_json::Value);
}

/// No tracking.
impl CommandProgress for () {
    fn sent(&self) {}
    fn note(&self, _detail: &serde_json::Value) {}
}

/// A command and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum CommandRequest {
    /// Remote disconnect.
    Disconnect,
    /// Remote reconnect.
    Reconnect,
    /// Time synchronisation.
    TimeSync(TimeSyncParams),
    /// TOU tariff change.
    TouChange(TouChange),
    /// Load limit / demand-response event.
    LoadLimit(LoadLimit),
    /// Firmware update (the image itself is not stored).
    Firmware(FirmwareUpdate),
}

impl CommandRequest {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            CommandRequest::Disconnect => CommandKind::Disconnect,
            CommandRequest::Reconnect => CommandKind::Reconnect,
            CommandRequest::TimeSync(_) => CommandKind::TimeSync,
            CommandRequest::TouChange(_) => CommandKind::TouChange,
            CommandRequest::LoadLimit(_) => CommandKind::LoadLimit,
            CommandRequest::Firmware(_) => CommandKind::Firmware,
        }
    }

    /// The parameters as stored (JSON; a firmware image by its size).
    ///
    /// # Errors
    /// [`CommandError::Json`].
    pub fn parameters(&self) -> Result<serde_json::Value, CommandError> {
        let mut v = serde_json::to_value(self)?;
        if let (CommandRequest::Firmware(f), Some(obj)) = (self, v.as_object_mut()) {
            obj.insert("image_size".into(), serde_json::json!(f.image.len()));
        }
        Ok(v)
    }
}

/// Runs commands with tracking in a [`CommandStore`].
#[derive(Debug)]
pub struct CommandService {
    store: CommandStore,
    timeouts: SessionTimeouts,
}

struct Tracker<'a> {
    store: &'a CommandStore,
    id: CommandId,
}

impl CommandProgress for Tracker<'_> {
    fn sent(&self) {
        if let Err(e) = self.store.transition(self.id, &CommandState::Sent, &serde_json::Value::Null) {
            tracing::error!(command = self.id, error = %e, "cannot record command state sent");
        }
    }

    fn note(&self, detail: &serde_json::Value) {
        if let Err(e) = self.store.note(self.id, detail) {
            tracing::error!(command = self.id, error = %e, "cannot record command progress");
        }
    }
}

impl CommandService {
    /// Further attempts at recording a command's outcome when the store fails (1 s apart,
    /// each after the store's own busy timeout).
    pub const OUTCOME_RETRIES: u32 = 3;

    /// A service recording in `store`, with `timeouts` for every session.
    pub fn new(store: CommandStore, timeouts: SessionTimeouts) -> CommandService {
        CommandService { store, timeouts }
    }

    /// The store (for listing commands and reading their audit log).
    pub fn store(&self) -> &CommandStore {
        &self.store
    }

    /// Records `request` for meter `meter` (serial) as issued by `user`: state queued.
    /// Carry it out with [`CommandService::carry_out`] (e.g. in a spawned task, so an API
    /// can answer with the id at once).
    ///
    /// # Errors
    /// [`CommandError::Store`], [`CommandError::Json`].
    pub fn enqueue(&self, meter: &str, user: &str, request: &CommandRequest) -> Result<CommandId, CommandError> {
        self.store.enqueue(meter, request.kind(), &request.parameters()?, user)
    }

    /// Carries out the queued command `id` (whose request is `request`) on the meter at
    /// `endpoint` (sent) and records the outcome: confirmed with the meter's read-back, or
    /// failed with the reason. Returns the final record; a failed command is `Ok` with
    /// [`CommandState::Failed`].
    ///
    /// # Errors
    /// [`CommandError::Invalid`] when `id` is unknown or not queued; store failures.
    pub async fn carry_out(
        &self,
        id: CommandId,
        endpoint: &MeterEndpoint,
        request: &CommandRequest,
    ) -> Result<CommandRecord, CommandError> {
        self.carry_out_then(id, endpoint, request, |_, _| {}).await
    }

    /// [`CommandService::carry_out`], calling `before_final` with the outcome (the final
    /// state and the report, `null` when failed) before it is recorded: whoever sees the
    /// command final in the store also sees what `before_final` did (e.g. the relay's end
    /// device event, the metrics).
    ///
    /// # Errors
    /// As [`CommandService::carry_out`].
    pub async fn carry_out_then(
        &self,
        id: CommandId,
        endpoint: &MeterEndpoint,
        request: &CommandRequest,
        before_final: impl FnOnce(&CommandState, &serde_json::Value),
    ) -> Result<CommandRecord, CommandError> {
        match self.store.get(id)? {
            Some(r) if r.state == CommandState::Queued && r.kind == request.kind() => {}
            Some(r) => {
                return Err(CommandError::Invalid(format!("command {id} is {} {}", r.state.name(), r.kind.as_str())));
            }
            None => return Err(CommandError::Invalid(format!("no command {id}"))),
        }
        let tracker = Tracker { store: &self.store, id };
        let (state, report) = match run(endpoint, request, self.timeouts, &tracker).await {
            Ok(report) => (CommandState::Confirmed, report),
            Err(e) => {
                tracing::warn!(command = id, meter = %endpoint.serial, error = %e, "command failed");
                (CommandState::Failed(e.to_string()), serde_json::Value::Null)
            }
        };
        before_final(&state, &report);
        // The outcome must land, or the command would stay `sent` until a restart: a store
        // busy beyond its timeout (another writer of the same file) is tried again.
        let mut attempt = 0;
        loop {
            match self.store.transition(id, &state, &report) {
                Ok(()) => break,
                Err(CommandError::Store(e)) if attempt < Self::OUTCOME_RETRIES => {
                    attempt += 1;
                    tracing::warn!(command = id, attempt, error = %e, "recording the outcome failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
        self.store.get(id)?.ok_or_else(|| CommandError::Invalid(format!("command {id} vanished from the store")))
    }

    /// [`CommandService::enqueue`] then [`CommandService::carry_out`]: records `request` for
    /// the meter at `endpoint` as issued by `user`, carries it out and returns the final
    /// record (confirmed, or failed with the reason).
    ///
    /// # Errors
    /// Only when the store itself fails ([`CommandError::Store`], [`CommandError::Json`]).
    pub async fn execute(
        &self,
        endpoint: &MeterEndpoint,
        user: &str,
        request: &CommandRequest,
    ) -> Result<CommandRecord, CommandError> {
        let id = self.enqueue(&endpoint.serial.0, user, request)?;
        self.carry_out(id, endpoint, request).await
    }
}

/// Carries out `request` on the meter at `endpoint` without a store: the report of the
/// confirmed command as JSON.
///
/// # Errors
/// The command's [`CommandError`].
pub async fn run(
    endpoint: &MeterEndpoint,
    request: &CommandRequest,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<serde_json::Value, CommandError> {
    Ok(match request {
        CommandRequest::Disconnect => serde_json::to_value(remote_disconnect(endpoint, timeouts, progress).await?)?,
        CommandRequest::Reconnect => serde_json::to_value(remote_reconnect(endpoint, timeouts, progress).await?)?,
        CommandRequest::TimeSync(p) => {
            serde_json::to_value(synchronise_clock(endpoint, *p, timeouts, progress).await?)?
        }
        CommandRequest::TouChange(c) => {
            serde_json::to_value(change_tariff_calendar(endpoint, c, timeouts, progress).await?)?
        }
        CommandRequest::LoadLimit(l) => serde_json::to_value(set_load_limit(endpoint, l, timeouts, progress).await?)?,
        CommandRequest::Firmware(f) => serde_json::to_value(update_firmware(endpoint, f, timeouts, progress).await?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_from_json() {
        let r: CommandRequest = serde_json::from_str(r#"{"command": "time-sync"}"#).unwrap();
        assert_eq!(r, CommandRequest::TimeSync(TimeSyncParams { threshold_s: 1.0, tolerance_s: 1.0 }));
        let r: CommandRequest = serde_json::from_str(r#"{"command": "disconnect"}"#).unwrap();
        assert_eq!(r.kind(), CommandKind::Disconnect);
        let r: CommandRequest =
            serde_json::from_str(r#"{"command": "load-limit", "threshold_normal_w": 3000}"#).unwrap();
        assert_eq!(r, CommandRequest::LoadLimit(LoadLimit { threshold_normal_w: Some(3000), ..LoadLimit::default() }));
        let f = CommandRequest::Firmware(FirmwareUpdate::new(vec![1, 2, 3], "GRD-2.0.0"));
        let p = f.parameters().unwrap();
        assert_eq!((p["image_size"].as_u64(), p["identifier"].as_str()), (Some(3), Some("GRD-2.0.0")));
        assert!(p.get("image").is_none(), "the image itself is not stored");
        let back: CommandRequest = serde_json::from_value(p).unwrap();
        let CommandRequest::Firmware(back) = back else { panic!("firmware") };
        assert_eq!((back.max_reconnects, back.image.len()), (fota::DEFAULT_MAX_RECONNECTS, 0));
    }
}
