//! Keys and key attributes (IEC 62055-41:2018 §6.5, security functions: VendingKey,
//! DecoderKey, KeyType, KeyRevisionNumber, TariffIndex, SupplyGroupCode, KeyExpiryNumber).
//!
//! Keys are held in *natural* big-endian byte order, as the standard writes them
//! (e.g. `0ABC12DEF3456789`). Some implementations store DKGA02 keys byte-reversed; convert at
//! the edge with [`DecoderKey::from_reversed_bytes`]. `Debug` never prints key material.

use std::fmt;

use thiserror::Error;

/// Why a key or key attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The hex text has a character that is not a hex digit.
    #[error("key text is not hexadecimal")]
    NotHex,
    /// The key has a length the algorithm does not use (bits).
    #[error("a key of {bits} bits is not used here (expected {expected})")]
    Length {
        /// Bits found.
        bits: usize,
        /// What was expected, e.g. "64 or 128".
        expected: &'static str,
    },
    /// EA07 (STA) was asked for without its substitution and permutation tables.
    #[error("EA07 (STA) needs the STA tables")]
    MissingStaTables,
    /// A key attribute outside its range.
    #[error("{attribute} {value} is out of range ({range})")]
    AttributeRange {
        /// The attribute, e.g. "KeyRevisionNumber".
        attribute: &'static str,
        /// The value given.
        value: u64,
        /// The allowed range, e.g. "1..=9".
        range: &'static str,
    },
}

/// Parses hex text (upper or lower case, no separators) into bytes.
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>, KeyError> {
    let digits: Vec<u8> = text
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            b'A'..=b'F' => Ok(b - b'A' + 10),
            _ => Err(KeyError::NotHex),
        })
        .collect::<Result<_, _>>()?;
    if digits.len() % 2 != 0 {
        return Err(KeyError::Length { bits: digits.len() * 4, expected: "a whole number of bytes" });
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => (high << 4) | low,
            _ => 0,
        })
        .collect())
}

/// Upper-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A decoder key (DK): 64 bits for EA07 (STA), 128 bits for EA11 (MISTY1)
/// (IEC 62055-41:2018 §6.5, DecoderKey).
#[derive(Clone, PartialEq, Eq)]
pub enum DecoderKey {
    /// 64-bit key, used with the STA (EA07).
    Bits64([u8; 8]),
    /// 128-bit key, used with MISTY1 (EA11).
    Bits128([u8; 16]),
}

impl DecoderKey {
    /// A key from natural-order bytes (8 or 16).
    pub fn from_bytes(bytes: &[u8]) -> Result<DecoderKey, KeyError> {
        if let Ok(k) = <[u8; 8]>::try_from(bytes) {
            Ok(DecoderKey::Bits64(k))
        } else if let Ok(k) = <[u8; 16]>::try_from(bytes) {
            Ok(DecoderKey::Bits128(k))
        } else {
            Err(KeyError::Length { bits: bytes.len() * 8, expected: "64 or 128" })
        }
    }

    /// A key from bytes stored in reversed order (last byte first), as some vending software
    /// stores DKGA02 keys.
    pub fn from_reversed_bytes(bytes: &[u8]) -> Result<DecoderKey, KeyError> {
        let natural: Vec<u8> = bytes.iter().rev().copied().collect();
        DecoderKey::from_bytes(&natural)
    }

    /// A key from 16 or 32 hex digits in natural order, e.g. `0ABC12DEF3456789`.
    pub fn from_hex(text: &str) -> Result<DecoderKey, KeyError> {
        DecoderKey::from_bytes(&parse_hex(text)?)
    }

    /// The key bytes in natural order.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            DecoderKey::Bits64(k) => k,
            DecoderKey::Bits128(k) => k,
        }
    }

    /// Upper-case hex of the key in natural order.
    pub fn to_hex(&self) -> String {
        to_hex(self.as_bytes())
    }

    /// Key length in bits (64 or 128).
    pub fn bits(&self) -> usize {
        self.as_bytes().len() * 8
    }
}

