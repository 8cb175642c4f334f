//! General-Block-Transfer (IEC 62056-5-3 §9.3.5, §9.4.6.13) between the client and
//! server association machines in memory: windowed responses and requests, loss of any
//! block or acknowledgement recovered through the client's timeout (fixed cases and a
//! property over random loss patterns), GBT over a ciphered association, real
//! Landis+Gyr GBT blocks from the shared captures, and refused malformed or
//! out-of-window blocks.

mod association_link;

use association_link::{
    BIG, Direction, MEASURE, Store, associated, big_value, cell, client_config, exchange, run, server_config,
};
use dlms::Codec;
use dlms::association::{BlockTransferError, ClientError, ClientEvent, ClientState, ServerAssociation, ServerConfig};
use dlms::data::Data;
use dlms::hdlc::FrameReader;
use dlms::security::{AesKey, GlobalKeys, SecuritySettings, SystemTitle, ciphered_apdu::is_ciphered_tag};
use dlms::xdlms::{
    BlockControl, DataNotification, ExceptionServiceError, GeneralBlockTransfer, GetRequest, InvokeIdAndPriority,
    XdlmsApdu,
};
use proptest::prelude::*;

const HAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/han");

fn gbt(bytes: &[u8]) -> GeneralBlockTransfer {
    match XdlmsApdu::from_bytes(bytes) {
        Ok(XdlmsApdu::GeneralBlockTransfer(b)) => b,
        other => panic!("not a general-block-transfer: {other:?}"),
    }
}

fn block(last: bool, streaming: bool, window: u8, number: u16, ack: u16, data: &[u8]) -> GeneralBlockTransfer {
    GeneralBlockTransfer {
        block_control: BlockControl { last_block: last, streaming, window },
        block_number: number,
        block_number_ack: ack,
        block_data: data.to_vec(),
    }
}

/// The Landis+Gyr E450 push of `amsreader/landis-gyr/gh740.hex`: three HDLC frames whose
/// information fields carry General-Block-Transfer blocks 1..=3 of one data-notification.
#[test]
fn real_landis_gyr_blocks_decode_and_reassemble() {
    let path = format!("{HAN}/amsreader/landis-gyr/gh740.hex");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(digits).unwrap();
    let mut reader = FrameReader::new();
    reader.push(&bytes);
    let mut blocks = Vec::new();
    while let Some(frame) = reader.next_frame() {
        let info = frame.unwrap().information;
        // The first frame starts with the LLC header E6 E7 00.
        let apdu = info.strip_prefix(&[0xE6, 0xE7, 0x00][..]).unwrap_or(info.as_slice());
        let b = GeneralBlockTransfer::from_bytes(apdu).unwrap();
        assert_eq!(b.to_bytes(), apdu, "re-encodes byte for byte");
        blocks.push(b);
    }
    let header: Vec<_> = blocks
        .iter()
        .map(|b| {
            (
                b.block_control.last_block,
                b.block_control.streaming,
                b.block_control.window,
                b.block_number,
                b.block_number_ack,
            )
        })
        .collect();
    assert_eq!(header, [(false, true, 0, 1, 0), (false, true, 0, 2, 0), (true, true, 0, 3, 0)]);
    assert_eq!(blocks.iter().map(|b| b.block_data.len()).collect::<Vec<_>>(), [0x70, 0x6C, 0x79]);
    let message: Vec<u8> = blocks.iter().flat_map(|b| b.block_data.iter().copied()).collect();
    let push = DataNotification::from_bytes(&message).unwrap();
    assert!(push.date_time.is_some());
    let Data::Structure(items) = &push.notification_body else { panic!("{:?}", push.notification_body) };
    assert!(!items.is_empty());
}

