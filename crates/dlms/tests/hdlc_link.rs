//! The HDLC link state machines (IEC 62056-46 §6.4.4): a known-answer conversation
//! against the Green Book / dlms-cosem frames of `vectors.json` (SNRM → UA, AARQ → AARE
//! byte for byte), parameter negotiation, segmentation with RR per segment, windows,
//! N(S) sequence recovery, lost responses recovered by polling, DM/DISC/FRMR handling,
//! retries and inactivity timeouts, all without I/O.

use dlms::Codec;
use dlms::hdlc::{
    ClientLinkState, Control, DiscardReason, DisconnectReason, Frame, FrameReject, HdlcAddress, HdlcClient,
    HdlcClientConfig, HdlcServer, HdlcServerConfig, LinkEvent, LinkParameters, NegotiationField, ServerEvent,
    ServerLinkState,
};
use serde_json::Value;

fn vector_frame(id: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/dlms/vectors.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = json["vectors"].as_array().unwrap().iter().find(|v| v["id"] == id).unwrap().clone();
    hex::decode(v["inputs"]["frame"].as_str().unwrap()).unwrap()
}

fn public_client() -> HdlcAddress {
    HdlcAddress::client(0x10).unwrap()
}

fn meter() -> HdlcAddress {
    HdlcAddress::two_byte(1, 17).unwrap()
}

fn parse(bytes: &[u8]) -> Frame {
    Frame::from_bytes(bytes).unwrap_or_else(|e| panic!("{e}: {}", hex::encode_upper(bytes)))
}

fn drain_client(c: &mut HdlcClient) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn drain_server(s: &mut HdlcServer) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn client_events(c: &mut HdlcClient) -> Vec<LinkEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn server_events(s: &mut HdlcServer) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Delivers frames both ways until both sides are quiet; the server answers every APDU
/// with `answer(apdu)`.
fn pump(c: &mut HdlcClient, s: &mut HdlcServer, now: u64, answer: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<LinkEvent> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let mut moved = false;
        for bytes in drain_client(c) {
            s.handle_bytes(now, &bytes);
            moved = true;
        }
        for e in server_events(s) {
            if let ServerEvent::ApduReceived(apdu) = e {
                s.send_apdu(answer(&apdu)).unwrap();
            }
        }
        for bytes in drain_server(s) {
            c.handle_bytes(now, &bytes);
            moved = true;
        }
        events.extend(client_events(c));
        if !moved {
            return events;
        }
    }
    panic!("the link never went quiet");
}

fn connected_pair(proposed: LinkParameters, supported: LinkParameters) -> (HdlcClient, HdlcServer) {
    let mut cc = HdlcClientConfig::new(public_client(), meter());
    cc.proposed = proposed;
    let mut sc = HdlcServerConfig::new(meter());
    sc.supported = supported;
    let mut c = HdlcClient::new(cc);
    let mut s = HdlcServer::new(sc);
    c.connect(0).unwrap();
    let events = pump(&mut c, &mut s, 0, &|a| a.to_vec());
    assert!(matches!(events.as_slice(), [LinkEvent::Connected(_)]), "{events:?}");
    (c, s)
}

