//! Service-specific block transfer and the with-list services between the client and
//! server association machines in memory (IEC 62056-5-3 §9.3.6-§9.3.8): SET with
//! datablocks, ACTION with pblocks, SET/ACTION/GET with list of many items (also in
//! blocks), values of random sizes (proptest, with and without general-block-transfer),
//! refused out-of-order and malformed blocks, and unsolicited event-notifications.

mod association_link;

use association_link::{Direction, MEASURE, PING, Store, associated, cell, client_config, exchange, server_config};
use dlms::Codec;
use dlms::Obis;
use dlms::association::{ClientConfig, ClientError, ClientEvent, ClientState, ServerAssociation};
use dlms::data::Data;
use dlms::xdlms::{
    ActionRequest, ActionResponse, ActionResult, AttributeDescriptorWithSelection, Conformance,
    CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, DataBlockSA, EventNotificationRequest,
    InvokeIdAndPriority, SetRequest, SetResponse, XdlmsApdu,
};
use proptest::prelude::*;

const INVOKE: InvokeIdAndPriority = InvokeIdAndPriority::new(5, true, true);

fn apdu(bytes: &[u8]) -> XdlmsApdu {
    XdlmsApdu::from_bytes(bytes).unwrap()
}

fn item(a: CosemAttributeDescriptor) -> AttributeDescriptorWithSelection {
    AttributeDescriptorWithSelection::new(a)
}

fn db(last_block: bool, block_number: u32, raw: &[u8]) -> DataBlockSA {
    DataBlockSA { last_block, block_number, raw_data: raw.to_vec() }
}

/// Sends one request to the server and returns its single answer.
fn ask(s: &mut ServerAssociation, store: &mut Store, request: XdlmsApdu) -> XdlmsApdu {
    s.handle_apdu(&request.to_bytes(), store);
    let reply = apdu(&s.poll_transmit().expect("an answer"));
    assert!(s.poll_transmit().is_none());
    reply
}

#[test]
fn long_set_travels_in_datablocks_within_the_server_pdu() {
    let mut store = Store::new(0);
    let (mut c, mut s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(128), 1), &mut store);
    let value = Data::OctetString((0..1000u32).map(|i| (i % 251) as u8).collect());
    c.set(cell(1), value.clone()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Set(DataAccessResult::Success));
    assert_eq!(store.cells.get(&cell(1)), Some(&value));
    assert_eq!(store.sets, 1, "the object model sees the assembled value once");
    let requests: Vec<XdlmsApdu> = trace.sent(Direction::ToServer).iter().map(|a| apdu(a)).collect();
    assert!(trace.sent(Direction::ToServer).iter().all(|a| a.len() <= 128));
    let n = requests.len();
    assert!(n >= 1000 / 128, "{n} blocks");
    let mut raw = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let block = match r {
            XdlmsApdu::SetRequest(SetRequest::WithFirstDataBlock { datablock, attribute_descriptor, .. }) if i == 0 => {
                assert_eq!(*attribute_descriptor, cell(1));
                datablock
            }
            XdlmsApdu::SetRequest(SetRequest::WithDataBlock { datablock, .. }) if i > 0 => datablock,
            other => panic!("request {i}: {other:?}"),
        };
        assert_eq!((block.block_number, block.last_block), (i as u32 + 1, i + 1 == n));
        raw.extend_from_slice(&block.raw_data);
    }
    assert_eq!(raw, value.to_bytes());
    let responses: Vec<XdlmsApdu> = trace.sent(Direction::ToClient).iter().map(|a| apdu(a)).collect();
    for (i, r) in responses.iter().enumerate() {
        match r {
            XdlmsApdu::SetResponse(SetResponse::DataBlock { block_number, .. }) => {
                assert_eq!(*block_number, i as u32 + 1)
            }
            XdlmsApdu::SetResponse(SetResponse::LastDataBlock { result, block_number, .. }) => {
                assert_eq!((i + 1, *result, *block_number), (n, DataAccessResult::Success, n as u32));
            }
            other => panic!("response {i}: {other:?}"),
        }
    }
}