/// A GET whose value is ~10 kB, client PDU 256 bytes, client window 3: the server
/// answers in GBT, first one block (the client's window is unknown), then windows of 3.
#[test]
fn long_get_response_travels_in_windows() {
    let mut store = Store::new(2000);
    let (mut c, mut s) =
        associated(client_config(256, true, 3), ServerAssociation::new(server_config(1024), 1), &mut store);
    c.get(BIG, None).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(2000))));
    assert_eq!(c.state(), ClientState::Associated);

    let to_client: Vec<GeneralBlockTransfer> = trace.sent(Direction::ToClient).iter().map(|a| gbt(a)).collect();
    assert!(trace.sent(Direction::ToClient).iter().all(|a| a.len() <= 256), "every APDU within the client's PDU");
    let n = to_client.len() as u16;
    assert_eq!(to_client.iter().map(|b| b.block_number).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
    let encoded = big_value(2000).to_bytes().len() + 4; // + get-response-normal header
    assert_eq!(to_client.iter().map(|b| b.block_data.len()).sum::<usize>(), encoded);
    // Windows: block 1 alone, then (2,3,4), (5,6,7), ...: streaming clear at each window end.
    for b in &to_client {
        let window_end = b.block_number == 1 || (b.block_number - 1) % 3 == 0 || b.block_number == n;
        assert_eq!(b.block_control.streaming, !window_end, "block {}", b.block_number);
        assert_eq!(b.block_control.last_block, b.block_number == n);
        assert_eq!(b.block_control.window, 4, "the server announces its own window");
        assert_eq!(b.block_number_ack, 0, "the request came in one APDU");
    }
    // The client: the get-request, then one acknowledgement per window end but the last.
    let to_server = trace.sent(Direction::ToServer);
    assert_eq!(to_server[0][0], 0xC0);
    let acks: Vec<GeneralBlockTransfer> = to_server[1..].iter().map(|a| gbt(a)).collect();
    let window_ends: Vec<u16> = to_client
        .iter()
        .filter(|b| !b.block_control.streaming && !b.block_control.last_block)
        .map(|b| b.block_number)
        .collect();
    assert_eq!(acks.iter().map(|a| a.block_number_ack).collect::<Vec<_>>(), window_ends);
    assert!(acks.iter().all(|a| a.is_ack_only() && a.block_control.window == 3 && a.block_number == 0));
    // The association goes on.
    c.get(cell(1), None).unwrap();
    assert!(matches!(exchange(&mut c, &mut s, &mut store).0, Ok(ClientEvent::Get(Err(_)))));
}

/// Responses that fit stay in one APDU even with GBT negotiated; GBT was only negotiated
/// because both sides offered it.
#[test]
fn short_exchanges_do_not_use_gbt() {
    let mut store = Store::new(3);
    let (mut c, mut s) =
        associated(client_config(256, true, 3), ServerAssociation::new(server_config(1024), 1), &mut store);
    c.get(BIG, None).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(3))));
    assert_eq!(trace.apdus.len(), 2);
    assert_eq!(trace.apdus[1].1[0], 0xC4);
    // Without the server offering GBT the long GET uses get-response-with-datablock.
    let plain =
        ServerAssociation::new(ServerConfig { conformance: ServerConfig::METER_CONFORMANCE, ..server_config(1024) }, 1);
    let mut store = Store::new(2000);
    let (mut c, mut s) = associated(client_config(256, true, 3), plain, &mut store);
    c.get(BIG, None).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(2000))));
    assert!(trace.sent(Direction::ToClient).iter().all(|a| a[0] == 0xC4 && a[1] == 0x02));
}

