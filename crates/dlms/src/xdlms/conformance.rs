//! The xDLMS conformance block (IEC 62056-5-3 §9.4.6.1 and §9.5 ASN.1 `Conformance`;
//! DLMS UA 1000-2 Green Book): the 24-bit BIT STRING by which client and server propose
//! and negotiate the services of an application association.
//!
//! On the wire (inside the A-XDR `InitiateRequest`/`InitiateResponse`) it is encoded as a
//! BER `[APPLICATION 31] IMPLICIT BIT STRING`: `5F 1F 04 00` followed by the three bytes
//! of the bit string, bit 0 being the most significant bit of the first byte.

use std::fmt;

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// The fixed BER header of the conformance block: tag `[APPLICATION 31]` (`5F 1F`),
/// length 4, 0 unused bits.
pub const CONFORMANCE_HEADER: [u8; 4] = [0x5F, 0x1F, 0x04, 0x00];

/// The 24-bit conformance block (IEC 62056-5-3 §9.4.6.1). Bit `n` of the standard (0 =
/// MSB of the first byte) is held in `1 << (23 - n)` of the inner value, so the value
/// reads like the three wire bytes (`0x00501F` is `00 50 1F`).
///
/// The associated constants are the named bits; combine them with `|` and test them
/// with [`Conformance::contains`]. `Display` lists the names of the set bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Conformance(u32);

/// `(bit number, ASN.1 name)` of every named conformance bit, in bit order.
const NAMED_BITS: [(u8, &str); 21] = [
    (1, "general-protection"),
    (2, "general-block-transfer"),
    (3, "read"),
    (4, "write"),
    (5, "unconfirmed-write"),
    (8, "attribute0-supported-with-set"),
    (9, "priority-mgmt-supported"),
    (10, "attribute0-supported-with-get"),
    (11, "block-transfer-with-get-or-read"),
    (12, "block-transfer-with-set-or-write"),
    (13, "block-transfer-with-action"),
    (14, "multiple-references"),
    (15, "information-report"),
    (16, "data-notification"),
    (17, "access"),
    (18, "parameterized-access"),
    (19, "get"),
    (20, "set"),
    (21, "selective-access"),
    (22, "event-notification"),
    (23, "action"),
];

const fn bit(n: u8) -> Conformance {
    Conformance(1 << (23 - n as u32))
}

impl Conformance {
    /// No bit set.
    pub const EMPTY: Conformance = Conformance(0);
    /// Bit 1 `general-protection` (general-glo/ded/signing APDUs).
    pub const GENERAL_PROTECTION: Conformance = bit(1);
    /// Bit 2 `general-block-transfer`.
    pub const GENERAL_BLOCK_TRANSFER: Conformance = bit(2);
    /// Bit 3 `read` (SN referencing).
    pub const READ: Conformance = bit(3);
    /// Bit 4 `write` (SN referencing).
    pub const WRITE: Conformance = bit(4);
    /// Bit 5 `unconfirmed-write` (SN referencing).
    pub const UNCONFIRMED_WRITE: Conformance = bit(5);
    /// Bit 8 `attribute0-supported-with-set`.
    pub const ATTRIBUTE0_SUPPORTED_WITH_SET: Conformance = bit(8);
    /// Bit 9 `priority-mgmt-supported`.
    pub const PRIORITY_MGMT_SUPPORTED: Conformance = bit(9);
    /// Bit 10 `attribute0-supported-with-get`.
    pub const ATTRIBUTE0_SUPPORTED_WITH_GET: Conformance = bit(10);
    /// Bit 11 `block-transfer-with-get-or-read`.
    pub const BLOCK_TRANSFER_WITH_GET_OR_READ: Conformance = bit(11);
    /// Bit 12 `block-transfer-with-set-or-write`.
    pub const BLOCK_TRANSFER_WITH_SET_OR_WRITE: Conformance = bit(12);
    /// Bit 13 `block-transfer-with-action`.
    pub const BLOCK_TRANSFER_WITH_ACTION: Conformance = bit(13);
    /// Bit 14 `multiple-references` (GET/SET/ACTION with-list).
    pub const MULTIPLE_REFERENCES: Conformance = bit(14);
    /// Bit 15 `information-report` (SN referencing).
    pub const INFORMATION_REPORT: Conformance = bit(15);
    /// Bit 16 `data-notification` (push).
    pub const DATA_NOTIFICATION: Conformance = bit(16);
    /// Bit 17 `access` (ACCESS service).
    pub const ACCESS: Conformance = bit(17);
    /// Bit 18 `parameterized-access` (SN referencing).
    pub const PARAMETERIZED_ACCESS: Conformance = bit(18);
    /// Bit 19 `get`.
    pub const GET: Conformance = bit(19);
    /// Bit 20 `set`.
    pub const SET: Conformance = bit(20);
    /// Bit 21 `selective-access`.
    pub const SELECTIVE_ACCESS: Conformance = bit(21);
    /// Bit 22 `event-notification`.
    pub const EVENT_NOTIFICATION: Conformance = bit(22);
    /// Bit 23 `action`.
    pub const ACTION: Conformance = bit(23);

    /// Every bit the standard names (bits 0, 6 and 7 are reserved).
    pub const ALL_NAMED: Conformance = Conformance(0x7C_FF_FF);

