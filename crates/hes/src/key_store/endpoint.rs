//! From a registry record and the key store to a [`MeterEndpoint`] the session layer can
//! open: the address resolved, the authentication with its secret, the suite 0 settings
//! (keys of the active generation, system titles, policy, the generation's invocation
//! counters) and, when a rotation is unconfirmed, a second endpoint with the pending keys.

use std::net::{SocketAddr, ToSocketAddrs};

use dlms::association::Authentication;
use dlms::security::{SecuritySettings, SecuritySuite, SystemTitle};
use thiserror::Error;

use super::error::KeyStoreError;
use super::secret::MeterKeys;
use super::store::{KeySet, KeyStore};
use crate::registry::{MeterEndpoint, Registry};
use crate::registry_store::{
    AuthenticationKind, MeterFilter, MeterRecord, RecordError, RegistryError, RegistryStore, TransportKind,
};
use crate::transport::LinkLayer;

/// gridedge's default client system title: "GRD" 00 00 00 00 01 (the HES's calling-AP-title).
pub const DEFAULT_HES_SYSTEM_TITLE: SystemTitle = SystemTitle(*b"GRD\x00\x00\x00\x00\x01");

/// Why no endpoint could be built for a meter.
#[derive(Debug, Error)]
pub enum EndpointError {
    /// The record is inconsistent, or asks for a security suite the key store cannot
    /// serve (suites 1 and 2 need certificates).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The host does not resolve.
    #[error("cannot resolve {host}:{port}: {detail}")]
    Resolve {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The resolver's error.
        detail: String,
    },
    /// The meter needs keys or a password and no key store was given.
    #[error("meter {0} needs secrets from the key store, and none is open (give the storage KEK)")]
    NoKeyStore(String),
    /// The meter has no active keys.
    #[error("meter {0} has no keys in the key store")]
    NoKeys(String),
    /// The meter uses LLS and has no password in the key store.
    #[error("meter {0} uses LLS and has no password in the key store")]
    NoPassword(String),
    /// The key store failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
}

/// The endpoints to try for one meter: the active keys first, then the pending keys of
/// an unconfirmed rotation.
#[derive(Debug, Clone)]
pub struct EndpointCandidates {
    /// The endpoint with the active keys (or without keys for an unciphered meter).
    pub active: MeterEndpoint,
    /// Generation of the active keys, `None` for a meter without keys.
    pub active_generation: Option<u32>,
    /// The pending generation and its endpoint.
    pub pending: Option<(u32, MeterEndpoint)>,
}

/// Resolves `host:port` (an IP literal resolves without a lookup).
///
/// # Errors
/// [`EndpointError::Resolve`].
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, EndpointError> {
    let err = |detail: String| EndpointError::Resolve { host: host.to_string(), port, detail };
    (host, port).to_socket_addrs().map_err(|e| err(e.to_string()))?.next().ok_or_else(|| err("no address".into()))
}

fn base_endpoint(record: &MeterRecord, address: SocketAddr, authentication: Authentication) -> MeterEndpoint {
    let t = &record.transport;
    MeterEndpoint {
        serial: record.serial.clone(),
        address,
        client_sap: t.client_sap,
        server_sap: t.server_sap,
        authentication,
        link: match t.kind {
            TransportKind::Wrapper => LinkLayer::Wrapper,
            TransportKind::Hdlc => LinkLayer::Hdlc { server_physical: t.server_physical },
        },
        security: None,
    }
}

