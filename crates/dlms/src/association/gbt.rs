//! General block transfer (GBT) with windows inside the association state machines
//! (IEC 62056-5-3:2017 §9.3.5 "The general block transfer (GBT) mechanism" and §9.4.6.13
//! "Protocol for the general block transfer mechanism"; APDU in
//! [`crate::xdlms::general_block_transfer`]).
//!
//! GBT carries one complete APDU (a request or a response, already ciphered when the
//! association is ciphered) in numbered blocks. The rules gridedge applies on both sides:
//!
//! 1. Each sender numbers the blocks of its message 1, 2, … n; last-block is set on n.
//!    A retransmitted block keeps its number.
//! 2. block-number-ack is the highest block number the sender of the APDU has received
//!    *in sequence* from its peer in the current exchange (0 when none).
//! 3. window is the number of blocks the sender of the APDU is ready to receive before
//!    it acknowledges (1..=63; a received 0 is read as 1). A sender that has not yet
//!    heard the peer's window sends one block and waits.
//! 4. A sender sends at most the peer's window of blocks at a time: streaming is set on
//!    every block of the window except the last one, which tells the receiver to
//!    acknowledge. The last block of the message has streaming clear.
//! 5. The receiver acknowledges the end of each window with a block that carries no
//!    data (empty block-data, last-block clear; its block-number repeats the number of
//!    the last block its sender sent, 0 when none). Blocks after a gap are discarded; the
//!    acknowledgement at the end of the window names the last block received in
//!    sequence, and the sender resends from the block after it (go-back-N).
//! 6. The complete message ends the transfer: the receiver does not acknowledge the last
//!    block; the server answers a request received by GBT with its response in GBT
//!    (whose block-number-ack acknowledges the request's last block), and a client's
//!    acknowledgement of the response's last window asks for nothing more.
//! 7. Only the client keeps timers: when nothing arrives in time it calls
//!    [`crate::association::ClientAssociation::handle_timeout`], which resends the
//!    unacknowledged request blocks or acknowledges the response blocks received so far
//!    (asking the server to resend the rest). The server therefore answers a duplicate of
//!    a window's last block with a fresh acknowledgement (its previous one was lost), and
//!    a duplicate request window that arrives while it is sending the response with the
//!    response's window again; the client ignores duplicates (the server only resends
//!    when asked, so a duplicate only means that an acknowledgement crossed another).

use thiserror::Error;

use crate::xdlms::general_block_transfer::{BlockControl, GeneralBlockTransfer, MAX_GBT_HEADER_LEN, MAX_WINDOW};

/// The receive window a client or server announces when not configured otherwise.
pub const DEFAULT_GBT_WINDOW: u8 = 4;

/// Why a general block transfer was abandoned (the peer broke the rules of the module
/// docs, or the message is too large).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockTransferError {
    /// A block numbered 0 (blocks start at 1).
    #[error("general-block-transfer block number 0")]
    ZeroBlockNumber,
    /// A block beyond the receive window: more blocks than announced were sent.
    #[error(
        "general-block-transfer block {got} is beyond the window (last in sequence {in_sequence}, window {window})"
    )]
    BeyondWindow {
        /// The block received.
        got: u16,
        /// The highest block received in sequence.
        in_sequence: u16,
        /// The receive window announced.
        window: u8,
    },
    /// The peer acknowledged a block that was never sent.
    #[error("general-block-transfer acknowledges block {acked}, only {sent} sent")]
    AckBeyondSent {
        /// block-number-ack received.
        acked: u16,
        /// The highest block number sent.
        sent: u16,
    },
    /// The message needs more than 65 535 blocks, or the block size is zero.
    #[error("message of {len} bytes cannot be split into at most 65535 blocks of {block_size} bytes")]
    TooManyBlocks {
        /// Message length, bytes.
        len: usize,
        /// Block size, bytes.
        block_size: usize,
    },
    /// The blocks received add up to more than the receiver accepts.
    #[error("general-block-transfer message exceeds {max} bytes")]
    MessageTooLarge {
        /// The limit, bytes.
        max: usize,
    },
    /// A general-block-transfer APDU carried another one.
    #[error("a general-block-transfer message may not contain another general-block-transfer or an ACSE APDU")]
    NestedTransfer,
}

/// The block-data size that keeps a General-Block-Transfer APDU within `max_pdu` bytes.
pub(crate) fn block_size_for(max_pdu: usize) -> usize {
    max_pdu.saturating_sub(MAX_GBT_HEADER_LEN).max(1)
}

/// A window announced by a peer, as a usable number of blocks (0 read as 1).
pub(crate) fn effective_window(w: u8) -> u8 {
    w.clamp(1, MAX_WINDOW)
}

/// An acknowledgement-only GBT APDU.
pub(crate) fn ack(block_number: u16, block_number_ack: u16, own_window: u8) -> GeneralBlockTransfer {
    GeneralBlockTransfer {
        block_control: BlockControl { last_block: false, streaming: false, window: effective_window(own_window) },
        block_number,
        block_number_ack,
        block_data: Vec::new(),
    }
}

