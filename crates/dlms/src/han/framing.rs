//! From captured bytes to one APDU: the carriers HAN and P1 ports use, detected from the
//! first bytes or given by the caller.
//!
//! | [`Framing`] | bytes | standard |
//! |---|---|---|
//! | `Hdlc` | `7E A… 7E`, one or more frames, LLC `E6 E7 00` in the first | IEC 62056-46 (via [`crate::hdlc`]) |
//! | `Mbus` | `68 L L 68 C A CI …  CS 16`, one or more telegrams | EN 13757-2 (via [`super::mbus`]) |
//! | `LlcApdu` | `E6 E7 00` + APDU | IEC 62056-46 §5 LLC header |
//! | `Apdu` | the APDU alone (`0F`, `DB`, `E0`, …) | IEC 62056-5-3 |
//! | `Dsmr` | `/XXX5…!CRC` text | DSMR 5.0.2 P1 (via [`super::dsmr`]) |
//!
//! HDLC frames with the segmentation bit set are joined (IEC 62056-46 §6.4.4.4.3.3), and
//! a General-Block-Transfer sequence (one block per frame, Landis+Gyr) is reassembled
//! into the APDU it carries ([`super::gbt`]).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::hdlc::frame::{FLAG, Frame};
use crate::hdlc::llc::split_llc;

use super::HanError;
use super::gbt::{self, GENERAL_BLOCK_TRANSFER};
use super::mbus;

/// How the captured bytes are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Framing {
    /// HDLC frame(s) (IEC 62056-46), with or without the LLC header.
    #[serde(rename = "hdlc")]
    Hdlc,
    /// EN 13757-2 M-Bus long frame(s) with DLMS segments.
    #[serde(rename = "mbus")]
    Mbus,
    /// LLC header `E6 E7 00` (or `E6 E6 00`) followed by the APDU.
    #[serde(rename = "llc+apdu")]
    LlcApdu,
    /// A bare APDU.
    #[serde(rename = "apdu")]
    Apdu,
    /// A DSMR/P1 ASCII telegram.
    #[serde(rename = "dsmr-p1-ascii")]
    Dsmr,
}

impl Framing {
    /// Guesses the framing from the first bytes: `7E` HDLC, `68 ?? ?? 68` M-Bus, `E6 E6|E7
    /// 00` LLC, `/` DSMR, an APDU tag (data-notification `0F`, general-glo/ded-ciphering
    /// `DB`/`DC`, general-block-transfer `E0`, event-notification `C2`) a bare APDU.
    pub fn detect(bytes: &[u8]) -> Option<Framing> {
        match bytes {
            [FLAG, ..] => Some(Framing::Hdlc),
            [mbus::LONG_FRAME_START, _, _, mbus::LONG_FRAME_START, ..] => Some(Framing::Mbus),
            [0xE6, 0xE6 | 0xE7, 0x00, ..] => Some(Framing::LlcApdu),
            [b'/', ..] => Some(Framing::Dsmr),
            [0x0F | 0xDB | 0xDC | 0xE0 | 0xC2, ..] => Some(Framing::Apdu),
            _ => None,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Hdlc => "hdlc",
            Framing::Mbus => "mbus",
            Framing::LlcApdu => "llc+apdu",
            Framing::Apdu => "apdu",
            Framing::Dsmr => "dsmr-p1-ascii",
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Framing {
    type Err = String;

    /// Accepts the names of [`Framing::name`] and `hdlc+llc`; text in parentheses after
    /// the name (as in `hdlc+llc (3 frames)`) is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.split('(').next().unwrap_or_default().trim().to_ascii_lowercase();
        Ok(match name.as_str() {
            "hdlc" | "hdlc+llc" => Framing::Hdlc,
            "mbus" | "m-bus" => Framing::Mbus,
            "llc+apdu" | "llc" => Framing::LlcApdu,
            "apdu" => Framing::Apdu,
            "dsmr" | "dsmr-p1-ascii" | "p1" => Framing::Dsmr,
            _ => return Err(format!("unknown framing {s:?} (hdlc, mbus, llc+apdu, apdu, dsmr-p1-ascii)")),
        })
    }
}

/// What carried the APDU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Carrier {
    /// HDLC frames read.
    pub hdlc_frames: usize,
    /// M-Bus long frames read.
    pub mbus_telegrams: usize,
    /// General-Block-Transfer blocks joined (0 when the APDU came whole).
    pub gbt_blocks: usize,
    /// True when an LLC header preceded the APDU.
    pub llc: bool,
    /// Bytes after the last complete frame that were ignored (a capture running into the
    /// next frame, or line noise).
    pub trailing_bytes: usize,
}

/// An APDU taken out of its carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The framing that was used.
    pub framing: Framing,
    /// The APDU bytes.
    pub apdu: Vec<u8>,
    /// Frame counts.
    pub carrier: Carrier,
}

