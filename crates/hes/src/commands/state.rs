//! The command model: kinds, states (queued → sent → confirmed | failed(reason)), the
//! stored command record and its audit entries.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Identifier of a command in the command store (positive, increasing).
pub type CommandId = i64;

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// Disconnect control remote_disconnect (class 70 method 1).
    Disconnect,
    /// Disconnect control remote_reconnect (class 70 method 2).
    Reconnect,
    /// Clock synchronisation (class 8 attribute 2).
    TimeSync,
    /// Passive Activity calendar and its activation time (class 20).
    TouChange,
    /// Limiter thresholds, durations and demand-response event (class 71).
    LoadLimit,
    /// Firmware update through Image transfer (class 18).
    Firmware,
}

impl CommandKind {
    /// The kebab-case name stored in the database and shown by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Disconnect => "disconnect",
            CommandKind::Reconnect => "reconnect",
            CommandKind::TimeSync => "time-sync",
            CommandKind::TouChange => "tou-change",
            CommandKind::LoadLimit => "load-limit",
            CommandKind::Firmware => "firmware",
        }
    }

    /// The kind named `s` (as [`CommandKind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<CommandKind> {
        Some(match s {
            "disconnect" => CommandKind::Disconnect,
            "reconnect" => CommandKind::Reconnect,
            "time-sync" => CommandKind::TimeSync,
            "tou-change" => CommandKind::TouChange,
            "load-limit" => CommandKind::LoadLimit,
            "firmware" => CommandKind::Firmware,
            _ => return None,
        })
    }
}

/// Where a command is in its life: queued → sent → confirmed | failed(reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "kebab-case")]
pub enum CommandState {
    /// Recorded, not yet sent to the meter.
    Queued,
    /// An association with the meter is open and the command is being carried out.
    Sent,
    /// Carried out and confirmed by reading the meter back.
    Confirmed,
    /// Not carried out, or not confirmed; the reason says why.
    Failed(String),
}

impl CommandState {
    /// The state's name: queued, sent, confirmed or failed.
    pub fn name(&self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Sent => "sent",
            CommandState::Confirmed => "confirmed",
            CommandState::Failed(_) => "failed",
        }
    }

    /// Whether the command is finished (confirmed or failed).
    pub fn is_final(&self) -> bool {
        matches!(self, CommandState::Confirmed | CommandState::Failed(_))
    }
}

/// One command as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// Its id.
    pub id: CommandId,
    /// The meter's serial number.
    pub meter: String,
    /// What it does.
    pub kind: CommandKind,
    /// Its parameters (JSON of the request; firmware images by size and identifier only).
    pub parameters: serde_json::Value,
    /// Its state (serialised flat: `"state": "failed", "reason": "…"`).
    #[serde(flatten)]
    pub state: CommandState,
    /// What the meter read back on confirmation (JSON report), `null` otherwise.
    pub result: serde_json::Value,
    /// Who issued it.
    pub user: String,
    /// When it was recorded (UTC).
    pub created_at: Timestamp,
    /// When its state last changed (UTC).
    pub updated_at: Timestamp,
}

/// One line of the audit log: who did what to which meter when, and with what outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number (increasing).
    pub seq: i64,
    /// The command.
    pub command_id: CommandId,
    /// When (UTC).
    pub at: Timestamp,
    /// Who issued the command.
    pub user: String,
    /// The meter's serial number.
    pub meter: String,
    /// The command kind.
    pub kind: CommandKind,
    /// queued, sent, progress, confirmed or failed.
    pub event: String,
    /// Details: parameters when queued, the report when confirmed, the reason when failed,
    /// progress notes (e.g. a firmware transfer resumed at block n).
    pub detail: serde_json::Value,
}
