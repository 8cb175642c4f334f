//! The HDLC header check sequence (HCS) and frame check sequence (FCS) of IEC 62056-46
//! §6.4.1 and Annex A "FCS calculation": both are the 16-bit FCS of ISO/IEC 13239
//! (RFC 1662 "FCS-16", CRC-16/X.25: polynomial x¹⁶ + x¹² + x⁵ + 1 reflected, initial value
//! 0xFFFF, final XOR 0xFFFF), transmitted low byte first.
//!
//! The HCS covers the frame format, address and control fields; the FCS covers every
//! byte between the flags except the FCS itself.

use crc::{CRC_16_IBM_SDLC, Crc};

const FCS16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

/// The CRC-16/X.25 of `bytes` as a number (the check value of "123456789" is 0x906E).
/// On the wire it is sent low byte first: use [`put_fcs16`].
pub fn fcs16(bytes: &[u8]) -> u16 {
    FCS16.checksum(bytes)
}

/// Appends the CRC-16/X.25 of `covered` to `out`, low byte first (IEC 62056-46 §6.4.1).
pub fn put_fcs16(out: &mut Vec<u8>, covered: &[u8]) {
    out.extend_from_slice(&fcs16(covered).to_le_bytes());
}

/// Reads a check sequence as it appears on the wire (low byte first).
pub fn read_fcs16(wire: [u8; 2]) -> u16 {
    u16::from_le_bytes(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x25_check_value() {
        assert_eq!(fcs16(b"123456789"), 0x906E);
    }

    #[test]
    fn low_byte_first() {
        let mut out = Vec::new();
        put_fcs16(&mut out, b"123456789");
        assert_eq!(out, [0x6E, 0x90]);
        assert_eq!(read_fcs16([0x6E, 0x90]), 0x906E);
    }
}
