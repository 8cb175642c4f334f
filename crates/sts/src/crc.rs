//! The token CRC (IEC 62055-41:2018 §6.3, CRC data element).
//!
//! A CRC-16 with generator polynomial x^16 + x^15 + x^2 + 1, processed LSB first (reflected
//! polynomial 0xA001), initial value 0xFFFF, no final XOR. It is computed over the 50-bit value
//! `class (2) | subclass (4) | the 44 data bits`, right-aligned in 7 bytes, most significant byte
//! first. The 16-bit CRC field of the data block holds the result with its two bytes swapped
//! (the low-order byte of the register is the first byte sent).

/// The 16-bit CRC field for a data block: `class` (2 bits, low bits used), `subclass` (4 bits)
/// and the 44 data bits that follow the subclass (`data44`, low 44 bits used).
pub fn token_crc(class: u8, subclass: u8, data44: u64) -> u16 {
    let value: u64 = (u64::from(class & 0b11) << 48) | (u64::from(subclass & 0x0F) << 44) | (data44 & DATA44_MASK);
    let bytes = value.to_be_bytes();
    // The 50-bit value occupies the low 7 bytes.
    let register = crc16_a001(&bytes[1..]);
    register.swap_bytes()
}

/// Mask of the 44 data bits between the subclass and the CRC.
pub(crate) const DATA44_MASK: u64 = (1 << 44) - 1;

/// CRC-16, reflected polynomial 0xA001, initial value 0xFFFF, no final XOR.
fn crc16_a001(data: &[u8]) -> u16 {
    let mut register: u16 = 0xFFFF;
    for &byte in data {
        register ^= u16::from(byte);
        for _ in 0..8 {
            register = if register & 1 != 0 { (register >> 1) ^ 0xA001 } else { register >> 1 };
        }
    }
    register
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_matches_the_crc16_modbus_check_value() {
        // The same parameters as the catalogued CRC-16/MODBUS: check value over "123456789".
        assert_eq!(crc16_a001(b"123456789"), 0x4B37);
    }
}
