//! Cutting the byte stream between the HES and a meter into whole DLMS link frames, so
//! the relay delays, drops or retransmits whole frames as a real link does.
//!
//! * Wrapper (IEC 62056-47 §5): an 8-byte header whose last field is the APDU length;
//!   framed with [`dlms::wrapper::WrapperFrame::parse`].
//! * HDLC (IEC 62056-46 §6.4.1, frame format type 3): flag-delimited frames with HCS/FCS;
//!   framed with [`dlms::hdlc::Frame::parse`]. The raw bytes are forwarded unchanged
//!   (both flags included; when two frames share a flag, each forwarded frame carries
//!   its own copy, which the receiver's framer treats as inter-frame fill).
//!
//! Bytes that do not frame (a wrapper header with another version, HDLC line noise) are
//! passed on as [`FrameKind::Opaque`] chunks: a link carries them like any other bytes and
//! the receiving DLMS stack rejects them.

use dlms::hdlc::{Control, Frame};
use dlms::wrapper::WrapperFrame;
use serde::{Deserialize, Serialize};

/// The link layer on a meter's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Framing {
    /// IEC 62056-47 wrapper (over TCP: a lost frame is retransmitted by TCP).
    #[default]
    Wrapper,
    /// HDLC, IEC 62056-46 (a lost frame is gone; HDLC's N(S)/N(R) recovery repairs it).
    Hdlc,
}

impl From<hes::transport::LinkLayer> for Framing {
    fn from(link: hes::transport::LinkLayer) -> Framing {
        match link {
            hes::transport::LinkLayer::Wrapper => Framing::Wrapper,
            hes::transport::LinkLayer::Hdlc { .. } => Framing::Hdlc,
        }
    }
}

impl From<meter::tcp_server::MeterLink> for Framing {
    fn from(link: meter::tcp_server::MeterLink) -> Framing {
        match link {
            meter::tcp_server::MeterLink::Wrapper => Framing::Wrapper,
            meter::tcp_server::MeterLink::Hdlc { .. } => Framing::Hdlc,
        }
    }
}

/// What a forwarded chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameKind {
    /// A wrapper frame.
    Wrapper {
        /// Source wPort.
        source_wport: u16,
        /// Destination wPort.
        destination_wport: u16,
        /// APDU length, bytes.
        apdu_len: usize,
    },
    /// An HDLC frame.
    Hdlc {
        /// Its control field (I, RR, SNRM, UA, DISC, …).
        control: HdlcControl,
        /// Information field length, bytes.
        information_len: usize,
    },
    /// Bytes that are not a frame.
    Opaque,
}

/// The HDLC frame types the relay reports (IEC 62056-46 §6.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HdlcControl {
    /// Information frame with its send sequence number.
    I {
        /// N(S).
        ns: u8,
    },
    /// Receive ready.
    Rr,
    /// Receive not ready.
    Rnr,
    /// Set normal response mode.
    Snrm,
    /// Disconnect.
    Disc,
    /// Unnumbered acknowledgement.
    Ua,
    /// Disconnected mode.
    Dm,
    /// Frame reject.
    Frmr,
    /// Unnumbered information.
    Ui,
    /// Anything else.
    Other,
}

impl From<Control> for HdlcControl {
    fn from(c: Control) -> HdlcControl {
        match c {
            Control::I { ns, .. } => HdlcControl::I { ns },
            Control::Rr { .. } => HdlcControl::Rr,
            Control::Rnr { .. } => HdlcControl::Rnr,
            Control::Snrm { .. } => HdlcControl::Snrm,
            Control::Disc { .. } => HdlcControl::Disc,
            Control::Ua { .. } => HdlcControl::Ua,
            Control::Dm { .. } => HdlcControl::Dm,
            Control::Frmr { .. } => HdlcControl::Frmr,
            Control::Ui { .. } => HdlcControl::Ui,
            Control::Other(_) => HdlcControl::Other,
        }
    }
}

/// One chunk to forward: a whole frame (or opaque bytes) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFrame {
    /// The bytes, exactly as received.
    pub bytes: Vec<u8>,
    /// What they are.
    pub kind: FrameKind,
}

/// Accumulates received bytes and yields whole frames.
#[derive(Debug, Clone)]
pub struct FrameSplitter {
    framing: Framing,
    buf: Vec<u8>,
}

