//! The xDLMS `InitiateRequest` / `InitiateResponse` (IEC 62056-5-3 §9.3.2) and the
//! user-information dispatcher `UserInformation::from_apdu_bytes` that carries them in
//! the AARQ/AARE. Never panics; each decoded value round-trips, and the dispatcher gives
//! the same value as the direct decoder.
#![no_main]

use dlms::Codec;
use dlms::acse::UserInformation;
use dlms::xdlms::{Conformance, InitiateRequest, InitiateResponse};
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(req) = InitiateRequest::from_bytes(input) {
        let _ = (req.proposed_conformance.to_string(), req.proposed_conformance.names());
        codec_round_trip(&req);
        assert_eq!(UserInformation::from_apdu_bytes(input), Ok(UserInformation::InitiateRequest(req)));
    }
    if let Ok(resp) = InitiateResponse::from_bytes(input) {
        let _ = (resp.negotiated_conformance.to_string(), format!("{:?}", resp.negotiated_conformance));
        codec_round_trip(&resp);
        assert_eq!(UserInformation::from_apdu_bytes(input), Ok(UserInformation::InitiateResponse(resp)));
    }
    if let Ok(ui) = UserInformation::from_apdu_bytes(input) {
        let bytes = ui.apdu_bytes();
        assert_eq!(UserInformation::from_apdu_bytes(&bytes).as_ref(), Ok(&ui), "user-information round trip");
        let _ = ui.conformance();
    }
    if let Ok(c) = Conformance::from_bytes(input) {
        let _ = (c.to_string(), c.names());
        codec_round_trip(&c);
    }
});
