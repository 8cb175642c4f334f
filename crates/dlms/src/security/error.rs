//! [`SecurityError`]: why a protection, deprotection, HLS authentication, key wrap or
//! invocation-counter operation was refused (IEC 62056-5-3 §9.2).
//!
//! Every refusal of received data is a security event in the sense of IEC 62056-5-3
//! §9.2.7: callers should log it (with the peer's address and system title) rather than
//! only drop the connection. [`SecurityError::Replay`] in particular is what an attacker
//! replaying recorded APDUs produces.

use thiserror::Error;

use crate::codec::DecodeError;
use crate::security::keys::{KeyId, SystemTitle};

/// Why a security operation failed. No variant ever carries key material or
/// unauthenticated plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecurityError {
    /// The ciphered APDU (or an HLS response, or a Security setup parameter) is not
    /// well formed.
    #[error("malformed ciphered APDU: {0}")]
    Decode(#[from] DecodeError),
    /// The AES-GCM authentication tag does not verify: wrong key (EK, AK, dedicated key),
    /// wrong system title or invocation counter, or the security header, ciphertext or tag
    /// were altered in transit. Nothing of the APDU is returned.
    #[error("authentication tag does not verify (wrong key or tampered APDU)")]
    AuthenticationFailed,
    /// The received invocation counter is not above the last one accepted for that key
    /// and direction: a replayed or reordered APDU (IEC 62056-5-3 §9.2.7.2.4.5).
    #[error("invocation counter {received} replayed: last accepted is {last}")]
    Replay {
        /// The invocation counter in the received security header.
        received: u32,
        /// The last invocation counter accepted for this key and direction.
        last: u32,
    },
    /// Every invocation counter value of the key has been used: the key must be changed
    /// (key_transfer) before anything more may be protected with it.
    #[error("invocation counter of the {0:?} key is exhausted: the key must be renewed")]
    CounterExhausted(KeyId),
    /// The invocation counter store failed to load or save (an I/O error of the file
    /// store, a malformed counter file). Protection is refused rather than risk reusing a
    /// counter.
    #[error("invocation counter store: {0}")]
    CounterStore(String),
    /// The security suite in the security control byte (bits 0-3) or in the settings is
    /// not implemented (gridedge implements suites 0 and 1, AES-GCM-128; suite 2 is not).
    #[error("security suite {0} is not supported (only suites 0 and 1, AES-GCM-128)")]
    UnsupportedSecuritySuite(u8),
    /// The security control byte asks for something not supported: compression (bit 7),
    /// or neither authentication nor encryption where a ciphered APDU needs one.
    #[error("security control 0x{0:02X} is not supported")]
    UnsupportedSecurityControl(u8),
    /// The security policy asks for digital signatures, which need security suite 1/2.
    #[error("security policy 0x{0:02X} requires digital signatures, not available with suite 0")]
    UnsupportedPolicy(u8),
    /// The APDU is protected less than the security policy requires (e.g. encryption
    /// only, or authentication only, where authenticated encryption is required).
    #[error("security control 0x{received:02X} is weaker than the security policy requires for {apdu}")]
    PolicyViolation {
        /// What the APDU carried (its plain service name).
        apdu: &'static str,
        /// The security control byte received.
        received: u8,
    },
    /// An unciphered APDU arrived where the security policy requires protection.
    #[error("unciphered {apdu} refused: the security policy requires protection")]
    Unprotected {
        /// The kind of APDU received.
        apdu: &'static str,
    },
    /// The deciphered APDU is not the service the ciphered tag announces (e.g. a
    /// glo-get-request that deciphers to a set-request).
    #[error("ciphered APDU tag 0x{ciphered_tag:02X} wraps an APDU with tag 0x{plain_tag:02X}")]
    ServiceMismatch {
        /// The tag of the ciphered APDU.
        ciphered_tag: u8,
        /// The first byte of the deciphered APDU (0 when it is empty).
        plain_tag: u8,
    },
    /// The key the APDU needs is not configured (e.g. no broadcast key) or not
    /// established (no dedicated key was agreed in this association).
    #[error("the {0} key is not available")]
    MissingKey(&'static str),
    /// A system title is not 8 bytes long.
    #[error("system title of {len} byte(s), 8 expected")]
    InvalidSystemTitle {
        /// The length received.
        len: usize,
    },
    /// The peer's system title is not known (no calling-/responding-AP-title yet, and the
    /// general-ciphering APDU carries none).
    #[error("the peer system title is unknown")]
    MissingSystemTitle,
    /// The peer presented another system title than the one configured or learnt.
    #[error("peer system title {received} does not match the expected {expected}")]
    SystemTitleMismatch {
        /// The configured or learnt system title.
        expected: SystemTitle,
        /// The one received.
        received: SystemTitle,
    },
    /// A key is not 16 bytes long (suite 0 uses AES-128).
    #[error("key of {len} byte(s), 16 expected")]
    InvalidKeyLength {
        /// The length received.
        len: usize,
    },
    /// An HLS challenge (CtoS or StoC) is outside 8..=64 bytes (IEC 62056-5-3 §9.2.7.4).
    #[error("HLS challenge of {len} byte(s), 8..=64 expected")]
    InvalidChallenge {
        /// The length received.
        len: usize,
    },
    /// HLS mechanism 5 pass 3 or 4 failed: f(StoC) or f(CtoS) does not verify (wrong
    /// keys, or a peer that does not hold them).
    #[error("HLS-GMAC authentication failed: the peer's challenge response does not verify")]
    HlsVerificationFailed,
    /// The peer did not perform the HLS exchange it was asked for (e.g. the server
    /// accepted an HLS-GMAC AARQ without `authentication-required`), or answered it with
    /// something other than a challenge response.
    #[error("HLS-GMAC authentication not performed by the peer: {0}")]
    HlsNotPerformed(&'static str),
    /// RFC 3394 key unwrap: the integrity check failed (wrong KEK or altered data) or
    /// the wrapped data has the wrong size.
    #[error("key unwrap failed: {0}")]
    KeyUnwrap(&'static str),
    /// The operating system's random generator failed (challenge or dedicated key).
    #[error("random generator failed: {0}")]
    Random(String),
    /// AES-GCM refused the input (longer than the 2^36-32 bytes GCM allows).
    #[error("AES-GCM refused the input length")]
    Cipher,
}
