//! Token types and the 64-bit data block layouts of classes 0, 1 and 2
//! (IEC 62055-41:2018 §6.2 tokens, §6.3 token data elements).
//!
//! Every data block is `subclass (4) | 44 data bits | CRC (16)`, most significant bit first. The
//! 44 data bits are laid out per class and subclass:
//!
//! | class | subclass | 44 data bits |
//! |---|---|---|
//! | 0 | 0..=7 (credit) | RND (4), TID (24), TransferAmount (16) |
//! | 1 | 0 | Control (36), MfrCode (8) |
//! | 1 | 1 | Control (28), MfrCode (16) |
//! | 2 | 0, 1, 2, 5, 6, 7 | RND (4), TID (24), value (16) |
//! | 2 | 3 | KENHO (4), KRN (4), RO (1), RES (1), KT (2), NKHO (32) |
//! | 2 | 4 | KENLO (4), TI (8), NKLO (32) |
//! | 2 | 8 | SGC low-order 12 bits, new key middle-order part 1 (32) |
//! | 2 | 9 | SGC high-order 12 bits, new key middle-order part 2 (32) |
//!
//! The CRC ([`crate::crc::token_crc`]) covers the class bits, the subclass and the 44 data bits.

use thiserror::Error;

use crate::crc::{DATA44_MASK, token_crc};
use crate::keys::KeyType;
use crate::token_identifier::Tid;
use crate::token_number::TokenClass;
use crate::transfer_amount::TransferAmount;

/// The commodity (and units) of a class 0 TransferCredit token: its subclass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CreditKind {
    /// Subclass 0: electricity credit, 0.1 kWh resolution.
    Electricity = 0,
    /// Subclass 1: water credit, 0.1 of the water unit.
    Water = 1,
    /// Subclass 2: gas credit, 0.1 of the gas unit.
    Gas = 2,
    /// Subclass 3: time credit, 0.1 of the time unit.
    Time = 3,
    /// Subclass 4: electricity currency credit (edition 3), 0.1 of the currency unit.
    ElectricityCurrency = 4,
    /// Subclass 5: water currency credit (edition 3).
    WaterCurrency = 5,
    /// Subclass 6: gas currency credit (edition 3).
    GasCurrency = 6,
    /// Subclass 7: time currency credit (edition 3).
    TimeCurrency = 7,
}

impl CreditKind {
    /// The kind for a class 0 subclass; `None` for the reserved subclasses 8..=15.
    pub fn from_subclass(subclass: u8) -> Option<CreditKind> {
        Some(match subclass {
            0 => CreditKind::Electricity,
            1 => CreditKind::Water,
            2 => CreditKind::Gas,
            3 => CreditKind::Time,
            4 => CreditKind::ElectricityCurrency,
            5 => CreditKind::WaterCurrency,
            6 => CreditKind::GasCurrency,
            7 => CreditKind::TimeCurrency,
            _ => return None,
        })
    }

    /// The class 0 subclass number.
    pub fn subclass(self) -> u8 {
        self as u8
    }
}