    /// The usual proposal of a logical-name-referencing client, `00 7E 1F`: priority
    /// management, attribute 0 with GET, block transfer with GET/SET/ACTION, multiple
    /// references, GET, SET, selective access, event notification and ACTION.
    pub const LN_CLIENT_DEFAULT: Conformance = Conformance(0x00_7E_1F);

    /// Builds from the 24-bit value (bit 0 = `0x800000`); bits above 23 are dropped.
    pub const fn from_bits(bits: u32) -> Conformance {
        Conformance(bits & 0x00FF_FFFF)
    }

    /// The 24-bit value (bit 0 = `0x800000`).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Builds from the three wire bytes (`[0x00, 0x50, 0x1F]`).
    pub const fn from_array(b: [u8; 3]) -> Conformance {
        Conformance(((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32)
    }

    /// The three wire bytes.
    pub const fn to_array(self) -> [u8; 3] {
        [(self.0 >> 16) as u8, (self.0 >> 8) as u8, self.0 as u8]
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: Conformance) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when bit `n` (0..=23, 0 = MSB of the first byte) is set; false for n > 23.
    pub const fn bit(self, n: u8) -> bool {
        n < 24 && self.0 & (1 << (23 - n as u32)) != 0
    }

    /// The bits set in both (the server's negotiation: proposed ∩ supported).
    pub const fn intersection(self, other: Conformance) -> Conformance {
        Conformance(self.0 & other.0)
    }

    /// The bits set in either.
    pub const fn union(self, other: Conformance) -> Conformance {
        Conformance(self.0 | other.0)
    }

    /// True when no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ASN.1 names of the set named bits, in bit order (reserved bits 0, 6, 7 are
    /// not named and not listed).
    pub fn names(self) -> Vec<&'static str> {
        NAMED_BITS.iter().filter(|(n, _)| self.bit(*n)).map(|(_, name)| *name).collect()
    }

    /// The bit number of an ASN.1 name (e.g. `"get"` → 19); `None` for unknown names.
    pub fn bit_of_name(name: &str) -> Option<u8> {
        NAMED_BITS.iter().find(|(_, n)| *n == name).map(|(b, _)| *b)
    }
}

impl std::ops::BitOr for Conformance {
    type Output = Conformance;
    fn bitor(self, rhs: Conformance) -> Conformance {
        self.union(rhs)
    }
}

impl std::ops::BitAnd for Conformance {
    type Output = Conformance;
    fn bitand(self, rhs: Conformance) -> Conformance {
        self.intersection(rhs)
    }
}

impl std::ops::BitOrAssign for Conformance {
    fn bitor_assign(&mut self, rhs: Conformance) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Conformance {
    /// The names of the set bits joined by `", "` (reserved bits as `bit-N`), or
    /// `(none)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for n in 0u8..24 {
            if !self.bit(n) {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            match NAMED_BITS.iter().find(|(b, _)| *b == n) {
                Some((_, name)) => f.write_str(name)?,
                None => write!(f, "bit-{n}")?,
            }
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conformance({:06X}: {self})", self.0)
    }
}

impl Codec for Conformance {
    /// Appends `5F 1F 04 00` and the three bytes.
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&CONFORMANCE_HEADER);
        out.extend_from_slice(&self.to_array());
    }

    /// Reads `5F 1F 04 00 b0 b1 b2`.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`]; [`DecodeError::Invalid`] when the header is not
    /// exactly `5F 1F 04 00` (another tag, another length, or unused bits).
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header: [u8; 4] = r.array("conformance block header")?;
        if header != CONFORMANCE_HEADER {
            return Err(DecodeError::invalid(
                "conformance block",
                format!(
                    "header {:02X}{:02X}{:02X}{:02X}, expected 5F1F0400",
                    header[0], header[1], header[2], header[3]
                ),
            ));
        }
        Ok(Conformance::from_array(r.array("conformance block")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_bits_sit_where_the_standard_puts_them() {
        // bit 0 is the MSB of the first byte: bit 1 = 0x40 0000, bit 23 = 0x00 0001
        assert_eq!(Conformance::GENERAL_PROTECTION.to_array(), [0x40, 0, 0]);
        assert_eq!(Conformance::ATTRIBUTE0_SUPPORTED_WITH_SET.to_array(), [0, 0x80, 0]);
        assert_eq!(Conformance::DATA_NOTIFICATION.to_array(), [0, 0, 0x80]);
        assert_eq!(Conformance::ACTION.to_array(), [0, 0, 0x01]);
        assert_eq!(Conformance::bit_of_name("get"), Some(19));
        assert_eq!(Conformance::bit_of_name("reserved-zero"), None);
    }

    #[test]
    fn display_names_the_bits() {
        let c = Conformance::from_array([0x00, 0x50, 0x1F]);
        assert_eq!(
            c.to_string(),
            "priority-mgmt-supported, block-transfer-with-get-or-read, get, set, selective-access, \
             event-notification, action"
        );
        assert_eq!(Conformance::EMPTY.to_string(), "(none)");
        assert_eq!(Conformance::from_array([0x81, 0x80, 0]).to_string(), "bit-0, bit-7, attribute0-supported-with-set");
    }

    #[test]
    fn wrong_header_is_invalid() {
        assert!(matches!(
            Conformance::from_bytes(&[0x5F, 0x1F, 0x04, 0x01, 0, 0, 0]),
            Err(DecodeError::Invalid { .. })
        ));
    }
}
