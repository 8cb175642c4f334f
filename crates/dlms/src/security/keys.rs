//! Key material and identities of DLMS/COSEM security (IEC 62056-5-3 §9.2.3 "Cryptographic
//! keys", §4.3.4 system title; IEC 62056-6-2 §5.3.7 Security setup `key_id`).
//!
//! Suite 0 uses AES-128 keys: the global unicast encryption key (GUEK), the global
//! broadcast encryption key (GBEK), the authentication key (AK, used only as additional
//! authenticated data), the master key (KEK, for key transfer) and an optional dedicated
//! (session) key sent by the client in the ciphered InitiateRequest.

use std::fmt;

use crate::security::error::SecurityError;

/// A 128-bit AES key (security suite 0: EK, AK, KEK or dedicated key). Its `Debug` output
/// is redacted so keys do not leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; 16]);

impl AesKey {
    /// The key with these 16 bytes.
    pub const fn new(bytes: [u8; 16]) -> Self {
        AesKey(bytes)
    }

    /// The key from a slice.
    ///
    /// # Errors
    /// [`SecurityError::InvalidKeyLength`] unless `bytes` is 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SecurityError> {
        <[u8; 16]>::try_from(bytes).map(AesKey).map_err(|_| SecurityError::InvalidKeyLength { len: bytes.len() })
    }

    /// A fresh random key from the operating system's generator (for dedicated keys).
    ///
    /// # Errors
    /// [`SecurityError::Random`] when the generator fails.
    pub fn random() -> Result<Self, SecurityError> {
        let mut k = [0u8; 16];
        getrandom::fill(&mut k).map_err(|e| SecurityError::Random(e.to_string()))?;
        Ok(AesKey(k))
    }

    /// The 16 key bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

/// A system title (IEC 62056-5-3 §4.3.4): 8 bytes identifying a DLMS/COSEM entity; the
/// first 3 bytes are normally the manufacturer's FLAG id, the rest a unique number. It
/// forms the first 8 bytes of the AES-GCM initialization vector of every APDU the entity
/// protects, so two entities sharing a key never share an IV.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemTitle(pub [u8; 8]);

impl SystemTitle {
    /// The system title from a slice (a calling-/responding-AP-title, a general-ciphering
    /// system-title field).
    ///
    /// # Errors
    /// [`SecurityError::InvalidSystemTitle`] unless `bytes` is 8 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SecurityError> {
        <[u8; 8]>::try_from(bytes).map(SystemTitle).map_err(|_| SecurityError::InvalidSystemTitle { len: bytes.len() })
    }

    /// The 8 bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for SystemTitle {
    /// Uppercase hex, e.g. `4D4D4D0000BC614E`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for SystemTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SystemTitle({self})")
    }
}

/// `key_id` of the Security setup methods key_transfer / key_agreement (IEC 62056-6-2
/// §5.3.7, class 64), also naming the keys whose invocation counters are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum KeyId {
    /// (0) global unicast encryption key.
    GlobalUnicastEncryption = 0,
    /// (1) global broadcast encryption key.
    GlobalBroadcastEncryption = 1,
    /// (2) authentication key.
    Authentication = 2,
    /// (3) master key, the key encryption key (KEK) of key_transfer.
    Master = 3,
}

impl KeyId {
    /// Maps the `key_id` enum value; `None` for values the standard does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => KeyId::GlobalUnicastEncryption,
            1 => KeyId::GlobalBroadcastEncryption,
            2 => KeyId::Authentication,
            3 => KeyId::Master,
            _ => return None,
        })
    }
}

/// The global keys one client and one server share (one Security setup object):
/// encryption keys for unicast and broadcast and the authentication key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalKeys {
    /// The global unicast encryption key (GUEK): ciphers glo- APDUs and HLS-GMAC.
    pub global_unicast_encryption_key: AesKey,
    /// The global broadcast encryption key (GBEK), when broadcast is used (security
    /// control bit 6 set).
    pub global_broadcast_encryption_key: Option<AesKey>,
    /// The authentication key (AK), part of the additional authenticated data of every
    /// authenticated APDU and of HLS-GMAC.
    pub authentication_key: AesKey,
}

impl GlobalKeys {
    /// Unicast encryption key and authentication key, no broadcast key.
    pub fn new(global_unicast_encryption_key: AesKey, authentication_key: AesKey) -> Self {
        GlobalKeys { global_unicast_encryption_key, global_broadcast_encryption_key: None, authentication_key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_and_keys_are_not_printed() {
        assert_eq!(AesKey::from_slice(&[0; 15]), Err(SecurityError::InvalidKeyLength { len: 15 }));
        let k = AesKey::from_slice(&[0xAB; 16]).unwrap();
        assert!(!format!("{k:?}").contains("AB"));
        assert_eq!(SystemTitle::from_slice(&[1; 7]), Err(SecurityError::InvalidSystemTitle { len: 7 }));
        let st = SystemTitle::from_slice(&[0x4D, 0x4D, 0x4D, 0, 0, 0xBC, 0x61, 0x4E]).unwrap();
        assert_eq!(st.to_string(), "4D4D4D0000BC614E");
        assert_ne!(AesKey::random().unwrap(), AesKey::random().unwrap());
    }

    #[test]
    fn key_ids_follow_the_security_setup_enum() {
        assert_eq!(KeyId::from_u8(0), Some(KeyId::GlobalUnicastEncryption));
        assert_eq!(KeyId::from_u8(3), Some(KeyId::Master));
        assert_eq!(KeyId::from_u8(4), None);
        assert_eq!(KeyId::Authentication as u8, 2);
    }
}
