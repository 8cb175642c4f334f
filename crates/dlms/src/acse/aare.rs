//! The AARE APDU, A-ASSOCIATE response (IEC 62056-5-3 §9.4.2.2 and the ACSE ASN.1 of
//! §9.5 / ISO/IEC 8650-1), BER encoded:
//!
//! ```text
//! AARE-apdu ::= [APPLICATION 1] IMPLICIT SEQUENCE {                  -- 61 len
//!   protocol-version                [0]  IMPLICIT BIT STRING DEFAULT {version1}, -- 80
//!   application-context-name        [1]  OBJECT IDENTIFIER,                      -- A1
//!   result                          [2]  Association-result,                     -- A2
//!   result-source-diagnostic        [3]  Associate-source-diagnostic,            -- A3
//!   responding-AP-title             [4]  OPTIONAL,  -- server system title        A4
//!   responding-AE-qualifier         [5]  OPTIONAL,  -- server certificate         A5
//!   responding-AP-invocation-id     [6]  OPTIONAL,  responding-AE-invocation-id [7] OPTIONAL,
//!   responder-acse-requirements     [8]  IMPLICIT ACSE-requirements OPTIONAL,    -- 88
//!   mechanism-name                  [9]  IMPLICIT Mechanism-name OPTIONAL,       -- 89
//!   responding-authentication-value [10] EXPLICIT Authentication-value OPTIONAL, -- AA
//!   implementation-information      [29] IMPLICIT GraphicString OPTIONAL,        -- 9D
//!   user-information                [30] EXPLICIT Association-information OPTIONAL } -- BE
//! ```

use serde::Serialize;

use crate::acse::authentication::{AcseRequirements, AuthenticationValue};
use crate::acse::ber;
use crate::acse::context::ApplicationContextName;
use crate::acse::diagnostic::{AcseServiceUserDiagnostic, AssociateSourceDiagnostic, AssociationResult};
use crate::acse::fields::{self, set_once};
use crate::acse::mechanism::MechanismName;
use crate::acse::user_information::UserInformation;
use crate::codec::{Codec, DecodeError, Reader};
use crate::data::BitString;
use crate::xdlms::initiate::InitiateResponse;
use crate::xdlms::service_error::{ConfirmedServiceError, InitiateError};

/// BER identifier of the AARE APDU (`[APPLICATION 1]` constructed).
pub const AARE_TAG: u8 = 0x61;

/// The AARE, the server's answer to an AARQ (IEC 62056-5-3 §9.4.2.2). Unknown elements
/// are skipped when decoding. AP titles / AE qualifiers and invocation ids are held as
/// in [`crate::acse::Aarq`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Aare {
    /// `[0]` protocol version (normally absent).
    pub protocol_version: Option<BitString>,
    /// `[1]` the application context (the proposed one when accepted; the server's own
    /// when refusing an unsupported one).
    pub application_context_name: ApplicationContextName,
    /// `[2]` accepted / rejected.
    pub result: AssociationResult,
    /// `[3]` why (with HLS, an accepted AARE carries `authentication-required`).
    pub result_source_diagnostic: AssociateSourceDiagnostic,
    /// `[4]` responding-AP-title: the server's system title (8 bytes) with ciphered
    /// contexts and HLS mechanisms 5-7.
    pub responding_ap_title: Option<Vec<u8>>,
    /// `[5]` responding-AE-qualifier (the server's signing certificate).
    pub responding_ae_qualifier: Option<Vec<u8>>,
    /// `[6]` responding-AP-invocation-id.
    pub responding_ap_invocation_id: Option<i64>,
    /// `[7]` responding-AE-invocation-id.
    pub responding_ae_invocation_id: Option<i64>,
    /// `[8]` responder-acse-requirements (authentication bit with HLS).
    pub responder_acse_requirements: Option<AcseRequirements>,
    /// `[9]` mechanism-name (echoed with HLS).
    pub mechanism_name: Option<MechanismName>,
    /// `[10]` responding-authentication-value: the HLS server challenge StoC.
    pub responding_authentication_value: Option<AuthenticationValue>,
    /// `[29]` implementation-information (GraphicString bytes).
    pub implementation_information: Option<Vec<u8>>,
    /// `[30]` user-information: InitiateResponse (accepted), ConfirmedServiceError
    /// (refused InitiateRequest), or their ciphered forms.
    pub user_information: Option<UserInformation>,
}

impl Aare {
    /// An AARE with the given outcome and every optional field absent.
    pub fn new(
        application_context_name: ApplicationContextName,
        result: AssociationResult,
        result_source_diagnostic: AssociateSourceDiagnostic,
        user_information: Option<UserInformation>,
    ) -> Self {
        Aare {
            protocol_version: None,
            application_context_name,
            result,
            result_source_diagnostic,
            responding_ap_title: None,
            responding_ae_qualifier: None,
            responding_ap_invocation_id: None,
            responding_ae_invocation_id: None,
            responder_acse_requirements: None,
            mechanism_name: None,
            responding_authentication_value: None,
            implementation_information: None,
            user_information,
        }
    }