/// Losses in the response: a block inside a window, a window's last block, the message's
/// last block and a client acknowledgement. The client notices gaps at window ends, and
/// asks again from its timeout when nothing arrives.
#[test]
fn lost_blocks_and_acknowledgements_are_recovered() {
    let mut store = Store::new(600);
    let (mut c, mut s) =
        associated(client_config(128, true, 4), ServerAssociation::new(server_config(1024), 1), &mut store);
    c.get(BIG, None).unwrap();
    let mut lost_blocks = Vec::new();
    let (ev, trace) = run(
        &mut c,
        &mut s,
        &mut store,
        |dir, i, apdu| {
            match dir {
                // block 3 (inside the 2nd window), the first copy of block 5 (a window end),
                // the first copy of the last block
                Direction::ToClient => {
                    let b = gbt(apdu);
                    let first_copy = !lost_blocks.contains(&b.block_number);
                    let lose = first_copy && (b.block_number == 3 || b.block_number == 5 || b.block_control.last_block);
                    if lose {
                        lost_blocks.push(b.block_number);
                    }
                    lose
                }
                // the client's 3rd APDU (its 2nd acknowledgement)
                Direction::ToServer => i == 2,
            }
        },
        10,
    );
    assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(600))));
    assert!(trace.timeouts >= 2, "the lost window end and last block need timeouts: {}", trace.timeouts);
    // After the gap the client asked for the blocks after 2 again.
    let acks: Vec<u16> = trace.sent(Direction::ToServer)[1..].iter().map(|a| gbt(a).block_number_ack).collect();
    assert!(acks.contains(&2), "acknowledged block 2 after losing block 3: {acks:?}");
}

/// A SET whose request exceeds the server's max receive PDU (256 bytes): the client
/// sends block 1, learns the server's window (2) from its acknowledgement, then streams
/// windows of 2; the server answers the GBT request in GBT.
#[test]
fn long_set_request_travels_in_windows_and_is_answered_in_gbt() {
    let mut store = Store::new(0);
    let server = ServerAssociation::new(server_config(256), 1).with_gbt_window(2);
    let (mut c, mut s) = associated(client_config(1024, true, 5), server, &mut store);
    let value = Data::OctetString((0..2000u32).map(|i| (i * 7) as u8).collect());
    c.set(cell(1), value.clone()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Set(dlms::xdlms::DataAccessResult::Success));
    assert_eq!(store.cells.get(&cell(1)), Some(&value));
    let to_server: Vec<GeneralBlockTransfer> = trace.sent(Direction::ToServer).iter().map(|a| gbt(a)).collect();
    assert!(trace.sent(Direction::ToServer).iter().all(|a| a.len() <= 256));
    assert!(!to_server[0].block_control.streaming, "block 1 alone");
    assert!(to_server[1].block_control.streaming && !to_server[2].block_control.streaming, "then windows of 2");
    assert!(to_server.iter().all(|b| b.block_control.window == 5));
    let to_client: Vec<GeneralBlockTransfer> = trace.sent(Direction::ToClient).iter().map(|a| gbt(a)).collect();
    let (response, acks) = to_client.split_last().unwrap();
    assert!(acks.iter().all(|a| a.is_ack_only() && a.block_control.window == 2));
    assert_eq!(
        acks.iter().map(|a| a.block_number_ack).collect::<Vec<_>>(),
        (1..).step_by(2).take(acks.len()).collect::<Vec<u16>>()
    );
    // The response: one block, acknowledging the request's last block.
    assert!(response.block_control.last_block);
    assert_eq!(response.block_number, 1);
    assert_eq!(response.block_number_ack, to_server.last().unwrap().block_number);
    assert_eq!(response.block_data[0], 0xC5);
}

/// Losses while the request travels: block 1, the server's acknowledgement, a block
/// inside a window and the request's last block.
#[test]
fn lost_request_blocks_are_resent() {
    let mut store = Store::new(0);
    let server = ServerAssociation::new(server_config(128), 1).with_gbt_window(3);
    let (mut c, mut s) = associated(client_config(1024, true, 2), server, &mut store);
    let params = Data::OctetString(vec![0x5A; 900]);
    c.action(MEASURE, Some(params.clone())).unwrap();
    let mut seen = Vec::new();
    let (ev, trace) = run(
        &mut c,
        &mut s,
        &mut store,
        |dir, i, apdu| match dir {
            Direction::ToServer => {
                let b = gbt(apdu);
                let first = !seen.contains(&b.block_number);
                seen.push(b.block_number);
                first && (b.block_number == 1 || b.block_number == 3 || b.block_control.last_block)
            }
            Direction::ToClient => i == 0,
        },
        10,
    );
    assert_eq!(ev.unwrap(), ClientEvent::Action(Ok(Some(Data::DoubleLongUnsigned(params.to_bytes().len() as u32)))));
    assert_eq!(store.invoked, vec![(MEASURE, Some(params))]);
    assert!(trace.timeouts >= 3, "{}", trace.timeouts);
}

