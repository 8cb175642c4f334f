//! COSEM attribute values and their A-XDR encoding (IEC 62056-6-2 §4.1.5 "Common data
//! types"; IEC 62056-5-3 §9.5 A-XDR, the `Data` CHOICE).
//!
//! [`Data`] is the CHOICE carried in every GET/SET/ACTION and notification. The tag
//! numbers are those of the standard's `Data ::= CHOICE` definition.

use serde::Serialize;

use crate::codec::{DecodeError, MAX_NESTING_DEPTH, Reader, put_length};
use crate::datetime::{CosemDate, CosemDateTime, CosemTime};

/// A-XDR type tags of the `Data` CHOICE (IEC 62056-5-3 §9.5).
pub mod tag {
    #![allow(missing_docs)]
    pub const NULL_DATA: u8 = 0;
    pub const ARRAY: u8 = 1;
    pub const STRUCTURE: u8 = 2;
    pub const BOOLEAN: u8 = 3;
    pub const BIT_STRING: u8 = 4;
    pub const DOUBLE_LONG: u8 = 5;
    pub const DOUBLE_LONG_UNSIGNED: u8 = 6;
    pub const OCTET_STRING: u8 = 9;
    pub const VISIBLE_STRING: u8 = 10;
    pub const UTF8_STRING: u8 = 12;
    pub const BCD: u8 = 13;
    pub const INTEGER: u8 = 15;
    pub const LONG: u8 = 16;
    pub const UNSIGNED: u8 = 17;
    pub const LONG_UNSIGNED: u8 = 18;
    pub const COMPACT_ARRAY: u8 = 19;
    pub const LONG64: u8 = 20;
    pub const LONG64_UNSIGNED: u8 = 21;
    pub const ENUM: u8 = 22;
    pub const FLOAT32: u8 = 23;
    pub const FLOAT64: u8 = 24;
    pub const DATE_TIME: u8 = 25;
    pub const DATE: u8 = 26;
    pub const TIME: u8 = 27;
    pub const DONT_CARE: u8 = 255;
}

/// A bit-string: `bits` significant bits, packed MSB-first into `bytes`
/// (`bytes.len() == ceil(bits / 8)`, unused trailing bits zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BitString {
    /// Number of significant bits.
    pub bits: usize,
    /// Packed bits, first bit = MSB of the first byte.
    pub bytes: Vec<u8>,
}

impl BitString {
    /// Builds from booleans (first element = bit 0 = MSB of the first byte).
    pub fn from_bools(bits: &[bool]) -> Self {
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, b) in bits.iter().enumerate() {
            if *b {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        BitString { bits: bits.len(), bytes }
    }

    /// Bit `i` (0 = MSB of first byte); false when out of range.
    pub fn get(&self, i: usize) -> bool {
        i < self.bits && self.bytes.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    }
}

/// The element type of a compact-array (IEC 62056-5-3 §9.5 `TypeDescription`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum TypeDescription {
    /// A simple type, given by its `Data` tag (e.g. 6 = double-long-unsigned).
    Simple(u8),
    /// `array`: number of elements and their type.
    Array(u16, Box<TypeDescription>),
    /// `structure`: the types of the members.
    Structure(Vec<TypeDescription>),
}

