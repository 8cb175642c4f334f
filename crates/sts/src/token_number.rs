//! The 66-bit token number and its 20-digit decimal form.
//!
//! IEC 62055-41:2018 §6.4 (TCDU generation): the token carrier data unit is the 64-bit
//! (encrypted, for classes 0 and 2) data block with the 2 token-class bits in front, 66 bits in all.
//! Before the 66-bit value is written as a decimal number, the class bits are *transposed*: the
//! two class bits are swapped with bits 28 and 27 of the data block, so that the class cannot be
//! read from the first digits of the token. The 66-bit result is written as exactly 20 decimal
//! digits, with leading zeros (2^66 - 1 = 73 786 976 294 838 206 463 has 20 digits).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The 2-bit token class (IEC 62055-41:2018 §6.3, TokenClass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TokenClass {
    /// Class 0: TransferCredit (credit for electricity, water, gas, time, and currency).
    /// Encrypted.
    TransferCredit = 0,
    /// Class 1: InitiateMeterTest/Display, non-meter-specific management. Not encrypted.
    NonMeterSpecificManagement = 1,
    /// Class 2: meter-specific management (power limit, clear credit, tariff rate, decoder key
    /// change, clear tamper, phase unbalance limit, water meter factor). Encrypted.
    MeterSpecificManagement = 2,
    /// Class 3: reserved for future assignment by the standard.
    Reserved = 3,
}

impl TokenClass {
    /// The class from its 2-bit code; only the low 2 bits of `bits` are used.
    pub fn from_bits(bits: u8) -> TokenClass {
        match bits & 0b11 {
            0 => TokenClass::TransferCredit,
            1 => TokenClass::NonMeterSpecificManagement,
            2 => TokenClass::MeterSpecificManagement,
            _ => TokenClass::Reserved,
        }
    }

    /// The 2-bit code of the class (0..=3).
    pub fn bits(self) -> u8 {
        self as u8
    }

    /// Whether the data block of this class is encrypted (classes 0 and 2; IEC 62055-41:2018 §6.4).
    pub fn is_encrypted(self) -> bool {
        matches!(self, TokenClass::TransferCredit | TokenClass::MeterSpecificManagement)
    }
}

/// Why a 20-digit token string was refused before any decryption.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenNumberError {
    /// The token did not have exactly 20 decimal digits (separators excluded).
    #[error("a token has 20 decimal digits, found {found}")]
    Length {
        /// Number of digits found.
        found: usize,
    },
    /// A character other than a digit, a space or a '-' separator.
    #[error("character {character:?} at position {position} is not a decimal digit")]
    NotADigit {
        /// The offending character.
        character: char,
        /// Its byte offset in the input string.
        position: usize,
    },
    /// The 20 digits denote a number of 2^66 or more, which no 66-bit token can have.
    #[error("the 20-digit number is 2^66 or more: not an STS token")]
    OutOfRange,
}

/// Bits 28 and 27 of the data block: the positions that receive the class bits.
const TRANSPOSED_MASK: u64 = (1 << 28) | (1 << 27);
/// 2^66: the first value that is not a token number.
const TOKEN_NUMBER_LIMIT: u128 = 1 << 66;

/// A 66-bit STS token number, as carried by the 20 decimal digits of a token.
///
/// The value is the *transposed* 66-bit TCDU (IEC 62055-41:2018 §6.4): bits 65..64 hold the
/// original data-block bits 28..27, and data-block bits 28..27 hold the class bits.
/// Use [`TokenNumber::from_class_and_block`] and [`TokenNumber::class`]/[`TokenNumber::block`] to
/// go between the token number and the (class, 64-bit block) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenNumber(u128);

impl TokenNumber {
    /// Builds the token number from the class and the 64-bit data block that is sent (the
    /// encrypted block for classes 0 and 2, the plain block for class 1), transposing the class
    /// bits into bits 28/27 (IEC 62055-41:2018 §6.4, transposition of the class bits).
    pub fn from_class_and_block(class: TokenClass, block: u64) -> TokenNumber {
        let class_bits = u64::from(class.bits());
        let displaced = (block >> 27) & 0b11;
        let low = (block & !TRANSPOSED_MASK) | (class_bits << 27);
        TokenNumber((u128::from(displaced) << 64) | u128::from(low))
    }