#[test]
fn known_answer_conversation_snrm_ua_aarq_aare() {
    // Client side: the default SNRM and the AARQ I-frame are the vector frames byte for byte.
    let mut c = HdlcClient::new(HdlcClientConfig::new(public_client(), meter()));
    c.connect(0).unwrap();
    assert_eq!(drain_client(&mut c), [vector_frame("hdlc-snrm")]);
    assert_eq!(c.state(), ClientLinkState::Connecting);
    c.handle_bytes(5, &vector_frame("hdlc-ua"));
    // The meter offered 154 bytes; the client proposed the default 128 and keeps to it.
    let expected = LinkParameters::default();
    assert_eq!(client_events(&mut c), [LinkEvent::Connected(expected)]);
    let aarq_frame = vector_frame("hdlc-i-aarq");
    let aarq = parse(&aarq_frame).information[3..].to_vec();
    c.send_apdu(10, aarq.clone()).unwrap();
    assert_eq!(drain_client(&mut c), std::slice::from_ref(&aarq_frame));
    let aare_frame = vector_frame("hdlc-i-aare");
    let aare = parse(&aare_frame).information[3..].to_vec();
    c.handle_bytes(20, &aare_frame);
    assert_eq!(client_events(&mut c), [LinkEvent::Apdu(aare.clone())]);
    assert_eq!(drain_client(&mut c), Vec::<Vec<u8>>::new(), "nothing more to send");

    // Server side: a meter supporting 154-byte fields answers an SNRM proposing more
    // with the vector's UA, and the AARQ frame with the vector's AARE frame.
    let mut sc = HdlcServerConfig::new(meter());
    sc.supported = LinkParameters { max_info_length_transmit: 154, max_info_length_receive: 154, ..Default::default() };
    let mut s = HdlcServer::new(sc);
    let mut cc = HdlcClientConfig::new(public_client(), meter());
    cc.proposed =
        LinkParameters { max_info_length_transmit: 1024, max_info_length_receive: 1024, ..Default::default() };
    let mut proposing = HdlcClient::new(cc);
    proposing.connect(0).unwrap();
    let snrm = drain_client(&mut proposing).remove(0);
    let proposal = NegotiationField::from_bytes(&parse(&snrm).information).unwrap().link_parameters();
    assert_eq!(proposal.max_info_length_transmit, 1024);
    s.handle_bytes(0, &snrm);
    assert_eq!(drain_server(&mut s), [vector_frame("hdlc-ua")]);
    let ua_params =
        LinkParameters { max_info_length_transmit: 154, max_info_length_receive: 154, ..Default::default() };
    assert_eq!(server_events(&mut s), [ServerEvent::Connected(ua_params)]);
    s.handle_bytes(1, &aarq_frame);
    assert_eq!(server_events(&mut s), [ServerEvent::ApduReceived(aarq)]);
    assert_eq!(drain_server(&mut s), Vec::<Vec<u8>>::new(), "the poll waits for the upper layer");
    s.send_apdu(aare).unwrap();
    assert_eq!(drain_server(&mut s), [aare_frame]);
}

#[test]
fn negotiation_is_mirrored_on_both_sides() {
    let proposed = LinkParameters {
        max_info_length_transmit: 300,
        max_info_length_receive: 1000,
        window_size_transmit: 4,
        window_size_receive: 2,
    };
    let supported = LinkParameters {
        max_info_length_transmit: 512,
        max_info_length_receive: 256,
        window_size_transmit: 7,
        window_size_receive: 3,
    };
    let (c, s) = connected_pair(proposed, supported);
    let client = c.parameters().unwrap();
    assert_eq!(
        client,
        LinkParameters {
            max_info_length_transmit: 256,
            max_info_length_receive: 512,
            window_size_transmit: 3,
            window_size_receive: 2,
        }
    );
    assert_eq!(s.parameters(), Some(client.reversed()));
}

#[test]
fn segmented_request_window_1_is_acknowledged_segment_by_segment() {
    let small = LinkParameters { max_info_length_transmit: 32, max_info_length_receive: 32, ..Default::default() };
    let (mut c, mut s) = connected_pair(small, LinkParameters::default());
    let apdu: Vec<u8> = (0..100u8).collect(); // LLC PDU of 103 bytes: 4 segments
    c.send_apdu(1, apdu.clone()).unwrap();
    let mut expected_ns = 0;
    loop {
        let out = drain_client(&mut c);
        assert_eq!(out.len(), 1, "window 1: one I-frame at a time");
        let f = parse(&out[0]);
        let Control::I { ns, nr: 0, poll_final: true } = f.control else { panic!("{:?}", f.control) };
        assert_eq!(ns, expected_ns);
        assert!(f.information.len() <= 32);
        s.handle_bytes(1, &out[0]);
        if !f.segmented {
            break;
        }
        let reply = drain_server(&mut s);
        assert_eq!(reply.len(), 1);
        assert_eq!(parse(&reply[0]).control, Control::Rr { nr: ns + 1, poll_final: true });
        c.handle_bytes(1, &reply[0]);
        expected_ns += 1;
    }
    assert_eq!(expected_ns, 3);
    assert_eq!(server_events(&mut s), [ServerEvent::ApduReceived(apdu)]);
}

