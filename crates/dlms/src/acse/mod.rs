//! ACSE, the association control service element (IEC 62056-5-3 §9.4, ISO/IEC 8650-1):
//! the BER-encoded APDUs that open (AARQ/AARE) and close (RLRQ/RLRE) a DLMS/COSEM
//! application association. The xDLMS InitiateRequest/InitiateResponse travel in their
//! user-information field ([`UserInformation`]).
//!
//! | APDU | tag | type |
//! |---|---|---|
//! | AARQ, A-ASSOCIATE request | `0x60` | [`Aarq`] |
//! | AARE, A-ASSOCIATE response | `0x61` | [`Aare`] |
//! | RLRQ, A-RELEASE request | `0x62` | [`Rlrq`] |
//! | RLRE, A-RELEASE response | `0x63` | [`Rlre`] |
//!
//! Decoding is tolerant in the way IEC 62056-5-3 asks: fields may come in any order and
//! unknown optional elements are skipped; encoding is canonical (fields in tag order,
//! minimal lengths and integers).

pub mod aare;
pub mod aarq;
pub mod authentication;
pub mod ber;
pub mod context;
pub mod diagnostic;
mod fields;
pub mod mechanism;
pub mod oid;
pub mod release;
pub mod user_information;

pub use aare::{AARE_TAG, Aare};
pub use aarq::{AARQ_TAG, Aarq};
pub use authentication::{AcseRequirements, AuthenticationValue};
pub use context::ApplicationContextName;
pub use diagnostic::{
    AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic, AssociateSourceDiagnostic, AssociationResult,
};
pub use mechanism::MechanismName;
pub use oid::ObjectIdentifier;
pub use release::{RLRE_TAG, RLRQ_TAG, ReleaseRequestReason, ReleaseResponseReason, Rlre, Rlrq};
pub use user_information::UserInformation;

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// Any of the four ACSE APDUs, chosen by the first byte (for a receiver that must
/// tell them apart from each other; xDLMS APDUs have other tags).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum AcseApdu {
    /// `0x60`.
    Aarq(Aarq),
    /// `0x61`.
    Aare(Aare),
    /// `0x62`.
    Rlrq(Rlrq),
    /// `0x63`.
    Rlre(Rlre),
}

impl AcseApdu {
    /// True when `tag` (the first byte of an APDU) is one of the ACSE APDU tags.
    pub fn is_acse_tag(tag: u8) -> bool {
        matches!(tag, AARQ_TAG | AARE_TAG | RLRQ_TAG | RLRE_TAG)
    }
}

impl Codec for AcseApdu {
    /// Appends the APDU.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AcseApdu::Aarq(v) => v.encode(out),
            AcseApdu::Aare(v) => v.encode(out),
            AcseApdu::Rlrq(v) => v.encode(out),
            AcseApdu::Rlre(v) => v.encode(out),
        }
    }

    /// # Errors
    /// [`DecodeError::Truncated`] on empty input; [`DecodeError::UnknownTag`] when the
    /// first byte is not `60..=63`; otherwise the errors of the APDU's decoder.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.peek() {
            None => Err(DecodeError::Truncated { what: "ACSE APDU", needed: 1 }),
            Some(AARQ_TAG) => Ok(AcseApdu::Aarq(Aarq::decode(r)?)),
            Some(AARE_TAG) => Ok(AcseApdu::Aare(Aare::decode(r)?)),
            Some(RLRQ_TAG) => Ok(AcseApdu::Rlrq(Rlrq::decode(r)?)),
            Some(RLRE_TAG) => Ok(AcseApdu::Rlre(Rlre::decode(r)?)),
            Some(tag) => Err(DecodeError::UnknownTag { what: "ACSE APDU", tag }),
        }
    }
}
