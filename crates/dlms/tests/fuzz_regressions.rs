//! Inputs that crashed the cargo-fuzz targets (fuzz/seeds/*/crash-*), kept as regression
//! tests so the fixes stay: each must now decode to a typed error or an answer, never a
//! panic.

use dlms::Codec;
use dlms::association::{CosemServer, RequestContext, ServerAssociation, ServerConfig};
use dlms::data::Data;
use dlms::xdlms::{
    ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, DataBlockGResult, GetResponse,
    SelectiveAccess, XdlmsApdu,
};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A compact-array whose element type nests arrays of 0xFFFF elements: the minimum-size
/// computation used to overflow (data.rs, `min_encoded_size`). With empty contents
/// (length 0) it is a valid, empty compact-array; with one content byte it is an error.
#[test]
fn compact_array_with_huge_nested_type_decodes_without_overflow() {
    let input = unhex("13020201ffff01ffff01ffff01ffff191100");
    match Data::from_bytes(&input).unwrap() {
        Data::CompactArray(_, elements) => assert!(elements.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(Data::from_bytes(&unhex("13020201ffff01ffff01ffff01ffff19110100")).is_err());
}

struct Fixed;

impl CosemServer for Fixed {
    fn get(
        &mut self,
        _: &RequestContext,
        _: &CosemAttributeDescriptor,
        _: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        Ok(Data::OctetString(vec![0x55; 320]))
    }
    fn set(
        &mut self,
        _: &RequestContext,
        _: &CosemAttributeDescriptor,
        _: Option<&SelectiveAccess>,
        _: &Data,
    ) -> DataAccessResult {
        DataAccessResult::Success
    }
    fn action(
        &mut self,
        _: &RequestContext,
        _: &CosemMethodDescriptor,
        _: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        Ok(None)
    }
}

/// get-request-next with block number 0xFFFFFFFF used to overflow `block_number + 1`
/// in the server (both the "no long GET" and the "long GET aborted" branches).
#[test]
fn get_next_with_the_largest_block_number_is_answered() {
    let aarq = unhex("601da109060760857405080101be10040e01000000065f1f0400001e1d0000");
    for prelude in [None, Some(unhex("c001c1000100002b0100ff0200"))] {
        let mut s = ServerAssociation::new(ServerConfig { max_receive_pdu_size: 1024, ..ServerConfig::public() }, 16);
        // A client max PDU of 0x0040 (64 bytes) makes the 320-byte value a long GET.
        let mut aarq = aarq.clone();
        let n = aarq.len();
        aarq[n - 2..].copy_from_slice(&[0x00, 0x40]);
        s.handle_apdu(&aarq, &mut Fixed);
        assert!(s.poll_transmit().is_some());
        if let Some(get) = &prelude {
            s.handle_apdu(get, &mut Fixed);
            while s.poll_transmit().is_some() {}
        }
        s.handle_apdu(&unhex("c002c1ffffffff"), &mut Fixed);
        let reply = XdlmsApdu::from_bytes(&s.poll_transmit().expect("an answer")).unwrap();
        let XdlmsApdu::GetResponse(GetResponse::WithDataBlock { result, .. }) = reply else { panic!("{reply:?}") };
        assert!(matches!(result.result, DataBlockGResult::DataAccessResult(_)));
    }
}
