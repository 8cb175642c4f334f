//! Client and server association state machines with security suite 1 talking in
//! memory: HLS mechanism 7 (ECDSA P-256, IEC 62056-5-3 §9.2.7.4) 4-pass authentication
//! with AES-GCM-128 ciphering under SC suite bits 1, then a ciphered GET; and every
//! refusal: a client signing with the wrong key, a server signing with the wrong key,
//! a tampered f(StoC), tampered challenges, short challenges, missing suite 1 keys.

use dlms::Obis;
use dlms::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, AssociateSourceDiagnostic, AuthenticationValue,
    MechanismName,
};
use dlms::association::{
    Authentication, ClientAssociation, ClientConfig, ClientError, ClientEvent, ClientState, CosemServer,
    RequestContext, ServerAssociation, ServerConfig, ServerState,
};
use dlms::codec::Codec;
use dlms::data::Data;
use dlms::security::ciphered_apdu::{CipheredApdu, is_ciphered_tag};
use dlms::security::context::Suite1Keys;
use dlms::security::hls_gmac::REPLY_TO_HLS_AUTHENTICATION;
use dlms::security::suite1::{Hls7Exchange, SigningKey, Suite1Error};
use dlms::security::{
    AesKey, GlobalKeys, SecurityContext, SecurityError, SecurityPolicy, SecuritySettings, SecuritySuite, SystemTitle,
};
use dlms::xdlms::{
    ActionRequest, ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess,
    XdlmsApdu,
};

const REGISTER: CosemAttributeDescriptor = CosemAttributeDescriptor::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2);

const EK: AesKey = AesKey::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
const AK: AesKey =
    AesKey::new([0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]);
const CLIENT_ST: SystemTitle = SystemTitle(*b"GRDHES01");
const SERVER_ST: SystemTitle = SystemTitle(*b"GEM\x00\x00\xBC\x61\x4E");

struct Model {
    register: u32,
    mechanisms: Vec<MechanismName>,
}

impl CosemServer for Model {
    fn get(
        &mut self,
        ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.mechanisms.push(ctx.mechanism.clone());
        if *a == REGISTER {
            Ok(Data::DoubleLongUnsigned(self.register))
        } else {
            Err(DataAccessResult::ObjectUndefined)
        }
    }

    fn set(
        &mut self,
        _ctx: &RequestContext,
        _a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
        _value: &Data,
    ) -> DataAccessResult {
        DataAccessResult::ReadWriteDenied
    }

    fn action(
        &mut self,
        _ctx: &RequestContext,
        _m: &CosemMethodDescriptor,
        _parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        Err(ActionResult::ObjectUndefined)
    }
}

fn model() -> Model {
    Model { register: 123_456, mechanisms: vec![] }
}

/// The digital signature keys of both sides.
struct Keys {
    client: SigningKey,
    server: SigningKey,
}

fn keys() -> Keys {
    Keys { client: SigningKey::generate().unwrap(), server: SigningKey::generate().unwrap() }
}

/// Client settings: signs with `own`, trusts `server_public` for f(CtoS).
fn client_settings(own: &SigningKey, server: &SigningKey) -> SecuritySettings {
    SecuritySettings::new(GlobalKeys::new(EK, AK), CLIENT_ST)
        .with_suite1(Suite1Keys { own_signing_key: own.clone(), peer_public_key: server.public_key() })
}

/// Server settings: signs with `own`, trusts `client` for f(StoC).
fn server_settings(own: &SigningKey, client: &SigningKey) -> SecuritySettings {
    SecuritySettings::new(GlobalKeys::new(EK, AK), SERVER_ST)
        .with_suite1(Suite1Keys { own_signing_key: own.clone(), peer_public_key: client.public_key() })
}

fn client_with(security: SecuritySettings) -> ClientAssociation {
    ClientAssociation::new(ClientConfig {
        authentication: Authentication::HighEcdsa,
        security: Some(security),
        ..ClientConfig::default()
    })
}

fn server_with(security: SecuritySettings) -> ServerAssociation {
    let config = ServerConfig { authentication: Authentication::HighEcdsa, ..ServerConfig::public() };
    ServerAssociation::with_security(config, 1, security)
}

/// Every (request, response) pair exchanged, in order.
type Wire = Vec<(Vec<u8>, Vec<u8>)>;

