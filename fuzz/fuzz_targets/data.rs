//! `dlms::Data::from_bytes` (A-XDR `Data`, IEC 62056-5-3 §9.5 / IEC 62056-6-2 §4.1):
//! never panics; a decoded value re-encodes and re-decodes to itself, `Data::decode`
//! consumes exactly its encoding, and the accessors are total.
#![no_main]

use dlms::{Data, Reader};
use dlms_fuzz::roundtrip::round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(value) = Data::from_bytes(input) else { return };
    assert_eq!(Some(value.tag()), input.first().copied(), "tag() differs from the first input byte");
    round_trip(&value, Data::to_bytes, Data::from_bytes);

    let mut longer = value.to_bytes();
    let len = longer.len();
    longer.push(0x00);
    let mut r = Reader::new(&longer);
    Data::decode(&mut r).expect("decoding the encoding plus a trailing byte failed");
    assert_eq!(r.position(), len, "Data::decode did not consume exactly the encoding");

    let _ = value.as_integer();
    let _ = value.as_f64();
    let _ = value.as_bytes();
    let _ = value.as_sequence();
    let _ = value.as_date_time();
});
