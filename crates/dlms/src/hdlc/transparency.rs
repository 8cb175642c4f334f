//! Octet stuffing (ISO/IEC 13239 asynchronous transparency, RFC 1662 §4.2): a
//! frame whose bytes 0x7E and 0x7D are sent as `7D 5E` and `7D 5D` (any byte may be
//! escaped as `7D`, byte XOR 0x20).
//!
//! IEC 62056-46 does **not** use it (the length field delimits frames, see
//! [`Frame::parse`](super::Frame::parse)); some HAN gateways stuff the frames they
//! forward. These helpers convert such captures to and from the IEC 62056-46 form.

use crate::codec::DecodeError;

/// The control escape byte.
pub const CONTROL_ESCAPE: u8 = 0x7D;

/// Removes octet stuffing: every `7D x` becomes `x ^ 0x20`.
///
/// # Errors
/// [`DecodeError::Truncated`] when the input ends with a lone escape byte.
pub fn remove_octet_stuffing(stuffed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(stuffed.len());
    let mut bytes = stuffed.iter();
    while let Some(&b) = bytes.next() {
        if b == CONTROL_ESCAPE {
            let Some(&next) = bytes.next() else {
                return Err(DecodeError::Truncated { what: "octet-stuffed escape sequence", needed: 1 });
            };
            out.push(next ^ 0x20);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// Applies octet stuffing to the bytes of one frame *between* its flags (0x7E and 0x7D
/// are escaped); the caller adds the flags.
pub fn apply_octet_stuffing(unstuffed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(unstuffed.len() + 4);
    for &b in unstuffed {
        if b == 0x7E || b == CONTROL_ESCAPE {
            out.extend_from_slice(&[CONTROL_ESCAPE, b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(apply_octet_stuffing(&[0x01, 0x7E, 0x7D, 0x03]), [0x01, 0x7D, 0x5E, 0x7D, 0x5D, 0x03]);
        assert_eq!(remove_octet_stuffing(&[0x7D, 0x5E, 0x7D, 0x5D, 0x7D, 0x23]), Ok(vec![0x7E, 0x7D, 0x03]));
        assert!(remove_octet_stuffing(&[0x01, 0x7D]).is_err());
    }
}
