//! Client and server association state machines with security suite 0 talking in
//! memory: HLS-GMAC (mechanism 5) 4-pass authentication, ciphered GET (with block
//! transfer), SET, ACTION, release, dedicated keys, ciphering without HLS, pushes, and
//! every refusal: wrong keys, tampered APDUs, wrong f(StoC)/f(CtoS), replayed counters,
//! unciphered requests, downgrades, system title mismatches.

use dlms::Obis;
use dlms::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, AssociateSourceDiagnostic, MechanismName,
    UserInformation,
};
use dlms::association::{
    Authentication, ClientAssociation, ClientConfig, ClientError, ClientEvent, ClientState, CosemServer,
    RequestContext, ServerAssociation, ServerConfig, ServerState,
};
use dlms::codec::Codec;
use dlms::data::Data;
use dlms::security::ciphered_apdu::{CipheredApdu, is_ciphered_tag, tag};
use dlms::security::hls_gmac::REPLY_TO_HLS_AUTHENTICATION;
use dlms::security::{
    AesKey, CipheringForm, FileCounterStore, GlobalKeys, KeyId, KeyScope, SecurityContext, SecurityError,
    SecuritySettings, SharedCounterStore, SystemTitle, raise_outgoing_counter, shared_store,
};
use dlms::xdlms::{
    ActionRequest, ActionResponse, ActionResponseWithOptionalData, ActionResult, CosemAttributeDescriptor,
    CosemMethodDescriptor, DataAccessResult, DataNotification, ExceptionResponse, ExceptionServiceError, GetDataResult,
    GetRequest, InitiateResponse, InvokeIdAndPriority, LongInvokeIdAndPriority, SelectiveAccess, StateError, XdlmsApdu,
};

const REGISTER: CosemAttributeDescriptor = CosemAttributeDescriptor::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2);
const BIG: CosemAttributeDescriptor = CosemAttributeDescriptor::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2);
const RELAY: CosemMethodDescriptor = CosemMethodDescriptor::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1);

const EK: AesKey = AesKey::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
const AK: AesKey =
    AesKey::new([0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]);
const CLIENT_ST: SystemTitle = SystemTitle(*b"GRDHES01");
const SERVER_ST: SystemTitle = SystemTitle(*b"GEM\x00\x00\xBC\x61\x4E");

struct Model {
    register: u32,
    big_len: usize,
    actions: Vec<Option<Data>>,
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
        } else if *a == BIG {
            Ok(Data::Array((0..self.big_len as u32).map(Data::DoubleLongUnsigned).collect()))
        } else {
            Err(DataAccessResult::ObjectUndefined)
        }
    }

    fn set(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        match (*a == REGISTER, value) {
            (true, Data::DoubleLongUnsigned(v)) => {
                self.register = *v;
                DataAccessResult::Success
            }
            _ => DataAccessResult::TypeUnmatched,
        }
    }

    fn action(
        &mut self,
        _ctx: &RequestContext,
        m: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        if *m != RELAY {
            return Err(ActionResult::ObjectUndefined);
        }
        self.actions.push(parameters.cloned());
        Ok(None)
    }
}

fn model() -> Model {
    Model { register: 123_456, big_len: 2000, actions: vec![], mechanisms: vec![] }
}

fn client_settings() -> SecuritySettings {
    SecuritySettings::new(GlobalKeys::new(EK, AK), CLIENT_ST)
}

fn server_settings() -> SecuritySettings {
    SecuritySettings::new(GlobalKeys::new(EK, AK), SERVER_ST)
}

fn client_with(auth: Authentication, security: SecuritySettings, max_pdu: u16) -> ClientAssociation {
    ClientAssociation::new(ClientConfig {
        authentication: auth,
        max_receive_pdu_size: max_pdu,
        security: Some(security),
        ..ClientConfig::default()
    })
}

fn server_with(auth: Authentication, security: SecuritySettings) -> ServerAssociation {
    ServerAssociation::with_security(ServerConfig { authentication: auth, ..ServerConfig::public() }, 1, security)
}

/// Every (request, response) pair exchanged, in order.
type Wire = Vec<(Vec<u8>, Vec<u8>)>;

