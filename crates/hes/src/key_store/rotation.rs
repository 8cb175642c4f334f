//! Key rotation over the air (IEC 62056-6-2 §5.3.7 Security setup, class 64, method 2
//! `key_transfer`; IEC 62056-5-3 §9.2.3.7 key wrapping with RFC 3394).
//!
//! 1. If a pending generation exists (an earlier rotation was interrupted), try it: a
//!    meter that accepts it had applied the transfer, so it is committed and the
//!    rotation ends as `recovered`. Otherwise its keys are sent again.
//! 2. Otherwise new random keys (GUEK and GAK, and the master key when asked) are stored
//!    as the *pending* generation *before* anything is sent, so a crash at any later
//!    point leaves keys the HES can still use.
//! 3. An association is opened with the active keys (it must be authenticated: HLS-GMAC
//!    on the management client) and `key_transfer` is invoked on `0.0.43.0.0.255` with
//!    every new key wrapped under the meter's *current* master key.
//! 4. The meter's action-result decides: `success` → go on; a refusal → the pending
//!    generation is discarded (the meter kept its keys); no answer (timeout, connection
//!    lost) → the pending generation is kept: the outcome is unknown, and the next
//!    association (or rotation) tries both.
//! 5. Verification: a new association with the pending keys reads the serial number
//!    (0.0.96.1.0.255). Only then is the pending generation committed (active), the old
//!    one retired. If verification fails the pending generation is kept.

use dlms::Data;
use dlms::obis::codes;
use dlms::security::KeyId;
use dlms::security::security_setup::{SECURITY_SETUP_OBIS, method, method_descriptor, wrap_keys_for_transfer};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor};
use serde::Serialize;
use thiserror::Error;

use super::endpoint::{EndpointError, endpoint_candidates};
use super::error::KeyStoreError;
use super::secret::{Key128, MeterKeys};
use super::store::KeyStore;
use crate::registry_store::{AuthenticationKind, MeterRecord};
use crate::session::{DlmsSession, SessionError, SessionTimeouts};
use dlms::security::SystemTitle;

/// Rotation settings.
#[derive(Debug, Clone, Copy)]
pub struct RotationOptions {
    /// Also replace the master key (KEK). Default false: GUEK and GAK only.
    pub include_master_key: bool,
    /// Session timeouts.
    pub timeouts: SessionTimeouts,
    /// The HES's system title.
    pub hes_system_title: SystemTitle,
}

impl Default for RotationOptions {
    fn default() -> Self {
        RotationOptions {
            include_master_key: false,
            timeouts: SessionTimeouts::default(),
            hes_system_title: super::endpoint::DEFAULT_HES_SYSTEM_TITLE,
        }
    }
}

/// How a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationOutcome {
    /// New keys transferred, confirmed, verified and committed.
    Rotated,
    /// The pending keys of an earlier, interrupted rotation were found in use by the
    /// meter and committed; nothing was sent.
    Recovered,
}

/// What [`rotate_keys`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The meter.
    pub serial: String,
    /// Rotated or recovered.
    pub outcome: RotationOutcome,
    /// The generation that was active before.
    pub previous_generation: u32,
    /// The generation now active.
    pub generation: u32,
    /// Which keys changed (`global_unicast_encryption`, `authentication`, `master`).
    pub keys_changed: Vec<&'static str>,
}

/// Why a rotation failed. The pending state after each is documented per variant.
#[derive(Debug, Error)]
pub enum RotationError {
    /// The meter's association is not authenticated with HLS-GMAC (key_transfer needs
    /// an authenticated, ciphered association). Nothing stored.
    #[error("meter {0}: key rotation needs authentication high-gmac")]
    NotAuthenticated(String),
    /// No endpoint (no keys, unresolvable host, ...). Nothing stored.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The key store failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// The association with the active keys could not be opened; nothing was sent and
    /// the pending generation was discarded.
    #[error("cannot associate with the current keys: {0}")]
    Associate(SessionError),
    /// The meter refused key_transfer (e.g. wrong master key): the pending generation
    /// was discarded, the meter keeps its keys.
    #[error("the meter refused key_transfer: {0:?}")]
    Refused(ActionResult),
    /// The exchange was cut after key_transfer was sent: the meter may or may not use the
    /// new keys. The pending generation is kept and tried by the next association.
    #[error("key_transfer sent but not confirmed ({0}); the pending keys are kept and tried on the next association")]
    Unconfirmed(SessionError),
    /// The meter confirmed, but an association with the new keys failed: the pending
    /// generation is kept (the next association tries both).
    #[error("the meter confirmed key_transfer but the new keys do not open an association: {0}")]
    VerificationFailed(SessionError),
}

