//! HLS authentication mechanism 7, ECDSA (IEC 62056-5-3 §9.2.7.4, Green Book §9.2.7.4
//! Table "HLS authentication mechanisms", mechanism_id(7)):
//!
//! 1. AARQ: mechanism-name `2.16.756.5.8.2.7`, calling-AP-title = SystemTitle-C,
//!    challenge CtoS (32..=64 random bytes); the client's signature certificate in
//!    calling-AE-qualifier when the server does not know it yet.
//! 2. AARE: `authentication-required`, responding-AP-title = SystemTitle-S, challenge
//!    StoC (32..=64 bytes); the server's certificate in responding-AE-qualifier if needed.
//! 3. The client calls `reply_to_HLS_authentication` of the current Association LN with
//!    `f(StoC) = ECDSA(SystemTitle-C ‖ SystemTitle-S ‖ StoC ‖ CtoS)`, signed with the
//!    client's private digital signature key.
//! 4. The server verifies it with the client's public key and returns
//!    `f(CtoS) = ECDSA(SystemTitle-S ‖ SystemTitle-C ‖ CtoS ‖ StoC)`, signed with the
//!    server's private key; the client verifies it.
//!
//! Both responses are 64-byte `R ‖ S` octet-strings. The system titles and the
//! challenges swap places between pass 3 and pass 4, so neither response can be replayed
//! as the other.
//!
//! The association state machines own the challenges and the keys; this module holds
//! the pure computations: [`Hls7Exchange`].

use crate::security::keys::SystemTitle;
use crate::security::suite1::ecdsa::{self, Signature, SigningKey};
use crate::security::suite1::error::Suite1Error;
use crate::security::suite1::public_key::PublicKey;

/// Shortest HLS-ECDSA challenge, bytes.
pub const MIN_CHALLENGE_LEN: usize = 32;
/// Longest HLS-ECDSA challenge, bytes.
pub const MAX_CHALLENGE_LEN: usize = 64;

/// Checks a mechanism 7 challenge length is within 32..=64 bytes.
///
/// # Errors
/// [`Suite1Error::InvalidChallenge`].
pub fn check_challenge(len: usize) -> Result<(), Suite1Error> {
    if (MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&len) {
        Ok(())
    } else {
        Err(Suite1Error::InvalidChallenge { len })
    }
}

/// A fresh random challenge of `len` bytes (CtoS or StoC) from the operating system's
/// generator.
///
/// # Errors
/// [`Suite1Error::InvalidChallenge`] outside 32..=64; [`Suite1Error::Random`].
pub fn new_challenge(len: usize) -> Result<Vec<u8>, Suite1Error> {
    check_challenge(len)?;
    let mut c = vec![0u8; len];
    getrandom::fill(&mut c).map_err(|e| Suite1Error::Random(e.to_string()))?;
    Ok(c)
}

/// What both parties know after passes 1 and 2 of a mechanism 7 association: the two
/// system titles and the two challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hls7Exchange<'a> {
    /// SystemTitle-C (calling-AP-title).
    pub client_system_title: SystemTitle,
    /// SystemTitle-S (responding-AP-title).
    pub server_system_title: SystemTitle,
    /// CtoS, the client's challenge (calling-authentication-value).
    pub ctos: &'a [u8],
    /// StoC, the server's challenge (responding-authentication-value).
    pub stoc: &'a [u8],
}

