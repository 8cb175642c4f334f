//! The General-Block-Transfer APDU (IEC 62056-5-3:2017 §9.3.5 "The general block transfer
//! (GBT) mechanism", protocol in §9.4.6.13, ASN.1 `General-Block-Transfer` in §9.5; DLMS UA
//! 1000-2 Green Book Ed. 8 same clauses), APDU tag 0xE0: one block of a long APDU (request,
//! response or push), carried independently of the service inside it.
//!
//! ```text
//! E0 | block-control Unsigned8 (bit 7 last-block, bit 6 streaming, bits 0-5 window)
//!    | block-number Unsigned16 | block-number-ack Unsigned16
//!    | block-data OCTET STRING (A-XDR length + bytes)
//! ```
//!
//! The sans-I/O windowing and loss recovery built on this APDU live in
//! [`crate::association`] (the association state machines); this module is the codec only.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::xdlms::apdu::{expect_apdu_tag, tag};

/// block-control bit 7: this block is the last one of the message.
pub const LAST_BLOCK_BIT: u8 = 0x80;
/// block-control bit 6: streaming, more blocks of the window follow without waiting.
pub const STREAMING_BIT: u8 = 0x40;
/// block-control bits 0-5: the window.
pub const WINDOW_MASK: u8 = 0x3F;
/// The largest window the 6-bit field can carry.
pub const MAX_WINDOW: u8 = WINDOW_MASK;
/// Bytes a General-Block-Transfer APDU adds around its block-data at most: tag (1),
/// block-control (1), block-number (2), block-number-ack (2) and an A-XDR length of up to
/// 3 bytes (block-data up to 65 535 bytes).
pub const MAX_GBT_HEADER_LEN: usize = 9;

/// The `block-control` octet of a General-Block-Transfer APDU (IEC 62056-5-3 §9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BlockControl {
    /// Bit 7: this block is the last block of the message.
    pub last_block: bool,
    /// Bit 6: the sender streams, i.e. further blocks of the current window follow
    /// without waiting for an acknowledgement; clear on the last block of a window.
    pub streaming: bool,
    /// Bits 0-5: the window of the sender of this APDU, i.e. how many blocks it is ready
    /// to receive before it acknowledges (0..=63; only the low 6 bits are encoded).
    pub window: u8,
}

impl BlockControl {
    /// The control octet.
    pub const fn to_u8(self) -> u8 {
        let mut b = self.window & WINDOW_MASK;
        if self.last_block {
            b |= LAST_BLOCK_BIT;
        }
        if self.streaming {
            b |= STREAMING_BIT;
        }
        b
    }

    /// Splits a control octet into its fields (every value is valid).
    pub const fn from_u8(b: u8) -> BlockControl {
        BlockControl { last_block: b & LAST_BLOCK_BIT != 0, streaming: b & STREAMING_BIT != 0, window: b & WINDOW_MASK }
    }
}

/// `General-Block-Transfer ::= SEQUENCE { block-control, block-number Unsigned16,
/// block-number-ack Unsigned16, block-data OCTET STRING }` (IEC 62056-5-3 §9.5), tag 0xE0.
///
/// Concatenating the block-data of blocks 1..=n of one sender (last-block set on n) gives
/// the transferred APDU. A block whose block-data is empty and whose last-block bit is
/// clear carries no part of a message: it only acknowledges (block-number-ack) and
/// announces the sender's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneralBlockTransfer {
    /// Last-block, streaming and window bits.
    pub block_control: BlockControl,
    /// The number of this block in its sender's sequence (1 for the first block).
    pub block_number: u16,
    /// The highest block number its sender has received in sequence from the peer
    /// (0 when none).
    pub block_number_ack: u16,
    /// This block's slice of the transferred APDU.
    pub block_data: Vec<u8>,
}

impl GeneralBlockTransfer {
    /// Smallest encoding: tag, control, two block numbers, an empty octet-string.
    pub const MIN_ENCODED_LEN: usize = 7;

    /// True for a block that only acknowledges: empty block-data and last-block clear.
    pub fn is_ack_only(&self) -> bool {
        self.block_data.is_empty() && !self.block_control.last_block
    }
}

