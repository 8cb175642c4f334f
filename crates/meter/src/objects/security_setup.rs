//! The Security setup object (interface class 64 version 1, IEC 62056-6-2 §5.3.7; DLMS UA
//! Blue Book §4.4.7) `0.0.43.0.0.255` of the management client's association, present when
//! the meter is configured with security suite 0 (HLS-GMAC).
//!
//! | attribute | name | value |
//! |---|---|---|
//! | 1 | logical_name | `0.0.43.0.0.255` |
//! | 2 | security_policy | `enum`, version 1 bits (e.g. 0x6C) |
//! | 3 | security_suite | `enum` 0 (AES-GCM-128) |
//! | 4 | client_system_title | `octet-string(8)`, empty until configured |
//! | 5 | server_system_title | `octet-string(8)` |
//!
//! Methods: 1 `security_activate(policy)` strengthens the policy (a weaker one is refused
//! with `other-reason`); 2 `key_transfer(array of key_data)` unwraps each key with the
//! meter's master key (KEK, RFC 3394) and installs them all or none.
//!
//! The keys and policy live in a [`SharedSecurity`] shared with the TCP server
//! ([`crate::tcp_server::ClientPolicy::security`]): a change applies to every association
//! the client opens afterwards; an open association keeps the keys it was built with until
//! it is released. The invocation-counter store is kept, so counters stay monotonic across
//! a key change (never reset).

use std::sync::{Arc, RwLock};

use dlms::Data;
use dlms::security::security_setup::{
    security_policy_from_data, security_policy_to_data, security_suite_to_data, system_title_to_data,
    unwrap_key_transfer,
};
use dlms::security::{AesKey, KeyId, SecurityError, SecuritySettings};
use dlms::xdlms::ActionResult;

use super::access::AttributeAccessMode::{NoAccess as NoAttributeAccess, Read};
use super::access::MethodAccessMode::{Access, NoAccess};
use super::access::{AttributeAccess, MethodAccess, attr, method};

pub use dlms::security::security_setup::{SECURITY_SETUP_CLASS_ID, SECURITY_SETUP_OBIS};

/// Version of the Security setup class the meter implements (security_policy as bits).
pub const SECURITY_SETUP_VERSION: u8 = 1;

/// Attributes 1..=5 readable; 6 certificates (suites 1/2) is not offered.
pub(crate) const SECURITY_SETUP_ATTRIBUTES: &[AttributeAccess] =
    &[attr(1, Read), attr(2, Read), attr(3, Read), attr(4, Read), attr(5, Read), attr(6, NoAttributeAccess)];

/// Methods 1 security_activate and 2 key_transfer are offered; 3 key_agreement and the
/// certificate methods 4..=8 (suites 1/2) are not.
pub(crate) const SECURITY_SETUP_METHODS: &[MethodAccess] = &[
    method(1, Access),
    method(2, Access),
    method(3, NoAccess),
    method(4, NoAccess),
    method(5, NoAccess),
    method(6, NoAccess),
    method(7, NoAccess),
    method(8, NoAccess),
];

/// Suite 0 settings (keys, system titles, policy, counter store) of one client, shared
/// between the TCP server, which builds each new association from a snapshot, and the
/// Security setup object, which changes them. Cloning shares the same settings.
#[derive(Debug, Clone)]
pub struct SharedSecurity(Arc<RwLock<SecuritySettings>>);

impl SharedSecurity {
    /// Shares `settings`.
    pub fn new(settings: SecuritySettings) -> Self {
        SharedSecurity(Arc::new(RwLock::new(settings)))
    }

    /// A copy of the current settings (what a new association is built from).
    pub fn snapshot(&self) -> SecuritySettings {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes the settings with `f`; associations opened afterwards see the change.
    pub fn update<T>(&self, f: impl FnOnce(&mut SecuritySettings) -> T) -> T {
        f(&mut self.0.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// True when `self` and `other` share the same settings.
    pub fn same_as(&self, other: &SharedSecurity) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The Security setup object: the shared settings it shows and changes and the meter's
/// master key (KEK) for key_transfer.
#[derive(Debug, Clone)]
pub struct SecuritySetup {
    shared: SharedSecurity,
    master_key: Option<AesKey>,
}

impl SecuritySetup {
    /// The object over `shared`; `master_key` is the KEK key_transfer unwraps with.
    /// Without one, key_transfer is refused with `read-write-denied`.
    pub fn new(shared: SharedSecurity, master_key: Option<AesKey>) -> Self {
        SecuritySetup { shared, master_key }
    }

    /// The shared settings.
    pub fn shared(&self) -> &SharedSecurity {
        &self.shared
    }

    /// Attribute `id` (2..=5); `None` for others (attribute 1 is answered by the dispatcher).
    pub fn attribute(&self, id: i8) -> Option<Data> {
        let s = self.shared.snapshot();
        match id {
            2 => security_policy_to_data(s.policy, SECURITY_SETUP_VERSION).ok(),
            3 => Some(security_suite_to_data(s.suite)),
            4 => Some(s.peer_system_title.as_ref().map_or(Data::OctetString(Vec::new()), system_title_to_data)),
            5 => Some(system_title_to_data(&s.system_title)),
            _ => None,
        }
    }

    /// Method `id` with `param`.
    ///
    /// # Errors
    /// security_activate: `type-unmatched` for a parameter that is not an `enum`,
    /// `other-reason` for an undefined policy or one weaker than the current one.
    /// key_transfer: `read-write-denied` when the meter has no master key,
    /// `type-unmatched` for a malformed parameter, `other-reason` when a key does not
    /// unwrap under the master key (no key is changed then). Other methods:
    /// `read-write-denied`.
    pub fn invoke(&mut self, id: i8, param: Option<&Data>) -> Result<Option<Data>, ActionResult> {
        match id {
            1 => self.security_activate(param),
            2 => self.key_transfer(param),
            _ => Err(ActionResult::ReadWriteDenied),
        }
    }

    fn security_activate(&mut self, param: Option<&Data>) -> Result<Option<Data>, ActionResult> {
        let Some(data @ Data::Enum(_)) = param else { return Err(ActionResult::TypeUnmatched) };
        let policy = security_policy_from_data(data, SECURITY_SETUP_VERSION).map_err(|_| ActionResult::OtherReason)?;
        self.shared.update(|s| {
            if policy.is_at_least(s.policy) {
                s.policy = policy;
                Ok(None)
            } else {
                Err(ActionResult::OtherReason)
            }
        })
    }

    fn key_transfer(&mut self, param: Option<&Data>) -> Result<Option<Data>, ActionResult> {
        let Some(kek) = &self.master_key else { return Err(ActionResult::ReadWriteDenied) };
        let Some(data) = param else { return Err(ActionResult::TypeUnmatched) };
        let keys = unwrap_key_transfer(kek, data).map_err(|e| match e {
            SecurityError::Decode(_) => ActionResult::TypeUnmatched,
            _ => ActionResult::OtherReason,
        })?;
        let mut new_master = None;
        self.shared.update(|s| {
            for (id, key) in keys {
                match id {
                    KeyId::GlobalUnicastEncryption => s.keys.global_unicast_encryption_key = key,
                    KeyId::GlobalBroadcastEncryption => s.keys.global_broadcast_encryption_key = Some(key),
                    KeyId::Authentication => s.keys.authentication_key = key,
                    KeyId::Master => new_master = Some(key),
                }
            }
        });
        if new_master.is_some() {
            self.master_key = new_master;
        }
        Ok(None)
    }
}
