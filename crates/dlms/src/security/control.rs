//! The security control byte and the security header (IEC 62056-5-3 §9.2.7.2.4.1,
//! "Security header"): every ciphered APDU's ciphered content starts with
//! `SC (1 byte) || IC (4 bytes, big endian)`.
//!
//! ```text
//! security control:  bit 7    bit 6     bit 5  bit 4  bits 3..0
//!                    compr.   key set   E      A      security suite id
//!                             0 unicast
//!                             1 broadcast
//! ```
//!
//! `0x30` = suite 0, authenticated and encrypted, unicast key; `0x10` authentication
//! only; `0x20` encryption only.

use std::fmt;

use crate::codec::{Codec, DecodeError, Reader};

/// The security suite (IEC 62056-5-3 §9.2.3.7): bits 0-3 of the security control byte
/// and Security setup attribute 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SecuritySuite {
    /// (0) AES-GCM-128 authenticated encryption, AES-128 key wrap. Implemented here.
    Suite0 = 0,
    /// (1) ECDH-ECDSA-AES-GCM-128-SHA-256 (P-256).
    Suite1 = 1,
    /// (2) ECDH-ECDSA-AES-GCM-256-SHA-384 (P-384).
    Suite2 = 2,
}

impl SecuritySuite {
    /// Maps the suite id; `None` above 2.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(SecuritySuite::Suite0),
            1 => Some(SecuritySuite::Suite1),
            2 => Some(SecuritySuite::Suite2),
            _ => None,
        }
    }
}

/// Which of authentication and encryption an APDU carries (bits 4 and 5 of the security
/// control byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// `A` only (SC 0x10): the APDU travels in clear followed by a GMAC tag.
    AuthenticationOnly,
    /// `E` only (SC 0x20): encrypted, no tag (no integrity protection).
    EncryptionOnly,
    /// `A` and `E` (SC 0x30): AES-GCM authenticated encryption.
    AuthenticatedEncryption,
}

impl Protection {
    /// True when a GCM tag is present.
    pub fn authenticated(self) -> bool {
        matches!(self, Protection::AuthenticationOnly | Protection::AuthenticatedEncryption)
    }

    /// True when the APDU is encrypted.
    pub fn encrypted(self) -> bool {
        matches!(self, Protection::EncryptionOnly | Protection::AuthenticatedEncryption)
    }

    /// The protection with these properties; `None` when neither is set.
    pub fn from_flags(authenticated: bool, encrypted: bool) -> Option<Self> {
        match (authenticated, encrypted) {
            (true, true) => Some(Protection::AuthenticatedEncryption),
            (true, false) => Some(Protection::AuthenticationOnly),
            (false, true) => Some(Protection::EncryptionOnly),
            (false, false) => None,
        }
    }

    /// True when `self` gives at least what `required` asks for (each of authentication
    /// and encryption required is present).
    pub fn satisfies(self, required: Protection) -> bool {
        (!required.authenticated() || self.authenticated()) && (!required.encrypted() || self.encrypted())
    }
}

/// Which key set bit 6 of the security control selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySet {
    /// (0) the unicast key: global unicast encryption key or dedicated key.
    Unicast,
    /// (1) the global broadcast encryption key.
    Broadcast,
}

/// The security control byte (IEC 62056-5-3 §9.2.7.2.4.1). Any byte value can be held
/// (so a received one can be reported); [`SecurityControl::protection`] tells whether it
/// asks for something meaningful.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityControl(pub u8);

impl SecurityControl {
    /// Bits 0-3: security suite id.
    pub const SUITE_MASK: u8 = 0x0F;
    /// Bit 4: authentication applied.
    pub const AUTHENTICATION: u8 = 0x10;
    /// Bit 5: encryption applied.
    pub const ENCRYPTION: u8 = 0x20;
    /// Bit 6: broadcast key set.
    pub const BROADCAST: u8 = 0x40;
    /// Bit 7: compression applied.
    pub const COMPRESSION: u8 = 0x80;

    /// `0x30`: suite 0, authenticated encryption, unicast key.
    pub const SUITE0_AUTHENTICATED_ENCRYPTED: SecurityControl = SecurityControl(0x30);
    /// `0x10`: suite 0, authentication only (also the SC of HLS-GMAC f(StoC)/f(CtoS)).
    pub const SUITE0_AUTHENTICATED: SecurityControl = SecurityControl(0x10);
    /// `0x20`: suite 0, encryption only.
    pub const SUITE0_ENCRYPTED: SecurityControl = SecurityControl(0x20);

