//! Property tests for the HDLC layer (IEC 62056-46): frame round trips for every control
//! byte and address size; every strict prefix of a frame asks for more bytes; random
//! input never panics; a single corrupted byte outside the address fields is always
//! detected; streams of frames survive any chunking, shared and fill flags, and leading
//! noise; and a client and a server link exchanging APDUs of 1..5000 bytes through a
//! channel that loses and duplicates frames deliver every APDU exactly once, in order.

use dlms::Codec;
use dlms::hdlc::{
    Control, FLAG, Frame, FrameErrorKind, FrameReader, HdlcAddress, HdlcClient, HdlcClientConfig, HdlcServer,
    HdlcServerConfig, LinkEvent, LinkParameters, ServerEvent,
};
use proptest::prelude::*;

fn address() -> impl Strategy<Value = HdlcAddress> {
    prop_oneof![
        (0u8..=0x7F).prop_map(|a| HdlcAddress::one_byte(a).unwrap()),
        (0u8..=0x7F, 0u8..=0x7F).prop_map(|(u, l)| HdlcAddress::two_byte(u, l).unwrap()),
        (0u16..=0x3FFF, 0u16..=0x3FFF).prop_map(|(u, l)| HdlcAddress::four_byte(u, l).unwrap()),
    ]
}

fn frame_with(info: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Frame> {
    (address(), address(), any::<u8>(), any::<bool>(), info).prop_map(|(d, s, c, seg, info)| {
        Frame::new(d, s, Control::from_byte(c), seg, info).expect("2030 bytes always fit")
    })
}

fn frame() -> impl Strategy<Value = Frame> {
    frame_with(prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 1..200),
        prop::collection::vec(any::<u8>(), 1..=2030),
    ])
}

fn small_frame() -> impl Strategy<Value = Frame> {
    frame_with(prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 1..120)])
}

proptest! {
    #[test]
    fn frame_round_trip(f in frame()) {
        let bytes = f.to_bytes();
        prop_assert_eq!(bytes.len(), f.frame_length() + 2);
        prop_assert_eq!(bytes.first(), Some(&FLAG));
        prop_assert_eq!(bytes.last(), Some(&FLAG));
        let (back, used) = Frame::parse(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&back, &f);
        prop_assert_eq!(Frame::from_bytes(&bytes), Ok(f));
    }

    #[test]
    fn every_strict_prefix_needs_more(f in small_frame(), fill in 0usize..3) {
        let mut bytes = vec![FLAG; fill];
        bytes.extend(f.to_bytes());
        for len in 0..bytes.len() {
            prop_assert_eq!(Frame::parse(&bytes[..len]), Ok(None), "prefix of {} bytes", len);
        }
        let (back, used) = Frame::parse(&bytes).unwrap().unwrap();
        prop_assert_eq!((back, used), (f, bytes.len()));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        match Frame::parse(&bytes) {
            Ok(Some((_, used))) => prop_assert!(used <= bytes.len()),
            Ok(None) => {}
            Err(e) => prop_assert!(e.discard >= 1 && e.discard <= bytes.len(), "{e}"),
        }
        let mut reader = FrameReader::new();
        reader.push(&bytes);
        let mut steps = 0;
        while reader.next_frame().is_some() {
            steps += 1;
            prop_assert!(steps <= bytes.len());
        }
        let a = HdlcAddress::client(0x10).unwrap();
        let b = HdlcAddress::one_byte(1).unwrap();
        let mut client = HdlcClient::new(HdlcClientConfig::new(a, b));
        client.connect(0).unwrap();
        client.handle_bytes(1, &bytes);
        let mut server = HdlcServer::new(HdlcServerConfig::new(b));
        server.handle_bytes(1, &bytes);
    }

    #[test]
    fn random_bytes_after_a_flag_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut framed = vec![FLAG, 0xA0 | (bytes.len() as u8 & 0x07)];
        framed.extend(&bytes);
        match Frame::parse(&framed) {
            Ok(Some((_, used))) => prop_assert!(used <= framed.len()),
            Ok(None) => {}
            Err(e) => prop_assert!(e.discard >= 1 && e.discard <= framed.len(), "{e}"),
        }
    }

    #[test]
    fn one_corrupted_byte_outside_the_addresses_is_detected(
        f in small_frame(),
        pick in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let bytes = f.to_bytes();
        let address_bytes = 3..3 + f.destination.size().byte_count() + f.source.size().byte_count();
        let positions: Vec<usize> = (0..bytes.len()).filter(|i| !address_bytes.contains(i)).collect();
        let at = positions[pick.index(positions.len())];
        let mut bad = bytes.clone();
        bad[at] ^= flip;
        let result = Frame::parse(&bad);
        prop_assert!(result.is_err(), "byte {} of {}: {:?}", at, hex::encode_upper(&bytes), result);
    }

    #[test]
    fn streams_survive_chunking_and_flag_sharing(
        frames in prop::collection::vec(small_frame(), 1..6),
        share_flags in any::<bool>(),
        fill in 0usize..3,
        chunk in 1usize..64,
    ) {
        let mut stream = Vec::new();
        for f in &frames {
            let bytes = f.to_bytes();
            stream.extend(std::iter::repeat_n(FLAG, fill));
            if share_flags && stream.last() == Some(&FLAG) {
                stream.extend_from_slice(&bytes[1..]);
            } else {
                stream.extend_from_slice(&bytes);
            }
        }
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            reader.push(piece);
            while let Some(next) = reader.next_frame() {
                got.push(next.map_err(|e| TestCaseError::fail(e.to_string()))?);
            }
        }
        prop_assert_eq!(got, frames);
        prop_assert!(reader.buffered() <= 1, "only the last closing flag stays");
    }

    #[test]
    fn noise_before_a_frame_is_skipped(
        noise in prop::collection::vec(any::<u8>().prop_filter("no flag", |b| *b != FLAG), 1..50),
        f in small_frame(),
    ) {
        let mut stream = noise.clone();
        stream.extend(f.to_bytes());
        let mut reader = FrameReader::new();
        reader.push(&stream);
        let first = reader.next_frame().unwrap().unwrap_err();
        prop_assert_eq!(first.kind, FrameErrorKind::Garbage);
        prop_assert_eq!(first.discard, noise.len());
        prop_assert_eq!(reader.next_frame(), Some(Ok(f)));
        prop_assert_eq!(reader.next_frame(), None);
    }
}