#[test]
fn segmented_response_is_pulled_with_rr() {
    let small = LinkParameters { max_info_length_transmit: 40, max_info_length_receive: 40, ..Default::default() };
    let (mut c, mut s) = connected_pair(small, LinkParameters::default());
    c.send_apdu(1, vec![0xC0]).unwrap();
    for bytes in drain_client(&mut c) {
        s.handle_bytes(1, &bytes);
    }
    assert_eq!(server_events(&mut s), [ServerEvent::ApduReceived(vec![0xC0])]);
    let response: Vec<u8> = (0..=255u8).collect();
    s.send_apdu(response.clone()).unwrap();
    let mut segments = 0;
    loop {
        let out = drain_server(&mut s);
        assert_eq!(out.len(), 1);
        let f = parse(&out[0]);
        assert!(f.control.poll_final());
        c.handle_bytes(2, &out[0]);
        segments += 1;
        if !f.segmented {
            break;
        }
        let rr = drain_client(&mut c);
        assert_eq!(rr.len(), 1);
        assert_eq!(parse(&rr[0]).control, Control::Rr { nr: segments % 8, poll_final: true });
        s.handle_bytes(2, &rr[0]);
    }
    assert_eq!(segments, 7); // 259 bytes in 40-byte fields
    assert_eq!(client_events(&mut c), [LinkEvent::Apdu(response)]);
}

#[test]
fn window_3_puts_the_poll_bit_on_every_third_frame() {
    let windowed = LinkParameters {
        max_info_length_transmit: 16,
        max_info_length_receive: 16,
        window_size_transmit: 3,
        window_size_receive: 3,
    };
    let (mut c, mut s) = connected_pair(windowed, windowed);
    let apdu: Vec<u8> = (0..110u8).collect(); // 113 bytes: 8 segments
    c.send_apdu(1, apdu.clone()).unwrap();
    let mut batches = Vec::new();
    loop {
        let out = drain_client(&mut c);
        if out.is_empty() {
            break;
        }
        let polls: Vec<bool> = out.iter().map(|b| parse(b).control.poll_final()).collect();
        batches.push(polls);
        for b in &out {
            s.handle_bytes(1, b);
        }
        for e in server_events(&mut s) {
            let ServerEvent::ApduReceived(got) = e else { panic!("{e:?}") };
            assert_eq!(got, apdu);
            s.send_apdu(vec![0xC4, 0x01]).unwrap();
        }
        for b in drain_server(&mut s) {
            c.handle_bytes(1, &b);
        }
    }
    assert_eq!(batches, [vec![false, false, true], vec![false, false, true], vec![false, true]]);
    assert_eq!(client_events(&mut c), [LinkEvent::Apdu(vec![0xC4, 0x01])]);
}

#[test]
fn unexpected_ns_is_discarded_and_answered_with_the_expected_nr() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    let wrong = Frame {
        destination: meter(),
        source: public_client(),
        control: Control::I { ns: 1, nr: 0, poll_final: true },
        segmented: false,
        information: vec![0xE6, 0xE6, 0x00, 0xC0],
    };
    s.handle_bytes(1, &wrong.to_bytes());
    assert_eq!(server_events(&mut s), []);
    let out = drain_server(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0]).control, Control::Rr { nr: 0, poll_final: true });
    // The client side does the same with a server I-frame out of sequence that answers
    // its poll.
    c.send_apdu(1, vec![0xC0]).unwrap();
    assert_eq!(drain_client(&mut c).len(), 1);
    let wrong_response = Frame {
        destination: public_client(),
        source: meter(),
        control: Control::I { ns: 5, nr: 0, poll_final: true },
        segmented: false,
        information: vec![0xE6, 0xE7, 0x00, 0xC4],
    };
    c.handle_bytes(1, &wrong_response.to_bytes());
    assert_eq!(client_events(&mut c), []);
    let out = drain_client(&mut c);
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0]).control, Control::Rr { nr: 0, poll_final: true });
    // A second copy arriving before that RR went out answers an older poll: it is
    // dropped without a second RR (one checkpoint at a time).
    c.handle_bytes(1, &wrong_response.to_bytes());
    c.handle_bytes(1, &wrong_response.to_bytes());
    assert_eq!(drain_client(&mut c).len(), 1);
}