/// Moves APDUs between the machines until the client reports an event or an error,
/// checking every APDU after the AARQ/AARE is ciphered. Returns the event and every
/// APDU exchanged (request, response) in order.
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
        assert!(server.poll_transmit().is_none());
        wire.push((req, resp.clone()));
        match client.handle_apdu(&resp) {
            Ok(None) => continue,
            other => return (other, wire),
        }
    }
}

fn associate(client: &mut ClientAssociation, server: &mut ServerAssociation, m: &mut Model) -> InitiateResponse {
    client.associate().unwrap();
    let (ev, wire) = exchange(client, server, m);
    let Ok(Some(ClientEvent::Associated(initiate))) = ev else { panic!("association failed: {ev:?}") };
    assert_eq!(client.state(), ClientState::Associated);
    assert_eq!(server.state(), ServerState::Associated);
    for (req, resp) in &wire[1..] {
        assert!(is_ciphered_tag(req[0]) && is_ciphered_tag(resp[0]), "{req:02X?} / {resp:02X?}");
    }
    assert_eq!(server.poll_security_event(), None);
    initiate
}

fn hls_pair(max_pdu: u16) -> (ClientAssociation, ServerAssociation) {
    (
        client_with(Authentication::HighGmac, client_settings(), max_pdu),
        server_with(Authentication::HighGmac, server_settings()),
    )
}

#[test]
fn hls_gmac_four_pass_authentication_on_the_wire() {
    let (mut c, mut s) = hls_pair(0xFFFF);
    let mut m = model();
    c.associate().unwrap();
    let aarq_bytes = c.poll_transmit().unwrap();
    let aarq = Aarq::from_bytes(&aarq_bytes).unwrap();
    assert_eq!(aarq.application_context_name, ApplicationContextName::LogicalNameWithCiphering);
    assert_eq!(aarq.calling_ap_title.as_deref(), Some(&CLIENT_ST.0[..]));
    assert_eq!(aarq.mechanism_name, Some(MechanismName::HlsGmac));
    let ctos = aarq.calling_authentication_value.as_ref().and_then(|v| v.as_bytes()).unwrap().to_vec();
    assert!((8..=64).contains(&ctos.len()));
    let Some(UserInformation::Ciphered(ui)) = &aarq.user_information else { panic!("{aarq:?}") };
    assert_eq!(ui[0], tag::GLO_INITIATE_REQUEST);
    assert_eq!(ui[2], 0x30, "the InitiateRequest is authenticated and encrypted");

    s.handle_apdu(&aarq_bytes, &mut m);
    let aare_bytes = s.poll_transmit().unwrap();
    let aare = Aare::from_bytes(&aare_bytes).unwrap();
    assert!(aare.is_accepted());
    assert_eq!(
        aare.result_source_diagnostic,
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationRequired)
    );
    assert_eq!(aare.responding_ap_title.as_deref(), Some(&SERVER_ST.0[..]));
    assert_eq!(aare.mechanism_name, Some(MechanismName::HlsGmac));
    let stoc = aare.responding_authentication_value.as_ref().and_then(|v| v.as_bytes()).unwrap();
    assert!((8..=64).contains(&stoc.len()) && stoc != ctos.as_slice());
    let Some(UserInformation::Ciphered(ui)) = &aare.user_information else { panic!("{aare:?}") };
    assert_eq!(ui[0], tag::GLO_INITIATE_RESPONSE);
    assert_eq!(s.state(), ServerState::AuthenticationPending);

    // Pass 3: the client answers with a glo-action-request to reply_to_HLS_authentication.
    assert_eq!(c.handle_apdu(&aare_bytes).unwrap(), None);
    assert_eq!(c.state(), ClientState::AssociationPending);
    assert!(matches!(c.get(REGISTER, None), Err(ClientError::InvalidState { .. })));
    let reply = c.poll_transmit().unwrap();
    assert_eq!(reply[0], tag::GLO_ACTION_REQUEST);
    // The server can open it: it is the HLS method with a 17-byte f(StoC).
    let mut eavesdropper_with_keys =
        SecurityContext::new(&server_settings().with_peer_system_title(CLIENT_ST)).unwrap();
    let XdlmsApdu::ActionRequest(ActionRequest::Normal { method_descriptor, method_invocation_parameters, .. }) =
        XdlmsApdu::from_bytes(&eavesdropper_with_keys.unprotect(&reply).unwrap().apdu).unwrap()
    else {
        panic!("not an action-request")
    };
    assert_eq!(method_descriptor, REPLY_TO_HLS_AUTHENTICATION);
    let Some(Data::OctetString(f_stoc)) = method_invocation_parameters else { panic!("no f(StoC)") };
    assert_eq!((f_stoc.len(), f_stoc[0]), (17, 0x10));

    // Pass 4.
    s.handle_apdu(&reply, &mut m);
    let answer = s.poll_transmit().unwrap();
    assert_eq!(answer[0], tag::GLO_ACTION_RESPONSE);
    assert_eq!(s.state(), ServerState::Associated);
    let Some(ClientEvent::Associated(initiate)) = c.handle_apdu(&answer).unwrap() else { panic!("not associated") };
    assert!(initiate.negotiated_conformance.contains(dlms::xdlms::Conformance::GET));
    assert_eq!(c.security().unwrap().peer_system_title(), Some(SERVER_ST));
    assert_eq!(s.security().unwrap().peer_system_title(), Some(CLIENT_ST));
    assert_eq!(s.poll_security_event(), None);
}

