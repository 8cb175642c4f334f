//! HDLC address fields (IEC 62056-46 §6.4.2 "MAC addressing"; DLMS UA 1000-2 Green Book, HDLC addressing).
//!
//! Each address byte carries 7 address bits in its upper bits; bit 0 is the extension
//! bit, 1 only on the last byte of the field. The client address is always one byte
//! (the client SAP, e.g. 0x10 = public client, sent as 0x21). The server address has an
//! upper part (the logical device, its SAP) and an optional lower part (the physical
//! device address on a multi-drop bus):
//!
//! | size | layout | ranges |
//! |---|---|---|
//! | 1 byte | upper only | 0..=0x7F |
//! | 2 bytes | upper, lower | 7 bits each, 0..=0x7F |
//! | 4 bytes | upper (2 bytes), lower (2 bytes) | 14 bits each, 0..=0x3FFF |
//!
//! A 3-byte or longer-than-4-byte field is invalid. The frame decoder reads both
//! address fields in any of the three sizes (real meters also use 2-byte destination
//! addresses for pushes) and [`HdlcAddress`] remembers the size, so a frame re-encodes
//! byte for byte.

use serde::Serialize;

use crate::codec::DecodeError;

/// The size of an address field on the wire (IEC 62056-46 §6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AddressSize {
    /// One byte: a client address, or a server upper address without a lower address.
    One,
    /// Two bytes: 7-bit upper and 7-bit lower server address.
    Two,
    /// Four bytes: 14-bit upper and 14-bit lower server address.
    Four,
}

impl AddressSize {
    /// The number of bytes on the wire (1, 2 or 4).
    pub fn byte_count(self) -> usize {
        match self {
            AddressSize::One => 1,
            AddressSize::Two => 2,
            AddressSize::Four => 4,
        }
    }
}

/// Client SAP 0x00: no station (IEC 62056-46 §6.4.2, reserved addresses).
pub const CLIENT_NO_STATION: u8 = 0x00;
/// Client SAP 0x01: the client management process.
pub const CLIENT_MANAGEMENT: u8 = 0x01;
/// Client SAP 0x10: the public client (lowest security).
pub const CLIENT_PUBLIC: u8 = 0x10;
/// Upper server address 0x01: the management logical device (mandatory in every meter).
pub const SERVER_MANAGEMENT_LOGICAL_DEVICE: u16 = 0x01;
/// The all-station (broadcast) value of a 1- or 2-byte address part.
pub const ALL_STATION_7BIT: u16 = 0x7F;
/// The all-station (broadcast) value of a 4-byte address part.
pub const ALL_STATION_14BIT: u16 = 0x3FFF;

/// One HDLC address field: an upper address, an optional lower address and the field
/// size (see the module docs). For a client address, [`HdlcAddress::upper`] is the
/// client SAP. Values are range-checked at construction, so encoding never loses bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct HdlcAddress {
    upper: u16,
    lower: u16,
    size: AddressSize,
}

impl HdlcAddress {
    /// A 1-byte address: a client SAP, or a server upper address alone.
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when `address` > 0x7F.
    pub fn one_byte(address: u8) -> Result<Self, DecodeError> {
        check("HDLC 1-byte address", address.into(), 0x7F)?;
        Ok(HdlcAddress { upper: address.into(), lower: 0, size: AddressSize::One })
    }

    /// A 2-byte server address: 7-bit upper (logical device) and lower (physical device).
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when either part is > 0x7F.
    pub fn two_byte(upper: u8, lower: u8) -> Result<Self, DecodeError> {
        check("HDLC upper address", upper.into(), 0x7F)?;
        check("HDLC lower address", lower.into(), 0x7F)?;
        Ok(HdlcAddress { upper: upper.into(), lower: lower.into(), size: AddressSize::Two })
    }

    /// A 4-byte server address: 14-bit upper (logical device) and lower (physical device).
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when either part is > 0x3FFF.
    pub fn four_byte(upper: u16, lower: u16) -> Result<Self, DecodeError> {
        check("HDLC upper address", upper, 0x3FFF)?;
        check("HDLC lower address", lower, 0x3FFF)?;
        Ok(HdlcAddress { upper, lower, size: AddressSize::Four })
    }

    /// A client address (one byte, the client SAP, e.g. [`CLIENT_PUBLIC`]).
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when `sap` > 0x7F.
    pub fn client(sap: u8) -> Result<Self, DecodeError> {
        HdlcAddress::one_byte(sap)
    }

    /// A server address with both parts, in the smallest size that holds them (2 bytes
    /// when both are ≤ 0x7F, else 4 bytes).
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when either part is > 0x3FFF.
    pub fn server(upper: u16, lower: u16) -> Result<Self, DecodeError> {
        match (u8::try_from(upper), u8::try_from(lower)) {
            (Ok(u), Ok(l)) if u <= 0x7F && l <= 0x7F => HdlcAddress::two_byte(u, l),
            _ => HdlcAddress::four_byte(upper, lower),
        }
    }

    /// The upper address: the client SAP of a client address, the logical device of a
    /// server address.
    pub fn upper(&self) -> u16 {
        self.upper
    }

