//! Segmentation of LLC PDUs into I-frames and their reassembly (IEC 62056-46 §6.4.4
//! "Elements of the procedures", segmentation): an LLC PDU longer than
//! the negotiated maximum information field length is carried by several I-frames; every
//! frame but the last has the segmentation bit S set. Only the first segment starts with
//! the LLC header.

use serde::Serialize;
use thiserror::Error;

/// One segment: the information field of one I-frame and its S bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The information field bytes (at most the maximum information field length).
    pub information: Vec<u8>,
    /// S: more segments of the same LLC PDU follow.
    pub more: bool,
}

/// Splits an LLC PDU into segments of at most `max_info_length` bytes (0 is taken as 1),
/// S set on all but the last. An empty PDU gives one empty, final segment.
pub fn segment(pdu: &[u8], max_info_length: usize) -> Vec<Segment> {
    let chunks: Vec<&[u8]> = pdu.chunks(max_info_length.max(1)).collect();
    if chunks.is_empty() {
        return vec![Segment { information: Vec::new(), more: false }];
    }
    let last = chunks.len() - 1;
    chunks.into_iter().enumerate().map(|(i, c)| Segment { information: c.to_vec(), more: i < last }).collect()
}

/// The reassembled PDU would exceed the configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize)]
#[error("reassembled PDU exceeds {max} bytes")]
pub struct ReassemblyTooLong {
    /// The configured limit, bytes.
    pub max: usize,
}

/// Collects the information fields of in-sequence I-frames until one arrives with S = 0.
#[derive(Debug, Clone)]
pub struct Reassembler {
    buf: Vec<u8>,
    max_len: usize,
    overflowed: bool,
}

impl Reassembler {
    /// A reassembler that refuses PDUs longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Reassembler { buf: Vec::new(), max_len, overflowed: false }
    }

    /// Adds the next segment. Returns the whole PDU when `more` is false.
    ///
    /// # Errors
    /// [`ReassemblyTooLong`] once, when the PDU grows past the limit; the remaining
    /// segments of that PDU are then dropped silently up to and including its last one.
    pub fn push(&mut self, information: &[u8], more: bool) -> Result<Option<Vec<u8>>, ReassemblyTooLong> {
        if self.overflowed {
            if !more {
                self.overflowed = false;
            }
            return Ok(None);
        }
        if self.buf.len() + information.len() > self.max_len {
            self.buf = Vec::new();
            self.overflowed = more;
            return Err(ReassemblyTooLong { max: self.max_len });
        }
        self.buf.extend_from_slice(information);
        if more { Ok(None) } else { Ok(Some(std::mem::take(&mut self.buf))) }
    }

    /// Drops a partly assembled PDU (link reset).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overflowed = false;
    }

    /// True while segments of an unfinished PDU are held.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty() || self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join() {
        let pdu: Vec<u8> = (0..10).collect();
        let segs = segment(&pdu, 4);
        assert_eq!(
            segs.iter().map(|s| (s.information.len(), s.more)).collect::<Vec<_>>(),
            [(4, true), (4, true), (2, false)]
        );
        let mut r = Reassembler::new(100);
        let mut out = None;
        for s in &segs {
            out = r.push(&s.information, s.more).unwrap();
        }
        assert_eq!(out, Some(pdu));
        assert_eq!(segment(&[], 4), [Segment { information: vec![], more: false }]);
        assert_eq!(segment(&[1, 2], 0).len(), 2);
    }

    #[test]
    fn too_long_is_reported_once_and_the_rest_dropped() {
        let mut r = Reassembler::new(5);
        assert_eq!(r.push(&[0; 4], true), Ok(None));
        assert_eq!(r.push(&[0; 4], true), Err(ReassemblyTooLong { max: 5 }));
        assert_eq!(r.push(&[0; 4], false), Ok(None));
        assert_eq!(r.push(&[1], false), Ok(Some(vec![1])));
    }
}
