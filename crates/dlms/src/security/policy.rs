//! The security policy (IEC 62056-6-2 §5.3.7, Security setup attribute 2,
//! `security_policy`; IEC 62056-5-3 §9.2.7.2.2): which protection requests and
//! responses must carry once an association with ciphering is established.
//!
//! Security setup version 1 holds it as a bit set (the `enum` value on the wire):
//!
//! | bit | value | meaning |
//! |---|---|---|
//! | 2 | 0x04 | authenticated request |
//! | 3 | 0x08 | encrypted request |
//! | 4 | 0x10 | digitally signed request |
//! | 5 | 0x20 | authenticated response |
//! | 6 | 0x40 | encrypted response |
//! | 7 | 0x80 | digitally signed response |
//!
//! Version 0 used an enumeration: 0 nothing, 1 all messages authenticated, 2 all
//! messages encrypted, 3 all messages authenticated and encrypted.

use crate::security::control::Protection;
use crate::security::error::SecurityError;

/// The security policy as the version 1 bit set (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityPolicy(u8);

impl SecurityPolicy {
    /// Bit 2: requests are authenticated.
    pub const AUTHENTICATED_REQUEST: u8 = 0x04;
    /// Bit 3: requests are encrypted.
    pub const ENCRYPTED_REQUEST: u8 = 0x08;
    /// Bit 4: requests are digitally signed.
    pub const DIGITALLY_SIGNED_REQUEST: u8 = 0x10;
    /// Bit 5: responses are authenticated.
    pub const AUTHENTICATED_RESPONSE: u8 = 0x20;
    /// Bit 6: responses are encrypted.
    pub const ENCRYPTED_RESPONSE: u8 = 0x40;
    /// Bit 7: responses are digitally signed.
    pub const DIGITALLY_SIGNED_RESPONSE: u8 = 0x80;

    /// No protection required (`0x00`).
    pub const NOTHING: SecurityPolicy = SecurityPolicy(0);
    /// Requests and responses authenticated and encrypted (`0x6C`), gridedge's default:
    /// every xDLMS APDU travels with security control 0x30.
    pub const ALL_AUTHENTICATED_ENCRYPTED: SecurityPolicy = SecurityPolicy(0x6C);

    /// The policy of a version 1 `security_policy` value.
    ///
    /// # Errors
    /// [`SecurityError::UnsupportedPolicy`] when bits 0 or 1 (undefined) are set.
    pub fn from_bits(bits: u8) -> Result<Self, SecurityError> {
        if bits & 0x03 != 0 { Err(SecurityError::UnsupportedPolicy(bits)) } else { Ok(SecurityPolicy(bits)) }
    }

    /// The policy of a version 0 `security_policy` enum value (0..=3).
    ///
    /// # Errors
    /// [`SecurityError::UnsupportedPolicy`] above 3.
    pub fn from_version0(v: u8) -> Result<Self, SecurityError> {
        let a = Self::AUTHENTICATED_REQUEST | Self::AUTHENTICATED_RESPONSE;
        let e = Self::ENCRYPTED_REQUEST | Self::ENCRYPTED_RESPONSE;
        Ok(SecurityPolicy(match v {
            0 => 0,
            1 => a,
            2 => e,
            3 => a | e,
            _ => return Err(SecurityError::UnsupportedPolicy(v)),
        }))
    }

    /// The version 0 enum value, when this policy treats requests and responses alike and
    /// signs nothing; `None` otherwise.
    pub fn to_version0(self) -> Option<u8> {
        (0..=3).find(|&v| Self::from_version0(v).ok() == Some(self))
    }

    /// The version 1 bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// True when a digital signature is required in either direction (security suites 1
    /// and 2 only).
    pub fn requires_signing(self) -> bool {
        self.0 & (Self::DIGITALLY_SIGNED_REQUEST | Self::DIGITALLY_SIGNED_RESPONSE) != 0
    }

    /// The protection requests need; `None` when nothing is required.
    pub fn request_protection(self) -> Option<Protection> {
        Protection::from_flags(self.0 & Self::AUTHENTICATED_REQUEST != 0, self.0 & Self::ENCRYPTED_REQUEST != 0)
    }

    /// The protection responses (and notifications from the server) need; `None` when
    /// nothing is required.
    pub fn response_protection(self) -> Option<Protection> {
        Protection::from_flags(self.0 & Self::AUTHENTICATED_RESPONSE != 0, self.0 & Self::ENCRYPTED_RESPONSE != 0)
    }

    /// True when `self` requires everything `other` requires. IEC 62056-6-2 allows
    /// `security_activate` only to strengthen the policy: a server should refuse a new
    /// policy `p` unless `p.is_at_least(current)`.
    pub fn is_at_least(self, other: SecurityPolicy) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for SecurityPolicy {
    /// [`SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED`].
    fn default() -> Self {
        SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version0_maps_to_version1_bits() {
        assert_eq!(SecurityPolicy::from_version0(3).unwrap(), SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED);
        assert_eq!(SecurityPolicy::from_version0(1).unwrap().bits(), 0x24);
        assert_eq!(SecurityPolicy::from_version0(2).unwrap().bits(), 0x48);
        assert!(SecurityPolicy::from_version0(4).is_err());
        assert_eq!(SecurityPolicy::from_bits(0x24).unwrap().to_version0(), Some(1));
        assert_eq!(SecurityPolicy::from_bits(0x2C).unwrap().to_version0(), None);
        assert!(SecurityPolicy::from_bits(0x01).is_err());
    }

    #[test]
    fn directions_and_strength() {
        let p = SecurityPolicy::from_bits(0x0C | 0x20).unwrap();
        assert_eq!(p.request_protection(), Some(Protection::AuthenticatedEncryption));
        assert_eq!(p.response_protection(), Some(Protection::AuthenticationOnly));
        assert_eq!(SecurityPolicy::NOTHING.request_protection(), None);
        assert!(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED.is_at_least(p));
        assert!(!p.is_at_least(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED));
        assert!(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED.is_at_least(SecurityPolicy::from_version0(1).unwrap()));
        assert!(!SecurityPolicy::NOTHING.is_at_least(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED));
        assert!(SecurityPolicy::from_bits(0x90).unwrap().requires_signing());
    }
}
