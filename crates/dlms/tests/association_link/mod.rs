//! Shared by the block-transfer tests: an in-memory object model that stores what is
//! written, and a link that moves APDUs between a client and a server association
//! machine, optionally losing some of them, and drives the client's timeout.

#![allow(dead_code)]

use std::collections::HashMap;

use dlms::Obis;
use dlms::association::{
    Authentication, ClientAssociation, ClientConfig, ClientError, ClientEvent, CosemServer, RequestContext,
    ServerAssociation, ServerConfig,
};
use dlms::data::Data;
use dlms::xdlms::{
    ActionResult, Conformance, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess,
};

/// A large profile-like array (GET only).
pub const BIG: CosemAttributeDescriptor = CosemAttributeDescriptor::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2);
/// A method that answers with the length of its encoded parameters.
pub const MEASURE: CosemMethodDescriptor = CosemMethodDescriptor::new(18, Obis::new(0, 0, 44, 0, 0, 255), 2);
/// A method that takes no parameters and returns nothing.
pub const PING: CosemMethodDescriptor = CosemMethodDescriptor::new(18, Obis::new(0, 0, 44, 0, 0, 255), 1);

/// Data object `0.0.96.99.i.255` attribute 2: a writable cell of the model.
pub fn cell(i: u8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(1, Obis::new(0, 0, 96, 99, i, 255), 2)
}

/// The value of BIG: `n` double-long-unsigned values.
pub fn big_value(n: u32) -> Data {
    Data::Array((0..n).map(Data::DoubleLongUnsigned).collect())
}

/// Stores every attribute written; records every method invoked.
#[derive(Default)]
pub struct Store {
    pub cells: HashMap<CosemAttributeDescriptor, Data>,
    pub big_len: u32,
    pub invoked: Vec<(CosemMethodDescriptor, Option<Data>)>,
    pub sets: usize,
}

impl Store {
    pub fn new(big_len: u32) -> Self {
        Store { big_len, ..Store::default() }
    }
}

impl CosemServer for Store {
    fn get(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        if *a == BIG {
            return Ok(big_value(self.big_len));
        }
        self.cells.get(a).cloned().ok_or(DataAccessResult::ObjectUndefined)
    }

    fn set(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        self.sets += 1;
        if a.class_id != 1 {
            return DataAccessResult::ReadWriteDenied;
        }
        self.cells.insert(*a, value.clone());
        DataAccessResult::Success
    }

    fn action(
        &mut self,
        _ctx: &RequestContext,
        m: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        self.invoked.push((*m, parameters.cloned()));
        if *m == MEASURE {
            let len = parameters.map_or(0, |p| p.to_bytes().len());
            Ok(Some(Data::DoubleLongUnsigned(len as u32)))
        } else if *m == PING {
            if parameters.is_some() { Err(ActionResult::TypeUnmatched) } else { Ok(None) }
        } else {
            Err(ActionResult::ObjectUndefined)
        }
    }
}

/// Which way an APDU travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// Every APDU put on the link, in order, with its direction and whether it was lost.
#[derive(Debug, Default)]
pub struct Trace {
    pub apdus: Vec<(Direction, Vec<u8>, bool)>,
    pub timeouts: usize,
}

impl Trace {
    /// The APDUs that travelled one way (including lost ones).
    pub fn sent(&self, d: Direction) -> Vec<&[u8]> {
        self.apdus.iter().filter(|(dir, _, _)| *dir == d).map(|(_, a, _)| a.as_slice()).collect()
    }
}

/// Moves APDUs until the client reports an event or an error. `lose(direction, index,
/// apdu)` decides whether the `index`-th APDU in that direction (0-based) is lost. When
/// neither side has anything to send, the client's timeout fires (at most `max_timeouts`
/// times).
pub fn run(
    client: &mut ClientAssociation,
    server: &mut ServerAssociation,
    store: &mut Store,
    mut lose: impl FnMut(Direction, usize, &[u8]) -> bool,
    max_timeouts: usize,
) -> (Result<ClientEvent, ClientError>, Trace) {
    let mut trace = Trace::default();
    let (mut to_server, mut to_client) = (0usize, 0usize);
    loop {
        let mut moved = false;
        while let Some(req) = client.poll_transmit() {
            moved = true;
            let lost = lose(Direction::ToServer, to_server, &req);
            to_server += 1;
            trace.apdus.push((Direction::ToServer, req.clone(), lost));
            if !lost {
                server.handle_apdu(&req, store);
            }
        }
        while let Some(resp) = server.poll_transmit() {
            moved = true;
            let lost = lose(Direction::ToClient, to_client, &resp);
            to_client += 1;
            trace.apdus.push((Direction::ToClient, resp.clone(), lost));
            if lost {
                continue;
            }
            match client.handle_apdu(&resp) {
                Ok(None) => {}
                Ok(Some(ev)) => return (Ok(ev), trace),
                Err(e) => return (Err(e), trace),
            }
        }
        if !moved {
            assert!(trace.timeouts < max_timeouts, "no progress after {} timeouts", trace.timeouts);
            trace.timeouts += 1;
            assert!(client.handle_timeout(), "the client could not recover");
        }
    }
}

/// A lossless exchange.
pub fn exchange(
    client: &mut ClientAssociation,
    server: &mut ServerAssociation,
    store: &mut Store,
) -> (Result<ClientEvent, ClientError>, Trace) {
    run(client, server, store, |_, _, _| false, 0)
}

/// The client configuration of these tests: management client with LLS, `client_pdu`
/// bytes, with or without general-block-transfer, GBT window `window`.
pub fn client_config(client_pdu: u16, gbt: bool, window: u8) -> ClientConfig {
    let base = ClientConfig::default();
    let proposed = if gbt {
        base.proposed_conformance.union(Conformance::GENERAL_BLOCK_TRANSFER)
    } else {
        base.proposed_conformance
    };
    ClientConfig {
        authentication: Authentication::Low { password: b"secret12".to_vec() },
        proposed_conformance: proposed,
        max_receive_pdu_size: client_pdu,
        gbt_window: window,
        ..base
    }
}

/// The server configuration of these tests: LLS, GBT offered, `server_pdu` bytes.
pub fn server_config(server_pdu: u16) -> ServerConfig {
    ServerConfig {
        authentication: Authentication::Low { password: b"secret12".to_vec() },
        conformance: ServerConfig::METER_CONFORMANCE_WITH_GBT,
        max_receive_pdu_size: server_pdu,
    }
}

/// An associated pair.
pub fn associated(
    config: ClientConfig,
    server: ServerAssociation,
    store: &mut Store,
) -> (ClientAssociation, ServerAssociation) {
    let mut client = ClientAssociation::new(config);
    let mut server = server;
    client.associate().unwrap();
    let (ev, _) = exchange(&mut client, &mut server, store);
    assert!(matches!(ev, Ok(ClientEvent::Associated(_))), "{ev:?}");
    (client, server)
}