/// Moves APDUs between the machines until the client reports an event or an error;
/// returns it and every (request, response) pair exchanged.
fn exchange(
    client: &mut ClientAssociation,
    server: &mut ServerAssociation,
    m: &mut Model,
) -> (Result<Option<ClientEvent>, ClientError>, Wire) {
    let mut wire = vec![];
    loop {
        let Some(req) = client.poll_transmit() else { return (Ok(None), wire) };
        server.handle_apdu(&req, m);
        let resp = server.poll_transmit().expect("server answers every request");
        wire.push((req, resp.clone()));
        match client.handle_apdu(&resp) {
            Ok(None) => continue,
            other => return (other, wire),
        }
    }
}

fn security_control_of(bytes: &[u8]) -> u8 {
    CipheredApdu::from_bytes(bytes).unwrap().security_header().security_control.0
}

fn challenge(v: &Option<AuthenticationValue>) -> Vec<u8> {
    v.as_ref().and_then(|v| v.as_bytes()).expect("a challenge").to_vec()
}

#[test]
fn hls_ecdsa_with_suite1_ciphering_associates_and_gets_a_value() {
    let k = keys();
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(server_settings(&k.server, &k.client));
    let mut m = model();

    c.associate().unwrap();
    let aarq_bytes = c.poll_transmit().unwrap();
    let aarq = Aarq::from_bytes(&aarq_bytes).unwrap();
    assert_eq!(aarq.application_context_name, ApplicationContextName::LogicalNameWithCiphering);
    assert_eq!(aarq.mechanism_name, Some(MechanismName::HlsEcdsa));
    assert_eq!(aarq.calling_ap_title.as_deref(), Some(&CLIENT_ST.0[..]));
    let ctos = challenge(&aarq.calling_authentication_value);
    assert!((32..=64).contains(&ctos.len()), "CtoS of {} bytes", ctos.len());

    s.handle_apdu(&aarq_bytes, &mut m);
    let aare_bytes = s.poll_transmit().unwrap();
    let aare = Aare::from_bytes(&aare_bytes).unwrap();
    assert!(aare.is_accepted());
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationRequired)
    );
    assert_eq!(aare.mechanism_name, Some(MechanismName::HlsEcdsa));
    let stoc = challenge(&aare.responding_authentication_value);
    assert!((32..=64).contains(&stoc.len()) && stoc != ctos);
    assert_eq!(s.state(), ServerState::AuthenticationPending);

    // Pass 3 and 4, then a GET: every xDLMS APDU is ciphered with SC 0x31 (suite 1,
    // authenticated encryption).
    assert_eq!(c.handle_apdu(&aare_bytes).unwrap(), None);
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "{ev:?}");
    assert_eq!((c.state(), s.state()), (ClientState::Associated, ServerState::Associated));
    assert_eq!(s.poll_security_event(), None);
    c.get(REGISTER, None).unwrap();
    let (ev, get_wire) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev, Ok(Some(ClientEvent::Get(Ok(Data::DoubleLongUnsigned(123_456))))));
    for (req, resp) in wire.iter().chain(&get_wire) {
        assert!(is_ciphered_tag(req[0]) && is_ciphered_tag(resp[0]), "{req:02X?} / {resp:02X?}");
        assert_eq!((security_control_of(req), security_control_of(resp)), (0x31, 0x31));
    }
    assert_eq!(m.mechanisms, vec![MechanismName::HlsEcdsa]);
    assert_eq!(c.security().map(SecurityContext::peer_system_title), Some(Some(SERVER_ST)));
}

#[test]
fn f_stoc_on_the_wire_is_the_client_signature_over_both_titles_and_challenges() {
    // With a policy that protects nothing after association, the reply travels in clear
    // and f(StoC) can be checked against the pure HLS-ECDSA computation.
    let k = keys();
    let mut c = client_with(client_settings(&k.client, &k.server).with_policy(SecurityPolicy::NOTHING));
    let mut s = server_with(server_settings(&k.server, &k.client).with_policy(SecurityPolicy::NOTHING));
    let mut m = model();
    c.associate().unwrap();
    let aarq_bytes = c.poll_transmit().unwrap();
    let ctos = challenge(&Aarq::from_bytes(&aarq_bytes).unwrap().calling_authentication_value);
    s.handle_apdu(&aarq_bytes, &mut m);
    let aare_bytes = s.poll_transmit().unwrap();
    let stoc = challenge(&Aare::from_bytes(&aare_bytes).unwrap().responding_authentication_value);
    c.handle_apdu(&aare_bytes).unwrap();
    let reply = c.poll_transmit().unwrap();
    let Ok(XdlmsApdu::ActionRequest(ActionRequest::Normal {
        method_descriptor,
        method_invocation_parameters: Some(Data::OctetString(f_stoc)),
        ..
    })) = XdlmsApdu::from_bytes(&reply)
    else {
        panic!("not a reply_to_HLS_authentication: {reply:02X?}");
    };
    assert_eq!(method_descriptor, REPLY_TO_HLS_AUTHENTICATION);
    assert_eq!(f_stoc.len(), 64);
    let x = Hls7Exchange { client_system_title: CLIENT_ST, server_system_title: SERVER_ST, ctos: &ctos, stoc: &stoc };
    assert_eq!(x.verify_client_response(&k.client.public_key(), &f_stoc), Ok(()));
    assert_eq!(x.verify_client_response(&k.server.public_key(), &f_stoc), Err(Suite1Error::HlsVerificationFailed));
}