#[test]
fn long_action_travels_in_pblocks() {
    let mut store = Store::new(0);
    let (mut c, mut s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(100), 1), &mut store);
    let params = Data::Array((0..200u16).map(Data::LongUnsigned).collect());
    c.action(MEASURE, Some(params.clone())).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    let len = params.to_bytes().len() as u32;
    assert_eq!(ev.unwrap(), ClientEvent::Action(Ok(Some(Data::DoubleLongUnsigned(len)))));
    assert_eq!(store.invoked, vec![(MEASURE, Some(params))]);
    let kinds: Vec<(u8, u8)> = trace.apdus.iter().map(|(_, a, _)| (a[0], a[1])).collect();
    assert_eq!(kinds[0], (0xC3, 4), "action-request-with-first-pblock");
    assert_eq!(kinds[1], (0xC7, 4), "action-response-next-pblock");
    assert_eq!(kinds[2], (0xC3, 6), "action-request-with-pblock");
    assert_eq!(*kinds.last().unwrap(), (0xC7, 1), "action-response-normal");
    assert!(trace.sent(Direction::ToServer).iter().all(|a| a.len() <= 100));
}

#[test]
fn set_and_get_with_list_of_many_attributes() {
    let mut store = Store::new(0);
    // 120 attributes: the descriptors (1200 bytes) fit the server's 1500-byte PDU, the
    // values do not (set-request-with-list-and-first-datablock); the results do not fit
    // the 256-byte client PDU (get-response-with-datablock).
    let (mut c, mut s) =
        associated(client_config(256, false, 1), ServerAssociation::new(server_config(1500), 1), &mut store);
    let mut items: Vec<(AttributeDescriptorWithSelection, Data)> =
        (0..120u8).map(|i| (item(cell(i)), Data::DoubleLongUnsigned(u32::from(i) * 1000))).collect();
    // Item 7 is not writable (class 3): its result is read-write-denied, in its place.
    items[7].0 = item(CosemAttributeDescriptor::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2));
    c.set_with_list(items.clone()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    let mut want = vec![DataAccessResult::Success; 120];
    want[7] = DataAccessResult::ReadWriteDenied;
    assert_eq!(ev.unwrap(), ClientEvent::SetWithList(want));
    assert_eq!((trace.apdus[0].1[0], trace.apdus[0].1[1]), (0xC1, 5), "with-list-and-first-datablock");
    let last = apdu(trace.sent(Direction::ToClient).last().unwrap());
    assert!(matches!(last, XdlmsApdu::SetResponse(SetResponse::LastDataBlockWithList { .. })), "{last:?}");
    assert!(trace.sent(Direction::ToServer).len() > 1);
    assert!(trace.sent(Direction::ToServer).iter().all(|a| a.len() <= 1500));

    c.get_with_list(items.iter().map(|(a, _)| a.clone()).collect()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    let ClientEvent::GetWithList(results) = ev.unwrap() else { panic!() };
    assert_eq!(results.len(), 120);
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert_eq!(*r, Err(DataAccessResult::ObjectUndefined));
        } else {
            assert_eq!(*r, Ok(Data::DoubleLongUnsigned(i as u32 * 1000)));
        }
    }
    assert!(trace.sent(Direction::ToClient).iter().all(|a| a.len() <= 256 && a[0] == 0xC4 && a[1] == 2));

    // A short list travels in one APDU each way.
    c.set_with_list(vec![(item(cell(200)), Data::Boolean(true)), (item(cell(201)), Data::Unsigned(3))]).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::SetWithList(vec![DataAccessResult::Success; 2]));
    assert_eq!(trace.apdus.len(), 2);
    assert_eq!((trace.apdus[1].1[0], trace.apdus[1].1[1]), (0xC5, 5));
}

