//! Security suite 1 protocol behaviour (IEC 62056-5-3 §9.2.3.4, §9.2.7.4, §9.2.5.5;
//! Green Book §9.2): both sides of HLS mechanism 7, general-signing, and the three key
//! agreement schemes, including the refusals: wrong keys, tampered challenges,
//! tampered APDUs and substituted ephemeral keys.

use dlms::Codec;
use dlms::data::Data;
use dlms::security::keys::KeyId;
use dlms::security::suite1::general_signing::GeneralSigning;
use dlms::security::suite1::hls_ecdsa::new_challenge;
use dlms::security::suite1::key_agreement::{
    KeyAgreementData, SIGNED_EPHEMERAL_KEY_LEN, key_agreement_parameters, one_pass_originate, one_pass_receive,
    parse_key_agreement_parameters, respond_ephemeral_unified, static_unified_key,
};
use dlms::security::suite1::{
    AgreementKey, EphemeralUnifiedOffer, Hls7Exchange, SignedEphemeralKey, SigningKey, Suite1Error,
};
use dlms::security::{SecurityError, SystemTitle};

const CLIENT: SystemTitle = SystemTitle(*b"HES00001");
const SERVER: SystemTitle = SystemTitle(*b"MTR00042");

struct Parties {
    client: SigningKey,
    server: SigningKey,
    ctos: Vec<u8>,
    stoc: Vec<u8>,
}

fn parties() -> Parties {
    Parties {
        client: SigningKey::generate().unwrap(),
        server: SigningKey::generate().unwrap(),
        ctos: new_challenge(32).unwrap(),
        stoc: new_challenge(48).unwrap(),
    }
}

fn exchange(p: &Parties) -> Hls7Exchange<'_> {
    Hls7Exchange { client_system_title: CLIENT, server_system_title: SERVER, ctos: &p.ctos, stoc: &p.stoc }
}

#[test]
fn hls7_four_pass_succeeds_with_the_right_keys() {
    let p = parties();
    // client side, pass 3
    let f_stoc = exchange(&p).client_response(&p.client).unwrap();
    // server side: verify pass 3, answer pass 4
    let server_view = exchange(&p);
    assert_eq!(server_view.verify_client_response(&p.client.public_key(), f_stoc.as_bytes()), Ok(()));
    let f_ctos = server_view.server_response(&p.server).unwrap();
    // client side, pass 4
    assert_eq!(exchange(&p).verify_server_response(&p.server.public_key(), f_ctos.as_bytes()), Ok(()));
}

