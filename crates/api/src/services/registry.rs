//! The meters the HES serves, as the API sees them: the [`MeterRegistry`] trait and its
//! in-memory implementation over [`hes::MeterEndpoint`]s.
//!
//! The registry answers two questions: what the operator may see about a meter (transport,
//! grid location, life-cycle status; never a password or key) and how the HES opens a
//! *management* association to send it commands ([`MeterRegistry::command_endpoint`]).
//! The persistent HES registry (`hes::registry_store` with its key store) plugs in by
//! implementing this trait: [`super::registry_store::HesRegistry`].

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::RwLock;

use dlms::association::Authentication;
use dlms::security::{AesKey, GlobalKeys, SecuritySettings, SystemTitle};
use hes::MeterEndpoint;
use hes::transport::LinkLayer;
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A meter as the API shows it. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegisteredMeter {
    /// Serial number (0.0.96.1.0.255), the MDMS meter id.
    pub serial: String,
    /// Life-cycle status in the HES: `provisioned`, `active`, `suspended` or
    /// `decommissioned`.
    pub status: String,
    /// Link layer: `wrapper` (IEC 62056-47) or `hdlc` (IEC 62056-46).
    pub transport: String,
    /// `host:port` of the meter's DLMS/COSEM server.
    pub address: String,
    /// Authentication of the management association: `none`, `low` or `high-gmac`.
    pub authentication: String,
    /// Distribution transformer the meter is fed from.
    pub transformer: Option<String>,
    /// Feeder of that transformer.
    pub feeder: Option<String>,
}

/// Authentication of the management association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticationKind {
    /// Mechanism 0: none.
    None,
    /// Mechanism 1: LLS password.
    Low,
    /// Mechanism 5: HLS-GMAC with suite 0 keys.
    HighGmac,
}

impl AuthenticationKind {
    /// `none`, `low` or `high-gmac`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationKind::None => "none",
            AuthenticationKind::Low => "low",
            AuthenticationKind::HighGmac => "high-gmac",
        }
    }
}

/// A provisioning request (admin): register a meter, or replace its registration and
/// credentials. Secrets (`password`, keys) are stored for the HES and never returned or
/// logged (`Debug` redacts them).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// Serial number, 1..=32 printable characters.
    pub serial: String,
    /// Host name or IP address of the meter's DLMS/COSEM server.
    pub host: String,
    /// TCP port (default 4059).
    #[serde(default = "default_port")]
    pub port: u16,
    /// `wrapper` (default) or `hdlc`.
    #[serde(default)]
    pub transport: Option<String>,
    /// HDLC lower (physical) server address (with `hdlc`; gridedge meters use 17).
    #[serde(default)]
    pub server_physical: Option<u16>,
    /// Management client SAP (default 1).
    #[serde(default = "default_client_sap")]
    pub client_sap: u16,
    /// Server SAP, the logical device (default 1, management logical device).
    #[serde(default = "default_server_sap")]
    pub server_sap: u16,
    /// Authentication of the management association.
    pub authentication: AuthenticationKind,
    /// LLS password (with `low`). Secret.
    #[serde(default)]
    pub password: Option<String>,
    /// Global unicast encryption key, 32 hex digits (with `high-gmac`). Secret.
    #[serde(default)]
    pub key_encryption: Option<String>,
    /// Authentication key, 32 hex digits (with `high-gmac`). Secret.
    #[serde(default)]
    pub key_authentication: Option<String>,
    /// Master key (KEK of Security setup key_transfer), 32 hex digits (with `high-gmac`
    /// when the API runs with the HES registry and key store, which keeps all three
    /// suite 0 keys). Secret.
    #[serde(default)]
    pub key_master: Option<String>,
    /// The HES's client system title, 16 hex digits (default `475244` "GRD" + `0000000001`).
    #[serde(default)]
    pub client_system_title: Option<String>,
    /// The meter's own system title, 16 hex digits (kept by the HES registry, which pins
    /// it for ciphered associations).
    #[serde(default)]
    pub system_title: Option<String>,
    /// Distribution transformer.
    #[serde(default)]
    pub transformer: Option<String>,
    /// Feeder.
    #[serde(default)]
    pub feeder: Option<String>,
}

impl std::fmt::Debug for ProvisionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("ProvisionRequest")
            .field("serial", &self.serial)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("server_physical", &self.server_physical)
            .field("client_sap", &self.client_sap)
            .field("server_sap", &self.server_sap)
            .field("authentication", &self.authentication)
            .field("password", &redacted(&self.password))
            .field("key_encryption", &redacted(&self.key_encryption))
            .field("key_authentication", &redacted(&self.key_authentication))
            .field("key_master", &redacted(&self.key_master))
            .field("client_system_title", &self.client_system_title)
            .field("system_title", &self.system_title)
            .field("transformer", &self.transformer)
            .field("feeder", &self.feeder)
            .finish()
    }
}

