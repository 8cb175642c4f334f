//! HDLC parameter negotiation: the information field of SNRM and UA (IEC 62056-46
//! §6.4.3 (SNRM, UA) and §6.4.4; after the ISO/IEC 13239 XID parameter format):
//!
//! ```text
//! 81 (format identifier) 80 (group identifier) LL (group length)
//!     { parameter id (1) | value length (1) | value (1, 2 or 4 bytes, big-endian) }*
//! ```
//!
//! | id | parameter | default |
//! |---|---|---|
//! | 0x05 | maximum information field length, transmit (bytes) | 128 |
//! | 0x06 | maximum information field length, receive (bytes) | 128 |
//! | 0x07 | window size, transmit (frames) | 1 |
//! | 0x08 | window size, receive (frames) | 1 |
//!
//! Each side states the values from its own point of view: the client's SNRM proposes
//! what it wants to transmit and can receive; the server's UA answers with the values it
//! accepts, each the smaller of the proposal and its own capability. An absent
//! parameter (or an absent information field) means the default.
//!
//! [`NegotiationField`] is the wire form (it keeps the order and the byte width of every
//! value, so a received field re-encodes byte for byte); [`LinkParameters`] is the
//! meaning.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// Format identifier of the negotiation field.
pub const FORMAT_IDENTIFIER: u8 = 0x81;
/// Group identifier of the HDLC parameter group.
pub const GROUP_IDENTIFIER: u8 = 0x80;
/// Parameter id: maximum information field length, transmit.
pub const MAX_INFO_LENGTH_TRANSMIT: u8 = 0x05;
/// Parameter id: maximum information field length, receive.
pub const MAX_INFO_LENGTH_RECEIVE: u8 = 0x06;
/// Parameter id: window size, transmit.
pub const WINDOW_SIZE_TRANSMIT: u8 = 0x07;
/// Parameter id: window size, receive.
pub const WINDOW_SIZE_RECEIVE: u8 = 0x08;
/// The default maximum information field length, bytes.
pub const DEFAULT_MAX_INFO_LENGTH: u16 = 128;
/// The default window size, frames.
pub const DEFAULT_WINDOW_SIZE: u8 = 1;
/// The largest usable maximum information field length, bytes: what fits in one frame
/// of at most 2047 bytes with two 4-byte addresses.
pub const MAX_INFO_LENGTH: u16 = 2030;
/// The largest window size with modulo-8 sequence numbers.
pub const MAX_WINDOW_SIZE: u8 = 7;

/// The negotiated (or proposed) link parameters, from the point of view of the station
/// that states them (IEC 62056-46 §6.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LinkParameters {
    /// Largest information field this station sends, bytes (1..=2030).
    pub max_info_length_transmit: u16,
    /// Largest information field this station accepts, bytes (1..=2030).
    pub max_info_length_receive: u16,
    /// I-frames this station sends before waiting for an acknowledgement (1..=7).
    pub window_size_transmit: u8,
    /// I-frames this station accepts before it acknowledges (1..=7).
    pub window_size_receive: u8,
}

impl Default for LinkParameters {
    /// 128 bytes and window 1 in both directions (the values that apply when the SNRM
    /// or UA carries no information field).
    fn default() -> Self {
        LinkParameters {
            max_info_length_transmit: DEFAULT_MAX_INFO_LENGTH,
            max_info_length_receive: DEFAULT_MAX_INFO_LENGTH,
            window_size_transmit: DEFAULT_WINDOW_SIZE,
            window_size_receive: DEFAULT_WINDOW_SIZE,
        }
    }
}

impl LinkParameters {
    /// The same values brought into their valid ranges: lengths 1..=2030 bytes, windows
    /// 1..=7 frames (a peer announcing 0 or more than fits gets the nearest usable value).
    pub fn clamped(self) -> LinkParameters {
        LinkParameters {
            max_info_length_transmit: self.max_info_length_transmit.clamp(1, MAX_INFO_LENGTH),
            max_info_length_receive: self.max_info_length_receive.clamp(1, MAX_INFO_LENGTH),
            window_size_transmit: self.window_size_transmit.clamp(1, MAX_WINDOW_SIZE),
            window_size_receive: self.window_size_receive.clamp(1, MAX_WINDOW_SIZE),
        }
    }

