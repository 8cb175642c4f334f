//! Commands to meters, tracked from request to the meter's confirmation: the
//! [`CommandService`] trait and the command records the API shows.
//!
//! Life cycle: `queued` (accepted and stored) → `sent` (the HES is delivering it in a
//! DLMS session) → `confirmed` (the meter reported the requested state) or `failed` (with
//! the reason). The API answers a new command with 202 and its record; clients follow it
//! with `GET /api/v1/commands/{id}` (optionally `?wait_s=N` to wait for a final state).
//! [`super::command_queue::CommandQueue`] implements the trait with the SQLite command
//! table and [`super::relay::RelayControl`]; the HES command queue plugs in by
//! implementing it.

use jiff::Timestamp;
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::relay::{RelayOperation, RelayState};
use crate::error::ApiError;

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Remote disconnect: Disconnect control (class 70) method 1.
    Disconnect,
    /// Remote reconnect: Disconnect control (class 70) method 2.
    Reconnect,
    /// On-demand relay status read: Disconnect control attributes 3 and 2, no ACTION.
    RelayStatus,
}

impl CommandKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Disconnect => "disconnect",
            CommandKind::Reconnect => "reconnect",
            CommandKind::RelayStatus => "relay_status",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<CommandKind> {
        [CommandKind::Disconnect, CommandKind::Reconnect, CommandKind::RelayStatus]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The relay operation it runs.
    pub fn relay_operation(self) -> RelayOperation {
        match self {
            CommandKind::Disconnect => RelayOperation::Disconnect,
            CommandKind::Reconnect => RelayOperation::Reconnect,
            CommandKind::RelayStatus => RelayOperation::Status,
        }
    }
}

/// Where a command is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    /// Accepted and stored, waiting for the HES.
    Queued,
    /// Being delivered to the meter.
    Sent,
    /// The meter reported the requested state.
    Confirmed,
    /// It could not be delivered or the meter did not confirm it (see `reason`).
    Failed,
}

impl CommandState {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Sent => "sent",
            CommandState::Confirmed => "confirmed",
            CommandState::Failed => "failed",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<CommandState> {
        [CommandState::Queued, CommandState::Sent, CommandState::Confirmed, CommandState::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// True for `confirmed` and `failed`.
    pub fn is_final(self) -> bool {
        matches!(self, CommandState::Confirmed | CommandState::Failed)
    }
}

/// A command and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CommandRecord {
    /// Id, increasing in creation order.
    pub id: i64,
    /// The meter.
    pub meter: String,
    /// What it does.
    pub kind: CommandKind,
    /// Where it stands.
    pub state: CommandState,
    /// Who asked (API token name).
    pub issued_by: String,
    /// When it was accepted, UTC.
    pub created_at: Timestamp,
    /// When the HES started delivering it, UTC.
    pub sent_at: Option<Timestamp>,
    /// When it was confirmed or failed, UTC.
    pub finished_at: Option<Timestamp>,
    /// Why it failed (or what the meter answered).
    pub reason: Option<String>,
    /// The relay state the meter reported after the command.
    pub relay_state: Option<RelayState>,
}

/// A command request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommand {
    /// The meter's serial number.
    pub meter: String,
    /// What to do.
    pub kind: CommandKind,
}

/// Accepts commands and reports their state.
pub trait CommandService: Send + Sync {
    /// Accepts `command` from `issued_by` and starts delivering it; returns its record
    /// (normally `queued`).
    ///
    /// Errors: 404 for a meter the HES does not know; 500.
    fn submit(&self, meter: &MeterId, kind: CommandKind, issued_by: &str) -> Result<CommandRecord, ApiError>;

    /// One command, `None` when unknown.
    ///
    /// Errors: 500.
    fn get(&self, id: i64) -> Result<Option<CommandRecord>, ApiError>;

    /// Commands newest first, optionally of one meter, with ids below `before` (the cursor
    /// of the previous page), at most `limit`.
    ///
    /// Errors: 500.
    fn list(&self, meter: Option<&MeterId>, before: Option<i64>, limit: u32) -> Result<Vec<CommandRecord>, ApiError>;
}