impl FrameSplitter {
    /// An empty splitter for `framing`.
    pub fn new(framing: Framing) -> Self {
        FrameSplitter { framing, buf: Vec::with_capacity(4096) }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet make a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<LinkFrame> {
        match self.framing {
            Framing::Wrapper => self.next_wrapper(),
            Framing::Hdlc => self.next_hdlc(),
        }
    }

    fn next_wrapper(&mut self) -> Option<LinkFrame> {
        match WrapperFrame::parse(&self.buf) {
            Ok(None) => None,
            Ok(Some((frame, used))) => {
                let bytes: Vec<u8> = self.buf.drain(..used).collect();
                let kind = FrameKind::Wrapper {
                    source_wport: frame.source_wport,
                    destination_wport: frame.destination_wport,
                    apdu_len: frame.apdu.len(),
                };
                Some(LinkFrame { bytes, kind })
            }
            // Not a wrapper stream: pass everything on, the peer will refuse it.
            Err(_) => Some(LinkFrame { bytes: std::mem::take(&mut self.buf), kind: FrameKind::Opaque }),
        }
    }

    fn next_hdlc(&mut self) -> Option<LinkFrame> {
        // A lone flag (the closing flag kept for a possible shared-flag frame) is not a
        // frame; anything that parses is.
        match Frame::parse(&self.buf) {
            Ok(None) => None,
            Ok(Some((frame, used))) => {
                let bytes = self.buf.get(..used).map(<[u8]>::to_vec).unwrap_or_default();
                // Keep the closing flag: it may open the next frame.
                self.buf.drain(..used.saturating_sub(1));
                let kind = FrameKind::Hdlc {
                    control: HdlcControl::from(frame.control),
                    information_len: frame.information.len(),
                };
                Some(LinkFrame { bytes, kind })
            }
            Err(e) => {
                let n = e.discard.max(1).min(self.buf.len());
                let bytes: Vec<u8> = self.buf.drain(..n).collect();
                Some(LinkFrame { bytes, kind: FrameKind::Opaque })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use dlms::Codec;
    use dlms::hdlc::HdlcAddress;

    use super::*;

    fn hdlc_frame(control: Control, info: Vec<u8>) -> Vec<u8> {
        let f = Frame::new(HdlcAddress::server(1, 17).unwrap(), HdlcAddress::client(16).unwrap(), control, false, info)
            .unwrap();
        f.to_bytes()
    }

    #[test]
    fn hdlc_frames_split_across_reads_and_with_a_shared_flag() {
        let a = hdlc_frame(Control::Snrm { poll: true }, vec![]);
        let b = hdlc_frame(Control::I { ns: 0, nr: 0, poll_final: true }, vec![0xE6, 0xE6, 0x00, 1, 2, 3]);
        // Shared flag: b's opening flag is a's closing flag.
        let mut stream = a.clone();
        stream.extend_from_slice(&b[1..]);
        let mut s = FrameSplitter::new(Framing::Hdlc);
        s.push(&stream[..5]);
        assert_eq!(s.next_frame(), None);
        s.push(&stream[5..]);
        let first = s.next_frame().unwrap();
        assert_eq!(first.bytes, a);
        assert_eq!(first.kind, FrameKind::Hdlc { control: HdlcControl::Snrm, information_len: 0 });
        let second = s.next_frame().unwrap();
        assert_eq!(second.bytes, b);
        assert_eq!(second.kind, FrameKind::Hdlc { control: HdlcControl::I { ns: 0 }, information_len: 6 });
        assert_eq!(s.next_frame(), None);
        assert_eq!(s.buffered(), 1, "the closing flag is kept");
    }

    #[test]
    fn wrapper_frames_and_garbage() {
        let f = WrapperFrame::new(16, 1, vec![0xC0, 1, 2]).unwrap().to_bytes();
        let mut s = FrameSplitter::new(Framing::Wrapper);
        let mut two = f.clone();
        two.extend_from_slice(&f);
        s.push(&two);
        assert_eq!(s.next_frame().unwrap().bytes, f);
        let second = s.next_frame().unwrap();
        assert_eq!(second.kind, FrameKind::Wrapper { source_wport: 16, destination_wport: 1, apdu_len: 3 });
        assert_eq!(s.next_frame(), None);
        s.push(&[9, 9, 9, 9, 9, 9, 9, 9, 9]);
        assert_eq!(s.next_frame().unwrap().kind, FrameKind::Opaque);
        assert_eq!(s.buffered(), 0);
    }
}
