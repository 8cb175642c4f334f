//! ECDSA with P-256 and SHA-256, the digital signature algorithm of security suite 1
//! (IEC 62056-5-3 §9.2.3.4.5, Green Book §9.2.3.4.5; FIPS PUB 186-4).
//!
//! Signatures use the plain format the Green Book prescribes: `R ‖ S` with
//! `R = I2OS(r, 32)` and `S = I2OS(s, 32)`, always 64 bytes (never DER).
//!
//! Signing is deterministic (RFC 6979 §3.2 nonce derivation, via RustCrypto's `p256`):
//! it needs no random generator and cannot leak the key through a weak nonce; any
//! FIPS 186-4 verifier accepts the result.

use std::fmt;

use p256::ecdsa::signature::{Signer, Verifier};

use crate::security::suite1::error::Suite1Error;
use crate::security::suite1::public_key::PublicKey;
use crate::security::suite1::random_secret_key;

/// Length of a suite 1 signature `R ‖ S`, bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Length of a P-256 private key, bytes.
pub const PRIVATE_KEY_LEN: usize = 32;

/// A private digital signature key (Green Book Table 22: "signatory uses private key to
/// compute digital signature on xDLMS APDUs, COSEM data or an ephemeral public key
/// agreement key"). Its `Debug` output is redacted and it is zeroized on drop.
#[derive(Clone)]
pub struct SigningKey(p256::ecdsa::SigningKey);

impl SigningKey {
    /// A fresh key pair from the operating system's random generator (FIPS 186-4
    /// B.4.2, testing candidates).
    ///
    /// # Errors
    /// [`Suite1Error::Random`] when the generator fails.
    pub fn generate() -> Result<Self, Suite1Error> {
        random_secret_key().map(|k| SigningKey(p256::ecdsa::SigningKey::from(k)))
    }

    /// The key with private scalar `d` given as 32 big-endian bytes.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidPrivateKey`] unless `bytes` is 32 bytes encoding a scalar in
    /// `1..n-1`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Suite1Error> {
        // `from_slice` alone would left-pad shorter input: insist on exactly 32 bytes.
        if bytes.len() != PRIVATE_KEY_LEN {
            return Err(Suite1Error::InvalidPrivateKey);
        }
        p256::ecdsa::SigningKey::from_slice(bytes).map(SigningKey).map_err(|_| Suite1Error::InvalidPrivateKey)
    }

    /// The private scalar, 32 big-endian bytes, for storing the key in a key store.
    /// Handle the result as secret material.
    pub fn to_bytes(&self) -> [u8; PRIVATE_KEY_LEN] {
        self.0.to_bytes().into()
    }

    /// The public digital signature key (what a `C(DataSign)` certificate carries).
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_inner(p256::PublicKey::from(self.0.verifying_key()))
    }

    /// Signs `message` (hashed with SHA-256 first): the 64-byte `R ‖ S` signature.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        Signature(sig.to_bytes().into())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A suite 1 ECDSA signature in the plain format `R ‖ S` (64 bytes). Any 64 bytes can be
/// held (so a received value can be reported); [`verify`] refuses values whose `r` or
/// `s` is outside `1..n-1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl Signature {
    /// The signature from a received octet-string.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidSignatureLength`] unless `bytes` is 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Suite1Error> {
        <[u8; SIGNATURE_LEN]>::try_from(bytes)
            .map(Signature)
            .map_err(|_| Suite1Error::InvalidSignatureLength { len: bytes.len() })
    }

    /// The 64 bytes `R ‖ S`.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))?;
        f.write_str(")")
    }
}

/// Verifies `signature` over `message` (hashed with SHA-256) under the signatory's
/// public digital signature key (FIPS 186-4 §6.4; IEC 62056-5-3 §9.2.3.4.5).
///
/// # Errors
/// [`Suite1Error::SignatureInvalid`] when `r` or `s` is out of range or the signature
/// does not verify.
pub fn verify(public_key: &PublicKey, message: &[u8], signature: &Signature) -> Result<(), Suite1Error> {
    let sig = p256::ecdsa::Signature::from_slice(&signature.0).map_err(|_| Suite1Error::SignatureInvalid)?;
    p256::ecdsa::VerifyingKey::from(public_key.inner()).verify(message, &sig).map_err(|_| Suite1Error::SignatureInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_not_printed_and_lengths_are_checked() {
        let k = SigningKey::from_bytes(&[0x11; 32]).unwrap();
        let printed = format!("{k:?}");
        assert!(!printed.contains("11"), "{printed}");
        assert_eq!(SigningKey::from_bytes(&[0; 32]).unwrap_err(), Suite1Error::InvalidPrivateKey);
        assert_eq!(SigningKey::from_bytes(&[1; 31]).unwrap_err(), Suite1Error::InvalidPrivateKey);
        // n itself is not a valid scalar
        let n = [
            0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6,
            0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
        ];
        assert_eq!(SigningKey::from_bytes(&n).unwrap_err(), Suite1Error::InvalidPrivateKey);
        assert_eq!(Signature::from_slice(&[0; 63]), Err(Suite1Error::InvalidSignatureLength { len: 63 }));
    }

    #[test]
    fn zero_signature_is_refused() {
        let k = SigningKey::generate().unwrap();
        assert_eq!(verify(&k.public_key(), b"m", &Signature([0; 64])), Err(Suite1Error::SignatureInvalid));
    }
}
