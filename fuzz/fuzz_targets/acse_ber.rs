//! The BER subset behind the ACSE APDUs (`dlms::acse::ber`, X.690) and
//! `dlms::acse::ObjectIdentifier`: the input is read as a sequence of TLVs and every
//! content is also tried as INTEGER, BIT STRING and OBJECT IDENTIFIER content.
//! Never panics; each parser agrees with its encoder:
//! * INTEGER: `parse(integer_content(v)) == v`, and minimal content re-encodes to itself;
//! * BIT STRING: `parse(bit_string_content(b)) == b`, and content whose unused bits are
//!   zero re-encodes to itself;
//! * OID: `from_arcs(arcs(x))` gives the same arcs.
#![no_main]

use dlms::Reader;
use dlms::acse::ObjectIdentifier;
use dlms::acse::ber::{
    bit_string_content, integer_content, parse_bit_string, parse_explicit_integer, parse_integer, read_tlv,
};
use libfuzzer_sys::fuzz_target;

fn check_integer(content: &[u8]) {
    let Ok(v) = parse_integer(content, "fuzz") else { return };
    let minimal = integer_content(v);
    assert_eq!(parse_integer(&minimal, "fuzz"), Ok(v), "INTEGER {v} does not round-trip");
    let is_minimal = match content {
        [_] => true,
        [0x00, next, ..] => next & 0x80 != 0,
        [0xFF, next, ..] => next & 0x80 == 0,
        _ => true,
    };
    if is_minimal {
        assert_eq!(minimal, content, "minimal INTEGER content does not re-encode to itself");
    }
}

fn check_bit_string(content: &[u8]) {
    let Ok(bits) = parse_bit_string(content, "fuzz") else { return };
    assert_eq!(bits.bytes.len() * 8 - bits.bits, content[0] as usize);
    let encoded = bit_string_content(&bits);
    assert_eq!(parse_bit_string(&encoded, "fuzz").as_ref(), Ok(&bits), "BIT STRING does not round-trip");
    let unused = content[0];
    let clean = content.last().is_none_or(|last| content.len() == 1 || last & !(0xFFu8 << unused) == 0);
    if clean {
        assert_eq!(encoded, content, "BIT STRING content with clear unused bits does not re-encode to itself");
    }
}

fn check_oid(content: &[u8]) {
    let oid = ObjectIdentifier(content.to_vec());
    let _ = (oid.to_string(), format!("{oid:?}"), oid.dlms_ua_parts());
    let Some(arcs) = oid.arcs() else { return };
    let again = ObjectIdentifier::from_arcs(&arcs).expect("arcs of a decoded OID are refused by from_arcs");
    assert_eq!(again.arcs().as_ref(), Some(&arcs), "OID arcs do not round-trip");
    if let Some((kind, id)) = oid.dlms_ua_parts() {
        assert_eq!(ObjectIdentifier::dlms_ua(kind, id), oid);
    }
}

fuzz_target!(|input: &[u8]| {
    let mut r = Reader::new(input);
    while !r.is_empty() {
        let before = r.position();
        let Ok(tlv) = read_tlv(&mut r, "fuzz") else { break };
        assert!(r.position() > before, "read_tlv consumed nothing");
        check_integer(tlv.content);
        check_bit_string(tlv.content);
        check_oid(tlv.content);
        let _ = parse_explicit_integer(tlv.content, "fuzz");
    }
    check_integer(input);
    check_bit_string(input);
    check_oid(input);
});