/// A small deterministic generator (xorshift64*) for the lossy channel.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn permille(&mut self, p: u64) -> bool {
        self.next() % 1000 < p
    }
}

/// A channel that loses frames with `loss` ‰ and duplicates them with `dup` ‰.
struct Channel {
    rng: Rng,
    loss: u64,
    dup: u64,
    frames: u64,
}

impl Channel {
    fn carry(&mut self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        self.frames += 1;
        if self.rng.permille(self.loss) {
            vec![]
        } else if self.rng.permille(self.dup) {
            vec![frame.clone(), frame]
        } else {
            vec![frame]
        }
    }
}

struct Run {
    client: HdlcClient,
    server: HdlcServer,
    channel: Channel,
    now: u64,
    requests: Vec<Vec<u8>>,
    responses: Vec<Vec<u8>>,
    server_got: Vec<Vec<u8>>,
    client_got: Vec<Vec<u8>>,
    client_events: Vec<LinkEvent>,
}

impl Run {
    /// Moves frames and time until `done` holds; fails on a stuck link or a lost one.
    fn run_until(&mut self, done: impl Fn(&Run) -> bool) -> Result<(), TestCaseError> {
        for _ in 0..2_000_000 {
            if done(self) {
                return Ok(());
            }
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                for copy in self.channel.carry(bytes) {
                    self.server.handle_bytes(self.now, &copy);
                }
            }
            while let Some(e) = self.server.poll_event() {
                match e {
                    ServerEvent::ApduReceived(apdu) => {
                        let answer = self.responses.get(self.server_got.len()).cloned().unwrap_or_default();
                        self.server_got.push(apdu);
                        self.server.send_apdu(answer).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                    ServerEvent::Discarded(reason) => return Err(TestCaseError::fail(format!("server: {reason}"))),
                    ServerEvent::Connected(_) | ServerEvent::Disconnected(_) => {}
                }
            }
            while let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                for copy in self.channel.carry(bytes) {
                    self.client.handle_bytes(self.now, &copy);
                }
            }
            while let Some(e) = self.client.poll_event() {
                match e {
                    LinkEvent::Apdu(apdu) => self.client_got.push(apdu),
                    LinkEvent::Connected(_) | LinkEvent::Disconnected(_) => self.client_events.push(e),
                    other => return Err(TestCaseError::fail(format!("client: {other:?}"))),
                }
            }
            if let Some(LinkEvent::Disconnected(reason)) = self.client_events.last() {
                if !done(self) {
                    return Err(TestCaseError::fail(format!("link lost: {reason:?}")));
                }
            }
            if !moved {
                let next = [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min();
                let Some(t) = next else {
                    return Err(TestCaseError::fail("stuck: nothing to send and no timer"));
                };
                self.now = self.now.max(t);
                self.client.handle_timeout(self.now);
                self.server.handle_timeout(self.now);
            }
        }
        Err(TestCaseError::fail("no progress after 2 000 000 steps"))
    }
}

