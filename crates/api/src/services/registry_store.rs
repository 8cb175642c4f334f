//! [`MeterRegistry`] over the HES's persistent registry (`hes::registry_store`, table
//! `meters` in the HES database) and its key store (`hes::key_store`, LLS passwords and
//! suite 0 keys sealed under the storage KEK): what `gridedge api --registry-db PATH`
//! serves. Provisioning through the API writes the same records `gridedge hes registry
//! add` writes, and the secrets go to the key store, never to the registry; without a key
//! store (no storage KEK given) only meters without secrets can be provisioned.
//!
//! Command endpoints are built the way the HES builds them for collection
//! (`hes::key_store::endpoint_candidates`: the active key generation, the HES's system
//! title `GRD 00 00 00 00 01`).

use std::path::Path;
use std::sync::Mutex;

use hes::MeterEndpoint;
use hes::key_store::{
    DEFAULT_HES_SYSTEM_TITLE, Key128, KeyOrigin, KeyStore, LlsPassword, MeterKeys, endpoint_candidates,
};
use hes::registry_store::{
    AuthenticationKind as StoredAuthentication, MeterFilter, MeterRecord, RegistryError, RegistryStore,
    SecurityProfile, StoredMeter, TransportKind,
};
use model::MeterId;

use super::registry::{AuthenticationKind, MeterRegistry, ProvisionRequest, RegisteredMeter};
use crate::error::ApiError;

/// The HES registry and key store as a [`MeterRegistry`] (see the module docs).
pub struct HesRegistry {
    registry: Mutex<RegistryStore>,
    keys: Option<KeyStore>,
}

impl std::fmt::Debug for HesRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HesRegistry").field("key_store", &self.keys.is_some()).finish_non_exhaustive()
    }
}

fn registry_error(context: &str) -> impl Fn(RegistryError) -> ApiError + '_ {
    move |e| match e {
        RegistryError::Record(r) => ApiError::unprocessable(r.to_string()),
        other => ApiError::internal(context, other),
    }
}

fn shown(m: &StoredMeter) -> RegisteredMeter {
    let r = &m.record;
    RegisteredMeter {
        serial: r.serial.0.clone(),
        status: r.status.as_str().to_string(),
        transport: r.transport.kind.as_str().to_string(),
        address: format!("{}:{}", r.transport.host, r.transport.port),
        authentication: r.authentication.as_str().to_string(),
        transformer: r.transformer.clone(),
        feeder: r.feeder.clone(),
    }
}

impl HesRegistry {
    /// The registry in the HES database at `path`, with the key store `keys` (opened on
    /// the same database with the storage KEK) when given.
    ///
    /// Errors: 500 when the database cannot be opened.
    pub fn open(path: &Path, keys: Option<KeyStore>) -> Result<HesRegistry, ApiError> {
        let registry = RegistryStore::open(path).map_err(registry_error("opening the HES registry"))?;
        Ok(HesRegistry { registry: Mutex::new(registry), keys })
    }

    /// Over an open registry store.
    pub fn new(registry: RegistryStore, keys: Option<KeyStore>) -> HesRegistry {
        HesRegistry { registry: Mutex::new(registry), keys }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryStore> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record_of(request: &ProvisionRequest, existing: Option<&StoredMeter>) -> Result<MeterRecord, ApiError> {
        // The same checks as the in-memory registry (serial, address, secrets present).
        request.endpoint()?;
        let mut record = MeterRecord::new(request.serial.trim(), request.host.trim(), request.port);
        record.transport.kind = match request.transport.as_deref().map(str::trim) {
            Some("hdlc") => TransportKind::Hdlc,
            _ => TransportKind::Wrapper,
        };
        record.transport.server_physical = request.server_physical;
        record.transport.client_sap = request.client_sap;
        record.transport.server_sap = request.server_sap;
        record.authentication = match request.authentication {
            AuthenticationKind::None => StoredAuthentication::None,
            AuthenticationKind::Low => StoredAuthentication::Low,
            AuthenticationKind::HighGmac => StoredAuthentication::HighGmac,
        };
        if request.authentication == AuthenticationKind::HighGmac {
            record.security = Some(SecurityProfile::SUITE0_DEFAULT);
        }
        if let Some(title) = &request.system_title {
            record.system_title = Some(
                hes::registry_store::record::parse_system_title(title)
                    .map_err(|_| ApiError::unprocessable("system_title must be 16 hex digits"))?,
            );
        }
        record.transformer = request.transformer.clone();
        record.feeder = request.feeder.clone();
        if let Some(existing) = existing {
            record.status = existing.record.status;
            record.meter_type = existing.record.meter_type;
            record.dcu = existing.record.dcu.clone();
            record.link = existing.record.link.clone();
            record.time_zone = existing.record.time_zone.clone();
            record.logical_device_name = existing.record.logical_device_name.clone();
        }
        record.validate().map_err(|e| ApiError::unprocessable(e.to_string()))?;
        Ok(record)
    }

    fn store_secrets(&self, request: &ProvisionRequest) -> Result<(), ApiError> {
        let serial = request.serial.trim();
        let needs = |what: &str| {
            ApiError::unprocessable(format!(
                "authentication {what} needs the HES key store (start the API with the storage KEK)"
            ))
        };
        let key_error = |e: hes::key_store::KeyStoreError| ApiError::internal("storing the meter's secrets", e);
        match request.authentication {
            AuthenticationKind::None => Ok(()),
            AuthenticationKind::Low => {
                let keys = self.keys.as_ref().ok_or_else(|| needs("low"))?;
                let password = request.password.as_deref().unwrap_or_default();
                keys.set_lls_password(serial, &LlsPassword::new(password.as_bytes().to_vec())).map_err(key_error)
            }
            AuthenticationKind::HighGmac => {
                let keys = self.keys.as_ref().ok_or_else(|| needs("high-gmac"))?;
                let key = |text: &Option<String>, what: &str| {
                    text.as_deref()
                        .and_then(|t| Key128::from_hex(t.trim()).ok())
                        .ok_or_else(|| ApiError::unprocessable(format!("{what} must be 32 hex digits")))
                };
                let meter_keys = MeterKeys {
                    encryption: key(&request.key_encryption, "key_encryption")?,
                    authentication: key(&request.key_authentication, "key_authentication")?,
                    master: key(&request.key_master, "key_master (the meter's master key, needed by the key store)")?,
                };
                keys.install(serial, &meter_keys, KeyOrigin::Imported).map(|_| ()).map_err(key_error)
            }
        }
    }
}

impl MeterRegistry for HesRegistry {
    fn list(&self) -> Result<Vec<RegisteredMeter>, ApiError> {
        let meters = self.lock().list(&MeterFilter::default()).map_err(registry_error("listing meters"))?;
        Ok(meters.iter().map(shown).collect())
    }