    /// The token number from its 66-bit integer value; `None` for 2^66 or more.
    pub fn from_value(value: u128) -> Option<TokenNumber> {
        (value < TOKEN_NUMBER_LIMIT).then_some(TokenNumber(value))
    }

    /// The 66-bit integer value (what the 20 digits denote).
    pub fn value(self) -> u128 {
        self.0
    }

    /// The token class, read from the transposed position (bits 28/27).
    pub fn class(self) -> TokenClass {
        // Truncation intended: the two bits are masked.
        TokenClass::from_bits(((self.0 >> 27) & 0b11) as u8)
    }

    /// The 64-bit data block with the displaced bits 28/27 restored from bits 65/64.
    pub fn block(self) -> u64 {
        // Truncation intended: the low 64 bits are the block.
        let low = self.0 as u64;
        let displaced = ((self.0 >> 64) & 0b11) as u64;
        (low & !TRANSPOSED_MASK) | (displaced << 27)
    }

    /// The token as printed on a receipt: `dddd-dddd-dddd-dddd-dddd` (presentation only; the
    /// separators carry no meaning and [`FromStr`] accepts the token with or without them).
    pub fn to_grouped_string(self) -> String {
        let digits = self.to_string();
        let mut out = String::with_capacity(24);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for TokenNumber {
    /// Exactly 20 decimal digits, leading zeros kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

impl FromStr for TokenNumber {
    type Err = TokenNumberError;

    /// Parses 20 decimal digits; spaces and '-' between digits are ignored (as printed on
    /// receipts). Refuses other characters, any other digit count, and values of 2^66 or more.
    fn from_str(s: &str) -> Result<TokenNumber, TokenNumberError> {
        let mut value: u128 = 0;
        let mut digits = 0usize;
        for (position, character) in s.char_indices() {
            match character {
                ' ' | '-' => continue,
                '0'..='9' => {
                    digits += 1;
                    if digits <= 20 {
                        let digit = u128::from(character as u32 - '0' as u32);
                        // 20 digits fit in a u128 (< 10^20 < 2^67).
                        value = value * 10 + digit;
                    }
                }
                _ => return Err(TokenNumberError::NotADigit { character, position }),
            }
        }
        if digits != 20 {
            return Err(TokenNumberError::Length { found: digits });
        }
        TokenNumber::from_value(value).ok_or(TokenNumberError::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposition_moves_bits_28_27_to_65_64() {
        let block = (1u64 << 28) | (1u64 << 27) | 0xABCD;
        let n = TokenNumber::from_class_and_block(TokenClass::TransferCredit, block);
        assert_eq!(n.value() >> 64, 0b11);
        assert_eq!((n.value() >> 27) & 0b11, 0);
        assert_eq!(n.block(), block);
        assert_eq!(n.class(), TokenClass::TransferCredit);
    }

    #[test]
    fn class_bits_land_in_bits_28_27() {
        let n = TokenNumber::from_class_and_block(TokenClass::MeterSpecificManagement, 0);
        assert_eq!(n.value(), 2 << 27);
        assert_eq!(n.class(), TokenClass::MeterSpecificManagement);
    }

    #[test]
    fn parse_refuses_bad_input() {
        assert_eq!("1234".parse::<TokenNumber>(), Err(TokenNumberError::Length { found: 4 }));
        assert_eq!("123456789012345678901".parse::<TokenNumber>(), Err(TokenNumberError::Length { found: 21 }));
        assert_eq!(
            "1234567890123456789x".parse::<TokenNumber>(),
            Err(TokenNumberError::NotADigit { character: 'x', position: 19 })
        );
        assert_eq!("73786976294838206464".parse::<TokenNumber>(), Err(TokenNumberError::OutOfRange));
        assert!("73786976294838206463".parse::<TokenNumber>().is_ok());
    }

    #[test]
    fn grouped_form_round_trips() {
        let n: TokenNumber = "29054347139309851356".parse().unwrap();
        assert_eq!(n.to_grouped_string(), "2905-4347-1393-0985-1356");
        assert_eq!(n.to_grouped_string().parse::<TokenNumber>(), Ok(n));
        assert_eq!("00000000000150997584".parse::<TokenNumber>().unwrap().to_string(), "00000000000150997584");
    }
}