/// The sending half of a transfer: one message split into blocks.
#[derive(Debug)]
pub(crate) struct BlockSender {
    blocks: Vec<Vec<u8>>,
    acked: u16,
    sent: u16,
}

impl BlockSender {
    /// Splits `message` into blocks of at most `block_size` bytes.
    pub(crate) fn new(message: &[u8], block_size: usize) -> Result<Self, BlockTransferError> {
        let too_many = BlockTransferError::TooManyBlocks { len: message.len(), block_size };
        if block_size == 0 {
            return Err(too_many);
        }
        let blocks: Vec<Vec<u8>> = message.chunks(block_size).map(<[u8]>::to_vec).collect();
        if blocks.is_empty() || blocks.len() > usize::from(u16::MAX) {
            return Err(too_many);
        }
        Ok(BlockSender { blocks, acked: 0, sent: 0 })
    }

    /// Number of blocks n.
    pub(crate) fn total(&self) -> u16 {
        u16::try_from(self.blocks.len()).unwrap_or(u16::MAX)
    }

    /// The highest block number sent so far.
    pub(crate) fn sent(&self) -> u16 {
        self.sent
    }

    /// True when the peer acknowledged every block.
    pub(crate) fn all_acked(&self) -> bool {
        self.acked >= self.total()
    }

    /// Records the peer's block-number-ack.
    pub(crate) fn on_ack(&mut self, acked: u16) -> Result<(), BlockTransferError> {
        if acked > self.sent {
            return Err(BlockTransferError::AckBeyondSent { acked, sent: self.sent });
        }
        self.acked = self.acked.max(acked);
        Ok(())
    }

    /// The blocks after `after`, at most `peer_window` of them, each carrying
    /// `block_number_ack` and this side's `own_window`.
    pub(crate) fn window_after(
        &mut self,
        after: u16,
        peer_window: u8,
        block_number_ack: u16,
        own_window: u8,
    ) -> Vec<GeneralBlockTransfer> {
        let total = self.total();
        let first = after.saturating_add(1);
        if first > total {
            return Vec::new();
        }
        let last = after.saturating_add(u16::from(effective_window(peer_window))).min(total);
        let mut out = Vec::with_capacity(usize::from(last - first) + 1);
        for n in first..=last {
            let data = self.blocks.get(usize::from(n - 1)).cloned().unwrap_or_default();
            out.push(GeneralBlockTransfer {
                block_control: BlockControl {
                    last_block: n == total,
                    streaming: n != last,
                    window: effective_window(own_window),
                },
                block_number: n,
                block_number_ack,
                block_data: data,
            });
        }
        self.sent = self.sent.max(last);
        out
    }

    /// The first window after the acknowledged blocks (a retransmission after a timeout).
    pub(crate) fn resend(
        &mut self,
        peer_window: u8,
        block_number_ack: u16,
        own_window: u8,
    ) -> Vec<GeneralBlockTransfer> {
        self.window_after(self.acked, peer_window, block_number_ack, own_window)
    }
}

/// What a received block calls for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Nothing to send yet (more blocks of the window follow).
    Continue,
    /// End of a window, a gap or a duplicate window end: acknowledge.
    Acknowledge,
    /// The last block arrived with every block before it: the message.
    Complete(Vec<u8>),
}

/// The receiving half of a transfer.
#[derive(Debug)]
pub(crate) struct BlockReceiver {
    data: Vec<u8>,
    in_sequence: u16,
    own_window: u8,
    max_len: usize,
    ack_duplicates: bool,
}

impl BlockReceiver {
    /// A receiver announcing `own_window` and accepting messages up to `max_len` bytes;
    /// `ack_duplicates`: acknowledge again when a duplicate window end arrives (the
    /// server side, whose acknowledgement may have been lost).
    pub(crate) fn new(own_window: u8, max_len: usize, ack_duplicates: bool) -> Self {
        BlockReceiver {
            data: Vec::new(),
            in_sequence: 0,
            own_window: effective_window(own_window),
            max_len,
            ack_duplicates,
        }
    }

    /// The highest block number received in sequence (the block-number-ack to send).
    pub(crate) fn in_sequence(&self) -> u16 {
        self.in_sequence
    }

