//! Service-specific block transfer of long SET values and ACTION parameters
//! (IEC 62056-5-3:2017 §9.3.7 SET service "with block transfer", §9.3.8 ACTION service
//! with pblocks; `DataBlock-SA` in §9.5): the client splits the A-XDR encoded value (or,
//! for the with-list forms, the encoded `SEQUENCE OF Data`) into `DataBlock-SA`s numbered
//! from 1; the server reassembles them, checking the numbering, and acknowledges each
//! block but the last (set-response-datablock / action-response-next-pblock).

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::data::Data;
use crate::xdlms::apdu::read_sequence_of;
use crate::xdlms::get::GetDataResult;
use crate::xdlms::set::DataBlockSA;

/// Bytes an A-XDR length prefix of an octet-string up to 65 535 bytes may take beyond
/// the one byte of an empty one.
const LENGTH_GROWTH: usize = 2;

/// The largest raw-data slice per block when the request APDU carrying an empty
/// `DataBlock-SA` takes `header_len` bytes and the APDU may take `budget` bytes.
pub(crate) fn raw_data_room(budget: usize, header_len: usize) -> usize {
    budget.saturating_sub(header_len + LENGTH_GROWTH)
}

/// Splits `raw` into blocks of at most `room` bytes, numbered from 1, the last flagged.
/// `room` must be at least 1.
pub(crate) fn split(raw: &[u8], room: usize) -> Vec<DataBlockSA> {
    let chunks: Vec<&[u8]> = raw.chunks(room.max(1)).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| DataBlockSA {
            last_block: i + 1 == n,
            block_number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            raw_data: c.to_vec(),
        })
        .collect()
}

/// Why a block of a long SET or ACTION is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockRefusal {
    /// The block number is not the one due.
    OutOfSequence,
    /// The assembled value would exceed the limit.
    TooLarge,
}

/// A long SET or ACTION being received by the server.
#[derive(Debug)]
pub(crate) struct DataBlockAssembler {
    data: Vec<u8>,
    last_block: u32,
    max_len: usize,
}

impl DataBlockAssembler {
    /// Starts with the first block, which must be number 1.
    pub(crate) fn first(block: &DataBlockSA, max_len: usize) -> Result<Self, BlockRefusal> {
        let mut a = DataBlockAssembler { data: Vec::new(), last_block: 0, max_len };
        a.push(block)?;
        Ok(a)
    }

    /// Adds the next block, which must follow the last one.
    pub(crate) fn push(&mut self, block: &DataBlockSA) -> Result<(), BlockRefusal> {
        if Some(block.block_number) != self.last_block.checked_add(1) {
            return Err(BlockRefusal::OutOfSequence);
        }
        if self.data.len() + block.raw_data.len() > self.max_len {
            return Err(BlockRefusal::TooLarge);
        }
        self.data.extend_from_slice(&block.raw_data);
        self.last_block = block.block_number;
        Ok(())
    }

    /// The assembled bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

/// The A-XDR encoding of a `SEQUENCE OF Data` (the value-list of set-request-with-list,
/// the parameters of action-request-with-list): count, then the values.
pub(crate) fn encode_data_list(values: &[Data]) -> Vec<u8> {
    let mut out = Vec::new();
    put_length(&mut out, values.len());
    for v in values {
        v.encode(&mut out);
    }
    out
}

/// Decodes a whole `SEQUENCE OF Data`.
pub(crate) fn decode_data_list(bytes: &[u8]) -> Result<Vec<Data>, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = read_sequence_of(&mut r, "SEQUENCE OF Data", 1, Data::decode)?;
    r.expect_end("SEQUENCE OF Data")?;
    Ok(v)
}

/// The A-XDR encoding of a `SEQUENCE OF Get-Data-Result` (the result list of a
/// get-response-with-list sent in datablocks).
pub(crate) fn encode_get_results(results: &[GetDataResult]) -> Vec<u8> {
    let mut out = Vec::new();
    put_length(&mut out, results.len());
    for g in results {
        g.encode(&mut out);
    }
    out
}

/// Decodes a whole `SEQUENCE OF Get-Data-Result`.
pub(crate) fn decode_get_results(bytes: &[u8]) -> Result<Vec<GetDataResult>, DecodeError> {
    let mut r = Reader::new(bytes);
    let v =
        read_sequence_of(&mut r, "SEQUENCE OF Get-Data-Result", GetDataResult::MIN_ENCODED_LEN, GetDataResult::decode)?;
    r.expect_end("SEQUENCE OF Get-Data-Result")?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdlms::descriptor::DataAccessResult;

    #[test]
    fn split_and_assemble() {
        let raw: Vec<u8> = (0..25).collect();
        let blocks = split(&raw, 10);
        assert_eq!(
            blocks.iter().map(|b| (b.block_number, b.last_block, b.raw_data.len())).collect::<Vec<_>>(),
            [(1, false, 10), (2, false, 10), (3, true, 5)]
        );
        let mut a = DataBlockAssembler::first(&blocks[0], 100).unwrap();
        assert_eq!(a.push(&blocks[2]), Err(BlockRefusal::OutOfSequence));
        a.push(&blocks[1]).unwrap();
        a.push(&blocks[2]).unwrap();
        assert_eq!(a.into_bytes(), raw);
        assert_eq!(DataBlockAssembler::first(&blocks[1], 100).err(), Some(BlockRefusal::OutOfSequence));
        assert_eq!(DataBlockAssembler::first(&blocks[0], 9).err(), Some(BlockRefusal::TooLarge));
        assert_eq!(split(&[], 4).len(), 0);
        assert_eq!(raw_data_room(100, 30), 68);
        assert_eq!(raw_data_room(10, 30), 0);
    }

    #[test]
    fn lists_round_trip_and_refuse_garbage() {
        let values = vec![Data::Unsigned(1), Data::OctetString(vec![1, 2]), Data::NullData];
        let bytes = encode_data_list(&values);
        assert_eq!(bytes, [0x03, 0x11, 0x01, 0x09, 0x02, 0x01, 0x02, 0x00]);
        assert_eq!(decode_data_list(&bytes), Ok(values));
        assert!(decode_data_list(&bytes[..bytes.len() - 1]).is_err());
        assert!(matches!(decode_data_list(&[0x00, 0x00]), Err(DecodeError::TrailingBytes { .. })));
        let results = vec![
            GetDataResult::Data(Data::Boolean(true)),
            GetDataResult::DataAccessResult(DataAccessResult::ObjectUndefined),
        ];
        let bytes = encode_get_results(&results);
        assert_eq!(bytes, [0x02, 0x00, 0x03, 0x01, 0x01, 0x04]);
        assert_eq!(decode_get_results(&bytes), Ok(results));
        assert!(decode_get_results(&[0x05, 0x00]).is_err());
    }
}
