//! Security suite 0 cryptography (IEC 62056-5-3 §9.2.3.7 and §9.2.7.2.4; DLMS UA 1000-2
//! Green Book §9.2.4): AES-GCM-128 with a 96-bit IV and a 12-byte (96-bit) tag.
//!
//! - IV = system title of the sender (8 bytes) || invocation counter (4 bytes, big endian)
//! - SC 0x30, authenticated encryption: AAD = SC || AK; output ciphertext || tag
//! - SC 0x10, authentication only: AAD = SC || AK || plaintext; output plaintext || tag
//! - SC 0x20, encryption only: GCM's counter mode alone; output ciphertext, no tag
//!
//! Decryption always verifies the tag when one is present (in constant time, by the
//! `aes-gcm` crate) and never returns plaintext that failed verification.

use aes_gcm::aead::AeadInOut;
use aes_gcm::aead::array::Array;
use aes_gcm::aead::consts::U12;
use aes_gcm::aes::Aes128;
use aes_gcm::{AesGcm, KeyInit};

use crate::codec::DecodeError;
use crate::security::control::{Protection, SecurityControl, SecuritySuite};
use crate::security::error::SecurityError;
use crate::security::keys::{AesKey, SystemTitle};

/// Length of the suite 0 authentication tag, bytes (IEC 62056-5-3 §9.2.3.7: 96 bits).
pub const TAG_LEN: usize = 12;

/// AES-128-GCM with a 12-byte nonce and a 12-byte tag.
type Gcm = AesGcm<Aes128, U12, U12>;

/// The keys one protection operation needs: the encryption key (global unicast,
/// broadcast or dedicated) and the authentication key.
#[derive(Debug, Clone, Copy)]
pub struct CipherKeys<'a> {
    /// EK: the key AES-GCM runs with.
    pub encryption_key: &'a AesKey,
    /// AK: part of the additional authenticated data.
    pub authentication_key: &'a AesKey,
}

/// The 12-byte initialization vector `system title || invocation counter`.
pub fn initialization_vector(system_title: &SystemTitle, invocation_counter: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(system_title.as_bytes());
    iv[8..].copy_from_slice(&invocation_counter.to_be_bytes());
    iv
}

fn cipher(key: &AesKey) -> Gcm {
    Gcm::new(&Array::from(*key.as_bytes()))
}

/// The protection `sc` asks for. Suite 1 ciphers with the same AES-GCM-128 and 12-byte
/// tags as suite 0 (IEC 62056-5-3 §9.2.3.7): only its suite id (1) differs, so both are
/// accepted here; suite 2 (AES-GCM-256) is not.
fn protection_of(sc: SecurityControl) -> Result<Protection, SecurityError> {
    if sc.suite_id() != SecuritySuite::Suite0 as u8 && sc.suite_id() != SecuritySuite::Suite1 as u8 {
        return Err(SecurityError::UnsupportedSecuritySuite(sc.suite_id()));
    }
    if sc.compression() {
        return Err(SecurityError::UnsupportedSecurityControl(sc.0));
    }
    sc.protection().ok_or(SecurityError::UnsupportedSecurityControl(sc.0))
}

fn aad(sc: SecurityControl, ak: &AesKey, data: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(17 + data.len());
    a.push(sc.0);
    a.extend_from_slice(ak.as_bytes());
    a.extend_from_slice(data);
    a
}

/// A suite 0 cipher prepared for one encryption key: the AES-128 key schedule and the GHASH
/// key are computed once, in [`Suite0Cipher::new`], and reused for every APDU protected or
/// opened with that key (e.g. all APDUs of one association under its global unicast key),
/// instead of once per APDU as [`encrypt`] and [`decrypt`] do. Its `Debug` output is
/// redacted.
#[derive(Clone)]
pub struct Suite0Cipher {
    gcm: Gcm,
}

impl std::fmt::Debug for Suite0Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Suite0Cipher(<redacted>)")
    }
}

impl Suite0Cipher {
    /// The cipher for `encryption_key` (EK: global unicast, broadcast or dedicated).
    pub fn new(encryption_key: &AesKey) -> Self {
        Suite0Cipher { gcm: cipher(encryption_key) }
    }