#[test]
fn ciphered_get_set_action_and_release() {
    let (mut c, mut s) = hls_pair(0xFFFF);
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    c.get(REGISTER, None).unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev.unwrap(), Some(ClientEvent::Get(Ok(Data::DoubleLongUnsigned(123_456)))));
    assert_eq!((wire[0].0[0], wire[0].1[0]), (tag::GLO_GET_REQUEST, tag::GLO_GET_RESPONSE));
    assert_eq!(wire[0].0[2], 0x30, "requests are authenticated and encrypted");
    assert_eq!(m.mechanisms.last(), Some(&MechanismName::HlsGmac));
    c.set(REGISTER, Data::DoubleLongUnsigned(7)).unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev.unwrap(), Some(ClientEvent::Set(DataAccessResult::Success)));
    assert_eq!((wire[0].0[0], wire[0].1[0]), (tag::GLO_SET_REQUEST, tag::GLO_SET_RESPONSE));
    assert_eq!(m.register, 7);
    c.action(RELAY, Some(Data::Integer(1))).unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev.unwrap(), Some(ClientEvent::Action(Ok(None))));
    assert_eq!((wire[0].0[0], wire[0].1[0]), (tag::GLO_ACTION_REQUEST, tag::GLO_ACTION_RESPONSE));
    assert_eq!(m.actions, vec![Some(Data::Integer(1))]);
    c.release().unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m).0.unwrap(), Some(ClientEvent::Released));
    assert_eq!((c.state(), s.state()), (ClientState::Closed, ServerState::Released));
    assert_eq!(s.poll_security_event(), None);
}

#[test]
fn block_transfer_over_ciphered_apdus_respects_the_pdu_size() {
    let (mut c, mut s) = hls_pair(256);
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    c.get(BIG, None).unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    let want = Data::Array((0..2000u32).map(Data::DoubleLongUnsigned).collect());
    assert_eq!(ev.unwrap(), Some(ClientEvent::Get(Ok(want.clone()))));
    assert!(wire.len() >= want.to_bytes().len() / 256, "{} blocks", wire.len());
    for (req, resp) in &wire {
        assert_eq!((req[0], resp[0]), (tag::GLO_GET_REQUEST, tag::GLO_GET_RESPONSE));
        assert!(resp.len() <= 256, "ciphered APDU of {} bytes exceeds the client's 256", resp.len());
    }
    // Every APDU used a fresh counter: the IC of the responses strictly increases.
    let ics: Vec<u32> = wire.iter().map(|(_, r)| ic_of(r)).collect();
    assert!(ics.windows(2).all(|w| w[0] < w[1]), "{ics:?}");
    c.get(REGISTER, None).unwrap();
    assert!(matches!(exchange(&mut c, &mut s, &mut m).0, Ok(Some(ClientEvent::Get(Ok(_))))));
}

