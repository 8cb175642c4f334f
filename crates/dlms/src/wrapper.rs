//! The DLMS/COSEM TCP-UDP wrapper (IEC 62056-47 §5 / IEC 62056-9-7; DLMS UA 1000-2
//! Green Book, "TCP-UDP based communication profiles"): every APDU sent over TCP or UDP
//! is preceded by an 8-byte header
//!
//! ```text
//! version (u16 = 0x0001) | source wPort (u16) | destination wPort (u16) | length (u16)
//! ```
//!
//! all big-endian, `length` being the number of APDU bytes that follow (so one frame
//! carries at most 65 535 bytes of APDU).
//!
//! The wPort numbers play the role of the HDLC addresses: on the client side the wPort
//! is the client SAP (e.g. [`WPORT_PUBLIC_CLIENT`] 0x0010, [`WPORT_CLIENT_MANAGEMENT`]
//! 0x0001), on the server side it is the SAP of a logical device
//! ([`WPORT_MANAGEMENT_LOGICAL_DEVICE`] 0x0001, others from 0x0010).
//!
//! A TCP byte stream is split into frames with [`WrapperFrame::parse`], which follows
//! the tokio mini-redis `check`-then-`parse` shape: it returns `Ok(None)` while the
//! buffer holds only part of a frame, and the frame with the number of bytes it used
//! once a whole frame is there.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// The registered TCP and UDP port of DLMS/COSEM (IANA "dlms-cosem", IEC 62056-47).
pub const DLMS_PORT: u16 = 4059;
/// The wrapper protocol version carried in every header (IEC 62056-47 §5).
pub const WRAPPER_VERSION: u16 = 0x0001;
/// Length in bytes of the wrapper header.
pub const WRAPPER_HEADER_LEN: usize = 8;
/// The largest APDU one frame can carry (the length field is a u16); the default
/// limit of [`WrapperFrame::parse`].
pub const MAX_WRAPPER_APDU_LEN: usize = u16::MAX as usize;

/// wPort 0x0000, "no station" (reserved, client and server side).
pub const WPORT_NO_STATION: u16 = 0x0000;
/// Client wPort 0x0001: the client management process.
pub const WPORT_CLIENT_MANAGEMENT: u16 = 0x0001;
/// Client wPort 0x0010: the public client (lowest security, no authentication); it may
/// always associate with the management logical device. Client wPorts 0x0011 upwards are
/// free for other client application processes (their meaning is set by the meter's
/// SAP and association configuration).
pub const WPORT_PUBLIC_CLIENT: u16 = 0x0010;
/// Server wPort 0x0001: the management logical device, mandatory in every physical
/// device. Server wPorts 0x0002..=0x000F are reserved; 0x0010 upwards address further
/// logical devices.
pub const WPORT_MANAGEMENT_LOGICAL_DEVICE: u16 = 0x0001;
/// Server wPort 0x007F: all stations (broadcast).
pub const WPORT_ALL_STATION: u16 = 0x007F;

/// One wrapper frame (IEC 62056-47 §5): the two wPorts and the APDU it carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct WrapperFrame {
    /// The sender's wPort (client SAP when the client sends, logical-device SAP when
    /// the server sends).
    pub source_wport: u16,
    /// The receiver's wPort.
    pub destination_wport: u16,
    /// The APDU, at most [`MAX_WRAPPER_APDU_LEN`] bytes.
    pub apdu: Vec<u8>,
}

impl WrapperFrame {
    /// Builds a frame.
    ///
    /// # Errors
    /// [`DecodeError::Oversized`] when the APDU is longer than 65 535 bytes (it must be
    /// split by the application layer: the negotiated max PDU sizes are u16).
    pub fn new(source_wport: u16, destination_wport: u16, apdu: Vec<u8>) -> Result<Self, DecodeError> {
        if apdu.len() > MAX_WRAPPER_APDU_LEN {
            return Err(DecodeError::Oversized { what: "wrapper APDU", len: apdu.len(), max: MAX_WRAPPER_APDU_LEN });
        }
        Ok(WrapperFrame { source_wport, destination_wport, apdu })
    }

    /// The frame the other side answers with: wPorts swapped, the given APDU.
    pub fn reply(&self, apdu: Vec<u8>) -> WrapperFrame {
        WrapperFrame { source_wport: self.destination_wport, destination_wport: self.source_wport, apdu }
    }

    /// Frames a byte stream with the default APDU limit ([`MAX_WRAPPER_APDU_LEN`]).
    /// See [`WrapperFrame::parse_with_limit`].
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when the version is not 0x0001.
    pub fn parse(buf: &[u8]) -> Result<Option<(WrapperFrame, usize)>, DecodeError> {
        WrapperFrame::parse_with_limit(buf, MAX_WRAPPER_APDU_LEN)
    }

