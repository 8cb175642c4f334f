//! Token gateway (interface class 115 version 0, IEC 62056-6-2 §4.6, payment metering; DLMS
//! UA 1000-1 Blue Book "Token gateway"): the entry point of prepayment tokens, whether they
//! arrive remotely (from the HES), locally or on the keypad. Logical name 0.0.19.40.0.255.
//!
//! | attribute | type | here |
//! |---|---|---|
//! | 1 logical_name | octet-string | 0.0.19.40.0.255 |
//! | 2 token | octet-string | the last token entered, as received (STS: the 20 ASCII digits) |
//! | 3 token_time | octet-string (date-time) | meter time of its entry; all fields not specified before the first token |
//! | 4 token_description | array of octet-string | `[display indication, TokenResult name, detail]`, e.g. `["ACCEPT", "Accepted", "credit 20.0 kWh"]` |
//! | 5 token_delivery_method | enum | (0) remote communications, (1) local communications, (2) manual entry |
//! | 6 token_status | structure { status_code enum, data_value bit-string } | see [`TokenStatusCode`]; data_value is empty (gridedge puts the details in attribute 4) |
//!
//! Method 1 `enter (data)`, data ::= octet-string: the token. The meter processes it at once,
//! so after the ACTION the status is final (never (8) "received, not yet processed").
//!
//! Mapping of the STS TokenResult (IEC 62055-41:2018 §8) onto `status_code`: FormatError →
//! (4) token format failure; CRCError (wrong key, other meter, mistyped digit) → (5)
//! authentication failure; every other refusal (UsedError, OldError, KeyExpiredError,
//! DDTKError, FunctionError, KeyTypeError, RangeError) → (6) validation result failure; an
//! accepted token the meter cannot apply (a class 2 management function it does not model) →
//! (7) token execution result failure; an applied token → (3) token execution result OK.
//! Before the first token the status is (0) with an empty token.

use dlms::data::BitString;
use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED};
use dlms::{Data, Obis};
use sts::TokenRejection;

use crate::time_zone::MeterTimeZone;

/// Logical name of the Token gateway, 0.0.19.40.0.255.
pub const TOKEN_GATEWAY: Obis = Obis::new(0, 0, 19, 40, 0, 255);

/// `token_status.status_code` (class 115 attribute 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TokenStatusCode {
    /// (0) token format result OK.
    FormatOk = 0,
    /// (1) authentication result OK.
    AuthenticationOk = 1,
    /// (2) validation result OK.
    ValidationOk = 2,
    /// (3) token execution result OK.
    ExecutionOk = 3,
    /// (4) token format failure.
    FormatFailure = 4,
    /// (5) authentication failure.
    AuthenticationFailure = 5,
    /// (6) validation result failure.
    ValidationFailure = 6,
    /// (7) token execution result failure.
    ExecutionFailure = 7,
    /// (8) token received and not yet processed.
    Received = 8,
}

impl TokenStatusCode {
    /// The status of an STS refusal (see the module documentation).
    pub fn for_rejection(r: &TokenRejection) -> TokenStatusCode {
        match r {
            TokenRejection::Format(_) => TokenStatusCode::FormatFailure,
            TokenRejection::Crc => TokenStatusCode::AuthenticationFailure,
            _ => TokenStatusCode::ValidationFailure,
        }
    }
}

/// `token_delivery_method` (class 115 attribute 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TokenDeliveryMethod {
    /// (0) via remote communications.
    Remote = 0,
    /// (1) via local communications.
    Local = 1,
    /// (2) via manual entry (keypad).
    Manual = 2,
}

/// The gateway's attributes 2..=6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGateway {
    /// Attribute 2: the last token, as received.
    pub token: Vec<u8>,
    /// Attribute 3: meter time of the last entry (UTC ms), `None` before the first token.
    pub token_time_ms: Option<i64>,
    /// Attribute 4: description lines of the last result.
    pub description: Vec<String>,
    /// Attribute 5: how the last token arrived.
    pub delivery_method: TokenDeliveryMethod,
    /// Attribute 6: status of the last token.
    pub status: TokenStatusCode,
}

impl Default for TokenGateway {
    fn default() -> Self {
        TokenGateway {
            token: Vec::new(),
            token_time_ms: None,
            description: Vec::new(),
            delivery_method: TokenDeliveryMethod::Remote,
            status: TokenStatusCode::FormatOk,
        }
    }
}

/// A date-time with every field not specified (the token_time before the first token).
fn unspecified_date_time() -> CosemDateTime {
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
}

impl TokenGateway {
    /// Attribute 2..=6 as Data, date-times in `zone` (`None` for other indices).
    pub fn attribute(&self, id: i8, zone: MeterTimeZone) -> Option<Data> {
        Some(match id {
            2 => Data::OctetString(self.token.clone()),
            3 => Data::OctetString(
                self.token_time_ms.map_or_else(unspecified_date_time, |t| zone.cosem_from_ms(t)).to_octets(),
            ),
            4 => Data::Array(self.description.iter().map(|l| Data::OctetString(l.as_bytes().to_vec())).collect()),
            5 => Data::Enum(self.delivery_method as u8),
            6 => Data::Structure(vec![
                Data::Enum(self.status as u8),
                Data::BitString(BitString { bits: 0, bytes: Vec::new() }),
            ]),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_before_and_after_a_token() {
        let mut g = TokenGateway::default();
        let Some(Data::OctetString(t)) = g.attribute(3, MeterTimeZone::UK) else { panic!("octet-string") };
        assert_eq!(t, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF]);
        g.token = b"12345678901234567890".to_vec();
        g.token_time_ms = Some(1_720_000_000_000); // 2024-07-03T09:46:40Z, BST
        g.description = vec!["USED".into(), "UsedError".into()];
        g.delivery_method = TokenDeliveryMethod::Manual;
        g.status = TokenStatusCode::ValidationFailure;
        assert_eq!(g.attribute(2, MeterTimeZone::UK), Some(Data::OctetString(b"12345678901234567890".to_vec())));
        let Some(Data::OctetString(t)) = g.attribute(3, MeterTimeZone::UK) else { panic!("octet-string") };
        let dt = CosemDateTime::from_octets(&t).unwrap();
        assert_eq!((dt.time.hour, dt.time.minute, dt.deviation), (10, 46, -60));
        assert_eq!(
            g.attribute(4, MeterTimeZone::UK),
            Some(Data::Array(vec![Data::OctetString(b"USED".to_vec()), Data::OctetString(b"UsedError".to_vec())]))
        );
        assert_eq!(g.attribute(5, MeterTimeZone::UK), Some(Data::Enum(2)));
        assert_eq!(
            g.attribute(6, MeterTimeZone::UK),
            Some(Data::Structure(vec![Data::Enum(6), Data::BitString(BitString { bits: 0, bytes: vec![] })]))
        );
        assert_eq!(g.attribute(7, MeterTimeZone::UK), None);
        assert_eq!(TokenStatusCode::for_rejection(&TokenRejection::Crc), TokenStatusCode::AuthenticationFailure);
    }
}
