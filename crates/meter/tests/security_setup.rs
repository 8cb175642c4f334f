//! The Security setup object (class 64, IEC 62056-6-2 §5.3.7) of a meter configured with
//! suite 0: its attributes, security_activate (only a stronger policy is accepted) and
//! key_transfer (RFC 3394 wrapped keys under the meter's master key), which changes the
//! keys of the management client's FUTURE associations, driven through the meter's own
//! server associations ([`MeterServerConfig::new_association`]) in memory.

use dlms::Obis;
use dlms::association::{
    Authentication, ClientAssociation, ClientConfig, ClientError, ClientEvent, ClientState, CosemServer,
    RequestContext, ServerAssociation, ServerState,
};
use dlms::data::Data;
use dlms::security::security_setup::{attribute_descriptor, method_descriptor, wrap_keys_for_transfer};
use dlms::security::{
    AesKey, GlobalKeys, KeyId, MemoryCounterStore, SecurityError, SecurityPolicy, SecuritySettings, SharedCounterStore,
    SystemTitle, shared_store,
};
use dlms::xdlms::{
    ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, ExceptionResponse,
    ExceptionServiceError, SelectiveAccess, StateError,
};
use jiff::Timestamp;
use meter::objects::security_setup::{SECURITY_SETUP_OBIS, SecuritySetup};
use meter::tcp_server::MeterServerConfig;
use meter::{MeterConfig, SimulatedMeter};

const EK: AesKey = AesKey::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
const AK: AesKey =
    AesKey::new([0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]);
const KEK: AesKey = AesKey::new([0x4B; 16]);
const NEW_EK: AesKey = AesKey::new([0xA5; 16]);
const CLIENT_ST: SystemTitle = SystemTitle(*b"GRDHES01");
const SERVER_ST: SystemTitle = SystemTitle(*b"GRD\x00\x00\x00\x00\x07");
const SERIAL: CosemAttributeDescriptor = CosemAttributeDescriptor::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2);
const MANAGEMENT: u16 = 1;

fn now() -> Timestamp {
    Timestamp::from_second(1_718_000_000).unwrap()
}

/// A meter whose management client uses HLS-GMAC with `settings`, with the Security setup
/// object attached over the same shared settings.
fn secured(settings: SecuritySettings, kek: Option<AesKey>) -> (SimulatedMeter, MeterServerConfig) {
    let config = MeterServerConfig::with_hls_gmac(settings);
    let mut m = SimulatedMeter::new("GE00000007", 7, MeterConfig::default()).unwrap();
    m.attach_security_setup(SecuritySetup::new(config.shared_security(MANAGEMENT).unwrap(), kek));
    (m, config)
}

fn server_settings() -> SecuritySettings {
    SecuritySettings::new(GlobalKeys::new(EK, AK), SERVER_ST)
}

fn get(m: &mut SimulatedMeter, attribute: i8) -> Result<Data, DataAccessResult> {
    m.get(now(), &attribute_descriptor(SECURITY_SETUP_OBIS, attribute), None)
}

fn action(m: &mut SimulatedMeter, method: i8, param: Option<Data>) -> Result<Option<Data>, ActionResult> {
    m.action(now(), &method_descriptor(SECURITY_SETUP_OBIS, method), param.as_ref())
}

#[test]
fn attributes_show_the_management_client_settings() {
    let (mut m, _) = secured(server_settings().with_peer_system_title(CLIENT_ST), Some(KEK));
    assert_eq!(get(&mut m, 1), Ok(Data::OctetString(vec![0, 0, 43, 0, 0, 255])));
    assert_eq!(get(&mut m, 2), Ok(Data::Enum(0x6C)), "version 1 bits: all authenticated and encrypted");
    assert_eq!(get(&mut m, 3), Ok(Data::Enum(0)), "suite 0");
    assert_eq!(get(&mut m, 4), Ok(Data::OctetString(b"GRDHES01".to_vec())));
    assert_eq!(get(&mut m, 5), Ok(Data::OctetString(vec![b'G', b'R', b'D', 0, 0, 0, 0, 7])));
    assert_eq!(get(&mut m, 6), Err(DataAccessResult::ReadWriteDenied), "certificates: suites 1/2 only");
    assert_eq!(get(&mut m, 7), Err(DataAccessResult::ObjectUnavailable));
    assert_eq!(
        m.get(now(), &CosemAttributeDescriptor::new(1, SECURITY_SETUP_OBIS, 2), None),
        Err(DataAccessResult::ObjectClassInconsistent)
    );
    // A client system title not configured (learned from each AARQ) reads empty.
    let (mut m, _) = secured(server_settings(), None);
    assert_eq!(get(&mut m, 4), Ok(Data::OctetString(vec![])));
    // No attribute is writable.
    assert_eq!(
        m.set(now(), &attribute_descriptor(SECURITY_SETUP_OBIS, 2), None, &Data::Enum(0x6C)),
        DataAccessResult::ReadWriteDenied
    );
}