impl Hls7Exchange<'_> {
    fn check(&self) -> Result<(), Suite1Error> {
        check_challenge(self.ctos.len())?;
        check_challenge(self.stoc.len())
    }

    /// The data the client signs in pass 3: `SystemTitle-C ‖ SystemTitle-S ‖ StoC ‖ CtoS`.
    pub fn f_stoc_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(16 + self.stoc.len() + self.ctos.len());
        m.extend_from_slice(self.client_system_title.as_bytes());
        m.extend_from_slice(self.server_system_title.as_bytes());
        m.extend_from_slice(self.stoc);
        m.extend_from_slice(self.ctos);
        m
    }

    /// The data the server signs in pass 4: `SystemTitle-S ‖ SystemTitle-C ‖ CtoS ‖ StoC`.
    pub fn f_ctos_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(16 + self.stoc.len() + self.ctos.len());
        m.extend_from_slice(self.server_system_title.as_bytes());
        m.extend_from_slice(self.client_system_title.as_bytes());
        m.extend_from_slice(self.ctos);
        m.extend_from_slice(self.stoc);
        m
    }

    /// Client, pass 3: `f(StoC)`, the parameter of `reply_to_HLS_authentication`, signed
    /// with the client's private digital signature key.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidChallenge`] when CtoS or StoC is outside 32..=64 bytes.
    pub fn client_response(&self, client_key: &SigningKey) -> Result<Signature, Suite1Error> {
        self.check()?;
        Ok(client_key.sign(&self.f_stoc_message()))
    }

    /// Server, pass 3: verifies the client's `f(StoC)` (the received method parameter,
    /// 64 bytes) with the client's public digital signature key.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidChallenge`] for a challenge outside 32..=64 bytes;
    /// [`Suite1Error::HlsVerificationFailed`] when `f_stoc` is not 64 bytes or does not
    /// verify.
    pub fn verify_client_response(&self, client_public_key: &PublicKey, f_stoc: &[u8]) -> Result<(), Suite1Error> {
        self.check()?;
        let sig = Signature::from_slice(f_stoc).map_err(|_| Suite1Error::HlsVerificationFailed)?;
        ecdsa::verify(client_public_key, &self.f_stoc_message(), &sig).map_err(|_| Suite1Error::HlsVerificationFailed)
    }

    /// Server, pass 4: `f(CtoS)`, the return value of `reply_to_HLS_authentication`,
    /// signed with the server's private digital signature key. Call it only after
    /// [`Hls7Exchange::verify_client_response`] succeeded.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidChallenge`] when CtoS or StoC is outside 32..=64 bytes.
    pub fn server_response(&self, server_key: &SigningKey) -> Result<Signature, Suite1Error> {
        self.check()?;
        Ok(server_key.sign(&self.f_ctos_message()))
    }

    /// Client, pass 4: verifies the server's `f(CtoS)` with the server's public digital
    /// signature key.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidChallenge`] for a challenge outside 32..=64 bytes;
    /// [`Suite1Error::HlsVerificationFailed`] when `f_ctos` is not 64 bytes or does not
    /// verify.
    pub fn verify_server_response(&self, server_public_key: &PublicKey, f_ctos: &[u8]) -> Result<(), Suite1Error> {
        self.check()?;
        let sig = Signature::from_slice(f_ctos).map_err(|_| Suite1Error::HlsVerificationFailed)?;
        ecdsa::verify(server_public_key, &self.f_ctos_message(), &sig).map_err(|_| Suite1Error::HlsVerificationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_bounds() {
        assert_eq!(new_challenge(31), Err(Suite1Error::InvalidChallenge { len: 31 }));
        assert_eq!(new_challenge(65), Err(Suite1Error::InvalidChallenge { len: 65 }));
        let a = new_challenge(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_challenge(32).unwrap());
    }

    #[test]
    fn messages_swap_titles_and_challenges() {
        let x = Hls7Exchange {
            client_system_title: SystemTitle([0xC; 8]),
            server_system_title: SystemTitle([0x5; 8]),
            ctos: &[1; 32],
            stoc: &[2; 33],
        };
        let m3 = x.f_stoc_message();
        assert_eq!(&m3[..8], &[0xC; 8]);
        assert_eq!(&m3[8..16], &[0x5; 8]);
        assert_eq!(&m3[16..49], &[2; 33]);
        assert_eq!(&m3[49..], &[1; 32]);
        let m4 = x.f_ctos_message();
        assert_eq!(&m4[..8], &[0x5; 8]);
        assert_eq!(&m4[8..16], &[0xC; 8]);
        assert_eq!(&m4[16..48], &[1; 32]);
        assert_eq!(&m4[48..], &[2; 33]);
    }
}
