//! The ACSE user-information field (IEC 62056-5-3 §9.4.2.2.4): `[30] EXPLICIT
//! Association-information`, an OCTET STRING (`BE len 04 len …`) holding one xDLMS APDU:
//! the InitiateRequest in the AARQ, the InitiateResponse or a ConfirmedServiceError in
//! the AARE, and (when the release is protected) the same in the RLRQ/RLRE. With a
//! ciphered application context the APDU is a glo-/general- ciphered one, kept here as
//! raw bytes for the security layer to open.

use serde::Serialize;

use crate::acse::ber;
use crate::codec::{Codec, DecodeError, Reader};
use crate::xdlms::conformance::Conformance;
use crate::xdlms::initiate::{INITIATE_REQUEST_TAG, INITIATE_RESPONSE_TAG, InitiateRequest, InitiateResponse};
use crate::xdlms::service_error::{CONFIRMED_SERVICE_ERROR_TAG, ConfirmedServiceError};

/// The ciphered xDLMS APDU tags accepted in user-information (IEC 62056-5-3 §9.5):
/// glo-initiateRequest (0x21), glo-initiateResponse (0x28),
/// glo-confirmedServiceError (0x2E), general-glo-ciphering (0xDB),
/// general-ded-ciphering (0xDC) and general-ciphering (0xDD).
pub const CIPHERED_USER_INFORMATION_TAGS: [u8; 6] = [0x21, 0x28, 0x2E, 0xDB, 0xDC, 0xDD];

/// The xDLMS APDU carried in an ACSE user-information field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum UserInformation {
    /// A plain InitiateRequest (tag 0x01), in the AARQ (and RLRQ).
    InitiateRequest(InitiateRequest),
    /// A plain InitiateResponse (tag 0x08), in an accepting AARE (and RLRE).
    InitiateResponse(InitiateResponse),
    /// A ConfirmedServiceError (tag 0x0E), in a rejecting AARE.
    ConfirmedServiceError(ConfirmedServiceError),
    /// A ciphered APDU (first byte one of [`CIPHERED_USER_INFORMATION_TAGS`]), kept as
    /// the complete APDU bytes including its tag, e.g. `21 30 30 01234567 …`.
    Ciphered(Vec<u8>),
}

impl UserInformation {
    /// The InitiateRequest, when this is a plain one.
    pub fn initiate_request(&self) -> Option<&InitiateRequest> {
        match self {
            UserInformation::InitiateRequest(v) => Some(v),
            _ => None,
        }
    }

    /// The InitiateResponse, when this is a plain one.
    pub fn initiate_response(&self) -> Option<&InitiateResponse> {
        match self {
            UserInformation::InitiateResponse(v) => Some(v),
            _ => None,
        }
    }

    /// The negotiated or proposed conformance of a plain Initiate APDU.
    pub fn conformance(&self) -> Option<Conformance> {
        match self {
            UserInformation::InitiateRequest(v) => Some(v.proposed_conformance),
            UserInformation::InitiateResponse(v) => Some(v.negotiated_conformance),
            _ => None,
        }
    }

    /// The xDLMS APDU bytes (the content of the OCTET STRING).
    pub fn apdu_bytes(&self) -> Vec<u8> {
        match self {
            UserInformation::InitiateRequest(v) => v.to_bytes(),
            UserInformation::InitiateResponse(v) => v.to_bytes(),
            UserInformation::ConfirmedServiceError(v) => v.to_bytes(),
            UserInformation::Ciphered(v) => v.clone(),
        }
    }

    /// Decodes the xDLMS APDU bytes (the content of the OCTET STRING), which must hold
    /// exactly one APDU.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] for empty input; [`DecodeError::UnknownTag`] for an
    /// APDU that may not appear here; the errors of the APDU decoders;
    /// [`DecodeError::TrailingBytes`].
    pub fn from_apdu_bytes(apdu: &[u8]) -> Result<Self, DecodeError> {
        let Some(&tag) = apdu.first() else {
            return Err(DecodeError::Truncated { what: "user-information xDLMS APDU", needed: 1 });
        };
        Ok(match tag {
            INITIATE_REQUEST_TAG => UserInformation::InitiateRequest(InitiateRequest::from_bytes(apdu)?),
            INITIATE_RESPONSE_TAG => UserInformation::InitiateResponse(InitiateResponse::from_bytes(apdu)?),
            CONFIRMED_SERVICE_ERROR_TAG => {
                UserInformation::ConfirmedServiceError(ConfirmedServiceError::from_bytes(apdu)?)
            }
            t if CIPHERED_USER_INFORMATION_TAGS.contains(&t) => UserInformation::Ciphered(apdu.to_vec()),
            t => return Err(DecodeError::UnknownTag { what: "user-information xDLMS APDU", tag: t }),
        })
    }

    /// Appends the whole field: `BE len 04 len <APDU>`.
    pub(crate) fn encode_field(&self, out: &mut Vec<u8>) {
        let apdu = self.apdu_bytes();
        ber::put_constructed(out, 0xBE, |c| ber::put_tlv(c, ber::OCTET_STRING, &apdu));
    }

    /// Parses the content of the `[30]` element: one OCTET STRING holding the APDU.
    pub(crate) fn parse_field(content: &[u8]) -> Result<Self, DecodeError> {
        let what = "user-information";
        let mut r = Reader::new(content);
        let apdu = ber::expect_tlv(&mut r, ber::OCTET_STRING, what)?;
        r.expect_end(what)?;
        UserInformation::from_apdu_bytes(apdu)
    }
}

impl From<InitiateRequest> for UserInformation {
    fn from(v: InitiateRequest) -> Self {
        UserInformation::InitiateRequest(v)
    }
}

impl From<InitiateResponse> for UserInformation {
    fn from(v: InitiateResponse) -> Self {
        UserInformation::InitiateResponse(v)
    }
}

impl From<ConfirmedServiceError> for UserInformation {
    fn from(v: ConfirmedServiceError) -> Self {
        UserInformation::ConfirmedServiceError(v)
    }
}
