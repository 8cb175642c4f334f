//! HDLC frame format type 3 (IEC 62056-46 §6.4.1 "The MAC PDU and the HDLC frame"):
//!
//! ```text
//! flag | frame format (2) | destination address (1,2,4) | source address (1,2,4) |
//!     control (1) | [HCS (2) | information (n)] | FCS (2) | flag
//! ```
//!
//! The flag is 0x7E. The frame format field is `1010 S LLLLLLLLLLL`: format type 3
//! (0xA in the top nibble), the segmentation bit S, and the 11-bit frame length: the
//! number of bytes between the flags (so at most 2047). The HCS follows the control
//! field only when an information field is present. Both HCS and FCS are CRC-16/X.25,
//! low byte first (see [`crc`](super::crc)).
//!
//! There is no byte stuffing: the length field delimits the frame, and 0x7E may occur
//! anywhere inside it. [`Frame::parse`] therefore never scans for the closing flag; it
//! reads the length and checks that the byte after the frame is a flag.

use serde::Serialize;
use thiserror::Error;

use super::address::HdlcAddress;
use super::control::Control;
use super::crc::{fcs16, read_fcs16};
use crate::codec::{Codec, DecodeError, Reader};

/// The opening and closing flag (IEC 62056-46 §6.4.1).
pub const FLAG: u8 = 0x7E;
/// The largest value of the 11-bit frame length field (bytes between the flags).
pub const MAX_FRAME_LENGTH: usize = 0x7FF;
/// The frame format type of IEC 62056-46: type 3, in the top nibble of the format field.
pub const FORMAT_TYPE_3: u8 = 0xA;
/// The shortest possible frame length: format (2), 1-byte addresses, control, FCS.
pub const MIN_FRAME_LENGTH: usize = 7;

/// The frame format field (IEC 62056-46 §6.4.1): segmentation bit and frame length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FrameFormat {
    /// S: this frame is a segment and more segments of the same APDU follow.
    pub segmented: bool,
    /// The number of bytes between the flags, 0..=2047.
    pub length: u16,
}

impl FrameFormat {
    /// Decodes the two format bytes (big-endian).
    ///
    /// # Errors
    /// [`FrameErrorKind::FormatType`] when the top nibble is not 0xA.
    pub fn from_u16(v: u16) -> Result<FrameFormat, FrameErrorKind> {
        let format_type = (v >> 12) as u8;
        if format_type != FORMAT_TYPE_3 {
            return Err(FrameErrorKind::FormatType { format_type });
        }
        Ok(FrameFormat { segmented: v & 0x0800 != 0, length: v & 0x07FF })
    }

    /// The two format bytes as a big-endian number (length bits above 2047 are dropped).
    pub fn to_u16(self) -> u16 {
        0xA000 | if self.segmented { 0x0800 } else { 0 } | (self.length & 0x07FF)
    }
}

/// One HDLC frame (IEC 62056-46 §6.4.1), without its flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    /// Destination address field (a server address in commands, the client SAP in
    /// responses).
    pub destination: HdlcAddress,
    /// Source address field.
    pub source: HdlcAddress,
    /// The control field.
    pub control: Control,
    /// The segmentation bit S of the frame format field.
    pub segmented: bool,
    /// The information field (empty when absent; then the frame carries no HCS). For
    /// I-frames it holds a segment of the LLC PDU (see [`llc`](super::llc)).
    pub information: Vec<u8>,
}

/// Which address field of a frame was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AddressField {
    /// The destination address.
    Destination,
    /// The source address.
    Source,
}

/// What was wrong with the bytes at the start of a receive buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
pub enum FrameErrorKind {
    /// Bytes before an opening flag (line noise, or the tail of a lost frame).
    #[error("bytes outside a frame")]
    Garbage,
    /// A flag followed by a frame format type other than 3.
    #[error("frame format type {format_type:#X}, expected 0xA (type 3)")]
    FormatType {
        /// The top nibble of the first format byte.
        format_type: u8,
    },
    /// The frame length field cannot hold the fields the frame must contain.
    #[error("frame length {length} does not fit the header ({detail})")]
    Length {
        /// The value of the length field.
        length: usize,
        /// What did not fit.
        detail: &'static str,
    },
    /// An address field is 3 bytes or longer than 4 bytes.
    #[error("invalid {field:?} address field: {detail}")]
    Address {
        /// Which field.
        field: AddressField,
        /// What was wrong.
        detail: String,
    },
    /// The header check sequence does not match (IEC 62056-46 §6.4.1).
    #[error("HCS {received:#06X} received, {computed:#06X} computed")]
    Hcs {
        /// The CRC over the header.
        computed: u16,
        /// The value in the frame.
        received: u16,
    },
    /// The frame check sequence does not match (IEC 62056-46 §6.4.1).
    #[error("FCS {received:#06X} received, {computed:#06X} computed")]
    Fcs {
        /// The CRC over the frame.
        computed: u16,
        /// The value in the frame.
        received: u16,
    },
    /// The byte after the frame (as delimited by its length field) is not a flag.
    #[error("closing flag missing: {found:#04X} after the frame")]
    ClosingFlag {
        /// The byte found where the flag belongs.
        found: u8,
    },
}

