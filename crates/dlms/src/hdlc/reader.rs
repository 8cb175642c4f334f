//! A receive buffer that turns a byte stream into HDLC frames with [`Frame::parse`],
//! handling shared flags (IEC 62056-46 §6.4.1: one flag may close a frame and open the
//! next), inter-frame fill flags and resynchronisation after errors.

use super::frame::{FLAG, Frame, FrameError};

/// Stream framer: [`FrameReader::push`] received bytes, then call
/// [`FrameReader::next_frame`] until it returns `None`.
#[derive(Debug, Clone, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        FrameReader::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held (an incomplete frame, or the last closing flag).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drops everything held (link reset).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The next complete frame, or the next error (its bytes are already dropped), or
    /// `None` when more bytes are needed. The closing flag of each frame is kept as the
    /// possible opening flag of the next one.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        // Runs of fill flags collapse to one, so a flood of flags cannot grow the buffer.
        let leading = self.buf.iter().take_while(|&&b| b == FLAG).count();
        if leading > 1 {
            self.buf.drain(..leading - 1);
        }
        match Frame::parse(&self.buf) {
            Ok(None) => None,
            Ok(Some((frame, used))) => {
                self.buf.drain(..used.saturating_sub(1));
                Some(Ok(frame))
            }
            Err(e) => {
                self.buf.drain(..e.discard.max(1).min(self.buf.len()));
                Some(Err(e))
            }
        }
    }
}
