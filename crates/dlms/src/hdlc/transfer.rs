//! The numbered information transfer shared by the client and server links
//! (IEC 62056-46 §6.4.4 "Elements of the procedures"; ISO/IEC 13239 modulo-8 operation):
//! the send state variable V(S), the receive state variable V(R), the I-frames sent
//! and not yet acknowledged, the segments waiting for the transmit window, and the
//! reassembly of received segments.
//!
//! Recovery is go-back-N: when the peer's N(R) shows that frames were not received, all
//! unacknowledged frames are sent again from that N(R) on. Received I-frames whose N(S)
//! is not V(R) are discarded.

use std::collections::VecDeque;

use super::control::Control;
use super::segmentation::{Reassembler, ReassemblyTooLong, Segment, segment};

/// An I-frame sent and not yet acknowledged.
#[derive(Debug, Clone)]
struct Sent {
    ns: u8,
    segment: Segment,
}

/// What a received I-frame did to the receive side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// N(S) was not V(R): the frame was discarded.
    OutOfSequence,
    /// An in-sequence segment with S = 1: more follow.
    Segment,
    /// The last segment: the whole LLC PDU.
    Complete(Vec<u8>),
    /// The PDU grew past the reassembly limit and is dropped.
    TooLong(ReassemblyTooLong),
}

/// Sequence numbers, send queue and reassembly of one link in NRM.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    vs: u8,
    vr: u8,
    unacked: VecDeque<Sent>,
    outgoing: VecDeque<Segment>,
    window: usize,
    max_info_length: usize,
    reassembler: Reassembler,
}

impl Transfer {
    /// A fresh link (V(S) = V(R) = 0) sending segments of at most `max_info_length`
    /// bytes, at most `window` unacknowledged I-frames, and reassembling PDUs of at most
    /// `max_pdu_len` bytes.
    pub(crate) fn new(max_info_length: u16, window: u8, max_pdu_len: usize) -> Self {
        Transfer {
            vs: 0,
            vr: 0,
            unacked: VecDeque::new(),
            outgoing: VecDeque::new(),
            window: usize::from(window.clamp(1, 7)),
            max_info_length: usize::from(max_info_length.max(1)),
            reassembler: Reassembler::new(max_pdu_len),
        }
    }

    /// V(R): the N(S) expected next, sent as N(R).
    pub(crate) fn vr(&self) -> u8 {
        self.vr
    }

    /// V(S).
    pub(crate) fn vs(&self) -> u8 {
        self.vs
    }

    /// Segments an LLC PDU onto the send queue.
    pub(crate) fn queue(&mut self, pdu: &[u8]) {
        self.outgoing.extend(segment(pdu, self.max_info_length));
    }

    /// True when segments wait to be sent.
    pub(crate) fn has_outgoing(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// True when sent I-frames wait for acknowledgement.
    pub(crate) fn has_unacked(&self) -> bool {
        !self.unacked.is_empty()
    }

    /// Takes a received N(R): the frames before it are acknowledged. Returns false (and
    /// changes nothing) when N(R) is invalid: not between the oldest unacknowledged N(S)
    /// and V(S).
    pub(crate) fn acknowledge(&mut self, nr: u8) -> bool {
        let oldest = self.unacked.front().map_or(self.vs, |s| s.ns);
        let count = usize::from(nr.wrapping_sub(oldest) & 7);
        if count > self.unacked.len() {
            return false;
        }
        self.unacked.drain(..count);
        true
    }

    /// Go-back-N: puts every unacknowledged frame back at the head of the send queue
    /// and V(S) back to the oldest of them.
    pub(crate) fn rewind(&mut self) {
        while let Some(s) = self.unacked.pop_back() {
            self.vs = s.ns;
            self.outgoing.push_front(s.segment);
        }
    }

    /// The I-frames to send now: as many queued segments as the window allows, N(S)
    /// from V(S), N(R) = V(R), and the P/F bit on the last one (the poll of a client,
    /// the final frame of a server). The second value is true when the batch holds the
    /// last segment of a PDU.
    pub(crate) fn next_batch(&mut self) -> (Vec<(Control, Segment)>, bool) {
        let room = self.window.saturating_sub(self.unacked.len());
        let count = room.min(self.outgoing.len());
        let mut batch = Vec::with_capacity(count);
        let mut ends_pdu = false;
        for i in 0..count {
            let Some(seg) = self.outgoing.pop_front() else { break };
            let control = Control::I { ns: self.vs, nr: self.vr, poll_final: i + 1 == count };
            ends_pdu |= !seg.more;
            self.unacked.push_back(Sent { ns: self.vs, segment: seg.clone() });
            self.vs = (self.vs + 1) & 7;
            batch.push((control, seg));
        }
        (batch, ends_pdu)
    }

    /// Takes a received I-frame's N(S), information field and S bit.
    pub(crate) fn receive(&mut self, ns: u8, information: &[u8], more: bool) -> Received {
        if ns & 7 != self.vr {
            return Received::OutOfSequence;
        }
        self.vr = (self.vr + 1) & 7;
        match self.reassembler.push(information, more) {
            Ok(Some(pdu)) => Received::Complete(pdu),
            Ok(None) => Received::Segment,
            Err(e) => Received::TooLong(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_acknowledge_and_go_back_n() {
        let mut t = Transfer::new(2, 3, 100);
        t.queue(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let (batch, ends) = t.next_batch();
        assert!(!ends);
        let controls: Vec<Control> = batch.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            controls,
            [
                Control::I { ns: 0, nr: 0, poll_final: false },
                Control::I { ns: 1, nr: 0, poll_final: false },
                Control::I { ns: 2, nr: 0, poll_final: true },
            ]
        );
        assert!(t.next_batch().0.is_empty(), "window full");
        assert!(!t.acknowledge(4), "N(R) beyond V(S)");
        assert!(t.acknowledge(1));
        t.rewind();
        assert_eq!(t.vs(), 1);
        let (batch, ends) = t.next_batch();
        assert_eq!(
            batch.iter().map(|(c, s)| (c.to_byte() >> 1 & 7, s.information.clone())).collect::<Vec<_>>(),
            [(1, vec![3, 4]), (2, vec![5, 6]), (3, vec![7, 8]),]
        );
        assert!(!ends);
        assert!(t.acknowledge(4));
        let (batch, ends) = t.next_batch();
        assert_eq!(batch.len(), 1);
        assert!(ends);
    }

    #[test]
    fn receive_checks_sequence() {
        let mut t = Transfer::new(128, 1, 100);
        assert_eq!(t.receive(1, &[9], false), Received::OutOfSequence);
        assert_eq!(t.receive(0, &[1], true), Received::Segment);
        assert_eq!(t.receive(0, &[1], true), Received::OutOfSequence);
        assert_eq!(t.receive(1, &[2], false), Received::Complete(vec![1, 2]));
        assert_eq!(t.vr(), 2);
    }
}