#[test]
fn lost_response_is_recovered_by_the_clients_poll() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    c.send_apdu(100, vec![0xC0, 0x01]).unwrap();
    for b in drain_client(&mut c) {
        s.handle_bytes(100, &b);
    }
    assert_eq!(server_events(&mut s), [ServerEvent::ApduReceived(vec![0xC0, 0x01])]);
    s.send_apdu(vec![0xC4, 0x01]).unwrap();
    let lost = drain_server(&mut s);
    assert_eq!(lost.len(), 1);
    // The response never arrives; the client polls after its response timeout.
    let deadline = c.poll_timeout().expect("a retry timer runs");
    assert_eq!(deadline, 100 + c.config().response_timeout_ms);
    c.handle_timeout(deadline - 1);
    assert_eq!(drain_client(&mut c), Vec::<Vec<u8>>::new());
    c.handle_timeout(deadline);
    let poll = drain_client(&mut c);
    assert_eq!(poll.len(), 1);
    assert_eq!(parse(&poll[0]).control, Control::Rr { nr: 0, poll_final: true });
    s.handle_bytes(deadline, &poll[0]);
    let again = drain_server(&mut s);
    assert_eq!(again, lost, "the unacknowledged I-frame is sent again, unchanged");
    c.handle_bytes(deadline, &again[0]);
    assert_eq!(client_events(&mut c), [LinkEvent::Apdu(vec![0xC4, 0x01])]);
    // The next request acknowledges the response.
    c.send_apdu(deadline, vec![0xC0, 0x02]).unwrap();
    let next = parse(&drain_client(&mut c)[0]);
    assert_eq!(next.control, Control::I { ns: 1, nr: 1, poll_final: true });
}

#[test]
fn lost_request_is_sent_again_after_the_servers_rr() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    c.send_apdu(0, vec![0xC0, 0x01]).unwrap();
    let lost = drain_client(&mut c);
    let t = c.poll_timeout().unwrap();
    c.handle_timeout(t);
    for b in drain_client(&mut c) {
        s.handle_bytes(t, &b);
    }
    let rr = drain_server(&mut s);
    assert_eq!(parse(&rr[0]).control, Control::Rr { nr: 0, poll_final: true });
    c.handle_bytes(t, &rr[0]);
    assert_eq!(drain_client(&mut c), lost, "go-back-N resends the I-frame");
}

#[test]
fn server_in_ndm_answers_dm_and_ignores_other_stations() {
    let mut s = HdlcServer::new(HdlcServerConfig::new(meter()));
    let i = Frame {
        destination: meter(),
        source: public_client(),
        control: Control::I { ns: 0, nr: 0, poll_final: true },
        segmented: false,
        information: vec![0xE6, 0xE6, 0x00, 0xC0],
    };
    s.handle_bytes(0, &i.to_bytes());
    let out = drain_server(&mut s);
    assert_eq!(out.len(), 1);
    let dm = parse(&out[0]);
    assert_eq!((dm.control, dm.destination, dm.source), (Control::Dm { fin: true }, public_client(), meter()));
    let other_meter = Frame { destination: HdlcAddress::two_byte(1, 18).unwrap(), ..i.clone() };
    s.handle_bytes(0, &other_meter.to_bytes());
    let snrm_elsewhere = Frame { control: Control::Snrm { poll: true }, information: vec![], ..other_meter };
    s.handle_bytes(0, &snrm_elsewhere.to_bytes());
    assert_eq!(drain_server(&mut s), Vec::<Vec<u8>>::new());
    assert_eq!(s.state(), ServerLinkState::Disconnected);
    // The same station addressed with a 4-byte field is accepted, and answered in that form.
    let snrm4 = Frame {
        destination: HdlcAddress::four_byte(1, 17).unwrap(),
        source: public_client(),
        control: Control::Snrm { poll: true },
        segmented: false,
        information: vec![],
    };
    s.handle_bytes(0, &snrm4.to_bytes());
    let ua = parse(&drain_server(&mut s)[0]);
    assert_eq!(ua.control, Control::Ua { fin: true });
    assert_eq!(ua.source, HdlcAddress::four_byte(1, 17).unwrap());
}