#[test]
fn dedicated_key_switches_to_ded_apdus() {
    let mut c = client_with(Authentication::HighGmac, client_settings().with_dedicated_key(true), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings());
    let mut m = model();
    c.associate().unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "{ev:?}");
    // The HLS exchange already uses the dedicated key.
    assert_eq!((wire[1].0[0], wire[1].1[0]), (tag::DED_ACTION_REQUEST, tag::DED_ACTION_RESPONSE));
    assert!(c.security().unwrap().has_dedicated_key() && s.security().unwrap().has_dedicated_key());
    c.get(BIG, None).unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut m);
    assert!(matches!(ev, Ok(Some(ClientEvent::Get(Ok(_))))));
    for (req, resp) in &wire {
        assert_eq!((req[0], resp[0]), (tag::DED_GET_REQUEST, tag::DED_GET_RESPONSE));
    }
    // A glo- APDU under the global key cannot stand in for a ded- one (even with a
    // counter above every one used).
    let forger_store = shared_store(dlms::security::MemoryCounterStore::new());
    raise_outgoing_counter(&forger_store, KeyId::GlobalUnicastEncryption, 1_000_000).unwrap();
    let mut forger =
        SecurityContext::new(&client_settings().with_counter_store(forger_store).with_peer_system_title(SERVER_ST))
            .unwrap();
    let plain = XdlmsApdu::GetRequest(GetRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(5, true, true),
        attribute_descriptor: REGISTER,
        access_selection: None,
    })
    .to_bytes();
    let mut ded = forger.protect(&plain).unwrap();
    ded[0] = tag::DED_GET_REQUEST;
    s.handle_apdu(&ded, &mut m);
    assert_exception(&s.poll_transmit().unwrap(), ExceptionServiceError::DecipheringError);
    assert_eq!(s.poll_security_event(), Some(SecurityError::AuthenticationFailed));
}

#[test]
fn ciphering_without_hls_and_with_lls() {
    for auth in [Authentication::None, Authentication::Low { password: b"12345678".to_vec() }] {
        let mut c = client_with(auth.clone(), client_settings(), 0xFFFF);
        let mut s = server_with(auth.clone(), server_settings());
        let mut m = model();
        c.associate().unwrap();
        let (ev, wire) = exchange(&mut c, &mut s, &mut m);
        assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "{auth:?}: {ev:?}");
        assert_eq!(wire.len(), 1, "no HLS exchange");
        c.get(REGISTER, None).unwrap();
        let (ev, wire) = exchange(&mut c, &mut s, &mut m);
        assert_eq!(ev.unwrap(), Some(ClientEvent::Get(Ok(Data::DoubleLongUnsigned(123_456)))));
        assert_eq!(wire[0].1[0], tag::GLO_GET_RESPONSE);
    }
}

/// The invocation counter in a ciphered APDU's security header.
fn ic_of(ciphered: &[u8]) -> u32 {
    CipheredApdu::from_bytes(ciphered).unwrap().security_header().invocation_counter
}

fn assert_exception(bytes: &[u8], want: ExceptionServiceError) {
    let XdlmsApdu::ExceptionResponse(e) = XdlmsApdu::from_bytes(bytes).unwrap() else {
        panic!("not an exception-response: {bytes:02X?}")
    };
    assert_eq!(e.service_error, want);
}

#[test]
fn wrong_keys_are_refused_at_the_initiate_request() {
    for (ek, ak) in [(AesKey::new([9; 16]), AK), (EK, AesKey::new([9; 16]))] {
        let mut c =
            client_with(Authentication::HighGmac, SecuritySettings::new(GlobalKeys::new(ek, ak), CLIENT_ST), 0xFFFF);
        let mut s = server_with(Authentication::HighGmac, server_settings());
        c.associate().unwrap();
        let (ev, _) = exchange(&mut c, &mut s, &mut model());
        assert_eq!(
            ev,
            Err(ClientError::Exception(ExceptionResponse {
                state_error: StateError::ServiceUnknown,
                service_error: ExceptionServiceError::DecipheringError,
            }))
        );
        assert_eq!(s.poll_security_event(), Some(SecurityError::AuthenticationFailed));
        assert_eq!((c.state(), s.state()), (ClientState::Closed, ServerState::Idle));
    }
}

