//! Property tests of security suite 0 protection (IEC 62056-5-3 §9.2.7):
//! - `protect` / `unprotect` round-trip random APDUs in every security control mode,
//!   ciphering form, key scope and key set;
//! - any single-bit flip in the security control, invocation counter, system title,
//!   ciphertext or tag of an authenticated APDU is refused, and the refusal does not
//!   consume the counter (the genuine APDU is still accepted afterwards);
//! - a receiver accepts exactly the strictly increasing subsequence of counters;
//! - arbitrary input never panics.

use dlms::Codec;
use dlms::security::ciphered_apdu::{CipheredApdu, CipheredService, KeyScope, ServiceSpecificCiphered};
use dlms::security::control::{KeySet, Protection, SecurityControl, SecurityHeader};
use dlms::security::suite0::{self, CipherKeys};
use dlms::security::{
    AesKey, CipheringForm, GlobalKeys, ReplayWindow, SecurityContext, SecurityError, SecurityPolicy, SecuritySettings,
    SystemTitle,
};
use proptest::prelude::*;

const SENDER: SystemTitle = SystemTitle(*b"SENDER01");
const RECEIVER: SystemTitle = SystemTitle(*b"RECVR002");

fn keys() -> GlobalKeys {
    let mut k = GlobalKeys::new(AesKey::new([0x11; 16]), AesKey::new([0x22; 16]));
    k.global_broadcast_encryption_key = Some(AesKey::new([0x33; 16]));
    k
}

/// A sender and a receiver sharing keys, with the receiver's `policy`.
fn pair(policy: SecurityPolicy, dedicated: Option<AesKey>) -> (SecurityContext, SecurityContext) {
    let mut sender =
        SecurityContext::new(&SecuritySettings::new(keys(), SENDER).with_peer_system_title(RECEIVER)).unwrap();
    let mut receiver = SecurityContext::new(
        &SecuritySettings::new(keys(), RECEIVER).with_peer_system_title(SENDER).with_policy(policy),
    )
    .unwrap();
    sender.set_dedicated_key(dedicated.clone());
    receiver.set_dedicated_key(dedicated);
    (sender, receiver)
}

/// Plain APDU tags: the services with a service-specific ciphered form, and some
/// without (data-notification, exception-response, an unknown one).
const TAGS: [u8; 13] = [0x01, 0x08, 0x0E, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7, 0x0F, 0xD8, 0x77];

fn plain_apdu() -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(TAGS.to_vec()), prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(t, body)| {
        let mut a = vec![t];
        a.extend(body);
        a
    })
}

fn protection() -> impl Strategy<Value = Protection> {
    prop_oneof![
        Just(Protection::AuthenticatedEncryption),
        Just(Protection::AuthenticationOnly),
        Just(Protection::EncryptionOnly),
    ]
}

fn form(general: bool, scope: KeyScope) -> CipheringForm {
    if general { CipheringForm::General(scope) } else { CipheringForm::ServiceSpecific(scope) }
}