    /// Accepted (`result 0`, `acse-service-user: null`) with the InitiateResponse:
    /// `61 29 A1 09 … A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 …` for the LN
    /// no-ciphering context.
    pub fn accepted(context: ApplicationContextName, initiate: InitiateResponse) -> Self {
        Aare::new(
            context,
            AssociationResult::Accepted,
            AssociateSourceDiagnostic::ACCEPTED,
            Some(UserInformation::InitiateResponse(initiate)),
        )
    }

    /// Accepted pending HLS authentication: `acse-service-user:
    /// authentication-required (14)`, responder ACSE requirements with the
    /// authentication bit, the echoed `mechanism` and the server challenge `stoc`.
    pub fn authentication_required(
        context: ApplicationContextName,
        mechanism: MechanismName,
        stoc: Vec<u8>,
        initiate: InitiateResponse,
    ) -> Self {
        let mut aare = Aare::accepted(context, initiate);
        aare.result_source_diagnostic =
            AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationRequired);
        aare.responder_acse_requirements = Some(AcseRequirements::AUTHENTICATION);
        aare.mechanism_name = Some(mechanism);
        aare.responding_authentication_value = Some(AuthenticationValue::CharString(stoc));
        aare
    }

    /// Rejected (`result 1` rejected-permanent) with an `acse-service-user`
    /// diagnostic and no user-information, e.g. for an unsupported application context
    /// (`ApplicationContextNameNotSupported`) or a wrong LLS password
    /// (`AuthenticationFailure`).
    pub fn rejected(context: ApplicationContextName, diagnostic: AcseServiceUserDiagnostic) -> Self {
        Aare::new(
            context,
            AssociationResult::RejectedPermanent,
            AssociateSourceDiagnostic::ServiceUser(diagnostic),
            None,
        )
    }

    /// Rejected because the InitiateRequest is refused: rejected-permanent,
    /// `acse-service-user: no-reason-given` and a ConfirmedServiceError
    /// `initiateError/initiate: reason` (`BE 06 04 04 0E 01 06 <reason>`).
    pub fn initiate_refused(context: ApplicationContextName, reason: InitiateError) -> Self {
        Aare::new(
            context,
            AssociationResult::RejectedPermanent,
            AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::NoReasonGiven),
            Some(UserInformation::ConfirmedServiceError(ConfirmedServiceError::initiate(reason))),
        )
    }

    /// Sets the responding-AP-title (the server system title, 8 bytes).
    pub fn with_responding_ap_title(mut self, system_title: [u8; 8]) -> Self {
        self.responding_ap_title = Some(system_title.to_vec());
        self
    }

    /// Replaces the user-information (e.g. with a ciphered glo-initiateResponse).
    pub fn with_user_information(mut self, user_information: UserInformation) -> Self {
        self.user_information = Some(user_information);
        self
    }

    /// True when `result` is accepted.
    pub fn is_accepted(&self) -> bool {
        self.result == AssociationResult::Accepted
    }

    /// The plain InitiateResponse in the user-information, if any.
    pub fn initiate_response(&self) -> Option<&InitiateResponse> {
        self.user_information.as_ref().and_then(UserInformation::initiate_response)
    }

    fn encode_content(&self, c: &mut Vec<u8>) {
        if let Some(v) = &self.protocol_version {
            fields::put_protocol_version(c, v);
        }
        fields::put_context_name(c, &self.application_context_name);
        ber::put_constructed(c, 0xA2, |cc| ber::put_integer(cc, self.result as i64));
        let (choice, value) = self.result_source_diagnostic.parts();
        ber::put_constructed(c, 0xA3, |cc| ber::put_constructed(cc, choice, |ccc| ber::put_integer(ccc, value)));
        if let Some(v) = &self.responding_ap_title {
            fields::put_octet_title(c, 0xA4, v);
        }
        if let Some(v) = &self.responding_ae_qualifier {
            fields::put_octet_title(c, 0xA5, v);
        }
        if let Some(v) = self.responding_ap_invocation_id {
            fields::put_invocation_id(c, 0xA6, v);
        }
        if let Some(v) = self.responding_ae_invocation_id {
            fields::put_invocation_id(c, 0xA7, v);
        }
        if let Some(v) = self.responder_acse_requirements {
            ber::put_tlv(c, 0x88, &v.content());
        }
        if let Some(v) = &self.mechanism_name {
            fields::put_mechanism_name(c, 0x89, v);
        }
        if let Some(v) = &self.responding_authentication_value {
            ber::put_constructed(c, 0xAA, |cc| v.encode_inner(cc));
        }
        if let Some(v) = &self.implementation_information {
            ber::put_tlv(c, 0x9D, v);
        }
        if let Some(v) = &self.user_information {
            v.encode_field(c);
        }
    }
}

