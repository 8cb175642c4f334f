//! The supply relay's state as the API shows it: attribute 3 `control_state` of the
//! Disconnect control object (interface class 70, IEC 62056-6-2 §4.5.8, logical name
//! 0.0.96.3.10.255), as the meter reported it after a confirmed disconnect or reconnect
//! (the HES's `hes::commands::relay` carries the commands out).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Attribute 3 `control_state` of the disconnect control object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// (0) relay open.
    Disconnected,
    /// (1) relay closed.
    Connected,
    /// (2) relay open; the customer may reconnect locally (push button).
    ReadyForReconnection,
}

impl RelayState {
    /// The state for enumeration value `v`.
    pub fn from_code(v: u8) -> Option<RelayState> {
        match v {
            0 => Some(RelayState::Disconnected),
            1 => Some(RelayState::Connected),
            2 => Some(RelayState::ReadyForReconnection),
            _ => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelayState::Disconnected => "disconnected",
            RelayState::Connected => "connected",
            RelayState::ReadyForReconnection => "ready_for_reconnection",
        }
    }

    /// The state with name `s`.
    pub fn parse(s: &str) -> Option<RelayState> {
        [RelayState::Disconnected, RelayState::Connected, RelayState::ReadyForReconnection]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}
