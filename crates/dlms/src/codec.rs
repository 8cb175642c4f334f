//! The wire codec core shared by every DLMS/COSEM type: a [`Reader`] cursor over a
//! borrowed byte slice and the typed [`DecodeError`].
//!
//! Every decoder in this crate takes a `&mut Reader` and returns
//! `Result<T, DecodeError>`; every encoder appends to a `&mut Vec<u8>`. Decoders never
//! panic on any input: truncated input yields [`DecodeError::Truncated`], impossible
//! lengths yield [`DecodeError::Oversized`], and unknown tags or values yield
//! [`DecodeError::Invalid`] or [`DecodeError::UnknownTag`].

use thiserror::Error;

/// Largest nesting of arrays/structures accepted by the A-XDR decoder. Real meters use
/// at most 4-5 levels (profile buffer → entry → structure → value); the limit protects
/// the decoder's stack against hostile input.
pub const MAX_NESTING_DEPTH: usize = 32;

/// Why a byte sequence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value was complete. `needed` more bytes were required
    /// while decoding `what` (for stream framing this means "read more", not "corrupt").
    #[error("truncated input while decoding {what}: {needed} more byte(s) needed")]
    Truncated {
        /// The element being decoded.
        what: &'static str,
        /// How many further bytes were needed at the point of failure (at least).
        needed: usize,
    },
    /// A length or count field announces more than the input can hold or more than the
    /// configured maximum.
    #[error("{what}: length {len} exceeds the limit {max}")]
    Oversized {
        /// The element being decoded.
        what: &'static str,
        /// The announced length.
        len: usize,
        /// The largest acceptable length at that point.
        max: usize,
    },
    /// A tag (A-XDR data type, APDU tag, CHOICE index, BER tag) is unknown.
    #[error("unknown {what} tag 0x{tag:02X}")]
    UnknownTag {
        /// The kind of tag, e.g. "A-XDR data type" or "xDLMS APDU".
        what: &'static str,
        /// The tag byte seen.
        tag: u8,
    },
    /// The bytes are well framed but carry a value the standard does not allow.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The element being decoded.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A complete value was decoded but bytes were left over where none may be.
    #[error("{count} trailing byte(s) after {what}")]
    TrailingBytes {
        /// The element that was decoded.
        what: &'static str,
        /// How many bytes remained.
        count: usize,
    },
    /// Arrays/structures nested deeper than [`MAX_NESTING_DEPTH`].
    #[error("nesting deeper than {MAX_NESTING_DEPTH} levels")]
    TooDeep,
}

impl DecodeError {
    /// Shorthand for [`DecodeError::Invalid`].
    pub fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        DecodeError::Invalid { what, detail: detail.into() }
    }
}

/// A cursor over a borrowed byte slice (the rustls `Reader` shape).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unconsumed bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Consumes and returns all remaining bytes.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }

    /// Looks at the next byte without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Consumes `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] when fewer than `n` bytes remain.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { what, needed: n - self.remaining() });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Consumes one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    /// Consumes a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Consumes a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Consumes a big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Consumes a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    /// Consumes an A-XDR length (IEC 62056-6-2 / X.690-style: one byte below 0x80, else
    /// 0x8N followed by N big-endian length bytes, N ≤ 4). The length is checked against
    /// the remaining input (each element needs at least `min_elem_size` bytes) so a
    /// hostile length can never cause a huge allocation.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`], or [`DecodeError::Oversized`] when the announced
    /// length cannot fit in the remaining input.
    pub fn length(&mut self, what: &'static str, min_elem_size: usize) -> Result<usize, DecodeError> {
        let first = self.u8(what)?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7F) as usize;
            if n == 0 || n > 4 {
                return Err(DecodeError::invalid(what, format!("length-of-length {n} not in 1..=4")));
            }
            let bytes = self.take(n, what)?;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize)
        };
        let max = self.remaining().checked_div(min_elem_size).unwrap_or(usize::MAX);
        if len > max {
            return Err(DecodeError::Oversized { what, len, max });
        }
        Ok(len)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless all input was consumed.
    pub fn expect_end(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes { what, count: self.remaining() }) }
    }
}

/// Appends an A-XDR length (short form below 128, long form 0x81/0x82/0x84 above).
pub fn put_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xFFFF {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x84);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// A type with one canonical DLMS wire encoding.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Decodes one value from the reader, consuming exactly its bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Encodes into a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes a whole buffer, refusing trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.expect_end(std::any::type_name::<Self>())?;
        Ok(v)
    }
}
