//! EN 13757-2 M-Bus long frames carrying DLMS/COSEM APDUs (the wired M-Bus communication
//! profile of the DLMS UA Green Book, used by Austrian, Polish and Swiss P1/HAN ports).
//!
//! A long frame is `68 L L 68 | C A CI | user data | CS 16` (EN 13757-2 §5.1): `L` counts
//! the bytes from C to the last user-data byte (at least 3: C, A, CI), `CS` is their sum
//! modulo 256. In the DLMS profile the CI field is `0x00..=0x1F`: bits 0..=3 are the
//! segment sequence number, bit 4 (`0x10`) marks the final segment, and the user data
//! starts with the transport SAPs (STSAP, DTSAP) followed by a piece of the APDU. A long
//! APDU is split across several telegrams with sequence numbers 0, 1, 2, ... the last of
//! which has the final bit set.

use thiserror::Error;

/// Start byte of a long frame (both start bytes).
pub const LONG_FRAME_START: u8 = 0x68;
/// Stop byte of every M-Bus frame.
pub const STOP: u8 = 0x16;
/// Bytes of framing around the L counted bytes: `68 L L 68` before, `CS 16` after.
pub const FRAMING_OVERHEAD: usize = 6;
/// Bit of the CI field that marks the final segment of a DLMS APDU.
pub const CI_FINAL_SEGMENT: u8 = 0x10;
/// Mask of the segment sequence number in the CI field.
pub const CI_SEQUENCE_MASK: u8 = 0x0F;
/// Largest CI value of the DLMS segmentation range (`0x00..=0x1F`).
pub const CI_DLMS_MAX: u8 = 0x1F;

/// Why bytes are not a valid M-Bus long frame or DLMS segment sequence.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MbusError {
    /// The input ended inside a frame: `needed` more bytes were required.
    #[error("M-Bus frame truncated: {needed} more byte(s) needed")]
    Truncated {
        /// Missing bytes (at least).
        needed: usize,
    },
    /// The frame does not start with `68`, or the fourth byte is not `68`.
    #[error("M-Bus long frame must start 68 L L 68, found {found:02X} at offset {offset}")]
    BadStart {
        /// Offset of the byte within the frame.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// The two length bytes differ.
    #[error("M-Bus length bytes differ: {first} and {second}")]
    LengthMismatch {
        /// First L byte.
        first: u8,
        /// Second L byte.
        second: u8,
    },
    /// L is below 3 (C, A and CI are mandatory).
    #[error("M-Bus length field {len} is below 3 (C, A, CI)")]
    LengthTooSmall {
        /// The L value.
        len: u8,
    },
    /// The checksum byte does not match the sum of C..user data.
    #[error("M-Bus checksum mismatch: frame carries {carried:02X}, computed {computed:02X}")]
    Checksum {
        /// CS byte in the frame.
        carried: u8,
        /// Sum of the counted bytes modulo 256.
        computed: u8,
    },
    /// The byte after the checksum is not `16`.
    #[error("M-Bus stop byte is {found:02X}, expected 16")]
    BadStop {
        /// The byte found.
        found: u8,
    },
    /// The CI field is outside the DLMS segmentation range 0x00..=0x1F.
    #[error("M-Bus CI field {ci:02X} does not carry a DLMS segment (0x00..=0x1F)")]
    NotDlms {
        /// The CI byte.
        ci: u8,
    },
    /// The DLMS user data lacks the STSAP/DTSAP bytes.
    #[error("M-Bus DLMS segment has {len} user-data byte(s), fewer than the 2 transport SAP bytes")]
    MissingSaps {
        /// User data length.
        len: usize,
    },
    /// A segment arrived out of order.
    #[error("M-Bus DLMS segment {found} received where segment {expected} was due")]
    SegmentOrder {
        /// Sequence number expected next.
        expected: u8,
        /// Sequence number received.
        found: u8,
    },
    /// The input ended before the final segment (CI bit 0x10) was seen.
    #[error("M-Bus DLMS APDU incomplete: no final segment after {segments} segment(s)")]
    MissingFinalSegment {
        /// Segments received.
        segments: usize,
    },
    /// Bytes follow the final segment.
    #[error("{count} byte(s) after the final M-Bus segment")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// One M-Bus long frame (EN 13757-2 §5.1), borrowing its user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongFrame<'a> {
    /// C field (e.g. 0x53 SND_UD, 0x08 RSP_UD).
    pub control: u8,
    /// A field, primary address (0xFF broadcast, 0xFD secondary addressing).
    pub address: u8,
    /// CI field.
    pub control_information: u8,
    /// The user data after CI (L − 3 bytes).
    pub user_data: &'a [u8],
}