impl fmt::Debug for DecoderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecoderKey({}-bit, redacted)", self.bits())
    }
}

/// A vending key: the 64-bit DES key of DKGA02 (the vending unique DES key, VUDK) or the
/// 160-bit key of DKGA04 (IEC 62055-41:2018 §6.5, VendingKey).
#[derive(Clone, PartialEq, Eq)]
pub enum VendingKey {
    /// 64-bit DES vending key for DKGA02.
    Des64([u8; 8]),
    /// 160-bit vending key for DKGA04 (HMAC-SHA-256 key).
    Bits160([u8; 20]),
}

impl VendingKey {
    /// A vending key from 16 hex digits (DKGA02) or 40 hex digits (DKGA04).
    pub fn from_hex(text: &str) -> Result<VendingKey, KeyError> {
        let bytes = parse_hex(text)?;
        if let Ok(k) = <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(VendingKey::Des64(k))
        } else if let Ok(k) = <[u8; 20]>::try_from(bytes.as_slice()) {
            Ok(VendingKey::Bits160(k))
        } else {
            Err(KeyError::Length { bits: bytes.len() * 8, expected: "64 (DKGA02) or 160 (DKGA04)" })
        }
    }
}

impl fmt::Debug for VendingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendingKey::Des64(_) => write!(f, "VendingKey(64-bit, redacted)"),
            VendingKey::Bits160(_) => write!(f, "VendingKey(160-bit, redacted)"),
        }
    }
}

/// Key type (KT), 2 bits (IEC 62055-41:2018 §6.5, KeyType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum KeyType {
    /// KT 0: initialisation key (DITK), for manufacture only.
    Initialisation = 0,
    /// KT 1: default key (DDTK); a meter holding it refuses credit transfer tokens.
    Default = 1,
    /// KT 2: unique key (DUTK), derived for one meter.
    Unique = 2,
    /// KT 3: common key (DCTK), shared by a group of meters.
    Common = 3,
}

impl KeyType {
    /// The key type from its 2-bit code (low 2 bits used).
    pub fn from_bits(bits: u8) -> KeyType {
        match bits & 0b11 {
            0 => KeyType::Initialisation,
            1 => KeyType::Default,
            2 => KeyType::Unique,
            _ => KeyType::Common,
        }
    }

    /// The 2-bit code.
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// Key revision number (KRN), one decimal digit 1..=9 (IEC 62055-41:2018 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct KeyRevisionNumber(u8);

impl TryFrom<u8> for KeyRevisionNumber {
    type Error = KeyError;

    fn try_from(value: u8) -> Result<Self, KeyError> {
        KeyRevisionNumber::new(value)
    }
}

impl From<KeyRevisionNumber> for u8 {
    fn from(value: KeyRevisionNumber) -> u8 {
        value.0
    }
}

impl KeyRevisionNumber {
    /// KRN 1.
    pub const ONE: KeyRevisionNumber = KeyRevisionNumber(1);

    /// A KRN; errors outside 1..=9.
    pub fn new(value: u8) -> Result<KeyRevisionNumber, KeyError> {
        if (1..=9).contains(&value) {
            Ok(KeyRevisionNumber(value))
        } else {
            Err(KeyError::AttributeRange { attribute: "KeyRevisionNumber", value: value.into(), range: "1..=9" })
        }
    }

    /// The digit.
    pub fn value(self) -> u8 {
        self.0
    }
}

/// Tariff index (TI), two decimal digits 00..=99 (IEC 62055-41:2018 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct TariffIndex(u8);

impl TryFrom<u8> for TariffIndex {
    type Error = KeyError;

    fn try_from(value: u8) -> Result<Self, KeyError> {
        TariffIndex::new(value)
    }
}

impl From<TariffIndex> for u8 {
    fn from(value: TariffIndex) -> u8 {
        value.0
    }
}

impl TariffIndex {
    /// TI 01.
    pub const ONE: TariffIndex = TariffIndex(1);

