//! The information field of an FRMR response (ISO/IEC 13239, used by
//! IEC 62056-46 §6.4.3 and §6.4.4 "frame reject"): why a secondary station refused a frame.
//!
//! ```text
//! byte 1: the rejected control field
//! byte 2: bit 0 = 0 | bits 1-3 V(S) | bit 4 C/R | bits 5-7 V(R)
//! byte 3: bit 0 W (undefined control) | bit 1 X (information not permitted)
//!         | bit 2 Y (information field too long) | bit 3 Z (invalid N(R)) | bits 4-7 = 0
//! ```

use serde::Serialize;

use crate::codec::DecodeError;

/// The reason for an FRMR (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct FrameReject {
    /// The control byte of the rejected frame.
    pub rejected_control: u8,
    /// The rejecting station's send state variable V(S).
    pub vs: u8,
    /// The rejecting station's receive state variable V(R).
    pub vr: u8,
    /// C/R: the rejected frame was a response.
    pub rejected_response: bool,
    /// W: the control field is undefined or not implemented.
    pub undefined_control: bool,
    /// X: the frame carried an information field it may not carry.
    pub information_not_permitted: bool,
    /// Y: the information field exceeded the maximum information field length.
    pub information_too_long: bool,
    /// Z: the N(R) did not acknowledge a frame sent and not yet acknowledged.
    pub invalid_nr: bool,
}

impl FrameReject {
    /// The three information bytes.
    pub fn to_bytes(&self) -> [u8; 3] {
        let bit = |b: bool, v: u8| if b { v } else { 0 };
        [
            self.rejected_control,
            (self.vs & 7) << 1 | bit(self.rejected_response, 0x10) | (self.vr & 7) << 5,
            bit(self.undefined_control, 1)
                | bit(self.information_not_permitted, 2)
                | bit(self.information_too_long, 4)
                | bit(self.invalid_nr, 8),
        ]
    }

    /// Decodes the information field of a received FRMR (extra bytes are ignored:
    /// some stations pad it).
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] below 3 bytes.
    pub fn from_information(info: &[u8]) -> Result<FrameReject, DecodeError> {
        let Some(&[c, s, f]) = info.get(..3).and_then(|b| <&[u8; 3]>::try_from(b).ok()) else {
            return Err(DecodeError::Truncated { what: "FRMR information field", needed: 3 - info.len().min(3) });
        };
        Ok(FrameReject {
            rejected_control: c,
            vs: (s >> 1) & 7,
            vr: s >> 5,
            rejected_response: s & 0x10 != 0,
            undefined_control: f & 1 != 0,
            information_not_permitted: f & 2 != 0,
            information_too_long: f & 4 != 0,
            invalid_nr: f & 8 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let r = FrameReject { rejected_control: 0x09, vs: 3, vr: 5, undefined_control: true, ..Default::default() };
        assert_eq!(r.to_bytes(), [0x09, 0b1010_0110, 0x01]);
        assert_eq!(FrameReject::from_information(&r.to_bytes()), Ok(r));
        assert!(FrameReject::from_information(&[1, 2]).is_err());
    }
}
