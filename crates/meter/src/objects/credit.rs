//! Credit objects (interface class 112 version 0, IEC 62056-6-2 §4.6, payment metering; DLMS
//! UA 1000-1 Blue Book "Credit") of a prepaid meter: the token credit 0.0.19.10.0.255 and the
//! emergency credit 0.0.19.10.1.255 (see [`crate::prepayment::credit`] for the arithmetic).
//!
//! Amounts are in **Wh**: the credit of an STS electricity meter is energy (tokens carry
//! 0.1 kWh), so the currency of the (not implemented) Account object would be the
//! consumption unit with scale 0. Attributes, all read-only:
//!
//! | attribute | type | token credit | emergency credit |
//! |---|---|---|---|
//! | 2 current_credit_amount | double-long | token credit (negative = friendly-credit debt) | emergency credit left |
//! | 3 type | enum | (0) token credit | (2) emergency credit |
//! | 4 priority | unsigned | 1 | 2 |
//! | 5 warning_threshold | double-long | the low-credit threshold | 0 |
//! | 6 limit | double-long | 0 | 0 |
//! | 7 credit_configuration | bit-string(5) | bit 4 (receives token amounts) | bits 0 (visual indication), 1 (needs confirmation: invoke), 2 (repaid) |
//! | 8 status | enum | (3) in use while positive, else (4) exhausted | (0) enabled, (1) selectable, (2) selected, (3) in use, (4) exhausted |
//! | 9 preset_credit_amount | double-long | 0 | the full emergency credit |
//! | 10 credit_available_threshold | double-long | 0 | token credit at or below which it becomes selectable |
//! | 11 period | octet-string (date-time) | not specified | not specified |
//!
//! Methods: 1 `update_amount` and 2 `set_amount_to_value` are not offered (credit changes only
//! by tokens and consumption); 3 `invoke_credit` is offered on the emergency credit only (the
//! customer's "emergency credit" request; data: enum, only (2) selected/invoked is accepted).
//!
//! A low-credit warning is `current_credit_amount` ≤ `warning_threshold` on the token credit;
//! the meter's own record of it is the prepayment event log ([`crate::prepayment`]).

use dlms::data::BitString;
use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED};
use dlms::{Data, Obis};

use crate::prepayment::credit::CreditBalances;

/// Logical name of the token credit, 0.0.19.10.0.255.
pub const TOKEN_CREDIT: Obis = Obis::new(0, 0, 19, 10, 0, 255);
/// Logical name of the emergency credit, 0.0.19.10.1.255.
pub const EMERGENCY_CREDIT: Obis = Obis::new(0, 0, 19, 10, 1, 255);

/// Which of the two Credit objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditObject {
    /// 0.0.19.10.0.255, credit bought with tokens.
    Token,
    /// 0.0.19.10.1.255, credit the customer may borrow.
    Emergency,
}

/// The thresholds the Credit attributes show, Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditThresholds {
    /// Low-credit warning threshold (token credit attribute 5).
    pub low_credit_wh: u64,
    /// Token credit at or below which the emergency credit may be invoked (emergency
    /// attribute 10).
    pub emergency_wh: u64,
}

/// A Wh amount as double-long, saturating.
fn amount(v: i64) -> Data {
    Data::DoubleLong(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

fn unsigned_amount(v: u64) -> Data {
    amount(i64::try_from(v).unwrap_or(i64::MAX))
}

impl CreditObject {
    /// Attribute 2..=11 as Data (`None` for other indices).
    pub fn attribute(self, id: i8, c: &CreditBalances, t: &CreditThresholds) -> Option<Data> {
        let emergency = self == CreditObject::Emergency;
        Some(match id {
            2 if emergency => unsigned_amount(c.emergency_wh),
            2 => amount(c.token_wh),
            3 => Data::Enum(if emergency { 2 } else { 0 }),
            4 => Data::Unsigned(if emergency { 2 } else { 1 }),
            5 => unsigned_amount(if emergency { 0 } else { t.low_credit_wh }),
            6 => amount(0),
            7 => Data::BitString(BitString::from_bools(&if emergency {
                [true, true, true, false, false]
            } else {
                [false, false, false, false, true]
            })),
            8 => Data::Enum(if emergency { c.emergency_status(t.emergency_wh) } else { c.token_status() } as u8),
            9 => unsigned_amount(if emergency { c.emergency_limit_wh } else { 0 }),
            10 => unsigned_amount(if emergency { t.emergency_wh } else { 0 }),
            11 => Data::OctetString(
                CosemDateTime {
                    date: CosemDate::NOT_SPECIFIED,
                    time: CosemTime {
                        hour: NOT_SPECIFIED,
                        minute: NOT_SPECIFIED,
                        second: NOT_SPECIFIED,
                        hundredths: NOT_SPECIFIED,
                    },
                    deviation: DEVIATION_NOT_SPECIFIED,
                    clock_status: NOT_SPECIFIED,
                }
                .to_octets(),
            ),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes() {
        let mut c = CreditBalances::new(2_500, 10_000);
        let t = CreditThresholds { low_credit_wh: 5_000, emergency_wh: 3_000 };
        assert_eq!(CreditObject::Token.attribute(2, &c, &t), Some(Data::DoubleLong(2_500)));
        assert_eq!(CreditObject::Token.attribute(5, &c, &t), Some(Data::DoubleLong(5_000)));
        assert_eq!(CreditObject::Token.attribute(8, &c, &t), Some(Data::Enum(3)));
        assert_eq!(CreditObject::Emergency.attribute(2, &c, &t), Some(Data::DoubleLong(10_000)));
        assert_eq!(CreditObject::Emergency.attribute(3, &c, &t), Some(Data::Enum(2)));
        assert_eq!(CreditObject::Emergency.attribute(8, &c, &t), Some(Data::Enum(1)), "selectable");
        assert_eq!(CreditObject::Emergency.attribute(10, &c, &t), Some(Data::DoubleLong(3_000)));
        let Some(Data::BitString(b)) = CreditObject::Emergency.attribute(7, &c, &t) else { panic!("bit-string") };
        assert_eq!((b.bits, b.bytes.as_slice()), (5, &[0b1110_0000u8][..]));
        c.consume(4_000);
        assert_eq!(CreditObject::Token.attribute(2, &c, &t), Some(Data::DoubleLong(-1_500)));
        assert_eq!(CreditObject::Token.attribute(8, &c, &t), Some(Data::Enum(4)));
        c.token_wh = i64::MIN;
        assert_eq!(CreditObject::Token.attribute(2, &c, &t), Some(Data::DoubleLong(i32::MIN)));
        assert_eq!(CreditObject::Token.attribute(12, &c, &t), None);
    }
}
