//! Known-answer tests: every `security/*` vector of `shared/testdata/dlms/vectors.json`
//! (Green Book AES-GCM and HLS-GMAC examples, a real general-glo-ciphering push,
//! RFC 3394 §4.1). Inputs and expected values are read from the file; the test fails if
//! a security vector appears that no test here checks.

use std::collections::BTreeSet;

use dlms::Codec;
use dlms::security::ciphered_apdu::{
    CipheredApdu, CipheredService, GeneralCiphered, KeyScope, ServiceSpecificCiphered,
};
use dlms::security::control::{SecurityControl, SecurityHeader};
use dlms::security::hls_gmac::HlsGmacResponse;
use dlms::security::key_wrap::{unwrap_key, wrap_key};
use dlms::security::suite0::{self, CipherKeys, TAG_LEN};
use dlms::security::{
    AesKey, CipheringForm, CounterDirection, CounterId, GlobalKeys, InvocationCounterStore, KeyId, MemoryCounterStore,
    SecurityContext, SecurityError, SecuritySettings, SystemTitle, shared_store,
};
use dlms::xdlms::{InitiateRequest, XdlmsApdu};
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

fn hex_at(v: &Value, path: &[&str]) -> Vec<u8> {
    let mut node = v;
    for p in path {
        node = &node[*p];
    }
    let s = node.as_str().unwrap_or_else(|| panic!("{path:?} missing in {}", v["id"]));
    hex::decode(s).unwrap_or_else(|e| panic!("{path:?} in {}: {e}", v["id"]))
}

fn input(v: &Value, field: &str) -> Vec<u8> {
    hex_at(v, &["inputs", field])
}

fn expected(v: &Value, field: &str) -> Vec<u8> {
    hex_at(v, &["expected", field])
}

fn key(bytes: &[u8]) -> AesKey {
    AesKey::from_slice(bytes).expect("16-byte key")
}

fn title(bytes: &[u8]) -> SystemTitle {
    SystemTitle::from_slice(bytes).expect("8-byte system title")
}

fn counter(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes.try_into().expect("4-byte invocation counter"))
}

fn upper(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// A sending context whose next global unicast counter is `ic`, and a receiving context
/// that knows the sender's system title.
fn context_pair(ek: &AesKey, ak: &AesKey, st: SystemTitle, ic: u32) -> (SecurityContext, SecurityContext) {
    let keys = GlobalKeys::new(ek.clone(), ak.clone());
    let mut store = MemoryCounterStore::new();
    store.save(CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing), ic).unwrap();
    let sender =
        SecurityContext::new(&SecuritySettings::new(keys.clone(), st).with_counter_store(shared_store(store))).unwrap();
    let receiver =
        SecurityContext::new(&SecuritySettings::new(keys, SystemTitle([0xEE; 8])).with_peer_system_title(st)).unwrap();
    (sender, receiver)
}