/// The information fields of the HDLC frames in `bytes`, segmented frames joined: one
/// entry per complete LLC PDU (or APDU without LLC), and the number of frames and of
/// trailing bytes. Frames may share flags or be separated by fill flags.
///
/// # Errors
/// [`HanError::Hdlc`] for a frame error (bad HCS/FCS, format, closing flag) before any
/// complete message; [`HanError::Incomplete`] when the bytes end inside a frame or a
/// segmented sequence.
pub fn hdlc_messages(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, usize, usize), HanError> {
    let mut rest = bytes;
    let mut messages = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut segmenting = false;
    let mut frames = 0usize;
    loop {
        if rest.iter().all(|&b| b == FLAG) {
            rest = &[];
            break;
        }
        match Frame::parse(rest) {
            Ok(Some((frame, used))) => {
                frames += 1;
                pending.extend_from_slice(&frame.information);
                segmenting = frame.segmented;
                if !frame.segmented {
                    messages.push(std::mem::take(&mut pending));
                }
                // Keep the closing flag: it may open the next frame.
                rest = rest.get(used.saturating_sub(1)..).unwrap_or_default();
            }
            Ok(None) if messages.is_empty() || segmenting => {
                return Err(HanError::Incomplete(format!(
                    "HDLC frame {} ends after {} byte(s)",
                    frames + 1,
                    rest.len()
                )));
            }
            Err(e) if messages.is_empty() || segmenting => return Err(HanError::Hdlc(e.kind)),
            // After a complete message, whatever cannot be read is a trailing remnant.
            Ok(None) | Err(_) => break,
        }
    }
    if segmenting {
        return Err(HanError::Incomplete(format!(
            "HDLC frame {frames} has the segmentation bit set but no further segment follows"
        )));
    }
    // `rest` starts with the closing flag of the last frame, kept as a possible opening
    // flag: it belongs to that frame.
    Ok((messages, frames, rest.len().saturating_sub(1)))
}

