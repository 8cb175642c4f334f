//! Remote disconnect and reconnect over DLMS/COSEM: the [`RelayControl`] trait and its
//! implementation with an HES session ([`DlmsRelayControl`]).
//!
//! Disconnect control, interface class 70 (IEC 62056-6-2 §4.5.8), logical name
//! 0.0.96.3.10.255: method 1 `remote_disconnect` and method 2 `remote_reconnect`, each with
//! the parameter integer (0). After the ACTION the HES reads attribute 3 `control_state`
//! (0 disconnected, 1 connected, 2 ready_for_reconnection) and attribute 2 `output_state`
//! back in the same association: the command is confirmed only by what the meter reports.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use dlms::Obis;
use dlms::data::Data;
use dlms::xdlms::{CosemAttributeDescriptor, CosemMethodDescriptor};
use hes::session::{DlmsSession, SessionTimeouts};
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::MeterRegistry;
use crate::metrics::Metrics;

/// Interface class Disconnect control.
pub const CLASS_DISCONNECT_CONTROL: u16 = 70;
/// Logical name of the disconnect control object, 0.0.96.3.10.255.
pub const DISCONNECT_CONTROL: Obis = Obis::new(0, 0, 96, 3, 10, 255);
/// Method 1 `remote_disconnect`.
pub const METHOD_REMOTE_DISCONNECT: i8 = 1;
/// Method 2 `remote_reconnect`.
pub const METHOD_REMOTE_RECONNECT: i8 = 2;

/// Which relay operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayOperation {
    /// Open the relay (method 1).
    Disconnect,
    /// Close the relay, or arm it for the customer (method 2).
    Reconnect,
    /// Only read the relay state (no ACTION): an on-demand relay status read.
    Status,
}

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

/// What the meter reported after the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayReadback {
    /// Attribute 3.
    pub control_state: RelayState,
    /// Attribute 2: true when the relay is closed.
    pub output_state: bool,
}

impl RelayReadback {
    /// Whether the readback confirms `op`: a disconnect needs `disconnected`; a reconnect
    /// needs `connected`, or `ready_for_reconnection` in the control modes where the
    /// customer closes the relay (modes 1, 3, 5, 6); a status read is confirmed by any
    /// readback.
    pub fn confirms(&self, op: RelayOperation) -> bool {
        match op {
            RelayOperation::Disconnect => self.control_state == RelayState::Disconnected && !self.output_state,
            RelayOperation::Reconnect => matches!(
                (self.control_state, self.output_state),
                (RelayState::Connected, true) | (RelayState::ReadyForReconnection, false)
            ),
            RelayOperation::Status => true,
        }
    }
}

/// A boxed future (object-safe async trait methods).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Operates a meter's supply relay and reports the state the meter then has. The error
/// is the failure reason as an operator reads it (it never contains credentials).
pub trait RelayControl: Send + Sync {
    /// Runs `op` on `meter`.
    fn operate<'a>(&'a self, meter: &'a MeterId, op: RelayOperation) -> BoxFuture<'a, Result<RelayReadback, String>>;
}

/// [`RelayControl`] over a DLMS/COSEM management association opened by the HES with the
/// registry's [`MeterRegistry::command_endpoint`].
pub struct DlmsRelayControl {
    registry: Arc<dyn MeterRegistry>,
    timeouts: SessionTimeouts,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for DlmsRelayControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlmsRelayControl").field("timeouts", &self.timeouts).finish_non_exhaustive()
    }
}

impl DlmsRelayControl {
    /// Relay control through `registry`'s endpoints; sessions are counted in `metrics`.
    pub fn new(registry: Arc<dyn MeterRegistry>, timeouts: SessionTimeouts, metrics: Arc<Metrics>) -> Self {
        DlmsRelayControl { registry, timeouts, metrics }
    }

    async fn run(&self, meter: &MeterId, op: RelayOperation) -> Result<RelayReadback, String> {
        let endpoint = self
            .registry
            .command_endpoint(meter)
            .map_err(|e| e.message)?
            .ok_or_else(|| format!("meter {meter} is not in the registry"))?;
        let mut session = DlmsSession::open(&endpoint, self.timeouts).await.map_err(|e| format!("association: {e}"))?;
        let method = match op {
            RelayOperation::Disconnect => Some(METHOD_REMOTE_DISCONNECT),
            RelayOperation::Reconnect => Some(METHOD_REMOTE_RECONNECT),
            RelayOperation::Status => None,
        };
        if let Some(method) = method {
            let descriptor = CosemMethodDescriptor::new(CLASS_DISCONNECT_CONTROL, DISCONNECT_CONTROL, method);
            session
                .action(descriptor, Some(Data::Integer(0)))
                .await
                .map_err(|e| format!("ACTION: {e}"))?
                .map_err(|result| format!("the meter refused the ACTION: {result:?}"))?;
        }
        let state = session
            .get(CosemAttributeDescriptor::new(CLASS_DISCONNECT_CONTROL, DISCONNECT_CONTROL, 3), None)
            .await
            .map_err(|e| format!("reading control_state: {e}"))?;
        let output = session
            .get(CosemAttributeDescriptor::new(CLASS_DISCONNECT_CONTROL, DISCONNECT_CONTROL, 2), None)
            .await
            .map_err(|e| format!("reading output_state: {e}"))?;
        // A failed release does not undo what the meter reported.
        if let Err(e) = session.release().await {
            tracing::debug!(%meter, error = %e, "release after a relay operation failed");
        }
        let control_state = match state {
            Data::Enum(v) => RelayState::from_code(v).ok_or_else(|| format!("unknown control_state {v}"))?,
            other => return Err(format!("control_state is not an enum: {other:?}")),
        };
        let output_state = match output {
            Data::Boolean(b) => b,
            other => return Err(format!("output_state is not a boolean: {other:?}")),
        };
        Ok(RelayReadback { control_state, output_state })
    }
}

impl RelayControl for DlmsRelayControl {
    fn operate<'a>(&'a self, meter: &'a MeterId, op: RelayOperation) -> BoxFuture<'a, Result<RelayReadback, String>> {
        Box::pin(async move {
            let started = Instant::now();
            self.metrics.session_started();
            let result = self.run(meter, op).await;
            self.metrics.session_finished(result.is_ok(), started.elapsed());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_rules() {
        let rb = |s, o| RelayReadback { control_state: s, output_state: o };
        use RelayOperation::*;
        use RelayState::*;
        assert!(rb(Disconnected, false).confirms(Disconnect));
        assert!(!rb(Connected, true).confirms(Disconnect));
        assert!(!rb(ReadyForReconnection, false).confirms(Disconnect));
        assert!(rb(Connected, true).confirms(Reconnect));
        assert!(rb(ReadyForReconnection, false).confirms(Reconnect));
        assert!(!rb(Disconnected, false).confirms(Reconnect));
        assert!(!rb(Connected, false).confirms(Reconnect), "inconsistent output_state");
        assert!(rb(Disconnected, false).confirms(Status) && rb(Connected, true).confirms(Status));
        assert_eq!(RelayState::from_code(2), Some(ReadyForReconnection));
        assert_eq!(RelayState::from_code(3), None);
    }
}
