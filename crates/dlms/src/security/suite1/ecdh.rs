//! ECC CDH on P-256, the key agreement primitive of security suite 1 (IEC 62056-5-3
//! §9.2.3.4.6, Green Book §9.2.3.4.6; NIST SP 800-56A Rev. 2 §5.7.1.2): the shared
//! secret `Z` is the x-coordinate of `d · Q` (P-256 has cofactor 1, so cofactor and
//! plain Diffie-Hellman agree).
//!
//! `Z` is never used as a key: it goes through the concatenation KDF
//! ([`super::kdf`]) and is zeroized when dropped ("destroy Z", Green Book Tables
//! 14-16).

use std::fmt;

use p256::elliptic_curve::zeroize::Zeroize;

use crate::security::suite1::error::Suite1Error;
use crate::security::suite1::public_key::PublicKey;
use crate::security::suite1::random_secret_key;

/// Length of the P-256 shared secret `Z`, bytes.
pub const SHARED_SECRET_LEN: usize = 32;

/// A private key agreement key: a static key (`d_s`, its public half in a
/// `C(KeyAgree)` certificate) or an ephemeral one (`d_e`, generated for one exchange).
/// Its `Debug` output is redacted and it is zeroized on drop.
#[derive(Clone)]
pub struct AgreementKey(p256::SecretKey);

impl AgreementKey {
    /// A fresh key from the operating system's random generator (an ephemeral key, or a
    /// new static key).
    ///
    /// # Errors
    /// [`Suite1Error::Random`] when the generator fails.
    pub fn generate() -> Result<Self, Suite1Error> {
        random_secret_key().map(AgreementKey)
    }

    /// The key with private scalar `d` given as 32 big-endian bytes (a stored static
    /// key, or a known-answer test).
    ///
    /// # Errors
    /// [`Suite1Error::InvalidPrivateKey`] unless `bytes` is 32 bytes encoding a scalar in
    /// `1..n-1`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Suite1Error> {
        // `from_slice` alone would left-pad shorter input: insist on exactly 32 bytes.
        if bytes.len() != 32 {
            return Err(Suite1Error::InvalidPrivateKey);
        }
        p256::SecretKey::from_slice(bytes).map(AgreementKey).map_err(|_| Suite1Error::InvalidPrivateKey)
    }

    /// The private scalar, 32 big-endian bytes, for storing a static key. Handle the
    /// result as secret material.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The public key agreement key `Q = d · G`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_inner(self.0.public_key())
    }

    /// `Z = ECC_CDH(d, Q_peer)`: the x-coordinate of `d · Q_peer`. The peer's key was
    /// validated when it was decoded ([`PublicKey`]).
    pub fn shared_secret(&self, peer: &PublicKey) -> SharedSecret {
        let z = self.0.diffie_hellman(peer.inner());
        let mut bytes = [0u8; SHARED_SECRET_LEN];
        bytes.copy_from_slice(z.raw_secret_bytes().as_slice());
        SharedSecret(bytes)
    }
}

impl fmt::Debug for AgreementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgreementKey(<redacted>)")
    }
}

/// The shared secret `Z` (32 bytes). Input to the KDF only; overwritten with zeros when
/// dropped and never printed.
pub struct SharedSecret([u8; SHARED_SECRET_LEN]);

impl SharedSecret {
    /// The 32 bytes of `Z` (big endian x-coordinate).
    pub fn as_bytes(&self) -> &[u8; SHARED_SECRET_LEN] {
        &self.0
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_nothing_is_printed() {
        let a = AgreementKey::generate().unwrap();
        let b = AgreementKey::generate().unwrap();
        let za = a.shared_secret(&b.public_key());
        let zb = b.shared_secret(&a.public_key());
        assert_eq!(za.as_bytes(), zb.as_bytes());
        assert_eq!(format!("{za:?}"), "SharedSecret(<redacted>)");
        assert_eq!(format!("{a:?}"), "AgreementKey(<redacted>)");
        assert_eq!(AgreementKey::from_bytes(&[0; 32]).unwrap_err(), Suite1Error::InvalidPrivateKey);
        assert_eq!(AgreementKey::from_bytes(&[1; 31]).unwrap_err(), Suite1Error::InvalidPrivateKey);
    }
}
