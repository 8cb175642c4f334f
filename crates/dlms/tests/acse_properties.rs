//! Property and negative tests of the ACSE APDUs (AARQ, AARE, RLRQ, RLRE) and the xDLMS
//! InitiateRequest, InitiateResponse and ConfirmedServiceError: round trips, strict
//! prefixes are errors, arbitrary and mutated input never panics, and hand-made
//! malformed APDUs give the documented typed errors.

use dlms::acse::{
    Aare, Aarq, AcseApdu, AcseRequirements, AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic,
    ApplicationContextName, AssociateSourceDiagnostic, AssociationResult, AuthenticationValue, MechanismName,
    ObjectIdentifier, ReleaseRequestReason, ReleaseResponseReason, Rlre, Rlrq, UserInformation,
};
use dlms::data::BitString;
use dlms::xdlms::service_error::{
    AccessError, ApplicationReferenceError, DefinitionError, HardwareResourceError, LoadDataSetError, ServiceProblem,
    TaskError, VdeStateError,
};
use dlms::xdlms::{
    ConfirmedService, ConfirmedServiceError, Conformance, InitiateError, InitiateRequest, InitiateResponse,
    ServiceError,
};
use dlms::{Codec, DecodeError};
use proptest::prelude::*;

// ---------------------------------------------------------------- strategies

fn conformance() -> impl Strategy<Value = Conformance> {
    any::<u32>().prop_map(Conformance::from_bits)
}

fn initiate_request() -> impl Strategy<Value = InitiateRequest> {
    (
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        any::<bool>(),
        prop::option::of(any::<i8>()),
        any::<u8>(),
        conformance(),
        any::<u16>(),
    )
        .prop_map(|(dedicated_key, response_allowed, qos, version, conformance, pdu)| InitiateRequest {
            dedicated_key,
            response_allowed,
            proposed_quality_of_service: qos,
            proposed_dlms_version_number: version,
            proposed_conformance: conformance,
            client_max_receive_pdu_size: pdu,
        })
}

fn initiate_response() -> impl Strategy<Value = InitiateResponse> {
    (prop::option::of(any::<i8>()), any::<u8>(), conformance(), any::<u16>(), any::<i16>()).prop_map(
        |(qos, version, conformance, pdu, vaa_name)| InitiateResponse {
            negotiated_quality_of_service: qos,
            negotiated_dlms_version_number: version,
            negotiated_conformance: conformance,
            server_max_receive_pdu_size: pdu,
            vaa_name,
        },
    )
}

/// Any defined `ServiceError`: a CHOICE index 0..=10 and a value valid for it.
fn service_error() -> impl Strategy<Value = ServiceError> {
    (0u8..=10, any::<u8>()).prop_map(|(kind, raw)| {
        let pick = |n: u8| raw % n;
        match kind {
            0 => ServiceError::ApplicationReference(ApplicationReferenceError::from_u8(pick(7)).unwrap()),
            1 => ServiceError::HardwareResource(HardwareResourceError::from_u8(pick(5)).unwrap()),
            2 => ServiceError::VdeStateError(VdeStateError::from_u8(pick(5)).unwrap()),
            3 => ServiceError::Service(ServiceProblem::from_u8(pick(3)).unwrap()),
            4 => ServiceError::Definition(DefinitionError::from_u8(pick(4)).unwrap()),
            5 => ServiceError::Access(AccessError::from_u8(pick(5)).unwrap()),
            6 => ServiceError::Initiate(InitiateError::from_u8(pick(5)).unwrap()),
            7 => ServiceError::LoadDataSet(LoadDataSetError::from_u8(pick(8)).unwrap()),
            8 => ServiceError::ChangeScope(raw),
            9 => ServiceError::Task(TaskError::from_u8(pick(5)).unwrap()),
            _ => ServiceError::Other(raw),
        }
    })
}

fn confirmed_service_error() -> impl Strategy<Value = ConfirmedServiceError> {
    (1u8..=19, service_error()).prop_map(|(service, error)| ConfirmedServiceError {
        service: ConfirmedService::from_u8(service).unwrap(),
        error,
    })
}

