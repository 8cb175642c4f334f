//! HDLC frame format type 3 (IEC 62056-46 §6.4.1): `hdlc::Frame::parse` used as stream
//! framing over the whole input, `Frame` `Codec` decoding, and `hdlc::FrameReader` fed
//! the same bytes in chunks. Never panics, and:
//! * every frame `parse` returns re-encodes to exactly the bytes it used (after leading
//!   fill flags), and the `Codec` round trip holds;
//! * every error's `discard` is within the buffer and moves past at least one byte;
//! * `FrameReader` fed the input in chunks (sizes taken from the first input byte) gives
//!   the same frames as fed all at once.
#![no_main]

use dlms::Codec;
use dlms::hdlc::{FLAG, Frame, FrameReader, MAX_FRAME_LENGTH};
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

/// Frames `FrameReader` yields for `input` pushed in chunks of `chunk` bytes (0: at once).
fn reader_frames(input: &[u8], chunk: usize) -> Vec<Frame> {
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    let chunks: Vec<&[u8]> = if chunk == 0 { vec![input] } else { input.chunks(chunk).collect() };
    for part in chunks {
        reader.push(part);
        while let Some(result) = reader.next_frame() {
            if let Ok(frame) = result {
                frames.push(frame);
            }
        }
        // Only an incomplete frame may stay buffered (plus fill flags before it).
        assert!(reader.buffered() <= part.len() + 2 * (MAX_FRAME_LENGTH + 2), "reader holds {}", reader.buffered());
    }
    frames
}

fuzz_target!(|input: &[u8]| {
    let mut buf = input;
    while !buf.is_empty() {
        match Frame::parse(buf) {
            Ok(Some((frame, used))) => {
                assert!(used <= buf.len());
                let encoded = frame.to_bytes();
                assert!(encoded.len() <= used, "encoding longer than the bytes used");
                let (fill, bytes) = buf[..used].split_at(used - encoded.len());
                assert!(fill.iter().all(|&b| b == FLAG), "bytes before the frame are not fill flags");
                assert_eq!(encoded, bytes, "frame does not re-encode to the bytes it used: {frame:?}");
                assert_eq!(usize::from(frame.format().length), frame.frame_length());
                assert_eq!(Frame::from_bytes(bytes).as_ref(), Ok(&frame), "Codec and parse disagree");
                for cut in 0..bytes.len() {
                    assert_eq!(Frame::parse(&bytes[..cut]), Ok(None), "prefix of {cut} bytes is not 'read more'");
                }
                codec_round_trip(&frame);
                // The closing flag may open the next frame.
                buf = &buf[used - 1..];
                if buf == [FLAG] {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                assert!(e.discard <= buf.len(), "discard {} beyond {} bytes", e.discard, buf.len());
                if e.discard == 0 {
                    break;
                }
                buf = &buf[e.discard..];
            }
        }
    }

    let chunk = usize::from(input.first().copied().unwrap_or(0) % 17);
    let whole = reader_frames(input, 0);
    assert_eq!(reader_frames(input, chunk), whole, "chunked reader (chunks of {chunk}) disagrees");
    assert_eq!(reader_frames(input, 1), whole, "byte-by-byte reader disagrees");
});