    /// As [`encrypt`] with this cipher's key as EK and `authentication_key` as AK.
    ///
    /// # Errors
    /// As [`encrypt`].
    pub fn encrypt(
        &self,
        sc: SecurityControl,
        system_title: &SystemTitle,
        invocation_counter: u32,
        authentication_key: &AesKey,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SecurityError> {
        let protection = protection_of(sc)?;
        let gcm = &self.gcm;
        let iv = Array::from(initialization_vector(system_title, invocation_counter));
        match protection {
            Protection::AuthenticatedEncryption => {
                let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
                buf.extend_from_slice(plaintext);
                let tag = gcm
                    .encrypt_inout_detached(&iv, &aad(sc, authentication_key, &[]), buf.as_mut_slice().into())
                    .map_err(|_| SecurityError::Cipher)?;
                buf.extend_from_slice(&tag);
                Ok(buf)
            }
            Protection::AuthenticationOnly => {
                let mut empty: [u8; 0] = [];
                let tag = gcm
                    .encrypt_inout_detached(&iv, &aad(sc, authentication_key, plaintext), empty.as_mut_slice().into())
                    .map_err(|_| SecurityError::Cipher)?;
                let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
                out.extend_from_slice(plaintext);
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Protection::EncryptionOnly => {
                let mut buf = plaintext.to_vec();
                // GCM's CTR keystream from J0+1; the tag over an empty AAD is discarded.
                gcm.encrypt_inout_detached(&iv, &[], buf.as_mut_slice().into()).map_err(|_| SecurityError::Cipher)?;
                Ok(buf)
            }
        }
    }

    /// As [`decrypt`] with this cipher's key as EK and `authentication_key` as AK.
    ///
    /// # Errors
    /// As [`decrypt`].
    pub fn decrypt(
        &self,
        sc: SecurityControl,
        system_title: &SystemTitle,
        invocation_counter: u32,
        authentication_key: &AesKey,
        ciphered: &[u8],
    ) -> Result<Vec<u8>, SecurityError> {
        let protection = protection_of(sc)?;
        let gcm = &self.gcm;
        let iv = Array::from(initialization_vector(system_title, invocation_counter));
        let split_tag = |data: &[u8]| -> Result<(Vec<u8>, Array<u8, U12>), SecurityError> {
            let body_len = data.len().checked_sub(TAG_LEN).ok_or_else(|| {
                SecurityError::Decode(DecodeError::Truncated {
                    what: "authentication tag",
                    needed: TAG_LEN.saturating_sub(data.len()),
                })
            })?;
            let (body, tag) = data.split_at(body_len);
            let tag = Array::try_from(tag).map_err(|_| SecurityError::AuthenticationFailed)?;
            Ok((body.to_vec(), tag))
        };
        match protection {
            Protection::AuthenticatedEncryption => {
                let (mut buf, tag) = split_tag(ciphered)?;
                gcm.decrypt_inout_detached(&iv, &aad(sc, authentication_key, &[]), buf.as_mut_slice().into(), &tag)
                    .map_err(|_| SecurityError::AuthenticationFailed)?;
                Ok(buf)
            }
            Protection::AuthenticationOnly => {
                let (plain, tag) = split_tag(ciphered)?;
                let mut empty: [u8; 0] = [];
                gcm.decrypt_inout_detached(
                    &iv,
                    &aad(sc, authentication_key, &plain),
                    empty.as_mut_slice().into(),
                    &tag,
                )
                .map_err(|_| SecurityError::AuthenticationFailed)?;
                Ok(plain)
            }
            Protection::EncryptionOnly => {
                let mut buf = ciphered.to_vec();
                gcm.encrypt_inout_detached(&iv, &[], buf.as_mut_slice().into()).map_err(|_| SecurityError::Cipher)?;
                Ok(buf)
            }
        }
    }
}

/// Protects `plaintext` (an xDLMS APDU) as `sc` asks: returns the bytes that follow the
/// security header in a ciphered APDU (ciphertext || tag, plaintext || tag, or
/// ciphertext). Prepares the cipher for this call only: to protect many APDUs under one
/// key, keep a [`Suite0Cipher`].
///
/// # Errors
/// [`SecurityError::UnsupportedSecuritySuite`] unless the suite id is 0 or 1 (both
/// AES-GCM-128);
/// [`SecurityError::UnsupportedSecurityControl`] for compression or for neither
/// authentication nor encryption; [`SecurityError::Cipher`] for an input beyond GCM's
/// limit.
pub fn encrypt(
    sc: SecurityControl,
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: CipherKeys<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    protection_of(sc)?;
    Suite0Cipher::new(keys.encryption_key).encrypt(
        sc,
        system_title,
        invocation_counter,
        keys.authentication_key,
        plaintext,
    )
}

/// Reverses [`encrypt`]: verifies the tag (when `sc` has authentication) and returns
/// the plaintext APDU.
///
/// # Errors
/// As [`encrypt`]; [`SecurityError::Decode`] when `ciphered` is shorter than the tag;
/// [`SecurityError::AuthenticationFailed`] when the tag does not verify. No plaintext is
/// returned on any error.
pub fn decrypt(
    sc: SecurityControl,
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: CipherKeys<'_>,
    ciphered: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    protection_of(sc)?;
    Suite0Cipher::new(keys.encryption_key).decrypt(
        sc,
        system_title,
        invocation_counter,
        keys.authentication_key,
        ciphered,
    )
}

/// The 12-byte GMAC of `data` (AES-GCM with an empty plaintext and AAD = SC || AK ||
/// data), as used by HLS mechanism 5 (IEC 62056-5-3 §9.2.7.4, with SC 0x10).
///
/// # Errors
/// As [`encrypt`].
pub fn gmac(
    sc: SecurityControl,
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: CipherKeys<'_>,
    data: &[u8],
) -> Result<[u8; TAG_LEN], SecurityError> {
    let protected = encrypt(sc, system_title, invocation_counter, keys, data)?;
    let tag = protected.get(data.len()..).ok_or(SecurityError::Cipher)?;
    <[u8; TAG_LEN]>::try_from(tag).map_err(|_| SecurityError::UnsupportedSecurityControl(sc.0))
}

/// Verifies a GMAC made by [`gmac`] in constant time.
///
/// # Errors
/// [`SecurityError::AuthenticationFailed`] when it does not verify; the errors of
/// [`encrypt`] for an unusable `sc`.
pub fn verify_gmac(
    sc: SecurityControl,
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: CipherKeys<'_>,
    data: &[u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), SecurityError> {
    if sc.protection() != Some(Protection::AuthenticationOnly) {
        return Err(SecurityError::UnsupportedSecurityControl(sc.0));
    }
    let mut joined = data.to_vec();
    joined.extend_from_slice(tag);
    decrypt(sc, system_title, invocation_counter, keys, &joined).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EK: AesKey = AesKey::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const AK: AesKey =
        AesKey::new([0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]);
    const ST: SystemTitle = SystemTitle([0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E]);

    fn keys() -> CipherKeys<'static> {
        CipherKeys { encryption_key: &EK, authentication_key: &AK }
    }

    #[test]
    fn refuses_other_suites_compression_and_no_protection() {
        for sc in [0x32, 0xB0, 0x00, 0x40] {
            assert!(encrypt(SecurityControl(sc), &ST, 1, keys(), b"x").is_err(), "{sc:#x}");
            assert!(decrypt(SecurityControl(sc), &ST, 1, keys(), &[0; 20]).is_err(), "{sc:#x}");
        }
        assert_eq!(
            encrypt(SecurityControl(0x32), &ST, 1, keys(), b"x"),
            Err(SecurityError::UnsupportedSecuritySuite(2))
        );
    }

    #[test]
    fn suite1_ciphers_with_aes_gcm_128_and_its_own_security_control() {
        // SC is part of the AAD: the same APDU under SC 0x31 and 0x30 has the same
        // ciphertext (same key and IV) but a different tag, and neither verifies as the other.
        let s1 = encrypt(SecurityControl(0x31), &ST, 7, keys(), b"\xC0\x01").unwrap();
        let s0 = encrypt(SecurityControl(0x30), &ST, 7, keys(), b"\xC0\x01").unwrap();
        assert_eq!(s1.len(), 2 + TAG_LEN);
        assert_eq!(s1[..2], s0[..2]);
        assert_ne!(s1[2..], s0[2..]);
        assert_eq!(decrypt(SecurityControl(0x31), &ST, 7, keys(), &s1).unwrap(), b"\xC0\x01");
        assert_eq!(decrypt(SecurityControl(0x30), &ST, 7, keys(), &s1), Err(SecurityError::AuthenticationFailed));
        assert_eq!(decrypt(SecurityControl(0x31), &ST, 7, keys(), &s0), Err(SecurityError::AuthenticationFailed));
    }

    #[test]
    fn short_input_is_a_typed_error() {
        for sc in [0x10, 0x30] {
            let e = decrypt(SecurityControl(sc), &ST, 1, keys(), &[0; 11]).unwrap_err();
            assert!(matches!(e, SecurityError::Decode(DecodeError::Truncated { .. })), "{e:?}");
        }
        // An empty APDU authenticated: just a tag.
        let t = encrypt(SecurityControl(0x30), &ST, 1, keys(), &[]).unwrap();
        assert_eq!(t.len(), TAG_LEN);
        assert_eq!(decrypt(SecurityControl(0x30), &ST, 1, keys(), &t), Ok(vec![]));
    }
}