fn link_parameters() -> impl Strategy<Value = LinkParameters> {
    (16u16..=600, 16u16..=600, 1u8..=7, 1u8..=7).prop_map(|(tx, rx, wt, wr)| LinkParameters {
        max_info_length_transmit: tx,
        max_info_length_receive: rx,
        window_size_transmit: wt,
        window_size_receive: wr,
    })
}

fn apdu(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn links_deliver_every_apdu_once_in_order_despite_loss_and_duplication(
        seed in any::<u64>(),
        proposed in link_parameters(),
        supported in link_parameters(),
        sizes in prop::collection::vec((1usize..=5000, 1usize..=5000), 1..4),
        loss in prop_oneof![Just(0u64), 0u64..=150],
        dup in prop_oneof![Just(0u64), 0u64..=150],
    ) {
        let client_address = HdlcAddress::client(0x10).unwrap();
        let server_address = HdlcAddress::server(1, 17).unwrap();
        let mut cc = HdlcClientConfig::new(client_address, server_address);
        cc.proposed = proposed;
        cc.response_timeout_ms = 1_000;
        cc.max_retries = 40;
        let mut sc = HdlcServerConfig::new(server_address);
        sc.supported = supported;
        sc.inactivity_timeout_ms = None;
        let requests: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, (q, _))| apdu(*q, i as u8)).collect();
        let responses: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, (_, r))| apdu(*r, 100 + i as u8)).collect();
        let mut run = Run {
            client: HdlcClient::new(cc),
            server: HdlcServer::new(sc),
            channel: Channel { rng: Rng(seed | 1), loss, dup, frames: 0 },
            now: 0,
            requests: requests.clone(),
            responses: responses.clone(),
            server_got: Vec::new(),
            client_got: Vec::new(),
            client_events: Vec::new(),
        };
        run.client.connect(0).unwrap();
        run.run_until(|r| r.client.is_connected())?;
        let negotiated = run.client.parameters().unwrap();
        prop_assert!(negotiated.max_info_length_transmit <= proposed.max_info_length_transmit);
        prop_assert!(negotiated.max_info_length_transmit <= supported.max_info_length_receive);
        for i in 0..run.requests.len() {
            let request = run.requests[i].clone();
            run.client.send_apdu(run.now, request).unwrap();
            run.run_until(|r| r.client_got.len() > i)?;
        }
        run.client.disconnect(run.now).unwrap();
        run.run_until(|r| !r.client.is_connected() && r.client.state() == dlms::hdlc::ClientLinkState::Disconnected)?;
        prop_assert_eq!(&run.server_got, &requests, "server side: every request once, in order");
        prop_assert_eq!(&run.client_got, &responses, "client side: every response once, in order");
        prop_assert_eq!(
            run.client_events.last(),
            Some(&LinkEvent::Disconnected(dlms::hdlc::DisconnectReason::Requested))
        );
        // No storm of repeated polls: the traffic stays within a small multiple of the
        // frames a perfect channel needs (segments, one answer each, connect/disconnect).
        let segments: u64 = sizes
            .iter()
            .map(|(q, r)| {
                (*q as u64 + 3).div_ceil(u64::from(negotiated.max_info_length_transmit))
                    + (*r as u64 + 3).div_ceil(u64::from(negotiated.max_info_length_receive))
            })
            .sum();
        let minimal = 2 * segments + 4;
        prop_assert!(run.channel.frames <= 6 * minimal, "{} frames carried, {} needed", run.channel.frames, minimal);
        if loss == 0 && dup == 0 {
            prop_assert_eq!(run.now, 0, "a perfect channel needs no timeout");
        }
    }
}