    /// The same parameters seen from the peer: transmit and receive swapped.
    pub fn reversed(self) -> LinkParameters {
        LinkParameters {
            max_info_length_transmit: self.max_info_length_receive,
            max_info_length_receive: self.max_info_length_transmit,
            window_size_transmit: self.window_size_receive,
            window_size_receive: self.window_size_transmit,
        }
    }

    /// What a server answers in its UA (its own point of view) when the client proposed
    /// `proposed` (the client's point of view) and the server supports `supported`: each
    /// value is the smaller of the server's capability and the client's matching
    /// opposite-direction proposal, then clamped into range.
    pub fn negotiate(supported: LinkParameters, proposed: LinkParameters) -> LinkParameters {
        let p = proposed.clamped();
        let s = supported.clamped();
        LinkParameters {
            max_info_length_transmit: s.max_info_length_transmit.min(p.max_info_length_receive),
            max_info_length_receive: s.max_info_length_receive.min(p.max_info_length_transmit),
            window_size_transmit: s.window_size_transmit.min(p.window_size_receive),
            window_size_receive: s.window_size_receive.min(p.window_size_transmit),
        }
    }
}

/// One parameter of the negotiation field, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct NegotiationParameter {
    /// Parameter id (0x05..=0x08 are the HDLC parameters; others are kept but ignored).
    pub id: u8,
    /// The value (big-endian on the wire).
    pub value: u32,
    /// Bytes used on the wire, 1..=4 (the standard uses 1 or 2 for lengths, 4 for window
    /// sizes; some meters use other widths).
    pub width: u8,
}

/// The information field of SNRM/UA (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct NegotiationField {
    /// The parameters in wire order.
    pub parameters: Vec<NegotiationParameter>,
}

impl NegotiationField {
    /// The field stating `p`, in the usual encoding: the lengths in 1 byte when below
    /// 256, else 2; the window sizes in 4 bytes.
    pub fn from_link_parameters(p: &LinkParameters) -> NegotiationField {
        let length = |id, v: u16| NegotiationParameter { id, value: v.into(), width: if v < 0x100 { 1 } else { 2 } };
        let window = |id, v: u8| NegotiationParameter { id, value: v.into(), width: 4 };
        NegotiationField {
            parameters: vec![
                length(MAX_INFO_LENGTH_TRANSMIT, p.max_info_length_transmit),
                length(MAX_INFO_LENGTH_RECEIVE, p.max_info_length_receive),
                window(WINDOW_SIZE_TRANSMIT, p.window_size_transmit),
                window(WINDOW_SIZE_RECEIVE, p.window_size_receive),
            ],
        }
    }

    /// Decodes the information field of an SNRM or UA; an empty field is an empty
    /// parameter list (all defaults).
    ///
    /// # Errors
    /// As [`Codec::decode`], plus [`DecodeError::TrailingBytes`] after the group.
    pub fn from_information(information: &[u8]) -> Result<NegotiationField, DecodeError> {
        if information.is_empty() { Ok(NegotiationField::default()) } else { NegotiationField::from_bytes(information) }
    }

    /// The meaning: the defaults overridden by the parameters present (the last one
    /// wins when a parameter repeats), brought into range with [`LinkParameters::clamped`].
    pub fn link_parameters(&self) -> LinkParameters {
        let mut p = LinkParameters::default();
        let length = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        let window = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
        for q in &self.parameters {
            match q.id {
                MAX_INFO_LENGTH_TRANSMIT => p.max_info_length_transmit = length(q.value),
                MAX_INFO_LENGTH_RECEIVE => p.max_info_length_receive = length(q.value),
                WINDOW_SIZE_TRANSMIT => p.window_size_transmit = window(q.value),
                WINDOW_SIZE_RECEIVE => p.window_size_receive = window(q.value),
                _ => {}
            }
        }
        p.clamped()
    }
}

impl Codec for NegotiationField {
    /// Appends `81 80 LL` and the parameters; a value wider than its `width` keeps its
    /// low bytes, widths outside 1..=4 are written as 4, and parameters that would push
    /// the group past 255 bytes are left out (the group length is one byte).
    fn encode(&self, out: &mut Vec<u8>) {
        let width = |w: u8| if (1..=4).contains(&w) { usize::from(w) } else { 4 };
        let mut group = Vec::new();
        for q in &self.parameters {
            let w = width(q.width);
            if group.len() + 2 + w > 0xFF {
                break;
            }
            group.extend_from_slice(&[q.id, w as u8]);
            group.extend_from_slice(q.value.to_be_bytes().get(4 - w..).unwrap_or_default());
        }
        out.extend_from_slice(&[FORMAT_IDENTIFIER, GROUP_IDENTIFIER, group.len() as u8]);
        out.extend_from_slice(&group);
    }

