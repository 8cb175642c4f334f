//! Remote disconnect and reconnect: Disconnect control (class 70, IEC 62056-6-2 §4.5.8)
//! methods 1 `remote_disconnect` and 2 `remote_reconnect` (data integer (0)), confirmed by
//! reading back attributes 2 `output_state`, 3 `control_state` and 4 `control_mode`.
//!
//! Confirmation: a disconnect is confirmed when the meter reads (0) disconnected with the
//! output open. A reconnect is confirmed when it reads (1) connected, or (2)
//! ready_for_reconnection in the control modes that reconnect remotely through that state
//! (1, 3, 5, 6): the supply then returns when the customer presses the button, which the
//! report says (`manual_reconnect_required`). Anything else fails with the states read.

use serde::{Deserialize, Serialize};

use super::CommandProgress;
use super::cosem::{DISCONNECT_CONTROL, act, as_enum, get};
use super::error::CommandError;
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionTimeouts};

/// `control_state` (class 70 attribute 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlState {
    /// (0) relay open, remote reconnection needed.
    Disconnected,
    /// (1) relay closed.
    Connected,
    /// (2) relay open, the customer may reconnect locally.
    ReadyForReconnection,
}

impl ControlState {
    /// The state for enumeration value `v`.
    pub fn from_u8(v: u8) -> Option<ControlState> {
        Some(match v {
            0 => ControlState::Disconnected,
            1 => ControlState::Connected,
            2 => ControlState::ReadyForReconnection,
            _ => return None,
        })
    }
}

/// What the meter reads back after a relay command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayReport {
    /// Attribute 3 after the command.
    pub control_state: ControlState,
    /// Attribute 2: true = supply connected.
    pub output_state: bool,
    /// Attribute 4 (0..=6).
    pub control_mode: u8,
    /// The relay waits for the customer's button (reconnect in modes 1, 3, 5, 6).
    pub manual_reconnect_required: bool,
}

/// Reads attributes 2..=4.
///
/// # Errors
/// Session errors, [`CommandError::Value`] for unexpected types.
pub async fn read_relay(s: &mut DlmsSession) -> Result<RelayReport, CommandError> {
    let output_state = match get(s, DISCONNECT_CONTROL, 2).await? {
        dlms::data::Data::Boolean(b) => b,
        other => return Err(CommandError::Value { what: "output_state", detail: format!("{other:?}") }),
    };
    let state = as_enum(&get(s, DISCONNECT_CONTROL, 3).await?, "control_state")?;
    let control_state = ControlState::from_u8(state)
        .ok_or_else(|| CommandError::Value { what: "control_state", detail: state.to_string() })?;
    let control_mode = as_enum(&get(s, DISCONNECT_CONTROL, 4).await?, "control_mode")?;
    Ok(RelayReport {
        control_state,
        output_state,
        control_mode,
        manual_reconnect_required: control_state == ControlState::ReadyForReconnection,
    })
}

/// Opens the supply of the meter at `endpoint` (management client) and confirms it.
///
/// # Errors
/// [`CommandError`]: session errors, a refused method, or [`CommandError::NotConfirmed`]
/// with the state read back.
pub async fn remote_disconnect(
    endpoint: &MeterEndpoint,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<RelayReport, CommandError> {
    relay_command(endpoint, timeouts, progress, false).await
}

/// Closes the supply of the meter at `endpoint` (directly or via ready_for_reconnection,
/// per its control mode) and confirms it.
///
/// # Errors
/// As [`remote_disconnect`].
pub async fn remote_reconnect(
    endpoint: &MeterEndpoint,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<RelayReport, CommandError> {
    relay_command(endpoint, timeouts, progress, true).await
}

async fn relay_command(
    endpoint: &MeterEndpoint,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
    reconnect: bool,
) -> Result<RelayReport, CommandError> {
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    progress.sent();
    let (method, what) = if reconnect { (2, "remote_reconnect") } else { (1, "remote_disconnect") };
    act(&mut s, DISCONNECT_CONTROL, method, Some(dlms::data::Data::Integer(0)), what).await?;
    let report = read_relay(&mut s).await?;
    s.release().await?;
    let confirmed = match (reconnect, report.control_state) {
        (false, ControlState::Disconnected) => !report.output_state,
        (true, ControlState::Connected) => report.output_state,
        (true, ControlState::ReadyForReconnection) => matches!(report.control_mode, 1 | 3 | 5 | 6),
        _ => false,
    };
    if confirmed {
        Ok(report)
    } else {
        Err(CommandError::NotConfirmed(format!(
            "{what} read back control_state {:?}, output_state {}, control_mode {}",
            report.control_state, report.output_state, report.control_mode
        )))
    }
}