#[test]
fn action_with_list_short_and_in_pblocks() {
    let mut store = Store::new(0);
    let (mut c, mut s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(128), 1), &mut store);
    let unknown = CosemMethodDescriptor::new(18, Obis::new(0, 0, 44, 0, 9, 255), 1);
    let params = Data::OctetString(vec![3; 10]);
    c.action_with_list(vec![(MEASURE, params.clone()), (PING, Data::NullData), (unknown, Data::NullData)]).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(
        ev.unwrap(),
        ClientEvent::ActionWithList(vec![
            Ok(Some(Data::DoubleLongUnsigned(params.to_bytes().len() as u32))),
            Ok(None),
            Err(ActionResult::ObjectUndefined)
        ])
    );
    assert_eq!(trace.apdus.len(), 2);
    // null-data reaches the model as "no parameters".
    assert_eq!(store.invoked[1], (PING, None));

    // 40 methods (360 bytes of descriptors) with 860 bytes of parameters, server PDU 512.
    let (mut c, mut s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(512), 1), &mut store);
    let many: Vec<(CosemMethodDescriptor, Data)> =
        (0..40u32).map(|i| (MEASURE, Data::OctetString(vec![0; i as usize]))).collect();
    c.action_with_list(many.clone()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    let want: Vec<_> =
        many.iter().map(|(_, p)| Ok(Some(Data::DoubleLongUnsigned(p.to_bytes().len() as u32)))).collect();
    assert_eq!(ev.unwrap(), ClientEvent::ActionWithList(want));
    assert_eq!((trace.apdus[0].1[0], trace.apdus[0].1[1]), (0xC3, 5), "with-list-and-first-pblock");
    assert!(trace.sent(Direction::ToServer).len() > 1);
    assert!(trace.sent(Direction::ToServer).iter().all(|a| a.len() <= 512));
}

