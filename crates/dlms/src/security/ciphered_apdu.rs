//! The ciphered xDLMS APDUs (IEC 62056-5-3 §9.5 `XDLMS-APDU` CHOICE, §9.2.7.2.4):
//!
//! - service-specific global (glo-) and dedicated (ded-) ciphering: `[tag] IMPLICIT
//!   OCTET STRING` whose content is `SC || IC || ciphered information`:
//!   `C8 1E 30 01234567 <13 bytes ciphertext> <12 bytes tag>`;
//! - general-glo-ciphering `[219]` and general-ded-ciphering `[220]`:
//!   `SEQUENCE { system-title OCTET STRING, ciphered-content OCTET STRING }`, i.e.
//!   `DB 08 <system title> len SC IC <ciphered information>`; the system title may be
//!   empty (`DB 00 …`) when the recipient knows it.
//!
//! | service | plain | glo- | ded- |
//! |---|---|---|---|
//! | InitiateRequest | `01` | `21` (33) | `41` (65) |
//! | InitiateResponse | `08` | `28` (40) | `48` (72) |
//! | ConfirmedServiceError | `0E` | `2E` (46) | `4E` (78) |
//! | get-request | `C0` | `C8` (200) | `D0` (208) |
//! | set-request | `C1` | `C9` (201) | `D1` (209) |
//! | event-notification-request | `C2` | `CA` (202) | `D2` (210) |
//! | action-request | `C3` | `CB` (203) | `D3` (211) |
//! | get-response | `C4` | `CC` (204) | `D4` (212) |
//! | set-response | `C5` | `CD` (205) | `D5` (213) |
//! | action-response | `C7` | `CF` (207) | `D7` (215) |
//! | any APDU (general) | | `DB` (219) | `DC` (220) |

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::security::control::SecurityHeader;

/// Tags of the ciphered APDUs (IEC 62056-5-3 §9.5).
pub mod tag {
    /// glo-initiateRequest, CHOICE tag 33.
    pub const GLO_INITIATE_REQUEST: u8 = 0x21;
    /// glo-initiateResponse, CHOICE tag 40.
    pub const GLO_INITIATE_RESPONSE: u8 = 0x28;
    /// glo-confirmedServiceError, CHOICE tag 46.
    pub const GLO_CONFIRMED_SERVICE_ERROR: u8 = 0x2E;
    /// ded-initiateRequest, CHOICE tag 65.
    pub const DED_INITIATE_REQUEST: u8 = 0x41;
    /// ded-initiateResponse, CHOICE tag 72.
    pub const DED_INITIATE_RESPONSE: u8 = 0x48;
    /// ded-confirmedServiceError, CHOICE tag 78.
    pub const DED_CONFIRMED_SERVICE_ERROR: u8 = 0x4E;
    /// glo-get-request, CHOICE tag 200.
    pub const GLO_GET_REQUEST: u8 = 0xC8;
    /// glo-set-request, CHOICE tag 201.
    pub const GLO_SET_REQUEST: u8 = 0xC9;
    /// glo-event-notification-request, CHOICE tag 202.
    pub const GLO_EVENT_NOTIFICATION_REQUEST: u8 = 0xCA;
    /// glo-action-request, CHOICE tag 203.
    pub const GLO_ACTION_REQUEST: u8 = 0xCB;
    /// glo-get-response, CHOICE tag 204.
    pub const GLO_GET_RESPONSE: u8 = 0xCC;
    /// glo-set-response, CHOICE tag 205.
    pub const GLO_SET_RESPONSE: u8 = 0xCD;
    /// glo-action-response, CHOICE tag 207.
    pub const GLO_ACTION_RESPONSE: u8 = 0xCF;
    /// ded-get-request, CHOICE tag 208.
    pub const DED_GET_REQUEST: u8 = 0xD0;
    /// ded-set-request, CHOICE tag 209.
    pub const DED_SET_REQUEST: u8 = 0xD1;
    /// ded-event-notification-request, CHOICE tag 210.
    pub const DED_EVENT_NOTIFICATION_REQUEST: u8 = 0xD2;
    /// ded-actionRequest, CHOICE tag 211.
    pub const DED_ACTION_REQUEST: u8 = 0xD3;
    /// ded-get-response, CHOICE tag 212.
    pub const DED_GET_RESPONSE: u8 = 0xD4;
    /// ded-set-response, CHOICE tag 213.
    pub const DED_SET_RESPONSE: u8 = 0xD5;
    /// ded-action-response, CHOICE tag 215.
    pub const DED_ACTION_RESPONSE: u8 = 0xD7;
    /// general-glo-ciphering, CHOICE tag 219.
    pub const GENERAL_GLO_CIPHERING: u8 = 0xDB;
    /// general-ded-ciphering, CHOICE tag 220.
    pub const GENERAL_DED_CIPHERING: u8 = 0xDC;
}

