//! Client and server association state machines talking to each other in memory
//! (no sockets): association with no authentication and LLS, refused passwords and
//! contexts, GET (normal, block transfer, with list), SET, ACTION, release, and requests
//! outside an association.

use dlms::Obis;
use dlms::acse::{AcseServiceUserDiagnostic, AssociateSourceDiagnostic, MechanismName};
use dlms::association::{
    Authentication, ClientAssociation, ClientConfig, ClientError, ClientEvent, ClientState, CosemServer,
    RequestContext, ServerAssociation, ServerConfig, ServerState,
};
use dlms::codec::Codec;
use dlms::data::Data;
use dlms::xdlms::{
    ActionResult, AttributeDescriptorWithSelection, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult,
    EntryDescriptor, GetRequest, InvokeIdAndPriority, SelectiveAccess, XdlmsApdu,
};

const REGISTER: CosemAttributeDescriptor = CosemAttributeDescriptor::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2);
const BIG: CosemAttributeDescriptor = CosemAttributeDescriptor::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2);
const RELAY: CosemMethodDescriptor = CosemMethodDescriptor::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1);

/// A tiny object model: one register (read/write for the management client only), one
/// large array, one method.
struct Model {
    register: u32,
    big_len: usize,
    actions: Vec<(u16, Option<Data>)>,
    last_access: Option<SelectiveAccess>,
}

impl CosemServer for Model {
    fn get(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.last_access = access.cloned();
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
        ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        if ctx.mechanism == MechanismName::None {
            return DataAccessResult::ReadWriteDenied;
        }
        match (*a == REGISTER, value) {
            (true, Data::DoubleLongUnsigned(v)) => {
                self.register = *v;
                DataAccessResult::Success
            }
            (true, _) => DataAccessResult::TypeUnmatched,
            _ => DataAccessResult::ObjectUndefined,
        }
    }

    fn action(
        &mut self,
        ctx: &RequestContext,
        m: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        if *m != RELAY {
            return Err(ActionResult::ObjectUndefined);
        }
        self.actions.push((ctx.client_sap, parameters.cloned()));
        Ok(Some(Data::Boolean(false)))
    }
}

fn model() -> Model {
    Model { register: 123_456, big_len: 2000, actions: vec![], last_access: None }
}

/// Moves APDUs between the two machines until the client reports an event or an error.
/// Returns the event and the number of APDUs the client sent.
fn exchange(
    client: &mut ClientAssociation,
    server: &mut ServerAssociation,
    m: &mut Model,
) -> (Result<Option<ClientEvent>, ClientError>, usize) {
    let mut sent = 0;
    loop {
        let Some(req) = client.poll_transmit() else { return (Ok(None), sent) };
        sent += 1;
        server.handle_apdu(&req, m);
        let resp = server.poll_transmit().expect("server answers every request");
        assert!(server.poll_transmit().is_none());
        match client.handle_apdu(&resp) {
            Ok(None) => continue,
            other => return (other, sent),
        }
    }
}

fn associated(
    auth_client: Authentication,
    auth_server: Authentication,
    max_pdu: u16,
) -> (ClientAssociation, ServerAssociation) {
    let mut client = ClientAssociation::new(ClientConfig {
        authentication: auth_client,
        max_receive_pdu_size: max_pdu,
        ..ClientConfig::default()
    });
    let mut server = ServerAssociation::new(ServerConfig { authentication: auth_server, ..ServerConfig::public() }, 16);
    client.associate().unwrap();
    let (ev, _) = exchange(&mut client, &mut server, &mut model());
    assert!(matches!(ev, Ok(Some(ClientEvent::Associated(_)))), "{ev:?}");
    assert_eq!(client.state(), ClientState::Associated);
    assert_eq!(server.state(), ServerState::Associated);
    (client, server)
}

#[test]
fn public_client_reads_a_register() {
    let (mut c, mut s) = associated(Authentication::None, Authentication::None, 0xFFFF);
    let mut m = model();
    c.get(REGISTER, None).unwrap();
    let (ev, sent) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev.unwrap(), Some(ClientEvent::Get(Ok(Data::DoubleLongUnsigned(123_456)))));
    assert_eq!(sent, 1);
    c.get(CosemAttributeDescriptor::new(1, Obis::new(0, 0, 99, 99, 99, 255), 2), None).unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(ev.unwrap(), Some(ClientEvent::Get(Err(DataAccessResult::ObjectUndefined))));
}

#[test]
fn large_value_travels_in_blocks_within_the_client_pdu_size() {
    let (mut c, mut s) = associated(Authentication::None, Authentication::None, 256);
    let mut m = model();
    c.get(BIG, None).unwrap();
    // Check every server APDU respects the negotiated size.
    let mut sent = 0;
    let event = loop {
        let req = c.poll_transmit().expect("client has a request");
        sent += 1;
        s.handle_apdu(&req, &mut m);
        let resp = s.poll_transmit().unwrap();
        assert!(resp.len() <= 256, "APDU of {} bytes exceeds the client's 256", resp.len());
        if let Some(ev) = c.handle_apdu(&resp).unwrap() {
            break ev;
        }
    };
    let want = Data::Array((0..2000u32).map(Data::DoubleLongUnsigned).collect());
    assert_eq!(event, ClientEvent::Get(Ok(want.clone())));
    let encoded = want.to_bytes().len();
    assert!(sent >= encoded / 256, "{sent} requests for {encoded} bytes");
    // The association is usable afterwards.
    c.get(REGISTER, None).unwrap();
    assert!(matches!(exchange(&mut c, &mut s, &mut m).0, Ok(Some(ClientEvent::Get(Ok(_))))));
}

