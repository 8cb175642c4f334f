//! The xDLMS service APDUs as one type, [`XdlmsApdu`], dispatched on the APDU tag
//! (IEC 62056-5-3 §9.5, `XDLMS-APDU ::= CHOICE`), plus the A-XDR rules for the ASN.1
//! constructs the APDU modules share (OPTIONAL, SEQUENCE OF, BOOLEAN, OCTET STRING;
//! IEC 61334-6 A-XDR as profiled by IEC 62056-5-3 §9.5).
//!
//! Not included here: the ACSE APDUs, InitiateRequest/InitiateResponse,
//! ConfirmedServiceError and the ciphered APDUs; those live in their own modules.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::xdlms::action::{ActionRequest, ActionResponse};
use crate::xdlms::exception::ExceptionResponse;
use crate::xdlms::general_block_transfer::GeneralBlockTransfer;
use crate::xdlms::get::{GetRequest, GetResponse};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::notification::{DataNotification, EventNotificationRequest};
use crate::xdlms::set::{SetRequest, SetResponse};

/// APDU tags of the xDLMS services (IEC 62056-5-3 §9.5, `XDLMS-APDU` CHOICE numbers).
pub mod tag {
    /// data-notification [15].
    pub const DATA_NOTIFICATION: u8 = 0x0F;
    /// get-request [192].
    pub const GET_REQUEST: u8 = 0xC0;
    /// set-request [193].
    pub const SET_REQUEST: u8 = 0xC1;
    /// event-notification-request [194].
    pub const EVENT_NOTIFICATION_REQUEST: u8 = 0xC2;
    /// action-request [195].
    pub const ACTION_REQUEST: u8 = 0xC3;
    /// get-response [196].
    pub const GET_RESPONSE: u8 = 0xC4;
    /// set-response [197].
    pub const SET_RESPONSE: u8 = 0xC5;
    /// action-response [199].
    pub const ACTION_RESPONSE: u8 = 0xC7;
    /// exception-response [216].
    pub const EXCEPTION_RESPONSE: u8 = 0xD8;
    /// general-block-transfer \[224\].
    pub const GENERAL_BLOCK_TRANSFER: u8 = 0xE0;
}

/// One unciphered xDLMS service APDU with logical-name referencing
/// (IEC 62056-5-3 §9.3 services, §9.5 ASN.1). The encoding starts with the APDU tag
/// ([`tag`]); decoding dispatches on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum XdlmsApdu {
    /// get-request, tag 0xC0.
    GetRequest(GetRequest),
    /// get-response, tag 0xC4.
    GetResponse(GetResponse),
    /// set-request, tag 0xC1.
    SetRequest(SetRequest),
    /// set-response, tag 0xC5.
    SetResponse(SetResponse),
    /// action-request, tag 0xC3.
    ActionRequest(ActionRequest),
    /// action-response, tag 0xC7.
    ActionResponse(ActionResponse),
    /// event-notification-request, tag 0xC2 (unconfirmed push of one attribute).
    EventNotificationRequest(EventNotificationRequest),
    /// exception-response, tag 0xD8.
    ExceptionResponse(ExceptionResponse),
    /// data-notification, tag 0x0F (unconfirmed push).
    DataNotification(DataNotification),
    /// general-block-transfer, tag 0xE0: one block of a long APDU (IEC 62056-5-3 §9.3.5).
    GeneralBlockTransfer(GeneralBlockTransfer),
}

impl XdlmsApdu {
    /// The APDU tag this value encodes with.
    pub fn tag(&self) -> u8 {
        match self {
            XdlmsApdu::GetRequest(_) => tag::GET_REQUEST,
            XdlmsApdu::GetResponse(_) => tag::GET_RESPONSE,
            XdlmsApdu::SetRequest(_) => tag::SET_REQUEST,
            XdlmsApdu::SetResponse(_) => tag::SET_RESPONSE,
            XdlmsApdu::ActionRequest(_) => tag::ACTION_REQUEST,
            XdlmsApdu::ActionResponse(_) => tag::ACTION_RESPONSE,
            XdlmsApdu::EventNotificationRequest(_) => tag::EVENT_NOTIFICATION_REQUEST,
            XdlmsApdu::ExceptionResponse(_) => tag::EXCEPTION_RESPONSE,
            XdlmsApdu::DataNotification(_) => tag::DATA_NOTIFICATION,
            XdlmsApdu::GeneralBlockTransfer(_) => tag::GENERAL_BLOCK_TRANSFER,
        }
    }