#[test]
fn disconnect_with_disc_and_ua() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    c.disconnect(5).unwrap();
    let disc = drain_client(&mut c);
    assert_eq!(parse(&disc[0]).control, Control::Disc { poll: true });
    s.handle_bytes(5, &disc[0]);
    assert_eq!(server_events(&mut s), [ServerEvent::Disconnected(DisconnectReason::ByPeer)]);
    let ua = drain_server(&mut s);
    assert_eq!(parse(&ua[0]).control, Control::Ua { fin: true });
    c.handle_bytes(5, &ua[0]);
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::Requested)]);
    assert_eq!(c.state(), ClientLinkState::Disconnected);
    assert!(c.send_apdu(6, vec![1]).is_err());
    // A DISC repeated after its UA was lost is answered with DM, which also ends it.
    let mut c2 = HdlcClient::new(HdlcClientConfig::new(public_client(), meter()));
    c2.connect(0).unwrap();
    for b in drain_client(&mut c2) {
        s.handle_bytes(0, &b);
    }
    for b in drain_server(&mut s) {
        c2.handle_bytes(0, &b);
    }
    c2.disconnect(1).unwrap();
    for b in drain_client(&mut c2) {
        s.handle_bytes(1, &b);
    }
    let _lost_ua = drain_server(&mut s);
    let t = c2.poll_timeout().unwrap();
    c2.handle_timeout(t);
    for b in drain_client(&mut c2) {
        s.handle_bytes(t, &b);
    }
    let dm = drain_server(&mut s);
    assert_eq!(parse(&dm[0]).control, Control::Dm { fin: true });
    c2.handle_bytes(t, &dm[0]);
    assert_eq!(client_events(&mut c2).last(), Some(&LinkEvent::Disconnected(DisconnectReason::Requested)));
}

#[test]
fn snrm_refused_with_dm() {
    let mut c = HdlcClient::new(HdlcClientConfig::new(public_client(), meter()));
    c.connect(0).unwrap();
    drain_client(&mut c);
    let dm = Frame {
        destination: public_client(),
        source: meter(),
        control: Control::Dm { fin: true },
        segmented: false,
        information: vec![],
    };
    c.handle_bytes(1, &dm.to_bytes());
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::Refused)]);
}

#[test]
fn undefined_control_gets_frmr_until_the_link_is_reset() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    let rej = Frame {
        destination: meter(),
        source: public_client(),
        control: Control::from_byte(0x19), // REJ with P = 1: not used by this profile
        segmented: false,
        information: vec![],
    };
    assert_eq!(rej.control, Control::Other(0x19));
    s.handle_bytes(1, &rej.to_bytes());
    let out = drain_server(&mut s);
    let frmr = parse(&out[0]);
    assert_eq!(frmr.control, Control::Frmr { fin: true });
    let reason = FrameReject::from_information(&frmr.information).unwrap();
    assert!(reason.undefined_control);
    assert_eq!(reason.rejected_control, 0x19);
    assert_eq!(s.state(), ServerLinkState::FrameReject);
    assert!(s.send_apdu(vec![1]).is_err());
    // Every further poll gets the FRMR again.
    let rr = Frame { control: Control::Rr { nr: 0, poll_final: true }, ..rej.clone() };
    s.handle_bytes(2, &rr.to_bytes());
    assert_eq!(drain_server(&mut s), out);
    // The client reports it and disconnects.
    c.handle_bytes(2, &out[0]);
    let events = client_events(&mut c);
    assert_eq!(events, [LinkEvent::FrameRejected(reason)]);
    let disc = drain_client(&mut c);
    assert_eq!(parse(&disc[0]).control, Control::Disc { poll: true });
    s.handle_bytes(3, &disc[0]);
    assert_eq!(s.state(), ServerLinkState::Disconnected);
    c.handle_bytes(3, &drain_server(&mut s)[0]);
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::Requested)]);
}

