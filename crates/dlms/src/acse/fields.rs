//! Encodings of the ACSE fields shared by AARQ and AARE (IEC 62056-5-3 §9.4.2.2,
//! ISO/IEC 8650-1): the application context name, AP titles and AE qualifiers, AP and
//! AE invocation identifiers and the mechanism name. Each function handles the whole
//! element given its context tag, because the same field has different tags in the
//! AARQ and the AARE.

use crate::acse::ber;
use crate::acse::context::ApplicationContextName;
use crate::acse::mechanism::MechanismName;
use crate::acse::oid::ObjectIdentifier;
use crate::codec::{DecodeError, Reader};
use crate::data::BitString;

/// Stores a decoded field, refusing a second occurrence of the same tag.
pub(crate) fn set_once<T>(slot: &mut Option<T>, v: T, what: &'static str) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::invalid(what, "field occurs twice"));
    }
    *slot = Some(v);
    Ok(())
}

/// `protocol-version [0] IMPLICIT BIT STRING`: `80 02 07 80` for version1.
pub(crate) fn put_protocol_version(out: &mut Vec<u8>, v: &BitString) {
    ber::put_tlv(out, 0x80, &ber::bit_string_content(v));
}

/// `application-context-name [1]`: `A1 len 06 len <OID>`.
pub(crate) fn put_context_name(out: &mut Vec<u8>, name: &ApplicationContextName) {
    let oid = name.oid();
    ber::put_constructed(out, 0xA1, |c| ber::put_tlv(c, ber::OBJECT_IDENTIFIER, &oid.0));
}

fn oid_content(content: &[u8], what: &'static str) -> Result<ObjectIdentifier, DecodeError> {
    if content.is_empty() {
        return Err(DecodeError::invalid(what, "empty OBJECT IDENTIFIER"));
    }
    Ok(ObjectIdentifier(content.to_vec()))
}

/// Parses the content of `[1]`: one universal OBJECT IDENTIFIER.
pub(crate) fn parse_context_name(content: &[u8]) -> Result<ApplicationContextName, DecodeError> {
    let what = "application-context-name";
    let mut r = Reader::new(content);
    let oid = ber::expect_tlv(&mut r, ber::OBJECT_IDENTIFIER, what)?;
    r.expect_end(what)?;
    Ok(ApplicationContextName::from_oid(oid_content(oid, what)?))
}

/// `mechanism-name [n] IMPLICIT OBJECT IDENTIFIER`: `tag len <OID>`.
pub(crate) fn put_mechanism_name(out: &mut Vec<u8>, identifier: u8, m: &MechanismName) {
    ber::put_tlv(out, identifier, &m.oid().0);
}

/// Parses the content of a mechanism-name element.
pub(crate) fn parse_mechanism_name(content: &[u8]) -> Result<MechanismName, DecodeError> {
    Ok(MechanismName::from_oid(oid_content(content, "mechanism-name")?))
}

/// An AP title or AE qualifier, `[n] EXPLICIT OCTET STRING` in DLMS/COSEM (the system
/// title, or the public key certificate): `tag len 04 len <bytes>`.
pub(crate) fn put_octet_title(out: &mut Vec<u8>, identifier: u8, bytes: &[u8]) {
    ber::put_constructed(out, identifier, |c| ber::put_tlv(c, ber::OCTET_STRING, bytes));
}

/// Parses the content of an AP title / AE qualifier element.
pub(crate) fn parse_octet_title(content: &[u8], what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let mut r = Reader::new(content);
    let v = ber::expect_tlv(&mut r, ber::OCTET_STRING, what)?;
    r.expect_end(what)?;
    Ok(v.to_vec())
}

/// An AP or AE invocation identifier, `[n] EXPLICIT INTEGER`: `tag len 02 len <int>`.
pub(crate) fn put_invocation_id(out: &mut Vec<u8>, identifier: u8, v: i64) {
    ber::put_constructed(out, identifier, |c| ber::put_integer(c, v));
}
