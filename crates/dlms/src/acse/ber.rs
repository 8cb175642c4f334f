//! The small subset of BER (ITU-T X.690) that the ACSE APDUs need (IEC 62056-5-3 §9.4,
//! ISO/IEC 8650-1): tag-length-value elements with one-byte identifiers, definite
//! lengths in short and long form, INTEGER, BIT STRING and OBJECT IDENTIFIER contents.
//!
//! Identifiers with the high-tag-number form (low five bits all ones) are accepted when
//! skipping unknown elements; indefinite lengths (`0x80`) are refused, as IEC 62056-5-3
//! uses definite lengths only.

use crate::codec::{DecodeError, Reader, put_length};
use crate::data::BitString;

/// Universal tag of INTEGER.
pub const INTEGER: u8 = 0x02;
/// Universal tag of BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// Universal tag of OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Universal tag of OBJECT IDENTIFIER.
pub const OBJECT_IDENTIFIER: u8 = 0x06;

/// Context-specific class bits of an identifier octet.
pub const CONTEXT: u8 = 0x80;
/// Application class bits of an identifier octet.
pub const APPLICATION: u8 = 0x40;
/// The constructed bit of an identifier octet.
pub const CONSTRUCTED: u8 = 0x20;

/// One BER element: its identifier and its content octets (borrowed from the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The first identifier octet (class, constructed bit, tag number or `0x1F`).
    pub identifier: u8,
    /// The tag number (equal to `identifier & 0x1F` below 31; read from the following
    /// octets in the high-tag-number form).
    pub number: u32,
    /// The content octets.
    pub content: &'a [u8],
}

/// Reads a definite BER length: short form (`0x00..=0x7F`) or long form (`0x81..=0x84`
/// followed by 1-4 big-endian bytes).
///
/// # Errors
/// [`DecodeError::Truncated`]; [`DecodeError::Invalid`] for the indefinite form `0x80`
/// or more than four length bytes.
pub fn read_length(r: &mut Reader<'_>, what: &'static str) -> Result<usize, DecodeError> {
    let first = r.u8(what)?;
    if first < 0x80 {
        return Ok(first as usize);
    }
    let n = (first & 0x7F) as usize;
    if n == 0 {
        return Err(DecodeError::invalid(what, "indefinite BER length is not allowed"));
    }
    if n > 4 {
        return Err(DecodeError::invalid(what, format!("{n} length bytes, at most 4 allowed")));
    }
    let bytes = r.take(n, what)?;
    Ok(bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize))
}