/// A ciphered association: the blocks travel in clear, the message they carry is the
/// ciphered APDU; both directions.
#[test]
fn gbt_carries_ciphered_apdus() {
    let ek = AesKey::new([7; 16]);
    let ak = AesKey::new([9; 16]);
    let client_st = SystemTitle(*b"GRDHES01");
    let server_st = SystemTitle(*b"GEM00001");
    let mut config = client_config(200, true, 4);
    config.authentication = dlms::association::Authentication::HighGmac;
    config.security = Some(SecuritySettings::new(GlobalKeys::new(ek.clone(), ak.clone()), client_st));
    let server = ServerAssociation::with_security(
        ServerConfig { authentication: dlms::association::Authentication::HighGmac, ..server_config(300) },
        1,
        SecuritySettings::new(GlobalKeys::new(ek, ak), server_st),
    );
    let mut store = Store::new(500);
    let (mut c, mut s) = associated(config, server, &mut store);
    c.get(BIG, None).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(500))));
    let first = gbt(trace.sent(Direction::ToClient)[0]);
    assert!(is_ciphered_tag(first.block_data[0]), "the carried APDU is ciphered: {:02X}", first.block_data[0]);
    // A long SET in the other direction.
    let value = Data::OctetString(vec![1; 700]);
    c.set(cell(2), value.clone()).unwrap();
    let (ev, trace) = exchange(&mut c, &mut s, &mut store);
    assert_eq!(ev.unwrap(), ClientEvent::Set(dlms::xdlms::DataAccessResult::Success));
    assert_eq!(store.cells.get(&cell(2)), Some(&value));
    assert!(is_ciphered_tag(gbt(trace.sent(Direction::ToServer)[0]).block_data[0]));
    assert_eq!(s.poll_security_event(), None);
}