    /// The byte for `suite`, `protection` and `key_set`, without compression.
    pub const fn new(suite: SecuritySuite, protection: Protection, key_set: KeySet) -> Self {
        let mut b = suite as u8;
        b |= match protection {
            Protection::AuthenticationOnly => Self::AUTHENTICATION,
            Protection::EncryptionOnly => Self::ENCRYPTION,
            Protection::AuthenticatedEncryption => Self::AUTHENTICATION | Self::ENCRYPTION,
        };
        if let KeySet::Broadcast = key_set {
            b |= Self::BROADCAST;
        }
        SecurityControl(b)
    }

    /// The security suite id (bits 0-3).
    pub fn suite_id(self) -> u8 {
        self.0 & Self::SUITE_MASK
    }

    /// Bit 4.
    pub fn authentication(self) -> bool {
        self.0 & Self::AUTHENTICATION != 0
    }

    /// Bit 5.
    pub fn encryption(self) -> bool {
        self.0 & Self::ENCRYPTION != 0
    }

    /// Bit 6: the broadcast key set.
    pub fn key_set(self) -> KeySet {
        if self.0 & Self::BROADCAST != 0 { KeySet::Broadcast } else { KeySet::Unicast }
    }

    /// Bit 7.
    pub fn compression(self) -> bool {
        self.0 & Self::COMPRESSION != 0
    }

    /// The protection bits 4-5 ask for; `None` when neither is set.
    pub fn protection(self) -> Option<Protection> {
        Protection::from_flags(self.authentication(), self.encryption())
    }
}

impl fmt::Debug for SecurityControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityControl(0x{:02X})", self.0)
    }
}

/// `SC || IC`, the 5-byte security header at the start of the ciphered content
/// (IEC 62056-5-3 §9.2.7.2.4.1). The invocation counter (IC) is the last 4 bytes of the
/// AES-GCM initialization vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityHeader {
    /// The security control byte.
    pub security_control: SecurityControl,
    /// The sender's invocation counter for the key used.
    pub invocation_counter: u32,
}

impl SecurityHeader {
    /// Encoded length: 5 bytes.
    pub const LEN: usize = 5;
}

impl Codec for SecurityHeader {
    /// Appends `SC IC(4, big endian)`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.security_control.0);
        out.extend_from_slice(&self.invocation_counter.to_be_bytes());
    }

    /// # Errors
    /// [`DecodeError::Truncated`] when fewer than 5 bytes remain.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let sc = r.u8("security control")?;
        let ic = r.u32("invocation counter")?;
        Ok(SecurityHeader { security_control: SecurityControl(sc), invocation_counter: ic })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_the_standard() {
        let sc = SecurityControl::new(SecuritySuite::Suite0, Protection::AuthenticatedEncryption, KeySet::Unicast);
        assert_eq!(sc, SecurityControl(0x30));
        assert_eq!(
            SecurityControl::new(SecuritySuite::Suite1, Protection::AuthenticationOnly, KeySet::Broadcast),
            SecurityControl(0x51)
        );
        assert_eq!(SecurityControl::new(SecuritySuite::Suite0, Protection::EncryptionOnly, KeySet::Unicast).0, 0x20);
        let b = SecurityControl(0xF2);
        assert_eq!(b.suite_id(), 2);
        assert!(b.authentication() && b.encryption() && b.compression());
        assert_eq!(b.key_set(), KeySet::Broadcast);
        assert_eq!(SecurityControl(0x00).protection(), None);
        assert_eq!(SecurityControl(0x10).protection(), Some(Protection::AuthenticationOnly));
    }

    #[test]
    fn protection_ordering() {
        use Protection::*;
        assert!(AuthenticatedEncryption.satisfies(AuthenticationOnly));
        assert!(AuthenticatedEncryption.satisfies(EncryptionOnly));
        assert!(!AuthenticationOnly.satisfies(AuthenticatedEncryption));
        assert!(!EncryptionOnly.satisfies(AuthenticationOnly));
        assert!(EncryptionOnly.satisfies(EncryptionOnly));
    }

    #[test]
    fn header_round_trip_and_truncation() {
        let h = SecurityHeader { security_control: SecurityControl(0x30), invocation_counter: 0x0123_4567 };
        assert_eq!(h.to_bytes(), [0x30, 0x01, 0x23, 0x45, 0x67]);
        assert_eq!(SecurityHeader::from_bytes(&[0x30, 0x01, 0x23, 0x45, 0x67]), Ok(h));
        assert!(matches!(SecurityHeader::from_bytes(&[0x30, 0x01]), Err(DecodeError::Truncated { .. })));
    }
}