#[test]
fn tampered_requests_and_responses_are_refused() {
    let (mut c, mut s) = hls_pair(0xFFFF);
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    // A flipped bit in the request's tag: the server refuses and reports it.
    c.get(REGISTER, None).unwrap();
    let mut req = c.poll_transmit().unwrap();
    let last = req.len() - 1;
    req[last] ^= 0x01;
    s.handle_apdu(&req, &mut m);
    assert_exception(&s.poll_transmit().unwrap(), ExceptionServiceError::DecipheringError);
    assert_eq!(s.poll_security_event(), Some(SecurityError::AuthenticationFailed));
    assert!(m.mechanisms.is_empty(), "nothing reached the object model");
    // A flipped bit in the response's ciphertext: the client refuses and closes.
    let (mut c, mut s) = hls_pair(0xFFFF);
    associate(&mut c, &mut s, &mut m);
    c.get(REGISTER, None).unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), &mut m);
    let mut resp = s.poll_transmit().unwrap();
    resp[8] ^= 0x80;
    assert_eq!(c.handle_apdu(&resp), Err(ClientError::Security(SecurityError::AuthenticationFailed)));
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn replayed_counters_are_refused_on_both_sides() {
    let (mut c, mut s) = hls_pair(0xFFFF);
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    c.set(REGISTER, Data::DoubleLongUnsigned(1)).unwrap();
    let req = c.poll_transmit().unwrap();
    s.handle_apdu(&req, &mut m);
    let resp = s.poll_transmit().unwrap();
    assert_eq!(c.handle_apdu(&resp).unwrap(), Some(ClientEvent::Set(DataAccessResult::Success)));
    let ic = ic_of(&req);
    // The attacker replays the SET: refused with the counter the server expects.
    m.register = 99;
    s.handle_apdu(&req, &mut m);
    assert_exception(&s.poll_transmit().unwrap(), ExceptionServiceError::InvocationCounterError(ic + 1));
    assert_eq!(s.poll_security_event(), Some(SecurityError::Replay { received: ic, last: ic }));
    assert_eq!(m.register, 99, "the replayed SET was not executed");
    // The attacker replays the response to the client's next request.
    c.get(REGISTER, None).unwrap();
    let _ = c.poll_transmit();
    let resp_ic = ic_of(&resp);
    assert_eq!(
        c.handle_apdu(&resp),
        Err(ClientError::Security(SecurityError::Replay { received: resp_ic, last: resp_ic }))
    );
}

#[test]
fn a_replayed_association_is_refused() {
    // Without HLS the glo-initiateRequest's counter protects against replaying a whole
    // recorded session into a new association (the store is shared across them).
    let store: SharedCounterStore = shared_store(dlms::security::MemoryCounterStore::new());
    let server_sec = || server_settings().with_counter_store(store.clone());
    let mut c = client_with(Authentication::None, client_settings(), 0xFFFF);
    let mut s = server_with(Authentication::None, server_sec());
    c.associate().unwrap();
    let (ev, wire) = exchange(&mut c, &mut s, &mut model());
    assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))));
    let recorded_aarq = wire[0].0.clone();
    let mut s2 = server_with(Authentication::None, server_sec());
    s2.handle_apdu(&recorded_aarq, &mut model());
    let resp = s2.poll_transmit().unwrap();
    assert!(matches!(
        XdlmsApdu::from_bytes(&resp).unwrap(),
        XdlmsApdu::ExceptionResponse(ExceptionResponse {
            service_error: ExceptionServiceError::InvocationCounterError(_),
            ..
        })
    ));
    assert!(matches!(s2.poll_security_event(), Some(SecurityError::Replay { .. })));
    assert_eq!(s2.state(), ServerState::Idle);
}

/// The AARQ→AARE of an HLS association, leaving the client before pass 3. Returns the
/// AARE bytes.
fn first_two_passes(c: &mut ClientAssociation, s: &mut ServerAssociation, m: &mut Model) -> Vec<u8> {
    c.associate().unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), m);
    s.poll_transmit().unwrap()
}