/// A decoded (plain-text) STS token.
///
/// `rnd` is the 4-bit random number (0..=15) that makes tokens of equal content differ; `tid`
/// the issue time ([`Tid`]). Power limits are [`TransferAmount`]s in watts; credit amounts are
/// in 0.1 units of the [`CreditKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Token {
    /// Class 0, subclasses 0..=7: transfer credit.
    TransferCredit {
        /// Commodity/subclass.
        kind: CreditKind,
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// Credit in 0.1 units.
        amount: TransferAmount,
    },
    /// Class 1, subclass 0: InitiateMeterTest/Display with a 36-bit control field and a 2-digit
    /// manufacturer code (0 addresses every manufacturer).
    InitiateMeterTestOrDisplay1 {
        /// 36-bit control field: which tests/displays to run.
        control: u64,
        /// 8-bit manufacturer code.
        manufacturer_code: u8,
    },
    /// Class 1, subclass 1: InitiateMeterTest/Display with a 28-bit control field and a 4-digit
    /// manufacturer code.
    InitiateMeterTestOrDisplay2 {
        /// 28-bit control field.
        control: u32,
        /// 16-bit manufacturer code.
        manufacturer_code: u16,
    },
    /// Class 2, subclass 0: set maximum power limit.
    SetMaximumPowerLimit {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// The limit in W.
        limit: TransferAmount,
    },
    /// Class 2, subclass 1: clear credit.
    ClearCredit {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// Which credit register to clear (0xFFFF: all registers).
        register: u16,
    },
    /// Class 2, subclass 2: set tariff rate.
    SetTariffRate {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// The 16-bit rate field.
        rate: u16,
    },
    /// Class 2, subclass 3: 1st section of a decoder key change.
    Set1stSectionDecoderKey {
        /// High-order nibble of the new key expiry number.
        kenho: u8,
        /// Key revision number of the new key (4 bits).
        krn: u8,
        /// RO: roll-over key change (the meter clears its TID memory and moves to the next base
        /// date).
        rollover: bool,
        /// RES: reserved bit.
        reserved: bool,
        /// Key type of the new key.
        key_type: KeyType,
        /// The high-order 32 bits of the new key (NKHO).
        nkho: u32,
    },
    /// Class 2, subclass 4: 2nd section of a decoder key change.
    Set2ndSectionDecoderKey {
        /// Low-order nibble of the new key expiry number.
        kenlo: u8,
        /// Tariff index of the new key (8 bits).
        tariff_index: u8,
        /// The low-order 32 bits of the new key (NKLO).
        nklo: u32,
    },
    /// Class 2, subclass 5: clear tamper condition.
    ClearTamperCondition {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// 16-bit pad (0).
        pad: u16,
    },
    /// Class 2, subclass 6: set maximum phase power unbalance limit.
    SetMaximumPhasePowerUnbalanceLimit {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// The limit in W.
        limit: TransferAmount,
    },
    /// Class 2, subclass 7: set water meter factor.
    SetWaterMeterFactor {
        /// Random number, 4 bits.
        rnd: u8,
        /// Token identifier.
        tid: Tid,
        /// The 16-bit factor field.
        factor: u16,
    },
    /// Class 2, subclass 8: 3rd section of a 128-bit decoder key change (edition 3).
    Set3rdSectionDecoderKey {
        /// The low-order 12 bits of the new supply group code.
        sgc_low: u16,
        /// New key bits 95..64 (bytes 4..8).
        key_part: u32,
    },
    /// Class 2, subclass 9: 4th section of a 128-bit decoder key change (edition 3).
    Set4thSectionDecoderKey {
        /// The high-order 12 bits of the new supply group code (as a 24-bit number).
        sgc_high: u16,
        /// New key bits 63..32 (bytes 8..12).
        key_part: u32,
    },
}

/// A token field holds a value wider than its bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("token field {field} = {value} exceeds its maximum {max}")]
pub struct FieldRangeError {
    /// Field name as in the standard (RND, Control, KRN, ...).
    pub field: &'static str,
    /// The value given.
    pub value: u64,
    /// Largest value the field holds.
    pub max: u64,
}

/// Why a 64-bit data block (or a class/subclass pair) is not a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// The CRC of the block does not match its content: wrong key, wrong algorithm or tables,
    /// or a corrupted/mistyped token.
    #[error("CRC error: block carries {found:04X}, content gives {computed:04X}")]
    Crc {
        /// CRC field found in the block.
        found: u16,
        /// CRC computed from the block's content.
        computed: u16,
    },
    /// Class 3 is reserved.
    #[error("token class 3 is reserved")]
    ReservedClass,
    /// A subclass not assigned in the class.
    #[error("token class {class} subclass {subclass} is reserved")]
    ReservedSubclass {
        /// Class 0..=2.
        class: u8,
        /// Subclass 0..=15.
        subclass: u8,
    },
}

fn check(field: &'static str, value: u64, bits: u32) -> Result<u64, FieldRangeError> {
    let max = (1u64 << bits) - 1;
    if value > max { Err(FieldRangeError { field, value, max }) } else { Ok(value) }
}

/// The 44 data bits `RND (4) | TID (24) | value (16)`.
fn tid_layout(rnd: u8, tid: Tid, value: u16) -> Result<u64, FieldRangeError> {
    let rnd = check("RND", rnd.into(), 4)?;
    Ok((rnd << 40) | (u64::from(tid.minutes()) << 16) | u64::from(value))
}

/// Fields of the `RND | TID | value` layout.
fn split_tid_layout(data44: u64) -> (u8, Tid, u16) {
    let rnd = ((data44 >> 40) & 0xF) as u8;
    // 24 bits after masking: always a valid TID.
    let tid = Tid::from_minutes(((data44 >> 16) & 0xFF_FFFF) as u32).unwrap_or(Tid::ZERO);
    (rnd, tid, (data44 & 0xFFFF) as u16)
}