impl<'a> LongFrame<'a> {
    /// Parses one long frame at the start of `bytes` and returns it with the number of
    /// bytes it occupies (`L + 6`).
    ///
    /// # Errors
    /// [`MbusError::Truncated`], [`MbusError::BadStart`], [`MbusError::LengthMismatch`],
    /// [`MbusError::LengthTooSmall`], [`MbusError::Checksum`], [`MbusError::BadStop`].
    pub fn parse(bytes: &'a [u8]) -> Result<(LongFrame<'a>, usize), MbusError> {
        let Some(&[s1, l1, l2, s2]) = bytes.first_chunk::<4>() else {
            return Err(MbusError::Truncated { needed: 4 - bytes.len() });
        };
        if s1 != LONG_FRAME_START {
            return Err(MbusError::BadStart { offset: 0, found: s1 });
        }
        if s2 != LONG_FRAME_START {
            return Err(MbusError::BadStart { offset: 3, found: s2 });
        }
        if l1 != l2 {
            return Err(MbusError::LengthMismatch { first: l1, second: l2 });
        }
        if l1 < 3 {
            return Err(MbusError::LengthTooSmall { len: l1 });
        }
        let total = usize::from(l1) + FRAMING_OVERHEAD;
        let frame = bytes.get(..total).ok_or_else(|| MbusError::Truncated { needed: total - bytes.len() })?;
        let counted = frame.get(4..4 + usize::from(l1)).ok_or(MbusError::Truncated { needed: 1 })?;
        let (&carried, &stop) = match frame.get(total - 2..) {
            Some([cs, stop]) => (cs, stop),
            _ => return Err(MbusError::Truncated { needed: 2 }),
        };
        let computed = checksum(counted);
        if carried != computed {
            return Err(MbusError::Checksum { carried, computed });
        }
        if stop != STOP {
            return Err(MbusError::BadStop { found: stop });
        }
        match counted {
            [control, address, ci, user_data @ ..] => {
                Ok((LongFrame { control: *control, address: *address, control_information: *ci, user_data }, total))
            }
            _ => Err(MbusError::LengthTooSmall { len: l1 }),
        }
    }

    /// Appends the wire form of a long frame with these fields (L and CS computed).
    /// Returns `None`, appending nothing, when the user data is longer than 252 bytes (L
    /// would exceed 255).
    pub fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        let l = u8::try_from(self.user_data.len() + 3).ok()?;
        out.extend_from_slice(&[LONG_FRAME_START, l, l, LONG_FRAME_START]);
        let start = out.len();
        out.extend_from_slice(&[self.control, self.address, self.control_information]);
        out.extend_from_slice(self.user_data);
        let cs = checksum(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&[cs, STOP]);
        Some(())
    }
}

/// The M-Bus checksum: arithmetic sum of the bytes modulo 256 (EN 13757-2 §5.1).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// A DLMS APDU reassembled from the segments of one or more long frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbusApdu {
    /// The APDU bytes: the user data of every segment after STSAP/DTSAP, concatenated.
    pub apdu: Vec<u8>,
    /// How many long frames carried it.
    pub telegrams: usize,
    /// C field of the first frame.
    pub control: u8,
    /// A field of the first frame.
    pub address: u8,
    /// Source transport SAP of the first segment.
    pub source_tsap: u8,
    /// Destination transport SAP of the first segment.
    pub destination_tsap: u8,
}

