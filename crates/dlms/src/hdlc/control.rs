//! The HDLC control field (IEC 62056-46 §6.4.3 "Command and response frames";
//! ISO/IEC 13239 modulo-8 operation). Bit 0 is the least significant bit
//! of the byte:
//!
//! | frame | byte | meaning |
//! |---|---|---|
//! | I | `RRR P SSS 0` | information, N(S) = SSS, N(R) = RRR |
//! | RR | `RRR P/F 0001` | receive ready, N(R) |
//! | RNR | `RRR P/F 0101` | receive not ready, N(R) |
//! | SNRM | `100 P 0011` (0x83 / 0x93) | set normal response mode |
//! | DISC | `010 P 0011` (0x43 / 0x53) | disconnect |
//! | UA | `011 F 0011` (0x63 / 0x73) | unnumbered acknowledge |
//! | DM | `000 F 1111` (0x0F / 0x1F) | disconnected mode |
//! | FRMR | `100 F 0111` (0x87 / 0x97) | frame reject |
//! | UI | `000 P/F 0011` (0x03 / 0x13) | unnumbered information |
//!
//! P/F is the poll bit in commands (client → server) and the final bit in responses.

use serde::Serialize;

const PF: u8 = 0x10;

/// A decoded control field. Sequence numbers are modulo 8 (0..=7); encoding keeps their
/// low three bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Control {
    /// I-frame: N(S) of this frame, N(R) = next frame expected from the peer.
    I {
        /// Send sequence number N(S).
        ns: u8,
        /// Receive sequence number N(R).
        nr: u8,
        /// Poll (command) / final (response) bit.
        poll_final: bool,
    },
    /// RR: ready to receive; acknowledges frames up to N(R) − 1.
    Rr {
        /// Receive sequence number N(R).
        nr: u8,
        /// Poll / final bit.
        poll_final: bool,
    },
    /// RNR: busy; acknowledges frames up to N(R) − 1 but asks the peer to stop sending.
    Rnr {
        /// Receive sequence number N(R).
        nr: u8,
        /// Poll / final bit.
        poll_final: bool,
    },
    /// SNRM command: enter normal response mode (may carry the parameter negotiation).
    Snrm {
        /// Poll bit (always set by a DLMS client).
        poll: bool,
    },
    /// DISC command: leave normal response mode.
    Disc {
        /// Poll bit.
        poll: bool,
    },
    /// UA response to SNRM or DISC (may carry the negotiated parameters).
    Ua {
        /// Final bit.
        fin: bool,
    },
    /// DM response: the station is in normal disconnected mode.
    Dm {
        /// Final bit.
        fin: bool,
    },
    /// FRMR response: a received frame could not be accepted (see
    /// [`FrameReject`](super::FrameReject) for its information field).
    Frmr {
        /// Final bit.
        fin: bool,
    },
    /// UI: unnumbered information (e.g. pushes on a HAN port).
    Ui {
        /// Poll / final bit.
        poll_final: bool,
    },
    /// A control byte this profile does not use (REJ, SREJ, other unnumbered frames).
    /// A server answers it with FRMR. Only bytes that decode to no other variant are
    /// valid here.
    Other(u8),
}

impl Control {
    /// Decodes a control byte; never fails (unknown bytes become [`Control::Other`]).
    pub fn from_byte(b: u8) -> Control {
        let pf = b & PF != 0;
        if b & 1 == 0 {
            return Control::I { ns: (b >> 1) & 7, nr: b >> 5, poll_final: pf };
        }
        if b & 3 == 1 {
            return match (b >> 2) & 3 {
                0 => Control::Rr { nr: b >> 5, poll_final: pf },
                1 => Control::Rnr { nr: b >> 5, poll_final: pf },
                _ => Control::Other(b),
            };
        }
        match b & !PF {
            0x83 => Control::Snrm { poll: pf },
            0x43 => Control::Disc { poll: pf },
            0x63 => Control::Ua { fin: pf },
            0x0F => Control::Dm { fin: pf },
            0x87 => Control::Frmr { fin: pf },
            0x03 => Control::Ui { poll_final: pf },
            _ => Control::Other(b),
        }
    }

    /// The control byte.
    pub fn to_byte(self) -> u8 {
        let pf = |p: bool| if p { PF } else { 0 };
        match self {
            Control::I { ns, nr, poll_final } => (nr & 7) << 5 | pf(poll_final) | (ns & 7) << 1,
            Control::Rr { nr, poll_final } => (nr & 7) << 5 | pf(poll_final) | 0x01,
            Control::Rnr { nr, poll_final } => (nr & 7) << 5 | pf(poll_final) | 0x05,
            Control::Snrm { poll } => 0x83 | pf(poll),
            Control::Disc { poll } => 0x43 | pf(poll),
            Control::Ua { fin } => 0x63 | pf(fin),
            Control::Dm { fin } => 0x0F | pf(fin),
            Control::Frmr { fin } => 0x87 | pf(fin),
            Control::Ui { poll_final } => 0x03 | pf(poll_final),
            Control::Other(b) => b,
        }
    }

    /// The P/F bit.
    pub fn poll_final(self) -> bool {
        self.to_byte() & PF != 0
    }

    /// N(R) of I, RR and RNR frames.
    pub fn nr(self) -> Option<u8> {
        match self {
            Control::I { nr, .. } | Control::Rr { nr, .. } | Control::Rnr { nr, .. } => Some(nr & 7),
            _ => None,
        }
    }

    /// True for the frames that may carry an information field (I, UI, and SNRM, UA,
    /// FRMR for the parameters and reject reason).
    pub fn may_carry_information(self) -> bool {
        matches!(
            self,
            Control::I { .. } | Control::Ui { .. } | Control::Snrm { .. } | Control::Ua { .. } | Control::Frmr { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(Control::from_byte(b).to_byte(), b, "byte {b:#04X}");
        }
    }

    #[test]
    fn known_bytes() {
        assert_eq!(Control::from_byte(0x93), Control::Snrm { poll: true });
        assert_eq!(Control::from_byte(0x73), Control::Ua { fin: true });
        assert_eq!(Control::from_byte(0x53), Control::Disc { poll: true });
        assert_eq!(Control::from_byte(0x1F), Control::Dm { fin: true });
        assert_eq!(Control::from_byte(0x97), Control::Frmr { fin: true });
        assert_eq!(Control::from_byte(0x31), Control::Rr { nr: 1, poll_final: true });
        assert_eq!(Control::from_byte(0x55), Control::Rnr { nr: 2, poll_final: true });
        assert_eq!(Control::from_byte(0x96), Control::I { ns: 3, nr: 4, poll_final: true });
        assert_eq!(Control::from_byte(0x09), Control::Other(0x09)); // REJ
        assert_eq!(Control::from_byte(0x05), Control::Rnr { nr: 0, poll_final: false });
        assert_eq!(Control::from_byte(0x2F), Control::Other(0x2F)); // SABM
    }
}
