//! Any APDU that can travel in a wrapper frame or HDLC information field: the four ACSE
//! APDUs, the xDLMS service APDUs and a stand-alone ConfirmedServiceError
//! (IEC 62056-5-3 §9.4 and §9.5), told apart by their first byte.

use serde::Serialize;

use crate::acse::{Aare, Aarq, AcseApdu, Rlre, Rlrq};
use crate::codec::{Codec, DecodeError, Reader};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::service_error::{CONFIRMED_SERVICE_ERROR_TAG, ConfirmedServiceError};

/// One application-layer PDU.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "apdu", content = "fields", rename_all = "kebab-case")]
pub enum Apdu {
    /// AARQ (0x60).
    Aarq(Aarq),
    /// AARE (0x61).
    Aare(Aare),
    /// RLRQ (0x62).
    Rlrq(Rlrq),
    /// RLRE (0x63).
    Rlre(Rlre),
    /// ConfirmedServiceError (0x0E).
    ConfirmedServiceError(ConfirmedServiceError),
    /// GET/SET/ACTION requests and responses, exception-response, notifications.
    Xdlms(XdlmsApdu),
}

impl Apdu {
    /// A short name of the APDU kind for messages, e.g. "AARE" or "get-response".
    pub fn kind(&self) -> &'static str {
        match self {
            Apdu::Aarq(_) => "AARQ",
            Apdu::Aare(_) => "AARE",
            Apdu::Rlrq(_) => "RLRQ",
            Apdu::Rlre(_) => "RLRE",
            Apdu::ConfirmedServiceError(_) => "confirmed-service-error",
            Apdu::Xdlms(x) => match x {
                XdlmsApdu::GetRequest(_) => "get-request",
                XdlmsApdu::GetResponse(_) => "get-response",
                XdlmsApdu::SetRequest(_) => "set-request",
                XdlmsApdu::SetResponse(_) => "set-response",
                XdlmsApdu::ActionRequest(_) => "action-request",
                XdlmsApdu::ActionResponse(_) => "action-response",
                XdlmsApdu::EventNotificationRequest(_) => "event-notification-request",
                XdlmsApdu::ExceptionResponse(_) => "exception-response",
                XdlmsApdu::DataNotification(_) => "data-notification",
                XdlmsApdu::GeneralBlockTransfer(_) => "general-block-transfer",
            },
        }
    }
}

impl Codec for Apdu {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Apdu::Aarq(a) => a.encode(out),
            Apdu::Aare(a) => a.encode(out),
            Apdu::Rlrq(a) => a.encode(out),
            Apdu::Rlre(a) => a.encode(out),
            Apdu::ConfirmedServiceError(a) => a.encode(out),
            Apdu::Xdlms(a) => a.encode(out),
        }
    }

    /// # Errors
    /// [`DecodeError::Truncated`] on empty input, [`DecodeError::UnknownTag`] for a first
    /// byte that starts no APDU gridedge knows, otherwise the errors of the APDU's decoder.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.peek() {
            None => Err(DecodeError::Truncated { what: "APDU", needed: 1 }),
            Some(t) if AcseApdu::is_acse_tag(t) => Ok(match AcseApdu::decode(r)? {
                AcseApdu::Aarq(a) => Apdu::Aarq(a),
                AcseApdu::Aare(a) => Apdu::Aare(a),
                AcseApdu::Rlrq(a) => Apdu::Rlrq(a),
                AcseApdu::Rlre(a) => Apdu::Rlre(a),
            }),
            Some(CONFIRMED_SERVICE_ERROR_TAG) => Ok(Apdu::ConfirmedServiceError(ConfirmedServiceError::decode(r)?)),
            Some(_) => Ok(Apdu::Xdlms(XdlmsApdu::decode(r)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_on_first_byte() {
        // RLRQ normal (vector rlrq-normal), get-request-normal, confirmed-service-error.
        assert!(matches!(Apdu::from_bytes(&[0x62, 0x03, 0x80, 0x01, 0x00]).unwrap(), Apdu::Rlrq(_)));
        let get = [0xC0, 0x01, 0xC1, 0x00, 0x01, 0x00, 0x00, 0x2B, 0x01, 0x00, 0xFF, 0x02, 0x00];
        assert_eq!(Apdu::from_bytes(&get).unwrap().kind(), "get-request");
        assert!(matches!(Apdu::from_bytes(&[0x0E, 0x01, 0x06, 0x01]).unwrap(), Apdu::ConfirmedServiceError(_)));
        assert!(matches!(Apdu::from_bytes(&[]), Err(DecodeError::Truncated { .. })));
        assert!(matches!(Apdu::from_bytes(&[0x99]), Err(DecodeError::UnknownTag { .. })));
    }
}