/// The server refuses blocks that break the protocol with an exception-response and
/// forgets the transfer; the association stays usable.
#[test]
fn malformed_blocks_are_refused_by_the_server() {
    let mut store = Store::new(10);
    let server = ServerAssociation::new(server_config(1024), 1).with_gbt_window(2);
    let (mut c, mut s) = associated(client_config(1024, true, 2), server, &mut store);
    let refused = |s: &mut ServerAssociation, store: &mut Store, b: GeneralBlockTransfer| {
        s.handle_apdu(&b.to_bytes(), store);
        let reply = XdlmsApdu::from_bytes(&s.poll_transmit().expect("an answer")).unwrap();
        assert!(s.poll_transmit().is_none());
        let XdlmsApdu::ExceptionResponse(e) = reply else { panic!("{reply:?}") };
        assert_eq!(e.service_error, ExceptionServiceError::OperationNotPossible);
    };
    // Block 0; block 4 with window 2 (beyond the window); block 1 then block 5.
    refused(&mut s, &mut store, block(false, true, 2, 0, 0, &[1]));
    refused(&mut s, &mut store, block(false, true, 2, 4, 0, &[1]));
    s.handle_apdu(&block(false, true, 2, 1, 0, &[0xC0]).to_bytes(), &mut store);
    assert!(s.poll_transmit().is_none(), "streaming: no acknowledgement yet");
    refused(&mut s, &mut store, block(false, false, 2, 5, 0, &[1]));
    // A complete message that is not an xDLMS request: another GBT block, an AARQ.
    for inner in [block(true, false, 1, 1, 0, &[0xC0]).to_bytes(), vec![0x60, 0x00]] {
        s.handle_apdu(&block(true, false, 2, 1, 0, &inner).to_bytes(), &mut store);
        // The answer to a GBT request goes in GBT too.
        let reply = gbt(&s.poll_transmit().unwrap());
        assert!(matches!(XdlmsApdu::from_bytes(&reply.block_data), Ok(XdlmsApdu::ExceptionResponse(_))));
    }
    // Acknowledging more than the one-block answer is a violation; acknowledging it ends
    // the exchange; an acknowledgement for nothing is then ignored.
    refused(&mut s, &mut store, block(false, false, 2, 0, 2, &[]));
    s.handle_apdu(&block(true, false, 2, 1, 0, &[0x60, 0x00]).to_bytes(), &mut store);
    assert_eq!(gbt(&s.poll_transmit().unwrap()).block_number, 1);
    s.handle_apdu(&block(false, false, 2, 0, 1, &[]).to_bytes(), &mut store);
    assert!(s.poll_transmit().is_none());
    s.handle_apdu(&block(false, false, 2, 0, 7, &[]).to_bytes(), &mut store);
    assert!(s.poll_transmit().is_none());
    // Still usable.
    c.get(BIG, None).unwrap();
    assert_eq!(exchange(&mut c, &mut s, &mut store).0.unwrap(), ClientEvent::Get(Ok(big_value(10))));
    // Without GBT negotiated any GBT block is refused.
    let plain =
        ServerAssociation::new(ServerConfig { conformance: ServerConfig::METER_CONFORMANCE, ..server_config(1024) }, 1);
    let (_c, mut s) = associated(client_config(1024, true, 2), plain, &mut store);
    s.handle_apdu(&block(true, false, 2, 1, 0, &[0xC0]).to_bytes(), &mut store);
    let reply = XdlmsApdu::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    assert!(matches!(reply, XdlmsApdu::ExceptionResponse(_)), "{reply:?}");
}

/// The client refuses a server that breaks the protocol and closes the association.
#[test]
fn malformed_blocks_are_refused_by_the_client() {
    let mut store = Store::new(10);
    let cases: Vec<(Vec<GeneralBlockTransfer>, ClientError)> = vec![
        (vec![block(false, true, 1, 0, 0, &[1])], ClientError::BlockTransfer(BlockTransferError::ZeroBlockNumber)),
        (
            vec![block(false, true, 1, 9, 0, &[1])],
            ClientError::BlockTransfer(BlockTransferError::BeyondWindow { got: 9, in_sequence: 0, window: 2 }),
        ),
        (
            vec![block(true, false, 1, 1, 0, &block(true, false, 1, 1, 0, &[0xC4]).to_bytes())],
            ClientError::BlockTransfer(BlockTransferError::NestedTransfer),
        ),
    ];
    for (blocks, want) in cases {
        let server = ServerAssociation::new(server_config(1024), 1);
        let (mut c, _s) = associated(client_config(1024, true, 2), server, &mut store);
        // A plain GET whose response the test forges.
        c.get(BIG, None).unwrap();
        let _ = c.poll_transmit();
        let mut got = Ok(None);
        for b in &blocks {
            got = c.handle_apdu(&b.to_bytes());
        }
        assert_eq!(got, Err(want), "{blocks:?}");
        assert_eq!(c.state(), ClientState::Closed);
    }
    // A request sent in GBT: the server may not acknowledge more than was sent.
    let (mut c, _s) =
        associated(client_config(1024, true, 2), ServerAssociation::new(server_config(100), 1), &mut store);
    c.set(cell(1), Data::OctetString(vec![0; 500])).unwrap();
    let first = gbt(&c.poll_transmit().unwrap());
    assert_eq!(first.block_number, 1);
    assert_eq!(
        c.handle_apdu(&block(false, false, 3, 0, 2, &[]).to_bytes()),
        Err(ClientError::BlockTransfer(BlockTransferError::AckBeyondSent { acked: 2, sent: 1 }))
    );
    // GBT blocks when GBT was not negotiated.
    let (mut c, _s) =
        associated(client_config(1024, false, 2), ServerAssociation::new(server_config(1024), 1), &mut store);
    c.get(BIG, None).unwrap();
    assert!(matches!(
        c.handle_apdu(&block(true, false, 1, 1, 0, &[0xC4]).to_bytes()),
        Err(ClientError::Unexpected { .. })
    ));
    assert_eq!(c.state(), ClientState::Closed);
    // A stray block with nothing outstanding.
    let (mut c, _s) =
        associated(client_config(1024, true, 2), ServerAssociation::new(server_config(1024), 1), &mut store);
    assert!(matches!(
        c.handle_apdu(&block(true, false, 1, 1, 0, &[0xC4]).to_bytes()),
        Err(ClientError::Unexpected { .. })
    ));
    assert!(!c.handle_timeout(), "nothing to recover without a request");
}

