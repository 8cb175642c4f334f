//! Remote token delivery: the HES enters a prepayment token into a meter through its Token
//! gateway (interface class 115, IEC 62056-6-2 §4.6, logical name 0.0.19.40.0.255) and reads
//! back what the meter made of it.
//!
//! 1. open an association as the **management client** (the public client may not invoke
//!    methods; the endpoint carries its authentication, e.g. LLS);
//! 2. ACTION method 1 `enter` with the token as octet-string (STS: the 20 ASCII digits);
//! 3. GET attribute 6 `token_status` (structure { status_code enum, data_value bit-string }),
//!    re-reading while it is (8) "received, not yet processed" (up to
//!    [`STATUS_POLLS`] times, [`STATUS_POLL_INTERVAL`] apart);
//! 4. GET attribute 4 `token_description` (array of octet-string; a gridedge meter puts the
//!    display indication first, then the STS TokenResult name and a detail);
//! 5. release.
//!
//! The result maps `status_code` to [`TokenOutcome`]: (3) executed → accepted; (4) format,
//! (5) authentication, (6) validation, (7) execution failure → rejected with the meter's display
//! indication; (0)–(2) are intermediate results reported as [`TokenOutcome::Incomplete`].

use std::time::Duration;

use dlms::Obis;
use dlms::data::{BitString, Data};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor};
use thiserror::Error;

use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionError, SessionTimeouts};

/// Interface class Token gateway.
pub const CLASS_TOKEN_GATEWAY: u16 = 115;
/// Logical name of the Token gateway, 0.0.19.40.0.255.
pub const TOKEN_GATEWAY: Obis = Obis::new(0, 0, 19, 40, 0, 255);
/// Re-reads of `token_status` while the meter reports (8) "not yet processed".
pub const STATUS_POLLS: u32 = 10;
/// Interval between those re-reads.
pub const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(300);

/// `token_status.status_code` (class 115 attribute 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenStatusCode {
    /// (0) token format result OK.
    FormatOk,
    /// (1) authentication result OK.
    AuthenticationOk,
    /// (2) validation result OK.
    ValidationOk,
    /// (3) token execution result OK.
    ExecutionOk,
    /// (4) token format failure.
    FormatFailure,
    /// (5) authentication failure.
    AuthenticationFailure,
    /// (6) validation result failure.
    ValidationFailure,
    /// (7) token execution result failure.
    ExecutionFailure,
    /// (8) token received and not yet processed.
    Received,
}

impl TokenStatusCode {
    /// The code for an enumeration value 0..=8.
    pub fn from_u8(v: u8) -> Option<TokenStatusCode> {
        use TokenStatusCode::*;
        Some(match v {
            0 => FormatOk,
            1 => AuthenticationOk,
            2 => ValidationOk,
            3 => ExecutionOk,
            4 => FormatFailure,
            5 => AuthenticationFailure,
            6 => ValidationFailure,
            7 => ExecutionFailure,
            8 => Received,
            _ => return None,
        })
    }

    /// The enumeration value.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What the meter made of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// (3): the token was accepted and applied.
    Accepted,
    /// (4)–(7): refused; `display` is the meter's display indication (first description line)
    /// when it gave one.
    Rejected {
        /// The failure class.
        status: TokenStatusCode,
        /// The meter's display indication, e.g. `USED`, `REJECT`.
        display: Option<String>,
    },
    /// (0)–(2), or still (8) after the polls: the meter has not finished with the token.
    Incomplete(TokenStatusCode),
}

/// The meter's report on a delivered token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDeliveryReport {
    /// `token_status.status_code`.
    pub status: TokenStatusCode,
    /// `token_status.data_value`.
    pub data_value: BitString,
    /// `token_description`, each octet-string as text (invalid UTF-8 replaced).
    pub description: Vec<String>,
}

impl TokenDeliveryReport {
    /// The outcome (see the module documentation).
    pub fn outcome(&self) -> TokenOutcome {
        use TokenStatusCode::*;
        match self.status {
            ExecutionOk => TokenOutcome::Accepted,
            FormatFailure | AuthenticationFailure | ValidationFailure | ExecutionFailure => {
                TokenOutcome::Rejected { status: self.status, display: self.description.first().cloned() }
            }
            other => TokenOutcome::Incomplete(other),
        }
    }

    /// The meter's display indication (first description line), if any.
    pub fn display(&self) -> Option<&str> {
        self.description.first().map(String::as_str)
    }
}

