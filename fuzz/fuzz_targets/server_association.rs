//! The server association state machine (IEC 62056-5-3 §7.3, §9.3):
//! `ServerAssociation::new(ServerConfig::public(), 16)` fed a sequence of arbitrary APDUs
//! (the input split into `op | length | payload` records, see `dlms_fuzz::records`; the
//! op byte is unused) against a COSEM object model that always returns the same value.
//! It must never panic, and:
//! * it answers each APDU with at most one APDU, and every APDU it sends decodes;
//! * an accepted AARE moves it to `Associated`, a rejecting AARE to `Idle`, an RLRE to
//!   `Released`; GET/SET/ACTION outside an association get an exception-response;
//! * once associated, nothing it sends exceeds the client max receive PDU size of the
//!   accepted AARQ, and responses to GET/SET/ACTION echo the request's invoke id;
//! * the raw-data blocks of a long GET (blocks 1..=n, last-block set on n) concatenate to
//!   the encoding of the value the object model returned.
#![no_main]

use dlms::Codec;
use dlms::Data;
use dlms::apdu::Apdu;
use dlms::association::{ServerAssociation, ServerConfig, ServerState};
use dlms::xdlms::{DataBlockGResult, GetResponse, XdlmsApdu};
use dlms_fuzz::fixed_server::{FixedServer, fixed_value};
use dlms_fuzz::records::Records;
use libfuzzer_sys::fuzz_target;

/// The public client SAP.
const CLIENT_SAP: u16 = 16;

/// A long GET being reassembled from the server's responses: the last block number seen
/// and the raw data so far.
type Reassembly = Option<(u32, Vec<u8>)>;

fn track_blocks(reassembly: &mut Reassembly, response: &XdlmsApdu) {
    let XdlmsApdu::GetResponse(GetResponse::WithDataBlock { result, .. }) = response else { return };
    let DataBlockGResult::RawData(raw) = &result.result else {
        *reassembly = None;
        return;
    };
    match reassembly.as_mut() {
        _ if result.block_number == 1 => *reassembly = Some((1, raw.clone())),
        Some((last, data)) if result.block_number == *last + 1 => {
            *last = result.block_number;
            data.extend_from_slice(raw);
        }
        _ => *reassembly = None,
    }
    if result.last_block
        && let Some((_, data)) = reassembly.take()
    {
        assert_eq!(Data::from_bytes(&data), Ok(fixed_value()), "reassembled long GET differs from the value");
    }
}

fuzz_target!(|input: &[u8]| {
    let mut server = FixedServer::default();
    let mut association = ServerAssociation::new(ServerConfig::public(), CLIENT_SAP);
    let mut client_max_pdu: Option<usize> = None;
    let mut reassembly: Reassembly = None;
    for record in Records::new(input) {
        let request = Apdu::from_bytes(record.payload).ok();
        let state_before = association.state();
        association.handle_apdu(record.payload, &mut server);
        let mut sent = Vec::new();
        while let Some(bytes) = association.poll_transmit() {
            sent.push(bytes);
        }
        assert!(sent.len() <= 1, "{} APDUs sent for one request", sent.len());
        let Some(bytes) = sent.pop() else { continue };
        let response = Apdu::from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("the server sent an undecodable APDU {bytes:02X?}: {e}"));
        let state = association.state();

        match (&request, &response) {
            (Some(Apdu::Aarq(aarq)), Apdu::Aare(aare)) if aare.is_accepted() => {
                assert_eq!(state, ServerState::Associated);
                let initiate = aarq.initiate_request().expect("accepted an AARQ without InitiateRequest");
                client_max_pdu = Some(match initiate.client_max_receive_pdu_size {
                    0 => usize::from(u16::MAX),
                    n => usize::from(n),
                });
                reassembly = None;
            }
            (Some(Apdu::Aarq(_)), Apdu::Aare(_)) => {
                assert_eq!(state, ServerState::Idle);
                client_max_pdu = None;
            }
            (_, Apdu::Aare(_)) => panic!("AARE sent in answer to {request:?}"),
            (Some(Apdu::Rlrq(_)), Apdu::Rlre(_)) => {
                assert_eq!(state_before, ServerState::Associated);
                assert_eq!(state, ServerState::Released);
                client_max_pdu = None;
            }
            (_, Apdu::Rlre(_)) => panic!("RLRE sent in answer to {request:?}"),
            (Some(Apdu::Xdlms(req)), Apdu::Xdlms(resp)) if req.is_request() => {
                if state != ServerState::Associated {
                    assert!(matches!(resp, XdlmsApdu::ExceptionResponse(_)), "{resp:?} sent outside an association");
                }
                if let (Some(a), Some(b)) = (req.invoke_id_and_priority(), resp.invoke_id_and_priority()) {
                    assert_eq!(a.invoke_id(), b.invoke_id(), "invoke id not echoed");
                }
                track_blocks(&mut reassembly, resp);
            }
            _ => {}
        }
        if state == ServerState::Associated {
            let max = client_max_pdu.expect("associated without an accepted AARQ");
            assert!(bytes.len() <= max, "sent {} bytes, client max receive PDU size is {max}", bytes.len());
        }
    }
});