fn default_port() -> u16 {
    4059
}
fn default_client_sap() -> u16 {
    1
}
fn default_server_sap() -> u16 {
    1
}

/// gridedge's default client system title: "GRD" + 00 00 00 00 01.
pub const DEFAULT_CLIENT_SYSTEM_TITLE: [u8; 8] = *b"GRD\x00\x00\x00\x00\x01";

impl ProvisionRequest {
    /// Checks the request and builds the management endpoint it describes.
    ///
    /// Errors: 422 for an empty or over-long serial, an unresolvable address, a missing
    /// password or keys for the chosen authentication, malformed hex, an unknown transport.
    pub fn endpoint(&self) -> Result<MeterEndpoint, ApiError> {
        let serial = self.serial.trim();
        if serial.is_empty() || serial.len() > 32 || serial.chars().any(|c| c.is_control()) {
            return Err(ApiError::unprocessable("serial must be 1 to 32 printable characters"));
        }
        let address = resolve(&self.host, self.port)?;
        let link = match self.transport.as_deref().map(str::trim) {
            None | Some("") | Some("wrapper") => LinkLayer::Wrapper,
            Some("hdlc") => LinkLayer::Hdlc { server_physical: self.server_physical },
            Some(other) => {
                return Err(ApiError::unprocessable(format!("unknown transport {other:?} (wrapper or hdlc)")));
            }
        };
        let (authentication, security) = match self.authentication {
            AuthenticationKind::None => (Authentication::None, None),
            AuthenticationKind::Low => {
                let password = self
                    .password
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| ApiError::unprocessable("authentication low needs a password"))?;
                (Authentication::Low { password: password.as_bytes().to_vec() }, None)
            }
            AuthenticationKind::HighGmac => {
                let (Some(ek), Some(ak)) = (&self.key_encryption, &self.key_authentication) else {
                    return Err(ApiError::unprocessable(
                        "authentication high-gmac needs key_encryption and key_authentication",
                    ));
                };
                let key = |hex_text: &str, what: &str| {
                    hex::decode(hex_text.trim())
                        .ok()
                        .and_then(|b| AesKey::from_slice(&b).ok())
                        .ok_or_else(|| ApiError::unprocessable(format!("{what} must be 32 hex digits")))
                };
                let title = match &self.client_system_title {
                    Some(t) => hex::decode(t.trim())
                        .ok()
                        .and_then(|b| SystemTitle::from_slice(&b).ok())
                        .ok_or_else(|| ApiError::unprocessable("client_system_title must be 16 hex digits"))?,
                    None => SystemTitle(DEFAULT_CLIENT_SYSTEM_TITLE),
                };
                let keys = GlobalKeys::new(key(ek, "key_encryption")?, key(ak, "key_authentication")?);
                (Authentication::HighGmac, Some(SecuritySettings::new(keys, title)))
            }
        };
        Ok(MeterEndpoint {
            serial: MeterId(serial.to_string()),
            address,
            client_sap: self.client_sap,
            server_sap: self.server_sap,
            authentication,
            link,
            security,
        })
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, ApiError> {
    (host.trim(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ApiError::unprocessable(format!("cannot resolve {host}:{port}")))
}

/// The meters the HES serves, for the API (see the module docs). Implementations must be
/// cheap to call from async code (in memory, or a short SQLite query).
pub trait MeterRegistry: Send + Sync {
    /// Every meter, ordered by serial.
    ///
    /// Errors: [`ApiError`] (500 for a backend failure).
    fn list(&self) -> Result<Vec<RegisteredMeter>, ApiError>;

    /// One meter, `None` when unknown.
    ///
    /// Errors: [`ApiError`].
    fn get(&self, serial: &MeterId) -> Result<Option<RegisteredMeter>, ApiError>;

    /// Registers a meter or replaces its registration and credentials.
    ///
    /// Errors: 422 for an invalid request ([`ProvisionRequest::endpoint`]); 500.
    fn provision(&self, request: &ProvisionRequest) -> Result<RegisteredMeter, ApiError>;

    /// The endpoint of a management association with the meter (the client allowed to
    /// invoke methods, e.g. client 1 with LLS), with its credentials; `None` for an unknown
    /// meter.
    ///
    /// Errors: [`ApiError`].
    fn command_endpoint(&self, serial: &MeterId) -> Result<Option<MeterEndpoint>, ApiError>;
}

struct Entry {
    meter: RegisteredMeter,
    endpoint: MeterEndpoint,
}

/// [`MeterRegistry`] in memory: what `gridedge api` and the demo know about their fleet.
#[derive(Default)]
pub struct InMemoryRegistry {
    meters: RwLock<BTreeMap<String, Entry>>,
}

impl std::fmt::Debug for InMemoryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.meters.read().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("InMemoryRegistry").field("meters", &n).finish()
    }
}

