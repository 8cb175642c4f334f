//! HLS authentication mechanism 5, GMAC (IEC 62056-5-3 §9.2.7.4, Green Book §9.2.7.4,
//! four-pass authentication):
//!
//! 1. AARQ: mechanism-name 5, calling-AP-title = client system title, challenge CtoS
//!    (8..=64 random bytes) as calling-authentication-value.
//! 2. AARE: `authentication-required` (14), responding-AP-title = server system title,
//!    challenge StoC as responding-authentication-value.
//! 3. The client calls method 1 `reply_to_HLS_authentication` of the current Association
//!    LN object (class 15, `0.0.40.0.0.255`) with `f(StoC)`.
//! 4. The server verifies it and returns `f(CtoS)` as the method's return value; the
//!    client verifies that.
//!
//! `f(X) = SC || IC || GMAC(SC || AK || X)` with SC = 0x10, computed with the global
//! unicast encryption key and the IV `own system title || IC` of the party computing it.

use crate::codec::{Codec, DecodeError, Reader};
use crate::obis::Obis;
use crate::security::control::SecurityControl;
use crate::security::error::SecurityError;
use crate::security::keys::SystemTitle;
use crate::security::suite0::{self, CipherKeys, TAG_LEN};
use crate::xdlms::CosemMethodDescriptor;

/// Shortest HLS challenge, bytes.
pub const MIN_CHALLENGE_LEN: usize = 8;
/// Longest HLS challenge, bytes.
pub const MAX_CHALLENGE_LEN: usize = 64;

/// Association LN interface class id.
pub const ASSOCIATION_LN_CLASS_ID: u16 = 15;
/// The current association's logical name, `0.0.40.0.0.255`.
pub const CURRENT_ASSOCIATION: Obis = Obis::new(0, 0, 40, 0, 0, 255);
/// Method 1 of Association LN, `reply_to_HLS_authentication`.
pub const REPLY_TO_HLS_AUTHENTICATION: CosemMethodDescriptor =
    CosemMethodDescriptor::new(ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION, 1);

/// The security control of f(StoC)/f(CtoS) with suite 0: authentication only.
pub const HLS_GMAC_SECURITY_CONTROL: SecurityControl = SecurityControl::SUITE0_AUTHENTICATED;

/// A fresh random challenge of `len` bytes from the operating system's generator.
///
/// # Errors
/// [`SecurityError::InvalidChallenge`] outside 8..=64; [`SecurityError::Random`].
pub fn new_challenge(len: usize) -> Result<Vec<u8>, SecurityError> {
    check_challenge(len)?;
    let mut c = vec![0u8; len];
    getrandom::fill(&mut c).map_err(|e| SecurityError::Random(e.to_string()))?;
    Ok(c)
}

/// Checks a challenge length is within 8..=64 bytes.
///
/// # Errors
/// [`SecurityError::InvalidChallenge`].
pub fn check_challenge(len: usize) -> Result<(), SecurityError> {
    if (MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&len) {
        Ok(())
    } else {
        Err(SecurityError::InvalidChallenge { len })
    }
}

/// `f(X) = SC || IC || GMAC`, 17 bytes: what the client sends in pass 3 and the server
/// returns in pass 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HlsGmacResponse {
    /// 0x10 with suite 0.
    pub security_control: SecurityControl,
    /// The responder's invocation counter (an IV value of its global unicast key).
    pub invocation_counter: u32,
    /// The 12-byte GMAC.
    pub tag: [u8; TAG_LEN],
}

impl HlsGmacResponse {
    /// Encoded length: 17 bytes.
    pub const LEN: usize = 5 + TAG_LEN;

    /// Computes f(`challenge`) as the party with `system_title` using `invocation_counter`.
    ///
    /// # Errors
    /// [`SecurityError::InvalidChallenge`] outside 8..=64 bytes.
    pub fn compute(
        system_title: &SystemTitle,
        invocation_counter: u32,
        keys: CipherKeys<'_>,
        challenge: &[u8],
    ) -> Result<Self, SecurityError> {
        check_challenge(challenge.len())?;
        let sc = HLS_GMAC_SECURITY_CONTROL;
        let tag = suite0::gmac(sc, system_title, invocation_counter, keys, challenge)?;
        Ok(HlsGmacResponse { security_control: sc, invocation_counter, tag })
    }

    /// Verifies this f(`challenge`) as computed by the party with `system_title`.
    ///
    /// # Errors
    /// [`SecurityError::HlsVerificationFailed`] when the security control is not 0x10 or
    /// the GMAC does not verify.
    pub fn verify(
        &self,
        system_title: &SystemTitle,
        keys: CipherKeys<'_>,
        challenge: &[u8],
    ) -> Result<(), SecurityError> {
        if self.security_control != HLS_GMAC_SECURITY_CONTROL {
            return Err(SecurityError::HlsVerificationFailed);
        }
        suite0::verify_gmac(self.security_control, system_title, self.invocation_counter, keys, challenge, &self.tag)
            .map_err(|_| SecurityError::HlsVerificationFailed)
    }
}

impl Codec for HlsGmacResponse {
    /// Appends `SC IC(4) GMAC(12)`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.security_control.0);
        out.extend_from_slice(&self.invocation_counter.to_be_bytes());
        out.extend_from_slice(&self.tag);
    }

    /// # Errors
    /// [`DecodeError::Truncated`] for fewer than 17 bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let security_control = SecurityControl(r.u8("HLS-GMAC security control")?);
        let invocation_counter = r.u32("HLS-GMAC invocation counter")?;
        let tag = r.array::<TAG_LEN>("HLS-GMAC tag")?;
        Ok(HlsGmacResponse { security_control, invocation_counter, tag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::keys::AesKey;

    #[test]
    fn challenges_are_random_and_bounded() {
        assert_eq!(new_challenge(7), Err(SecurityError::InvalidChallenge { len: 7 }));
        assert_eq!(new_challenge(65), Err(SecurityError::InvalidChallenge { len: 65 }));
        let a = new_challenge(16).unwrap();
        assert_eq!(a.len(), 16);
        assert_ne!(a, new_challenge(16).unwrap());
    }

    #[test]
    fn wrong_security_control_or_length_is_refused() {
        let k = AesKey::new([7; 16]);
        let keys = CipherKeys { encryption_key: &k, authentication_key: &k };
        let st = SystemTitle([1; 8]);
        let mut f = HlsGmacResponse::compute(&st, 9, keys, b"12345678").unwrap();
        assert_eq!(f.verify(&st, keys, b"12345678"), Ok(()));
        f.security_control = SecurityControl(0x30);
        assert_eq!(f.verify(&st, keys, b"12345678"), Err(SecurityError::HlsVerificationFailed));
        assert!(HlsGmacResponse::from_bytes(&[0x10; 16]).is_err());
        assert!(HlsGmacResponse::compute(&st, 9, keys, b"short").is_err());
    }
}