#[test]
fn information_field_longer_than_negotiated_is_rejected() {
    let (_c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    let mut information = vec![0xE6, 0xE6, 0x00];
    information.resize(129, 0xAA);
    let big = Frame {
        destination: meter(),
        source: public_client(),
        control: Control::I { ns: 0, nr: 0, poll_final: true },
        segmented: false,
        information,
    };
    s.handle_bytes(1, &big.to_bytes());
    let frmr = parse(&drain_server(&mut s)[0]);
    assert!(FrameReject::from_information(&frmr.information).unwrap().information_too_long);
    assert_eq!(server_events(&mut s), []);
}

#[test]
fn client_gives_up_after_max_retries() {
    let mut cc = HdlcClientConfig::new(public_client(), meter());
    cc.max_retries = 2;
    cc.response_timeout_ms = 500;
    let mut c = HdlcClient::new(cc);
    c.connect(1_000).unwrap();
    let mut snrms = drain_client(&mut c).len();
    for _ in 0..3 {
        let t = c.poll_timeout().expect("retry timer");
        c.handle_timeout(t);
        snrms += drain_client(&mut c).len();
    }
    assert_eq!(snrms, 3, "the first SNRM and 2 retries");
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::NoResponse)]);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn server_inactivity_timeout_returns_to_ndm() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    let limit = s.config().inactivity_timeout_ms.unwrap();
    assert_eq!(s.poll_timeout(), Some(limit));
    c.send_apdu(1_000, vec![0xC0]).unwrap();
    for b in drain_client(&mut c) {
        s.handle_bytes(1_000, &b);
    }
    server_events(&mut s);
    assert_eq!(s.poll_timeout(), Some(1_000 + limit), "every received frame restarts the timer");
    s.handle_timeout(1_000 + limit - 1);
    assert!(s.is_connected());
    s.handle_timeout(1_000 + limit);
    assert_eq!(server_events(&mut s), [ServerEvent::Disconnected(DisconnectReason::InactivityTimeout)]);
    assert_eq!(s.poll_timeout(), None);
    // A poll after that gets DM, and the client learns the link is gone.
    s.send_apdu(vec![1]).unwrap_err();
    let t = c.poll_timeout().unwrap();
    c.handle_timeout(t);
    for b in drain_client(&mut c) {
        s.handle_bytes(t, &b);
    }
    for b in drain_server(&mut s) {
        c.handle_bytes(t, &b);
    }
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::ByPeer)]);
}

#[test]
fn client_inactivity_timeout_sends_disc() {
    let mut cc = HdlcClientConfig::new(public_client(), meter());
    cc.inactivity_timeout_ms = Some(60_000);
    let mut c = HdlcClient::new(cc);
    let mut s = HdlcServer::new(HdlcServerConfig::new(meter()));
    c.connect(0).unwrap();
    pump(&mut c, &mut s, 0, &|a| a.to_vec());
    c.send_apdu(10, vec![0xC0]).unwrap();
    let events = pump(&mut c, &mut s, 10, &|a| a.to_vec());
    assert_eq!(events, [LinkEvent::Apdu(vec![0xC0])]);
    assert_eq!(c.poll_timeout(), Some(60_010));
    c.handle_timeout(60_010);
    assert_eq!(client_events(&mut c), [LinkEvent::Disconnected(DisconnectReason::InactivityTimeout)]);
    let disc = drain_client(&mut c);
    assert_eq!(parse(&disc[0]).control, Control::Disc { poll: true });
}

#[test]
fn corrupt_bytes_are_reported_and_the_link_recovers() {
    let (mut c, mut s) = connected_pair(LinkParameters::default(), LinkParameters::default());
    c.send_apdu(1, vec![0xC0, 0x7E, 0x7E]).unwrap();
    let mut frame = drain_client(&mut c).remove(0);
    let good = frame.clone();
    let n = frame.len();
    frame[n - 4] ^= 0xFF; // corrupt the information field: FCS error
    s.handle_bytes(1, &[0x00, 0x11]);
    s.handle_bytes(1, &frame);
    let events = server_events(&mut s);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], ServerEvent::Discarded(DiscardReason::Frame(_))));
    assert!(matches!(events[1], ServerEvent::Discarded(DiscardReason::Frame(_))));
    s.handle_bytes(1, &good);
    assert_eq!(server_events(&mut s), [ServerEvent::ApduReceived(vec![0xC0, 0x7E, 0x7E])]);
}

#[test]
fn client_calls_in_the_wrong_state_are_refused() {
    let mut c = HdlcClient::new(HdlcClientConfig::new(public_client(), meter()));
    assert!(c.send_apdu(0, vec![1]).is_err());
    assert!(c.disconnect(0).is_err());
    c.connect(0).unwrap();
    assert!(c.connect(0).is_err());
    let e = c.send_apdu(0, vec![1]).unwrap_err();
    assert_eq!(e.to_string(), "cannot send an APDU in link state connecting");
}
