//! Ciphered xDLMS APDUs of security suite 0 (IEC 62056-5-3 §9.2.7, §9.5; DLMS UA 1000-2
//! Green Book §9.2): `security::CipheredApdu` decoded with `Codec`, and
//! `SecurityContext::unprotect` with the Green Book example keys (EK
//! 000102030405060708090A0B0C0D0E0F, AK D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF, system title
//! 4D4D4D0000BC614E). Never panics, and:
//! * decode → encode → decode gives the same value, `decode` consumes exactly the
//!   encoding, and the accessors agree with the variant;
//! * `unprotect` fails whenever `CipheredApdu` does not decode; when it succeeds, the
//!   plaintext re-enciphered under the same security header gives the same ciphered
//!   information, and the same bytes a second time are a replay.
//!
//! Three contexts see each input: one with the peer system title pinned, the default
//! policy (authenticated and encrypted) and a dedicated key (= EK), so ded- APDUs can
//! be opened; one with no pinned title and no policy (any protection is accepted; the
//! title comes from general-ciphering APDUs); one with the title pinned and no policy
//! (so authentication-only and encryption-only APDUs open).
#![no_main]

use dlms::security::context::SecurityContext;
use dlms::security::suite0::{self, CipherKeys};
use dlms::security::{
    AesKey, CipheredApdu, CipheringForm, GlobalKeys, SecurityError, SecurityPolicy, SecuritySettings, SystemTitle,
};
use dlms::{Codec, Reader};
use dlms_fuzz::roundtrip::codec_round_trip;
use libfuzzer_sys::fuzz_target;

const EK: [u8; 16] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F];
const AK: [u8; 16] = [0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF];
const PEER_TITLE: [u8; 8] = [0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E];
const OWN_TITLE: [u8; 8] = [0x47, 0x45, 0x44, 0x00, 0x00, 0x00, 0x00, 0x01];

fn keys() -> GlobalKeys {
    GlobalKeys::new(AesKey::new(EK), AesKey::new(AK))
}

fn check_unprotect(ctx: &mut SecurityContext, input: &[u8], decoded: Option<&CipheredApdu>) {
    let result = ctx.unprotect(input);
    let Ok(opened) = result else {
        return;
    };
    let apdu = decoded.unwrap_or_else(|| panic!("unprotect accepted bytes CipheredApdu rejects: {opened:?}"));
    assert_eq!(opened.security_header, apdu.security_header());
    let scope = match opened.form {
        CipheringForm::ServiceSpecific(s) | CipheringForm::General(s) => s,
    };
    assert_eq!(scope, apdu.scope());
    assert!(!opened.apdu.is_empty(), "unprotect returned an empty APDU");
    // The key that opened it: EK in every case here (the dedicated key is EK too).
    let key = AesKey::new(EK);
    let ak = AesKey::new(AK);
    let header = opened.security_header;
    let keys = CipherKeys { encryption_key: &key, authentication_key: &ak };
    let again =
        suite0::encrypt(header.security_control, &opened.system_title, header.invocation_counter, keys, &opened.apdu)
            .unwrap_or_else(|e| panic!("re-enciphering an opened APDU failed: {e}"));
    assert_eq!(again, apdu.ciphered_information(), "re-enciphering does not give the ciphered information back");
    match ctx.unprotect(input) {
        Err(SecurityError::Replay { .. }) => {}
        other => panic!("the same APDU twice is not a replay: {other:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let mut r = Reader::new(input);
    let decoded = CipheredApdu::decode(&mut r).ok().filter(|_| r.position() == input.len());
    if let Some(apdu) = &decoded {
        codec_round_trip(apdu);
        assert_eq!(apdu.tag(), input[0]);
        assert!(input.ends_with(apdu.ciphered_information()), "ciphered information is not the tail of the APDU");
        assert_eq!(CipheredApdu::from_bytes(input).as_ref(), Ok(apdu));
    }

    let pinned = SecuritySettings::new(keys(), SystemTitle(OWN_TITLE)).with_peer_system_title(SystemTitle(PEER_TITLE));
    let mut ctx = SecurityContext::new(&pinned).expect("context with the Green Book keys");
    ctx.set_dedicated_key(Some(AesKey::new(EK)));
    check_unprotect(&mut ctx, input, decoded.as_ref());

    let open = SecuritySettings::new(keys(), SystemTitle(OWN_TITLE)).with_policy(SecurityPolicy::NOTHING);
    let mut ctx = SecurityContext::new(&open).expect("context with the Green Book keys");
    check_unprotect(&mut ctx, input, decoded.as_ref());

    let lax = open.with_peer_system_title(SystemTitle(PEER_TITLE));
    let mut ctx = SecurityContext::new(&lax).expect("context with the Green Book keys");
    check_unprotect(&mut ctx, input, decoded.as_ref());
});