#[test]
fn the_server_refuses_out_of_order_and_malformed_blocks() {
    let mut store = Store::new(0);
    let (mut c, mut s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(1024), 1), &mut store);
    let value = Data::OctetString(vec![9; 20]).to_bytes();
    let first = |block| {
        XdlmsApdu::SetRequest(SetRequest::WithFirstDataBlock {
            invoke_id_and_priority: INVOKE,
            attribute_descriptor: cell(1),
            access_selection: None,
            datablock: block,
        })
    };
    let next = |invoke, block| {
        XdlmsApdu::SetRequest(SetRequest::WithDataBlock { invoke_id_and_priority: invoke, datablock: block })
    };
    let last_result = |r: XdlmsApdu| match r {
        XdlmsApdu::SetResponse(SetResponse::LastDataBlock { result, .. }) => result,
        other => panic!("{other:?}"),
    };
    // No long SET in progress.
    assert_eq!(
        last_result(ask(&mut s, &mut store, next(INVOKE, db(true, 2, &value)))),
        DataAccessResult::NoLongSetInProgress
    );
    // The first block must be number 1.
    assert_eq!(
        last_result(ask(&mut s, &mut store, first(db(false, 2, &value[..5])))),
        DataAccessResult::DataBlockNumberInvalid
    );
    // Block 1, then block 3: aborted; block 2 afterwards finds no transfer.
    assert!(matches!(
        ask(&mut s, &mut store, first(db(false, 1, &value[..5]))),
        XdlmsApdu::SetResponse(SetResponse::DataBlock { block_number: 1, .. })
    ));
    assert_eq!(
        last_result(ask(&mut s, &mut store, next(INVOKE, db(false, 3, &value[5..])))),
        DataAccessResult::DataBlockNumberInvalid
    );
    assert_eq!(
        last_result(ask(&mut s, &mut store, next(INVOKE, db(true, 2, &value[5..])))),
        DataAccessResult::NoLongSetInProgress
    );
    // Another invoke-id in the middle of a transfer.
    ask(&mut s, &mut store, first(db(false, 1, &value[..5])));
    let other = InvokeIdAndPriority::new(6, true, true);
    assert_eq!(
        last_result(ask(&mut s, &mut store, next(other, db(true, 2, &value[5..])))),
        DataAccessResult::LongSetAborted
    );
    // Blocks that do not assemble into one A-XDR value.
    ask(&mut s, &mut store, first(db(false, 1, &value[..5])));
    assert_eq!(
        last_result(ask(&mut s, &mut store, next(INVOKE, db(true, 2, &value[5..10])))),
        DataAccessResult::TypeUnmatched
    );
    assert!(store.cells.is_empty(), "nothing was written");
    // A list whose values do not match the attributes.
    let list = XdlmsApdu::SetRequest(SetRequest::WithListAndFirstDataBlock {
        invoke_id_and_priority: INVOKE,
        attribute_descriptor_list: vec![item(cell(1)), item(cell(2))],
        datablock: db(true, 1, &[0x01, 0x11, 0x05]),
    });
    assert_eq!(
        ask(&mut s, &mut store, list),
        XdlmsApdu::SetResponse(SetResponse::LastDataBlockWithList {
            invoke_id_and_priority: INVOKE,
            result: vec![DataAccessResult::OtherReason; 2],
            block_number: 1
        })
    );
    // ACTION: pblock without a transfer, out of sequence, next-pblock of a response.
    let refusal = |r: XdlmsApdu| match r {
        XdlmsApdu::ActionResponse(ActionResponse::Normal { single_response, .. }) => single_response.result,
        other => panic!("{other:?}"),
    };
    let pblock = |n, last| {
        XdlmsApdu::ActionRequest(ActionRequest::WithPBlock {
            invoke_id_and_priority: INVOKE,
            pblock: db(last, n, &[0]),
        })
    };
    assert_eq!(refusal(ask(&mut s, &mut store, pblock(2, true))), ActionResult::NoLongActionInProgress);
    let first_pblock = XdlmsApdu::ActionRequest(ActionRequest::WithFirstPBlock {
        invoke_id_and_priority: INVOKE,
        method_descriptor: MEASURE,
        pblock: db(false, 1, &value[..3]),
    });
    assert!(matches!(
        ask(&mut s, &mut store, first_pblock),
        XdlmsApdu::ActionResponse(ActionResponse::NextPBlock { block_number: 1, .. })
    ));
    assert_eq!(refusal(ask(&mut s, &mut store, pblock(4, true))), ActionResult::LongActionAborted);
    let next_pblock =
        XdlmsApdu::ActionRequest(ActionRequest::NextPBlock { invoke_id_and_priority: INVOKE, block_number: 1 });
    assert_eq!(refusal(ask(&mut s, &mut store, next_pblock)), ActionResult::NoLongActionInProgress);
    assert!(store.invoked.is_empty());
    // The association is still fine.
    c.set(cell(1), Data::Unsigned(1)).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut store).0.unwrap(), ClientEvent::Set(DataAccessResult::Success));
}

#[test]
fn blocks_need_their_conformance_bits() {
    let mut store = Store::new(0);
    // A client that proposes neither block transfer with set/action nor GBT.
    let bare = Conformance::GET.union(Conformance::SET).union(Conformance::ACTION);
    let config = ClientConfig { proposed_conformance: bare, ..client_config(1024, false, 1) };
    let (mut c, mut s) = associated(config, ServerAssociation::new(server_config(128), 1), &mut store);
    assert!(matches!(
        c.set(cell(1), Data::OctetString(vec![0; 500])),
        Err(ClientError::RequestTooLarge { max: 128, .. })
    ));
    assert_eq!(c.state(), ClientState::Associated, "nothing was sent");
    assert!(c.poll_transmit().is_none());
    assert!(matches!(c.set_with_list(vec![]), Err(ClientError::NotNegotiated("multiple-references"))));
    // The server refuses datablocks that were not negotiated.
    let reply = ask(
        &mut s,
        &mut store,
        XdlmsApdu::SetRequest(SetRequest::WithFirstDataBlock {
            invoke_id_and_priority: INVOKE,
            attribute_descriptor: cell(1),
            access_selection: None,
            datablock: db(true, 1, &[0x11, 0x01]),
        }),
    );
    assert!(matches!(reply, XdlmsApdu::ExceptionResponse(_)), "{reply:?}");
}