    /// Looks for one frame at the start of `buf` (the receive buffer of a stream):
    ///
    /// * `Ok(None)`: `buf` holds a valid beginning of a frame but not all of it; read
    ///   more bytes and call again with the longer buffer.
    /// * `Ok(Some((frame, used)))`: a complete frame; drop the first `used` bytes
    ///   (8 + APDU length) from the buffer. Bytes after them belong to the next frame.
    ///
    /// The header is checked as soon as its bytes arrive, so a corrupt stream is
    /// reported without waiting for a body that may never come.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when the version is not 0x0001 (the stream is not DLMS
    /// wrapper, or has lost synchronisation: close the connection);
    /// [`DecodeError::Oversized`] when the length field exceeds `max_apdu_len` (e.g. the
    /// negotiated max receive PDU size).
    pub fn parse_with_limit(buf: &[u8], max_apdu_len: usize) -> Result<Option<(WrapperFrame, usize)>, DecodeError> {
        if let Some(v) = buf.get(0..2) {
            let version = u16::from_be_bytes([v[0], v[1]]);
            if version != WRAPPER_VERSION {
                return Err(DecodeError::invalid("wrapper header", format!("version {version:#06X}, expected 0x0001")));
            }
        }
        let Some(header) = buf.get(0..WRAPPER_HEADER_LEN) else {
            return Ok(None);
        };
        let len = u16::from_be_bytes([header[6], header[7]]) as usize;
        if len > max_apdu_len {
            return Err(DecodeError::Oversized { what: "wrapper APDU", len, max: max_apdu_len });
        }
        let total = WRAPPER_HEADER_LEN + len;
        let Some(apdu) = buf.get(WRAPPER_HEADER_LEN..total) else {
            return Ok(None);
        };
        let frame = WrapperFrame {
            source_wport: u16::from_be_bytes([header[2], header[3]]),
            destination_wport: u16::from_be_bytes([header[4], header[5]]),
            apdu: apdu.to_vec(),
        };
        Ok(Some((frame, total)))
    }
}

impl Codec for WrapperFrame {
    /// Appends the 8-byte header and the APDU. An APDU longer than 65 535 bytes (only
    /// possible when the struct is built without [`WrapperFrame::new`]) is cut to its
    /// first 65 535 bytes, so the frame stays well formed.
    fn encode(&self, out: &mut Vec<u8>) {
        let apdu = self.apdu.get(..MAX_WRAPPER_APDU_LEN).unwrap_or(&self.apdu);
        out.extend_from_slice(&WRAPPER_VERSION.to_be_bytes());
        out.extend_from_slice(&self.source_wport.to_be_bytes());
        out.extend_from_slice(&self.destination_wport.to_be_bytes());
        out.extend_from_slice(&(apdu.len() as u16).to_be_bytes());
        out.extend_from_slice(apdu);
    }

    /// Decodes one complete frame from the reader (for datagrams and buffers known to
    /// be whole; use [`WrapperFrame::parse`] on streams).
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] when the header or APDU is incomplete;
    /// [`DecodeError::Invalid`] for a version other than 0x0001.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u16("wrapper version")?;
        if version != WRAPPER_VERSION {
            return Err(DecodeError::invalid("wrapper header", format!("version {version:#06X}, expected 0x0001")));
        }
        let source_wport = r.u16("wrapper source wPort")?;
        let destination_wport = r.u16("wrapper destination wPort")?;
        let len = r.u16("wrapper length")? as usize;
        let apdu = r.take(len, "wrapper APDU")?.to_vec();
        Ok(WrapperFrame { source_wport, destination_wport, apdu })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let f = WrapperFrame::new(WPORT_PUBLIC_CLIENT, WPORT_MANAGEMENT_LOGICAL_DEVICE, vec![0xC0, 0x01]).unwrap();
        assert_eq!(f.to_bytes(), [0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x02, 0xC0, 0x01]);
        let r = f.reply(vec![0xC4]);
        assert_eq!((r.source_wport, r.destination_wport), (0x0001, 0x0010));
    }

    #[test]
    fn oversized_apdu_is_refused_by_new_and_cut_by_encode() {
        let long = vec![0u8; MAX_WRAPPER_APDU_LEN + 1];
        assert!(matches!(WrapperFrame::new(1, 1, long.clone()), Err(DecodeError::Oversized { .. })));
        let f = WrapperFrame { source_wport: 1, destination_wport: 1, apdu: long };
        let bytes = f.to_bytes();
        assert_eq!(bytes.len(), WRAPPER_HEADER_LEN + MAX_WRAPPER_APDU_LEN);
        assert_eq!(&bytes[6..8], &[0xFF, 0xFF]);
    }
}