/// A frame could not be taken from the start of a receive buffer. The caller drops the
/// first [`FrameError::discard`] bytes and parses again (resynchronisation); the bytes
/// kept start at the next flag, which may open the next frame.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{kind} (discard {discard} byte(s))")]
pub struct FrameError {
    /// What was wrong.
    pub kind: FrameErrorKind,
    /// How many bytes at the start of the buffer to drop (at least 1).
    pub discard: usize,
}

impl From<FrameError> for DecodeError {
    fn from(e: FrameError) -> Self {
        DecodeError::invalid("HDLC frame", e.kind.to_string())
    }
}

impl Frame {
    /// Builds a frame, checking that it fits the 11-bit length field.
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when the information field is longer than
    /// [`Frame::max_information_len`] for these addresses.
    pub fn new(
        destination: HdlcAddress,
        source: HdlcAddress,
        control: Control,
        segmented: bool,
        information: Vec<u8>,
    ) -> Result<Frame, DecodeError> {
        let max = Frame::max_information_len(&destination, &source);
        if information.len() > max {
            return Err(DecodeError::Oversized { what: "HDLC information field", len: information.len(), max });
        }
        Ok(Frame { destination, source, control, segmented, information })
    }

    /// The largest information field a frame between these addresses can carry
    /// (2047 − format − addresses − control − HCS − FCS; 2030 with two 4-byte
    /// addresses, 2036 with 1-byte addresses).
    pub fn max_information_len(destination: &HdlcAddress, source: &HdlcAddress) -> usize {
        MAX_FRAME_LENGTH - (2 + destination.size().byte_count() + source.size().byte_count() + 1 + 2 + 2)
    }

    /// The value of the frame length field: the bytes between the flags.
    pub fn frame_length(&self) -> usize {
        let header = 2 + self.destination.size().byte_count() + self.source.size().byte_count() + 1;
        let info = if self.information.is_empty() { 0 } else { 2 + self.information.len() };
        header + info + 2
    }

    /// The frame format field of this frame.
    pub fn format(&self) -> FrameFormat {
        FrameFormat { segmented: self.segmented, length: self.frame_length().min(MAX_FRAME_LENGTH) as u16 }
    }

    /// Takes one frame from the start of `buf`, a receive buffer (the mini-redis
    /// `check`-then-`parse` shape):
    ///
    /// * `Ok(None)`: `buf` is empty, holds only flags, or holds a correct beginning of a
    ///   frame; append more bytes and call again.
    /// * `Ok(Some((frame, used)))`: a complete frame with valid HCS and FCS; drop the
    ///   first `used` bytes (leading fill flags, the frame and its closing flag). When
    ///   frames share a flag (IEC 62056-46 §6.4.1: the closing flag may open the next
    ///   frame), drop only `used − 1` bytes; [`FrameReader`](super::FrameReader) does
    ///   that.
    ///
    /// Header errors are reported as soon as the header bytes are there, so a false
    /// frame start in line noise never makes the caller wait for up to 2 KiB.
    ///
    /// # Errors
    /// A [`FrameError`] whose `discard` tells how many bytes to drop before trying again:
    /// bytes before a flag ([`FrameErrorKind::Garbage`]), wrong format type, an
    /// impossible length, a bad address field, a bad HCS, a missing closing flag (all
    /// resynchronise at the next flag), or a bad FCS (the frame is dropped up to its
    /// closing flag).
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != FLAG {
            return Err(FrameError { kind: FrameErrorKind::Garbage, discard: next_flag(buf, 0) });
        }
        // Consecutive flags are inter-frame fill: the last one opens the frame.
        let mut open = 0;
        while buf.get(open + 1) == Some(&FLAG) {
            open += 1;
        }
        let body = buf.get(open + 1..).unwrap_or_default();
        let resync = |kind: FrameErrorKind| FrameError { kind, discard: next_flag(buf, open) };

        let Some(&f0) = body.first() else {
            return Ok(None);
        };
        if f0 >> 4 != FORMAT_TYPE_3 {
            return Err(resync(FrameErrorKind::FormatType { format_type: f0 >> 4 }));
        }
        let Some(&f1) = body.get(1) else {
            return Ok(None);
        };
        let format = FrameFormat::from_u16(u16::from_be_bytes([f0, f1])).map_err(resync)?;
        let length = usize::from(format.length);
        if length < MIN_FRAME_LENGTH {
            return Err(resync(FrameErrorKind::Length { length, detail: "shorter than the smallest frame" }));
        }

