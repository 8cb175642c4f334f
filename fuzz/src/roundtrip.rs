//! Round-trip assertions: a value decoded from fuzz input must survive
//! encode → decode unchanged.
//!
//! `PartialEq` cannot see through a NaN float (`NaN != NaN`), so when the two values
//! differ they must at least have the same `Debug` text and that text must contain a
//! `NaN`; the encodings are always compared byte for byte, which covers the NaN payload.

use std::fmt::Debug;

use dlms::{Codec, Reader};

/// Asserts that `second` (re-decoded from the encoding of `first`) is the same value.
pub fn assert_same_value<T: PartialEq + Debug>(first: &T, second: &T, encoding: &[u8]) {
    if first == second {
        return;
    }
    let (a, b) = (format!("{first:?}"), format!("{second:?}"));
    assert!(
        a == b && a.contains("NaN"),
        "round trip changed the value\n first:  {a}\n second: {b}\n encoding: {encoding:02X?}"
    );
}

/// Checks the round trip of any value with an `encode`/`decode` pair: `decode(encode(v))`
/// succeeds, gives the same value, and re-encoding that gives the same bytes.
pub fn round_trip<T, E>(first: &T, encode: impl Fn(&T) -> Vec<u8>, decode: impl Fn(&[u8]) -> Result<T, E>)
where
    T: PartialEq + Debug,
    E: Debug,
{
    let enc1 = encode(first);
    let second = match decode(&enc1) {
        Ok(v) => v,
        Err(e) => panic!("re-decoding failed: {e:?}\n value: {first:?}\n encoding: {enc1:02X?}"),
    };
    assert_same_value(first, &second, &enc1);
    let enc2 = encode(&second);
    assert_eq!(enc1, enc2, "re-encoding is not stable for {first:?}");
}

/// [`round_trip`] for a [`Codec`] type, plus: `Codec::decode` on the encoding followed by
/// one extra byte consumes exactly the encoding (a decoder must not read past its value).
pub fn codec_round_trip<T: Codec + PartialEq + Debug>(first: &T) {
    round_trip(first, T::to_bytes, T::from_bytes);
    let mut longer = first.to_bytes();
    let len = longer.len();
    longer.push(0x00);
    let mut r = Reader::new(&longer);
    if let Err(e) = T::decode(&mut r) {
        panic!("decoding the encoding plus one trailing byte failed: {e:?}\n value: {first:?}");
    }
    assert_eq!(r.position(), len, "decode did not consume exactly the encoding of {first:?}");
}
