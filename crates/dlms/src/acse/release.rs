//! The RLRQ and RLRE APDUs, A-RELEASE request and response (IEC 62056-5-3 §9.4.2.3 and
//! the ACSE ASN.1 of §9.5 / ISO/IEC 8650-1), BER encoded:
//!
//! ```text
//! RLRQ-apdu ::= [APPLICATION 2] IMPLICIT SEQUENCE {                  -- 62 len
//!   reason           [0]  IMPLICIT Release-request-reason OPTIONAL,   -- 80 01 <v>
//!   user-information [30] EXPLICIT Association-information OPTIONAL } -- BE
//! RLRE-apdu ::= [APPLICATION 3] IMPLICIT SEQUENCE {                  -- 63 len
//!   reason           [0]  IMPLICIT Release-response-reason OPTIONAL,  -- 80 01 <v>
//!   user-information [30] EXPLICIT Association-information OPTIONAL } -- BE
//! ```
//!
//! With a ciphered context the user-information carries a ciphered InitiateRequest /
//! InitiateResponse, which authenticates the release.

use std::fmt;

use serde::Serialize;

use crate::acse::ber;
use crate::acse::fields::set_once;
use crate::acse::user_information::UserInformation;
use crate::codec::{Codec, DecodeError, Reader};

/// BER identifier of the RLRQ APDU (`[APPLICATION 2]` constructed).
pub const RLRQ_TAG: u8 = 0x62;
/// BER identifier of the RLRE APDU (`[APPLICATION 3]` constructed).
pub const RLRE_TAG: u8 = 0x63;

/// `Release-request-reason` INTEGER (ISO/IEC 8650-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum ReleaseRequestReason {
    /// (0) normal.
    Normal = 0,
    /// (1) urgent.
    Urgent = 1,
    /// (30) user-defined.
    UserDefined = 30,
}

impl ReleaseRequestReason {
    /// Maps the INTEGER value; `None` for undefined values.
    pub fn from_value(v: i64) -> Option<Self> {
        match v {
            0 => Some(ReleaseRequestReason::Normal),
            1 => Some(ReleaseRequestReason::Urgent),
            30 => Some(ReleaseRequestReason::UserDefined),
            _ => None,
        }
    }
}

impl fmt::Display for ReleaseRequestReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseRequestReason::Normal => "normal",
            ReleaseRequestReason::Urgent => "urgent",
            ReleaseRequestReason::UserDefined => "user-defined",
        })
    }
}

/// `Release-response-reason` INTEGER (ISO/IEC 8650-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum ReleaseResponseReason {
    /// (0) normal.
    Normal = 0,
    /// (1) not-finished.
    NotFinished = 1,
    /// (30) user-defined.
    UserDefined = 30,
}

impl ReleaseResponseReason {
    /// Maps the INTEGER value; `None` for undefined values.
    pub fn from_value(v: i64) -> Option<Self> {
        match v {
            0 => Some(ReleaseResponseReason::Normal),
            1 => Some(ReleaseResponseReason::NotFinished),
            30 => Some(ReleaseResponseReason::UserDefined),
            _ => None,
        }
    }
}

impl fmt::Display for ReleaseResponseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseResponseReason::Normal => "normal",
            ReleaseResponseReason::NotFinished => "not-finished",
            ReleaseResponseReason::UserDefined => "user-defined",
        })
    }
}

/// The RLRQ, the client's request to release the association (IEC 62056-5-3 §9.4.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rlrq {
    /// `[0]` the reason (normal = `62 03 80 01 00`).
    pub reason: Option<ReleaseRequestReason>,
    /// `[30]` the (normally ciphered) InitiateRequest protecting the release.
    pub user_information: Option<UserInformation>,
}

impl Rlrq {
    /// A normal release without user-information: `62 03 80 01 00`.
    pub fn normal() -> Self {
        Rlrq { reason: Some(ReleaseRequestReason::Normal), user_information: None }
    }
}

/// The RLRE, the server's answer to an RLRQ (IEC 62056-5-3 §9.4.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rlre {
    /// `[0]` the reason (normal = `63 03 80 01 00`).
    pub reason: Option<ReleaseResponseReason>,
    /// `[30]` the (normally ciphered) InitiateResponse.
    pub user_information: Option<UserInformation>,
}

impl Rlre {
    /// A normal release response without user-information: `63 03 80 01 00`.
    pub fn normal() -> Self {
        Rlre { reason: Some(ReleaseResponseReason::Normal), user_information: None }
    }
}

fn encode_release(out: &mut Vec<u8>, tag: u8, reason: Option<u8>, user_information: Option<&UserInformation>) {
    ber::put_constructed(out, tag, |c| {
        if let Some(v) = reason {
            ber::put_tlv(c, 0x80, &ber::integer_content(i64::from(v)));
        }
        if let Some(ui) = user_information {
            ui.encode_field(c);
        }
    });
}

/// Decodes the common shape: `(reason INTEGER, user-information)`; unknown elements
/// are skipped.
fn decode_release(
    r: &mut Reader<'_>,
    tag: u8,
    what: &'static str,
) -> Result<(Option<i64>, Option<UserInformation>), DecodeError> {
    let content = ber::expect_tlv(r, tag, what)?;
    let mut r = Reader::new(content);
    let mut reason = None;
    let mut user_information = None;
    while !r.is_empty() {
        let tlv = ber::read_tlv(&mut r, what)?;
        match tlv.identifier {
            0x80 => set_once(&mut reason, ber::parse_integer(tlv.content, what)?, what)?,
            0xBE => set_once(&mut user_information, UserInformation::parse_field(tlv.content)?, what)?,
            _ => {}
        }
    }
    Ok((reason, user_information))
}

fn undefined_reason(what: &'static str, v: i64) -> DecodeError {
    DecodeError::invalid(what, format!("undefined release reason {v}"))
}

impl Codec for Rlrq {
    /// Appends `62 len [80 01 reason] [BE …]`.
    fn encode(&self, out: &mut Vec<u8>) {
        encode_release(out, RLRQ_TAG, self.reason.map(|r| r as u8), self.user_information.as_ref());
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] when the APDU is not `62`; [`DecodeError::Truncated`];
    /// [`DecodeError::Invalid`] for an undefined reason, a repeated field or a malformed
    /// element; the errors of the user-information APDU.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let what = "RLRQ";
        let (reason, user_information) = decode_release(r, RLRQ_TAG, what)?;
        let reason = match reason {
            None => None,
            Some(v) => Some(ReleaseRequestReason::from_value(v).ok_or_else(|| undefined_reason(what, v))?),
        };
        Ok(Rlrq { reason, user_information })
    }
}

impl Codec for Rlre {
    /// Appends `63 len [80 01 reason] [BE …]`.
    fn encode(&self, out: &mut Vec<u8>) {
        encode_release(out, RLRE_TAG, self.reason.map(|r| r as u8), self.user_information.as_ref());
    }

    /// # Errors
    /// As [`Rlrq`], for tag `63`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let what = "RLRE";
        let (reason, user_information) = decode_release(r, RLRE_TAG, what)?;
        let reason = match reason {
            None => None,
            Some(v) => Some(ReleaseResponseReason::from_value(v).ok_or_else(|| undefined_reason(what, v))?),
        };
        Ok(Rlre { reason, user_information })
    }
}