/// The three glo-get-request vectors: raw suite 0 output, the APDU built field by field,
/// the APDU from `protect_with`, and deciphering back.
fn check_glo_get_request(id: &str) {
    let v = vector(id);
    let ek = key(&input(&v, "encryption_key_EK"));
    let ak = key(&input(&v, "authentication_key_AK"));
    let st = title(&input(&v, "system_title"));
    let ic = counter(&input(&v, "invocation_counter"));
    let plain = input(&v, "plaintext");
    let sc = SecurityControl(input(&v, "security_control")[0]);
    assert_eq!(upper(&suite0::initialization_vector(&st, ic)), upper(&input(&v, "iv")), "{id}: IV");
    let keys = CipherKeys { encryption_key: &ek, authentication_key: &ak };
    let info = suite0::encrypt(sc, &st, ic, keys, &plain).unwrap();
    let want_info = match sc.0 {
        0x30 => [expected(&v, "ciphertext"), expected(&v, "tag")].concat(),
        0x20 => expected(&v, "ciphertext"),
        0x10 => [plain.clone(), expected(&v, "tag")].concat(),
        other => panic!("{id}: unexpected SC {other:#x}"),
    };
    assert_eq!(upper(&info), upper(&want_info), "{id}: ciphered information");
    let apdu = CipheredApdu::ServiceSpecific(ServiceSpecificCiphered {
        service: CipheredService::GetRequest,
        scope: KeyScope::Global,
        security_header: SecurityHeader { security_control: sc, invocation_counter: ic },
        ciphered_information: info.clone(),
    });
    let want_apdu = expected(&v, "glo_get_request_apdu");
    assert_eq!(upper(&apdu.to_bytes()), upper(&want_apdu), "{id}: APDU");
    assert_eq!(CipheredApdu::from_bytes(&want_apdu).unwrap(), apdu);
    assert_eq!(suite0::decrypt(sc, &st, ic, keys, &info).unwrap(), plain, "{id}: decrypt");

    let (mut sender, mut receiver) = context_pair(&ek, &ak, st, ic);
    let protection = sc.protection().unwrap();
    let sent = sender
        .protect_with(
            &plain,
            CipheringForm::ServiceSpecific(KeyScope::Global),
            protection,
            dlms::security::KeySet::Unicast,
        )
        .unwrap();
    assert_eq!(upper(&sent), upper(&want_apdu), "{id}: protect_with");
    // The default policy (authenticated encryption) accepts only 0x30.
    match sc.0 {
        0x30 => {
            let opened = receiver.unprotect(&want_apdu).unwrap();
            assert_eq!(opened.apdu, plain);
            assert_eq!(opened.system_title, st);
            assert_eq!(opened.security_header.invocation_counter, ic);
        }
        _ => assert!(matches!(receiver.unprotect(&want_apdu), Err(SecurityError::PolicyViolation { .. }))),
    }
}

#[test]
fn glo_get_request_authenticated_and_encrypted() {
    check_glo_get_request("gcm-suite0-glo-get-request-auth-enc");
}

#[test]
fn glo_get_request_encryption_only() {
    check_glo_get_request("gcm-suite0-glo-get-request-enc-only");
}

#[test]
fn glo_get_request_authentication_only() {
    check_glo_get_request("gcm-suite0-glo-get-request-auth-only");
    // The AAD rule for 0x10 is SC || AK || APDU.
    let v = vector("gcm-suite0-glo-get-request-auth-only");
    let aad = [vec![0x10], input(&v, "authentication_key_AK"), input(&v, "plaintext")].concat();
    assert_eq!(upper(&aad), upper(&input(&v, "aad")));
}

#[test]
fn glo_initiate_request_with_dedicated_key() {
    let id = "gcm-suite0-glo-initiate-request";
    let v = vector(id);
    let ek = key(&input(&v, "encryption_key_EK"));
    let ak = key(&input(&v, "authentication_key_AK"));
    let st = title(&input(&v, "system_title"));
    let ic = counter(&input(&v, "invocation_counter"));
    let plain = input(&v, "plaintext");
    let keys = CipherKeys { encryption_key: &ek, authentication_key: &ak };
    let info = suite0::encrypt(SecurityControl(0x30), &st, ic, keys, &plain).unwrap();
    assert_eq!(upper(&info), upper(&[expected(&v, "ciphertext"), expected(&v, "tag")].concat()));
    let want_apdu = expected(&v, "glo_initiate_request_apdu");
    let (mut sender, mut receiver) = context_pair(&ek, &ak, st, ic);
    // protect() always uses glo- and SC 0x30 for the InitiateRequest.
    assert_eq!(upper(&sender.protect(&plain).unwrap()), upper(&want_apdu));
    let opened = receiver.unprotect(&want_apdu).unwrap();
    assert_eq!(opened.form, CipheringForm::ServiceSpecific(KeyScope::Global));
    let initiate = InitiateRequest::from_bytes(&opened.apdu).unwrap();
    assert_eq!(initiate.dedicated_key.as_deref().map(upper), Some("00112233445566778899AABBCCDDEEFF".to_owned()));
    assert_eq!(initiate.client_max_receive_pdu_size, 1200);
    assert_eq!(initiate.proposed_dlms_version_number, 6);
}