    /// Feeds one block carrying data (not an acknowledgement-only block).
    pub(crate) fn on_block(&mut self, b: &GeneralBlockTransfer) -> Result<Received, BlockTransferError> {
        let n = b.block_number;
        if n == 0 {
            return Err(BlockTransferError::ZeroBlockNumber);
        }
        let window_end = !b.block_control.streaming || b.block_control.last_block;
        if n <= self.in_sequence {
            // A duplicate: on the server, the client missed our acknowledgement.
            return Ok(if window_end && self.ack_duplicates { Received::Acknowledge } else { Received::Continue });
        }
        if n - self.in_sequence > u16::from(self.own_window) {
            return Err(BlockTransferError::BeyondWindow {
                got: n,
                in_sequence: self.in_sequence,
                window: self.own_window,
            });
        }
        if n != self.in_sequence + 1 {
            // A gap: discard, and at the window's end name the last block in sequence.
            return Ok(if window_end { Received::Acknowledge } else { Received::Continue });
        }
        if self.data.len() + b.block_data.len() > self.max_len {
            return Err(BlockTransferError::MessageTooLarge { max: self.max_len });
        }
        self.data.extend_from_slice(&b.block_data);
        self.in_sequence = n;
        if b.block_control.last_block {
            return Ok(Received::Complete(std::mem::take(&mut self.data)));
        }
        Ok(if window_end { Received::Acknowledge } else { Received::Continue })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut BlockReceiver, blocks: &[GeneralBlockTransfer]) -> Vec<Received> {
        blocks.iter().map(|b| r.on_block(b).unwrap()).collect()
    }

    #[test]
    fn windows_of_blocks_reassemble() {
        let message: Vec<u8> = (0..=255).collect();
        let mut s = BlockSender::new(&message, 40).unwrap();
        assert_eq!(s.total(), 7);
        let mut r = BlockReceiver::new(3, 1 << 16, false);
        // First window: the peer's window is unknown, one block.
        let w = s.window_after(0, 1, 0, 5);
        assert_eq!(w.len(), 1);
        assert!(!w[0].block_control.streaming && !w[0].block_control.last_block);
        assert_eq!(w[0].block_control.window, 5);
        assert_eq!(feed(&mut r, &w), vec![Received::Acknowledge]);
        s.on_ack(r.in_sequence()).unwrap();
        let w = s.window_after(1, 3, 0, 5);
        assert_eq!(
            w.iter().map(|b| (b.block_number, b.block_control.streaming)).collect::<Vec<_>>(),
            [(2, true), (3, true), (4, false)]
        );
        assert_eq!(feed(&mut r, &w), vec![Received::Continue, Received::Continue, Received::Acknowledge]);
        s.on_ack(4).unwrap();
        let w = s.window_after(4, 3, 0, 5);
        assert_eq!(w.len(), 3);
        assert!(w[2].block_control.last_block && !w[2].block_control.streaming);
        let got = feed(&mut r, &w);
        assert_eq!(got.last(), Some(&Received::Complete(message)));
    }

    #[test]
    fn a_gap_is_acknowledged_at_the_window_end_and_resent() {
        let message = vec![7u8; 100];
        let mut s = BlockSender::new(&message, 10).unwrap();
        let mut r = BlockReceiver::new(4, 1000, true);
        let w = s.window_after(0, 4, 0, 1);
        // Block 2 is lost.
        assert_eq!(r.on_block(&w[0]), Ok(Received::Continue));
        assert_eq!(r.on_block(&w[2]), Ok(Received::Continue));
        assert_eq!(r.on_block(&w[3]), Ok(Received::Acknowledge));
        assert_eq!(r.in_sequence(), 1);
        s.on_ack(r.in_sequence()).unwrap();
        let again = s.window_after(r.in_sequence(), 4, 0, 1);
        assert_eq!(again.first().map(|b| b.block_number), Some(2));
        // A duplicate of block 1 at a window end asks for a fresh acknowledgement (server
        // side) or is ignored (client side).
        let mut dup = w[0].clone();
        dup.block_control.streaming = false;
        assert_eq!(r.on_block(&dup), Ok(Received::Acknowledge));
        let mut client_side = BlockReceiver::new(4, 1000, false);
        assert_eq!(client_side.on_block(&w[0]), Ok(Received::Continue));
        assert_eq!(client_side.on_block(&dup), Ok(Received::Continue));
    }

    #[test]
    fn violations_are_typed_errors() {
        let mut r = BlockReceiver::new(2, 8, false);
        let mut b = ack(0, 0, 1);
        b.block_data = vec![1];
        assert_eq!(r.on_block(&b), Err(BlockTransferError::ZeroBlockNumber));
        b.block_number = 3;
        assert_eq!(r.on_block(&b), Err(BlockTransferError::BeyondWindow { got: 3, in_sequence: 0, window: 2 }));
        b.block_number = 1;
        b.block_data = vec![0; 9];
        assert_eq!(r.on_block(&b), Err(BlockTransferError::MessageTooLarge { max: 8 }));
        let mut s = BlockSender::new(&[1, 2, 3], 1).unwrap();
        assert_eq!(s.on_ack(1), Err(BlockTransferError::AckBeyondSent { acked: 1, sent: 0 }));
        assert!(matches!(BlockSender::new(&[], 4), Err(BlockTransferError::TooManyBlocks { .. })));
        assert!(matches!(BlockSender::new(&[1], 0), Err(BlockTransferError::TooManyBlocks { .. })));
        assert_eq!(s.window_after(3, 4, 0, 1), vec![]);
        assert_eq!(block_size_for(5), 1);
        assert_eq!(effective_window(0), 1);
    }
}