impl Token {
    /// The token class.
    pub fn class(&self) -> TokenClass {
        match self {
            Token::TransferCredit { .. } => TokenClass::TransferCredit,
            Token::InitiateMeterTestOrDisplay1 { .. } | Token::InitiateMeterTestOrDisplay2 { .. } => {
                TokenClass::NonMeterSpecificManagement
            }
            _ => TokenClass::MeterSpecificManagement,
        }
    }

    /// The subclass (0..=15) within the class.
    pub fn subclass(&self) -> u8 {
        match self {
            Token::TransferCredit { kind, .. } => kind.subclass(),
            Token::InitiateMeterTestOrDisplay1 { .. } => 0,
            Token::InitiateMeterTestOrDisplay2 { .. } => 1,
            Token::SetMaximumPowerLimit { .. } => 0,
            Token::ClearCredit { .. } => 1,
            Token::SetTariffRate { .. } => 2,
            Token::Set1stSectionDecoderKey { .. } => 3,
            Token::Set2ndSectionDecoderKey { .. } => 4,
            Token::ClearTamperCondition { .. } => 5,
            Token::SetMaximumPhasePowerUnbalanceLimit { .. } => 6,
            Token::SetWaterMeterFactor { .. } => 7,
            Token::Set3rdSectionDecoderKey { .. } => 8,
            Token::Set4thSectionDecoderKey { .. } => 9,
        }
    }

    /// The TID, for the tokens that carry one (class 0 and class 2 subclasses 0, 1, 2, 5, 6, 7).
    pub fn tid(&self) -> Option<Tid> {
        match *self {
            Token::TransferCredit { tid, .. }
            | Token::SetMaximumPowerLimit { tid, .. }
            | Token::ClearCredit { tid, .. }
            | Token::SetTariffRate { tid, .. }
            | Token::ClearTamperCondition { tid, .. }
            | Token::SetMaximumPhasePowerUnbalanceLimit { tid, .. }
            | Token::SetWaterMeterFactor { tid, .. } => Some(tid),
            _ => None,
        }
    }

    /// The 44 data bits between the subclass and the CRC.
    pub fn data44(&self) -> Result<u64, FieldRangeError> {
        match *self {
            Token::TransferCredit { rnd, tid, amount, .. } => tid_layout(rnd, tid, amount.field()),
            Token::InitiateMeterTestOrDisplay1 { control, manufacturer_code } => {
                Ok((check("Control", control, 36)? << 8) | u64::from(manufacturer_code))
            }
            Token::InitiateMeterTestOrDisplay2 { control, manufacturer_code } => {
                Ok((check("Control", control.into(), 28)? << 16) | u64::from(manufacturer_code))
            }
            Token::SetMaximumPowerLimit { rnd, tid, limit } => tid_layout(rnd, tid, limit.field()),
            Token::ClearCredit { rnd, tid, register } => tid_layout(rnd, tid, register),
            Token::SetTariffRate { rnd, tid, rate } => tid_layout(rnd, tid, rate),
            Token::Set1stSectionDecoderKey { kenho, krn, rollover, reserved, key_type, nkho } => {
                Ok((check("KENHO", kenho.into(), 4)? << 40)
                    | (check("KRN", krn.into(), 4)? << 36)
                    | (u64::from(rollover) << 35)
                    | (u64::from(reserved) << 34)
                    | (u64::from(key_type.bits()) << 32)
                    | u64::from(nkho))
            }
            Token::Set2ndSectionDecoderKey { kenlo, tariff_index, nklo } => {
                Ok((check("KENLO", kenlo.into(), 4)? << 40) | (u64::from(tariff_index) << 32) | u64::from(nklo))
            }
            Token::ClearTamperCondition { rnd, tid, pad } => tid_layout(rnd, tid, pad),
            Token::SetMaximumPhasePowerUnbalanceLimit { rnd, tid, limit } => tid_layout(rnd, tid, limit.field()),
            Token::SetWaterMeterFactor { rnd, tid, factor } => tid_layout(rnd, tid, factor),
            Token::Set3rdSectionDecoderKey { sgc_low, key_part } => {
                Ok((check("SGC low-order", sgc_low.into(), 12)? << 32) | u64::from(key_part))
            }
            Token::Set4thSectionDecoderKey { sgc_high, key_part } => {
                Ok((check("SGC high-order", sgc_high.into(), 12)? << 32) | u64::from(key_part))
            }
        }
    }

