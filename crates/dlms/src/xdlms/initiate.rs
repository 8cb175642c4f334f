//! The xDLMS `InitiateRequest` and `InitiateResponse` APDUs (IEC 62056-5-3 §9.3.2 and the
//! §9.5 ASN.1), A-XDR encoded and carried in the user-information field of the ACSE
//! AARQ and AARE (see [`crate::acse`]).
//!
//! ```text
//! InitiateRequest ::= SEQUENCE {                            -- tag 0x01
//!     dedicated-key                 OCTET STRING OPTIONAL,
//!     response-allowed              BOOLEAN DEFAULT TRUE,
//!     proposed-quality-of-service   [0] IMPLICIT Integer8 OPTIONAL,
//!     proposed-dlms-version-number  Unsigned8,
//!     proposed-conformance          Conformance,            -- 5F 1F 04 00 xx xx xx
//!     client-max-receive-pdu-size   Unsigned16 }
//! InitiateResponse ::= SEQUENCE {                           -- tag 0x08
//!     negotiated-quality-of-service [0] IMPLICIT Integer8 OPTIONAL,
//!     negotiated-dlms-version-number Unsigned8,
//!     negotiated-conformance        Conformance,
//!     server-max-receive-pdu-size   Unsigned16,
//!     vaa-name                      ObjectName }            -- Integer16
//! ```
//!
//! A-XDR encodes OPTIONAL as a presence byte (`00` absent, `01` present, then the value)
//! and DEFAULT as `00` for "the default value" or `01` followed by the value.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::xdlms::conformance::Conformance;

/// xDLMS APDU tag of `initiateRequest` (IEC 62056-5-3 §9.5).
pub const INITIATE_REQUEST_TAG: u8 = 0x01;
/// xDLMS APDU tag of `initiateResponse` (IEC 62056-5-3 §9.5).
pub const INITIATE_RESPONSE_TAG: u8 = 0x08;
/// The DLMS version number of the current standard (IEC 62056-5-3: version 6).
pub const DLMS_VERSION: u8 = 6;
/// `vaa-name` of an association using logical-name referencing (IEC 62056-5-3 §9.3.2).
pub const VAA_NAME_LN: i16 = 0x0007;
/// `vaa-name` of an association using short-name referencing (base name of the
/// current Association SN object, 0xFA00).
pub const VAA_NAME_SN: i16 = 0xFA00_u16 as i16;

/// The xDLMS InitiateRequest (IEC 62056-5-3 §9.3.2): what the client proposes when it
/// opens an application association.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct InitiateRequest {
    /// The dedicated (session) key for ded-ciphering, when the client proposes one
    /// (16 bytes for security suites 0 and 1). Only sent inside a ciphered
    /// glo-initiateRequest.
    pub dedicated_key: Option<Vec<u8>>,
    /// Whether the server shall answer confirmed services (`DEFAULT TRUE`; `false`
    /// makes the association one-way, for broadcast).
    pub response_allowed: bool,
    /// Proposed quality of service (Integer8; not used by DLMS/COSEM, normally absent).
    pub proposed_quality_of_service: Option<i8>,
    /// Proposed DLMS version number ([`DLMS_VERSION`] = 6).
    pub proposed_dlms_version_number: u8,
    /// The services the client proposes to use.
    pub proposed_conformance: Conformance,
    /// The largest APDU in bytes the client can receive (0 = no limit is not allowed;
    /// values below 12 are refused by servers; 0xFFFF is common).
    pub client_max_receive_pdu_size: u16,
}

impl InitiateRequest {
    /// A request with DLMS version 6, response allowed, no dedicated key and no quality
    /// of service.
    pub fn new(proposed_conformance: Conformance, client_max_receive_pdu_size: u16) -> Self {
        InitiateRequest {
            dedicated_key: None,
            response_allowed: true,
            proposed_quality_of_service: None,
            proposed_dlms_version_number: DLMS_VERSION,
            proposed_conformance,
            client_max_receive_pdu_size,
        }
    }
}

/// The xDLMS InitiateResponse (IEC 62056-5-3 §9.3.2): what the server accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct InitiateResponse {
    /// Negotiated quality of service (Integer8; normally absent).
    pub negotiated_quality_of_service: Option<i8>,
    /// Negotiated DLMS version number (6).
    pub negotiated_dlms_version_number: u8,
    /// The services the server grants (a subset of the proposal).
    pub negotiated_conformance: Conformance,
    /// The largest APDU in bytes the server can receive.
    pub server_max_receive_pdu_size: u16,
    /// `vaa-name`: [`VAA_NAME_LN`] (0x0007) for logical-name referencing,
    /// the Association SN base name ([`VAA_NAME_SN`], 0xFA00) for short-name referencing.
    pub vaa_name: i16,
}