/// Which key family ciphers the APDU: the global keys (glo-) or the dedicated key of
/// the association (ded-).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// Global unicast (or, with security control bit 6, broadcast) encryption key.
    Global,
    /// The dedicated key sent in the InitiateRequest of this association.
    Dedicated,
}

/// The xDLMS services that have a service-specific ciphered APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipheredService {
    /// InitiateRequest (`01`).
    InitiateRequest,
    /// InitiateResponse (`08`).
    InitiateResponse,
    /// ConfirmedServiceError (`0E`).
    ConfirmedServiceError,
    /// get-request (`C0`).
    GetRequest,
    /// set-request (`C1`).
    SetRequest,
    /// event-notification-request (`C2`).
    EventNotificationRequest,
    /// action-request (`C3`).
    ActionRequest,
    /// get-response (`C4`).
    GetResponse,
    /// set-response (`C5`).
    SetResponse,
    /// action-response (`C7`).
    ActionResponse,
}

const SERVICES: [(CipheredService, u8, u8, u8); 10] = {
    use CipheredService::*;
    use tag::*;
    [
        (InitiateRequest, 0x01, GLO_INITIATE_REQUEST, DED_INITIATE_REQUEST),
        (InitiateResponse, 0x08, GLO_INITIATE_RESPONSE, DED_INITIATE_RESPONSE),
        (ConfirmedServiceError, 0x0E, GLO_CONFIRMED_SERVICE_ERROR, DED_CONFIRMED_SERVICE_ERROR),
        (GetRequest, 0xC0, GLO_GET_REQUEST, DED_GET_REQUEST),
        (SetRequest, 0xC1, GLO_SET_REQUEST, DED_SET_REQUEST),
        (EventNotificationRequest, 0xC2, GLO_EVENT_NOTIFICATION_REQUEST, DED_EVENT_NOTIFICATION_REQUEST),
        (ActionRequest, 0xC3, GLO_ACTION_REQUEST, DED_ACTION_REQUEST),
        (GetResponse, 0xC4, GLO_GET_RESPONSE, DED_GET_RESPONSE),
        (SetResponse, 0xC5, GLO_SET_RESPONSE, DED_SET_RESPONSE),
        (ActionResponse, 0xC7, GLO_ACTION_RESPONSE, DED_ACTION_RESPONSE),
    ]
};

impl CipheredService {
    /// The tag of the unciphered APDU (`C0` for get-request, ...).
    pub fn plain_tag(self) -> u8 {
        SERVICES.iter().find(|s| s.0 == self).map_or(0, |s| s.1)
    }

    /// The service of an unciphered APDU tag; `None` for APDUs without a
    /// service-specific ciphered form (data-notification, exception-response, ...).
    pub fn from_plain_tag(t: u8) -> Option<Self> {
        SERVICES.iter().find(|s| s.1 == t).map(|s| s.0)
    }

    /// The glo- or ded- tag.
    pub fn ciphered_tag(self, scope: KeyScope) -> u8 {
        SERVICES.iter().find(|s| s.0 == self).map_or(0, |s| if scope == KeyScope::Global { s.2 } else { s.3 })
    }

    /// The service and key scope of a glo-/ded- tag; `None` for other tags.
    pub fn from_ciphered_tag(t: u8) -> Option<(Self, KeyScope)> {
        SERVICES.iter().find_map(|s| {
            if s.2 == t {
                Some((s.0, KeyScope::Global))
            } else if s.3 == t {
                Some((s.0, KeyScope::Dedicated))
            } else {
                None
            }
        })
    }
}

/// True when `t` (the first byte of an APDU) is a glo-, ded-, general-glo- or
/// general-ded-ciphering tag that [`CipheredApdu`] decodes.
pub fn is_ciphered_tag(t: u8) -> bool {
    CipheredService::from_ciphered_tag(t).is_some()
        || t == tag::GENERAL_GLO_CIPHERING
        || t == tag::GENERAL_DED_CIPHERING
}

/// A glo- or ded- service-specific ciphered APDU: `tag len SC IC ciphered-information`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceSpecificCiphered {
    /// The service inside.
    pub service: CipheredService,
    /// glo- or ded-.
    pub scope: KeyScope,
    /// SC || IC.
    pub security_header: SecurityHeader,
    /// Ciphertext || tag, plaintext || tag, or ciphertext (by the security control).
    pub ciphered_information: Vec<u8>,
}

