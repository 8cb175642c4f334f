//! The TCP-UDP wrapper (IEC 62056-47 §5): header layout, stream framing with partial
//! input, typed errors for a wrong version or an oversized length, and property tests
//! (round trip, every strict prefix is "need more", arbitrary chunking of a stream of
//! frames, random input never panics).

use dlms::wrapper::{
    DLMS_PORT, MAX_WRAPPER_APDU_LEN, WPORT_MANAGEMENT_LOGICAL_DEVICE, WPORT_PUBLIC_CLIENT, WRAPPER_HEADER_LEN,
    WrapperFrame,
};
use dlms::{Codec, DecodeError};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// The AARQ of the `aarq-no-security` vector, as the public client sends it to the
/// management logical device: version 0001, source 0010, destination 0001, length 001F.
const WRAPPED_AARQ: &str = "0001 0010 0001 001F 601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF";

#[test]
fn port_constant() {
    assert_eq!(DLMS_PORT, 4059);
}

#[test]
fn wrapped_aarq_known_answer() {
    let bytes = hex(WRAPPED_AARQ);
    let aarq = hex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF");
    let frame = WrapperFrame::new(WPORT_PUBLIC_CLIENT, WPORT_MANAGEMENT_LOGICAL_DEVICE, aarq.clone()).unwrap();
    assert_eq!(frame.to_bytes(), bytes);
    let (parsed, used) = WrapperFrame::parse(&bytes).unwrap().expect("complete frame");
    assert_eq!(used, 8 + 0x1F);
    assert_eq!(parsed.source_wport, 0x0010);
    assert_eq!(parsed.destination_wport, 0x0001);
    assert_eq!(parsed.apdu, aarq);
    assert_eq!(WrapperFrame::from_bytes(&bytes), Ok(parsed));
}

#[test]
fn next_frame_bytes_are_left_alone() {
    let mut bytes = hex(WRAPPED_AARQ);
    bytes.extend_from_slice(&hex("0001 0001 0010"));
    let (_, used) = WrapperFrame::parse(&bytes).unwrap().unwrap();
    assert_eq!(used, 8 + 0x1F);
    assert_eq!(WrapperFrame::parse(&bytes[used..]), Ok(None));
}

#[test]
fn wrong_version_is_reported_as_soon_as_it_is_seen() {
    assert!(matches!(WrapperFrame::parse(&hex("0002")), Err(DecodeError::Invalid { .. })));
    assert!(matches!(WrapperFrame::parse(&hex("0000 0010 0001 0001 C0")), Err(DecodeError::Invalid { .. })));
    // one byte cannot be judged yet
    assert_eq!(WrapperFrame::parse(&hex("00")), Ok(None));
    assert!(matches!(WrapperFrame::from_bytes(&hex("0100 0010 0001 0000")), Err(DecodeError::Invalid { .. })));
}

#[test]
fn length_above_the_limit_is_oversized_before_the_body_arrives() {
    let header = hex("0001 0010 0001 0401"); // 1025 bytes announced
    assert_eq!(
        WrapperFrame::parse_with_limit(&header, 1024),
        Err(DecodeError::Oversized { what: "wrapper APDU", len: 1025, max: 1024 })
    );
    assert_eq!(WrapperFrame::parse_with_limit(&header, 1025), Ok(None));
    assert_eq!(WrapperFrame::parse(&header), Ok(None));
}

#[test]
fn empty_apdu_frame() {
    let bytes = hex("0001 0001 0010 0000");
    assert_eq!(
        WrapperFrame::parse(&bytes),
        Ok(Some((WrapperFrame { source_wport: 1, destination_wport: 0x10, apdu: vec![] }, 8)))
    );
}

#[test]
fn codec_decode_of_truncated_frame_is_truncated() {
    let bytes = hex(WRAPPED_AARQ);
    assert!(matches!(WrapperFrame::from_bytes(&bytes[..20]), Err(DecodeError::Truncated { .. })));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(WrapperFrame::from_bytes(&longer), Err(DecodeError::TrailingBytes { count: 1, .. })));
}

fn frame() -> impl Strategy<Value = WrapperFrame> {
    (any::<u16>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(s, d, apdu)| WrapperFrame {
        source_wport: s,
        destination_wport: d,
        apdu,
    })
}

proptest! {
    #[test]
    fn round_trip(f in frame()) {
        let bytes = f.to_bytes();
        prop_assert_eq!(bytes.len(), WRAPPER_HEADER_LEN + f.apdu.len());
        prop_assert_eq!(WrapperFrame::parse(&bytes), Ok(Some((f.clone(), bytes.len()))));
        prop_assert_eq!(WrapperFrame::from_bytes(&bytes), Ok(f));
    }

    #[test]
    fn every_strict_prefix_needs_more(f in frame()) {
        let bytes = f.to_bytes();
        for n in 0..bytes.len() {
            prop_assert_eq!(WrapperFrame::parse(&bytes[..n]), Ok(None), "prefix {}", n);
            prop_assert!(WrapperFrame::from_bytes(&bytes[..n]).is_err());
        }
    }

    /// A stream of frames delivered in arbitrary chunks is reassembled exactly.
    #[test]
    fn chunked_stream_is_reframed(frames in prop::collection::vec(frame(), 1..6),
                                  chunks in prop::collection::vec(1usize..200, 1..50)) {
        let stream: Vec<u8> = frames.iter().flat_map(Codec::to_bytes).collect();
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        let mut offset = 0;
        let mut sizes = chunks.iter().cycle();
        while offset < stream.len() {
            let n = (*sizes.next().unwrap()).min(stream.len() - offset);
            buffer.extend_from_slice(&stream[offset..offset + n]);
            offset += n;
            while let Some((f, used)) = WrapperFrame::parse(&buffer).unwrap() {
                out.push(f);
                buffer.drain(..used);
            }
        }
        prop_assert!(buffer.is_empty());
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100), limit in 0usize..=MAX_WRAPPER_APDU_LEN) {
        let _ = WrapperFrame::parse(&bytes);
        let _ = WrapperFrame::from_bytes(&bytes);
        if let Ok(Some((f, used))) = WrapperFrame::parse_with_limit(&bytes, limit) {
            prop_assert!(f.apdu.len() <= limit);
            prop_assert_eq!(used, WRAPPER_HEADER_LEN + f.apdu.len());
        }
        // with a valid version the header is always read
        let mut v = vec![0x00, 0x01];
        v.extend_from_slice(&bytes);
        let _ = WrapperFrame::parse_with_limit(&v, limit);
    }
}