fn serial_attribute() -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(1, codes::SERIAL_NUMBER, 2)
}

/// Checks that an association with `endpoint` opens and reads the expected serial.
async fn verify(endpoint: &crate::registry::MeterEndpoint, timeouts: SessionTimeouts) -> Result<(), SessionError> {
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    let serial = s.get(serial_attribute(), None).await?;
    s.release().await?;
    match serial {
        Data::OctetString(b) | Data::VisibleString(b) if b == endpoint.serial.0.as_bytes() => Ok(()),
        _ => Err(SessionError::UnexpectedEvent("the serial number read with the new keys differs")),
    }
}

/// Rotates the keys of the meter `record` (see the module docs).
///
/// # Errors
/// [`RotationError`]; each variant says what state the key store is left in.
pub async fn rotate_keys(
    record: &MeterRecord,
    store: &KeyStore,
    options: RotationOptions,
) -> Result<RotationReport, RotationError> {
    let serial = record.serial.0.clone();
    if record.authentication != AuthenticationKind::HighGmac {
        return Err(RotationError::NotAuthenticated(serial));
    }
    let candidates = endpoint_candidates(record, Some(store), options.hes_system_title)?;
    let previous_generation = candidates.active_generation.ok_or_else(|| KeyStoreError::NoKeys(serial.clone()))?;
    let active = store.active(&serial)?.ok_or_else(|| KeyStoreError::NoKeys(serial.clone()))?;

    // 1. An interrupted rotation: does the meter already use the pending keys?
    if let Some((pending_generation, pending)) = &candidates.pending {
        store.seed_outgoing_counters(&serial, previous_generation, *pending_generation)?;
        if verify(pending, options.timeouts).await.is_ok() {
            let generation = store.commit_pending(&serial)?;
            return Ok(RotationReport {
                serial,
                outcome: RotationOutcome::Recovered,
                previous_generation,
                generation,
                keys_changed: vec![],
            });
        }
    }

    // 2. The keys to send: the pending ones again, or new random ones.
    let (new_keys, pending_generation) = match store.pending(&serial)? {
        Some(p) => (p.keys.clone(), p.info.generation),
        None => {
            let keys = MeterKeys {
                encryption: Key128::random()?,
                authentication: Key128::random()?,
                master: if options.include_master_key { Key128::random()? } else { active.keys.master.clone() },
            };
            let generation = store.create_pending(&serial, &keys)?;
            (keys, generation)
        }
    };
    let mut transfer = vec![
        (KeyId::GlobalUnicastEncryption, new_keys.encryption.to_aes()),
        (KeyId::Authentication, new_keys.authentication.to_aes()),
    ];
    let master_changes = new_keys.master != active.keys.master;
    if master_changes {
        transfer.push((KeyId::Master, new_keys.master.to_aes()));
    }
    let parameter = wrap_keys_for_transfer(&active.keys.master.to_aes(), &transfer);
    drop(transfer);

    // 3. key_transfer over an association with the current keys.
    let mut session = match DlmsSession::open(&candidates.active, options.timeouts).await {
        Ok(s) => s,
        Err(e) => {
            store.discard_pending(&serial)?;
            return Err(RotationError::Associate(e));
        }
    };
    let method = method_descriptor(SECURITY_SETUP_OBIS, method::KEY_TRANSFER);
    match session.action(method, Some(parameter)).await {
        Ok(Ok(_)) => {}
        Ok(Err(result)) => {
            let _ = session.release().await;
            store.discard_pending(&serial)?;
            return Err(RotationError::Refused(result));
        }
        Err(e) => return Err(RotationError::Unconfirmed(e)),
    }
    if let Err(e) = session.release().await {
        tracing::debug!(meter = %serial, error = %e, "release after key_transfer failed (the transfer was confirmed)");
    }

    // 5. Verify with the new keys, then commit.
    store.seed_outgoing_counters(&serial, previous_generation, pending_generation)?;
    let refreshed = endpoint_candidates(record, Some(store), options.hes_system_title)?;
    let Some((_, pending)) = refreshed.pending else {
        return Err(KeyStoreError::NoPending(serial).into());
    };
    verify(&pending, options.timeouts).await.map_err(RotationError::VerificationFailed)?;
    let generation = store.commit_pending(&serial)?;
    let mut keys_changed = vec!["global_unicast_encryption", "authentication"];
    if master_changes {
        keys_changed.push("master");
    }
    Ok(RotationReport { serial, outcome: RotationOutcome::Rotated, previous_generation, generation, keys_changed })
}