    /// Decodes `81 80 LL` and the `LL` bytes of parameters.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for another format or group identifier, or a value
    /// length outside 1..=4; [`DecodeError::Truncated`] when the group is shorter than
    /// announced.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let format = r.u8("HDLC negotiation format identifier")?;
        if format != FORMAT_IDENTIFIER {
            return Err(DecodeError::invalid("HDLC negotiation", format!("format identifier {format:#04X}, not 0x81")));
        }
        let group = r.u8("HDLC negotiation group identifier")?;
        if group != GROUP_IDENTIFIER {
            return Err(DecodeError::invalid("HDLC negotiation", format!("group identifier {group:#04X}, not 0x80")));
        }
        let len = usize::from(r.u8("HDLC negotiation group length")?);
        let mut g = Reader::new(r.take(len, "HDLC negotiation group")?);
        let mut parameters = Vec::new();
        while !g.is_empty() {
            let id = g.u8("HDLC parameter id")?;
            let width = g.u8("HDLC parameter length")?;
            if !(1..=4).contains(&width) {
                return Err(DecodeError::invalid("HDLC parameter", format!("value length {width} not in 1..=4")));
            }
            let value =
                g.take(usize::from(width), "HDLC parameter value")?.iter().fold(0u32, |a, b| a << 8 | u32::from(*b));
            parameters.push(NegotiationParameter { id, value, width });
        }
        Ok(NegotiationField { parameters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_encoding() {
        let p = LinkParameters { max_info_length_transmit: 128, max_info_length_receive: 1024, ..Default::default() };
        let bytes = NegotiationField::from_link_parameters(&p).to_bytes();
        assert_eq!(bytes, [0x81, 0x80, 0x13, 5, 1, 0x80, 6, 2, 4, 0, 7, 4, 0, 0, 0, 1, 8, 4, 0, 0, 0, 1]);
        assert_eq!(NegotiationField::from_bytes(&bytes).unwrap().link_parameters(), p);
    }

    #[test]
    fn absent_parameters_are_defaults_and_values_are_clamped() {
        assert_eq!(NegotiationField::from_information(&[]).unwrap().link_parameters(), LinkParameters::default());
        let f = NegotiationField::from_bytes(&[0x81, 0x80, 0x07, 7, 1, 0, 5, 2, 0x10, 0]).unwrap();
        let p = f.link_parameters();
        assert_eq!((p.window_size_transmit, p.max_info_length_transmit), (1, MAX_INFO_LENGTH));
        assert_eq!(p.max_info_length_receive, DEFAULT_MAX_INFO_LENGTH);
    }

    #[test]
    fn malformed_fields() {
        assert!(NegotiationField::from_bytes(&[0x82, 0x80, 0x00]).is_err());
        assert!(NegotiationField::from_bytes(&[0x81, 0x81, 0x00]).is_err());
        assert!(NegotiationField::from_bytes(&[0x81, 0x80, 0x03, 5, 0, 0]).is_err());
        assert!(NegotiationField::from_bytes(&[0x81, 0x80, 0x03, 5, 5, 0]).is_err());
        assert!(matches!(
            NegotiationField::from_bytes(&[0x81, 0x80, 0x04, 5, 2, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            NegotiationField::from_bytes(&[0x81, 0x80, 0x03, 5, 1, 9, 0]),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn negotiation_takes_the_smaller_value_per_direction() {
        let supported = LinkParameters {
            max_info_length_transmit: 512,
            max_info_length_receive: 256,
            window_size_transmit: 7,
            window_size_receive: 3,
        };
        let proposed = LinkParameters {
            max_info_length_transmit: 1000,
            max_info_length_receive: 200,
            window_size_transmit: 2,
            window_size_receive: 7,
        };
        let ua = LinkParameters::negotiate(supported, proposed);
        assert_eq!(
            ua,
            LinkParameters {
                max_info_length_transmit: 200,
                max_info_length_receive: 256,
                window_size_transmit: 7,
                window_size_receive: 2,
            }
        );
    }
}