#[test]
fn hls_gmac_client_and_server_responses() {
    for (id, st_field, ic_field, challenge_field, f_field) in [
        ("hls5-gmac-client-f-stoc", "client_system_title", "client_invocation_counter", "StoC", "f_StoC"),
        ("hls5-gmac-server-f-ctos", "server_system_title", "server_invocation_counter", "CtoS", "f_CtoS"),
    ] {
        let v = vector(id);
        let ek = key(&input(&v, "encryption_key_EK"));
        let ak = key(&input(&v, "authentication_key_AK"));
        let st = title(&input(&v, st_field));
        let ic = counter(&input(&v, ic_field));
        let challenge = input(&v, challenge_field);
        assert_eq!(upper(&suite0::initialization_vector(&st, ic)), upper(&input(&v, "iv")), "{id}: IV");
        let keys = CipherKeys { encryption_key: &ek, authentication_key: &ak };
        let f = HlsGmacResponse::compute(&st, ic, keys, &challenge).unwrap();
        assert_eq!(upper(&f.tag), upper(&expected(&v, "tag")), "{id}: tag");
        assert_eq!(upper(&f.to_bytes()), upper(&expected(&v, f_field)), "{id}: f()");
        let parsed = HlsGmacResponse::from_bytes(&expected(&v, f_field)).unwrap();
        assert_eq!(parsed.verify(&st, keys, &challenge), Ok(()));
        // The same value through a context whose next counter is `ic`.
        let (mut own, mut peer) = context_pair(&ek, &ak, st, ic);
        assert_eq!(own.hls_response(&challenge).unwrap(), f);
        assert_eq!(peer.verify_hls_response(&expected(&v, f_field), &challenge, None), Ok(()));
        // Wrong challenge, wrong key, wrong sender title: refused.
        let other = AesKey::new([0x55; 16]);
        let wrong_keys = CipherKeys { encryption_key: &other, authentication_key: &ak };
        assert_eq!(parsed.verify(&st, keys, b"another challenge"), Err(SecurityError::HlsVerificationFailed));
        assert_eq!(parsed.verify(&st, wrong_keys, &challenge), Err(SecurityError::HlsVerificationFailed));
        assert_eq!(parsed.verify(&SystemTitle([0; 8]), keys, &challenge), Err(SecurityError::HlsVerificationFailed));
    }
}

#[test]
fn real_general_glo_ciphering_push_decrypts() {
    let v = vector("general-glo-ciphering-push");
    let apdu = input(&v, "apdu");
    let ek = key(&input(&v, "encryption_key_EK"));
    let ak = key(&input(&v, "authentication_key_AK"));
    assert_eq!(ek.as_bytes(), v["inputs"]["key_ascii"].as_str().unwrap().as_bytes());
    let layout = &v["inputs"]["layout"];
    let CipheredApdu::General(g) = CipheredApdu::from_bytes(&apdu).unwrap() else { panic!("not general ciphering") };
    assert_eq!(g.scope, KeyScope::Global);
    assert_eq!(upper(&g.system_title), layout["system_title"].as_str().unwrap());
    assert_eq!(g.security_header.security_control, SecurityControl(0x30));
    assert_eq!(g.security_header.invocation_counter, counter(&hex_at(&v, &["inputs", "layout", "invocation_counter"])));
    assert_eq!(g.ciphered_information.len() - TAG_LEN, hex_at(&v, &["inputs", "layout", "ciphertext"]).len());
    assert_eq!(
        upper(&g.ciphered_information[g.ciphered_information.len() - TAG_LEN..]),
        layout["tag_12"].as_str().unwrap()
    );
    // A push listener's context: the sender's system title comes from the APDU.
    let mut listener =
        SecurityContext::new(&SecuritySettings::new(GlobalKeys::new(ek.clone(), ak.clone()), SystemTitle([0xEE; 8])))
            .unwrap();
    let opened = listener.unprotect(&apdu).unwrap();
    assert_eq!(upper(&opened.apdu), upper(&expected(&v, "plaintext_apdu")));
    assert_eq!(opened.form, CipheringForm::General(KeyScope::Global));
    assert_eq!(upper(opened.system_title.as_bytes()), layout["system_title"].as_str().unwrap());
    let XdlmsApdu::DataNotification(n) = XdlmsApdu::from_bytes(&opened.apdu).unwrap() else { panic!("not a push") };
    assert_eq!(n.long_invoke_id_and_priority.0, 0x0000_01DB);
    // Delivered twice: the second copy is a replay.
    assert_eq!(listener.unprotect(&apdu), Err(SecurityError::Replay { received: 0x1E5, last: 0x1E5 }));
    // With the wrong key the tag does not verify.
    let mut wrong =
        SecurityContext::new(&SecuritySettings::new(GlobalKeys::new(AesKey::new([0; 16]), ak), SystemTitle([1; 8])))
            .unwrap();
    assert_eq!(wrong.unprotect(&apdu), Err(SecurityError::AuthenticationFailed));
}