#[test]
fn the_object_is_listed_only_when_security_is_configured() {
    let plain = SimulatedMeter::new("GE00000007", 7, MeterConfig::default()).unwrap();
    assert!(plain.objects().iter().all(|o| o.logical_name != SECURITY_SETUP_OBIS));
    let mut plain = plain;
    assert_eq!(get(&mut plain, 2), Err(DataAccessResult::ObjectUndefined));
    let (m, _) = secured(server_settings(), None);
    let o = m.objects().iter().find(|o| o.logical_name == SECURITY_SETUP_OBIS).unwrap();
    assert_eq!((o.class_id, o.version), (64, 1));
    assert_eq!(m.objects().len(), plain.objects().len() + 1);
}

#[test]
fn security_activate_only_strengthens_the_policy() {
    let authenticated = SecurityPolicy::from_version0(1).unwrap(); // 0x24
    let (mut m, config) = secured(server_settings().with_policy(authenticated), None);
    let shared = config.shared_security(MANAGEMENT).unwrap();
    assert_eq!(get(&mut m, 2), Ok(Data::Enum(0x24)));
    // Stronger: accepted, visible in the attribute and in the server's settings.
    assert_eq!(action(&mut m, 1, Some(Data::Enum(0x6C))), Ok(None));
    assert_eq!(get(&mut m, 2), Ok(Data::Enum(0x6C)));
    assert_eq!(shared.snapshot().policy, SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED);
    // The same policy again: accepted (not lower).
    assert_eq!(action(&mut m, 1, Some(Data::Enum(0x6C))), Ok(None));
    // Weaker, or different without covering the current one: refused, unchanged.
    for weaker in [0x24, 0x00, 0x48] {
        assert_eq!(action(&mut m, 1, Some(Data::Enum(weaker))), Err(ActionResult::OtherReason), "{weaker:#x}");
    }
    assert_eq!(action(&mut m, 1, Some(Data::Enum(0x01))), Err(ActionResult::OtherReason), "undefined bit 0");
    assert_eq!(action(&mut m, 1, Some(Data::Unsigned(0x6C))), Err(ActionResult::TypeUnmatched));
    assert_eq!(action(&mut m, 1, None), Err(ActionResult::TypeUnmatched));
    assert_eq!(get(&mut m, 2), Ok(Data::Enum(0x6C)));
    // key_agreement (suites 1/2) is not offered.
    assert_eq!(action(&mut m, 3, None), Err(ActionResult::ReadWriteDenied));
}

#[test]
fn key_transfer_is_refused_without_a_master_key_with_a_wrong_one_or_malformed() {
    let param = wrap_keys_for_transfer(&KEK, &[(KeyId::GlobalUnicastEncryption, NEW_EK)]);
    let (mut m, config) = secured(server_settings(), None);
    assert_eq!(action(&mut m, 2, Some(param.clone())), Err(ActionResult::ReadWriteDenied));

    let (mut m, config2) = secured(server_settings(), Some(AesKey::new([0x4C; 16])));
    assert_eq!(action(&mut m, 2, Some(param.clone())), Err(ActionResult::OtherReason), "wrong KEK");
    // All or none: a good key followed by one wrapped under another KEK changes nothing.
    let Data::Array(mut mixed) = wrap_keys_for_transfer(&AesKey::new([0x4C; 16]), &[(KeyId::Authentication, NEW_EK)])
    else {
        panic!()
    };
    let Data::Array(bad) = param.clone() else { panic!() };
    mixed.extend(bad);
    assert_eq!(action(&mut m, 2, Some(Data::Array(mixed))), Err(ActionResult::OtherReason));
    for bad in [None, Some(Data::Array(vec![])), Some(Data::OctetString(vec![0; 24]))] {
        assert_eq!(action(&mut m, 2, bad.clone()), Err(ActionResult::TypeUnmatched), "{bad:?}");
    }
    for c in [config, config2] {
        assert_eq!(c.shared_security(MANAGEMENT).unwrap().snapshot().keys, GlobalKeys::new(EK, AK));
    }
}

/// The meter as the association's object model at a fixed time.
struct Model<'a>(&'a mut SimulatedMeter);

impl CosemServer for Model<'_> {
    fn get(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.0.get(now(), a, access)
    }

    fn set(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        self.0.set(now(), a, access, value)
    }

    fn action(
        &mut self,
        _ctx: &RequestContext,
        m: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        self.0.action(now(), m, parameters)
    }
}