fn is_initiate(t: u8) -> bool {
    matches!(t, 0x01 | 0x08 | 0x0E)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn protect_unprotect_round_trips(
        apdu in plain_apdu(),
        protection in protection(),
        general in any::<bool>(),
        dedicated in any::<bool>(),
        broadcast in any::<bool>(),
        messages in 1usize..4,
    ) {
        let dedicated_key = dedicated.then(|| AesKey::new([0x44; 16]));
        let (mut sender, mut receiver) = pair(SecurityPolicy::NOTHING, dedicated_key);
        let scope = if dedicated && !broadcast { KeyScope::Dedicated } else { KeyScope::Global };
        let key_set = if broadcast { KeySet::Broadcast } else { KeySet::Unicast };
        for _ in 0..messages {
            let ciphered = sender.protect_with(&apdu, form(general, scope), protection, key_set).unwrap();
            let parsed = CipheredApdu::from_bytes(&ciphered).unwrap();
            let want_sc = SecurityControl::new(dlms::security::SecuritySuite::Suite0, protection, key_set);
            prop_assert_eq!(parsed.security_header().security_control, want_sc);
            let specific = !general && CipheredService::from_plain_tag(apdu[0]).is_some();
            prop_assert_eq!(matches!(parsed, CipheredApdu::ServiceSpecific(_)), specific);
            if protection.encrypted() && apdu.len() > 8 {
                prop_assert!(ciphered.windows(apdu.len()).all(|w| w != apdu.as_slice()), "plaintext visible");
            }
            match receiver.unprotect(&ciphered) {
                Ok(opened) => {
                    prop_assert!(protection.authenticated() || !is_initiate(apdu[0]));
                    prop_assert_eq!(&opened.apdu, &apdu);
                    prop_assert_eq!(opened.system_title, SENDER);
                }
                Err(e) => {
                    // Initiate APDUs must at least be authenticated, whatever the policy.
                    prop_assert!(!protection.authenticated() && is_initiate(apdu[0]), "{e:?}");
                    prop_assert!(matches!(e, SecurityError::PolicyViolation { .. }), "{e:?}");
                }
            }
        }
    }

    #[test]
    fn any_single_bit_flip_is_refused(
        apdu in plain_apdu(),
        authenticated_encryption in any::<bool>(),
        general in any::<bool>(),
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (protection, policy) = if authenticated_encryption {
            (Protection::AuthenticatedEncryption, SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED)
        } else {
            (Protection::AuthenticationOnly, SecurityPolicy::from_version0(1).unwrap())
        };
        let (mut sender, mut receiver) = pair(policy, None);
        let ciphered = sender.protect_with(&apdu, form(general, KeyScope::Global), protection, KeySet::Unicast).unwrap();
        let parsed = CipheredApdu::from_bytes(&ciphered).unwrap();
        // The security header starts right before the ciphered information.
        let header_at = ciphered.len() - SecurityHeader::LEN - parsed.ciphered_information().len();
        let mut positions: Vec<usize> = (header_at..ciphered.len()).collect();
        if let CipheredApdu::General(_) = parsed {
            positions.extend(2..10); // the 8 system title bytes after `DB 08`
        }
        let at = positions[pick.index(positions.len())];
        let mut flipped = ciphered.clone();
        flipped[at] ^= 1 << bit;
        let refused = receiver.unprotect(&flipped);
        prop_assert!(refused.is_err(), "flip of bit {bit} at {at} accepted");
        // The refusal consumed nothing: the genuine APDU is still accepted.
        prop_assert_eq!(receiver.unprotect(&ciphered).unwrap().apdu, apdu);
    }

    #[test]
    fn receiver_accepts_exactly_the_strictly_increasing_counters(
        counters in prop::collection::vec(0u32..24, 0..40),
        dedicated in any::<bool>(),
    ) {
        let key = AesKey::new([0x44; 16]);
        let (_, mut receiver) = pair(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED, dedicated.then(|| key.clone()));
        let k = keys();
        let ek = if dedicated { key } else { k.global_unicast_encryption_key.clone() };
        let scope = if dedicated { KeyScope::Dedicated } else { KeyScope::Global };
        let plain = [0xC4, 0x01, 0x81, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01];
        let mut window = ReplayWindow::new();
        let mut accepted = vec![];
        let mut reference = vec![];
        for ic in counters {
            let sc = SecurityControl::SUITE0_AUTHENTICATED_ENCRYPTED;
            let info = suite0::encrypt(
                sc,
                &SENDER,
                ic,
                CipherKeys { encryption_key: &ek, authentication_key: &k.authentication_key },
                &plain,
            )
            .unwrap();
            let apdu = CipheredApdu::ServiceSpecific(ServiceSpecificCiphered {
                service: CipheredService::GetResponse,
                scope,
                security_header: SecurityHeader { security_control: sc, invocation_counter: ic },
                ciphered_information: info,
            });
            match receiver.unprotect(&apdu.to_bytes()) {
                Ok(opened) => {
                    prop_assert_eq!(&opened.apdu[..], &plain[..]);
                    accepted.push(ic);
                }
                Err(SecurityError::Replay { received, last }) => {
                    prop_assert_eq!(received, ic);
                    prop_assert!(last >= ic);
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
            if window.accept(ic).is_ok() {
                reference.push(ic);
            }
        }
        // The reference: each value above every value before it.
        let mut max: Option<u32> = None;
        let increasing: Vec<u32> = reference
            .iter()
            .copied()
            .filter(|&v| {
                let keep = max.is_none_or(|m| v > m);
                if keep {
                    max = Some(v);
                }
                keep
            })
            .collect();
        prop_assert_eq!(&accepted, &reference);
        prop_assert_eq!(&accepted, &increasing);
        prop_assert!(accepted.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80), t in prop::sample::select(vec![0xC8u8, 0xCC, 0xD0, 0xDB, 0xDC, 0x21, 0x28])) {
        let (mut sender, mut receiver) = pair(SecurityPolicy::NOTHING, Some(AesKey::new([1; 16])));
        let _ = receiver.unprotect(&bytes);
        let mut tagged = vec![t];
        tagged.extend_from_slice(&bytes);
        let _ = receiver.unprotect(&tagged);
        let _ = sender.protect(&bytes);
        let _ = receiver.verify_hls_response(&bytes, b"12345678", None);
    }
}

#[test]
fn policy_decides_what_is_accepted() {
    let apdu = [0xC4, 0x01, 0x81, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01];
    for (protection, accepted) in [
        (Protection::AuthenticatedEncryption, true),
        (Protection::AuthenticationOnly, false),
        (Protection::EncryptionOnly, false),
    ] {
        let (mut sender, mut receiver) = pair(SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED, None);
        let c = sender.protect_with(&apdu, form(false, KeyScope::Global), protection, KeySet::Unicast).unwrap();
        assert_eq!(receiver.unprotect(&c).is_ok(), accepted, "{protection:?}");
    }
    // `protect` follows the sender's policy: nothing required means sent in clear.
    let mut clear =
        SecurityContext::new(&SecuritySettings::new(keys(), SENDER).with_policy(SecurityPolicy::NOTHING)).unwrap();
    assert_eq!(clear.protect(&apdu).unwrap(), apdu.to_vec());
    // ... except the Initiate APDUs, always authenticated and encrypted.
    assert_eq!(clear.protect(&[0x01, 0x00]).unwrap()[0], 0x21);
    // Signing policies need suite 1.
    let signing = SecurityPolicy::from_bits(0x10).unwrap();
    assert!(matches!(
        SecurityContext::new(&SecuritySettings::new(keys(), SENDER).with_policy(signing)),
        Err(SecurityError::UnsupportedPolicy(0x10))
    ));
}
