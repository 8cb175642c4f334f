//! The AARQ APDU, A-ASSOCIATE request (IEC 62056-5-3 §9.4.2.2 and the ACSE ASN.1 of
//! §9.5 / ISO/IEC 8650-1), BER encoded:
//!
//! ```text
//! AARQ-apdu ::= [APPLICATION 0] IMPLICIT SEQUENCE {                  -- 60 len
//!   protocol-version              [0]  IMPLICIT BIT STRING DEFAULT {version1},  -- 80
//!   application-context-name      [1]  OBJECT IDENTIFIER,                       -- A1
//!   called-AP-title               [2]  OPTIONAL,  called-AE-qualifier     [3]  OPTIONAL,
//!   called-AP-invocation-id       [4]  OPTIONAL,  called-AE-invocation-id [5]  OPTIONAL,
//!   calling-AP-title              [6]  OPTIONAL,  -- client system title     A6
//!   calling-AE-qualifier          [7]  OPTIONAL,  -- client certificate      A7
//!   calling-AP-invocation-id      [8]  OPTIONAL,  calling-AE-invocation-id [9] OPTIONAL,
//!   sender-acse-requirements      [10] IMPLICIT ACSE-requirements OPTIONAL,     -- 8A
//!   mechanism-name                [11] IMPLICIT Mechanism-name OPTIONAL,        -- 8B
//!   calling-authentication-value  [12] EXPLICIT Authentication-value OPTIONAL,  -- AC
//!   implementation-information    [29] IMPLICIT GraphicString OPTIONAL,         -- 9D
//!   user-information              [30] EXPLICIT Association-information OPTIONAL } -- BE
//! ```

use serde::Serialize;

use crate::acse::authentication::{AcseRequirements, AuthenticationValue};
use crate::acse::ber;
use crate::acse::context::ApplicationContextName;
use crate::acse::fields::{self, set_once};
use crate::acse::mechanism::MechanismName;
use crate::acse::user_information::UserInformation;
use crate::codec::{Codec, DecodeError, Reader};
use crate::data::BitString;
use crate::xdlms::initiate::InitiateRequest;

/// BER identifier of the AARQ APDU (`[APPLICATION 0]` constructed).
pub const AARQ_TAG: u8 = 0x60;

/// The AARQ, the client's request to open an application association
/// (IEC 62056-5-3 §9.4.2.2). Optional fields not used by DLMS/COSEM are kept so that
/// any AARQ decodes; unknown elements are skipped.
///
/// AP titles and AE qualifiers are the bytes of their inner OCTET STRING (the 8-byte
/// system title; the AE qualifier may carry a public key certificate); invocation
/// identifiers are the value of their inner INTEGER (the calling-AE-invocation-id
/// carries the user id when user identification is used).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Aarq {
    /// `[0]` protocol version; DLMS clients either omit it or send `{version1}`
    /// (one bit, set: `80 02 07 80`).
    pub protocol_version: Option<BitString>,
    /// `[1]` the proposed application context (referencing and ciphering).
    pub application_context_name: ApplicationContextName,
    /// `[2]` called-AP-title.
    pub called_ap_title: Option<Vec<u8>>,
    /// `[3]` called-AE-qualifier.
    pub called_ae_qualifier: Option<Vec<u8>>,
    /// `[4]` called-AP-invocation-id.
    pub called_ap_invocation_id: Option<i64>,
    /// `[5]` called-AE-invocation-id.
    pub called_ae_invocation_id: Option<i64>,
    /// `[6]` calling-AP-title: the client's system title (8 bytes) with ciphered
    /// contexts and HLS mechanisms 5-7.
    pub calling_ap_title: Option<Vec<u8>>,
    /// `[7]` calling-AE-qualifier (the client's signing certificate, for suite 1/2).
    pub calling_ae_qualifier: Option<Vec<u8>>,
    /// `[8]` calling-AP-invocation-id.
    pub calling_ap_invocation_id: Option<i64>,
    /// `[9]` calling-AE-invocation-id (user id).
    pub calling_ae_invocation_id: Option<i64>,
    /// `[10]` sender-acse-requirements: present with the authentication bit whenever a
    /// mechanism name is sent.
    pub sender_acse_requirements: Option<AcseRequirements>,
    /// `[11]` mechanism-name: the proposed authentication mechanism.
    pub mechanism_name: Option<MechanismName>,
    /// `[12]` calling-authentication-value: the LLS password or the HLS challenge CtoS.
    pub calling_authentication_value: Option<AuthenticationValue>,
    /// `[29]` implementation-information (GraphicString bytes).
    pub implementation_information: Option<Vec<u8>>,
    /// `[30]` user-information: the xDLMS InitiateRequest, plain or ciphered.
    pub user_information: Option<UserInformation>,
}