    /// The token of a class, subclass and 44 data bits (only the low 44 bits of `data44` are
    /// used). Every 44-bit pattern of an assigned subclass is a token; reserved classes and
    /// subclasses are refused.
    pub fn from_fields(class: TokenClass, subclass: u8, data44: u64) -> Result<Token, LayoutError> {
        let d = data44 & DATA44_MASK;
        let reserved = LayoutError::ReservedSubclass { class: class.bits(), subclass };
        match class {
            TokenClass::TransferCredit => {
                let kind = CreditKind::from_subclass(subclass).ok_or(reserved)?;
                let (rnd, tid, value) = split_tid_layout(d);
                Ok(Token::TransferCredit { kind, rnd, tid, amount: TransferAmount::from_field(value) })
            }
            TokenClass::NonMeterSpecificManagement => match subclass {
                0 => Ok(Token::InitiateMeterTestOrDisplay1 { control: d >> 8, manufacturer_code: (d & 0xFF) as u8 }),
                1 => Ok(Token::InitiateMeterTestOrDisplay2 {
                    control: (d >> 16) as u32,
                    manufacturer_code: (d & 0xFFFF) as u16,
                }),
                _ => Err(reserved),
            },
            TokenClass::MeterSpecificManagement => {
                let (rnd, tid, value) = split_tid_layout(d);
                let high32 = ((d >> 32) & 0xFFF) as u16;
                let low32 = (d & 0xFFFF_FFFF) as u32;
                match subclass {
                    0 => Ok(Token::SetMaximumPowerLimit { rnd, tid, limit: TransferAmount::from_field(value) }),
                    1 => Ok(Token::ClearCredit { rnd, tid, register: value }),
                    2 => Ok(Token::SetTariffRate { rnd, tid, rate: value }),
                    3 => Ok(Token::Set1stSectionDecoderKey {
                        kenho: ((d >> 40) & 0xF) as u8,
                        krn: ((d >> 36) & 0xF) as u8,
                        rollover: (d >> 35) & 1 == 1,
                        reserved: (d >> 34) & 1 == 1,
                        key_type: KeyType::from_bits(((d >> 32) & 0b11) as u8),
                        nkho: low32,
                    }),
                    4 => Ok(Token::Set2ndSectionDecoderKey {
                        kenlo: ((d >> 40) & 0xF) as u8,
                        tariff_index: ((d >> 32) & 0xFF) as u8,
                        nklo: low32,
                    }),
                    5 => Ok(Token::ClearTamperCondition { rnd, tid, pad: value }),
                    6 => Ok(Token::SetMaximumPhasePowerUnbalanceLimit {
                        rnd,
                        tid,
                        limit: TransferAmount::from_field(value),
                    }),
                    7 => Ok(Token::SetWaterMeterFactor { rnd, tid, factor: value }),
                    8 => Ok(Token::Set3rdSectionDecoderKey { sgc_low: high32, key_part: low32 }),
                    9 => Ok(Token::Set4thSectionDecoderKey { sgc_high: high32, key_part: low32 }),
                    _ => Err(reserved),
                }
            }
            TokenClass::Reserved => Err(LayoutError::ReservedClass),
        }
    }

    /// The plain 64-bit data block: subclass, 44 data bits and the CRC.
    pub fn to_data_block(&self) -> Result<u64, FieldRangeError> {
        let data44 = self.data44()?;
        let subclass = self.subclass();
        let crc = token_crc(self.class().bits(), subclass, data44);
        Ok((u64::from(subclass) << 60) | (data44 << 16) | u64::from(crc))
    }

    /// The token in a plain 64-bit data block of `class`, after checking its CRC.
    pub fn from_data_block(class: TokenClass, block: u64) -> Result<Token, LayoutError> {
        let subclass = ((block >> 60) & 0xF) as u8;
        let data44 = (block >> 16) & DATA44_MASK;
        let found = (block & 0xFFFF) as u16;
        let computed = token_crc(class.bits(), subclass, data44);
        if found != computed {
            return Err(LayoutError::Crc { found, computed });
        }
        Token::from_fields(class, subclass, data44)
    }
}
