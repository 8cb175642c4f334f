//! Known-answer tests: every `acse/encoding` vector and the two Initiate vectors of
//! `shared/testdata/dlms/vectors.json` (Green Book examples as used by u9n/dlms-cosem).
//! Each vector is decoded, the fields its `expected` block lists are checked against
//! values written here from that block, and the value is re-encoded byte-identically.

use std::collections::BTreeSet;

use dlms::acse::{Aare, Aarq, Rlrq};
use dlms::acse::{
    AcseApdu, AcseRequirements, AcseServiceUserDiagnostic, ApplicationContextName, AssociateSourceDiagnostic,
    AssociationResult, AuthenticationValue, MechanismName, ReleaseRequestReason, UserInformation,
};
use dlms::xdlms::{ConfirmedService, Conformance, InitiateError, InitiateRequest, InitiateResponse, ServiceError};
use dlms::{Codec, DecodeError};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/dlms/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let json: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    json["vectors"].as_array().expect("vectors array").clone()
}

fn vector(id: &str) -> Value {
    vectors().into_iter().find(|v| v["id"] == id).unwrap_or_else(|| panic!("vector {id} missing"))
}

fn hex_field(v: &Value, section: &str, field: &str) -> Vec<u8> {
    let s = v[section][field].as_str().unwrap_or_else(|| panic!("{section}.{field} missing in {}", v["id"]));
    hex::decode(s).expect("hex")
}

fn encoded(id: &str) -> Vec<u8> {
    hex_field(&vector(id), "inputs", "encoded")
}

/// Decodes and checks that re-encoding gives the same bytes.
fn decode_round_trip<T: Codec + std::fmt::Debug>(bytes: &[u8]) -> T {
    let value = T::from_bytes(bytes).unwrap_or_else(|e| panic!("decode failed: {e}"));
    assert_eq!(hex::encode_upper(value.to_bytes()), hex::encode_upper(bytes), "re-encoding differs for {value:?}");
    value
}

/// Every vector of the categories this file covers must have a test below.
#[test]
fn every_acse_vector_is_covered() {
    let covered: BTreeSet<&str> = [
        "aarq-no-security",
        "aarq-lls",
        "aarq-hls-gmac",
        "aarq-hls-mechanism2",
        "aarq-ciphered-lls",
        "aare-accepted",
        "aare-rejected-app-context",
        "aare-rejected-dlms-version",
        "aare-hls-gmac-challenge",
        "rlrq-normal",
    ]
    .into_iter()
    .collect();
    let in_file: BTreeSet<String> = vectors()
        .iter()
        .filter(|v| v["category"] == "acse/encoding")
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect();
    let in_file: BTreeSet<&str> = in_file.iter().map(String::as_str).collect();
    assert_eq!(in_file, covered);
}

#[test]
fn xdlms_initiate_request_plain() {
    let req: InitiateRequest = decode_round_trip(&encoded("xdlms-initiate-request-plain"));
    assert_eq!(req.dedicated_key, None);
    assert!(req.response_allowed);
    assert_eq!(req.proposed_quality_of_service, None);
    assert_eq!(req.proposed_dlms_version_number, 6);
    assert_eq!(req.proposed_conformance.to_array(), [0x00, 0x7E, 0x1F]);
    assert_eq!(req.client_max_receive_pdu_size, 1200);
    // the builder produces the same bytes
    assert_eq!(
        InitiateRequest::new(Conformance::LN_CLIENT_DEFAULT, 1200).to_bytes(),
        encoded("xdlms-initiate-request-plain")
    );
}

#[test]
fn xdlms_initiate_response() {
    let resp: InitiateResponse = decode_round_trip(&encoded("xdlms-initiate-response"));
    assert_eq!(resp.negotiated_quality_of_service, None);
    assert_eq!(resp.negotiated_dlms_version_number, 6);
    assert_eq!(resp.negotiated_conformance.to_array(), [0x00, 0x50, 0x1F]);
    let c = resp.negotiated_conformance;
    for bit in [
        Conformance::PRIORITY_MGMT_SUPPORTED,
        Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ,
        Conformance::GET,
        Conformance::SET,
        Conformance::SELECTIVE_ACCESS,
        Conformance::EVENT_NOTIFICATION,
        Conformance::ACTION,
    ] {
        assert!(c.contains(bit), "{bit:?} missing from {c}");
    }
    assert!(!c.contains(Conformance::MULTIPLE_REFERENCES));
    assert_eq!(resp.server_max_receive_pdu_size, 500);
    assert_eq!(resp.vaa_name, 0x0007);
    let built = InitiateResponse::new(
        Conformance::PRIORITY_MGMT_SUPPORTED
            | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
            | Conformance::GET
            | Conformance::SET
            | Conformance::SELECTIVE_ACCESS
            | Conformance::EVENT_NOTIFICATION
            | Conformance::ACTION,
        500,
    );
    assert_eq!(built, resp);
}