/// Suite 0 settings for `record` with `keys` of `generation` and that generation's
/// counters.
///
/// # Errors
/// [`EndpointError::Record`] for a suite other than 0 or an undefined policy.
pub fn security_settings(
    record: &MeterRecord,
    keys: &MeterKeys,
    store: &KeyStore,
    generation: u32,
    hes_system_title: SystemTitle,
) -> Result<SecuritySettings, EndpointError> {
    let profile = record.security.unwrap_or(crate::registry_store::SecurityProfile::SUITE0_DEFAULT);
    if profile.security_suite()? != SecuritySuite::Suite0 {
        return Err(RecordError::invalid(
            "security_suite",
            &profile.suite.to_string(),
            "0 (the key store holds suite 0 keys; suites 1 and 2 need certificates)",
        )
        .into());
    }
    let mut settings = SecuritySettings::new(keys.global_keys(), hes_system_title)
        .with_policy(profile.security_policy()?)
        .with_counter_store(store.counter_store(&record.serial.0, generation));
    if let Some(title) = record.system_title {
        settings = settings.with_peer_system_title(title);
    }
    Ok(settings)
}

fn with_keys(
    record: &MeterRecord,
    address: SocketAddr,
    authentication: &Authentication,
    set: &KeySet,
    store: &KeyStore,
    hes_system_title: SystemTitle,
) -> Result<MeterEndpoint, EndpointError> {
    let mut e = base_endpoint(record, address, authentication.clone());
    e.security = Some(security_settings(record, &set.keys, store, set.info.generation, hes_system_title)?);
    Ok(e)
}

/// The endpoints of `record` (see [`EndpointCandidates`]). A meter is ciphered when its
/// record has a security profile or uses HLS-GMAC; it then needs active keys.
///
/// # Errors
/// [`EndpointError`].
pub fn endpoint_candidates(
    record: &MeterRecord,
    keys: Option<&KeyStore>,
    hes_system_title: SystemTitle,
) -> Result<EndpointCandidates, EndpointError> {
    let serial = &record.serial.0;
    let address = resolve(&record.transport.host, record.transport.port)?;
    let authentication = match record.authentication {
        AuthenticationKind::None => Authentication::None,
        AuthenticationKind::HighGmac => Authentication::HighGmac,
        AuthenticationKind::Low => {
            let store = keys.ok_or_else(|| EndpointError::NoKeyStore(serial.clone()))?;
            let password = store.lls_password(serial)?.ok_or_else(|| EndpointError::NoPassword(serial.clone()))?;
            Authentication::Low { password: password.as_bytes().to_vec() }
        }
    };
    let ciphered = record.security.is_some() || record.authentication == AuthenticationKind::HighGmac;
    if !ciphered {
        return Ok(EndpointCandidates {
            active: base_endpoint(record, address, authentication),
            active_generation: None,
            pending: None,
        });
    }
    let store = keys.ok_or_else(|| EndpointError::NoKeyStore(serial.clone()))?;
    let active = store.active(serial)?.ok_or_else(|| EndpointError::NoKeys(serial.clone()))?;
    let pending = match store.pending(serial)? {
        Some(p) => Some((p.info.generation, with_keys(record, address, &authentication, &p, store, hes_system_title)?)),
        None => None,
    };
    Ok(EndpointCandidates {
        active: with_keys(record, address, &authentication, &active, store, hes_system_title)?,
        active_generation: Some(active.info.generation),
        pending,
    })
}

/// The in-memory [`Registry`] of the meters matching `filter`, with their active keys,
/// for [`crate::campaign::run_campaign`]. Meters whose endpoint cannot be built are
/// returned beside it with the reason.
///
/// # Errors
/// [`RegistryError`] when the registry cannot be read.
pub fn registry_of(
    registry: &RegistryStore,
    filter: &MeterFilter,
    keys: Option<&KeyStore>,
    hes_system_title: SystemTitle,
) -> Result<(Registry, Vec<(String, EndpointError)>), RegistryError> {
    let mut out = Registry::new();
    let mut failed = Vec::new();
    for m in registry.list(filter)? {
        match endpoint_candidates(&m.record, keys, hes_system_title) {
            Ok(c) => out.upsert(c.active),
            Err(e) => failed.push((m.record.serial.0.clone(), e)),
        }
    }
    Ok((out, failed))
}