/// Moves APDUs until the client reports an event or an error.
fn exchange(
    c: &mut ClientAssociation,
    s: &mut ServerAssociation,
    m: &mut SimulatedMeter,
) -> Result<Option<ClientEvent>, ClientError> {
    loop {
        let Some(req) = c.poll_transmit() else { return Ok(None) };
        s.handle_apdu(&req, &mut Model(m));
        let resp = s.poll_transmit().expect("the server answers every request");
        match c.handle_apdu(&resp) {
            Ok(None) => continue,
            other => return other,
        }
    }
}

fn client(ek: AesKey, counters: &SharedCounterStore) -> ClientAssociation {
    ClientAssociation::new(ClientConfig {
        authentication: Authentication::HighGmac,
        security: Some(SecuritySettings::new(GlobalKeys::new(ek, AK), CLIENT_ST).with_counter_store(counters.clone())),
        ..ClientConfig::default()
    })
}

fn associate(c: &mut ClientAssociation, s: &mut ServerAssociation, m: &mut SimulatedMeter) {
    c.associate().unwrap();
    let ev = exchange(c, s, m);
    assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "{ev:?}");
    assert_eq!(s.state(), ServerState::Associated);
}

fn read_serial(c: &mut ClientAssociation, s: &mut ServerAssociation, m: &mut SimulatedMeter) {
    c.get(SERIAL, None).unwrap();
    assert_eq!(exchange(c, s, m), Ok(Some(ClientEvent::Get(Ok(Data::OctetString(b"GE00000007".to_vec()))))));
}

#[test]
fn key_transfer_changes_the_keys_of_future_associations_only() {
    let (mut m, config) = secured(server_settings(), Some(KEK));
    let client_counters = shared_store(MemoryCounterStore::new());

    // Association 1 with the old key transfers a new global unicast encryption key.
    let mut c = client(EK, &client_counters);
    let mut s = config.new_association(MANAGEMENT).unwrap();
    associate(&mut c, &mut s, &mut m);
    let param = wrap_keys_for_transfer(&KEK, &[(KeyId::GlobalUnicastEncryption, NEW_EK)]);
    c.action(method_descriptor(SECURITY_SETUP_OBIS, 2), Some(param)).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m), Ok(Some(ClientEvent::Action(Ok(None)))));
    assert_eq!(config.shared_security(MANAGEMENT).unwrap().snapshot().keys, GlobalKeys::new(NEW_EK, AK));
    // The open association keeps its keys until released.
    read_serial(&mut c, &mut s, &mut m);
    c.release().unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m), Ok(Some(ClientEvent::Released)));

    // A new association with the old key is refused at the ciphered InitiateRequest.
    let mut old = client(EK, &client_counters);
    let mut s = config.new_association(MANAGEMENT).unwrap();
    old.associate().unwrap();
    assert_eq!(
        exchange(&mut old, &mut s, &mut m),
        Err(ClientError::Exception(ExceptionResponse {
            state_error: StateError::ServiceUnknown,
            service_error: ExceptionServiceError::DecipheringError,
        }))
    );
    assert_eq!((old.state(), s.state()), (ClientState::Closed, ServerState::Idle));

    // With the new key it is accepted and serves requests; the invocation counters carried
    // on (the server's store was kept, so the client's continuing counters are fresh).
    let mut new = client(NEW_EK, &client_counters);
    let mut s = config.new_association(MANAGEMENT).unwrap();
    associate(&mut new, &mut s, &mut m);
    read_serial(&mut new, &mut s, &mut m);

    // A client restarting its counters from scratch with the new key is refused as a
    // replay: counters were not reset by the key change.
    let mut fresh = client(NEW_EK, &shared_store(MemoryCounterStore::new()));
    let mut s = config.new_association(MANAGEMENT).unwrap();
    fresh.associate().unwrap();
    assert!(!matches!(exchange(&mut fresh, &mut s, &mut m), Ok(Some(ClientEvent::Associated(_)))));
    assert_ne!(s.state(), ServerState::Associated);
    assert!(matches!(s.poll_security_event(), Some(SecurityError::Replay { .. })));
}

#[test]
fn key_transfer_of_the_master_key_replaces_the_kek() {
    let (mut m, _) = secured(server_settings(), Some(KEK));
    let new_kek = AesKey::new([0x77; 16]);
    assert_eq!(action(&mut m, 2, Some(wrap_keys_for_transfer(&KEK, &[(KeyId::Master, new_kek.clone())]))), Ok(None));
    let next = wrap_keys_for_transfer(&KEK, &[(KeyId::Authentication, NEW_EK)]);
    assert_eq!(action(&mut m, 2, Some(next)), Err(ActionResult::OtherReason), "the old KEK no longer works");
    let next = wrap_keys_for_transfer(&new_kek, &[(KeyId::Authentication, NEW_EK)]);
    assert_eq!(action(&mut m, 2, Some(next)), Ok(None));
    assert_eq!(m.security_setup().unwrap().shared().snapshot().keys.authentication_key, NEW_EK);
}
