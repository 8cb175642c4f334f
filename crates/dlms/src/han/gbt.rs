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

use crate::codec::{Codec, DecodeError};
pub use crate::xdlms::apdu::tag::GENERAL_BLOCK_TRANSFER;
/// The GBT APDU is the xDLMS one; this module only reassembles pushed blocks.
pub use crate::xdlms::general_block_transfer::GeneralBlockTransfer;

/// Why a sequence of pushed General-Block-Transfer blocks does not give one APDU.
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
        done = block.block_control.last_block;
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
            block_control: crate::xdlms::general_block_transfer::BlockControl {
                last_block: last,
                streaming: true,
                window: 0,
            },
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
        assert!(!g.block_control.last_block && g.block_control.streaming);
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
