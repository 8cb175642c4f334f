//! The meter primary account number (PAN) and the DKGA02 PAN block and control block
//! (IEC 62055-41:2018 §6.1, MeterPAN / IIN / IAIN / DRN; §6.5, DKGA02).
//!
//! A MeterPAN has 18 digits: the issuer identification number (IIN), the individual account
//! identification number (IAIN) and a Luhn check digit over IIN + IAIN. The IIN is either the
//! 6-digit `600727` (with an 11-digit IAIN) or the 4-digit common code `0000` (with a 13-digit
//! IAIN). The IAIN is the decoder reference number (DRN): manufacturer code (2 or 4 digits),
//! decoder serial number (8 digits) and a Luhn check digit over those.

use thiserror::Error;

use crate::keys::{KeyRevisionNumber, KeyType, SupplyGroupCode, TariffIndex};

/// The 6-digit IIN of the STS (used with 2-digit manufacturer codes).
pub const IIN_6_DIGIT: &str = "600727";
/// The 4-digit common-code IIN (used with 4-digit manufacturer codes).
pub const IIN_4_DIGIT: &str = "0000";

/// Why a PAN or DRN was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PanError {
    /// A non-digit character.
    #[error("a PAN or DRN has decimal digits only")]
    NotDigits,
    /// Wrong number of digits.
    #[error("{what} has {expected} digits, found {found}")]
    Length {
        /// "MeterPAN" or "DRN".
        what: &'static str,
        /// Expected digit count(s).
        expected: &'static str,
        /// Digits found.
        found: usize,
    },
    /// The IIN is neither 600727 nor 0000.
    #[error("unknown issuer identification number (expected 600727 or 0000)")]
    UnknownIin,
    /// The PAN's own check digit is wrong.
    #[error("PAN check digit is {found}, Luhn gives {expected}")]
    PanCheckDigit {
        /// The digit in the PAN.
        found: u8,
        /// The computed digit.
        expected: u8,
    },
    /// The DRN's check digit (last digit of the IAIN) is wrong.
    #[error("DRN check digit is {found}, Luhn gives {expected}")]
    DrnCheckDigit {
        /// The digit in the DRN.
        found: u8,
        /// The computed digit.
        expected: u8,
    },
}

/// The Luhn (mod 10) check digit for a string of decimal digits; `None` if a character is not a
/// digit.
pub fn luhn_check_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        // The rightmost payload digit is doubled (the check digit goes to its right).
        let v = if i % 2 == 0 {
            let doubled = d * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            d
        };
        sum += v;
    }
    // sum % 10 < 10: fits a u8.
    Some(((10 - sum % 10) % 10) as u8)
}

fn last_digit(s: &str) -> u8 {
    // Callers pass non-empty ASCII digit strings.
    s.bytes().last().map_or(0, |b| b.wrapping_sub(b'0'))
}

/// A meter primary account number: IIN + IAIN (DRN) + check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct MeterPan {
    iin: String,
    iain: String,
}

impl MeterPan {
    /// Parses an 18-digit MeterPAN and checks both check digits (PAN and DRN).
    pub fn parse(pan: &str) -> Result<MeterPan, PanError> {
        if !pan.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PanError::NotDigits);
        }
        if pan.len() != 18 {
            return Err(PanError::Length { what: "MeterPAN", expected: "18", found: pan.len() });
        }
        let (body, check) = pan.split_at(17);
        let (iin, iain) = if body.starts_with(IIN_6_DIGIT) {
            body.split_at(6)
        } else if body.starts_with(IIN_4_DIGIT) {
            body.split_at(4)
        } else {
            return Err(PanError::UnknownIin);
        };
        let expected = luhn_check_digit(body).ok_or(PanError::NotDigits)?;
        let found = last_digit(check);
        if found != expected {
            return Err(PanError::PanCheckDigit { found, expected });
        }
        let pan = MeterPan { iin: iin.to_string(), iain: iain.to_string() };
        pan.check_drn()?;
        Ok(pan)
    }

    /// The PAN of a decoder reference number (the "meter number"): an 11-digit DRN (2-digit
    /// manufacturer code) takes IIN 600727, a 13-digit DRN (4-digit manufacturer code) IIN 0000.
    pub fn from_drn(drn: &str) -> Result<MeterPan, PanError> {
        if !drn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PanError::NotDigits);
        }
        let iin = match drn.len() {
            11 => IIN_6_DIGIT,
            13 => IIN_4_DIGIT,
            found => return Err(PanError::Length { what: "DRN", expected: "11 or 13", found }),
        };
        let pan = MeterPan { iin: iin.to_string(), iain: drn.to_string() };
        pan.check_drn()?;
        Ok(pan)
    }

    fn check_drn(&self) -> Result<(), PanError> {
        let (payload, check) = self.iain.split_at(self.iain.len().saturating_sub(1));
        let expected = luhn_check_digit(payload).ok_or(PanError::NotDigits)?;
        let found = last_digit(check);
        if found == expected { Ok(()) } else { Err(PanError::DrnCheckDigit { found, expected }) }
    }

    /// The issuer identification number (6 or 4 digits).
    pub fn iin(&self) -> &str {
        &self.iin
    }

    /// The individual account identification number = DRN (11 or 13 digits).
    pub fn iain(&self) -> &str {
        &self.iain
    }

    /// The manufacturer code within the DRN (2 or 4 digits).
    pub fn manufacturer_code(&self) -> &str {
        let len = if self.iin.len() == 6 { 2 } else { 4 };
        self.iain.get(..len).unwrap_or("")
    }

    /// The PAN check digit (Luhn over IIN + IAIN).
    pub fn check_digit(&self) -> u8 {
        luhn_check_digit(&format!("{}{}", self.iin, self.iain)).unwrap_or(0)
    }

    /// The full 18-digit MeterPAN.
    pub fn to_digits(&self) -> String {
        format!("{}{}{}", self.iin, self.iain, self.check_digit())
    }

    /// The DKGA02 PAN block of this PAN (see [`pan_block`]).
    pub fn pan_block(&self, key_type: KeyType) -> [u8; 8] {
        // IIN and IAIN of a MeterPan are digit strings of matching lengths.
        pan_block(&self.iin, &self.iain, key_type).unwrap_or([0; 8])
    }
}