fn parse_diagnostic(content: &[u8]) -> Result<AssociateSourceDiagnostic, DecodeError> {
    let what = "AARE result-source-diagnostic";
    let mut r = Reader::new(content);
    let choice = ber::read_tlv(&mut r, what)?;
    r.expect_end(what)?;
    let value = ber::parse_explicit_integer(choice.content, what)?;
    AssociateSourceDiagnostic::from_parts(choice.identifier, value)
}

impl Codec for Aare {
    /// Appends `61 len` and the present fields in tag order.
    fn encode(&self, out: &mut Vec<u8>) {
        ber::put_constructed(out, AARE_TAG, |c| self.encode_content(c));
    }

    /// Decodes one AARE. Fields may come in any order; unknown elements are skipped.
    ///
    /// # Errors
    /// [`DecodeError::UnknownTag`] when the APDU is not `61` or a field has an
    /// unexpected inner element; [`DecodeError::Truncated`]; [`DecodeError::Invalid`]
    /// when application-context-name, result or result-source-diagnostic is missing, a
    /// field occurs twice, or a value is undefined; the errors of the user-information
    /// APDU.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content = ber::expect_tlv(r, AARE_TAG, "AARE")?;
        let mut r = Reader::new(content);
        let mut protocol_version = None;
        let mut context = None;
        let mut result = None;
        let mut diagnostic = None;
        let mut responding_ap_title = None;
        let mut responding_ae_qualifier = None;
        let mut responding_ap_invocation_id = None;
        let mut responding_ae_invocation_id = None;
        let mut responder_acse_requirements = None;
        let mut mechanism_name = None;
        let mut responding_authentication_value = None;
        let mut implementation_information = None;
        let mut user_information = None;
        while !r.is_empty() {
            let tlv = ber::read_tlv(&mut r, "AARE field")?;
            let c = tlv.content;
            match tlv.identifier {
                0x80 => set_once(
                    &mut protocol_version,
                    ber::parse_bit_string(c, "AARE protocol-version")?,
                    "AARE protocol-version",
                )?,
                0xA1 => set_once(&mut context, fields::parse_context_name(c)?, "AARE application-context-name")?,
                0xA2 => {
                    let v = ber::parse_explicit_integer(c, "AARE result")?;
                    set_once(&mut result, AssociationResult::from_value(v)?, "AARE result")?
                }
                0xA3 => set_once(&mut diagnostic, parse_diagnostic(c)?, "AARE result-source-diagnostic")?,
                0xA4 => set_once(
                    &mut responding_ap_title,
                    fields::parse_octet_title(c, "AARE responding-AP-title")?,
                    "AARE responding-AP-title",
                )?,
                0xA5 => set_once(
                    &mut responding_ae_qualifier,
                    fields::parse_octet_title(c, "AARE responding-AE-qualifier")?,
                    "AARE responding-AE-qualifier",
                )?,
                0xA6 => set_once(
                    &mut responding_ap_invocation_id,
                    ber::parse_explicit_integer(c, "AARE responding-AP-invocation-id")?,
                    "AARE responding-AP-invocation-id",
                )?,
                0xA7 => set_once(
                    &mut responding_ae_invocation_id,
                    ber::parse_explicit_integer(c, "AARE responding-AE-invocation-id")?,
                    "AARE responding-AE-invocation-id",
                )?,
                0x88 => set_once(
                    &mut responder_acse_requirements,
                    AcseRequirements::parse(c, "AARE responder-acse-requirements")?,
                    "AARE responder-acse-requirements",
                )?,
                0x89 => set_once(&mut mechanism_name, fields::parse_mechanism_name(c)?, "AARE mechanism-name")?,
                0xAA => set_once(
                    &mut responding_authentication_value,
                    AuthenticationValue::parse(c, "AARE responding-authentication-value")?,
                    "AARE responding-authentication-value",
                )?,
                0x9D => set_once(&mut implementation_information, c.to_vec(), "AARE implementation-information")?,
                0xBE => set_once(&mut user_information, UserInformation::parse_field(c)?, "AARE user-information")?,
                _ => {} // unknown optional element: skipped
            }
        }
        let missing = |field: &str| DecodeError::invalid("AARE", format!("{field} missing"));
        Ok(Aare {
            protocol_version,
            application_context_name: context.ok_or_else(|| missing("application-context-name [1]"))?,
            result: result.ok_or_else(|| missing("result [2]"))?,
            result_source_diagnostic: diagnostic.ok_or_else(|| missing("result-source-diagnostic [3]"))?,
            responding_ap_title,
            responding_ae_qualifier,
            responding_ap_invocation_id,
            responding_ae_invocation_id,
            responder_acse_requirements,
            mechanism_name,
            responding_authentication_value,
            implementation_information,
            user_information,
        })
    }
}
