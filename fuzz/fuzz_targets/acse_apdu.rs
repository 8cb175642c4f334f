//! `dlms::acse::AcseApdu::from_bytes`: AARQ, AARE, RLRQ, RLRE (BER, IEC 62056-5-3 §9.4).
//! Never panics; a decoded APDU round-trips (the decoder is tolerant, so only
//! decode(encode(v)) == v is required, not encode(decode(x)) == x); the Display impls of
//! its parts are total.
#![no_main]

use dlms::Codec;
use dlms::acse::AcseApdu;
use dlms::apdu::Apdu;
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(apdu) = AcseApdu::from_bytes(input) else { return };
    let user_information = match &apdu {
        AcseApdu::Aarq(a) => {
            let _ = (a.application_context_name.to_string(), a.application_context_name.oid().to_string());
            let _ = (a.application_context_name.is_logical_name(), a.application_context_name.is_ciphered());
            let _ = a.mechanism_name.as_ref().map(|m| (m.to_string(), m.oid().to_string(), m.is_hls()));
            let _ = a.calling_authentication_value.as_ref().map(|v| v.as_bytes());
            &a.user_information
        }
        AcseApdu::Aare(a) => {
            let _ = (a.result.to_string(), a.result_source_diagnostic.to_string(), a.is_accepted());
            let _ = a.mechanism_name.as_ref().map(|m| (m.to_string(), m.oid().to_string()));
            &a.user_information
        }
        AcseApdu::Rlrq(r) => {
            let _ = r.reason.map(|x| x.to_string());
            &r.user_information
        }
        AcseApdu::Rlre(r) => {
            let _ = r.reason.map(|x| x.to_string());
            &r.user_information
        }
    };
    if let Some(ui) = user_information {
        let _ = (ui.conformance().map(|c| c.to_string()), ui.initiate_request(), ui.initiate_response());
        let bytes = ui.apdu_bytes();
        let again = dlms::acse::UserInformation::from_apdu_bytes(&bytes);
        assert_eq!(again.as_ref(), Ok(ui), "user-information does not round-trip through its APDU bytes");
    }
    let as_apdu = Apdu::from_bytes(input).expect("Apdu::from_bytes refused an ACSE APDU");
    let expected = match apdu.clone() {
        AcseApdu::Aarq(a) => Apdu::Aarq(a),
        AcseApdu::Aare(a) => Apdu::Aare(a),
        AcseApdu::Rlrq(a) => Apdu::Rlrq(a),
        AcseApdu::Rlre(a) => Apdu::Rlre(a),
    };
    assert_eq!(as_apdu, expected, "AcseApdu and Apdu disagree");
    codec_round_trip(&apdu);
});