/// The plaintext of the ciphered-AARQ vector: an InitiateRequest with a dedicated key.
#[test]
fn initiate_request_with_dedicated_key_from_gcm_vector() {
    let v = vector("gcm-suite0-glo-initiate-request");
    let req: InitiateRequest = decode_round_trip(&hex_field(&v, "inputs", "plaintext"));
    assert_eq!(req.dedicated_key, Some(hex::decode("00112233445566778899AABBCCDDEEFF").unwrap()));
    assert!(req.response_allowed);
    assert_eq!(req.proposed_dlms_version_number, 6);
    assert_eq!(req.proposed_conformance.to_array(), [0x00, 0x7E, 0x1F]);
    assert_eq!(req.client_max_receive_pdu_size, 1200);
}

#[test]
fn aarq_no_security() {
    let aarq: Aarq = decode_round_trip(&encoded("aarq-no-security"));
    assert_eq!(aarq.application_context_name, ApplicationContextName::LogicalNameNoCiphering);
    assert_eq!(aarq.application_context_name.oid().to_string(), "2.16.756.5.8.1.1");
    assert_eq!(aarq.mechanism_name, None);
    assert_eq!(aarq.calling_authentication_value, None);
    assert_eq!(aarq.sender_acse_requirements, None);
    let ini = aarq.initiate_request().expect("plain InitiateRequest");
    assert_eq!(ini.proposed_conformance.to_array(), [0x00, 0x1E, 0x1D]);
    assert_eq!(ini.client_max_receive_pdu_size, 65535);
    assert_eq!(ini.proposed_dlms_version_number, 6);
    assert_eq!(ini.dedicated_key, None);
    // the builder gives the same APDU
    let built = Aarq::no_authentication(InitiateRequest::new(Conformance::from_array([0x00, 0x1E, 0x1D]), 0xFFFF));
    assert_eq!(built, aarq);
}

#[test]
fn aarq_lls() {
    let bytes = encoded("aarq-lls");
    let aarq: Aarq = decode_round_trip(&bytes);
    assert_eq!(aarq.application_context_name, ApplicationContextName::LogicalNameNoCiphering);
    assert_eq!(aarq.sender_acse_requirements, Some(AcseRequirements { authentication: true }));
    assert_eq!(aarq.mechanism_name, Some(MechanismName::Lls));
    assert_eq!(aarq.mechanism_name.as_ref().map(|m| m.oid().to_string()), Some("2.16.756.5.8.2.1".into()));
    assert_eq!(aarq.calling_authentication_value, Some(AuthenticationValue::CharString(b"12345678".to_vec())));
    let built = Aarq::low_level_security(b"12345678", InitiateRequest::new(Conformance::LN_CLIENT_DEFAULT, 1200));
    assert_eq!(built.to_bytes(), bytes);
}

#[test]
fn aarq_hls_gmac() {
    let bytes = encoded("aarq-hls-gmac");
    let aarq: Aarq = decode_round_trip(&bytes);
    assert_eq!(aarq.mechanism_name, Some(MechanismName::HlsGmac));
    assert_eq!(aarq.mechanism_name.as_ref().and_then(MechanismName::id), Some(5));
    assert_eq!(
        aarq.calling_authentication_value.as_ref().and_then(AuthenticationValue::as_bytes),
        Some(&b"K56iVagY"[..])
    );
    let built = Aarq::high_level_security(
        MechanismName::HlsGmac,
        b"K56iVagY".to_vec(),
        InitiateRequest::new(Conformance::LN_CLIENT_DEFAULT, 1200),
    );
    assert_eq!(built.to_bytes(), bytes);
}

#[test]
fn aarq_hls_mechanism2() {
    let aarq: Aarq = decode_round_trip(&encoded("aarq-hls-mechanism2"));
    assert_eq!(aarq.mechanism_name, Some(MechanismName::Hls));
    assert_eq!(aarq.calling_authentication_value, Some(AuthenticationValue::CharString(b"12345678".to_vec())));
    assert_eq!(aarq.initiate_request().map(|i| i.client_max_receive_pdu_size), Some(65535));
}

