//! The 16-bit TransferAmount field (IEC 62055-41:2018 §6.3, Amount data element).
//!
//! A 2-bit exponent `e` (bits 15..14) and a 14-bit mantissa `m` (bits 13..0) encode
//!
//! ```text
//! value = m                          for e = 0   (0 ..= 16 383)
//! value = m * 10^e + sum(n = 1..=e) 2^14 * 10^(n-1)   for e > 0
//!       = 16 384 + 10 m                for e = 1   (16 384 ..= 180 214)
//!       = 180 224 + 100 m              for e = 2   (180 224 ..= 1 818 524)
//!       = 1 818 624 + 1 000 m          for e = 3   (1 818 624 ..= 18 201 624)
//! ```
//!
//! The value counts units of the token's resolution: 0.1 kWh for electricity credit (class 0
//! subclass 0), 0.1 of the water, gas, time or currency unit for the other credit subclasses,
//! and 1 W for the power limits of class 2 (maximum power limit, maximum phase power unbalance
//! limit). A value that has no exact code is rounded **up** to the next representable value, so a
//! customer never receives less than was paid for (2000.0 kWh = 20 000 tenths is sent as
//! 20 004 tenths = 2000.4 kWh).

use thiserror::Error;

/// Largest value a TransferAmount can carry: e = 3, m = 16 383.
pub const MAX_TRANSFER_AMOUNT: u64 = 1_818_624 + 1_000 * 16_383;

/// Offsets and steps of the four exponent ranges.
const RANGES: [(u64, u64); 4] = [(0, 1), (16_384, 10), (180_224, 100), (1_818_624, 1_000)];
/// Largest mantissa (14 bits).
const MANTISSA_MAX: u64 = 0x3FFF;

/// Why an amount cannot be carried by a TransferAmount field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AmountError {
    /// The value exceeds [`MAX_TRANSFER_AMOUNT`] (18 201 624 resolution units).
    #[error("amount {value} exceeds the largest TransferAmount ({MAX_TRANSFER_AMOUNT} resolution units)")]
    TooLarge {
        /// The requested value in resolution units.
        value: u64,
    },
}

/// A 16-bit TransferAmount code: exponent (2 bits) and mantissa (14 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransferAmount(u16);

impl TransferAmount {
    /// Wraps a raw 16-bit field as read from a data block; every 16-bit pattern is valid.
    pub fn from_field(field: u16) -> TransferAmount {
        TransferAmount(field)
    }

    /// Encodes `value` (in resolution units, e.g. tenths of a kWh) as the smallest representable
    /// amount that is not less than `value` (the standard's round-up rule).
    ///
    /// Errors with [`AmountError::TooLarge`] above [`MAX_TRANSFER_AMOUNT`].
    pub fn from_value_rounded_up(value: u64) -> Result<TransferAmount, AmountError> {
        if value > MAX_TRANSFER_AMOUNT {
            return Err(AmountError::TooLarge { value });
        }
        for (exponent, &(offset, step)) in RANGES.iter().enumerate() {
            // A value in the gap below a range's offset rounds up to the offset (mantissa 0).
            let mantissa = value.saturating_sub(offset).div_ceil(step);
            if mantissa <= MANTISSA_MAX {
                // exponent <= 3 and mantissa <= 0x3FFF: fits in 16 bits.
                return Ok(TransferAmount(((exponent as u16) << 14) | mantissa as u16));
            }
        }
        // Unreachable for value <= MAX_TRANSFER_AMOUNT (the e = 3 range ends there); reported as
        // too large rather than panicking.
        Err(AmountError::TooLarge { value })
    }

    /// Encodes `value` only if it is exactly representable; `None` otherwise.
    pub fn from_value_exact(value: u64) -> Option<TransferAmount> {
        let amount = TransferAmount::from_value_rounded_up(value).ok()?;
        (amount.value() == value).then_some(amount)
    }

    /// The raw 16-bit field.
    pub fn field(self) -> u16 {
        self.0
    }

    /// The 2-bit exponent (0..=3).
    pub fn exponent(self) -> u8 {
        // Two bits after the shift.
        (self.0 >> 14) as u8
    }

    /// The 14-bit mantissa (0..=16 383).
    pub fn mantissa(self) -> u16 {
        self.0 & 0x3FFF
    }

    /// The value in resolution units (e.g. tenths of a kWh, or W for power limits).
    pub fn value(self) -> u64 {
        let (offset, step) = RANGES[usize::from(self.exponent()) & 3];
        offset + step * u64::from(self.mantissa())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_boundaries() {
        assert_eq!(TransferAmount::from_value_rounded_up(16_383).unwrap().field(), 0x3FFF);
        assert_eq!(TransferAmount::from_value_rounded_up(16_384).unwrap().field(), 0x4000);
        assert_eq!(TransferAmount::from_value_rounded_up(16_385).unwrap().value(), 16_394);
        assert_eq!(TransferAmount::from_value_rounded_up(180_214).unwrap().field(), 0x7FFF);
        assert_eq!(TransferAmount::from_value_rounded_up(180_215).unwrap().value(), 180_224);
        assert_eq!(TransferAmount::from_value_rounded_up(MAX_TRANSFER_AMOUNT).unwrap().field(), 0xFFFF);
        assert_eq!(
            TransferAmount::from_value_rounded_up(MAX_TRANSFER_AMOUNT + 1),
            Err(AmountError::TooLarge { value: MAX_TRANSFER_AMOUNT + 1 })
        );
    }

    #[test]
    fn two_thousand_kwh_rounds_up_to_2000_4() {
        let a = TransferAmount::from_value_rounded_up(20_000).unwrap();
        assert_eq!(a.value(), 20_004);
        assert_eq!((a.exponent(), a.mantissa()), (1, 362));
        assert_eq!(TransferAmount::from_value_exact(20_000), None);
        assert_eq!(TransferAmount::from_value_exact(20_004), Some(a));
    }
}