fn user_information() -> impl Strategy<Value = UserInformation> {
    prop_oneof![
        initiate_request().prop_map(UserInformation::InitiateRequest),
        initiate_response().prop_map(UserInformation::InitiateResponse),
        confirmed_service_error().prop_map(UserInformation::ConfirmedServiceError),
        (prop::sample::select(vec![0x21u8, 0x28, 0x2E, 0xDB, 0xDC, 0xDD]), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(tag, rest)| {
                let mut v = vec![tag];
                v.extend(rest);
                UserInformation::Ciphered(v)
            }),
    ]
}

/// An OID outside the DLMS UA arc (so it never decodes to a named variant).
fn foreign_oid() -> impl Strategy<Value = ObjectIdentifier> {
    (0u64..=1, 0u64..40, prop::collection::vec(any::<u64>(), 0..6))
        .prop_map(|(a, b, rest)| ObjectIdentifier::from_arcs(&[&[a, b][..], &rest[..]].concat()).unwrap())
}

fn context_name() -> impl Strategy<Value = ApplicationContextName> {
    prop_oneof![
        Just(ApplicationContextName::LogicalNameNoCiphering),
        Just(ApplicationContextName::ShortNameNoCiphering),
        Just(ApplicationContextName::LogicalNameWithCiphering),
        Just(ApplicationContextName::ShortNameWithCiphering),
        foreign_oid().prop_map(ApplicationContextName::Other),
        // a DLMS UA application context id the standard does not define
        (5u8..=127).prop_map(|id| ApplicationContextName::Other(ObjectIdentifier::dlms_ua(1, id))),
    ]
}

fn mechanism_name() -> impl Strategy<Value = MechanismName> {
    prop_oneof![
        (0u8..=7).prop_map(|id| MechanismName::from_id(id).unwrap()),
        foreign_oid().prop_map(MechanismName::Other),
        (8u8..=127).prop_map(|id| MechanismName::Other(ObjectIdentifier::dlms_ua(2, id))),
    ]
}

fn bit_string() -> impl Strategy<Value = BitString> {
    prop::collection::vec(any::<bool>(), 0..40).prop_map(|b| BitString::from_bools(&b))
}

fn authentication_value() -> impl Strategy<Value = AuthenticationValue> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(AuthenticationValue::CharString),
        bit_string().prop_map(AuthenticationValue::BitString),
        // external [2] (constructed) and other [3]
        (prop::sample::select(vec![0xA2u8, 0x83, 0xA3]), prop::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(identifier, content)| AuthenticationValue::Other { identifier, content }),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn acse_requirements() -> impl Strategy<Value = AcseRequirements> {
    any::<bool>().prop_map(|authentication| AcseRequirements { authentication })
}

fn aarq() -> impl Strategy<Value = Aarq> {
    let titles = (
        prop::option::of(bytes(20)),
        prop::option::of(bytes(20)),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        prop::option::of(bytes(20)),
        prop::option::of(bytes(300)),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
    );
    let rest = (
        prop::option::of(bit_string()),
        context_name(),
        prop::option::of(acse_requirements()),
        prop::option::of(mechanism_name()),
        prop::option::of(authentication_value()),
        prop::option::of(bytes(300)),
        prop::option::of(user_information()),
    );
    (titles, rest).prop_map(|(t, r)| Aarq {
        protocol_version: r.0,
        application_context_name: r.1,
        called_ap_title: t.0,
        called_ae_qualifier: t.1,
        called_ap_invocation_id: t.2,
        called_ae_invocation_id: t.3,
        calling_ap_title: t.4,
        calling_ae_qualifier: t.5,
        calling_ap_invocation_id: t.6,
        calling_ae_invocation_id: t.7,
        sender_acse_requirements: r.2,
        mechanism_name: r.3,
        calling_authentication_value: r.4,
        implementation_information: r.5,
        user_information: r.6,
    })
}

fn association_result() -> impl Strategy<Value = AssociationResult> {
    prop_oneof![
        Just(AssociationResult::Accepted),
        Just(AssociationResult::RejectedPermanent),
        Just(AssociationResult::RejectedTransient),
    ]
}

