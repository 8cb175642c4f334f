//! `ExceptionResponse` (IEC 62056-5-3 §9.5, APDU tag 0xD8): the server's answer to an
//! APDU it cannot process at all (wrong state, unknown service, PDU too long,
//! deciphering failure), instead of a service-specific response.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
use crate::xdlms::apdu::{expect_apdu_tag, read_choice, tag};

/// `state-error [0] IMPLICIT ENUMERATED` of the ExceptionResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum StateError {
    /// (1) the service is not allowed in the current state of the association.
    ServiceNotAllowed = 1,
    /// (2) the service is not known.
    ServiceUnknown = 2,
}

impl StateError {
    /// Maps the ENUMERATED value; `None` for values the standard does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(StateError::ServiceNotAllowed),
            2 => Some(StateError::ServiceUnknown),
            _ => None,
        }
    }
}

/// `service-error [1] CHOICE` of the ExceptionResponse; the CHOICE index is given per
/// variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ExceptionServiceError {
    /// [1] operation-not-possible.
    OperationNotPossible,
    /// [2] service-not-supported.
    ServiceNotSupported,
    /// [3] other-reason.
    OtherReason,
    /// [4] pdu-too-long: the APDU exceeds the negotiated maximum receive PDU size.
    PduTooLong,
    /// [5] deciphering-error: a ciphered APDU failed authentication/decryption.
    DecipheringError,
    /// [6] invocation-counter-error: the received invocation counter was too low; the
    /// value is the server's expected minimum (Unsigned32).
    InvocationCounterError(u32),
}

impl ExceptionServiceError {
    /// The CHOICE index on the wire.
    pub fn choice_index(&self) -> u8 {
        match self {
            ExceptionServiceError::OperationNotPossible => 1,
            ExceptionServiceError::ServiceNotSupported => 2,
            ExceptionServiceError::OtherReason => 3,
            ExceptionServiceError::PduTooLong => 4,
            ExceptionServiceError::DecipheringError => 5,
            ExceptionServiceError::InvocationCounterError(_) => 6,
        }
    }
}

/// `ExceptionResponse ::= SEQUENCE { state-error, service-error }` (IEC 62056-5-3 §9.5).
///
/// Wire form: `D8`, the state-error value, the service-error CHOICE index and, for
/// invocation-counter-error, a big-endian u32. E.g. `D8 01 02` = service not allowed,
/// service not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ExceptionResponse {
    /// Why the state does not allow the service.
    pub state_error: StateError,
    /// What failed.
    pub service_error: ExceptionServiceError,
}

impl Codec for ExceptionResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::EXCEPTION_RESPONSE);
        out.push(self.state_error as u8);
        out.push(self.service_error.choice_index());
        if let ExceptionServiceError::InvocationCounterError(ic) = self.service_error {
            out.extend_from_slice(&ic.to_be_bytes());
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xD8 or a
    /// service-error CHOICE index other than 1..=6; [`DecodeError::Invalid`] for a
    /// state-error value other than 1/2.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::EXCEPTION_RESPONSE, "ExceptionResponse APDU")?;
        let s = r.u8("state-error")?;
        let state_error = StateError::from_u8(s)
            .ok_or_else(|| DecodeError::invalid("state-error", format!("value {s} is not defined")))?;
        let service_error = match read_choice(r, "service-error CHOICE")? {
            1 => ExceptionServiceError::OperationNotPossible,
            2 => ExceptionServiceError::ServiceNotSupported,
            3 => ExceptionServiceError::OtherReason,
            4 => ExceptionServiceError::PduTooLong,
            5 => ExceptionServiceError::DecipheringError,
            6 => ExceptionServiceError::InvocationCounterError(r.u32("invocation-counter-error")?),
            other => return Err(DecodeError::UnknownTag { what: "service-error CHOICE", tag: other }),
        };
        Ok(ExceptionResponse { state_error, service_error })
    }
}

/// proptest strategies (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;

    /// Any ExceptionResponse.
    pub fn exception_response() -> impl Strategy<Value = ExceptionResponse> {
        (
            prop_oneof![Just(StateError::ServiceNotAllowed), Just(StateError::ServiceUnknown)],
            prop_oneof![
                Just(ExceptionServiceError::OperationNotPossible),
                Just(ExceptionServiceError::ServiceNotSupported),
                Just(ExceptionServiceError::OtherReason),
                Just(ExceptionServiceError::PduTooLong),
                Just(ExceptionServiceError::DecipheringError),
                any::<u32>().prop_map(ExceptionServiceError::InvocationCounterError),
            ],
        )
            .prop_map(|(state_error, service_error)| ExceptionResponse { state_error, service_error })
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::exception_response;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        let cases: [(&[u8], ExceptionResponse); 3] = [
            (
                &[0xD8, 0x01, 0x02],
                ExceptionResponse {
                    state_error: StateError::ServiceNotAllowed,
                    service_error: ExceptionServiceError::ServiceNotSupported,
                },
            ),
            (
                &[0xD8, 0x02, 0x05],
                ExceptionResponse {
                    state_error: StateError::ServiceUnknown,
                    service_error: ExceptionServiceError::DecipheringError,
                },
            ),
            (
                &[0xD8, 0x01, 0x06, 0x00, 0x00, 0x01, 0x00],
                ExceptionResponse {
                    state_error: StateError::ServiceNotAllowed,
                    service_error: ExceptionServiceError::InvocationCounterError(256),
                },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(ExceptionResponse::from_bytes(bytes), Ok(want));
            assert_eq!(want.to_bytes(), bytes);
        }
    }

    #[test]
    fn undefined_values_are_typed_errors() {
        assert!(matches!(ExceptionResponse::from_bytes(&[0xD8, 0x00, 0x01]), Err(DecodeError::Invalid { .. })));
        assert!(matches!(ExceptionResponse::from_bytes(&[0xD8, 0x03, 0x01]), Err(DecodeError::Invalid { .. })));
        assert_eq!(
            ExceptionResponse::from_bytes(&[0xD8, 0x01, 0x07]),
            Err(DecodeError::UnknownTag { what: "service-error CHOICE", tag: 7 })
        );
        assert_eq!(
            ExceptionResponse::from_bytes(&[0xD8, 0x01, 0x00]),
            Err(DecodeError::UnknownTag { what: "service-error CHOICE", tag: 0 })
        );
    }

    proptest! {
        #[test]
        fn round_trips(e in exception_response()) {
            let bytes = e.to_bytes();
            prop_assert_eq!(ExceptionResponse::from_bytes(&bytes).unwrap(), e);
            for n in 0..bytes.len() {
                prop_assert!(ExceptionResponse::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