/// A COSEM attribute value (the A-XDR `Data` CHOICE).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Data {
    /// `[0]` null-data.
    NullData,
    /// `[1]` array (SEQUENCE OF Data; elements should share one type).
    Array(Vec<Data>),
    /// `[2]` structure (SEQUENCE OF Data).
    Structure(Vec<Data>),
    /// `[3]` boolean.
    Boolean(bool),
    /// `[4]` bit-string.
    BitString(BitString),
    /// `[5]` double-long, i32.
    DoubleLong(i32),
    /// `[6]` double-long-unsigned, u32.
    DoubleLongUnsigned(u32),
    /// `[9]` octet-string.
    OctetString(Vec<u8>),
    /// `[10]` visible-string (ASCII; kept as bytes so non-ASCII from a meter is not lost).
    VisibleString(Vec<u8>),
    /// `[12]` utf8-string (kept as bytes; invalid UTF-8 from a meter is not lost).
    Utf8String(Vec<u8>),
    /// `[13]` bcd, one byte (i8 per the standard's `Integer8`).
    Bcd(i8),
    /// `[15]` integer, i8.
    Integer(i8),
    /// `[16]` long, i16.
    Long(i16),
    /// `[17]` unsigned, u8.
    Unsigned(u8),
    /// `[18]` long-unsigned, u16.
    LongUnsigned(u16),
    /// `[19]` compact-array: element type and the elements (decoded, tagless on the wire).
    CompactArray(TypeDescription, Vec<Data>),
    /// `[20]` long64, i64.
    Long64(i64),
    /// `[21]` long64-unsigned, u64.
    Long64Unsigned(u64),
    /// `[22]` enum, u8.
    Enum(u8),
    /// `[23]` float32 (IEEE 754 single).
    Float32(f32),
    /// `[24]` float64 (IEEE 754 double).
    Float64(f64),
    /// `[25]` date-time (12 bytes).
    DateTime(CosemDateTime),
    /// `[26]` date (5 bytes).
    Date(CosemDate),
    /// `[27]` time (4 bytes).
    Time(CosemTime),
    /// `[255]` dont-care.
    DontCare,
}

impl Data {
    /// The `Data` CHOICE tag of this value.
    pub fn tag(&self) -> u8 {
        match self {
            Data::NullData => tag::NULL_DATA,
            Data::Array(_) => tag::ARRAY,
            Data::Structure(_) => tag::STRUCTURE,
            Data::Boolean(_) => tag::BOOLEAN,
            Data::BitString(_) => tag::BIT_STRING,
            Data::DoubleLong(_) => tag::DOUBLE_LONG,
            Data::DoubleLongUnsigned(_) => tag::DOUBLE_LONG_UNSIGNED,
            Data::OctetString(_) => tag::OCTET_STRING,
            Data::VisibleString(_) => tag::VISIBLE_STRING,
            Data::Utf8String(_) => tag::UTF8_STRING,
            Data::Bcd(_) => tag::BCD,
            Data::Integer(_) => tag::INTEGER,
            Data::Long(_) => tag::LONG,
            Data::Unsigned(_) => tag::UNSIGNED,
            Data::LongUnsigned(_) => tag::LONG_UNSIGNED,
            Data::CompactArray(..) => tag::COMPACT_ARRAY,
            Data::Long64(_) => tag::LONG64,
            Data::Long64Unsigned(_) => tag::LONG64_UNSIGNED,
            Data::Enum(_) => tag::ENUM,
            Data::Float32(_) => tag::FLOAT32,
            Data::Float64(_) => tag::FLOAT64,
            Data::DateTime(_) => tag::DATE_TIME,
            Data::Date(_) => tag::DATE,
            Data::Time(_) => tag::TIME,
            Data::DontCare => tag::DONT_CARE,
        }
    }

    /// The value as an i128 when it is one of the integer types (integer, long,
    /// double-long, long64 and unsigned variants, enum, bcd); `None` otherwise.
    pub fn as_integer(&self) -> Option<i128> {
        Some(match self {
            Data::Integer(v) | Data::Bcd(v) => *v as i128,
            Data::Long(v) => *v as i128,
            Data::DoubleLong(v) => *v as i128,
            Data::Long64(v) => *v as i128,
            Data::Unsigned(v) | Data::Enum(v) => *v as i128,
            Data::LongUnsigned(v) => *v as i128,
            Data::DoubleLongUnsigned(v) => *v as i128,
            Data::Long64Unsigned(v) => *v as i128,
            _ => return None,
        })
    }