    fn get(&self, serial: &MeterId) -> Result<Option<RegisteredMeter>, ApiError> {
        Ok(self.lock().get(&serial.0).map_err(registry_error("reading a meter"))?.as_ref().map(shown))
    }

    fn provision(&self, request: &ProvisionRequest) -> Result<RegisteredMeter, ApiError> {
        let existing = self.lock().get(request.serial.trim()).map_err(registry_error("reading a meter"))?;
        let record = Self::record_of(request, existing.as_ref())?;
        // Secrets first: a record is never left pointing at secrets that were refused.
        self.store_secrets(request)?;
        let mut registry = self.lock();
        registry.upsert(&record).map_err(registry_error("provisioning a meter"))?;
        let stored = registry
            .get(&record.serial.0)
            .map_err(registry_error("reading a meter"))?
            .ok_or_else(|| ApiError::internal("provisioning a meter", "the record vanished"))?;
        Ok(shown(&stored))
    }

    fn command_endpoint(&self, serial: &MeterId) -> Result<Option<MeterEndpoint>, ApiError> {
        let Some(stored) = self.lock().get(&serial.0).map_err(registry_error("reading a meter"))? else {
            return Ok(None);
        };
        let candidates = endpoint_candidates(&stored.record, self.keys.as_ref(), DEFAULT_HES_SYSTEM_TITLE)
            .map_err(|e| ApiError::unprocessable(format!("meter {serial} cannot be reached: {e}")))?;
        Ok(Some(candidates.active))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hes::key_store::StorageKek;

    fn request(json: serde_json::Value) -> ProvisionRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn provisioning_writes_the_hes_registry_and_the_key_store() {
        let keys = KeyStore::open_in_memory(StorageKek::new([7; 32])).unwrap();
        let registry = HesRegistry::new(RegistryStore::open_in_memory().unwrap(), Some(keys.clone()));
        let m = registry
            .provision(&request(serde_json::json!({
                "serial": "GE1", "host": "127.0.0.1", "port": 4100, "authentication": "low",
                "password": "s3cret", "transformer": "T1", "feeder": "F1"
            })))
            .unwrap();
        assert_eq!(
            (m.address.as_str(), m.authentication.as_str(), m.status.as_str(), m.transformer.as_deref()),
            ("127.0.0.1:4100", "low", "provisioned", Some("T1"))
        );
        assert_eq!(keys.lls_password("GE1").unwrap().unwrap().as_bytes(), b"s3cret");
        let ep = registry.command_endpoint(&MeterId::from("GE1")).unwrap().unwrap();
        assert_eq!(ep.authentication, dlms::association::Authentication::Low { password: b"s3cret".to_vec() });
        assert_eq!((ep.client_sap, ep.server_sap, ep.address.port()), (1, 1, 4100));
        // HLS-GMAC needs all three keys; with them the endpoint is ciphered.
        let gmac = serde_json::json!({
            "serial": "GE2", "host": "127.0.0.1", "authentication": "high-gmac",
            "key_encryption": "000102030405060708090A0B0C0D0E0F",
            "key_authentication": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
        });
        let refused = registry.provision(&request(gmac.clone())).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Unprocessable);
        assert!(registry.get(&MeterId::from("GE2")).unwrap().is_none(), "nothing stored after a refusal");
        let mut gmac = gmac;
        gmac["key_master"] = serde_json::json!("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
        registry.provision(&request(gmac)).unwrap();
        let ep = registry.command_endpoint(&MeterId::from("GE2")).unwrap().unwrap();
        assert!(ep.security.is_some());
        let serials: Vec<String> = registry.list().unwrap().into_iter().map(|m| m.serial).collect();
        assert_eq!(serials, ["GE1", "GE2"]);
        assert!(registry.command_endpoint(&MeterId::from("NOPE")).unwrap().is_none());
    }

    #[test]
    fn without_a_key_store_only_meters_without_secrets_are_provisioned() {
        let registry = HesRegistry::new(RegistryStore::open_in_memory().unwrap(), None);
        let low = request(
            serde_json::json!({"serial": "GE1", "host": "127.0.0.1", "authentication": "low", "password": "x"}),
        );
        assert_eq!(registry.provision(&low).unwrap_err().code, crate::error::ErrorCode::Unprocessable);
        let none = request(
            serde_json::json!({"serial": "GE3", "host": "127.0.0.1", "authentication": "none", "client_sap": 16}),
        );
        let m = registry.provision(&none).unwrap();
        assert_eq!(m.authentication, "none");
        let ep = registry.command_endpoint(&MeterId::from("GE3")).unwrap().unwrap();
        assert_eq!(ep.client_sap, 16);
    }
}
