//! Security suite 1, ECDH-ECDSA-AES-GCM-128-SHA-256 (IEC 62056-5-3 §9.2.3.7 Table
//! "DLMS/COSEM security suites"; DLMS UA 1000-2 Green Book §9.2.3): the asymmetric
//! half of suite 1, as pure functions and types. The symmetric half (AES-GCM-128,
//! 12-byte tags, AES-128 key wrap) is the same as suite 0 ([`super::suite0`],
//! [`super::key_wrap`]); only the suite id in the security control byte differs.
//!
//! | module | what | source |
//! |---|---|---|
//! | [`public_key`] | [`PublicKey`]: P-256 point, 64 bytes `x ‖ y` on the wire | §9.2.3.4.2 |
//! | [`ecdsa`] | [`SigningKey`], [`Signature`] (`R ‖ S`), [`ecdsa::verify`]: ECDSA P-256 / SHA-256 | §9.2.3.4.5 |
//! | [`ecdh`] | [`AgreementKey`], [`SharedSecret`]: ECC CDH | §9.2.3.4.6.1 |
//! | [`kdf`] | NIST SP 800-56A concatenation KDF with SHA-256, OtherInfo, AlgorithmID | §9.2.3.4.6.5 |
//! | [`hls_ecdsa`] | HLS mechanism 7: [`Hls7Exchange`] f(StoC) / f(CtoS) | §9.2.7.4 |
//! | [`general_signing`] | the general-signing APDU (tag `DF`) | §9.2.7.2.5, §9.5 |
//! | [`key_agreement`] | C(2e,0s) key_agreement method, C(1e,1s), C(0e,2s) | §9.2.3.4.6, §9.2.5.5 |
//! | [`error`] | [`Suite1Error`] | |
//!
//! RustCrypto's `p256` and `sha2` provide the curve arithmetic, ECDSA and SHA-256; the
//! DLMS encodings and protocol rules around them are written here. Private keys and
//! shared secrets never appear in `Debug` output.
//!
//! Certificates (X.509 `C(DataSign)`, `C(KeyAgree)`) are not handled here: callers
//! obtain the peer's [`PublicKey`] by other means (the Security setup certificate
//! methods, or configuration) and pass it in.

use p256::elliptic_curve::zeroize::Zeroize;

pub mod ecdh;
pub mod ecdsa;
pub mod error;
pub mod general_signing;
pub mod hls_ecdsa;
pub mod kdf;
pub mod key_agreement;
pub mod public_key;

pub use ecdh::{AgreementKey, SharedSecret};
pub use ecdsa::{Signature, SigningKey};
pub use error::Suite1Error;
pub use general_signing::GeneralSigning;
pub use hls_ecdsa::Hls7Exchange;
pub use kdf::{AlgorithmId, OtherInfo};
pub use key_agreement::{EphemeralUnifiedOffer, KeyAgreementData, KeyAgreementScheme, SignedEphemeralKey};
pub use public_key::PublicKey;

/// How many random candidates key generation draws before giving up. A 32-byte
/// candidate is outside `1..n-1` with probability below 2^-32, so failing 8 times means
/// the generator is broken.
const KEY_GENERATION_ATTEMPTS: usize = 8;

/// A private scalar drawn uniformly from `1..n-1` by testing candidates (FIPS 186-4
/// B.4.2): 32 random bytes, retried while outside the range.
pub(crate) fn random_secret_key() -> Result<p256::SecretKey, Suite1Error> {
    for _ in 0..KEY_GENERATION_ATTEMPTS {
        let mut candidate = [0u8; 32];
        getrandom::fill(&mut candidate).map_err(|e| Suite1Error::Random(e.to_string()))?;
        let key = p256::SecretKey::from_slice(&candidate);
        candidate.zeroize();
        if let Ok(key) = key {
            return Ok(key);
        }
    }
    Err(Suite1Error::Random("no valid P-256 scalar after 8 candidates".into()))
}