    /// The value as f64 for any numeric type (integers and floats).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Data::Float32(v) => Some(*v as f64),
            Data::Float64(v) => Some(*v),
            other => other.as_integer().map(|v| v as f64),
        }
    }

    /// The bytes of an octet-string, visible-string or utf8-string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => Some(b),
            _ => None,
        }
    }

    /// The members of a structure or the elements of an array / compact-array.
    pub fn as_sequence(&self) -> Option<&[Data]> {
        match self {
            Data::Array(v) | Data::Structure(v) | Data::CompactArray(_, v) => Some(v),
            _ => None,
        }
    }

    /// A date-time given either as the `date-time` type or as a 12-byte octet-string.
    pub fn as_date_time(&self) -> Option<CosemDateTime> {
        match self {
            Data::DateTime(dt) => Some(*dt),
            Data::OctetString(b) if b.len() == 12 => CosemDateTime::from_octets(b).ok(),
            _ => None,
        }
    }

    /// Appends the A-XDR encoding (tag + content).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        self.encode_content(out);
    }

    /// Encodes into a fresh vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Appends the content without the tag (used inside compact-arrays).
    fn encode_content(&self, out: &mut Vec<u8>) {
        match self {
            Data::NullData | Data::DontCare => {}
            Data::Array(v) | Data::Structure(v) => {
                put_length(out, v.len());
                for d in v {
                    d.encode(out);
                }
            }
            Data::Boolean(b) => out.push(u8::from(*b)),
            Data::BitString(b) => {
                put_length(out, b.bits);
                out.extend_from_slice(&b.bytes);
            }
            Data::DoubleLong(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DoubleLongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => {
                put_length(out, b.len());
                out.extend_from_slice(b);
            }
            Data::Bcd(v) | Data::Integer(v) => out.push(*v as u8),
            Data::Long(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Unsigned(v) | Data::Enum(v) => out.push(*v),
            Data::LongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::CompactArray(td, elems) => {
                encode_type_description(td, out);
                let mut content = Vec::new();
                for e in elems {
                    encode_compact_element(e, &mut content);
                }
                put_length(out, content.len());
                out.extend_from_slice(&content);
            }
            Data::Long64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long64Unsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float32(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DateTime(dt) => dt.encode_raw(out),
            Data::Date(d) => d.encode_raw(out),
            Data::Time(t) => t.encode_raw(out),
        }
    }

    /// Decodes one A-XDR `Data` value.
    ///
    /// # Errors
    /// Truncated input, unknown tags, lengths beyond the input, nesting deeper than
    /// [`MAX_NESTING_DEPTH`], malformed compact-arrays.
    pub fn decode(r: &mut Reader<'_>) -> Result<Data, DecodeError> {
        decode_depth(r, 0)
    }

    /// Decodes a buffer that holds exactly one value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Data, DecodeError> {
        let mut r = Reader::new(bytes);
        let d = Self::decode(&mut r)?;
        r.expect_end("A-XDR data")?;
        Ok(d)
    }
}

fn decode_depth(r: &mut Reader<'_>, depth: usize) -> Result<Data, DecodeError> {
    if depth > MAX_NESTING_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    let t = r.u8("A-XDR data tag")?;
    decode_content(t, r, depth)
}

fn decode_content(t: u8, r: &mut Reader<'_>, depth: usize) -> Result<Data, DecodeError> {
    Ok(match t {
        tag::NULL_DATA => Data::NullData,
        tag::DONT_CARE => Data::DontCare,
        tag::ARRAY | tag::STRUCTURE => {
            // every element needs at least its tag byte
            let n = r.length("array/structure length", 1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_depth(r, depth + 1)?);
            }
            if t == tag::ARRAY { Data::Array(v) } else { Data::Structure(v) }
        }
        tag::BOOLEAN => Data::Boolean(r.u8("boolean")? != 0),
        tag::BIT_STRING => {
            let bits = r.length("bit-string length", 0)?;
            let nbytes = bits.div_ceil(8);
            if nbytes > r.remaining() {
                return Err(DecodeError::Oversized { what: "bit-string", len: nbytes, max: r.remaining() });
            }
            Data::BitString(BitString { bits, bytes: r.take(nbytes, "bit-string")?.to_vec() })
        }
        tag::DOUBLE_LONG => Data::DoubleLong(r.u32("double-long")? as i32),
        tag::DOUBLE_LONG_UNSIGNED => Data::DoubleLongUnsigned(r.u32("double-long-unsigned")?),
        tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => {
            let n = r.length("string length", 1)?;
            let b = r.take(n, "string")?.to_vec();
            match t {
                tag::OCTET_STRING => Data::OctetString(b),
                tag::VISIBLE_STRING => Data::VisibleString(b),
                _ => Data::Utf8String(b),
            }
        }
        tag::BCD => Data::Bcd(r.u8("bcd")? as i8),
        tag::INTEGER => Data::Integer(r.u8("integer")? as i8),
        tag::LONG => Data::Long(r.u16("long")? as i16),
        tag::UNSIGNED => Data::Unsigned(r.u8("unsigned")?),
        tag::LONG_UNSIGNED => Data::LongUnsigned(r.u16("long-unsigned")?),
        tag::COMPACT_ARRAY => {
            let td = decode_type_description(r, depth)?;
            let n = r.length("compact-array contents length", 1)?;
            let content = r.take(n, "compact-array contents")?;
            let mut cr = Reader::new(content);
            let mut elems = Vec::new();
            let min = min_encoded_size(&td);
            if min == 0 {
                return Err(DecodeError::invalid("compact-array", "element type has zero encoded size"));
            }
            while !cr.is_empty() {
                elems.push(decode_compact_element(&td, &mut cr, depth + 1)?);
            }
            Data::CompactArray(td, elems)
        }
        tag::LONG64 => Data::Long64(r.u64("long64")? as i64),
        tag::LONG64_UNSIGNED => Data::Long64Unsigned(r.u64("long64-unsigned")?),
        tag::ENUM => Data::Enum(r.u8("enum")?),
        tag::FLOAT32 => Data::Float32(f32::from_be_bytes(r.array::<4>("float32")?)),
        tag::FLOAT64 => Data::Float64(f64::from_be_bytes(r.array::<8>("float64")?)),
        tag::DATE_TIME => Data::DateTime(CosemDateTime::decode_raw(r)?),
        tag::DATE => Data::Date(CosemDate::decode_raw(r)?),
        tag::TIME => Data::Time(CosemTime::decode_raw(r)?),
        other => return Err(DecodeError::UnknownTag { what: "A-XDR data type", tag: other }),
    })
}

