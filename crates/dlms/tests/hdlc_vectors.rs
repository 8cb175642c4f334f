//! Known-answer tests for the HDLC layer (IEC 62056-46): every `hdlc` vector of
//! `shared/testdata/dlms/vectors.json`. Each frame is parsed, the fields its `expected`
//! block describes are checked against values written here from that block, the HCS and
//! FCS bytes are compared with the ones the vector names, and the frame is re-encoded
//! byte for byte.

use std::collections::BTreeSet;

use dlms::apdu::Apdu;
use dlms::hdlc::crc::fcs16;
use dlms::hdlc::llc::{LlcDirection, split_llc};
use dlms::hdlc::{AddressSize, Control, Frame, FrameFormat, HdlcAddress, LinkParameters, NegotiationField};
use dlms::{Codec, DecodeError};
use serde_json::Value;

fn hdlc_vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/dlms/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let json: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    json["vectors"].as_array().expect("vectors array").iter().filter(|v| v["category"] == "hdlc").cloned().collect()
}

fn vector(id: &str) -> Value {
    hdlc_vectors().into_iter().find(|v| v["id"] == id).unwrap_or_else(|| panic!("vector {id} missing"))
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex")
}

fn expected_hex(v: &Value, field: &str) -> Vec<u8> {
    hex(v["expected"][field].as_str().unwrap_or_else(|| panic!("expected.{field} missing in {}", v["id"])))
}

/// The first whitespace-separated token of an `expected` text field, as hex.
fn expected_leading_hex(v: &Value, field: &str) -> Vec<u8> {
    let text = v["expected"][field].as_str().unwrap_or_else(|| panic!("expected.{field} missing"));
    hex(text.split_whitespace().next().expect("a token"))
}

/// The leading hex tokens of an `expected` text field ("E6 E6 00 (request)" -> E6E600).
fn expected_hex_tokens(v: &Value, field: &str) -> Vec<u8> {
    let text = v["expected"][field].as_str().unwrap_or_else(|| panic!("expected.{field} missing"));
    let tokens: String =
        text.split_whitespace().take_while(|t| t.len() % 2 == 0 && t.chars().all(|c| c.is_ascii_hexdigit())).collect();
    hex(&tokens)
}

/// Parses the vector's frame, checks it is whole, its FCS (and HCS) bytes are the ones
/// named by the vector, and it re-encodes byte for byte.
fn frame_of(id: &str) -> (Frame, Value) {
    let v = vector(id);
    let bytes = hex(v["inputs"]["frame"].as_str().expect("inputs.frame"));
    let (frame, used) = Frame::parse(&bytes).expect("valid frame").expect("complete frame");
    assert_eq!(used, bytes.len(), "{id}: the whole input is one frame");
    assert_eq!(Frame::from_bytes(&bytes).as_ref(), Ok(&frame));
    assert_eq!(hex::encode_upper(frame.to_bytes()), hex::encode_upper(&bytes), "{id}: re-encoding differs");

    let fcs = expected_hex(&v, "fcs");
    assert_eq!(&bytes[bytes.len() - 3..bytes.len() - 1], &fcs[..], "{id}: FCS bytes");
    assert_eq!(fcs16(&bytes[1..bytes.len() - 3]).to_le_bytes().to_vec(), fcs, "{id}: FCS recomputed");
    let header_len = 2 + frame.destination.size().byte_count() + frame.source.size().byte_count() + 1;
    if v["expected"]["hcs"].is_string() {
        let hcs = expected_hex(&v, "hcs");
        assert_eq!(&bytes[1 + header_len..3 + header_len], &hcs[..], "{id}: HCS bytes");
        assert_eq!(fcs16(&bytes[1..1 + header_len]).to_le_bytes().to_vec(), hcs, "{id}: HCS recomputed");
    } else {
        assert!(frame.information.is_empty(), "{id}: a frame without HCS has no information field");
    }
    assert_eq!(usize::from(frame.format().length), bytes.len() - 2);
    (frame, v)
}

fn addr_bytes(a: &HdlcAddress) -> Vec<u8> {
    let mut v = Vec::new();
    a.encode(&mut v);
    v
}