/// Takes the APDU out of `bytes` framed as `framing` (detected when `None`).
///
/// # Errors
/// [`HanError::UnknownFraming`] when the framing cannot be detected or is DSMR (a text
/// telegram holds no APDU); [`HanError::Hdlc`], [`HanError::Mbus`], [`HanError::Llc`],
/// [`HanError::Gbt`], [`HanError::Incomplete`] for carrier errors.
pub fn extract_apdu(bytes: &[u8], framing: Option<Framing>) -> Result<Extracted, HanError> {
    let framing = match framing.or_else(|| Framing::detect(bytes)) {
        Some(Framing::Dsmr) | None => return Err(HanError::UnknownFraming(first_bytes(bytes))),
        Some(f) => f,
    };
    let mut carrier = Carrier::default();
    let pieces: Vec<Vec<u8>> = match framing {
        Framing::Hdlc => {
            let (messages, frames, trailing) = hdlc_messages(bytes)?;
            carrier.hdlc_frames = frames;
            carrier.trailing_bytes = trailing;
            messages
        }
        Framing::Mbus => {
            let m = mbus::reassemble_dlms(bytes)?;
            carrier.mbus_telegrams = m.telegrams;
            vec![m.apdu]
        }
        Framing::LlcApdu | Framing::Apdu => vec![bytes.to_vec()],
        Framing::Dsmr => return Err(HanError::UnknownFraming(first_bytes(bytes))),
    };
    // The LLC header opens the first piece only (IEC 62056-46 §5: it precedes the APDU in
    // the first segment).
    let mut apdus: Vec<&[u8]> = Vec::with_capacity(pieces.len());
    for (i, p) in pieces.iter().enumerate() {
        let starts_llc = matches!(p.as_slice(), [0xE6, 0xE6 | 0xE7, ..]);
        if i == 0 && (starts_llc || framing == Framing::LlcApdu) {
            let (_, apdu) = split_llc(p).map_err(HanError::Llc)?;
            carrier.llc = true;
            apdus.push(apdu);
        } else {
            apdus.push(p);
        }
    }
    let apdu = match apdus.as_slice() {
        [] => Vec::new(),
        [first, ..] if first.first() == Some(&GENERAL_BLOCK_TRANSFER) => {
            let (apdu, blocks) = gbt::reassemble(apdus.iter().copied())?;
            carrier.gbt_blocks = blocks;
            apdu
        }
        [one] => one.to_vec(),
        more => {
            return Err(HanError::Incomplete(format!(
                "{} HDLC messages that are not one general-block-transfer",
                more.len()
            )));
        }
    };
    Ok(Extracted { framing, apdu, carrier })
}

/// Removes octet stuffing (ISO/IEC 13239 §4.3.2, via [`crate::hdlc::transparency`]) from
/// a capture of HDLC frames as some HAN gateways forward them: the bytes between flags
/// are unstuffed frame by frame, the flags kept. With stuffing a 0x7E occurs only as a
/// flag, so splitting on it is exact.
///
/// # Errors
/// [`HanError::Incomplete`] when a frame ends with a lone escape byte.
pub fn remove_octet_stuffing(bytes: &[u8]) -> Result<Vec<u8>, HanError> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, part) in bytes.split(|&b| b == FLAG).enumerate() {
        if i > 0 {
            out.push(FLAG);
        }
        let unstuffed = crate::hdlc::transparency::remove_octet_stuffing(part)
            .map_err(|e| HanError::Incomplete(format!("octet-stuffed frame: {e}")))?;
        out.extend_from_slice(&unstuffed);
    }
    Ok(out)
}