#[test]
fn a_client_signing_with_the_wrong_key_is_refused_by_the_server() {
    let k = keys();
    let impostor = SigningKey::generate().unwrap();
    let mut c = client_with(client_settings(&impostor, &k.server));
    let mut s = server_with(server_settings(&k.server, &k.client));
    let mut m = model();
    c.associate().unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev, Err(ClientError::AuthenticationRefused(ActionResult::ReadWriteDenied)));
    assert_eq!(c.state(), ClientState::Closed);
    assert_eq!(s.state(), ServerState::Idle);
    assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));
    assert!(m.mechanisms.is_empty());
}

#[test]
fn a_server_signing_with_the_wrong_key_is_refused_by_the_client() {
    let k = keys();
    let impostor = SigningKey::generate().unwrap();
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(server_settings(&impostor, &k.client));
    let mut m = model();
    c.associate().unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev, Err(ClientError::Security(SecurityError::HlsVerificationFailed)));
    assert_eq!(c.state(), ClientState::Closed);
    assert!(matches!(c.get(REGISTER, None), Err(ClientError::InvalidState { .. })));
}

/// Runs pass 1 to 3 with a policy that leaves the reply in clear and returns the
/// machines with the plain reply_to_HLS_authentication request not yet delivered.
fn up_to_pass3(k: &Keys) -> (ClientAssociation, ServerAssociation, Model, Vec<u8>) {
    let mut c = client_with(client_settings(&k.client, &k.server).with_policy(SecurityPolicy::NOTHING));
    let mut s = server_with(server_settings(&k.server, &k.client).with_policy(SecurityPolicy::NOTHING));
    let mut m = model();
    c.associate().unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), &mut m);
    c.handle_apdu(&s.poll_transmit().unwrap()).unwrap();
    let reply = c.poll_transmit().unwrap();
    assert!(!is_ciphered_tag(reply[0]));
    (c, s, m, reply)
}

#[test]
fn a_tampered_f_stoc_is_refused_by_the_server() {
    let k = keys();
    // The last byte of the request is the last byte of S in f(StoC).
    for flip in [0x01u8, 0x80] {
        let (mut c, mut s, mut m, mut reply) = up_to_pass3(&k);
        if let Some(b) = reply.last_mut() {
            *b ^= flip;
        }
        s.handle_apdu(&reply, &mut m);
        let resp = s.poll_transmit().unwrap();
        assert_eq!(c.handle_apdu(&resp), Err(ClientError::AuthenticationRefused(ActionResult::ReadWriteDenied)));
        assert_eq!(s.state(), ServerState::Idle);
        assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));
    }
    // A truncated f(StoC) (63 bytes, still an octet-string) is refused too.
    let (_c, mut s, mut m, reply) = up_to_pass3(&k);
    let mut short = reply[..reply.len() - 1].to_vec();
    let len_at = short.len() - 63 - 1;
    assert_eq!(short[len_at], 64);
    short[len_at] = 63;
    s.handle_apdu(&short, &mut m);
    assert!(s.poll_transmit().is_some());
    assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));
    assert_eq!(s.state(), ServerState::Idle);
}

