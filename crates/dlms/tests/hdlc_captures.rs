//! Real HDLC frames captured from meters' HAN ports (`shared/testdata/han`): every file
//! the manifest lists with HDLC framing is parsed with the length field (never by
//! looking for the closing flag) and the outcome is checked against the manifest's own
//! `checks` (computed independently with CRC-16/X.25): intact frames parse with valid
//! HCS and FCS, decode to the manifest's length, addresses, control and S bit, and
//! re-encode byte for byte; truncated captures ask for more bytes; corrupt ones give the
//! typed error the manifest's checks predict; bytes after the last frame are counted.

use dlms::Codec;
use dlms::hdlc::transparency::remove_octet_stuffing;
use dlms::hdlc::{
    Control, FLAG, Frame, FrameErrorKind, FrameReader, HdlcAddress, HdlcClient, HdlcClientConfig, LinkEvent,
};
use serde_json::Value;

const HAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/han");

fn manifest() -> Value {
    let path = format!("{HAN}/manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn read_hex(file: &str) -> Vec<u8> {
    let path = format!("{HAN}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(digits).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn addr_hex(a: &HdlcAddress) -> String {
    let mut v = Vec::new();
    a.encode(&mut v);
    hex::encode(v)
}

fn hdlc_entries() -> Vec<Value> {
    manifest()["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["framing"].as_str().is_some_and(|s| s.starts_with("hdlc")))
        .cloned()
        .collect()
}

#[test]
fn every_hdlc_capture_matches_the_manifest_checks() {
    let entries = hdlc_entries();
    assert!(entries.len() >= 76, "manifest lists {} HDLC captures", entries.len());
    let mut intact_frames = 0;
    for entry in &entries {
        let file = entry["file"].as_str().unwrap();
        let checks = &entry["checks"];
        let mut bytes = read_hex(file);
        if entry["checks"]["note"].as_str().is_some_and(|n| n.contains("byte stuffing")) {
            let e = Frame::parse(&bytes).expect_err("a stuffed frame is not an IEC 62056-46 frame");
            assert!(matches!(e.kind, FrameErrorKind::ClosingFlag { .. } | FrameErrorKind::Fcs { .. }), "{file}: {e}");
            bytes = remove_octet_stuffing(&bytes).expect("unstuffed");
        }
        let mut rest: &[u8] = &bytes;
        for (i, expected) in checks["hdlc_frames"].as_array().unwrap().iter().enumerate() {
            let what = format!("{file} frame {i}");
            let length = usize::try_from(expected["hdlc_length"].as_u64().unwrap()).unwrap();
            assert_eq!(rest.first(), Some(&FLAG), "{what}: starts at a flag");
            let complete = rest.len() >= length + 2;
            let result = Frame::parse(rest);
            if expected["hcs_ok"] == false {
                let e = result.expect_err(&what);
                assert!(matches!(e.kind, FrameErrorKind::Hcs { .. }), "{what}: {e}");
                rest = &[];
                break;
            }
            if !complete {
                assert!(expected["fcs_ok"].is_null(), "{what}: manifest checked an FCS we cannot see");
                assert_eq!(result, Ok(None), "{what}: a truncated capture needs more bytes");
                rest = &[];
                break;
            }
            if expected["closing_flag"] == false {
                let e = result.expect_err(&what);
                assert!(matches!(e.kind, FrameErrorKind::ClosingFlag { .. }), "{what}: {e}");
                // The manifest counts what follows the frame's extent as left over.
                rest = &rest[length + 2..];
                break;
            }
            if expected["fcs_ok"] == false {
                let e = result.expect_err(&what);
                assert!(matches!(e.kind, FrameErrorKind::Fcs { .. }), "{what}: {e}");
                assert_eq!(e.discard, length + 1, "{what}: dropped up to the closing flag");
                rest = &rest[length + 2..];
                continue;
            }
            assert_eq!(expected["fcs_ok"], true, "{what}");
            let (frame, used) = result.unwrap_or_else(|e| panic!("{what}: {e}")).expect(&what);
            assert_eq!(used, length + 2, "{what}: used");
            assert_eq!(usize::from(frame.format().length), length, "{what}: length");
            assert_eq!(frame.segmented, expected["segmented"].as_bool().unwrap(), "{what}: S bit");
            assert_eq!(addr_hex(&frame.destination), expected["dest_addr"].as_str().unwrap(), "{what}: destination");
            assert_eq!(addr_hex(&frame.source), expected["src_addr"].as_str().unwrap(), "{what}: source");
            assert_eq!(
                format!("{:02X}", frame.control.to_byte()),
                expected["control"].as_str().unwrap(),
                "{what}: control"
            );
            let info = expected["info"].as_str().unwrap();
            if info.starts_with("LLC E6E700") {
                assert_eq!(frame.information.get(..3), Some(&[0xE6, 0xE7, 0x00][..]), "{what}: LLC");
            } else if info == "none" {
                assert!(frame.information.is_empty(), "{what}");
            }
            assert_eq!(frame.to_bytes(), &rest[..used], "{what}: re-encoding");
            intact_frames += 1;
            rest = &rest[used..];
        }
        if checks["bytes_after_last_frame"].as_u64().is_some_and(|n| n > 0) || !rest.is_empty() {
            assert_eq!(rest.len() as u64, checks["bytes_after_last_frame"].as_u64().unwrap(), "{file}: bytes left");
        }
    }
    assert!(intact_frames >= 60, "only {intact_frames} intact frames checked");
}

#[test]
fn flag_byte_inside_the_information_field_does_not_end_the_frame() {
    let bytes = read_hex("amshan/hdlc/frame_with_flag_sequence_character_in_info.hex");
    let (frame, used) = Frame::parse(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert!(frame.information.contains(&FLAG), "the capture has 0x7E inside its information field");
    assert_eq!(frame.format().length, 0x27);
    assert_eq!(frame.control, Control::I { ns: 0, nr: 0, poll_final: true });
}

#[test]
fn amshan_short_frames() {
    let (empty, _) = Frame::parse(&read_hex("amshan/hdlc/frame_empty_info.hex")).unwrap().unwrap();
    assert!(empty.information.is_empty());
    assert_eq!((empty.source.upper(), empty.source.lower()), (1, Some(0)));
    let (short, _) = Frame::parse(&read_hex("amshan/hdlc/frame_short_info.hex")).unwrap().unwrap();
    assert_eq!(short.information, [0x02, 0x01]);
    let stuffed = remove_octet_stuffing(&read_hex("amshan/hdlc/stuffed_frame_short_info.hex")).unwrap();
    let (unstuffed, _) = Frame::parse(&stuffed).unwrap().unwrap();
    assert_eq!(unstuffed.information, [0x7E, 0x7D, 0x03]);
    let escape = read_hex("amshan/hdlc/frame_with_escape_character_in_info.hex");
    let (frame, used) = Frame::parse(&escape).unwrap().unwrap();
    assert_eq!(used, escape.len());
    assert_eq!(frame.control, Control::Ui { poll_final: true });
}

#[test]
fn back_to_back_frames_through_the_stream_reader_in_small_chunks() {
    let bytes = read_hex("amsreader/landis-gyr/gh740.hex");
    for chunk in [1, 2, 7, 64, bytes.len()] {
        let mut reader = FrameReader::new();
        let mut frames = Vec::new();
        for piece in bytes.chunks(chunk) {
            reader.push(piece);
            while let Some(next) = reader.next_frame() {
                frames.push(next.expect("valid frame"));
            }
        }
        assert_eq!(frames.len(), 3, "chunk {chunk}");
        assert_eq!(frames.iter().map(|f| f.information.len()).collect::<Vec<_>>(), [132 - 10, 125 - 10, 138 - 10]);
        assert_eq!(frames[0].information.get(..4), Some(&[0xE6, 0xE7, 0x00, 0xE0][..]));
        assert_eq!(frames[1].information.first(), Some(&0xE0));
    }
    // The same frames sharing their flags (one flag closes a frame and opens the next).
    let shared: Vec<u8> = {
        let mut v = bytes.clone();
        while let Some(i) = v.windows(2).position(|w| w == [FLAG, FLAG]) {
            v.remove(i);
        }
        v
    };
    assert_eq!(shared.len(), bytes.len() - 2);
    let mut reader = FrameReader::new();
    reader.push(&shared);
    let frames: Vec<Frame> = std::iter::from_fn(|| reader.next_frame()).map(|r| r.expect("valid")).collect();
    assert_eq!(frames.len(), 3);
}

#[test]
fn a_client_link_reports_real_push_frames_as_unnumbered_information() {
    // Kamstrup pushes UI frames from address 0x21 (16) to 0x2B (21).
    let bytes = read_hex("amshan/kamstrup/se_list_real_sample_hdlc.hex");
    let config = HdlcClientConfig::new(HdlcAddress::client(21).unwrap(), HdlcAddress::one_byte(16).unwrap());
    let mut client = HdlcClient::new(config);
    for piece in bytes.chunks(10) {
        client.handle_bytes(0, piece);
    }
    let Some(LinkEvent::UnnumberedInformation(info)) = client.poll_event() else { panic!("a UI event") };
    assert_eq!(info.get(..4), Some(&[0xE6, 0xE7, 0x00, 0x0F][..]), "LLC + data-notification");
    assert_eq!(client.poll_event(), None);
    assert_eq!(client.poll_transmit(), None, "UI frames are not answered");
}