#[test]
fn the_client_refuses_a_wrong_block_acknowledgement() {
    let mut store = Store::new(0);
    let (mut c, _s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(128), 1), &mut store);
    c.set(cell(1), Data::OctetString(vec![0; 500])).unwrap();
    let XdlmsApdu::SetRequest(SetRequest::WithFirstDataBlock { invoke_id_and_priority, .. }) =
        apdu(&c.poll_transmit().unwrap())
    else {
        panic!()
    };
    let ack = XdlmsApdu::SetResponse(SetResponse::DataBlock { invoke_id_and_priority, block_number: 2 });
    assert_eq!(c.handle_apdu(&ack.to_bytes()), Err(ClientError::BlockNumberMismatch { expected: 1, got: 2 }));
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn event_notifications_reach_the_client() {
    let mut store = Store::new(0);
    let (mut c, _s) =
        associated(client_config(1024, false, 1), ServerAssociation::new(server_config(1024), 1), &mut store);
    let event = EventNotificationRequest {
        time: None,
        attribute_descriptor: CosemAttributeDescriptor::new(1, Obis::new(0, 0, 96, 11, 0, 255), 2),
        attribute_value: Data::LongUnsigned(47),
    };
    let bytes = XdlmsApdu::EventNotificationRequest(event.clone()).to_bytes();
    assert_eq!(c.handle_apdu(&bytes), Ok(Some(ClientEvent::EventNotification(event))));
    assert_eq!(c.state(), ClientState::Associated);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// SET values and ACTION parameters of random sizes against random server PDU sizes,
    /// with datablocks or GBT: the object model receives exactly the value, and no
    /// request exceeds the server's max receive PDU size.
    #[test]
    fn values_of_random_sizes_arrive_intact(
        len in 0usize..4000,
        server_pdu in 64u16..700,
        gbt in any::<bool>(),
        window in 1u8..8,
        action in any::<bool>(),
        seed in any::<u8>(),
    ) {
        let mut store = Store::new(0);
        let server = ServerAssociation::new(server_config(server_pdu), 1).with_gbt_window(window);
        let (mut c, mut s) = associated(client_config(0xFFFF, gbt, window), server, &mut store);
        let value = Data::OctetString((0..len).map(|i| (i as u8).wrapping_mul(seed)).collect());
        if action {
            c.action(MEASURE, Some(value.clone())).unwrap();
        } else {
            c.set(cell(4), value.clone()).unwrap();
        }
        let (ev, trace) = exchange(&mut c, &mut s, &mut store);
        if action {
            prop_assert_eq!(ev.unwrap(), ClientEvent::Action(Ok(Some(Data::DoubleLongUnsigned(value.to_bytes().len() as u32)))));
            prop_assert_eq!(&store.invoked, &vec![(MEASURE, Some(value.clone()))]);
        } else {
            prop_assert_eq!(ev.unwrap(), ClientEvent::Set(DataAccessResult::Success));
            prop_assert_eq!(store.cells.get(&cell(4)), Some(&value));
        }
        for a in trace.sent(Direction::ToServer) {
            prop_assert!(a.len() <= usize::from(server_pdu), "{} > {}", a.len(), server_pdu);
            // GBT when negotiated, service-specific blocks otherwise, never both.
            let datablock = matches!((a[0], a[1]), (0xC1, 2 | 3) | (0xC3, 4 | 6));
            prop_assert!(!(gbt && datablock) && (gbt || a[0] != 0xE0), "{:02X?}", &a[..2]);
        }
    }
}