#[test]
fn hls7_refuses_a_wrong_key() {
    let p = parties();
    let impostor = SigningKey::generate().unwrap();
    let x = exchange(&p);
    // an impostor client signs with its own key: the server, holding the real client's
    // public key, refuses it
    let forged = x.client_response(&impostor).unwrap();
    assert_eq!(
        x.verify_client_response(&p.client.public_key(), forged.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // a rogue meter cannot answer pass 4
    let rogue = x.server_response(&impostor).unwrap();
    assert_eq!(
        x.verify_server_response(&p.server.public_key(), rogue.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // and the suite-independent error keeps the meaning
    assert_eq!(SecurityError::from(Suite1Error::HlsVerificationFailed), SecurityError::HlsVerificationFailed);
}

#[test]
fn hls7_refuses_tampered_challenges_titles_and_replayed_responses() {
    let p = parties();
    let f_stoc = exchange(&p).client_response(&p.client).unwrap();
    let f_ctos = exchange(&p).server_response(&p.server).unwrap();

    // the server's own StoC differs from the one the client signed (a replayed f(StoC)
    // from an older association)
    let mut other_stoc = p.stoc.clone();
    other_stoc[0] ^= 0x80;
    let replay = Hls7Exchange { stoc: &other_stoc, ..exchange(&p) };
    assert_eq!(
        replay.verify_client_response(&p.client.public_key(), f_stoc.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // CtoS altered in transit
    let mut other_ctos = p.ctos.clone();
    other_ctos[31] ^= 0x01;
    let altered = Hls7Exchange { ctos: &other_ctos, ..exchange(&p) };
    assert_eq!(
        altered.verify_server_response(&p.server.public_key(), f_ctos.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // another client system title
    let other_title = Hls7Exchange { client_system_title: SystemTitle(*b"HES00002"), ..exchange(&p) };
    assert_eq!(
        other_title.verify_client_response(&p.client.public_key(), f_stoc.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // the client's own response reflected back as the server's is refused even when
    // both use the same key pair: the signed messages differ
    let same = SigningKey::generate().unwrap();
    let reflected = exchange(&p).client_response(&same).unwrap();
    assert_eq!(
        exchange(&p).verify_server_response(&same.public_key(), reflected.as_bytes()),
        Err(Suite1Error::HlsVerificationFailed)
    );
    // a bit flipped in the signature, and wrong lengths
    let mut flipped = *f_stoc.as_bytes();
    flipped[10] ^= 0x04;
    let x = exchange(&p);
    assert_eq!(x.verify_client_response(&p.client.public_key(), &flipped), Err(Suite1Error::HlsVerificationFailed));
    assert_eq!(
        x.verify_client_response(&p.client.public_key(), &f_stoc.as_bytes()[..63]),
        Err(Suite1Error::HlsVerificationFailed)
    );
    assert_eq!(x.verify_client_response(&p.client.public_key(), &[]), Err(Suite1Error::HlsVerificationFailed));
}

#[test]
fn hls7_challenges_must_be_32_to_64_bytes() {
    let p = parties();
    let short = [7u8; 16];
    let x = Hls7Exchange { ctos: &short, ..exchange(&p) };
    assert_eq!(x.client_response(&p.client), Err(Suite1Error::InvalidChallenge { len: 16 }));
    let long = [7u8; 65];
    let x = Hls7Exchange { stoc: &long, ..exchange(&p) };
    assert_eq!(x.server_response(&p.server), Err(Suite1Error::InvalidChallenge { len: 65 }));
    assert_eq!(
        x.verify_client_response(&p.client.public_key(), &[0; 64]),
        Err(Suite1Error::InvalidChallenge { len: 65 })
    );
}

#[test]
fn general_signing_round_trip_and_refusals() {
    let meter = SigningKey::generate().unwrap();
    let mut apdu = GeneralSigning::new(vec![0, 0, 0, 1], &SERVER, &CLIENT, vec![0xC4, 0x01, 0xC1, 0x00, 0x11, 0x2A]);
    apdu.date_time = vec![0x07, 0xEA, 0x01, 0x0F, 0x04, 0x0C, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00];
    apdu.other_information = b"billing".to_vec();
    let apdu = apdu.signed(&meter);
    assert_eq!(apdu.signature.len(), 64);
    let wire = apdu.to_bytes();
    let back = GeneralSigning::from_bytes(&wire).unwrap();
    assert_eq!(back, apdu);
    assert_eq!(back.verify(&meter.public_key()), Ok(()));

    // another signatory
    assert_eq!(back.verify(&SigningKey::generate().unwrap().public_key()), Err(Suite1Error::SignatureInvalid));
    // every signed field is covered
    for tamper in [
        |a: &mut GeneralSigning| a.transaction_id[3] = 2,
        |a: &mut GeneralSigning| a.originator_system_title[0] ^= 1,
        |a: &mut GeneralSigning| a.recipient_system_title[7] ^= 1,
        |a: &mut GeneralSigning| a.date_time[4] = 5,
        |a: &mut GeneralSigning| a.other_information.push(b'!'),
        |a: &mut GeneralSigning| a.content[5] = 0x2B,
        |a: &mut GeneralSigning| a.content.push(0),
        // moving a byte from content to other-information keeps the concatenated values
        // but changes the lengths, which are signed too
        |a: &mut GeneralSigning| {
            let b = a.content.remove(0);
            a.other_information.push(b);
        },
    ] {
        let mut t = back.clone();
        tamper(&mut t);
        assert_eq!(t.verify(&meter.public_key()), Err(Suite1Error::SignatureInvalid), "{t:?}");
    }
    let mut t = back.clone();
    t.signature.truncate(63);
    assert_eq!(t.verify(&meter.public_key()), Err(Suite1Error::InvalidSignatureLength { len: 63 }));
    t.signature.clear();
    assert_eq!(t.verify(&meter.public_key()), Err(Suite1Error::InvalidSignatureLength { len: 0 }));

    // wrong system title sizes are reported, not panicked on
    let mut t = back;
    t.originator_system_title.clear();
    assert!(matches!(t.originator(), Err(Suite1Error::Decode(_))));
}

#[test]
fn general_signing_truncated_input_is_refused() {
    let meter = SigningKey::generate().unwrap();
    let wire = GeneralSigning::new(vec![1], &SERVER, &CLIENT, vec![0xC0; 20]).signed(&meter).to_bytes();
    for n in 0..wire.len() {
        assert!(GeneralSigning::from_bytes(&wire[..n]).is_err(), "prefix of {n} bytes");
    }
    let mut longer = wire.clone();
    longer.push(0);
    assert!(GeneralSigning::from_bytes(&longer).is_err());
}

#[test]
fn ephemeral_unified_model_agrees_on_the_requested_keys() {
    let client = SigningKey::generate().unwrap();
    let server = SigningKey::generate().unwrap();
    let ids = [KeyId::GlobalUnicastEncryption, KeyId::Authentication, KeyId::Master];
    let (offer, request) = EphemeralUnifiedOffer::new(&ids, &client, CLIENT, SERVER).unwrap();
    assert_eq!(offer.key_ids(), ids);
    // the request has the key_agreement shape
    let items = parse_key_agreement_parameters(&request).unwrap();
    assert_eq!(items.iter().map(|i| i.key_id).collect::<Vec<_>>(), ids);
    assert!(items.iter().all(|i| i.key_data.len() == SIGNED_EPHEMERAL_KEY_LEN));

    let (server_keys, response) =
        respond_ephemeral_unified(&request, &client.public_key(), &server, CLIENT, SERVER).unwrap();
    let client_keys = offer.complete(&response, &server.public_key()).unwrap();
    assert_eq!(client_keys, server_keys);
    assert_eq!(client_keys.len(), 3);
    // the three keys differ (different ephemeral pairs, and AES-WRAP vs AES-GCM)
    assert_ne!(client_keys[0].1, client_keys[1].1);
    assert_ne!(client_keys[0].1, client_keys[2].1);
}

#[test]
fn ephemeral_unified_model_refuses_unauthenticated_keys() {
    let client = SigningKey::generate().unwrap();
    let server = SigningKey::generate().unwrap();
    let attacker = SigningKey::generate().unwrap();
    let ids = [KeyId::GlobalUnicastEncryption];

    // the server refuses a request signed by someone else than the client it knows
    let (_, forged) = EphemeralUnifiedOffer::new(&ids, &attacker, CLIENT, SERVER).unwrap();
    assert_eq!(
        respond_ephemeral_unified(&forged, &client.public_key(), &server, CLIENT, SERVER).map(|_| ()),
        Err(Suite1Error::SignatureInvalid)
    );

    // a man in the middle substitutes its own ephemeral key in the server's answer
    let (offer, request) = EphemeralUnifiedOffer::new(&ids, &client, CLIENT, SERVER).unwrap();
    let (_, response) = respond_ephemeral_unified(&request, &client.public_key(), &server, CLIENT, SERVER).unwrap();
    let mut items = parse_key_agreement_parameters(&response).unwrap();
    let mitm = AgreementKey::generate().unwrap();
    let genuine = SignedEphemeralKey::from_bytes(&items[0].key_data).unwrap();
    let substituted = SignedEphemeralKey { public_key: mitm.public_key(), signature: genuine.signature };
    items[0].key_data = substituted.to_bytes().to_vec();
    assert_eq!(
        offer.complete(&key_agreement_parameters(&items), &server.public_key()).map(|_| ()),
        Err(Suite1Error::SignatureInvalid)
    );

    // a signature made for another key_id is not accepted for this one
    let (offer, request) = EphemeralUnifiedOffer::new(&ids, &client, CLIENT, SERVER).unwrap();
    let (_, response) = respond_ephemeral_unified(&request, &client.public_key(), &server, CLIENT, SERVER).unwrap();
    let mut items = parse_key_agreement_parameters(&response).unwrap();
    items[0].key_id = KeyId::GlobalBroadcastEncryption;
    let relabelled = key_agreement_parameters(&items);
    assert!(matches!(
        respond_ephemeral_unified(&relabelled, &server.public_key(), &client, CLIENT, SERVER),
        Err(Suite1Error::SignatureInvalid)
    ));
    assert!(matches!(offer.complete(&relabelled, &server.public_key()), Err(Suite1Error::KeyAgreementMismatch(_))));
}

#[test]
fn ephemeral_unified_model_refuses_mismatched_answers() {
    let client = SigningKey::generate().unwrap();
    let server = SigningKey::generate().unwrap();
    let ids = [KeyId::GlobalUnicastEncryption, KeyId::Authentication];
    let (offer, request) = EphemeralUnifiedOffer::new(&ids, &client, CLIENT, SERVER).unwrap();
    let (_, response) = respond_ephemeral_unified(&request, &client.public_key(), &server, CLIENT, SERVER).unwrap();
    let mut items = parse_key_agreement_parameters(&response).unwrap();
    items.pop();
    assert!(matches!(
        offer.complete(&key_agreement_parameters(&items), &server.public_key()),
        Err(Suite1Error::KeyAgreementMismatch(_))
    ));
    let (offer, _) = EphemeralUnifiedOffer::new(&ids, &client, CLIENT, SERVER).unwrap();
    let short =
        key_agreement_parameters(&[KeyAgreementData { key_id: KeyId::GlobalUnicastEncryption, key_data: vec![0; 64] }]);
    assert!(offer.complete(&short, &server.public_key()).is_err());
    assert!(matches!(
        EphemeralUnifiedOffer::new(&[], &client, CLIENT, SERVER),
        Err(Suite1Error::KeyAgreementMismatch(_))
    ));
    assert!(matches!(
        EphemeralUnifiedOffer::new(&[KeyId::Master, KeyId::Master], &client, CLIENT, SERVER),
        Err(Suite1Error::KeyAgreementMismatch(_))
    ));
    assert!(matches!(
        respond_ephemeral_unified(&Data::NullData, &client.public_key(), &server, CLIENT, SERVER),
        Err(Suite1Error::Decode(_))
    ));
}

#[test]
fn one_pass_diffie_hellman_both_sides() {
    let hes_sign = SigningKey::generate().unwrap();
    let meter_static = AgreementKey::generate().unwrap();
    let (key_u, key_ciphered_data) = one_pass_originate(&hes_sign, &meter_static.public_key(), CLIENT, SERVER).unwrap();
    assert_eq!(key_ciphered_data.len(), 128);
    let key_v = one_pass_receive(&key_ciphered_data, &hes_sign.public_key(), &meter_static, CLIENT, SERVER).unwrap();
    assert_eq!(key_u, key_v);
    // each transaction gets a fresh key
    let (key_u2, _) = one_pass_originate(&hes_sign, &meter_static.public_key(), CLIENT, SERVER).unwrap();
    assert_ne!(key_u, key_u2);
    // wrong originator key, altered ephemeral key, wrong length
    let other = SigningKey::generate().unwrap();
    assert_eq!(
        one_pass_receive(&key_ciphered_data, &other.public_key(), &meter_static, CLIENT, SERVER),
        Err(Suite1Error::SignatureInvalid)
    );
    let mut altered = key_ciphered_data.clone();
    altered[100] ^= 0x01;
    assert_eq!(
        one_pass_receive(&altered, &hes_sign.public_key(), &meter_static, CLIENT, SERVER),
        Err(Suite1Error::SignatureInvalid)
    );
    assert!(matches!(
        one_pass_receive(&key_ciphered_data[..127], &hes_sign.public_key(), &meter_static, CLIENT, SERVER),
        Err(Suite1Error::Decode(_))
    ));
    // another recipient static key derives another key (or the peer is not who we think)
    let wrong_static = AgreementKey::generate().unwrap();
    let key_w = one_pass_receive(&key_ciphered_data, &hes_sign.public_key(), &wrong_static, CLIENT, SERVER).unwrap();
    assert_ne!(key_w, key_u);
}

#[test]
fn static_unified_model_both_sides_and_nonce() {
    let u_static = AgreementKey::generate().unwrap();
    let v_static = AgreementKey::generate().unwrap();
    let tx = [1, 2, 3, 4, 5, 6, 7, 8];
    let ku = static_unified_key(&u_static, &v_static.public_key(), CLIENT, &tx, SERVER).unwrap();
    let kv = static_unified_key(&v_static, &u_static.public_key(), CLIENT, &tx, SERVER).unwrap();
    assert_eq!(ku, kv);
    // Nonce_U makes every transaction's key different although Z is fixed
    let other_tx = static_unified_key(&u_static, &v_static.public_key(), CLIENT, &[1, 2, 3, 4, 5, 6, 7, 9], SERVER);
    assert_ne!(other_tx.unwrap(), ku);
    assert_eq!(
        static_unified_key(&u_static, &v_static.public_key(), CLIENT, &[0; 256], SERVER),
        Err(Suite1Error::NonceTooLong { len: 256 })
    );
}