/// A general-glo-ciphering or general-ded-ciphering APDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GeneralCiphered {
    /// general-glo- or general-ded-.
    pub scope: KeyScope,
    /// The sender's system title (8 bytes), or empty when the recipient knows it.
    pub system_title: Vec<u8>,
    /// SC || IC.
    pub security_header: SecurityHeader,
    /// Ciphertext || tag, plaintext || tag, or ciphertext (by the security control).
    pub ciphered_information: Vec<u8>,
}

/// Any ciphered APDU handled by security suite 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CipheredApdu {
    /// glo-/ded- service-specific ciphering.
    ServiceSpecific(ServiceSpecificCiphered),
    /// general-glo-/general-ded-ciphering.
    General(GeneralCiphered),
}

impl CipheredApdu {
    /// The security header.
    pub fn security_header(&self) -> SecurityHeader {
        match self {
            CipheredApdu::ServiceSpecific(a) => a.security_header,
            CipheredApdu::General(a) => a.security_header,
        }
    }

    /// The ciphered information after the security header.
    pub fn ciphered_information(&self) -> &[u8] {
        match self {
            CipheredApdu::ServiceSpecific(a) => &a.ciphered_information,
            CipheredApdu::General(a) => &a.ciphered_information,
        }
    }

    /// glo- or ded-.
    pub fn scope(&self) -> KeyScope {
        match self {
            CipheredApdu::ServiceSpecific(a) => a.scope,
            CipheredApdu::General(a) => a.scope,
        }
    }

    /// The APDU tag.
    pub fn tag(&self) -> u8 {
        match self {
            CipheredApdu::ServiceSpecific(a) => a.service.ciphered_tag(a.scope),
            CipheredApdu::General(a) => match a.scope {
                KeyScope::Global => tag::GENERAL_GLO_CIPHERING,
                KeyScope::Dedicated => tag::GENERAL_DED_CIPHERING,
            },
        }
    }
}

fn put_ciphered_content(out: &mut Vec<u8>, header: &SecurityHeader, info: &[u8]) {
    put_length(out, SecurityHeader::LEN + info.len());
    header.encode(out);
    out.extend_from_slice(info);
}

fn read_ciphered_content(r: &mut Reader<'_>, what: &'static str) -> Result<(SecurityHeader, Vec<u8>), DecodeError> {
    let len = r.length(what, 1)?;
    if len < SecurityHeader::LEN {
        return Err(DecodeError::invalid(what, format!("{len} byte(s): shorter than the 5-byte security header")));
    }
    let mut content = Reader::new(r.take(len, what)?);
    let header = SecurityHeader::decode(&mut content)?;
    Ok((header, content.take_rest().to_vec()))
}

impl Codec for ServiceSpecificCiphered {
    /// Appends `tag len SC IC info`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.service.ciphered_tag(self.scope));
        put_ciphered_content(out, &self.security_header, &self.ciphered_information);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] for a tag that is no glo-/ded- service tag;
    /// [`DecodeError::Truncated`]; [`DecodeError::Oversized`] when the length exceeds the
    /// input; [`DecodeError::Invalid`] when the content is shorter than the security
    /// header.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = r.u8("ciphered APDU tag")?;
        let (service, scope) =
            CipheredService::from_ciphered_tag(t).ok_or(DecodeError::UnknownTag { what: "ciphered APDU", tag: t })?;
        let (security_header, ciphered_information) = read_ciphered_content(r, "ciphered APDU content")?;
        Ok(ServiceSpecificCiphered { service, scope, security_header, ciphered_information })
    }
}

impl Codec for GeneralCiphered {
    /// Appends `DB|DC len system-title len SC IC info`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self.scope {
            KeyScope::Global => tag::GENERAL_GLO_CIPHERING,
            KeyScope::Dedicated => tag::GENERAL_DED_CIPHERING,
        });
        put_length(out, self.system_title.len());
        out.extend_from_slice(&self.system_title);
        put_ciphered_content(out, &self.security_header, &self.ciphered_information);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] unless the tag is `DB` or `DC`; otherwise as
    /// [`ServiceSpecificCiphered`].
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = r.u8("general ciphering tag")?;
        let scope = match t {
            tag::GENERAL_GLO_CIPHERING => KeyScope::Global,
            tag::GENERAL_DED_CIPHERING => KeyScope::Dedicated,
            _ => return Err(DecodeError::UnknownTag { what: "general ciphering APDU", tag: t }),
        };
        let st_len = r.length("general ciphering system-title", 1)?;
        let system_title = r.take(st_len, "general ciphering system-title")?.to_vec();
        let (security_header, ciphered_information) = read_ciphered_content(r, "general ciphering ciphered-content")?;
        Ok(GeneralCiphered { scope, system_title, security_header, ciphered_information })
    }
}