/// A GET-request-next for a transfer that GBT replaced is answered as before (no long
/// GET in progress): GBT and service-specific blocks do not mix.
#[test]
fn get_next_during_gbt_is_refused() {
    let mut store = Store::new(2000);
    let (mut c, mut s) =
        associated(client_config(256, true, 3), ServerAssociation::new(server_config(1024), 1), &mut store);
    c.get(BIG, None).unwrap();
    s.handle_apdu(&c.poll_transmit().unwrap(), &mut store);
    assert_eq!(gbt(&s.poll_transmit().unwrap()).block_number, 1);
    let next = XdlmsApdu::GetRequest(GetRequest::Next {
        invoke_id_and_priority: InvokeIdAndPriority::new(1, true, true),
        block_number: 1,
    });
    s.handle_apdu(&next.to_bytes(), &mut store);
    let reply = XdlmsApdu::from_bytes(&s.poll_transmit().unwrap()).unwrap();
    assert!(matches!(reply, XdlmsApdu::GetResponse(dlms::xdlms::GetResponse::WithDataBlock { .. })), "{reply:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any pattern of lost APDUs (except the initial plain request, which only the
    /// application can repeat) ends with the exact value, in both directions.
    #[test]
    fn random_loss_is_recovered(
        client_window in 1u8..6,
        server_window in 1u8..6,
        client_pdu in 64u16..400,
        big_len in 50u32..700,
        set_len in 300usize..2500,
        lost in prop::collection::vec(any::<bool>(), 80),
        rate in 1u8..4,
    ) {
        let mut store = Store::new(big_len);
        let server = ServerAssociation::new(server_config(200), 1).with_gbt_window(server_window);
        let (mut c, mut s) = associated(client_config(client_pdu, true, client_window), server, &mut store);
        // Lose about one APDU in (rate + 1) among the first ones of each direction.
        let mut lose = |dir: Direction, i: usize, _: &[u8]| {
            if dir == Direction::ToServer && i == 0 { return false; }
            let k = i * 2 + usize::from(dir == Direction::ToClient);
            lost.get(k).copied().unwrap_or(false) && (k % usize::from(rate + 1) == 0)
        };
        c.get(BIG, None).unwrap();
        let (ev, _) = run(&mut c, &mut s, &mut store, &mut lose, 200);
        prop_assert_eq!(ev.unwrap(), ClientEvent::Get(Ok(big_value(big_len))));
        let value = Data::OctetString((0..set_len).map(|i| i as u8).collect());
        c.set(cell(3), value.clone()).unwrap();
        let (ev, _) = run(&mut c, &mut s, &mut store, &mut lose, 200);
        prop_assert_eq!(ev.unwrap(), ClientEvent::Set(dlms::xdlms::DataAccessResult::Success));
        prop_assert_eq!(store.cells.get(&cell(3)), Some(&value));
    }
}
