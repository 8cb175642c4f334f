//! Key material in memory: wiped when dropped ([`zeroize`]), never shown by `Debug`.

use std::fmt;

use dlms::security::{AesKey, GlobalKeys};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::KeyStoreError;

/// A 128-bit AES key of security suite 0. Its bytes are overwritten with zeros when it
/// is dropped; `Debug` prints `Key128(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Key128([u8; 16]);

impl Key128 {
    /// The key with these bytes.
    pub fn new(bytes: [u8; 16]) -> Self {
        Key128(bytes)
    }

    /// The key from a slice.
    ///
    /// # Errors
    /// [`KeyStoreError::InvalidKey`] unless `bytes` is 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyStoreError> {
        <[u8; 16]>::try_from(bytes)
            .map(Key128)
            .map_err(|_| KeyStoreError::InvalidKey(format!("{} bytes, expected 16", bytes.len())))
    }

    /// The key from 32 hex digits (spaces and colons allowed between bytes).
    ///
    /// # Errors
    /// [`KeyStoreError::InvalidKey`] for anything else; the text is not echoed.
    pub fn from_hex(text: &str) -> Result<Self, KeyStoreError> {
        let bytes = Zeroizing::new(
            crate::registry_store::record::parse_hex(text)
                .ok_or_else(|| KeyStoreError::InvalidKey("not hex digits".into()))?,
        );
        Self::from_slice(&bytes)
    }

    /// A fresh key from the operating system's random generator.
    ///
    /// # Errors
    /// [`KeyStoreError::Random`] when the generator fails.
    pub fn random() -> Result<Self, KeyStoreError> {
        let mut k = [0u8; 16];
        getrandom::fill(&mut k).map_err(|e| KeyStoreError::Random(e.to_string()))?;
        Ok(Key128(k))
    }

    /// The 16 key bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The key as the DLMS stack's type (a copy the stack keeps for the session; the
    /// stack's `AesKey` is not wiped on drop).
    pub fn to_aes(&self) -> AesKey {
        AesKey::new(self.0)
    }
}

impl fmt::Debug for Key128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key128(<redacted>)")
    }
}

/// The suite 0 keys the HES holds for one meter (IEC 62056-5-3 §9.2.3.3): the global
/// unicast encryption key (GUEK), the authentication key (GAK) and the master key (KEK)
/// that wraps keys for Security setup key_transfer.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MeterKeys {
    /// Global unicast encryption key.
    pub encryption: Key128,
    /// Global authentication key.
    pub authentication: Key128,
    /// Master key (key-encryption key of key_transfer, RFC 3394).
    pub master: Key128,
}

impl MeterKeys {
    /// Length of the three keys concatenated (GUEK ‖ GAK ‖ KEK), bytes.
    pub const LEN: usize = 48;

    /// GUEK ‖ GAK ‖ KEK (for encryption at rest), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 48]> {
        let mut out = Zeroizing::new([0u8; 48]);
        out[..16].copy_from_slice(self.encryption.as_bytes());
        out[16..32].copy_from_slice(self.authentication.as_bytes());
        out[32..].copy_from_slice(self.master.as_bytes());
        out
    }

    /// The keys from GUEK ‖ GAK ‖ KEK.
    ///
    /// # Errors
    /// [`KeyStoreError::InvalidKey`] unless `bytes` is 48 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyStoreError> {
        if bytes.len() != Self::LEN {
            return Err(KeyStoreError::InvalidKey(format!("key set of {} bytes, expected 48", bytes.len())));
        }
        Ok(MeterKeys {
            encryption: Key128::from_slice(&bytes[..16])?,
            authentication: Key128::from_slice(&bytes[16..32])?,
            master: Key128::from_slice(&bytes[32..])?,
        })
    }

    /// The global keys of a DLMS association (no broadcast key).
    pub fn global_keys(&self) -> GlobalKeys {
        GlobalKeys::new(self.encryption.to_aes(), self.authentication.to_aes())
    }
}

impl fmt::Debug for MeterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MeterKeys(<redacted>)")
    }
}

/// An LLS password (IEC 62056-5-3 §7.2.2.2, mechanism 1), wiped when dropped and never
/// shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct LlsPassword(Vec<u8>);

impl LlsPassword {
    /// The password bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        LlsPassword(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for LlsPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LlsPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_never_print() {
        let k = Key128::from_hex("000102030405060708090A0B0C0D0E0F").unwrap();
        assert_eq!(k.as_bytes()[15], 0x0F);
        assert!(Key128::from_hex("0001").is_err());
        let err = Key128::from_hex("secret-not-hex").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let set = MeterKeys { encryption: k.clone(), authentication: Key128::new([0xAB; 16]), master: k };
        let shown = format!("{set:?} {:?}", set.authentication);
        assert!(!shown.contains("AB") && !shown.contains("171") && shown.contains("redacted"), "{shown}");
        assert_eq!(MeterKeys::from_bytes(&set.to_bytes()[..]).unwrap(), set);
        assert!(MeterKeys::from_bytes(&[0; 47]).is_err());
        assert_ne!(Key128::random().unwrap(), Key128::random().unwrap());
        assert_eq!(format!("{:?}", LlsPassword::new(b"00000000".to_vec())), "LlsPassword(<redacted>)");
    }
}
