//! Per-meter keys derived from one master secret with HKDF-SHA-256 (RFC 5869; RustCrypto
//! `hkdf` + `sha2`), so a utility can provision a fleet from one secret held in an HSM or
//! a vault instead of a key file per meter.
//!
//! ```text
//! OKM  = HKDF-SHA-256(salt, IKM = master secret, info = meter system title (8 bytes), L = 48)
//! GUEK = OKM[0..16]    GAK = OKM[16..32]    master key (KEK) = OKM[32..48]
//! ```
//!
//! The salt is optional (RFC 5869 §3.1: absent = a string of HashLen zeros); a deployment
//! that sets one must keep it with the master secret. The system title (IEC 62056-5-3
//! §4.3.4) is unique per meter, so every meter gets different keys, and one meter's keys
//! reveal nothing about another's. Keys produced by rotation are random, not derived.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use dlms::security::SystemTitle;

use super::error::KeyStoreError;
use super::secret::{Key128, MeterKeys};

/// Shortest master secret accepted, bytes (128 bits of entropy for 128-bit keys).
pub const MIN_MASTER_SECRET_LEN: usize = 16;

/// HKDF-SHA-256 (RFC 5869 §2): extract with `salt` (`None` = 32 zero bytes), expand
/// with `info` to `out.len()` bytes.
///
/// # Errors
/// [`KeyStoreError::Crypto`] when `out` is longer than 255 × 32 bytes.
pub fn hkdf_sha256(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), KeyStoreError> {
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out)
        .map_err(|_| KeyStoreError::Crypto(format!("HKDF output of {} bytes is too long", out.len())))
}

/// The meter's GUEK, GAK and master key derived from `master_secret` (see the module
/// docs).
///
/// # Errors
/// [`KeyStoreError::InvalidKey`] when the master secret is shorter than
/// [`MIN_MASTER_SECRET_LEN`].
pub fn derive_meter_keys(
    master_secret: &[u8],
    salt: Option<&[u8]>,
    system_title: &SystemTitle,
) -> Result<MeterKeys, KeyStoreError> {
    if master_secret.len() < MIN_MASTER_SECRET_LEN {
        return Err(KeyStoreError::InvalidKey(format!(
            "master secret of {} bytes, at least {MIN_MASTER_SECRET_LEN} required",
            master_secret.len()
        )));
    }
    let mut okm = Zeroizing::new([0u8; MeterKeys::LEN]);
    hkdf_sha256(salt, master_secret, system_title.as_bytes(), &mut okm[..])?;
    Ok(MeterKeys {
        encryption: Key128::from_slice(&okm[..16])?,
        authentication: Key128::from_slice(&okm[16..32])?,
        master: Key128::from_slice(&okm[32..])?,
    })
}