    /// The short `Invoke-Id-And-Priority` of a GET/SET/ACTION request or response;
    /// `None` for the exception-response, event-notification, data-notification and
    /// general-block-transfer, which carry none (the data-notification has a long form, see
    /// [`DataNotification::long_invoke_id_and_priority`]).
    pub fn invoke_id_and_priority(&self) -> Option<InvokeIdAndPriority> {
        Some(match self {
            XdlmsApdu::GetRequest(a) => a.invoke_id_and_priority(),
            XdlmsApdu::GetResponse(a) => a.invoke_id_and_priority(),
            XdlmsApdu::SetRequest(a) => a.invoke_id_and_priority(),
            XdlmsApdu::SetResponse(a) => a.invoke_id_and_priority(),
            XdlmsApdu::ActionRequest(a) => a.invoke_id_and_priority(),
            XdlmsApdu::ActionResponse(a) => a.invoke_id_and_priority(),
            XdlmsApdu::EventNotificationRequest(_)
            | XdlmsApdu::ExceptionResponse(_)
            | XdlmsApdu::DataNotification(_)
            | XdlmsApdu::GeneralBlockTransfer(_) => return None,
        })
    }

    /// True for the APDUs a client sends (get/set/action-request).
    pub fn is_request(&self) -> bool {
        matches!(self, XdlmsApdu::GetRequest(_) | XdlmsApdu::SetRequest(_) | XdlmsApdu::ActionRequest(_))
    }
}

impl Codec for XdlmsApdu {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            XdlmsApdu::GetRequest(a) => a.encode(out),
            XdlmsApdu::GetResponse(a) => a.encode(out),
            XdlmsApdu::SetRequest(a) => a.encode(out),
            XdlmsApdu::SetResponse(a) => a.encode(out),
            XdlmsApdu::ActionRequest(a) => a.encode(out),
            XdlmsApdu::ActionResponse(a) => a.encode(out),
            XdlmsApdu::EventNotificationRequest(a) => a.encode(out),
            XdlmsApdu::ExceptionResponse(a) => a.encode(out),
            XdlmsApdu::DataNotification(a) => a.encode(out),
            XdlmsApdu::GeneralBlockTransfer(a) => a.encode(out),
        }
    }

    /// # Errors
    /// [`DecodeError::Truncated`] on empty or short input, [`DecodeError::UnknownTag`]
    /// for an APDU tag that is not one of [`tag`] (including ACSE, Initiate and ciphered
    /// APDUs) or an unknown CHOICE index, [`DecodeError::Invalid`] for undefined
    /// ENUMERATED values, plus any error of the contained `Data`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = r.peek().ok_or(DecodeError::Truncated { what: "xDLMS APDU tag", needed: 1 })?;
        Ok(match t {
            tag::GET_REQUEST => XdlmsApdu::GetRequest(GetRequest::decode(r)?),
            tag::GET_RESPONSE => XdlmsApdu::GetResponse(GetResponse::decode(r)?),
            tag::SET_REQUEST => XdlmsApdu::SetRequest(SetRequest::decode(r)?),
            tag::SET_RESPONSE => XdlmsApdu::SetResponse(SetResponse::decode(r)?),
            tag::ACTION_REQUEST => XdlmsApdu::ActionRequest(ActionRequest::decode(r)?),
            tag::ACTION_RESPONSE => XdlmsApdu::ActionResponse(ActionResponse::decode(r)?),
            tag::EVENT_NOTIFICATION_REQUEST => {
                XdlmsApdu::EventNotificationRequest(EventNotificationRequest::decode(r)?)
            }
            tag::EXCEPTION_RESPONSE => XdlmsApdu::ExceptionResponse(ExceptionResponse::decode(r)?),
            tag::DATA_NOTIFICATION => XdlmsApdu::DataNotification(DataNotification::decode(r)?),
            tag::GENERAL_BLOCK_TRANSFER => XdlmsApdu::GeneralBlockTransfer(GeneralBlockTransfer::decode(r)?),
            other => return Err(DecodeError::UnknownTag { what: "xDLMS APDU", tag: other }),
        })
    }
}

