//! The authentication fields of the AARQ and AARE (IEC 62056-5-3 §9.4.2.2.3, ISO/IEC
//! 8650-1): the ACSE requirements (whether the authentication functional unit is
//! selected) and the authentication value (the LLS password, or the HLS challenge
//! CtoS/StoC).

use serde::Serialize;

use crate::acse::ber;
use crate::codec::{DecodeError, Reader};
use crate::data::BitString;

/// `ACSE-requirements` BIT STRING (ISO/IEC 8650-1): DLMS uses only bit 0,
/// `authentication`, set whenever a mechanism name is sent. Encoded `07 80` (one
/// significant bit, set) or `07 00`; further bits of a received value are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct AcseRequirements {
    /// Bit 0: the authentication functional unit is selected.
    pub authentication: bool,
}

impl AcseRequirements {
    /// The authentication functional unit selected (`07 80`).
    pub const AUTHENTICATION: AcseRequirements = AcseRequirements { authentication: true };

    pub(crate) fn content(self) -> [u8; 2] {
        [0x07, if self.authentication { 0x80 } else { 0x00 }]
    }

    pub(crate) fn parse(content: &[u8], what: &'static str) -> Result<Self, DecodeError> {
        let bits = ber::parse_bit_string(content, what)?;
        Ok(AcseRequirements { authentication: bits.get(0) })
    }
}

/// `Authentication-value` CHOICE (ISO/IEC 8650-1), sent EXPLICIT in the AARQ `[12]`
/// (calling) and AARE `[10]` (responding). DLMS/COSEM uses `charstring`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum AuthenticationValue {
    /// `charstring [0] IMPLICIT GraphicString` (`80 len …`): the LLS password, or the
    /// HLS challenge (CtoS in the AARQ, StoC in the AARE), as raw bytes.
    CharString(Vec<u8>),
    /// `bitstring [1] IMPLICIT BIT STRING` (`81 len …`).
    BitString(BitString),
    /// `external [2]` or `other [3]` (or any other alternative): the identifier octet
    /// (tag number below 31; not `0x80`/`0x81`, which decode as the variants above) and
    /// the content octets, kept unparsed.
    Other {
        /// The identifier octet, e.g. `0xA2` for `external`.
        identifier: u8,
        /// The content octets.
        content: Vec<u8>,
    },
}

impl AuthenticationValue {
    /// The bytes of a `charstring` value; `None` for the other alternatives.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            AuthenticationValue::CharString(b) => Some(b),
            _ => None,
        }
    }

    /// Appends the CHOICE element (without the outer EXPLICIT tag).
    pub(crate) fn encode_inner(&self, out: &mut Vec<u8>) {
        match self {
            AuthenticationValue::CharString(b) => ber::put_tlv(out, 0x80, b),
            AuthenticationValue::BitString(b) => ber::put_tlv(out, 0x81, &ber::bit_string_content(b)),
            AuthenticationValue::Other { identifier, content } => ber::put_tlv(out, *identifier, content),
        }
    }

    /// Parses the content of the outer EXPLICIT tag: exactly one CHOICE element.
    pub(crate) fn parse(content: &[u8], what: &'static str) -> Result<Self, DecodeError> {
        let mut r = Reader::new(content);
        let tlv = ber::read_tlv(&mut r, what)?;
        r.expect_end(what)?;
        if tlv.identifier & 0x1F == 0x1F {
            return Err(DecodeError::invalid(what, "authentication value with a high tag number"));
        }
        Ok(match tlv.identifier {
            0x80 => AuthenticationValue::CharString(tlv.content.to_vec()),
            0x81 => AuthenticationValue::BitString(ber::parse_bit_string(tlv.content, what)?),
            identifier => AuthenticationValue::Other { identifier, content: tlv.content.to_vec() },
        })
    }
}