        let address = |at: usize, field: AddressField| match HdlcAddress::scan(body.get(at..).unwrap_or_default()) {
            Ok(found) => Ok(found),
            Err(e) => Err(resync(FrameErrorKind::Address { field, detail: e.to_string() })),
        };
        let Some((destination, dest_len)) = address(2, AddressField::Destination)? else {
            return Ok(None);
        };
        let Some((source, src_len)) = address(2 + dest_len, AddressField::Source)? else {
            return Ok(None);
        };
        let header_len = 2 + dest_len + src_len + 1;
        let has_information = length > header_len + 2;
        if length < header_len + 2 {
            return Err(resync(FrameErrorKind::Length { length, detail: "no room for control and FCS" }));
        }
        if has_information && length < header_len + 2 + 1 + 2 {
            return Err(resync(FrameErrorKind::Length { length, detail: "no room for HCS, information and FCS" }));
        }
        let Some(&control) = body.get(header_len - 1) else {
            return Ok(None);
        };
        if has_information {
            let (Some(header), Some(hcs)) = (body.get(..header_len), body.get(header_len..header_len + 2)) else {
                return Ok(None);
            };
            let computed = fcs16(header);
            let received = read_fcs16([hcs[0], hcs[1]]);
            if computed != received {
                return Err(resync(FrameErrorKind::Hcs { computed, received }));
            }
        }
        let (Some(covered), Some(fcs), Some(&closing)) =
            (body.get(..length - 2), body.get(length - 2..length), body.get(length))
        else {
            return Ok(None);
        };
        if closing != FLAG {
            return Err(resync(FrameErrorKind::ClosingFlag { found: closing }));
        }
        let computed = fcs16(covered);
        let received = read_fcs16([fcs[0], fcs[1]]);
        if computed != received {
            // The header (and HCS, when present) held: the frame is well delimited, so
            // drop it whole and keep its closing flag, which may open the next frame.
            return Err(FrameError { kind: FrameErrorKind::Fcs { computed, received }, discard: open + 1 + length });
        }
        let information =
            if has_information { covered.get(header_len + 2..).unwrap_or_default().to_vec() } else { Vec::new() };
        let frame = Frame {
            destination,
            source,
            control: Control::from_byte(control),
            segmented: format.segmented,
            information,
        };
        Ok(Some((frame, open + 1 + length + 1)))
    }
}

/// The index of the first flag after position `after`, or the buffer length.
fn next_flag(buf: &[u8], after: usize) -> usize {
    buf.iter().skip(after + 1).position(|&b| b == FLAG).map_or(buf.len(), |i| after + 1 + i)
}

impl Codec for Frame {
    /// Appends the whole frame with both flags, HCS (when there is an information field)
    /// and FCS. An information field longer than [`Frame::max_information_len`] (only
    /// possible when the struct is built without [`Frame::new`]) is cut to fit, so the
    /// frame stays well formed.
    fn encode(&self, out: &mut Vec<u8>) {
        let max = Frame::max_information_len(&self.destination, &self.source);
        let information = self.information.get(..max).unwrap_or(&self.information);
        let start = out.len() + 1;
        out.push(FLAG);
        let header_len = 2 + self.destination.size().byte_count() + self.source.size().byte_count() + 1;
        let length = header_len + if information.is_empty() { 0 } else { 2 + information.len() } + 2;
        let format = FrameFormat { segmented: self.segmented, length: length as u16 };
        out.extend_from_slice(&format.to_u16().to_be_bytes());
        self.destination.encode(out);
        self.source.encode(out);
        out.push(self.control.to_byte());
        if !information.is_empty() {
            let hcs = fcs16(out.get(start..).unwrap_or_default());
            out.extend_from_slice(&hcs.to_le_bytes());
            out.extend_from_slice(information);
        }
        let fcs = fcs16(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&fcs.to_le_bytes());
        out.push(FLAG);
    }

    /// Decodes one complete frame, flags included, from the reader (for buffers known to
    /// hold whole frames; use [`Frame::parse`] on streams).
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] when the frame is incomplete, [`DecodeError::Invalid`]
    /// for any [`FrameError`] (including bytes before the opening flag).
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match Frame::parse(r.rest())? {
            Some((frame, used)) => {
                r.take(used, "HDLC frame")?;
                Ok(frame)
            }
            None => Err(DecodeError::Truncated { what: "HDLC frame", needed: 1 }),
        }
    }
}