#[test]
fn get_next_for_an_unknown_transfer_is_refused() {
    let (_c, mut s) = associated(Authentication::None, Authentication::None, 0xFFFF);
    let next = XdlmsApdu::GetRequest(GetRequest::Next {
        invoke_id_and_priority: InvokeIdAndPriority::new(3, true, true),
        block_number: 1,
    });
    s.handle_apdu(&next.to_bytes(), &mut model());
    let resp = XdlmsApdu::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    let XdlmsApdu::GetResponse(dlms::xdlms::GetResponse::WithDataBlock { result, .. }) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(result.result, dlms::xdlms::DataBlockGResult::DataAccessResult(DataAccessResult::NoLongGetInProgress));
}

#[test]
fn get_with_list_and_selective_access() {
    let (mut c, mut s) = associated(Authentication::None, Authentication::None, 0xFFFF);
    let mut m = model();
    let entry = SelectiveAccess::Entry(EntryDescriptor {
        from_entry: 1,
        to_entry: 2,
        from_selected_value: 1,
        to_selected_value: 0,
    });
    c.get_with_list(vec![
        AttributeDescriptorWithSelection { attribute_descriptor: REGISTER, access_selection: None },
        AttributeDescriptorWithSelection {
            attribute_descriptor: CosemAttributeDescriptor::new(8, Obis::new(0, 0, 1, 0, 0, 255), 2),
            access_selection: None,
        },
    ])
    .unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut m);
    assert_eq!(
        ev.unwrap(),
        Some(ClientEvent::GetWithList(vec![
            Ok(Data::DoubleLongUnsigned(123_456)),
            Err(DataAccessResult::ObjectUndefined)
        ]))
    );
    c.get(REGISTER, Some(entry.clone())).unwrap();
    exchange(&mut c, &mut s, &mut m).0.unwrap();
    assert_eq!(m.last_access, Some(entry));
}

#[test]
fn lls_management_client_sets_and_acts() {
    let pw = Authentication::Low { password: b"12345678".to_vec() };
    let (mut c, mut s) = associated(pw.clone(), pw, 0xFFFF);
    let mut m = model();
    c.set(REGISTER, Data::DoubleLongUnsigned(7)).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m).0.unwrap(), Some(ClientEvent::Set(DataAccessResult::Success)));
    assert_eq!(m.register, 7);
    c.set(REGISTER, Data::Boolean(true)).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m).0.unwrap(), Some(ClientEvent::Set(DataAccessResult::TypeUnmatched)));
    c.action(RELAY, Some(Data::Integer(0))).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m).0.unwrap(), Some(ClientEvent::Action(Ok(Some(Data::Boolean(false))))));
    assert_eq!(m.actions, vec![(16, Some(Data::Integer(0)))]);
    c.release().unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut m).0.unwrap(), Some(ClientEvent::Released));
    assert_eq!(c.state(), ClientState::Closed);
    assert_eq!(s.state(), ServerState::Released);
}

#[test]
fn public_client_may_not_write() {
    let (mut c, mut s) = associated(Authentication::None, Authentication::None, 0xFFFF);
    c.set(REGISTER, Data::DoubleLongUnsigned(1)).unwrap();
    let (ev, _) = exchange(&mut c, &mut s, &mut model());
    assert_eq!(ev.unwrap(), Some(ClientEvent::Set(DataAccessResult::ReadWriteDenied)));
}

fn rejected_with(client_auth: Authentication, server_auth: Authentication) -> AssociateSourceDiagnostic {
    let mut c = ClientAssociation::new(ClientConfig { authentication: client_auth, ..ClientConfig::default() });
    let mut s = ServerAssociation::new(ServerConfig { authentication: server_auth, ..ServerConfig::public() }, 1);
    c.associate().unwrap();
    match exchange(&mut c, &mut s, &mut model()).0 {
        Err(ClientError::AssociationRejected { diagnostic, .. }) => {
            assert_eq!(c.state(), ClientState::Closed);
            assert_eq!(s.state(), ServerState::Idle);
            diagnostic
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn wrong_password_and_missing_authentication_are_rejected() {
    let server = Authentication::Low { password: b"secret!!".to_vec() };
    assert_eq!(
        rejected_with(Authentication::Low { password: b"guess".to_vec() }, server.clone()),
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationFailure)
    );
    assert_eq!(
        rejected_with(Authentication::None, server),
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationMechanismNameRequired)
    );
}

#[test]
fn requests_outside_an_association_get_an_exception() {
    let mut s = ServerAssociation::new(ServerConfig::public(), 16);
    let get = XdlmsApdu::GetRequest(GetRequest::Normal {
        invoke_id_and_priority: InvokeIdAndPriority::new(1, true, true),
        attribute_descriptor: REGISTER,
        access_selection: None,
    });
    s.handle_apdu(&get.to_bytes(), &mut model());
    let resp = XdlmsApdu::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    assert!(matches!(resp, XdlmsApdu::ExceptionResponse(_)), "{resp:?}");
    // Garbage is answered, not a panic.
    s.handle_apdu(&[0xC0, 0x01], &mut model());
    assert!(s.poll_transmit().is_some());
    s.handle_apdu(&[], &mut model());
    assert!(s.poll_transmit().is_some());
}

#[test]
fn client_refuses_requests_in_the_wrong_state_and_stray_apdus() {
    let mut c = ClientAssociation::new(ClientConfig::default());
    assert!(matches!(c.get(REGISTER, None), Err(ClientError::InvalidState { .. })));
    assert!(matches!(c.handle_apdu(&[0x63, 0x00]), Err(ClientError::Unexpected { .. })));
    assert!(matches!(c.handle_apdu(&[0xFF]), Err(ClientError::Decode(_))));
}