fn encode_type_description(td: &TypeDescription, out: &mut Vec<u8>) {
    match td {
        TypeDescription::Simple(t) => out.push(*t),
        TypeDescription::Array(n, inner) => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&n.to_be_bytes());
            encode_type_description(inner, out);
        }
        TypeDescription::Structure(members) => {
            out.push(tag::STRUCTURE);
            put_length(out, members.len());
            for m in members {
                encode_type_description(m, out);
            }
        }
    }
}

fn decode_type_description(r: &mut Reader<'_>, depth: usize) -> Result<TypeDescription, DecodeError> {
    if depth > MAX_NESTING_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    let t = r.u8("type-description tag")?;
    Ok(match t {
        tag::ARRAY => {
            let n = r.u16("type-description array length")?;
            TypeDescription::Array(n, Box::new(decode_type_description(r, depth + 1)?))
        }
        tag::STRUCTURE => {
            let n = r.length("type-description structure length", 1)?;
            let mut m = Vec::with_capacity(n);
            for _ in 0..n {
                m.push(decode_type_description(r, depth + 1)?);
            }
            TypeDescription::Structure(m)
        }
        tag::COMPACT_ARRAY => return Err(DecodeError::invalid("type-description", "nested compact-array")),
        t if is_simple_tag(t) => TypeDescription::Simple(t),
        other => return Err(DecodeError::UnknownTag { what: "type-description", tag: other }),
    })
}

