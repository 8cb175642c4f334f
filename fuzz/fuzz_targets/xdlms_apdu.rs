//! `dlms::xdlms::XdlmsApdu::from_bytes`: the unciphered xDLMS service APDUs
//! (IEC 62056-5-3 §9.5). Never panics; round-trips; the APDU-level dispatcher
//! `dlms::apdu::Apdu` decodes the same input to the same value.
#![no_main]

use dlms::Codec;
use dlms::apdu::Apdu;
use dlms::xdlms::XdlmsApdu;
use dlms_fuzz::roundtrip::{assert_same_value, codec_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(apdu) = XdlmsApdu::from_bytes(input) else { return };
    assert_eq!(Some(apdu.tag()), input.first().copied(), "tag() differs from the first input byte");
    let _ = (apdu.invoke_id_and_priority(), apdu.is_request());
    match Apdu::from_bytes(input) {
        Ok(Apdu::Xdlms(x)) => assert_same_value(&apdu, &x, input),
        other => panic!("Apdu::from_bytes gave {other:?} for an xDLMS APDU"),
    }
    codec_round_trip(&apdu);
});