/// Reads one element (identifier, length, content).
///
/// # Errors
/// [`DecodeError::Truncated`] when the input ends inside the element (including when
/// the announced length runs past the input); [`DecodeError::Invalid`] for an
/// indefinite length or an over-long tag number.
pub fn read_tlv<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<Tlv<'a>, DecodeError> {
    let identifier = r.u8(what)?;
    let mut number = u32::from(identifier & 0x1F);
    if number == 0x1F {
        number = 0;
        for i in 0.. {
            let b = r.u8(what)?;
            if i >= 4 {
                return Err(DecodeError::invalid(what, "BER tag number longer than 4 bytes"));
            }
            number = (number << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len = read_length(r, what)?;
    let content = r.take(len, what)?;
    Ok(Tlv { identifier, number, content })
}

/// Reads one element and checks its identifier octet.
///
/// # Errors
/// As [`read_tlv`]; [`DecodeError::UnknownTag`] when the identifier differs.
pub fn expect_tlv<'a>(r: &mut Reader<'a>, identifier: u8, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let tlv = read_tlv(r, what)?;
    if tlv.identifier != identifier {
        return Err(DecodeError::UnknownTag { what, tag: tlv.identifier });
    }
    Ok(tlv.content)
}

/// Appends one element with a one-byte identifier and a definite length.
pub fn put_tlv(out: &mut Vec<u8>, identifier: u8, content: &[u8]) {
    out.push(identifier);
    put_length(out, content.len());
    out.extend_from_slice(content);
}

/// Appends one element whose content is produced by `f` (for constructed elements).
pub fn put_constructed(out: &mut Vec<u8>, identifier: u8, f: impl FnOnce(&mut Vec<u8>)) {
    let mut content = Vec::new();
    f(&mut content);
    put_tlv(out, identifier, &content);
}

/// The content octets of an INTEGER: minimal big-endian two's complement.
pub fn integer_content(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    // Drop a leading byte while it only repeats the sign of the next one.
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Parses INTEGER content octets (1 to 8 bytes, two's complement).
///
/// # Errors
/// [`DecodeError::Invalid`] for empty content; [`DecodeError::Oversized`] for more than
/// 8 bytes.
pub fn parse_integer(content: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    if content.is_empty() {
        return Err(DecodeError::invalid(what, "empty INTEGER"));
    }
    if content.len() > 8 {
        return Err(DecodeError::Oversized { what, len: content.len(), max: 8 });
    }
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Ok(content.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

/// Parses a universal INTEGER element (`02 len content`) that must fill `content`.
///
/// # Errors
/// As [`read_tlv`] and [`parse_integer`]; [`DecodeError::UnknownTag`] when the element
/// is not an INTEGER; [`DecodeError::TrailingBytes`] when bytes follow it.
pub fn parse_explicit_integer(content: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    let mut r = Reader::new(content);
    let inner = expect_tlv(&mut r, INTEGER, what)?;
    r.expect_end(what)?;
    parse_integer(inner, what)
}

/// Appends a universal INTEGER element.
pub fn put_integer(out: &mut Vec<u8>, v: i64) {
    put_tlv(out, INTEGER, &integer_content(v));
}

/// The content octets of a BIT STRING: the number of unused bits in the last byte,
/// then the bytes.
pub fn bit_string_content(bits: &BitString) -> Vec<u8> {
    let unused = (bits.bytes.len() * 8).saturating_sub(bits.bits).min(7);
    let mut v = Vec::with_capacity(bits.bytes.len() + 1);
    v.push(unused as u8);
    v.extend_from_slice(&bits.bytes);
    v
}

/// Parses BIT STRING content octets. Unused trailing bits are cleared.
///
/// # Errors
/// [`DecodeError::Invalid`] for empty content, more than 7 unused bits, or unused bits
/// announced for an empty string.
pub fn parse_bit_string(content: &[u8], what: &'static str) -> Result<BitString, DecodeError> {
    let Some((&unused, bytes)) = content.split_first() else {
        return Err(DecodeError::invalid(what, "empty BIT STRING content"));
    };
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err(DecodeError::invalid(what, format!("{unused} unused bits in a {}-byte BIT STRING", bytes.len())));
    }
    let mut bytes = bytes.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last &= 0xFFu8 << unused;
    }
    Ok(BitString { bits: bytes.len() * 8 - unused as usize, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_contents_are_minimal() {
        assert_eq!(integer_content(0), [0x00]);
        assert_eq!(integer_content(127), [0x7F]);
        assert_eq!(integer_content(128), [0x00, 0x80]);
        assert_eq!(integer_content(-1), [0xFF]);
        assert_eq!(integer_content(-128), [0x80]);
        assert_eq!(integer_content(-129), [0xFF, 0x7F]);
        assert_eq!(integer_content(i64::MIN), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        for v in [0, 1, -1, 127, 128, -128, -129, 255, 256, 65535, i64::MAX, i64::MIN] {
            assert_eq!(parse_integer(&integer_content(v), "t"), Ok(v));
        }
    }

    #[test]
    fn lengths_in_both_forms() {
        let mut r = Reader::new(&[0x05, 0x81, 0x80, 0x82, 0x01, 0x00]);
        assert_eq!(read_length(&mut r, "t"), Ok(5));
        assert_eq!(read_length(&mut r, "t"), Ok(128));
        assert_eq!(read_length(&mut r, "t"), Ok(256));
        assert!(matches!(read_length(&mut Reader::new(&[0x80]), "t"), Err(DecodeError::Invalid { .. })));
        assert!(matches!(read_length(&mut Reader::new(&[0x85, 1, 1, 1, 1, 1]), "t"), Err(DecodeError::Invalid { .. })));
    }

    #[test]
    fn high_tag_numbers_are_read() {
        // [APPLICATION 31] IMPLICIT BIT STRING, the xDLMS conformance header
        let tlv = read_tlv(&mut Reader::new(&[0x5F, 0x1F, 0x04, 0x00, 0x00, 0x50, 0x1F]), "t");
        assert_eq!(tlv, Ok(Tlv { identifier: 0x5F, number: 31, content: &[0x00, 0x00, 0x50, 0x1F] }));
    }

    #[test]
    fn bit_string_acse_requirements() {
        // 07 80: one significant bit, set (authentication functional unit)
        let b = parse_bit_string(&[0x07, 0x80], "t").unwrap();
        assert_eq!(b.bits, 1);
        assert!(b.get(0));
        assert_eq!(bit_string_content(&b), [0x07, 0x80]);
        assert!(parse_bit_string(&[0x08, 0x80], "t").is_err());
        assert!(parse_bit_string(&[0x01], "t").is_err());
        assert!(parse_bit_string(&[], "t").is_err());
    }
}