#[test]
fn general_glo_ciphering_without_system_title() {
    let v = vector("general-glo-ciphering-no-system-title");
    let ic = u32::try_from(v["inputs"]["invocation_counter_decimal"].as_u64().unwrap()).unwrap();
    assert!(v["inputs"]["system_title"].is_null());
    let apdu = CipheredApdu::General(GeneralCiphered {
        scope: KeyScope::Global,
        system_title: vec![],
        security_header: SecurityHeader {
            security_control: SecurityControl(input(&v, "security_control")[0]),
            invocation_counter: ic,
        },
        ciphered_information: input(&v, "ciphered_text"),
    });
    let want = expected(&v, "apdu");
    assert_eq!(upper(&apdu.to_bytes()), upper(&want));
    assert_eq!(CipheredApdu::from_bytes(&want).unwrap(), apdu);
    // Opening it needs the sender's system title from elsewhere.
    let mut ctx = SecurityContext::new(&SecuritySettings::new(
        GlobalKeys::new(AesKey::new([0; 16]), AesKey::new([0; 16])),
        SystemTitle([1; 8]),
    ))
    .unwrap();
    assert_eq!(ctx.unprotect(&want), Err(SecurityError::MissingSystemTitle));
}

#[test]
fn rfc3394_key_wrap() {
    let v = vector("aes-key-wrap-rfc3394-4.1");
    let kek = key(&input(&v, "kek"));
    let data = key(&input(&v, "key_data"));
    let wrapped = wrap_key(&kek, &data);
    assert_eq!(upper(&wrapped), upper(&expected(&v, "wrapped")));
    assert_eq!(unwrap_key(&kek, &expected(&v, "wrapped")), Ok(data));
}

#[test]
fn every_security_vector_is_checked() {
    let checked: BTreeSet<&str> = [
        "gcm-suite0-glo-get-request-auth-enc",
        "gcm-suite0-glo-get-request-enc-only",
        "gcm-suite0-glo-get-request-auth-only",
        "gcm-suite0-glo-initiate-request",
        "hls5-gmac-client-f-stoc",
        "hls5-gmac-server-f-ctos",
        "general-glo-ciphering-push",
        "general-glo-ciphering-no-system-title",
        "aes-key-wrap-rfc3394-4.1",
    ]
    .into_iter()
    .collect();
    let present: Vec<String> = vectors()
        .into_iter()
        .filter(|v| v["category"].as_str().is_some_and(|c| c.starts_with("security/")))
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(present.len(), checked.len(), "security vectors: {present:?}");
    for id in &present {
        assert!(checked.contains(id.as_str()), "security vector {id} is not checked");
    }
}