impl InitiateResponse {
    /// A logical-name-referencing response: DLMS version 6, no quality of service,
    /// `vaa-name` 0x0007.
    pub fn new(negotiated_conformance: Conformance, server_max_receive_pdu_size: u16) -> Self {
        InitiateResponse {
            negotiated_quality_of_service: None,
            negotiated_dlms_version_number: DLMS_VERSION,
            negotiated_conformance,
            server_max_receive_pdu_size,
            vaa_name: VAA_NAME_LN,
        }
    }
}

fn put_optional_i8(out: &mut Vec<u8>, v: Option<i8>) {
    match v {
        None => out.push(0),
        Some(q) => out.extend_from_slice(&[1, q as u8]),
    }
}

fn read_presence(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError::invalid(what, format!("A-XDR presence flag {other:#04X}, expected 0 or 1"))),
    }
}

fn read_optional_i8(r: &mut Reader<'_>, what: &'static str) -> Result<Option<i8>, DecodeError> {
    if read_presence(r, what)? { Ok(Some(r.u8(what)? as i8)) } else { Ok(None) }
}

fn expect_tag(r: &mut Reader<'_>, tag: u8, what: &'static str) -> Result<(), DecodeError> {
    let t = r.u8(what)?;
    if t == tag { Ok(()) } else { Err(DecodeError::UnknownTag { what, tag: t }) }
}

impl Codec for InitiateRequest {
    /// Appends `01`, the optional fields and the fixed fields (see the module docs).
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(INITIATE_REQUEST_TAG);
        match &self.dedicated_key {
            None => out.push(0),
            Some(key) => {
                out.push(1);
                put_length(out, key.len());
                out.extend_from_slice(key);
            }
        }
        if self.response_allowed {
            out.push(0); // DEFAULT TRUE
        } else {
            out.extend_from_slice(&[1, 0]);
        }
        put_optional_i8(out, self.proposed_quality_of_service);
        out.push(self.proposed_dlms_version_number);
        self.proposed_conformance.encode(out);
        out.extend_from_slice(&self.client_max_receive_pdu_size.to_be_bytes());
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] when the first byte is not `01`;
    /// [`DecodeError::Truncated`]; [`DecodeError::Oversized`] for a dedicated-key
    /// length beyond the input; [`DecodeError::Invalid`] for a presence flag other than
    /// 0/1 or a malformed conformance block.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_tag(r, INITIATE_REQUEST_TAG, "InitiateRequest")?;
        let dedicated_key = if read_presence(r, "InitiateRequest dedicated-key")? {
            let len = r.length("InitiateRequest dedicated-key", 1)?;
            Some(r.take(len, "InitiateRequest dedicated-key")?.to_vec())
        } else {
            None
        };
        let response_allowed = if read_presence(r, "InitiateRequest response-allowed")? {
            r.u8("InitiateRequest response-allowed")? != 0
        } else {
            true
        };
        let proposed_quality_of_service = read_optional_i8(r, "InitiateRequest proposed-quality-of-service")?;
        let proposed_dlms_version_number = r.u8("InitiateRequest proposed-dlms-version-number")?;
        let proposed_conformance = Conformance::decode(r)?;
        let client_max_receive_pdu_size = r.u16("InitiateRequest client-max-receive-pdu-size")?;
        Ok(InitiateRequest {
            dedicated_key,
            response_allowed,
            proposed_quality_of_service,
            proposed_dlms_version_number,
            proposed_conformance,
            client_max_receive_pdu_size,
        })
    }
}

impl Codec for InitiateResponse {
    /// Appends `08`, the optional quality of service and the fixed fields.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(INITIATE_RESPONSE_TAG);
        put_optional_i8(out, self.negotiated_quality_of_service);
        out.push(self.negotiated_dlms_version_number);
        self.negotiated_conformance.encode(out);
        out.extend_from_slice(&self.server_max_receive_pdu_size.to_be_bytes());
        out.extend_from_slice(&self.vaa_name.to_be_bytes());
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] when the first byte is not `08`;
    /// [`DecodeError::Truncated`]; [`DecodeError::Invalid`] for a presence flag other
    /// than 0/1 or a malformed conformance block.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_tag(r, INITIATE_RESPONSE_TAG, "InitiateResponse")?;
        let negotiated_quality_of_service = read_optional_i8(r, "InitiateResponse negotiated-quality-of-service")?;
        let negotiated_dlms_version_number = r.u8("InitiateResponse negotiated-dlms-version-number")?;
        let negotiated_conformance = Conformance::decode(r)?;
        let server_max_receive_pdu_size = r.u16("InitiateResponse server-max-receive-pdu-size")?;
        let vaa_name = r.u16("InitiateResponse vaa-name")? as i16;
        Ok(InitiateResponse {
            negotiated_quality_of_service,
            negotiated_dlms_version_number,
            negotiated_conformance,
            server_max_receive_pdu_size,
            vaa_name,
        })
    }
}
