//! General-Block-Transfer (IEC 62056-5-3 §9.3.5 "The general block transfer mechanism";
//! ASN.1 in §9.5), tag 0xE0: a long APDU split into numbered blocks. Landis+Gyr E450 meters
//! push their data-notification this way, one block per HDLC frame.
//!
//! ```text
//! E0 | block-control (bit 7 last-block, bit 6 streaming, bits 0-5 window) |
//!      block-number u16 | block-number-ack u16 | block-data OCTET STRING (A-XDR length)
//! ```
//!
//! Block numbers start at 1; the block-data of all blocks, in order, is the APDU.

use thiserror::Error;

use crate::codec::{Codec, DecodeError, Reader, put_length};

/// The General-Block-Transfer APDU tag.
pub const GENERAL_BLOCK_TRANSFER: u8 = 0xE0;
/// block-control bit 7: this is the last block.
pub const LAST_BLOCK: u8 = 0x80;
/// block-control bit 6: streaming.
pub const STREAMING: u8 = 0x40;
/// block-control bits 0-5: window size.
pub const WINDOW_MASK: u8 = 0x3F;

/// One General-Block-Transfer APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralBlockTransfer {
    /// block-control bit 7.
    pub last_block: bool,
    /// block-control bit 6.
    pub streaming: bool,
    /// block-control bits 0-5.
    pub window: u8,
    /// The number of this block (1 for the first).
    pub block_number: u16,
    /// The number of the last block received by the sender of this APDU.
    pub block_number_ack: u16,
    /// A piece of the transferred APDU.
    pub block_data: Vec<u8>,
}

impl Codec for GeneralBlockTransfer {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut control = self.window & WINDOW_MASK;
        if self.last_block {
            control |= LAST_BLOCK;
        }
        if self.streaming {
            control |= STREAMING;
        }
        out.extend_from_slice(&[GENERAL_BLOCK_TRANSFER, control]);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        out.extend_from_slice(&self.block_number_ack.to_be_bytes());
        put_length(out, self.block_data.len());
        out.extend_from_slice(&self.block_data);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] unless the tag is 0xE0; truncated input; a block-data
    /// length beyond the input.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("general-block-transfer tag")?;
        if tag != GENERAL_BLOCK_TRANSFER {
            return Err(DecodeError::UnknownTag { what: "general-block-transfer APDU", tag });
        }
        let control = r.u8("general-block-transfer block-control")?;
        let block_number = r.u16("general-block-transfer block-number")?;
        let block_number_ack = r.u16("general-block-transfer block-number-ack")?;
        let n = r.length("general-block-transfer block-data length", 1)?;
        let block_data = r.take(n, "general-block-transfer block-data")?.to_vec();
        Ok(GeneralBlockTransfer {
            last_block: control & LAST_BLOCK != 0,
            streaming: control & STREAMING != 0,
            window: control & WINDOW_MASK,
            block_number,
            block_number_ack,
            block_data,
        })
    }
}

/// Why a sequence of blocks does not make one APDU.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GbtError {
    /// A block could not be decoded.
    #[error("general-block-transfer block {index}: {source}")]
    Decode {
        /// Position of the block in the sequence (0-based).
        index: usize,
        /// The decoding error.
        source: DecodeError,
    },
    /// A block number is out of sequence.
    #[error("general-block-transfer block number {found} where {expected} was due")]
    BlockOrder {
        /// The number due.
        expected: u16,
        /// The number received.
        found: u16,
    },
    /// The blocks ended without one marked last.
    #[error("general-block-transfer incomplete: {blocks} block(s) and no last block")]
    MissingLastBlock {
        /// Blocks received.
        blocks: usize,
    },
    /// Blocks follow the one marked last.
    #[error("{count} general-block-transfer block(s) after the last block")]
    AfterLastBlock {
        /// How many.
        count: usize,
    },
}

/// Joins the block-data of the encoded blocks `blocks` (each one complete
/// General-Block-Transfer APDU), which must be numbered 1, 2, 3, ... with the last block
/// flagged last.
///
/// # Errors
/// [`GbtError`].
pub fn reassemble<'a>(blocks: impl IntoIterator<Item = &'a [u8]>) -> Result<(Vec<u8>, usize), GbtError> {
    let mut apdu = Vec::new();
    let mut count = 0usize;
    let mut done = false;
    let mut after_last = 0usize;
    for (index, bytes) in blocks.into_iter().enumerate() {
        if done {
            after_last += 1;
            continue;
        }
        let block = GeneralBlockTransfer::from_bytes(bytes).map_err(|source| GbtError::Decode { index, source })?;
        let expected = u16::try_from(index + 1).unwrap_or(u16::MAX);
        if block.block_number != expected {
            return Err(GbtError::BlockOrder { expected, found: block.block_number });
        }
        apdu.extend_from_slice(&block.block_data);
        count += 1;
        done = block.last_block;
    }
    if after_last > 0 {
        return Err(GbtError::AfterLastBlock { count: after_last });
    }
    if !done {
        return Err(GbtError::MissingLastBlock { blocks: count });
    }
    Ok((apdu, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(n: u16, last: bool, data: &[u8]) -> Vec<u8> {
        GeneralBlockTransfer {
            last_block: last,
            streaming: true,
            window: 0,
            block_number: n,
            block_number_ack: 0,
            block_data: data.to_vec(),
        }
        .to_bytes()
    }

    #[test]
    fn known_answer() {
        // E0 40 0001 0000 03 0F0021: first block, streaming, 3 data bytes
        let b = [0xE0, 0x40, 0x00, 0x01, 0x00, 0x00, 0x03, 0x0F, 0x00, 0x21];
        let g = GeneralBlockTransfer::from_bytes(&b).unwrap();
        assert!(!g.last_block && g.streaming);
        assert_eq!((g.block_number, g.block_data.as_slice()), (1, &[0x0F, 0x00, 0x21][..]));
        assert_eq!(g.to_bytes(), b);
    }

    #[test]
    fn reassembly_checks_order_and_end() {
        let (b1, b2) = (block(1, false, &[1, 2]), block(2, true, &[3]));
        assert_eq!(reassemble([b1.as_slice(), b2.as_slice()]), Ok((vec![1, 2, 3], 2)));
        assert_eq!(reassemble([b1.as_slice()]), Err(GbtError::MissingLastBlock { blocks: 1 }));
        assert_eq!(reassemble([b2.as_slice()]), Err(GbtError::BlockOrder { expected: 1, found: 2 }));
        assert_eq!(
            reassemble([b1.as_slice(), b2.as_slice(), b2.as_slice()]),
            Err(GbtError::AfterLastBlock { count: 1 })
        );
        assert!(matches!(reassemble([&[0xE0, 0x40][..]]), Err(GbtError::Decode { index: 0, .. })));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = GeneralBlockTransfer::from_bytes(&bytes);
            let _ = reassemble([bytes.as_slice()]);
        }

        #[test]
        fn split_apdus_round_trip(apdu in prop::collection::vec(any::<u8>(), 1..500), size in 1usize..200) {
            let chunks: Vec<&[u8]> = apdu.chunks(size).collect();
            let blocks: Vec<Vec<u8>> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| block(i as u16 + 1, i + 1 == chunks.len(), c))
                .collect();
            let got = reassemble(blocks.iter().map(Vec::as_slice)).unwrap();
            let n = chunks.len();
            prop_assert_eq!(got, (apdu.clone(), n));
        }
    }
}