#[test]
fn wrong_f_stoc_is_refused_by_the_server() {
    let client_store = shared_store(dlms::security::MemoryCounterStore::new());
    let mut c =
        client_with(Authentication::HighGmac, client_settings().with_counter_store(client_store.clone()), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings());
    let mut m = model();
    let _aare = first_two_passes(&mut c, &mut s, &mut m);
    // Someone holding the ciphering keys but answering the challenge wrongly.
    let mut forger =
        SecurityContext::new(&client_settings().with_counter_store(client_store).with_peer_system_title(SERVER_ST))
            .unwrap();
    let mut bogus = forger.hls_response(b"not the StoC challenge").unwrap().to_bytes();
    bogus[16] ^= 1;
    let request = XdlmsApdu::ActionRequest(ActionRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(1, true, true),
        method_descriptor: REPLY_TO_HLS_AUTHENTICATION,
        method_invocation_parameters: Some(Data::OctetString(bogus)),
    });
    s.handle_apdu(&forger.protect(&request.to_bytes()).unwrap(), &mut m);
    let answer = forger.unprotect(&s.poll_transmit().unwrap()).unwrap();
    let XdlmsApdu::ActionResponse(ActionResponse::Normal { single_response, .. }) =
        XdlmsApdu::from_bytes(&answer.apdu).unwrap()
    else {
        panic!("not an action-response")
    };
    assert_eq!(single_response.result, ActionResult::ReadWriteDenied);
    assert_eq!(single_response.return_parameters, None);
    assert_eq!(s.poll_security_event(), Some(SecurityError::HlsVerificationFailed));
    assert_eq!(s.state(), ServerState::Idle);
    // Nothing is served after the failed authentication.
    let get = XdlmsApdu::GetRequest(GetRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(2, true, true),
        attribute_descriptor: REGISTER,
        access_selection: None,
    });
    s.handle_apdu(&forger.protect(&get.to_bytes()).unwrap(), &mut m);
    assert!(
        XdlmsApdu::from_bytes(&s.poll_transmit().unwrap()).is_ok_and(|a| matches!(a, XdlmsApdu::ExceptionResponse(_)))
    );
    assert!(m.mechanisms.is_empty());
}

#[test]
fn client_maps_a_refused_f_stoc_and_a_wrong_f_ctos() {
    for f_ctos in [None, Some(vec![0x10; 17])] {
        let server_store = shared_store(dlms::security::MemoryCounterStore::new());
        let mut c = client_with(Authentication::HighGmac, client_settings(), 0xFFFF);
        let mut s = server_with(Authentication::HighGmac, server_settings().with_counter_store(server_store.clone()));
        let mut m = model();
        let aare = first_two_passes(&mut c, &mut s, &mut m);
        assert_eq!(c.handle_apdu(&aare).unwrap(), None);
        let reply = c.poll_transmit().unwrap();
        // A fake server (with the keys) answers pass 3 itself.
        let mut fake =
            SecurityContext::new(&server_settings().with_counter_store(server_store).with_peer_system_title(CLIENT_ST))
                .unwrap();
        let XdlmsApdu::ActionRequest(req) = XdlmsApdu::from_bytes(&fake.unprotect(&reply).unwrap().apdu).unwrap()
        else {
            panic!("not an action-request")
        };
        let single_response = match &f_ctos {
            None => ActionResponseWithOptionalData { result: ActionResult::ReadWriteDenied, return_parameters: None },
            Some(f) => ActionResponseWithOptionalData {
                result: ActionResult::Success,
                return_parameters: Some(GetDataResult::Data(Data::OctetString(f.clone()))),
            },
        };
        let answer = XdlmsApdu::ActionResponse(ActionResponse::Normal {
            invoke_id_and_priority: req.invoke_id_and_priority(),
            single_response,
        });
        let result = c.handle_apdu(&fake.protect(&answer.to_bytes()).unwrap());
        match f_ctos {
            None => assert_eq!(result, Err(ClientError::AuthenticationRefused(ActionResult::ReadWriteDenied))),
            Some(_) => assert_eq!(result, Err(ClientError::Security(SecurityError::HlsVerificationFailed))),
        }
        assert_eq!(c.state(), ClientState::Closed);
    }
}

#[test]
fn the_server_serves_nothing_before_hls_completes() {
    let client_store = shared_store(dlms::security::MemoryCounterStore::new());
    let mut c =
        client_with(Authentication::HighGmac, client_settings().with_counter_store(client_store.clone()), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings());
    let mut m = model();
    let _ = first_two_passes(&mut c, &mut s, &mut m);
    let mut early =
        SecurityContext::new(&client_settings().with_counter_store(client_store).with_peer_system_title(SERVER_ST))
            .unwrap();
    let get = XdlmsApdu::GetRequest(GetRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(2, true, true),
        attribute_descriptor: REGISTER,
        access_selection: None,
    });
    s.handle_apdu(&early.protect(&get.to_bytes()).unwrap(), &mut m);
    assert_exception(&s.poll_transmit().unwrap(), ExceptionServiceError::OperationNotPossible);
    let other_method = XdlmsApdu::ActionRequest(ActionRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(3, true, true),
        method_descriptor: RELAY,
        method_invocation_parameters: None,
    });
    s.handle_apdu(&early.protect(&other_method.to_bytes()).unwrap(), &mut m);
    let answer = early.unprotect(&s.poll_transmit().unwrap()).unwrap();
    let XdlmsApdu::ActionResponse(ActionResponse::Normal { single_response, .. }) =
        XdlmsApdu::from_bytes(&answer.apdu).unwrap()
    else {
        panic!("not an action-response")
    };
    assert_eq!(single_response.result, ActionResult::ReadWriteDenied);
    assert!(m.mechanisms.is_empty() && m.actions.is_empty(), "nothing reached the object model");
    assert_eq!(s.state(), ServerState::AuthenticationPending);
}