fn diagnostic() -> impl Strategy<Value = AssociateSourceDiagnostic> {
    prop_oneof![
        (0i64..=14)
            .prop_map(|v| AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::from_value(v).unwrap())),
        (0i64..=2).prop_map(|v| {
            AssociateSourceDiagnostic::ServiceProvider(AcseServiceProviderDiagnostic::from_value(v).unwrap())
        }),
    ]
}

fn aare() -> impl Strategy<Value = Aare> {
    let titles = (
        prop::option::of(bytes(20)),
        prop::option::of(bytes(300)),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
    );
    let rest = (
        prop::option::of(bit_string()),
        context_name(),
        association_result(),
        diagnostic(),
        prop::option::of(acse_requirements()),
        prop::option::of(mechanism_name()),
        prop::option::of(authentication_value()),
        prop::option::of(bytes(300)),
        prop::option::of(user_information()),
    );
    (titles, rest).prop_map(|(t, r)| Aare {
        protocol_version: r.0,
        application_context_name: r.1,
        result: r.2,
        result_source_diagnostic: r.3,
        responding_ap_title: t.0,
        responding_ae_qualifier: t.1,
        responding_ap_invocation_id: t.2,
        responding_ae_invocation_id: t.3,
        responder_acse_requirements: r.4,
        mechanism_name: r.5,
        responding_authentication_value: r.6,
        implementation_information: r.7,
        user_information: r.8,
    })
}

fn rlrq() -> impl Strategy<Value = Rlrq> {
    (
        prop::option::of(prop::sample::select(vec![
            ReleaseRequestReason::Normal,
            ReleaseRequestReason::Urgent,
            ReleaseRequestReason::UserDefined,
        ])),
        prop::option::of(user_information()),
    )
        .prop_map(|(reason, user_information)| Rlrq { reason, user_information })
}

fn rlre() -> impl Strategy<Value = Rlre> {
    (
        prop::option::of(prop::sample::select(vec![
            ReleaseResponseReason::Normal,
            ReleaseResponseReason::NotFinished,
            ReleaseResponseReason::UserDefined,
        ])),
        prop::option::of(user_information()),
    )
        .prop_map(|(reason, user_information)| Rlre { reason, user_information })
}

fn acse_apdu() -> impl Strategy<Value = AcseApdu> {
    prop_oneof![
        aarq().prop_map(AcseApdu::Aarq),
        aare().prop_map(AcseApdu::Aare),
        rlrq().prop_map(AcseApdu::Rlrq),
        rlre().prop_map(AcseApdu::Rlre),
    ]
}

// ---------------------------------------------------------------- helpers

fn assert_round_trip<T: Codec + PartialEq + std::fmt::Debug>(v: &T) -> Result<(), TestCaseError> {
    let bytes = v.to_bytes();
    let back = T::from_bytes(&bytes);
    prop_assert_eq!(back.as_ref(), Ok(v), "bytes {}", hex::encode_upper(&bytes));
    Ok(())
}