#[test]
fn aarq_ciphered_lls() {
    let aarq: Aarq = decode_round_trip(&encoded("aarq-ciphered-lls"));
    assert_eq!(aarq.application_context_name, ApplicationContextName::LogicalNameWithCiphering);
    assert_eq!(aarq.application_context_name.oid().to_string(), "2.16.756.5.8.1.3");
    assert_eq!(aarq.calling_ap_title, Some(hex::decode("4D4D4D0000BC614E").unwrap()));
    assert_eq!(aarq.mechanism_name, Some(MechanismName::Lls));
    assert_eq!(aarq.calling_authentication_value, Some(AuthenticationValue::CharString(b"12345678".to_vec())));
    // the user-information is the glo-initiateRequest of the AES-GCM vector, kept raw
    let glo = hex_field(&vector("gcm-suite0-glo-initiate-request"), "expected", "glo_initiate_request_apdu");
    assert_eq!(aarq.user_information, Some(UserInformation::Ciphered(glo)));
    assert_eq!(aarq.initiate_request(), None);
}

#[test]
fn aare_accepted() {
    let bytes = encoded("aare-accepted");
    let aare: Aare = decode_round_trip(&bytes);
    assert_eq!(aare.result, AssociationResult::Accepted);
    assert!(aare.is_accepted());
    assert_eq!(aare.result_source_diagnostic, AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::Null));
    assert_eq!(aare.initiate_response().map(|i| i.server_max_receive_pdu_size), Some(500));
    let built = Aare::accepted(
        ApplicationContextName::LogicalNameNoCiphering,
        InitiateResponse::new(Conformance::from_array([0x00, 0x50, 0x1F]), 500),
    );
    assert_eq!(built.to_bytes(), bytes);
}

#[test]
fn aare_rejected_app_context() {
    let aare: Aare = decode_round_trip(&encoded("aare-rejected-app-context"));
    assert_eq!(aare.result, AssociationResult::RejectedPermanent);
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::ApplicationContextNameNotSupported)
    );
    assert_eq!(
        aare.result_source_diagnostic.to_string(),
        "acse-service-user: application-context-name-not-supported (2)"
    );
}

#[test]
fn aare_rejected_dlms_version() {
    let bytes = encoded("aare-rejected-dlms-version");
    let aare: Aare = decode_round_trip(&bytes);
    assert_eq!(aare.result, AssociationResult::RejectedPermanent);
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::NoReasonGiven)
    );
    let Some(UserInformation::ConfirmedServiceError(err)) = aare.user_information else {
        panic!("expected a ConfirmedServiceError, got {:?}", aare.user_information);
    };
    assert_eq!(err.service, ConfirmedService::InitiateError);
    assert_eq!(err.error, ServiceError::Initiate(InitiateError::DlmsVersionTooLow));
    assert_eq!(err.to_string(), "initiateError (initiate: dlms-version-too-low)");
    let built =
        Aare::initiate_refused(ApplicationContextName::LogicalNameNoCiphering, InitiateError::DlmsVersionTooLow);
    assert_eq!(built.to_bytes(), bytes);
}

#[test]
fn aare_hls_gmac_challenge() {
    let bytes = encoded("aare-hls-gmac-challenge");
    let aare: Aare = decode_round_trip(&bytes);
    assert_eq!(aare.result, AssociationResult::Accepted);
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationRequired)
    );
    assert_eq!(aare.mechanism_name, Some(MechanismName::HlsGmac));
    assert_eq!(aare.responder_acse_requirements, Some(AcseRequirements { authentication: true }));
    assert_eq!(aare.responding_authentication_value, Some(AuthenticationValue::CharString(b"P6wRJ21F".to_vec())));
    let built = Aare::authentication_required(
        ApplicationContextName::LogicalNameNoCiphering,
        MechanismName::HlsGmac,
        b"P6wRJ21F".to_vec(),
        InitiateResponse::new(Conformance::from_array([0x00, 0x50, 0x1F]), 500),
    );
    assert_eq!(built.to_bytes(), bytes);
}

#[test]
fn rlrq_normal() {
    let bytes = encoded("rlrq-normal");
    let rlrq: Rlrq = decode_round_trip(&bytes);
    assert_eq!(rlrq.reason, Some(ReleaseRequestReason::Normal));
    assert_eq!(rlrq.user_information, None);
    assert_eq!(Rlrq::normal().to_bytes(), bytes);
}

/// The ACSE dispatcher picks the right APDU type for each vector.
#[test]
fn acse_apdu_dispatch() {
    assert!(matches!(AcseApdu::from_bytes(&encoded("aarq-lls")), Ok(AcseApdu::Aarq(_))));
    assert!(matches!(AcseApdu::from_bytes(&encoded("aare-accepted")), Ok(AcseApdu::Aare(_))));
    assert!(matches!(AcseApdu::from_bytes(&encoded("rlrq-normal")), Ok(AcseApdu::Rlrq(_))));
    assert!(matches!(
        AcseApdu::from_bytes(&encoded("xdlms-initiate-response")),
        Err(DecodeError::UnknownTag { tag: 0x08, .. })
    ));
}
