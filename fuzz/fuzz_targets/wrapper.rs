//! The IEC 62056-47 wrapper: `WrapperFrame::parse` / `parse_with_limit` used as stream
//! framing over the whole input, and `Codec` decoding of one whole frame.
//! Never panics, and:
//! * every frame `parse` returns re-encodes to exactly the bytes it used, and decodes
//!   with `Codec::from_bytes` to the same frame;
//! * every proper prefix of a frame gives `Ok(None)` ("read more"), so a stream reader
//!   fed byte by byte sees the same frames as one fed the whole buffer;
//! * `parse_with_limit` agrees with `parse` and refuses exactly the frames whose length
//!   field is above the limit.
#![no_main]

use dlms::wrapper::{WRAPPER_HEADER_LEN, WrapperFrame};
use dlms::{Codec, DecodeError};
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

/// A small limit so that `parse_with_limit` refuses some frames.
const SMALL_LIMIT: usize = 64;

fuzz_target!(|input: &[u8]| {
    let mut buf = input;
    loop {
        match WrapperFrame::parse(buf) {
            Ok(Some((frame, used))) => {
                assert_eq!(used, WRAPPER_HEADER_LEN + frame.apdu.len());
                assert!(used <= buf.len());
                let bytes = &buf[..used];
                assert_eq!(frame.to_bytes(), bytes, "frame does not re-encode to the bytes it used");
                assert_eq!(WrapperFrame::from_bytes(bytes).as_ref(), Ok(&frame), "Codec and parse disagree");
                for cut in 0..used {
                    assert_eq!(WrapperFrame::parse(&buf[..cut]), Ok(None), "prefix of {cut} bytes is not 'read more'");
                }
                match WrapperFrame::parse_with_limit(buf, SMALL_LIMIT) {
                    Ok(Some((f, u))) => assert!(f == frame && u == used && frame.apdu.len() <= SMALL_LIMIT),
                    Err(DecodeError::Oversized { len, .. }) => {
                        assert!(len > SMALL_LIMIT && len == frame.apdu.len())
                    }
                    other => panic!("parse_with_limit gave {other:?} where parse found a frame"),
                }
                codec_round_trip(&frame);
                let reply = frame.reply(vec![0xC4]);
                assert_eq!(
                    (reply.source_wport, reply.destination_wport),
                    (frame.destination_wport, frame.source_wport)
                );
                buf = &buf[used..];
            }
            Ok(None) => {
                let complete = buf.len() >= WRAPPER_HEADER_LEN
                    && buf.len() >= WRAPPER_HEADER_LEN + usize::from(u16::from_be_bytes([buf[6], buf[7]]));
                assert!(!complete, "Ok(None) for a buffer holding a whole frame");
                break;
            }
            Err(_) => break,
        }
    }
    if let Ok(frame) = WrapperFrame::from_bytes(input) {
        assert_eq!(WrapperFrame::parse(input), Ok(Some((frame.clone(), input.len()))));
        codec_round_trip(&frame);
    }
});
