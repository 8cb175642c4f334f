//! AES key wrap (RFC 3394, NIST SP 800-38F "KW") with a 128-bit key encryption key, as
//! security suite 0 uses it to transfer keys (IEC 62056-5-3 §9.2.3.7; Security setup
//! method 2 `key_transfer`, IEC 62056-6-2 §5.3.7): the new key is wrapped with the
//! master key (KEK) and the 24-byte result travels as `key_wrapped`.

use aes_kw::KwAes128;
use aes_kw::cipher::KeyInit;
use aes_kw::cipher::array::Array;

use crate::security::error::SecurityError;
use crate::security::keys::AesKey;

/// Length of a wrapped 128-bit key: 16 + 8 bytes.
pub const WRAPPED_KEY_LEN: usize = 24;

fn kw(kek: &AesKey) -> KwAes128 {
    KwAes128::new(&Array::from(*kek.as_bytes()))
}

/// Wraps `key` with `kek` (RFC 3394 §2.2.1, default IV `A6A6A6A6A6A6A6A6`).
pub fn wrap_key(kek: &AesKey, key: &AesKey) -> [u8; WRAPPED_KEY_LEN] {
    let mut out = [0u8; WRAPPED_KEY_LEN];
    // 16 bytes are a multiple of 8 and `out` has room for 24: wrapping cannot fail.
    if kw(kek).wrap_key(key.as_bytes(), &mut out).is_err() {
        out = [0; WRAPPED_KEY_LEN];
    }
    out
}

/// Unwraps a key wrapped by [`wrap_key`], checking its integrity.
///
/// # Errors
/// [`SecurityError::KeyUnwrap`] unless `wrapped` is 24 bytes and its integrity check
/// (the RFC 3394 IV) verifies under `kek`.
pub fn unwrap_key(kek: &AesKey, wrapped: &[u8]) -> Result<AesKey, SecurityError> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(SecurityError::KeyUnwrap("wrapped key must be 24 bytes"));
    }
    let mut out = [0u8; WRAPPED_KEY_LEN];
    let key = kw(kek).unwrap_key(wrapped, &mut out).map_err(|_| SecurityError::KeyUnwrap("integrity check failed"))?;
    AesKey::from_slice(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_refuses_wrong_kek_and_wrong_length() {
        let kek = AesKey::new([1; 16]);
        let key = AesKey::new([2; 16]);
        let w = wrap_key(&kek, &key);
        assert_eq!(unwrap_key(&kek, &w), Ok(key));
        assert!(unwrap_key(&AesKey::new([3; 16]), &w).is_err());
        assert!(unwrap_key(&kek, &w[..16]).is_err());
        let mut tampered = w;
        tampered[23] ^= 1;
        assert!(unwrap_key(&kek, &tampered).is_err());
    }
}