/// Why a token could not be delivered or its result not read.
#[derive(Debug, Error)]
pub enum TokenDeliveryError {
    /// Connecting, associating, a timeout or a refused GET.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The meter refused the ACTION (e.g. `read-write-denied` for the public client,
    /// `object-undefined` on a meter without a Token gateway).
    #[error("meter refused the token gateway enter method: {0:?}")]
    ActionRefused(ActionResult),
    /// An attribute had an unexpected shape.
    #[error("unexpected token gateway {what}: {detail}")]
    Value {
        /// Which attribute.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Parses attribute 6 `token_status`.
///
/// # Errors
/// [`TokenDeliveryError::Value`] when it is not structure { enum 0..=8, bit-string }.
pub fn parse_token_status(d: &Data) -> Result<(TokenStatusCode, BitString), TokenDeliveryError> {
    let bad = |detail: String| TokenDeliveryError::Value { what: "token_status", detail };
    match d {
        Data::Structure(fields) => match fields.as_slice() {
            [Data::Enum(code), Data::BitString(bits)] => {
                let status = TokenStatusCode::from_u8(*code).ok_or_else(|| bad(format!("status_code {code}")))?;
                Ok((status, bits.clone()))
            }
            other => Err(bad(format!("{other:?}"))),
        },
        other => Err(bad(format!("{other:?}"))),
    }
}

/// Parses attribute 4 `token_description`.
///
/// # Errors
/// [`TokenDeliveryError::Value`] when it is not an array of octet-strings.
pub fn parse_token_description(d: &Data) -> Result<Vec<String>, TokenDeliveryError> {
    let bad = |detail: String| TokenDeliveryError::Value { what: "token_description", detail };
    match d {
        Data::Array(items) => items
            .iter()
            .map(|i| match i {
                Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => {
                    Ok(String::from_utf8_lossy(b).into_owned())
                }
                other => Err(bad(format!("element {other:?}"))),
            })
            .collect(),
        other => Err(bad(format!("{other:?}"))),
    }
}

/// Delivers `token` (spaces and '-' removed, then sent as ASCII octets) to the meter at
/// `endpoint` and returns its report (see the module documentation). The association is
/// released on success; on an error the connection is dropped.
///
/// # Errors
/// [`TokenDeliveryError`].
pub async fn deliver_token(
    endpoint: &MeterEndpoint,
    token: &str,
    timeouts: SessionTimeouts,
) -> Result<TokenDeliveryReport, TokenDeliveryError> {
    let octets: Vec<u8> = token.bytes().filter(|b| !matches!(b, b' ' | b'-')).collect();
    let mut session = DlmsSession::open(endpoint, timeouts).await?;
    let enter = CosemMethodDescriptor::new(CLASS_TOKEN_GATEWAY, TOKEN_GATEWAY, 1);
    session.action(enter, Some(Data::OctetString(octets))).await?.map_err(TokenDeliveryError::ActionRefused)?;
    let status_attr = CosemAttributeDescriptor::new(CLASS_TOKEN_GATEWAY, TOKEN_GATEWAY, 6);
    let mut polls = 0;
    let (status, data_value) = loop {
        let (status, bits) = parse_token_status(&session.get(status_attr, None).await?)?;
        if status != TokenStatusCode::Received || polls >= STATUS_POLLS {
            break (status, bits);
        }
        polls += 1;
        tokio::time::sleep(STATUS_POLL_INTERVAL).await;
    };
    let description_attr = CosemAttributeDescriptor::new(CLASS_TOKEN_GATEWAY, TOKEN_GATEWAY, 4);
    let description = parse_token_description(&session.get(description_attr, None).await?)?;
    session.release().await?;
    Ok(TokenDeliveryReport { status, data_value, description })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_description_parsing() {
        let empty = BitString { bits: 0, bytes: vec![] };
        let d = Data::Structure(vec![Data::Enum(6), Data::BitString(empty.clone())]);
        assert_eq!(parse_token_status(&d).unwrap(), (TokenStatusCode::ValidationFailure, empty.clone()));
        assert!(parse_token_status(&Data::Structure(vec![Data::Enum(9), Data::BitString(empty.clone())])).is_err());
        assert!(parse_token_status(&Data::Structure(vec![Data::Enum(3)])).is_err());
        assert!(parse_token_status(&Data::Enum(3)).is_err());
        let lines = Data::Array(vec![Data::OctetString(b"USED".to_vec()), Data::OctetString(b"UsedError".to_vec())]);
        assert_eq!(parse_token_description(&lines).unwrap(), ["USED", "UsedError"]);
        assert!(parse_token_description(&Data::Array(vec![Data::Unsigned(1)])).is_err());
        assert!(parse_token_description(&Data::OctetString(vec![])).is_err());
        let report = TokenDeliveryReport {
            status: TokenStatusCode::ValidationFailure,
            data_value: empty.clone(),
            description: vec!["USED".into()],
        };
        assert_eq!(
            report.outcome(),
            TokenOutcome::Rejected { status: TokenStatusCode::ValidationFailure, display: Some("USED".into()) }
        );
        let ok = TokenDeliveryReport {
            status: TokenStatusCode::ExecutionOk,
            data_value: empty.clone(),
            description: vec![],
        };
        assert_eq!((ok.outcome(), ok.display()), (TokenOutcome::Accepted, None));
        let pending = TokenDeliveryReport { status: TokenStatusCode::Received, data_value: empty, description: vec![] };
        assert_eq!(pending.outcome(), TokenOutcome::Incomplete(TokenStatusCode::Received));
        for v in 0..=8 {
            assert_eq!(TokenStatusCode::from_u8(v).map(TokenStatusCode::code), Some(v));
        }
        assert_eq!(TokenStatusCode::from_u8(9), None);
    }
}