macro_rules! apdu_from {
    ($($t:ident),*) => {$(
        impl From<$t> for XdlmsApdu {
            fn from(a: $t) -> Self {
                XdlmsApdu::$t(a)
            }
        }
    )*};
}
apdu_from!(
    GetRequest,
    GetResponse,
    SetRequest,
    SetResponse,
    ActionRequest,
    ActionResponse,
    EventNotificationRequest,
    ExceptionResponse,
    DataNotification,
    GeneralBlockTransfer
);

// ---------------------------------------------------------------------------------------
// A-XDR rules for the ASN.1 constructs of the APDUs (crate-internal).
// ---------------------------------------------------------------------------------------

/// Consumes the APDU tag and checks it is `expected`.
pub(crate) fn expect_apdu_tag(r: &mut Reader<'_>, expected: u8, what: &'static str) -> Result<(), DecodeError> {
    let t = r.u8(what)?;
    if t == expected { Ok(()) } else { Err(DecodeError::UnknownTag { what, tag: t }) }
}

/// OPTIONAL: 0x00 when absent, else 0x01 followed by the value.
pub(crate) fn put_optional<T>(out: &mut Vec<u8>, v: Option<&T>, enc: impl FnOnce(&T, &mut Vec<u8>)) {
    match v {
        None => out.push(0x00),
        Some(v) => {
            out.push(0x01);
            enc(v, out);
        }
    }
}

/// Reads the presence flag of an OPTIONAL component: only 0x00 and 0x01 are accepted.
pub(crate) fn read_presence(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0x00 => Ok(false),
        0x01 => Ok(true),
        other => Err(DecodeError::invalid(what, format!("OPTIONAL presence flag 0x{other:02X} is not 0x00 or 0x01"))),
    }
}

/// BOOLEAN: encoded 0x01 / 0x00.
pub(crate) fn put_boolean(out: &mut Vec<u8>, v: bool) {
    out.push(u8::from(v));
}

/// BOOLEAN: 0x00 is FALSE, any other value TRUE (X.690 §8.2).
pub(crate) fn read_boolean(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    Ok(r.u8(what)? != 0)
}

/// SEQUENCE OF: an A-XDR length (element count), then the elements.
pub(crate) fn put_sequence_of<T>(out: &mut Vec<u8>, items: &[T], mut enc: impl FnMut(&T, &mut Vec<u8>)) {
    put_length(out, items.len());
    for it in items {
        enc(it, out);
    }
}

/// SEQUENCE OF: reads the count (checked against the remaining input, each element
/// taking at least `min_elem_size` bytes) and the elements.
pub(crate) fn read_sequence_of<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    min_elem_size: usize,
    mut dec: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.length(what, min_elem_size)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(dec(r)?);
    }
    Ok(v)
}

/// OCTET STRING: an A-XDR length, then the bytes.
pub(crate) fn put_octet_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// OCTET STRING: an A-XDR length, then the bytes.
pub(crate) fn read_octet_string(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let n = r.length(what, 1)?;
    Ok(r.take(n, what)?.to_vec())
}

/// The CHOICE index byte of an APDU (e.g. get-request-normal [1]).
pub(crate) fn read_choice(r: &mut Reader<'_>, what: &'static str) -> Result<u8, DecodeError> {
    r.u8(what)
}