/// Reassembles a DLMS APDU from back-to-back long frames: segment sequence numbers must
/// run 0, 1, 2, ... (modulo 16) and the last one must carry the final bit (CI `0x10`);
/// nothing may follow it.
///
/// # Errors
/// Any [`LongFrame::parse`] error, [`MbusError::NotDlms`], [`MbusError::MissingSaps`],
/// [`MbusError::SegmentOrder`], [`MbusError::MissingFinalSegment`],
/// [`MbusError::TrailingBytes`].
pub fn reassemble_dlms(bytes: &[u8]) -> Result<MbusApdu, MbusError> {
    let mut rest = bytes;
    let mut apdu = Vec::new();
    let mut first: Option<(u8, u8, u8, u8)> = None;
    let mut telegrams = 0usize;
    loop {
        if rest.is_empty() {
            return Err(MbusError::MissingFinalSegment { segments: telegrams });
        }
        let (frame, used) = LongFrame::parse(rest)?;
        rest = rest.get(used..).unwrap_or_default();
        let ci = frame.control_information;
        if ci > CI_DLMS_MAX {
            return Err(MbusError::NotDlms { ci });
        }
        let expected = (telegrams % 16) as u8;
        if ci & CI_SEQUENCE_MASK != expected {
            return Err(MbusError::SegmentOrder { expected, found: ci & CI_SEQUENCE_MASK });
        }
        let (stsap, dtsap, payload) = match frame.user_data {
            [s, d, payload @ ..] => (*s, *d, payload),
            other => return Err(MbusError::MissingSaps { len: other.len() }),
        };
        if first.is_none() {
            first = Some((frame.control, frame.address, stsap, dtsap));
        }
        apdu.extend_from_slice(payload);
        telegrams += 1;
        if ci & CI_FINAL_SEGMENT != 0 {
            break;
        }
    }
    if !rest.is_empty() {
        return Err(MbusError::TrailingBytes { count: rest.len() });
    }
    let (control, address, source_tsap, destination_tsap) = first.unwrap_or_default();
    Ok(MbusApdu { apdu, telegrams, control, address, source_tsap, destination_tsap })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(ci: u8, user_data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        LongFrame { control: 0x53, address: 0xFF, control_information: ci, user_data }.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn known_answer_single_segment() {
        // 68 07 07 68 | 53 FF 10 01 67 0F 00 | CS 16, CS = 53+FF+10+01+67+0F+00 = 0x1D9 -> D9
        let bytes = [0x68, 0x07, 0x07, 0x68, 0x53, 0xFF, 0x10, 0x01, 0x67, 0x0F, 0x00, 0xD9, 0x16];
        assert_eq!(frame(0x10, &[0x01, 0x67, 0x0F, 0x00]), bytes);
        let (f, used) = LongFrame::parse(&bytes).unwrap();
        assert_eq!((f.control, f.address, f.control_information, used), (0x53, 0xFF, 0x10, 13));
        let a = reassemble_dlms(&bytes).unwrap();
        assert_eq!(a.apdu, [0x0F, 0x00]);
        assert_eq!((a.source_tsap, a.destination_tsap, a.telegrams), (0x01, 0x67, 1));
    }

    #[test]
    fn malformed_frames_are_refused() {
        let good = frame(0x10, &[0x01, 0x67, 0xAA]);
        let mut bad_cs = good.clone();
        let n = bad_cs.len();
        bad_cs[n - 2] ^= 1;
        assert!(matches!(LongFrame::parse(&bad_cs), Err(MbusError::Checksum { .. })));
        let mut bad_stop = good.clone();
        bad_stop[n - 1] = 0x17;
        assert_eq!(LongFrame::parse(&bad_stop), Err(MbusError::BadStop { found: 0x17 }));
        let mut bad_len = good.clone();
        bad_len[2] ^= 1;
        assert!(matches!(LongFrame::parse(&bad_len), Err(MbusError::LengthMismatch { .. })));
        assert!(matches!(LongFrame::parse(&good[..n - 1]), Err(MbusError::Truncated { needed: 1 })));
        // L = 0, as in a reassembled telnet dump
        assert_eq!(LongFrame::parse(&[0x68, 0, 0, 0x68, 0x53]), Err(MbusError::LengthTooSmall { len: 0 }));
        assert_eq!(reassemble_dlms(&frame(0x72, &[1, 2])), Err(MbusError::NotDlms { ci: 0x72 }));
    }

    #[test]
    fn segments_are_reassembled_in_order() {
        let mut two = frame(0x00, &[0x01, 0x67, 0xDB, 0x08]);
        two.extend(frame(0x11, &[0x01, 0x67, 0x4B, 0x46]));
        assert_eq!(reassemble_dlms(&two).unwrap().apdu, [0xDB, 0x08, 0x4B, 0x46]);
        let mut swapped = frame(0x01, &[0x01, 0x67]);
        swapped.extend(frame(0x10, &[0x01, 0x67]));
        assert_eq!(reassemble_dlms(&swapped), Err(MbusError::SegmentOrder { expected: 0, found: 1 }));
        assert_eq!(
            reassemble_dlms(&frame(0x00, &[0x01, 0x67, 0xAA])),
            Err(MbusError::MissingFinalSegment { segments: 1 })
        );
        let mut trailing = frame(0x10, &[0x01, 0x67]);
        trailing.push(0x00);
        assert_eq!(reassemble_dlms(&trailing), Err(MbusError::TrailingBytes { count: 1 }));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = LongFrame::parse(&bytes);
            let _ = reassemble_dlms(&bytes);
        }

        #[test]
        fn segmented_apdu_round_trips(apdu in prop::collection::vec(any::<u8>(), 0..600), chunk in 1usize..250) {
            let pieces: Vec<&[u8]> = if apdu.is_empty() { vec![&[][..]] } else { apdu.chunks(chunk).collect() };
            let mut wire = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                let fin = if i + 1 == pieces.len() { CI_FINAL_SEGMENT } else { 0 };
                let mut ud = vec![0x01, 0x67];
                ud.extend_from_slice(p);
                wire.extend(frame(fin | (i % 16) as u8, &ud));
            }
            let got = reassemble_dlms(&wire).unwrap();
            prop_assert_eq!(&got.apdu, &apdu);
            prop_assert_eq!(got.telegrams, pieces.len());
            for k in 0..wire.len() {
                prop_assert!(reassemble_dlms(&wire[..k]).is_err());
            }
        }
    }
}
