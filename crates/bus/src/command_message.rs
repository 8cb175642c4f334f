//! The payloads of the command flows: API → HES ([`MessageKind::Commands`]) and HES →
//! MDMS/API ([`MessageKind::CommandResults`]).
//!
//! A command is identified by the id the API gave it when it was accepted
//! ([`CommandEnvelope::command_id`], unique per deployment); the HES that carries it out
//! reports each state change as a [`CommandResultEnvelope`] with that id, so the API can
//! follow a command it does not execute. The request itself is the HES's own
//! `hes::commands::CommandRequest` as JSON (`{"command": "disconnect"}`,
//! `{"command": "time-sync", ...}`): the bus does not interpret it, which keeps this crate
//! free of the HES's types.
//!
//! Routing: both kinds are keyed by the meter's shard ([`shard_key`]), so a HES consumer
//! may filter the subjects of the shards it holds a lease on
//! (`gridedge.commands.s0007`).
//!
//! Message ids: a command is published once per id (`cmd/<command_id>`); a result once
//! per id and state (`cmdres/<command_id>/<state>`), so a republished state is dropped by
//! JetStream's duplicate window.

use serde::{Deserialize, Serialize};

use crate::{BusError, BusMessage, MessageKind};

/// A command for one meter, as the API accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandEnvelope {
    /// The API's id of the command (stable across redeliveries).
    pub command_id: String,
    /// The meter's serial (MeterId).
    pub meter: String,
    /// Who asked for it (API user or token name), for the HES's audit log.
    pub issued_by: String,
    /// When the API accepted it, UTC.
    pub issued_at: jiff::Timestamp,
    /// The request: `hes::commands::CommandRequest` as JSON.
    pub request: serde_json::Value,
}

/// The state a command reached at the HES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResultState {
    /// Recorded by the HES, waiting for its turn.
    Queued,
    /// An association with the meter is open and the command is under way.
    Sent,
    /// Read back from the meter as intended (final).
    Confirmed,
    /// Could not be carried out (final); the reason says why.
    Failed,
}

impl CommandResultState {
    /// `queued`, `sent`, `confirmed` or `failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandResultState::Queued => "queued",
            CommandResultState::Sent => "sent",
            CommandResultState::Confirmed => "confirmed",
            CommandResultState::Failed => "failed",
        }
    }

    /// True for `confirmed` and `failed`.
    pub const fn is_final(self) -> bool {
        matches!(self, CommandResultState::Confirmed | CommandResultState::Failed)
    }
}

/// One state change of a command, reported by the HES that carries it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResultEnvelope {
    /// [`CommandEnvelope::command_id`].
    pub command_id: String,
    /// The meter's serial.
    pub meter: String,
    /// The state reached.
    pub state: CommandResultState,
    /// When the HES recorded it, UTC.
    pub at: jiff::Timestamp,
    /// Why it failed (`failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was read back or done (JSON; e.g. the relay's control state, the clock's
    /// offset before and after, a firmware version).
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// The routing key of a meter's commands and results: `s` and its shard as four digits
/// (`s0007`), the shard being [`shard_of`](crate::shard_of)`(meter, shards)`.
pub fn shard_key(meter: &str, shards: u32) -> String {
    format!("s{:04}", crate::shard_of(meter, shards))
}

impl CommandEnvelope {
    /// The `Commands` message, keyed by the meter's shard among `shards`.
    ///
    /// Errors: [`BusError::Encode`].
    pub fn to_message(&self, shards: u32) -> Result<BusMessage, BusError> {
        BusMessage::json(
            MessageKind::Commands,
            &shard_key(&self.meter, shards),
            format!("cmd/{}", self.command_id),
            self,
        )
    }
}

impl CommandResultEnvelope {
    /// The `CommandResults` message, keyed by the meter's shard among `shards`.
    ///
    /// Errors: [`BusError::Encode`].
    pub fn to_message(&self, shards: u32) -> Result<BusMessage, BusError> {
        BusMessage::json(
            MessageKind::CommandResults,
            &shard_key(&self.meter, shards),
            format!("cmdres/{}/{}", self.command_id, self.state.as_str()),
            self,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_round_trips_with_its_shard_subject_and_id() {
        let command = CommandEnvelope {
            command_id: "42".into(),
            meter: "GE00000007".into(),
            issued_by: "operator".into(),
            issued_at: "2026-11-21T10:00:00Z".parse().unwrap(),
            request: serde_json::json!({"command": "disconnect"}),
        };
        let message = command.to_message(64).unwrap();
        let shard = crate::shard_of("GE00000007", 64);
        assert_eq!(message.subject(), format!("gridedge.commands.s{shard:04}"));
        assert_eq!(message.id, "cmd/42");
        assert_eq!(message.decode::<CommandEnvelope>().unwrap(), command);
    }

    #[test]
    fn each_result_state_has_its_own_message_id() {
        let mut result = CommandResultEnvelope {
            command_id: "42".into(),
            meter: "GE00000007".into(),
            state: CommandResultState::Sent,
            at: "2026-11-21T10:00:01Z".parse().unwrap(),
            reason: None,
            detail: serde_json::Value::Null,
        };
        let sent = result.to_message(64).unwrap();
        result.state = CommandResultState::Failed;
        result.reason = Some("read-write-denied".into());
        let failed = result.to_message(64).unwrap();
        assert_eq!(sent.id, "cmdres/42/sent");
        assert_eq!(failed.id, "cmdres/42/failed");
        let back: CommandResultEnvelope = failed.decode().unwrap();
        assert_eq!(back.reason.as_deref(), Some("read-write-denied"));
        assert!(back.state.is_final() && !CommandResultState::Sent.is_final());
        let json: serde_json::Value = serde_json::from_slice(&failed.payload).unwrap();
        assert_eq!(json["state"], "failed");
    }
}