#[test]
fn every_hdlc_vector_is_covered() {
    let ids: BTreeSet<String> = hdlc_vectors().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
    let covered: BTreeSet<String> = [
        "hdlc-snrm",
        "hdlc-ua",
        "hdlc-i-aarq",
        "hdlc-i-aare",
        "hdlc-ua-no-physical-address",
        "hdlc-ua-4byte-src-address-1",
        "hdlc-ua-4byte-src-address-16",
        "hdlc-segmented-i-frame",
        "hdlc-hcs-example",
        "hdlc-frame-format-field",
        "hdlc-address-encoding",
        "hdlc-control-field",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(ids, covered, "a new hdlc vector needs a test");
}

#[test]
fn snrm() {
    let (f, v) = frame_of("hdlc-snrm");
    assert_eq!(v["expected"]["frame_format"].as_str().unwrap().split_whitespace().next(), Some("A008"));
    assert_eq!(f.format(), FrameFormat { segmented: false, length: 8 });
    assert_eq!((f.destination.upper(), f.destination.lower(), f.destination.size()), (1, Some(17), AddressSize::Two));
    assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
    assert_eq!((f.source.upper(), f.source.lower()), (16, None));
    assert_eq!(f.control, Control::Snrm { poll: true });
    assert!(v["expected"]["information"].is_null());
    assert!(f.information.is_empty());
}

#[test]
fn ua_with_parameters() {
    let (f, v) = frame_of("hdlc-ua");
    assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
    assert_eq!(addr_bytes(&f.source), expected_leading_hex(&v, "source_address"));
    assert_eq!((f.source.upper(), f.source.lower()), (1, Some(17)));
    assert_eq!(f.control, Control::Ua { fin: true });
    let info_text = v["expected"]["information"].as_str().unwrap();
    let info_hex: String = info_text.split(':').next().unwrap().split_whitespace().collect();
    assert_eq!(f.information, hex(&info_hex));
    let field = NegotiationField::from_bytes(&f.information).expect("negotiation field");
    assert_eq!(field.to_bytes(), f.information, "byte widths are kept");
    assert_eq!(
        field.link_parameters(),
        LinkParameters {
            max_info_length_transmit: 154,
            max_info_length_receive: 154,
            window_size_transmit: 1,
            window_size_receive: 1
        }
    );
}

#[test]
fn i_frame_with_aarq() {
    let (f, v) = frame_of("hdlc-i-aarq");
    assert_eq!(addr_bytes(&f.destination), expected_hex(&v, "destination_address"));
    assert_eq!(addr_bytes(&f.source), expected_hex(&v, "source_address"));
    assert_eq!(f.control, Control::I { ns: 0, nr: 0, poll_final: true });
    assert!(!f.segmented);
    let (direction, apdu) = split_llc(&f.information).expect("LLC");
    assert_eq!(direction, LlcDirection::Command);
    assert_eq!(&f.information[..3], &expected_hex_tokens(&v, "llc")[..]);
    assert_eq!(apdu, &expected_leading_hex(&v, "apdu")[..]);
    assert!(matches!(Apdu::from_bytes(apdu), Ok(Apdu::Aarq(_))));
}

#[test]
fn i_frame_with_aare() {
    let (f, v) = frame_of("hdlc-i-aare");
    assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
    assert_eq!(addr_bytes(&f.source), expected_leading_hex(&v, "source_address"));
    assert_eq!(f.control, Control::I { ns: 0, nr: 1, poll_final: true });
    let (direction, apdu) = split_llc(&f.information).expect("LLC");
    assert_eq!(direction, LlcDirection::Response);
    assert_eq!(&f.information[..3], &expected_hex_tokens(&v, "llc")[..]);
    let Ok(Apdu::Aare(aare)) = Apdu::from_bytes(apdu) else { panic!("an AARE") };
    assert!(aare.is_accepted());
    assert_eq!(aare.initiate_response().expect("InitiateResponse").server_max_receive_pdu_size, 0x04C8);
}

#[test]
fn ua_with_one_byte_server_address() {
    let (f, v) = frame_of("hdlc-ua-no-physical-address");
    assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
    assert_eq!(f.destination.upper(), 16);
    assert_eq!(addr_bytes(&f.source), expected_leading_hex(&v, "source_address"));
    assert_eq!((f.source.upper(), f.source.lower(), f.source.size()), (1, None, AddressSize::One));
    assert_eq!(f.control, Control::Ua { fin: true });
    assert!(f.information.is_empty());
}

#[test]
fn ua_with_four_byte_server_address() {
    for (id, client) in [("hdlc-ua-4byte-src-address-1", 1), ("hdlc-ua-4byte-src-address-16", 16)] {
        let (f, v) = frame_of(id);
        assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
        assert_eq!((f.destination.upper(), f.destination.lower()), (client, None));
        assert_eq!(addr_bytes(&f.source), expected_leading_hex(&v, "source_address"));
        assert_eq!((f.source.upper(), f.source.lower(), f.source.size()), (1, Some(17), AddressSize::Four));
        assert!(f.source.same_station(&HdlcAddress::two_byte(1, 17).unwrap()));
        assert_eq!(f.control.to_byte(), expected_hex(&v, "control")[0]);
        let field = NegotiationField::from_bytes(&f.information).expect("negotiation field");
        assert_eq!(field.parameters.iter().map(|p| p.width).collect::<Vec<_>>(), [2, 2, 4, 4]);
        assert_eq!(field.to_bytes(), f.information);
        assert_eq!(field.link_parameters(), LinkParameters::default());
    }
}

#[test]
fn segmented_i_frame() {
    let (f, v) = frame_of("hdlc-segmented-i-frame");
    assert_eq!(v["expected"]["frame_format"].as_str().unwrap().split_whitespace().next(), Some("A87E"));
    assert_eq!(f.format(), FrameFormat { segmented: true, length: 126 });
    assert!(f.segmented);
    assert_eq!(addr_bytes(&f.destination), expected_leading_hex(&v, "destination_address"));
    assert_eq!(f.destination.upper(), 16);
    assert_eq!((f.source.upper(), f.source.lower()), (1, None));
    assert_eq!(f.control, Control::I { ns: 3, nr: 4, poll_final: true });
    assert!(split_llc(&f.information).is_err(), "a later segment carries no LLC header");
}

#[test]
fn hcs_example() {
    let v = vector("hdlc-hcs-example");
    let data = hex(v["inputs"]["data"].as_str().unwrap());
    assert_eq!(fcs16(&data), 0xEC5B);
    assert_eq!(fcs16(&data).to_le_bytes().to_vec(), expected_hex(&v, "hcs_bytes_on_wire"));
}

#[test]
fn frame_format_field() {
    let v = vector("hdlc-frame-format-field");
    for case in v["inputs"]["cases"].as_array().unwrap() {
        let text = case.as_str().unwrap();
        let value = u16::from_str_radix(text, 16).unwrap();
        let format = FrameFormat::from_u16(value).expect("type 3");
        let expected = &v["expected"][text];
        assert_eq!(u64::from(format.length), expected["length"].as_u64().unwrap(), "{text}");
        assert_eq!(format.segmented, expected["segmented"].as_bool().unwrap(), "{text}");
        assert_eq!(format.to_u16(), value);
    }
    assert!(FrameFormat::from_u16(0xB01D).is_err());
}

#[test]
fn address_encoding() {
    let v = vector("hdlc-address-encoding");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["encoded"].as_array().unwrap();
    assert_eq!(cases.len(), expected.len());
    for (case, want) in cases.iter().zip(expected) {
        let logical = u16::try_from(case["logical"].as_u64().unwrap()).unwrap();
        let address = match case["physical"].as_u64() {
            None => HdlcAddress::one_byte(u8::try_from(logical).unwrap()).unwrap(),
            Some(physical) => HdlcAddress::server(logical, u16::try_from(physical).unwrap()).unwrap(),
        };
        let want = hex(want.as_str().unwrap());
        assert_eq!(addr_bytes(&address), want, "{case}");
        let (back, used) = HdlcAddress::scan(&want).unwrap().unwrap();
        assert_eq!((back, used), (address, want.len()));
    }
}

#[test]
fn control_field() {
    let v = vector("hdlc-control-field");
    let i = &v["expected"]["30"];
    assert_eq!(i["frame"], "I");
    let expected_i = Control::I {
        ns: u8::try_from(i["send_sequence_number"].as_u64().unwrap()).unwrap(),
        nr: u8::try_from(i["receive_sequence_number"].as_u64().unwrap()).unwrap(),
        poll_final: i["final"].as_bool().unwrap(),
    };
    assert_eq!(Control::from_byte(0x30), expected_i);
    assert_eq!(expected_i.to_byte(), 0x30);
    let ui = &v["expected"]["13"];
    assert_eq!(ui["frame"], "UI");
    assert_eq!(Control::from_byte(0x13), Control::Ui { poll_final: ui["final"].as_bool().unwrap() });
    assert_eq!(Control::Ui { poll_final: true }.to_byte(), 0x13);
}

#[test]
fn corrupted_vector_frames_are_rejected_with_typed_errors() {
    use dlms::hdlc::FrameErrorKind;
    let good = hex(vector("hdlc-i-aarq")["inputs"]["frame"].as_str().unwrap());
    // A flipped APDU byte breaks the FCS only; the frame is dropped up to its closing flag.
    let mut bad_fcs = good.clone();
    bad_fcs[20] ^= 0x01;
    let e = Frame::parse(&bad_fcs).unwrap_err();
    assert!(matches!(e.kind, FrameErrorKind::Fcs { .. }), "{e}");
    assert_eq!(e.discard, good.len() - 1);
    // A flipped control byte breaks the HCS.
    let mut bad_hcs = good.clone();
    bad_hcs[5] ^= 0x02;
    let e = Frame::parse(&bad_hcs).unwrap_err();
    assert!(matches!(e.kind, FrameErrorKind::Hcs { .. }), "{e}");
    // A wrong format type.
    let mut bad_type = good.clone();
    bad_type[1] = 0x80;
    assert!(matches!(Frame::parse(&bad_type).unwrap_err().kind, FrameErrorKind::FormatType { format_type: 8 }));
    // Codec::from_bytes reports truncation and invalid frames as DecodeError.
    assert!(matches!(Frame::from_bytes(&good[..20]), Err(DecodeError::Truncated { .. })));
    assert!(matches!(Frame::from_bytes(&bad_hcs), Err(DecodeError::Invalid { .. })));
}