    /// A TI; errors above 99.
    pub fn new(value: u8) -> Result<TariffIndex, KeyError> {
        if value <= 99 {
            Ok(TariffIndex(value))
        } else {
            Err(KeyError::AttributeRange { attribute: "TariffIndex", value: value.into(), range: "0..=99" })
        }
    }

    /// The value 0..=99.
    pub fn value(self) -> u8 {
        self.0
    }
}

/// Supply group code (SGC), six decimal digits (IEC 62055-41:2018 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct SupplyGroupCode(u32);

impl TryFrom<u32> for SupplyGroupCode {
    type Error = KeyError;

    fn try_from(value: u32) -> Result<Self, KeyError> {
        SupplyGroupCode::new(value)
    }
}

impl From<SupplyGroupCode> for u32 {
    fn from(value: SupplyGroupCode) -> u32 {
        value.0
    }
}

impl SupplyGroupCode {
    /// SGC 000000.
    pub const ZERO: SupplyGroupCode = SupplyGroupCode(0);

    /// An SGC; errors above 999 999.
    pub fn new(value: u32) -> Result<SupplyGroupCode, KeyError> {
        if value <= 999_999 {
            Ok(SupplyGroupCode(value))
        } else {
            Err(KeyError::AttributeRange { attribute: "SupplyGroupCode", value: value.into(), range: "0..=999999" })
        }
    }

    /// The value 0..=999 999 (fits in 24 bits, as sent in key change sections 3 and 4).
    pub fn value(self) -> u32 {
        self.0
    }
}

/// Key expiry number (KEN), 8 bits: the key is expired for a token whose TID has its 8
/// high-order bits greater than the KEN; 255 never expires (IEC 62055-41:2018 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeyExpiryNumber(pub u8);

impl KeyExpiryNumber {
    /// KEN 255: the key never expires.
    pub const NEVER: KeyExpiryNumber = KeyExpiryNumber(0xFF);

    /// The KEN from its high-order and low-order nibbles (KENHO from the 1st key change
    /// section, KENLO from the 2nd).
    pub fn from_nibbles(high: u8, low: u8) -> KeyExpiryNumber {
        KeyExpiryNumber(((high & 0x0F) << 4) | (low & 0x0F))
    }

    /// The high-order nibble (KENHO).
    pub fn high(self) -> u8 {
        self.0 >> 4
    }

    /// The low-order nibble (KENLO).
    pub fn low(self) -> u8 {
        self.0 & 0x0F
    }

    /// Whether a token with this TID is past the key's expiry.
    pub fn is_expired_for(self, tid: crate::token_identifier::Tid) -> bool {
        tid.expiry_index() > self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_storage_is_the_natural_key_backwards() {
        let stored = [0x89, 0x67, 0x45, 0xF3, 0xDE, 0x12, 0xBC, 0x0A];
        let dk = DecoderKey::from_reversed_bytes(&stored).unwrap();
        assert_eq!(dk.to_hex(), "0ABC12DEF3456789");
        assert_eq!(format!("{dk:?}"), "DecoderKey(64-bit, redacted)");
    }

    #[test]
    fn refuses_bad_keys() {
        assert_eq!(DecoderKey::from_hex("0ABC"), Err(KeyError::Length { bits: 16, expected: "64 or 128" }));
        assert_eq!(DecoderKey::from_hex("0ABC12DEF345678G"), Err(KeyError::NotHex));
        assert!(matches!(VendingKey::from_hex("ABABABABABABABAB"), Ok(VendingKey::Des64(_))));
        assert!(VendingKey::from_hex("ABABABABABABABABAB").is_err());
        assert!(KeyRevisionNumber::new(0).is_err());
        assert!(TariffIndex::new(100).is_err());
        assert!(SupplyGroupCode::new(1_000_000).is_err());
    }
}
