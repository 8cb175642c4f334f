//! [`PublicKey`]: a P-256 public key as DLMS/COSEM carries it (IEC 62056-5-3
//! §9.2.3.4.2, Green Book §9.2.3.4 and Table 21): the 64 bytes `FE2OS(x) ‖ FE2OS(y)`,
//! i.e. the SEC 1 uncompressed point without its leading `04`.
//!
//! The same type holds a digital signature public key (verifies ECDSA) and a static or
//! ephemeral key agreement public key (ECDH); the private halves are distinct types
//! ([`super::ecdsa::SigningKey`], [`super::ecdh::AgreementKey`]) because the Green Book
//! forbids using one key for two purposes (§9.2.3.4.1).
//!
//! Every constructor validates the point (on the curve, not the identity), so an
//! invalid-curve point from the wire is refused before any scalar multiplication.

use std::fmt;

use p256::elliptic_curve::sec1::ToSec1Point;

use crate::security::suite1::error::Suite1Error;

/// Length of the DLMS public key encoding `x ‖ y`, bytes.
pub const PUBLIC_KEY_LEN: usize = 64;

/// A validated P-256 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(p256::PublicKey);

impl PublicKey {
    /// The key from the 64-byte DLMS encoding `x ‖ y` (32 bytes each, big endian).
    ///
    /// # Errors
    /// [`Suite1Error::InvalidPublicKey`] unless `bytes` is 64 bytes long and a point of
    /// P-256 other than the identity.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Suite1Error> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(Suite1Error::InvalidPublicKey("64 bytes x || y expected"));
        }
        let mut sec1 = [0u8; 1 + PUBLIC_KEY_LEN];
        sec1[0] = 0x04;
        sec1[1..].copy_from_slice(bytes);
        Self::from_sec1(&sec1)
    }

    /// The key from a SEC 1 encoding: uncompressed (65 bytes, `04 ‖ x ‖ y`) or
    /// compressed (33 bytes, `02|03 ‖ x`), as found in X.509 certificates.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidPublicKey`] for any other encoding or a point not on P-256.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Suite1Error> {
        p256::PublicKey::from_sec1_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| Suite1Error::InvalidPublicKey("not a point of P-256"))
    }

    /// The 64-byte DLMS encoding `x ‖ y`.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let point = self.0.as_affine().to_sec1_point(false);
        let mut out = [0u8; PUBLIC_KEY_LEN];
        // A validated point's uncompressed SEC 1 encoding is always 65 bytes `04 ‖ x ‖ y`.
        if let Some(xy) = point.as_bytes().get(1..) {
            if xy.len() == PUBLIC_KEY_LEN {
                out.copy_from_slice(xy);
            }
        }
        out
    }

    /// The 65-byte SEC 1 uncompressed encoding `04 ‖ x ‖ y`.
    pub fn to_sec1_uncompressed(&self) -> [u8; 1 + PUBLIC_KEY_LEN] {
        let mut out = [0x04; 1 + PUBLIC_KEY_LEN];
        out[1..].copy_from_slice(&self.to_bytes());
        out
    }

    pub(crate) fn inner(&self) -> &p256::PublicKey {
        &self.0
    }

    pub(crate) fn from_inner(key: p256::PublicKey) -> Self {
        PublicKey(key)
    }
}

impl fmt::Debug for PublicKey {
    /// Public keys are not secret: shows `PublicKey(<x ‖ y in hex>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        self.to_bytes().iter().try_for_each(|b| write!(f, "{b:02X}"))?;
        f.write_str(")")
    }
}