/// The DKGA02 PAN block, 16 BCD digits as 8 bytes (IEC 62055-41:2018 §6.5, DKGA02): for key
/// types 0, 1 and 2 the last 5 digits of a 6-digit IIN and the 11 IAIN digits (or the last 3
/// digits of a 4-digit IIN and the 13 IAIN digits); for key type 3 (common key) the same IIN
/// digits followed by zeros. Errors unless the IIN has 6 or 4 digits and (for key types 0..=2)
/// the IAIN 11 or 13 digits to match.
pub fn pan_block(iin: &str, iain: &str, key_type: KeyType) -> Result<[u8; 8], PanError> {
    if !iin.bytes().chain(iain.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(PanError::NotDigits);
    }
    // The last 5 digits of a 6-digit IIN, the last 3 of a 4-digit IIN.
    let (iin_tail, iain_len) = match iin.len() {
        6 => (iin.get(1..).unwrap_or(""), 11),
        4 => (iin.get(1..).unwrap_or(""), 13),
        found => return Err(PanError::Length { what: "IIN", expected: "6 or 4", found }),
    };
    // The IAIN enters the block for key types 0, 1 and 2 only.
    if key_type != KeyType::Common && iain.len() != iain_len {
        return Err(PanError::Length {
            what: "IAIN",
            expected: "11 (6-digit IIN) or 13 (4-digit IIN)",
            found: iain.len(),
        });
    }
    let digits = match key_type {
        KeyType::Common => format!("{iin_tail:0<16}"),
        _ => format!("{iin_tail}{iain}"),
    };
    Ok(bcd16(&digits))
}

impl TryFrom<String> for MeterPan {
    type Error = PanError;

    fn try_from(pan: String) -> Result<MeterPan, PanError> {
        MeterPan::parse(&pan)
    }
}

impl From<MeterPan> for String {
    fn from(pan: MeterPan) -> String {
        pan.to_digits()
    }
}

/// 16 decimal digits packed as BCD in 8 bytes; non-digits count as 0.
fn bcd16(digits: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, b) in digits.bytes().take(16).enumerate() {
        let nibble = b.wrapping_sub(b'0') & 0x0F;
        if let Some(slot) = out.get_mut(i / 2) {
            *slot |= if i % 2 == 0 { nibble << 4 } else { nibble };
        }
    }
    out
}

/// The DKGA02 control block: `KT (1 digit) | SGC (6) | TI (2) | KRN (1) | FFFFFF`, 16 nibbles
/// (IEC 62055-41:2018 §6.5, DKGA02).
pub fn control_block(
    key_type: KeyType,
    supply_group_code: SupplyGroupCode,
    tariff_index: TariffIndex,
    key_revision: KeyRevisionNumber,
) -> [u8; 8] {
    let digits = format!(
        "{}{:06}{:02}{}",
        key_type.bits(),
        supply_group_code.value(),
        tariff_index.value(),
        key_revision.value()
    );
    let mut out = bcd16(&digits);
    // The last 6 nibbles are F.
    for slot in out.iter_mut().skip(5) {
        *slot = 0xFF;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_pan_forms() {
        let p = MeterPan::parse("600727000000000009").unwrap();
        assert_eq!((p.iin(), p.iain(), p.manufacturer_code()), ("600727", "00000000000", "00"));
        let q = MeterPan::parse("000001000000000082").unwrap();
        assert_eq!((q.iin(), q.iain(), q.manufacturer_code()), ("0000", "0100000000008", "0100"));
        assert_eq!(MeterPan::from_drn("0100000000008").unwrap(), q);
        assert_eq!(q.to_digits(), "000001000000000082");
    }

    #[test]
    fn refuses_bad_pans() {
        assert_eq!(MeterPan::parse("600727000000000008"), Err(PanError::PanCheckDigit { found: 8, expected: 9 }));
        assert!(matches!(MeterPan::parse("60072700000000000X"), Err(PanError::NotDigits)));
        assert!(matches!(MeterPan::parse("123456000000000009"), Err(PanError::UnknownIin)));
        assert!(matches!(MeterPan::from_drn("01000000000"), Err(PanError::DrnCheckDigit { .. })));
    }
}