fn is_simple_tag(t: u8) -> bool {
    matches!(t, 0 | 3..=6 | 9 | 10 | 12 | 13 | 15..=18 | 20..=27 | 255)
}

/// Lower bound of the encoded size of one element (used to reject empty element types
/// that would make the decoder loop forever).
fn min_encoded_size(td: &TypeDescription) -> usize {
    match td {
        TypeDescription::Simple(t) => match *t {
            tag::NULL_DATA | tag::DONT_CARE => 0,
            tag::BIT_STRING | tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => 1,
            tag::BOOLEAN | tag::BCD | tag::INTEGER | tag::UNSIGNED | tag::ENUM => 1,
            tag::LONG | tag::LONG_UNSIGNED => 2,
            tag::DOUBLE_LONG | tag::DOUBLE_LONG_UNSIGNED | tag::FLOAT32 | tag::TIME => 4,
            tag::DATE => 5,
            tag::LONG64 | tag::LONG64_UNSIGNED | tag::FLOAT64 => 8,
            tag::DATE_TIME => 12,
            _ => 0,
        },
        TypeDescription::Array(n, inner) => (*n as usize).saturating_mul(min_encoded_size(inner)),
        TypeDescription::Structure(m) => m.iter().map(min_encoded_size).fold(0, usize::saturating_add),
    }
}

fn encode_compact_element(d: &Data, out: &mut Vec<u8>) {
    match d {
        // Inside a compact-array, arrays and structures carry no count: the type
        // description fixes it.
        Data::Array(v) | Data::Structure(v) => {
            for e in v {
                encode_compact_element(e, out);
            }
        }
        other => other.encode_content(out),
    }
}

fn decode_compact_element(td: &TypeDescription, r: &mut Reader<'_>, depth: usize) -> Result<Data, DecodeError> {
    if depth > MAX_NESTING_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    match td {
        TypeDescription::Simple(t) => decode_content(*t, r, depth),
        TypeDescription::Array(n, inner) => {
            let n = *n as usize;
            let min = min_encoded_size(inner);
            // Elements that occupy no bytes (null-data, dont-care, empty arrays) would let a
            // few input bytes expand into billions of values: refuse them.
            if min == 0 && n > 0 {
                return Err(DecodeError::invalid("compact-array", "array of elements with zero encoded size"));
            }
            let min = min.max(1);
            if n.saturating_mul(min) > r.remaining() {
                return Err(DecodeError::Oversized {
                    what: "compact-array element array",
                    len: n,
                    max: r.remaining() / min,
                });
            }
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_compact_element(inner, r, depth + 1)?);
            }
            Ok(Data::Array(v))
        }
        TypeDescription::Structure(m) => {
            let mut v = Vec::with_capacity(m.len());
            for t in m {
                v.push(decode_compact_element(t, r, depth + 1)?);
            }
            Ok(Data::Structure(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compact_array_of_zero_size_elements_is_refused() {
        // compact-array, type structure { array[1000] of null-data, unsigned }, 1000 content
        // bytes: without the check each content byte would yield 1000 null-data values.
        let mut bytes = vec![tag::COMPACT_ARRAY, tag::STRUCTURE, 2, tag::ARRAY, 0x03, 0xE8, tag::NULL_DATA];
        bytes.extend_from_slice(&[tag::UNSIGNED, 0x82, 0x03, 0xE8]);
        bytes.extend(std::iter::repeat_n(7u8, 1000));
        assert!(matches!(Data::from_bytes(&bytes), Err(DecodeError::Invalid { what: "compact-array", .. })));
    }

    proptest! {
        #[test]
        fn data_round_trips(d in crate::proptest_strategies::data()) {
            let bytes = d.to_bytes();
            prop_assert_eq!(Data::from_bytes(&bytes).unwrap(), d);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Data::from_bytes(&bytes);
        }

        #[test]
        fn every_strict_prefix_is_truncated(d in crate::proptest_strategies::data()) {
            let bytes = d.to_bytes();
            for n in 0..bytes.len() {
                prop_assert!(Data::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