#[test]
fn unciphered_requests_are_refused_in_a_ciphered_association() {
    let (mut c, mut s) = hls_pair(0xFFFF);
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    let plain = XdlmsApdu::GetRequest(GetRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(1, true, true),
        attribute_descriptor: REGISTER,
        access_selection: None,
    });
    s.handle_apdu(&plain.to_bytes(), &mut m);
    assert_exception(&s.poll_transmit().unwrap(), ExceptionServiceError::DecipheringError);
    assert_eq!(s.poll_security_event(), Some(SecurityError::Unprotected { apdu: "get-request" }));
    assert!(m.mechanisms.is_empty());
    // And the client refuses an unciphered response.
    c.get(REGISTER, None).unwrap();
    let _ = c.poll_transmit();
    let plain_response = XdlmsApdu::GetResponse(dlms::xdlms::GetResponse::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(1, true, true),
        result: GetDataResult::Data(Data::DoubleLongUnsigned(1)),
    });
    assert_eq!(
        c.handle_apdu(&plain_response.to_bytes()),
        Err(ClientError::Security(SecurityError::Unprotected { apdu: "get-response" }))
    );
}

#[test]
fn unciphered_and_mismatched_associations_are_refused() {
    // A plain (no-ciphering) client against a ciphered server.
    let mut c = ClientAssociation::new(ClientConfig::default());
    let mut s = server_with(Authentication::None, server_settings());
    c.associate().unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut model());
    assert!(matches!(
        ev,
        Err(ClientError::AssociationRejected {
            diagnostic: AssociateSourceDiagnostic::ServiceUser(
                AcseServiceUserDiagnostic::ApplicationContextNameNotSupported
            ),
            ..
        })
    ));
    // HLS-GMAC without security settings cannot even start.
    let mut c =
        ClientAssociation::new(ClientConfig { authentication: Authentication::HighGmac, ..ClientConfig::default() });
    assert!(matches!(c.associate(), Err(ClientError::Security(SecurityError::MissingKey(_)))));
    // A client pinned to another server system title.
    let other = SystemTitle(*b"OTHER001");
    let mut c = client_with(Authentication::HighGmac, client_settings().with_peer_system_title(other), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings());
    c.associate().unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut model());
    assert_eq!(
        ev,
        Err(ClientError::Security(SecurityError::SystemTitleMismatch { expected: other, received: SERVER_ST }))
    );
    // A server pinned to another client system title.
    let mut c = client_with(Authentication::HighGmac, client_settings(), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings().with_peer_system_title(other));
    c.associate().unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut model());
    assert!(matches!(
        ev,
        Err(ClientError::AssociationRejected {
            diagnostic: AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::CallingApTitleNotRecognized),
            ..
        })
    ));
    assert_eq!(
        s.poll_security_event(),
        Some(SecurityError::SystemTitleMismatch { expected: other, received: CLIENT_ST })
    );
    // A client that proposes HLS to a server requiring it, with a wrong LLS-only server.
    let mut c = client_with(Authentication::HighGmac, client_settings(), 0xFFFF);
    let mut s = server_with(Authentication::Low { password: b"x".to_vec() }, server_settings());
    c.associate().unwrap();
    assert!(matches!(exchange(&mut c, &mut s, &mut model()).0, Err(ClientError::AssociationRejected { .. })));
}