fn assert_prefixes_fail<T: Codec + std::fmt::Debug>(v: &T) -> Result<(), TestCaseError> {
    let bytes = v.to_bytes();
    for n in 0..bytes.len() {
        let r = T::from_bytes(&bytes[..n]);
        prop_assert!(r.is_err(), "prefix of {} bytes of {} decoded: {:?}", n, hex::encode_upper(&bytes), r);
    }
    Ok(())
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn initiate_request_round_trip(v in initiate_request()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn initiate_response_round_trip(v in initiate_response()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn confirmed_service_error_round_trip(v in confirmed_service_error()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn aarq_round_trip(v in aarq()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn aare_round_trip(v in aare()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn rlrq_round_trip(v in rlrq()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn rlre_round_trip(v in rlre()) {
        assert_round_trip(&v)?;
        assert_prefixes_fail(&v)?;
    }

    #[test]
    fn acse_apdu_round_trip(v in acse_apdu()) {
        assert_round_trip(&v)?;
    }

    /// Decoding arbitrary bytes returns (Ok or a typed error) and never panics.
    #[test]
    fn random_bytes_never_panic(tag in prop::sample::select(vec![0x60u8, 0x61, 0x62, 0x63, 0x01, 0x08, 0x0E]),
                                rest in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut input = vec![tag];
        input.extend(rest);
        let _ = AcseApdu::from_bytes(&input);
        let _ = Aarq::from_bytes(&input);
        let _ = Aare::from_bytes(&input);
        let _ = Rlrq::from_bytes(&input);
        let _ = Rlre::from_bytes(&input);
        let _ = InitiateRequest::from_bytes(&input);
        let _ = InitiateResponse::from_bytes(&input);
        let _ = ConfirmedServiceError::from_bytes(&input);
        let _ = UserInformation::from_apdu_bytes(&input);
    }

    /// Valid APDUs with one byte changed decode or fail with a typed error, never
    /// panic; and whatever decodes re-encodes to something that decodes to the same.
    #[test]
    fn mutated_apdus_never_panic(v in acse_apdu(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = v.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = AcseApdu::from_bytes(&bytes) {
            prop_assert_eq!(AcseApdu::from_bytes(&decoded.to_bytes()), Ok(decoded));
        }
    }
}

// ---------------------------------------------------------------- negative and tolerance tests

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// AARQ of the `aarq-no-security` vector, split for editing.
const AARQ_CONTEXT: &str = "A109060760857405080101";
const AARQ_USER_INFO: &str = "BE10040E01000000065F1F0400001E1DFFFF";

fn aarq_with(content: &str) -> Vec<u8> {
    let content = hex(content);
    let mut v = vec![0x60];
    dlms::codec::put_length(&mut v, content.len());
    v.extend(content);
    v
}

#[test]
fn unknown_aarq_elements_are_skipped() {
    let plain = Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT}{AARQ_USER_INFO}"))).unwrap();
    // [13] (unused by ACSE), a high-tag-number element [40] and a universal NULL
    let with_unknown =
        Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT} AD0280 00 9F2802AAAA {AARQ_USER_INFO} 0500"))).unwrap();
    assert_eq!(with_unknown, plain);
}

#[test]
fn aarq_fields_in_any_order() {
    let plain = Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT}{AARQ_USER_INFO}"))).unwrap();
    let swapped = Aarq::from_bytes(&aarq_with(&format!("{AARQ_USER_INFO}{AARQ_CONTEXT}"))).unwrap();
    assert_eq!(swapped, plain);
}

#[test]
fn long_form_lengths_are_accepted() {
    // outer length 0x1D written as 81 1D, the OID length as 81 07
    let short = Aarq::from_bytes(&hex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")).unwrap();
    let long =
        Aarq::from_bytes(&hex("60 81 1E A1 0A 06 81 07 60857405080101 BE10040E01000000065F1F0400001E1DFFFF")).unwrap();
    assert_eq!(long, short);
}

#[test]
fn long_content_is_encoded_with_long_form_lengths() {
    let ini = InitiateRequest::new(Conformance::LN_CLIENT_DEFAULT, 1200);
    let aarq = Aarq::high_level_security(MechanismName::HlsEcdsa, vec![0x5A; 300], ini);
    let bytes = aarq.to_bytes();
    assert_eq!(&bytes[..2], &[0x60, 0x82]);
    assert_eq!(Aarq::from_bytes(&bytes), Ok(aarq));
}

#[test]
fn aarq_without_context_name_is_invalid() {
    assert!(matches!(Aarq::from_bytes(&aarq_with(AARQ_USER_INFO)), Err(DecodeError::Invalid { .. })));
}

#[test]
fn repeated_field_is_invalid() {
    let r = Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT}{AARQ_CONTEXT}{AARQ_USER_INFO}")));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
}

#[test]
fn indefinite_length_is_invalid() {
    let r = Aarq::from_bytes(&hex("6080A109060760857405080101 0000"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
}

#[test]
fn wrong_apdu_tag_is_unknown_tag() {
    let mut bytes = aarq_with(&format!("{AARQ_CONTEXT}{AARQ_USER_INFO}"));
    assert!(matches!(Aare::from_bytes(&bytes), Err(DecodeError::UnknownTag { tag: 0x60, .. })));
    bytes[0] = 0x64; // ABRT is not supported
    assert!(matches!(AcseApdu::from_bytes(&bytes), Err(DecodeError::UnknownTag { tag: 0x64, .. })));
}

#[test]
fn context_name_must_be_an_oid() {
    // A1 holding an OCTET STRING instead of an OBJECT IDENTIFIER
    let r = Aarq::from_bytes(&aarq_with("A109040760857405080101"));
    assert!(matches!(r, Err(DecodeError::UnknownTag { tag: 0x04, .. })), "{r:?}");
}

#[test]
fn unknown_context_and_mechanism_are_kept() {
    let r = Aarq::from_bytes(&aarq_with("A109060760857405080109 8B0760857405080209")).unwrap();
    assert_eq!(r.application_context_name, ApplicationContextName::Other(ObjectIdentifier::dlms_ua(1, 9)));
    assert_eq!(r.mechanism_name, Some(MechanismName::Other(ObjectIdentifier::dlms_ua(2, 9))));
    assert_eq!(r.application_context_name.to_string(), "unknown application context 2.16.756.5.8.1.9");
}

#[test]
fn unknown_user_information_apdu_is_unknown_tag() {
    // user-information holding a get-request (C0 01 C1 …) instead of an Initiate APDU
    let r = Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT} BE0504 03C001C1")));
    assert!(matches!(r, Err(DecodeError::UnknownTag { tag: 0xC0, .. })), "{r:?}");
    // and not an OCTET STRING at all
    let r = Aarq::from_bytes(&aarq_with(&format!("{AARQ_CONTEXT} BE0381 0100")));
    assert!(matches!(r, Err(DecodeError::UnknownTag { tag: 0x81, .. })), "{r:?}");
}

#[test]
fn aare_requires_result_and_diagnostic() {
    let no_diag = hex("6110 A109060760857405080101 A203020100");
    assert!(matches!(Aare::from_bytes(&no_diag), Err(DecodeError::Invalid { .. })));
    let no_result = hex("6112 A109060760857405080101 A305A103020100");
    assert!(matches!(Aare::from_bytes(&no_result), Err(DecodeError::Invalid { .. })));
    let ok = hex("6117 A109060760857405080101 A203020100 A305A103020100");
    assert_eq!(
        Aare::from_bytes(&ok),
        Ok(Aare::new(
            ApplicationContextName::LogicalNameNoCiphering,
            AssociationResult::Accepted,
            AssociateSourceDiagnostic::ACCEPTED,
            None
        ))
    );
}

#[test]
fn aare_undefined_values_are_invalid() {
    // result 3
    let r = Aare::from_bytes(&hex("6117 A109060760857405080101 A203020103 A305A103020100"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
    // acse-service-user 15
    let r = Aare::from_bytes(&hex("6117 A109060760857405080101 A203020101 A305A10302010F"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
    // acse-service-provider 3
    let r = Aare::from_bytes(&hex("6117 A109060760857405080101 A203020101 A305A203020103"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
    // diagnostic CHOICE [3] does not exist
    let r = Aare::from_bytes(&hex("6117 A109060760857405080101 A203020101 A305A303020101"));
    assert!(matches!(r, Err(DecodeError::UnknownTag { tag: 0xA3, .. })), "{r:?}");
}

#[test]
fn acse_service_provider_diagnostic_is_decoded() {
    let aare = Aare::from_bytes(&hex("6117 A109060760857405080101 A203020102 A305A203020102")).unwrap();
    assert_eq!(aare.result, AssociationResult::RejectedTransient);
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceProvider(AcseServiceProviderDiagnostic::NoCommonAcseVersion)
    );
}

#[test]
fn release_reasons() {
    assert_eq!(Rlre::normal().to_bytes(), hex("6303800100"));
    assert_eq!(Rlrq::from_bytes(&hex("6200")), Ok(Rlrq { reason: None, user_information: None }));
    assert_eq!(Rlrq::from_bytes(&hex("620380011E")).map(|r| r.reason), Ok(Some(ReleaseRequestReason::UserDefined)));
    assert_eq!(Rlre::from_bytes(&hex("6303800101")).map(|r| r.reason), Ok(Some(ReleaseResponseReason::NotFinished)));
    assert!(matches!(Rlrq::from_bytes(&hex("6203800102")), Err(DecodeError::Invalid { .. })));
    assert!(matches!(Rlre::from_bytes(&hex("6203800100")), Err(DecodeError::UnknownTag { tag: 0x62, .. })));
}

#[test]
fn initiate_request_malformed() {
    // presence flag 2 for the dedicated key
    let r = InitiateRequest::from_bytes(&hex("01020000065F1F0400007E1F04B0"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
    // conformance with a wrong tag
    let r = InitiateRequest::from_bytes(&hex("01000000065F1E0400007E1F04B0"));
    assert!(matches!(r, Err(DecodeError::Invalid { .. })), "{r:?}");
    // dedicated-key length beyond the input
    let r = InitiateRequest::from_bytes(&hex("010140AABB"));
    assert!(r.is_err(), "{r:?}");
    // explicit response-allowed FALSE and a quality of service
    let r = InitiateRequest::from_bytes(&hex("0100010001FE065F1F0400007E1F04B0")).unwrap();
    assert!(!r.response_allowed);
    assert_eq!(r.proposed_quality_of_service, Some(-2));
    assert_eq!(r.to_bytes(), hex("0100010001FE065F1F0400007E1F04B0"));
}

#[test]
fn confirmed_service_error_malformed() {
    assert!(matches!(ConfirmedServiceError::from_bytes(&hex("0E000601")), Err(DecodeError::UnknownTag { tag: 0, .. })));
    assert!(matches!(
        ConfirmedServiceError::from_bytes(&hex("0E140601")),
        Err(DecodeError::UnknownTag { tag: 20, .. })
    ));
    assert!(matches!(
        ConfirmedServiceError::from_bytes(&hex("0E010B01")),
        Err(DecodeError::UnknownTag { tag: 11, .. })
    ));
    assert!(matches!(ConfirmedServiceError::from_bytes(&hex("0E010605")), Err(DecodeError::Invalid { .. })));
    assert!(matches!(
        ConfirmedServiceError::from_bytes(&hex("0F010601")),
        Err(DecodeError::UnknownTag { tag: 0x0F, .. })
    ));
    // write (6) / access (5) / object-unavailable (4)
    let e = ConfirmedServiceError::from_bytes(&hex("0E060504")).unwrap();
    assert_eq!(e.service, ConfirmedService::Write);
    assert_eq!(e.error, ServiceError::Access(AccessError::ObjectUnavailable));
    assert_eq!(e.to_string(), "write (access: object-unavailable)");
}

#[test]
fn ciphered_user_information_is_kept_raw() {
    let glo = hex("2105 30 01234567");
    let aarq = Aarq::no_authentication(InitiateRequest::new(Conformance::LN_CLIENT_DEFAULT, 1200))
        .with_context(ApplicationContextName::LogicalNameWithCiphering)
        .with_calling_ap_title(*b"MMM\0\0\xBC\x61\x4E")
        .with_user_information(UserInformation::Ciphered(glo.clone()));
    let bytes = aarq.to_bytes();
    let back = Aarq::from_bytes(&bytes).unwrap();
    assert_eq!(back.user_information, Some(UserInformation::Ciphered(glo)));
    assert_eq!(back.calling_ap_title.as_deref(), Some(&b"MMM\0\0\xBC\x61\x4E"[..]));
    // the calling-AP-title element is A6 0A 04 08 <system title>
    let at = bytes.windows(4).position(|w| w == [0xA6, 0x0A, 0x04, 0x08]);
    assert!(at.is_some(), "{}", hex::encode_upper(&bytes));
}

#[test]
fn aare_rejected_builder() {
    let aare = Aare::rejected(
        ApplicationContextName::LogicalNameNoCiphering,
        AcseServiceUserDiagnostic::AuthenticationFailure,
    );
    assert_eq!(aare.to_bytes(), hex("6117 A109060760857405080101 A203020101 A305A10302010D"));
}
