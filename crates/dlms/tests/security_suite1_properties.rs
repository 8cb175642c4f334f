//! Property tests of security suite 1 (IEC 62056-5-3 §9.2.3.4, §9.2.7.2.5, §9.2.7.4):
//! - general-signing APDUs round-trip through their encoding for any field contents;
//! - any single-bit flip anywhere in a signed general-signing APDU is refused (by the
//!   decoder or by the signature check);
//! - ECDSA sign/verify round-trips for any message, and a changed message is refused;
//! - arbitrary bytes never panic the decoders and verifiers (general-signing, public
//!   keys, signatures, signed ephemeral keys, key_agreement parameters, HLS-ECDSA
//!   responses).

use std::sync::OnceLock;

use dlms::Codec;
use dlms::data::Data;
use dlms::security::SystemTitle;
use dlms::security::suite1::ecdsa::verify;
use dlms::security::suite1::general_signing::GeneralSigning;
use dlms::security::suite1::key_agreement::{parse_key_agreement_parameters, respond_ephemeral_unified};
use dlms::security::suite1::{Hls7Exchange, PublicKey, Signature, SignedEphemeralKey, SigningKey, Suite1Error};
use proptest::prelude::*;

/// One key pair for the whole run (generation is not what is under test).
fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn general_signing() -> impl Strategy<Value = GeneralSigning> {
    (bytes(20), bytes(10), bytes(10), bytes(13), bytes(140), bytes(300), bytes(70)).prop_map(
        |(transaction_id, o, r, date_time, other_information, content, signature)| GeneralSigning {
            transaction_id,
            originator_system_title: o,
            recipient_system_title: r,
            date_time,
            other_information,
            content,
            signature,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn general_signing_round_trips(apdu in general_signing()) {
        let wire = apdu.to_bytes();
        prop_assert_eq!(wire[0], 0xDF);
        prop_assert_eq!(GeneralSigning::from_bytes(&wire), Ok(apdu));
    }

    #[test]
    fn any_bit_flip_in_a_signed_apdu_is_refused(
        transaction_id in bytes(9),
        content in bytes(200),
        other_information in bytes(5),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut apdu = GeneralSigning::new(transaction_id, &SystemTitle(*b"ORIGINAT"), &SystemTitle(*b"RECIPIEN"), content);
        apdu.other_information = other_information;
        let apdu = apdu.signed(key());
        let mut wire = apdu.to_bytes();
        let i = bit.index(wire.len() * 8);
        wire[i / 8] ^= 1 << (i % 8);
        let refused = match GeneralSigning::from_bytes(&wire) {
            Err(_) => true,
            Ok(tampered) => tampered.verify(&key().public_key()).is_err(),
        };
        prop_assert!(refused, "bit {} accepted", i);
    }

    #[test]
    fn ecdsa_round_trip(message in bytes(500), other in bytes(500)) {
        let sig = key().sign(&message);
        prop_assert_eq!(verify(&key().public_key(), &message, &sig), Ok(()));
        if other != message {
            prop_assert_eq!(verify(&key().public_key(), &other, &sig), Err(Suite1Error::SignatureInvalid));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in bytes(400), sig in prop::array::uniform32(any::<u8>())) {
        let _ = GeneralSigning::from_bytes(&input);
        let mut with_tag = vec![0xDF];
        with_tag.extend_from_slice(&input);
        if let Ok(apdu) = GeneralSigning::from_bytes(&with_tag) {
            prop_assert!(apdu.verify(&key().public_key()).is_err());
            let _ = apdu.originator();
        }
        let _ = PublicKey::from_bytes(&input);
        let _ = PublicKey::from_sec1(&input);
        if let Ok(s) = Signature::from_slice(&input) {
            prop_assert!(verify(&key().public_key(), b"message", &s).is_err());
        }
        let _ = SignedEphemeralKey::from_bytes(&input);
        let mut full = [0u8; 64];
        full[..32].copy_from_slice(&sig);
        full[32..].copy_from_slice(&sig);
        prop_assert!(verify(&key().public_key(), &input, &Signature(full)).is_err());
        if let Ok(data) = Data::from_bytes(&input) {
            let _ = parse_key_agreement_parameters(&data);
            let _ = respond_ephemeral_unified(
                &data, &key().public_key(), key(), SystemTitle([1; 8]), SystemTitle([2; 8]),
            );
        }
    }

    #[test]
    fn hls7_responses_from_arbitrary_bytes_are_refused(
        response in bytes(100),
        ctos in bytes(70),
        stoc in bytes(70),
    ) {
        let x = Hls7Exchange {
            client_system_title: SystemTitle([1; 8]),
            server_system_title: SystemTitle([2; 8]),
            ctos: &ctos,
            stoc: &stoc,
        };
        prop_assert!(x.verify_client_response(&key().public_key(), &response).is_err());
        prop_assert!(x.verify_server_response(&key().public_key(), &response).is_err());
    }
}

/// A structurally valid key_agreement parameter whose key_data is garbage (right length,
/// not a curve point / not a valid signature) is refused without panicking.
#[test]
fn well_shaped_but_invalid_key_data_is_refused() {
    for key_data in [vec![0u8; 128], vec![0xFF; 128], vec![0x01; 128]] {
        let param = Data::Array(vec![Data::Structure(vec![Data::Enum(0), Data::OctetString(key_data)])]);
        let r = respond_ephemeral_unified(&param, &key().public_key(), key(), SystemTitle([1; 8]), SystemTitle([2; 8]));
        assert!(
            matches!(r, Err(Suite1Error::InvalidPublicKey(_)) | Err(Suite1Error::SignatureInvalid)),
            "{:?}",
            r.map(|_| ())
        );
    }
}