impl Codec for CipheredApdu {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            CipheredApdu::ServiceSpecific(a) => a.encode(out),
            CipheredApdu::General(a) => a.encode(out),
        }
    }

    /// # Errors
    /// [`DecodeError::Truncated`] on empty input; [`DecodeError::UnknownTag`] for a tag
    /// [`is_ciphered_tag`] rejects; the errors of the two forms.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.peek() {
            None => Err(DecodeError::Truncated { what: "ciphered APDU", needed: 1 }),
            Some(tag::GENERAL_GLO_CIPHERING | tag::GENERAL_DED_CIPHERING) => {
                Ok(CipheredApdu::General(GeneralCiphered::decode(r)?))
            }
            Some(_) => Ok(CipheredApdu::ServiceSpecific(ServiceSpecificCiphered::decode(r)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::security::control::SecurityControl;

    #[test]
    fn tag_table_is_consistent() {
        for (service, plain, glo, ded) in SERVICES {
            assert_eq!(CipheredService::from_plain_tag(plain), Some(service));
            assert_eq!(service.plain_tag(), plain);
            assert_eq!(CipheredService::from_ciphered_tag(glo), Some((service, KeyScope::Global)));
            assert_eq!(CipheredService::from_ciphered_tag(ded), Some((service, KeyScope::Dedicated)));
            assert!(is_ciphered_tag(glo) && is_ciphered_tag(ded));
        }
        assert!(is_ciphered_tag(0xDB) && is_ciphered_tag(0xDC));
        for t in [0x00, 0x01, 0xC0, 0xC6, 0xCE, 0xD6, 0xD8, 0xDD, 0x60] {
            assert!(!is_ciphered_tag(t), "{t:#x}");
        }
    }

    #[test]
    fn malformed_inputs_are_typed_errors() {
        assert!(matches!(CipheredApdu::from_bytes(&[]), Err(DecodeError::Truncated { .. })));
        assert!(matches!(CipheredApdu::from_bytes(&[0xC0, 0x00]), Err(DecodeError::UnknownTag { .. })));
        assert!(matches!(CipheredApdu::from_bytes(&[0xC8, 0x04, 0x30, 0, 0, 0]), Err(DecodeError::Invalid { .. })));
        assert!(matches!(CipheredApdu::from_bytes(&[0xC8, 0x10, 0x30]), Err(DecodeError::Oversized { .. })));
        assert!(matches!(CipheredApdu::from_bytes(&[0xDB, 0x08, 1, 2]), Err(DecodeError::Oversized { .. })));
        assert!(matches!(
            CipheredApdu::from_bytes(&[0xC8, 0x05, 0x30, 0, 0, 0, 1, 0xFF]),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    fn ciphered_apdu() -> impl Strategy<Value = CipheredApdu> {
        let header = (any::<u8>(), any::<u32>())
            .prop_map(|(sc, ic)| SecurityHeader { security_control: SecurityControl(sc), invocation_counter: ic });
        let scope = prop_oneof![Just(KeyScope::Global), Just(KeyScope::Dedicated)];
        let service = (0..SERVICES.len()).prop_map(|i| SERVICES[i].0);
        let info = prop::collection::vec(any::<u8>(), 0..300);
        prop_oneof![
            (service, scope.clone(), header.clone(), info.clone()).prop_map(
                |(service, scope, security_header, ciphered_information)| {
                    CipheredApdu::ServiceSpecific(ServiceSpecificCiphered {
                        service,
                        scope,
                        security_header,
                        ciphered_information,
                    })
                }
            ),
            (scope, prop::collection::vec(any::<u8>(), 0..20), header, info).prop_map(
                |(scope, system_title, security_header, ciphered_information)| {
                    CipheredApdu::General(GeneralCiphered {
                        scope,
                        system_title,
                        security_header,
                        ciphered_information,
                    })
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn round_trips_and_truncations_fail(apdu in ciphered_apdu()) {
            let bytes = apdu.to_bytes();
            prop_assert_eq!(bytes[0], apdu.tag());
            prop_assert_eq!(CipheredApdu::from_bytes(&bytes).unwrap(), apdu);
            for n in 0..bytes.len() {
                prop_assert!(CipheredApdu::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = CipheredApdu::from_bytes(&bytes);
        }
    }
}