impl Aarq {
    /// An AARQ with the given context and user-information and every other field absent
    /// (lowest level security: no mechanism name).
    pub fn new(application_context_name: ApplicationContextName, user_information: UserInformation) -> Self {
        Aarq {
            protocol_version: None,
            application_context_name,
            called_ap_title: None,
            called_ae_qualifier: None,
            called_ap_invocation_id: None,
            called_ae_invocation_id: None,
            calling_ap_title: None,
            calling_ae_qualifier: None,
            calling_ap_invocation_id: None,
            calling_ae_invocation_id: None,
            sender_acse_requirements: None,
            mechanism_name: None,
            calling_authentication_value: None,
            implementation_information: None,
            user_information: Some(user_information),
        }
    }

    /// Lowest level security (no authentication) with a plain InitiateRequest in the
    /// logical-name, no-ciphering context: `60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10
    /// 04 0E <InitiateRequest>` for a 14-byte InitiateRequest.
    pub fn no_authentication(initiate: InitiateRequest) -> Self {
        Aarq::new(ApplicationContextName::LogicalNameNoCiphering, UserInformation::InitiateRequest(initiate))
    }

    /// Low level security (mechanism 1) with `password` as the calling authentication
    /// value, logical-name no-ciphering context: sets `[10] 07 80`, `[11] …02 01` and
    /// `[12] 80 len <password>`.
    pub fn low_level_security(password: &[u8], initiate: InitiateRequest) -> Self {
        Aarq::no_authentication(initiate).with_authentication(MechanismName::Lls, password.to_vec())
    }

    /// High level security with `mechanism` (2..=7) and the client challenge `ctos`
    /// (typically 8 to 64 random bytes) as the calling authentication value.
    pub fn high_level_security(mechanism: MechanismName, ctos: Vec<u8>, initiate: InitiateRequest) -> Self {
        Aarq::no_authentication(initiate).with_authentication(mechanism, ctos)
    }

    /// Sets the ACSE requirements (authentication), the mechanism name and a
    /// `charstring` calling authentication value.
    pub fn with_authentication(mut self, mechanism: MechanismName, value: Vec<u8>) -> Self {
        self.sender_acse_requirements = Some(AcseRequirements::AUTHENTICATION);
        self.mechanism_name = Some(mechanism);
        self.calling_authentication_value = Some(AuthenticationValue::CharString(value));
        self
    }

    /// Sets the calling-AP-title (the client system title, 8 bytes).
    pub fn with_calling_ap_title(mut self, system_title: [u8; 8]) -> Self {
        self.calling_ap_title = Some(system_title.to_vec());
        self
    }

    /// Replaces the application context name.
    pub fn with_context(mut self, context: ApplicationContextName) -> Self {
        self.application_context_name = context;
        self
    }

    /// Replaces the user-information (e.g. with a ciphered glo-initiateRequest).
    pub fn with_user_information(mut self, user_information: UserInformation) -> Self {
        self.user_information = Some(user_information);
        self
    }

    /// The plain InitiateRequest in the user-information, if any.
    pub fn initiate_request(&self) -> Option<&InitiateRequest> {
        self.user_information.as_ref().and_then(UserInformation::initiate_request)
    }

    fn encode_content(&self, c: &mut Vec<u8>) {
        if let Some(v) = &self.protocol_version {
            fields::put_protocol_version(c, v);
        }
        fields::put_context_name(c, &self.application_context_name);
        if let Some(v) = &self.called_ap_title {
            fields::put_octet_title(c, 0xA2, v);
        }
        if let Some(v) = &self.called_ae_qualifier {
            fields::put_octet_title(c, 0xA3, v);
        }
        if let Some(v) = self.called_ap_invocation_id {
            fields::put_invocation_id(c, 0xA4, v);
        }
        if let Some(v) = self.called_ae_invocation_id {
            fields::put_invocation_id(c, 0xA5, v);
        }
        if let Some(v) = &self.calling_ap_title {
            fields::put_octet_title(c, 0xA6, v);
        }
        if let Some(v) = &self.calling_ae_qualifier {
            fields::put_octet_title(c, 0xA7, v);
        }
        if let Some(v) = self.calling_ap_invocation_id {
            fields::put_invocation_id(c, 0xA8, v);
        }
        if let Some(v) = self.calling_ae_invocation_id {
            fields::put_invocation_id(c, 0xA9, v);
        }
        if let Some(v) = self.sender_acse_requirements {
            ber::put_tlv(c, 0x8A, &v.content());
        }
        if let Some(v) = &self.mechanism_name {
            fields::put_mechanism_name(c, 0x8B, v);
        }
        if let Some(v) = &self.calling_authentication_value {
            ber::put_constructed(c, 0xAC, |cc| v.encode_inner(cc));
        }
        if let Some(v) = &self.implementation_information {
            ber::put_tlv(c, 0x9D, v);
        }
        if let Some(v) = &self.user_information {
            v.encode_field(c);
        }
    }
}