/// The first bytes in hex, for messages.
pub(crate) fn first_bytes(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect();
    if bytes.len() > 8 { format!("{shown}…") } else { shown }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Codec;
    use crate::hdlc::{Control, HdlcAddress};
    use proptest::prelude::*;

    /// A UI frame (control 0x13) from server 1/17 to client 0x10, with both flags.
    fn ui(segmented: bool, info: &[u8]) -> Vec<u8> {
        let (client, server) = (HdlcAddress::client(0x10).unwrap(), HdlcAddress::server(1, 17).unwrap());
        Frame::new(client, server, Control::from_byte(0x13), segmented, info.to_vec()).unwrap().to_bytes()
    }

    const PUSH: [u8; 11] = [0x0F, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x2A];

    #[test]
    fn segmented_frames_are_joined_and_the_llc_header_removed() {
        let mut bytes = ui(true, &[0xE6, 0xE7, 0x00, 0x0F, 0x00]);
        bytes.extend(ui(false, &PUSH[2..]));
        let ex = extract_apdu(&bytes, None).unwrap();
        assert_eq!(ex.apdu, PUSH);
        assert_eq!(
            (ex.framing, ex.carrier.hdlc_frames, ex.carrier.llc, ex.carrier.trailing_bytes),
            (Framing::Hdlc, 2, true, 0)
        );
        // One flag between the frames (closing flag = next opening flag).
        let mut shared = ui(true, &[0xE6, 0xE7, 0x00, 0x0F, 0x00]);
        shared.extend(&ui(false, &PUSH[2..])[1..]);
        assert_eq!(extract_apdu(&shared, None).unwrap().apdu, PUSH);
        // The last segment missing.
        assert!(matches!(extract_apdu(&ui(true, &PUSH), None), Err(HanError::Incomplete(_))));
        // Bytes after a complete frame are counted, not decoded.
        let mut trailing = ui(false, &PUSH);
        trailing.extend([0x7E, 0xA0, 0x12]);
        let ex = extract_apdu(&trailing, None).unwrap();
        assert_eq!((ex.apdu.as_slice(), ex.carrier.trailing_bytes), (&PUSH[..], 3));
        // A damaged FCS.
        let mut bad = ui(false, &PUSH);
        let n = bad.len();
        bad[n - 2] ^= 0xFF;
        assert!(matches!(extract_apdu(&bad, None), Err(HanError::Hdlc(crate::hdlc::FrameErrorKind::Fcs { .. }))));
    }

    #[test]
    fn detection_and_names() {
        assert_eq!(Framing::detect(&[0x7E, 0xA0]), Some(Framing::Hdlc));
        assert_eq!(Framing::detect(&[0x68, 0xFA, 0xFA, 0x68]), Some(Framing::Mbus));
        assert_eq!(Framing::detect(&[0xE6, 0xE7, 0x00, 0x0F]), Some(Framing::LlcApdu));
        assert_eq!(Framing::detect(b"/KAM5"), Some(Framing::Dsmr));
        assert_eq!(Framing::detect(&[0xDB, 0x08]), Some(Framing::Apdu));
        assert_eq!(Framing::detect(&[0x13, 0x2B]), None);
        assert_eq!(Framing::detect(&[]), None);
        for (text, f) in [
            ("hdlc+llc (3 frames)", Framing::Hdlc),
            ("hdlc", Framing::Hdlc),
            ("mbus", Framing::Mbus),
            ("llc+apdu", Framing::LlcApdu),
            ("apdu", Framing::Apdu),
            ("dsmr-p1-ascii (stored as hex bytes)", Framing::Dsmr),
        ] {
            assert_eq!(text.parse::<Framing>(), Ok(f), "{text}");
        }
        assert!("unrecognised (corrupt capture)".parse::<Framing>().is_err());
        assert_eq!(Framing::LlcApdu.to_string(), "llc+apdu");
    }

    #[test]
    fn octet_stuffing_is_removed_per_frame() {
        let plain = ui(false, &[0x7E, 0x7D, 0x03]);
        let inner = plain.get(1..plain.len() - 1).unwrap();
        let mut stuffed = vec![FLAG];
        stuffed.extend(crate::hdlc::transparency::apply_octet_stuffing(inner));
        stuffed.push(FLAG);
        assert_ne!(stuffed, plain);
        assert_eq!(remove_octet_stuffing(&stuffed).unwrap(), plain);
        assert!(remove_octet_stuffing(&[FLAG, 0x7D]).is_err());
    }

    proptest! {
        #[test]
        fn any_segmentation_reassembles(tail in prop::collection::vec(any::<u8>(), 0..400), size in 1usize..120) {
            let mut pdu = vec![0xE6, 0xE7, 0x00];
            pdu.extend_from_slice(&tail);
            let chunks: Vec<&[u8]> = pdu.chunks(size).collect();
            let mut bytes = Vec::new();
            for (i, c) in chunks.iter().enumerate() {
                bytes.extend(ui(i + 1 < chunks.len(), c));
            }
            let ex = extract_apdu(&bytes, Some(Framing::Hdlc));
            if tail.first() == Some(&GENERAL_BLOCK_TRANSFER) {
                prop_assert!(ex.is_err() || ex.is_ok());
            } else {
                let ex = ex.unwrap();
                prop_assert_eq!(&ex.apdu, &tail);
                prop_assert_eq!(ex.carrier.hdlc_frames, chunks.len());
            }
        }
    }
}
