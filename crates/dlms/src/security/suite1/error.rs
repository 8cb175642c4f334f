//! [`Suite1Error`]: why a security suite 1 operation (ECDSA, ECDH, key derivation,
//! HLS-ECDSA, general-signing, key agreement) was refused (IEC 62056-5-3 §9.2.3.4,
//! DLMS UA 1000-2 Green Book §9.2.3.4).
//!
//! Like [`SecurityError`], no variant carries key material. A failed signature check on
//! received data is a security event (IEC 62056-5-3 §9.2.7): log it with the peer's
//! system title.

use thiserror::Error;

use crate::codec::DecodeError;
use crate::security::error::SecurityError;

/// Why a security suite 1 operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Suite1Error {
    /// A received structure (general-signing APDU, key_agreement parameter, key data) is
    /// not well formed.
    #[error("malformed suite 1 data: {0}")]
    Decode(#[from] DecodeError),
    /// A public key is not a valid P-256 point: wrong length (64 bytes `x ‖ y`, or a
    /// 65/33-byte SEC 1 encoding, are accepted), not on the curve, or the identity.
    #[error("invalid P-256 public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A private key is not 32 bytes or not in `1..n-1` (n the order of the P-256 base
    /// point).
    #[error("invalid P-256 private key")]
    InvalidPrivateKey,
    /// An ECDSA signature is not the 64-byte `R ‖ S` plain format of suite 1
    /// (IEC 62056-5-3 §9.2.3.4.5).
    #[error("ECDSA signature of {len} byte(s), 64 expected (R || S)")]
    InvalidSignatureLength {
        /// The length received.
        len: usize,
    },
    /// The ECDSA signature does not verify under the signatory's public key: wrong key,
    /// or the signed data (APDU, challenge, ephemeral public key) was altered.
    #[error("ECDSA signature does not verify")]
    SignatureInvalid,
    /// An HLS-ECDSA challenge (CtoS or StoC) is outside 32..=64 bytes (Green Book
    /// §9.2.7.4, Table "HLS authentication mechanisms", mechanism_id(7)).
    #[error("HLS-ECDSA challenge of {len} byte(s), 32..=64 expected")]
    InvalidChallenge {
        /// The length received.
        len: usize,
    },
    /// HLS mechanism 7 pass 3 or 4 failed: f(StoC) or f(CtoS) does not verify under the
    /// peer's public digital signature key.
    #[error("HLS-ECDSA authentication failed: the peer's signature does not verify")]
    HlsVerificationFailed,
    /// The server answered the key_agreement method with other keys than the client
    /// offered (missing, extra, reordered or duplicated key_id).
    #[error("key_agreement answer does not match the keys offered: {0}")]
    KeyAgreementMismatch(&'static str),
    /// A transaction-id used as Nonce_U of the static unified model is longer than its
    /// one-byte length prefix allows (Green Book §9.2.3.4.6.5, Table 17).
    #[error("transaction-id of {len} byte(s) is too long for Nonce_U (at most 255)")]
    NonceTooLong {
        /// The length given.
        len: usize,
    },
    /// The operating system's random generator failed (challenge or ephemeral key).
    #[error("random generator failed: {0}")]
    Random(String),
}

impl From<Suite1Error> for SecurityError {
    /// Maps onto the suite-independent error: decoding, random and challenge-length
    /// errors keep their meaning; failed signatures become
    /// [`SecurityError::HlsVerificationFailed`] (HLS) or
    /// [`SecurityError::AuthenticationFailed`] (everything else); key errors become
    /// [`SecurityError::Decode`].
    fn from(e: Suite1Error) -> Self {
        match e {
            Suite1Error::Decode(d) => SecurityError::Decode(d),
            Suite1Error::Random(m) => SecurityError::Random(m),
            Suite1Error::InvalidChallenge { len } => SecurityError::InvalidChallenge { len },
            Suite1Error::HlsVerificationFailed => SecurityError::HlsVerificationFailed,
            Suite1Error::SignatureInvalid
            | Suite1Error::InvalidSignatureLength { .. }
            | Suite1Error::KeyAgreementMismatch(_) => SecurityError::AuthenticationFailed,
            other @ (Suite1Error::InvalidPublicKey(_)
            | Suite1Error::InvalidPrivateKey
            | Suite1Error::NonceTooLong { .. }) => {
                SecurityError::Decode(DecodeError::invalid("suite 1 key material", other.to_string()))
            }
        }
    }
}