    /// The lower (physical device) address; `None` for a 1-byte address.
    pub fn lower(&self) -> Option<u16> {
        match self.size {
            AddressSize::One => None,
            AddressSize::Two | AddressSize::Four => Some(self.lower),
        }
    }

    /// The size of the field on the wire.
    pub fn size(&self) -> AddressSize {
        self.size
    }

    /// True when both addresses name the same station, whatever their field sizes
    /// (e.g. upper 1 / lower 17 in the 2-byte and in the 4-byte form).
    pub fn same_station(&self, other: &HdlcAddress) -> bool {
        self.upper == other.upper && self.lower() == other.lower()
    }

    /// Appends the field (1, 2 or 4 bytes, extension bit on the last byte).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self.size {
            AddressSize::One => out.push(seven(self.upper) | 1),
            AddressSize::Two => out.extend_from_slice(&[seven(self.upper), seven(self.lower) | 1]),
            AddressSize::Four => out.extend_from_slice(&[
                seven(self.upper >> 7),
                seven(self.upper),
                seven(self.lower >> 7),
                seven(self.lower) | 1,
            ]),
        }
    }

    /// Reads one address field from the start of `bytes`.
    ///
    /// * `Ok(None)`: no extension bit yet in the fewer than 4 bytes present (read more).
    /// * `Ok(Some((address, used)))`: the field and its size in bytes.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for a 3-byte field, or when the first 4 bytes carry no
    /// extension bit (a field longer than 4 bytes).
    pub fn scan(bytes: &[u8]) -> Result<Option<(HdlcAddress, usize)>, DecodeError> {
        let Some(end) = bytes.iter().take(4).position(|b| b & 1 == 1) else {
            return if bytes.len() >= 4 {
                Err(DecodeError::invalid("HDLC address", "no end-of-field bit within 4 bytes"))
            } else {
                Ok(None)
            };
        };
        let part = |i: usize| bytes.get(i).map_or(0, |b| u16::from(b >> 1));
        let address = match end {
            0 => HdlcAddress { upper: part(0), lower: 0, size: AddressSize::One },
            1 => HdlcAddress { upper: part(0), lower: part(1), size: AddressSize::Two },
            3 => HdlcAddress { upper: part(0) << 7 | part(1), lower: part(2) << 7 | part(3), size: AddressSize::Four },
            _ => return Err(DecodeError::invalid("HDLC address", "3-byte address field")),
        };
        Ok(Some((address, end + 1)))
    }
}

impl std::fmt::Display for HdlcAddress {
    /// `upper` for a 1-byte address, `upper/lower` otherwise.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lower() {
            None => write!(f, "{}", self.upper),
            Some(lower) => write!(f, "{}/{}", self.upper, lower),
        }
    }
}

fn check(what: &'static str, value: u16, max: u16) -> Result<(), DecodeError> {
    if value > max { Err(DecodeError::Oversized { what, len: value.into(), max: max.into() }) } else { Ok(()) }
}

/// The low 7 bits of `v` shifted into an address byte (extension bit clear).
fn seven(v: u16) -> u8 {
    ((v & 0x7F) as u8) << 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(a: HdlcAddress) -> Vec<u8> {
        let mut v = Vec::new();
        a.encode(&mut v);
        v
    }

    #[test]
    fn sizes_and_layouts() {
        assert_eq!(bytes(HdlcAddress::client(CLIENT_PUBLIC).unwrap()), [0x21]);
        assert_eq!(bytes(HdlcAddress::two_byte(1, 17).unwrap()), [0x02, 0x23]);
        assert_eq!(bytes(HdlcAddress::four_byte(1, 17).unwrap()), [0x00, 0x02, 0x00, 0x23]);
        assert_eq!(bytes(HdlcAddress::four_byte(0x3FFF, 0x3FFE).unwrap()), [0xFE, 0xFE, 0xFE, 0xFD]);
        assert_eq!(HdlcAddress::server(1, 17).unwrap().size(), AddressSize::Two);
        assert_eq!(HdlcAddress::server(1, 0x80).unwrap().size(), AddressSize::Four);
    }

    #[test]
    fn ranges_are_checked() {
        assert!(HdlcAddress::one_byte(0x80).is_err());
        assert!(HdlcAddress::two_byte(0x7F, 0x80).is_err());
        assert!(HdlcAddress::four_byte(0x4000, 0).is_err());
        assert!(HdlcAddress::server(0x4000, 1).is_err());
    }

    #[test]
    fn scan_sizes_and_errors() {
        assert_eq!(HdlcAddress::scan(&[0x02]), Ok(None));
        assert_eq!(HdlcAddress::scan(&[0x02, 0x00, 0x02]), Ok(None));
        assert!(HdlcAddress::scan(&[0x02, 0x00, 0x03]).is_err());
        assert!(HdlcAddress::scan(&[0x02, 0x00, 0x02, 0x00]).is_err());
        let (a, used) = HdlcAddress::scan(&[0x00, 0x02, 0x00, 0x23, 0xFF]).unwrap().unwrap();
        assert_eq!((a.upper(), a.lower(), used), (1, Some(17), 4));
        assert!(a.same_station(&HdlcAddress::two_byte(1, 17).unwrap()));
        assert_ne!(a, HdlcAddress::two_byte(1, 17).unwrap());
    }
}