impl Codec for Aarq {
    /// Appends `60 len` and the present fields in tag order.
    fn encode(&self, out: &mut Vec<u8>) {
        ber::put_constructed(out, AARQ_TAG, |c| self.encode_content(c));
    }

    /// Decodes one AARQ. Fields may come in any order; unknown elements are skipped.
    ///
    /// # Errors
    /// [`DecodeError::UnknownTag`] when the APDU is not `60`, or a field has an
    /// unexpected inner element; [`DecodeError::Truncated`] when the input ends inside
    /// the APDU; [`DecodeError::Invalid`] when the application-context-name is missing,
    /// a field occurs twice, or a field is malformed (e.g. an indefinite length); the
    /// errors of the user-information APDU.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content = ber::expect_tlv(r, AARQ_TAG, "AARQ")?;
        let mut r = Reader::new(content);
        let mut protocol_version = None;
        let mut context = None;
        let mut called_ap_title = None;
        let mut called_ae_qualifier = None;
        let mut called_ap_invocation_id = None;
        let mut called_ae_invocation_id = None;
        let mut calling_ap_title = None;
        let mut calling_ae_qualifier = None;
        let mut calling_ap_invocation_id = None;
        let mut calling_ae_invocation_id = None;
        let mut sender_acse_requirements = None;
        let mut mechanism_name = None;
        let mut calling_authentication_value = None;
        let mut implementation_information = None;
        let mut user_information = None;
        while !r.is_empty() {
            let tlv = ber::read_tlv(&mut r, "AARQ field")?;
            let c = tlv.content;
            match tlv.identifier {
                0x80 => set_once(
                    &mut protocol_version,
                    ber::parse_bit_string(c, "AARQ protocol-version")?,
                    "AARQ protocol-version",
                )?,
                0xA1 => set_once(&mut context, fields::parse_context_name(c)?, "AARQ application-context-name")?,
                0xA2 => set_once(
                    &mut called_ap_title,
                    fields::parse_octet_title(c, "AARQ called-AP-title")?,
                    "AARQ called-AP-title",
                )?,
                0xA3 => set_once(
                    &mut called_ae_qualifier,
                    fields::parse_octet_title(c, "AARQ called-AE-qualifier")?,
                    "AARQ called-AE-qualifier",
                )?,
                0xA4 => set_once(
                    &mut called_ap_invocation_id,
                    ber::parse_explicit_integer(c, "AARQ called-AP-invocation-id")?,
                    "AARQ called-AP-invocation-id",
                )?,
                0xA5 => set_once(
                    &mut called_ae_invocation_id,
                    ber::parse_explicit_integer(c, "AARQ called-AE-invocation-id")?,
                    "AARQ called-AE-invocation-id",
                )?,
                0xA6 => set_once(
                    &mut calling_ap_title,
                    fields::parse_octet_title(c, "AARQ calling-AP-title")?,
                    "AARQ calling-AP-title",
                )?,
                0xA7 => set_once(
                    &mut calling_ae_qualifier,
                    fields::parse_octet_title(c, "AARQ calling-AE-qualifier")?,
                    "AARQ calling-AE-qualifier",
                )?,
                0xA8 => set_once(
                    &mut calling_ap_invocation_id,
                    ber::parse_explicit_integer(c, "AARQ calling-AP-invocation-id")?,
                    "AARQ calling-AP-invocation-id",
                )?,
                0xA9 => set_once(
                    &mut calling_ae_invocation_id,
                    ber::parse_explicit_integer(c, "AARQ calling-AE-invocation-id")?,
                    "AARQ calling-AE-invocation-id",
                )?,
                0x8A => set_once(
                    &mut sender_acse_requirements,
                    AcseRequirements::parse(c, "AARQ sender-acse-requirements")?,
                    "AARQ sender-acse-requirements",
                )?,
                0x8B => set_once(&mut mechanism_name, fields::parse_mechanism_name(c)?, "AARQ mechanism-name")?,
                0xAC => set_once(
                    &mut calling_authentication_value,
                    AuthenticationValue::parse(c, "AARQ calling-authentication-value")?,
                    "AARQ calling-authentication-value",
                )?,
                0x9D => set_once(&mut implementation_information, c.to_vec(), "AARQ implementation-information")?,
                0xBE => set_once(&mut user_information, UserInformation::parse_field(c)?, "AARQ user-information")?,
                _ => {} // unknown optional element: skipped
            }
        }
        let application_context_name =
            context.ok_or_else(|| DecodeError::invalid("AARQ", "application-context-name [1] missing"))?;
        Ok(Aarq {
            protocol_version,
            application_context_name,
            called_ap_title,
            called_ae_qualifier,
            called_ap_invocation_id,
            called_ae_invocation_id,
            calling_ap_title,
            calling_ae_qualifier,
            calling_ap_invocation_id,
            calling_ae_invocation_id,
            sender_acse_requirements,
            mechanism_name,
            calling_authentication_value,
            implementation_information,
            user_information,
        })
    }
}