impl Codec for GeneralBlockTransfer {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::GENERAL_BLOCK_TRANSFER);
        out.push(self.block_control.to_u8());
        out.extend_from_slice(&self.block_number.to_be_bytes());
        out.extend_from_slice(&self.block_number_ack.to_be_bytes());
        put_length(out, self.block_data.len());
        out.extend_from_slice(&self.block_data);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] unless the tag is 0xE0; [`DecodeError::Truncated`] for
    /// short input; [`DecodeError::Oversized`] for a block-data length beyond the input;
    /// [`DecodeError::Invalid`] for a bad length-of-length.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::GENERAL_BLOCK_TRANSFER, "General-Block-Transfer APDU")?;
        let block_control = BlockControl::from_u8(r.u8("General-Block-Transfer block-control")?);
        let block_number = r.u16("General-Block-Transfer block-number")?;
        let block_number_ack = r.u16("General-Block-Transfer block-number-ack")?;
        let n = r.length("General-Block-Transfer block-data", 1)?;
        let block_data = r.take(n, "General-Block-Transfer block-data")?.to_vec();
        Ok(GeneralBlockTransfer { block_control, block_number, block_number_ack, block_data })
    }
}

/// proptest strategies (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;

    /// Any General-Block-Transfer APDU (window within 0..=63).
    pub fn general_block_transfer() -> impl Strategy<Value = GeneralBlockTransfer> {
        (
            any::<bool>(),
            any::<bool>(),
            0u8..=MAX_WINDOW,
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(last_block, streaming, window, block_number, block_number_ack, block_data)| {
                GeneralBlockTransfer {
                    block_control: BlockControl { last_block, streaming, window },
                    block_number,
                    block_number_ack,
                    block_data,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::general_block_transfer;
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn block_control_bits() {
        assert_eq!(BlockControl::from_u8(0xC5), BlockControl { last_block: true, streaming: true, window: 5 });
        assert_eq!(BlockControl::from_u8(0x3F), BlockControl { last_block: false, streaming: false, window: 63 });
        assert_eq!(BlockControl { last_block: true, streaming: false, window: 1 }.to_u8(), 0x81);
        // Only six bits of window exist.
        assert_eq!(BlockControl { last_block: false, streaming: false, window: 0x41 }.to_u8(), 0x01);
    }

    #[test]
    fn known_answer() {
        // E0 | 43 (streaming, window 3) | 0002 | 0001 | 03 AABBCC
        let bytes = hex("E0430002000103AABBCC");
        let want = GeneralBlockTransfer {
            block_control: BlockControl { last_block: false, streaming: true, window: 3 },
            block_number: 2,
            block_number_ack: 1,
            block_data: vec![0xAA, 0xBB, 0xCC],
        };
        assert_eq!(GeneralBlockTransfer::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
        assert!(!want.is_ack_only());
        // An acknowledgement: E0 05 0000 0007 00
        let ack = GeneralBlockTransfer::from_bytes(&hex("E0050000000700")).unwrap();
        assert!(ack.is_ack_only());
        assert_eq!((ack.block_control.window, ack.block_number_ack), (5, 7));
        // An empty last block is not an acknowledgement.
        assert!(!GeneralBlockTransfer::from_bytes(&hex("E0800001000000")).unwrap().is_ack_only());
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        assert_eq!(
            GeneralBlockTransfer::from_bytes(&hex("E1000001000000")),
            Err(DecodeError::UnknownTag { what: "General-Block-Transfer APDU", tag: 0xE1 })
        );
        assert!(matches!(GeneralBlockTransfer::from_bytes(&hex("E00000010000")), Err(DecodeError::Truncated { .. })));
        // block-data announces 5 bytes, 2 present
        assert!(matches!(
            GeneralBlockTransfer::from_bytes(&hex("E0000001000005AABB")),
            Err(DecodeError::Oversized { .. })
        ));
        // length-of-length 5
        assert!(matches!(GeneralBlockTransfer::from_bytes(&hex("E0000001000085")), Err(DecodeError::Invalid { .. })));
        assert!(matches!(
            GeneralBlockTransfer::from_bytes(&hex("E000000100000100FF")),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(a in general_block_transfer()) {
            let bytes = a.to_bytes();
            prop_assert!(bytes.len() <= a.block_data.len() + MAX_GBT_HEADER_LEN);
            prop_assert_eq!(GeneralBlockTransfer::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(GeneralBlockTransfer::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut input = vec![0xE0];
            input.extend_from_slice(&bytes);
            let _ = GeneralBlockTransfer::from_bytes(&input);
        }
    }
}
