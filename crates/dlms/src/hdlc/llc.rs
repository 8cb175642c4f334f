//! The LLC sub-layer header of the HDLC profile (IEC 62056-46 §5.3.2 "LLC protocol data unit
//! (LPDU) structure"): the information field of the first I-frame (or UI frame) of an APDU starts
//! with three bytes, destination LSAP, source LSAP and LLC quality:
//!
//! | direction | header |
//! |---|---|
//! | client → server (command) | `E6 E6 00` |
//! | server → client (response) | `E6 E7 00` |
//!
//! The LSAP 0xE6 is the DLMS/COSEM LSAP; the last bit of the source LSAP is the
//! command/response bit. The LLC PDU (header + APDU) is what gets segmented into I-frames.

use serde::Serialize;

use crate::codec::DecodeError;

/// The DLMS/COSEM LSAP.
pub const DLMS_LSAP: u8 = 0xE6;
/// The LLC header of a command (client → server).
pub const LLC_COMMAND: [u8; 3] = [0xE6, 0xE6, 0x00];
/// The LLC header of a response (server → client).
pub const LLC_RESPONSE: [u8; 3] = [0xE6, 0xE7, 0x00];

/// The direction an LLC header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LlcDirection {
    /// `E6 E6 00`: a client command.
    Command,
    /// `E6 E7 00`: a server response (or push).
    Response,
}

impl LlcDirection {
    /// The three header bytes.
    pub fn header(self) -> [u8; 3] {
        match self {
            LlcDirection::Command => LLC_COMMAND,
            LlcDirection::Response => LLC_RESPONSE,
        }
    }

    /// The LLC PDU: the header followed by the APDU.
    pub fn wrap(self, apdu: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(3 + apdu.len());
        v.extend_from_slice(&self.header());
        v.extend_from_slice(apdu);
        v
    }
}

/// Splits an LLC PDU into its direction and the APDU.
///
/// # Errors
/// [`DecodeError::Truncated`] below 3 bytes; [`DecodeError::Invalid`] for any other
/// header than `E6 E6 00` or `E6 E7 00`.
pub fn split_llc(pdu: &[u8]) -> Result<(LlcDirection, &[u8]), DecodeError> {
    let (Some(header), Some(apdu)) = (pdu.get(..3), pdu.get(3..)) else {
        return Err(DecodeError::Truncated { what: "LLC header", needed: 3 - pdu.len() });
    };
    let direction = if header == LLC_COMMAND {
        LlcDirection::Command
    } else if header == LLC_RESPONSE {
        LlcDirection::Response
    } else {
        return Err(DecodeError::invalid("LLC header", format!("{header:02X?}, expected E6 E6 00 or E6 E7 00")));
    };
    Ok((direction, apdu))
}

/// The APDU of an LLC PDU that must have the given direction.
///
/// # Errors
/// As [`split_llc`], and [`DecodeError::Invalid`] when the direction differs.
pub fn strip_llc(pdu: &[u8], expected: LlcDirection) -> Result<&[u8], DecodeError> {
    let (direction, apdu) = split_llc(pdu)?;
    if direction != expected {
        return Err(DecodeError::invalid("LLC header", format!("{direction:?} header where {expected:?} expected")));
    }
    Ok(apdu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_split() {
        let pdu = LlcDirection::Command.wrap(&[0x60, 0x1D]);
        assert_eq!(pdu, [0xE6, 0xE6, 0x00, 0x60, 0x1D]);
        assert_eq!(split_llc(&pdu), Ok((LlcDirection::Command, &[0x60, 0x1D][..])));
        assert_eq!(strip_llc(&LLC_RESPONSE, LlcDirection::Response), Ok(&[][..]));
        assert!(strip_llc(&pdu, LlcDirection::Response).is_err());
        assert!(matches!(split_llc(&[0xE6, 0xE6]), Err(DecodeError::Truncated { needed: 1, .. })));
        assert!(split_llc(&[0xE6, 0xE6, 0x01]).is_err());
    }
}