#[test]
fn a_server_that_skips_hls_is_refused_by_the_client() {
    let mut c = client_with(Authentication::HighGmac, client_settings(), 0xFFFF);
    c.associate().unwrap();
    let _ = c.poll_transmit();
    let mut fake = SecurityContext::new(&server_settings().with_peer_system_title(CLIENT_ST)).unwrap();
    let initiate = InitiateResponse::new(ServerConfig::METER_CONFORMANCE, 1024);
    let aare = Aare::accepted(ApplicationContextName::LogicalNameWithCiphering, initiate.clone())
        .with_responding_ap_title(SERVER_ST.0)
        .with_user_information(UserInformation::Ciphered(fake.protect(&initiate.to_bytes()).unwrap()));
    assert_eq!(
        c.handle_apdu(&aare.to_bytes()),
        Err(ClientError::Security(SecurityError::HlsNotPerformed("the AARE did not ask for the HLS-GMAC exchange")))
    );
    // And an AARE with a plain InitiateResponse in the ciphered context.
    let mut c = client_with(Authentication::None, client_settings(), 0xFFFF);
    c.associate().unwrap();
    let _ = c.poll_transmit();
    let plain = Aare::accepted(ApplicationContextName::LogicalNameWithCiphering, initiate)
        .with_responding_ap_title(SERVER_ST.0);
    assert_eq!(
        c.handle_apdu(&plain.to_bytes()),
        Err(ClientError::Security(SecurityError::Unprotected { apdu: "InitiateResponse" }))
    );
}

#[test]
fn ciphered_push_reaches_the_client() {
    let server_store = shared_store(dlms::security::MemoryCounterStore::new());
    let mut c = client_with(Authentication::HighGmac, client_settings(), 0xFFFF);
    let mut s = server_with(Authentication::HighGmac, server_settings().with_counter_store(server_store.clone()));
    let mut m = model();
    associate(&mut c, &mut s, &mut m);
    let mut pusher =
        SecurityContext::new(&server_settings().with_counter_store(server_store).with_peer_system_title(CLIENT_ST))
            .unwrap();
    let push = DataNotification {
        long_invoke_id_and_priority: LongInvokeIdAndPriority(7),
        date_time: None,
        notification_body: Data::DoubleLongUnsigned(42),
    };
    let ciphered = pusher.protect(&XdlmsApdu::DataNotification(push.clone()).to_bytes()).unwrap();
    assert_eq!(ciphered[0], tag::GENERAL_GLO_CIPHERING);
    assert_eq!(c.handle_apdu(&ciphered).unwrap(), Some(ClientEvent::DataNotification(push)));
    assert_eq!(
        pusher.protect_as(&[0x0F], CipheringForm::General(KeyScope::Dedicated)),
        Err(SecurityError::MissingKey("dedicated"))
    );
}

#[test]
fn counters_persist_across_associations_and_restarts() {
    let dir = std::env::temp_dir().join(format!("gridedge-dlms-assoc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client_file = dir.join("client.txt");
    let server_file = dir.join("server.txt");
    let _ = std::fs::remove_file(&client_file);
    let _ = std::fs::remove_file(&server_file);
    let mut first_ics = vec![];
    for round in 0..2 {
        // A "restart": fresh stores read from the files each round.
        let cs = shared_store(FileCounterStore::open(&client_file).unwrap());
        let ss = shared_store(FileCounterStore::open(&server_file).unwrap());
        let mut c = client_with(Authentication::HighGmac, client_settings().with_counter_store(cs), 0xFFFF);
        let mut s = server_with(Authentication::HighGmac, server_settings().with_counter_store(ss));
        let mut m = model();
        c.associate().unwrap();
        let (ev, wire) = exchange(&mut c, &mut s, &mut m);
        assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "round {round}: {ev:?}");
        let aarq = Aarq::from_bytes(&wire[0].0).unwrap();
        let Some(UserInformation::Ciphered(ui)) = aarq.user_information else { panic!() };
        first_ics.push(ic_of(&ui));
        c.get(REGISTER, None).unwrap();
        assert!(matches!(exchange(&mut c, &mut s, &mut m).0, Ok(Some(ClientEvent::Get(Ok(_))))));
        // Simulate a crash: the machines are leaked, so no reservation is given back.
        std::mem::forget(c);
        std::mem::forget(s);
    }
    assert!(first_ics[1] > first_ics[0] + 3, "{first_ics:?}: the second run resumes above the reserved block");
    let _ = std::fs::remove_dir_all(&dir);
}
