//! The General-Block-Transfer APDU (IEC 62056-5-3 §9.3.5, §9.5), tag 0xE0:
//! `GeneralBlockTransfer` decoded with `Codec`. Never panics, and:
//! * decode → encode → decode gives the same value and `decode` consumes exactly the
//!   encoding;
//! * the encoding is the input's own bytes except (at most) the block-data length, which
//!   the encoder writes in its shortest form;
//! * `XdlmsApdu` dispatches 0xE0 to the same value;
//! * `BlockControl::from_u8`/`to_u8` round-trip every octet; `is_ack_only` follows its
//!   definition.
#![no_main]

use dlms::Codec;
use dlms::codec::Reader;
use dlms::xdlms::XdlmsApdu;
use dlms::xdlms::general_block_transfer::{BlockControl, GeneralBlockTransfer};
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Some(&b) = input.get(1) {
        assert_eq!(BlockControl::from_u8(b).to_u8(), b);
    }
    let mut r = Reader::new(input);
    let Ok(gbt) = GeneralBlockTransfer::decode(&mut r) else {
        return;
    };
    let used = r.position();
    codec_round_trip(&gbt);
    let encoded = gbt.to_bytes();
    assert_eq!(encoded[..6], input[..6], "header re-encodes differently");
    assert!(encoded.len() <= used, "re-encoding longer than the bytes used");
    assert!(input[..used].ends_with(&gbt.block_data), "block-data is not the tail of the bytes used");
    assert_eq!(gbt.is_ack_only(), gbt.block_data.is_empty() && input[1] & 0x80 == 0);
    match XdlmsApdu::from_bytes(&input[..used]) {
        Ok(XdlmsApdu::GeneralBlockTransfer(other)) => assert_eq!(other, gbt, "XdlmsApdu gives another value"),
        other => panic!("XdlmsApdu does not decode a General-Block-Transfer: {other:?}"),
    }
});