/// proptest strategy for any APDU (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;

    /// Any xDLMS APDU of this module.
    pub fn xdlms_apdu() -> impl Strategy<Value = XdlmsApdu> {
        prop_oneof![
            crate::xdlms::get::strategies::get_request().prop_map(XdlmsApdu::GetRequest),
            crate::xdlms::get::strategies::get_response().prop_map(XdlmsApdu::GetResponse),
            crate::xdlms::set::strategies::set_request().prop_map(XdlmsApdu::SetRequest),
            crate::xdlms::set::strategies::set_response().prop_map(XdlmsApdu::SetResponse),
            crate::xdlms::action::strategies::action_request().prop_map(XdlmsApdu::ActionRequest),
            crate::xdlms::action::strategies::action_response().prop_map(XdlmsApdu::ActionResponse),
            crate::xdlms::notification::strategies::event_notification_request()
                .prop_map(XdlmsApdu::EventNotificationRequest),
            crate::xdlms::exception::strategies::exception_response().prop_map(XdlmsApdu::ExceptionResponse),
            crate::xdlms::notification::strategies::data_notification().prop_map(XdlmsApdu::DataNotification),
            crate::xdlms::general_block_transfer::strategies::general_block_transfer()
                .prop_map(XdlmsApdu::GeneralBlockTransfer),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::xdlms_apdu;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unknown_apdu_tags_are_typed_errors() {
        // AARQ (0x60), InitiateRequest (0x01), glo-get-request (0xC8), C6 (unassigned)
        for t in [0x60u8, 0x01, 0xC8, 0xC6, 0x00, 0xFF] {
            assert_eq!(
                XdlmsApdu::from_bytes(&[t, 0x01, 0xC1]),
                Err(DecodeError::UnknownTag { what: "xDLMS APDU", tag: t }),
                "tag {t:#04X}"
            );
        }
        assert!(matches!(XdlmsApdu::from_bytes(&[]), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn presence_and_boolean_rules() {
        assert_eq!(read_presence(&mut Reader::new(&[0]), "p"), Ok(false));
        assert_eq!(read_presence(&mut Reader::new(&[1]), "p"), Ok(true));
        assert!(matches!(read_presence(&mut Reader::new(&[2]), "p"), Err(DecodeError::Invalid { .. })));
        assert_eq!(read_boolean(&mut Reader::new(&[0xFF]), "b"), Ok(true));
        assert_eq!(read_boolean(&mut Reader::new(&[0]), "b"), Ok(false));
    }

    #[test]
    fn sequence_of_count_is_checked_against_input() {
        // announces 0x7F elements of at least 2 bytes with 3 bytes left
        let r = read_sequence_of(&mut Reader::new(&[0x7F, 1, 2, 3]), "list", 2, |r| r.u16("e"));
        assert!(matches!(r, Err(DecodeError::Oversized { .. })));
        let ok = read_sequence_of(&mut Reader::new(&[0x02, 0, 1, 0, 2]), "list", 2, |r| r.u16("e"));
        assert_eq!(ok, Ok(vec![1, 2]));
    }

    proptest! {
        #[test]
        fn every_apdu_round_trips(a in xdlms_apdu()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(bytes.first().copied(), Some(a.tag()));
            let back = XdlmsApdu::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&back, &a);
            prop_assert_eq!(back.to_bytes(), bytes);
        }

        #[test]
        fn every_strict_prefix_fails(a in xdlms_apdu()) {
            let bytes = a.to_bytes();
            for n in 0..bytes.len() {
                prop_assert!(XdlmsApdu::from_bytes(&bytes[..n]).is_err(), "prefix of {} bytes decoded", n);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
            let _ = XdlmsApdu::from_bytes(&bytes);
        }

        #[test]
        fn random_bodies_after_a_valid_tag_and_choice_never_panic(
            t in proptest::sample::select(vec![0x0Fu8, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7, 0xD8, 0xE0]),
            choice in 0u8..8,
            body in prop::collection::vec(any::<u8>(), 0..96),
        ) {
            let mut bytes = vec![t, choice];
            bytes.extend_from_slice(&body);
            let _ = XdlmsApdu::from_bytes(&bytes);
        }

        #[test]
        fn mutated_valid_apdus_never_panic(a in xdlms_apdu(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = a.to_bytes();
            let i = pos.index(bytes.len());
            bytes[i] = byte;
            let _ = XdlmsApdu::from_bytes(&bytes);
        }
    }
}