impl InMemoryRegistry {
    /// An empty registry.
    pub fn new() -> InMemoryRegistry {
        InMemoryRegistry::default()
    }

    /// Adds or replaces a meter given its management `endpoint`, grid location and status.
    pub fn insert(
        &self,
        endpoint: MeterEndpoint,
        transformer: Option<String>,
        feeder: Option<String>,
        status: &str,
    ) -> RegisteredMeter {
        let meter = RegisteredMeter {
            serial: endpoint.serial.0.clone(),
            status: status.to_string(),
            transport: match endpoint.link {
                LinkLayer::Wrapper => "wrapper".to_string(),
                LinkLayer::Hdlc { .. } => "hdlc".to_string(),
            },
            address: endpoint.address.to_string(),
            authentication: match endpoint.authentication {
                Authentication::None => "none",
                Authentication::Low { .. } => "low",
                Authentication::HighGmac => "high-gmac",
                _ => "other",
            }
            .to_string(),
            transformer,
            feeder,
        };
        let mut meters = self.meters.write().unwrap_or_else(|p| p.into_inner());
        meters.insert(meter.serial.clone(), Entry { meter: meter.clone(), endpoint });
        meter
    }
}

impl MeterRegistry for InMemoryRegistry {
    fn list(&self) -> Result<Vec<RegisteredMeter>, ApiError> {
        let meters = self.meters.read().unwrap_or_else(|p| p.into_inner());
        Ok(meters.values().map(|e| e.meter.clone()).collect())
    }

    fn get(&self, serial: &MeterId) -> Result<Option<RegisteredMeter>, ApiError> {
        let meters = self.meters.read().unwrap_or_else(|p| p.into_inner());
        Ok(meters.get(&serial.0).map(|e| e.meter.clone()))
    }

    fn provision(&self, request: &ProvisionRequest) -> Result<RegisteredMeter, ApiError> {
        let endpoint = request.endpoint()?;
        let status = self.get(&endpoint.serial)?.map_or_else(|| "provisioned".to_string(), |m| m.status);
        Ok(self.insert(endpoint, request.transformer.clone(), request.feeder.clone(), &status))
    }

    fn command_endpoint(&self, serial: &MeterId) -> Result<Option<MeterEndpoint>, ApiError> {
        let meters = self.meters.read().unwrap_or_else(|p| p.into_inner());
        Ok(meters.get(&serial.0).map(|e| e.endpoint.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ProvisionRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn provisioning_checks_credentials_and_hides_them() {
        let registry = InMemoryRegistry::new();
        let r = request(serde_json::json!({
            "serial": "GE1", "host": "127.0.0.1", "port": 4100, "authentication": "low",
            "password": "s3cret", "transformer": "T1", "feeder": "F1"
        }));
        let m = registry.provision(&r).unwrap();
        assert_eq!(
            (m.address.as_str(), m.authentication.as_str(), m.status.as_str()),
            ("127.0.0.1:4100", "low", "provisioned")
        );
        assert!(!serde_json::to_string(&m).unwrap().contains("s3cret"));
        assert!(!format!("{r:?}").contains("s3cret"), "Debug redacts the password");
        let ep = registry.command_endpoint(&MeterId::from("GE1")).unwrap().unwrap();
        assert_eq!(ep.authentication, Authentication::Low { password: b"s3cret".to_vec() });
        assert_eq!((ep.client_sap, ep.server_sap), (1, 1));
        let no_password = request(serde_json::json!({"serial": "GE2", "host": "127.0.0.1", "authentication": "low"}));
        assert_eq!(registry.provision(&no_password).unwrap_err().code, crate::error::ErrorCode::Unprocessable);
        let bad_key = request(serde_json::json!({
            "serial": "GE3", "host": "127.0.0.1", "authentication": "high-gmac",
            "key_encryption": "00", "key_authentication": "000102030405060708090A0B0C0D0E0F"
        }));
        assert!(registry.provision(&bad_key).is_err());
        let gmac = request(serde_json::json!({
            "serial": "GE4", "host": "127.0.0.1", "authentication": "high-gmac", "transport": "hdlc",
            "server_physical": 17,
            "key_encryption": "000102030405060708090A0B0C0D0E0F", "key_authentication": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
        }));
        let m = registry.provision(&gmac).unwrap();
        assert_eq!((m.transport.as_str(), m.authentication.as_str()), ("hdlc", "high-gmac"));
        let serials: Vec<String> = registry.list().unwrap().into_iter().map(|m| m.serial).collect();
        assert_eq!(serials, ["GE1", "GE4"]);
    }
}
