//! `dlms::apdu::Apdu` via `Codec::from_bytes`: every APDU gridedge knows (AARQ, AARE,
//! RLRQ, RLRE, ConfirmedServiceError, GET/SET/ACTION requests and responses,
//! exception-response, event- and data-notification). Never panics; a decoded APDU
//! round-trips (value and bytes) and `decode` consumes exactly its encoding.
#![no_main]

use dlms::Codec;
use dlms::apdu::Apdu;
use dlms::xdlms::XdlmsApdu;
use dlms_fuzz::roundtrip::{assert_same_value, codec_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(apdu) = Apdu::from_bytes(input) else { return };
    let _ = apdu.kind();
    match &apdu {
        Apdu::Aarq(a) => {
            let _ = a.initiate_request();
            let _ = a.application_context_name.to_string();
            let _ = a.mechanism_name.as_ref().map(ToString::to_string);
        }
        Apdu::Aare(a) => {
            let _ = (a.is_accepted(), a.initiate_response());
            let _ = (a.result.to_string(), a.result_source_diagnostic.to_string());
        }
        Apdu::Rlrq(r) => {
            let _ = r.reason.map(|x| x.to_string());
        }
        Apdu::Rlre(r) => {
            let _ = r.reason.map(|x| x.to_string());
        }
        Apdu::ConfirmedServiceError(e) => {
            let _ = e.to_string();
        }
        Apdu::Xdlms(x) => {
            assert_eq!(Some(x.tag()), input.first().copied());
            let _ = (x.invoke_id_and_priority(), x.is_request());
            match XdlmsApdu::from_bytes(input) {
                Ok(direct) => assert_same_value(&direct, x, input),
                Err(e) => panic!("XdlmsApdu refused what Apdu decoded as {x:?}: {e}"),
            }
        }
    }
    codec_round_trip(&apdu);
});