#[test]
fn a_tampered_challenge_is_refused_by_the_server() {
    let k = keys();
    // StoC altered on the way to the client: the client signs another challenge.
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(server_settings(&k.server, &k.client));
    let mut m = model();
    c.associate().unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), &mut m);
    let mut aare = Aare::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    let mut stoc = challenge(&aare.responding_authentication_value);
    stoc[0] ^= 1;
    aare.responding_authentication_value = Some(AuthenticationValue::CharString(stoc));
    assert_eq!(c.handle_apdu(&aare.to_bytes()), Ok(None));
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev, Err(ClientError::AuthenticationRefused(ActionResult::ReadWriteDenied)));
    assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));

    // CtoS altered on the way to the server: f(StoC) signs both challenges, so the
    // client's signature over the genuine CtoS does not verify either.
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(server_settings(&k.server, &k.client));
    c.associate().unwrap();
    let mut aarq = Aarq::from_bytes(&c.poll_transmit().unwrap()).unwrap();
    let mut ctos = challenge(&aarq.calling_authentication_value);
    ctos[5] ^= 0x40;
    aarq.calling_authentication_value = Some(AuthenticationValue::CharString(ctos));
    s.handle_apdu(&aarq.to_bytes(), &mut m);
    assert_eq!(c.handle_apdu(&s.poll_transmit().unwrap()), Ok(None));
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev, Err(ClientError::AuthenticationRefused(ActionResult::ReadWriteDenied)));
    assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));
}

#[test]
fn a_tampered_f_ctos_is_refused_by_the_client() {
    let k = keys();
    let (mut c, mut s, mut m, reply) = up_to_pass3(&k);
    s.handle_apdu(&reply, &mut m);
    assert_eq!(s.state(), ServerState::Associated);
    let mut resp = s.poll_transmit().unwrap();
    assert!(!is_ciphered_tag(resp[0]));
    // The response ends with the octet-string f(CtoS): flip a bit of R.
    let r_at = resp.len() - 64;
    assert_eq!(resp[r_at - 1], 64);
    resp[r_at] ^= 0x02;
    assert_eq!(c.handle_apdu(&resp), Err(ClientError::Security(SecurityError::HlsVerificationFailed)));
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn a_ctos_shorter_than_32_bytes_is_refused_with_authentication_failure() {
    let k = keys();
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(server_settings(&k.server, &k.client));
    let mut m = model();
    c.associate().unwrap();
    let mut aarq = Aarq::from_bytes(&c.poll_transmit().unwrap()).unwrap();
    aarq.calling_authentication_value = Some(AuthenticationValue::CharString(vec![7; 31]));
    s.handle_apdu(&aarq.to_bytes(), &mut m);
    let aare = Aare::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    assert!(!aare.is_accepted());
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationFailure)
    );
}

#[test]
fn hls_ecdsa_needs_suite1_keys_on_both_sides() {
    let k = keys();
    // Client: settings without suite 1 keys, or no settings at all.
    for security in [Some(SecuritySettings::new(GlobalKeys::new(EK, AK), CLIENT_ST)), None] {
        let mut c = ClientAssociation::new(ClientConfig {
            authentication: Authentication::HighEcdsa,
            security,
            ..ClientConfig::default()
        });
        assert!(matches!(c.associate(), Err(ClientError::Security(SecurityError::MissingKey(_)))));
        assert_eq!(c.poll_transmit(), None);
    }
    // Server: a suite 0 server does not offer mechanism 7.
    let mut c = client_with(client_settings(&k.client, &k.server));
    let mut s = server_with(SecuritySettings::new(GlobalKeys::new(EK, AK), SERVER_ST));
    let mut m = model();
    c.associate().unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), &mut m);
    let aare = Aare::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationMechanismNameNotRecognised)
    );
}

#[test]
fn suite1_settings_raise_the_challenge_length_and_suite2_is_refused() {
    let k = keys();
    let settings = client_settings(&k.client, &k.server);
    assert_eq!(settings.suite, SecuritySuite::Suite1);
    assert_eq!(settings.challenge_len, 32);
    let mut suite2 = settings.clone();
    suite2.suite = SecuritySuite::Suite2;
    assert!(matches!(SecurityContext::new(&suite2), Err(SecurityError::UnsupportedSecuritySuite(2))));
    // A suite 0 peer cannot open suite 1 APDUs: the SC suite bits differ.
    let mut one = SecurityContext::new(&settings).unwrap();
    let mut zero = SecurityContext::new(&SecuritySettings::new(GlobalKeys::new(EK, AK), SERVER_ST)).unwrap();
    zero.set_peer_system_title(&CLIENT_ST.0).unwrap();
    let sent = one.protect(&[0xC0, 0x01, 0xC1, 0x00, 0x03, 1, 0, 1, 8, 0, 255, 2, 0]).unwrap();
    assert_eq!(security_control_of(&sent), 0x31);
    assert_eq!(zero.unprotect(&sent), Err(SecurityError::UnsupportedSecuritySuite(1)));
}
