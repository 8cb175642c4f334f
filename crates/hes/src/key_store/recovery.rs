//! Opening an association with a meter whose key rotation may have been interrupted: the
//! active keys are tried first; when they fail at the meter (not for want of a
//! connection) and a pending generation exists, the pending keys are tried, and if the
//! meter accepts them the pending generation is committed: the meter had applied the
//! key_transfer, only its confirmation was lost.

use super::endpoint::EndpointCandidates;
use super::store::KeyStore;
use crate::session::{DlmsSession, SessionError, SessionTimeouts};

/// An open session and which keys opened it.
pub struct OpenedSession {
    /// The association.
    pub session: DlmsSession,
    /// The key generation used, `None` for a meter without keys.
    pub generation: Option<u32>,
    /// True when the pending keys of an interrupted rotation opened it (and were
    /// committed).
    pub recovered_rotation: bool,
}

/// Opens a session with the active keys, falling back to the pending ones (see the
/// module docs).
///
/// # Errors
/// The active endpoint's error when neither works.
pub async fn open_with_recovery(
    candidates: &EndpointCandidates,
    keys: Option<&KeyStore>,
    timeouts: SessionTimeouts,
) -> Result<OpenedSession, SessionError> {
    let first = match DlmsSession::open(&candidates.active, timeouts).await {
        Ok(session) => {
            return Ok(OpenedSession { session, generation: candidates.active_generation, recovered_rotation: false });
        }
        Err(e) => e,
    };
    let (Some((pending_generation, pending)), Some(store)) = (&candidates.pending, keys) else { return Err(first) };
    if matches!(first, SessionError::Connect { .. }) {
        return Err(first);
    }
    let serial = &candidates.active.serial.0;
    if let Some(active) = candidates.active_generation {
        if let Err(e) = store.seed_outgoing_counters(serial, active, *pending_generation) {
            tracing::warn!(meter = %serial, error = %e, "cannot seed the pending keys' counters");
        }
    }
    match DlmsSession::open(pending, timeouts).await {
        Ok(session) => {
            match store.commit_pending(serial) {
                Ok(g) => {
                    tracing::info!(meter = %serial, generation = g, "the meter uses the pending keys of an interrupted rotation: committed")
                }
                Err(e) => tracing::warn!(meter = %serial, error = %e, "cannot commit the pending keys"),
            }
            Ok(OpenedSession { session, generation: Some(*pending_generation), recovered_rotation: true })
        }
        Err(e) => {
            tracing::debug!(meter = %serial, error = %e, "pending keys refused too");
            Err(first)
        }
    }
}
