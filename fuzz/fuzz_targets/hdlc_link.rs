//! The HDLC link state machines (IEC 62056-46 §6.4.4, §6.4.5): an `hdlc::HdlcServer` and
//! an `hdlc::HdlcClient` driven by a sequence of `op | length | payload` records (see
//! `dlms_fuzz::records`). Each op either feeds arbitrary bytes to one side, lets time
//! pass (timeouts), makes the client connect / send / disconnect, makes the server send,
//! or carries what one side queued to the other. They must never panic, and:
//! * everything either side queues is one complete, valid HDLC frame (the client's
//!   addressed to the server and back), within the largest frame length;
//! * calls the state does not allow are refused with `InvalidLinkState`, not a panic.
//!
//! Op byte (`op % 10`):
//! 0 bytes → server, 1 bytes → client, 2 time passes by the payload's first two bytes
//! (ms, little endian) and both sides get `handle_timeout`, 3 time jumps to the earliest
//! deadline either side asked for, 4 client `connect`, 5 client `send_apdu(payload)`,
//! 6 server `send_apdu(payload)`, 7 client `disconnect`, 8 client → server delivery of
//! queued frames, 9 server → client delivery. The first input byte picks the largest
//! information field both sides support (small values force segmentation).
#![no_main]

use dlms::Codec;
use dlms::hdlc::{
    Frame, HdlcAddress, HdlcClient, HdlcClientConfig, HdlcServer, HdlcServerConfig, LinkParameters, MAX_FRAME_LENGTH,
    ServerEvent,
};
use dlms_fuzz::records::Records;
use libfuzzer_sys::fuzz_target;

/// Rounds of delivery one op may run (keeps an input's run time bounded).
const MAX_DELIVERIES: usize = 64;

fn check_frame(bytes: &[u8], destination: &HdlcAddress, source: &HdlcAddress) -> Frame {
    let frame =
        Frame::from_bytes(bytes).unwrap_or_else(|e| panic!("queued bytes are not one HDLC frame: {e}: {bytes:02X?}"));
    assert!(frame.frame_length() <= MAX_FRAME_LENGTH);
    assert!(frame.destination.same_station(destination), "frame to {} instead of {destination}", frame.destination);
    assert!(frame.source.same_station(source), "frame from {} instead of {source}", frame.source);
    assert_eq!(frame.to_bytes(), bytes, "queued frame is not in canonical form");
    frame
}

struct Link {
    client: HdlcClient,
    server: HdlcServer,
    client_address: HdlcAddress,
    server_address: HdlcAddress,
    /// Frames the client queued, not yet delivered.
    to_server: Vec<Vec<u8>>,
    /// Frames the server queued, not yet delivered.
    to_client: Vec<Vec<u8>>,
    now_ms: u64,
}

impl Link {
    /// Moves queued frames into the in-flight lists, checking them; consumes events and
    /// has the server answer every APDU it receives with the reversed bytes.
    fn collect(&mut self) {
        while let Some(event) = self.server.poll_event() {
            if let ServerEvent::ApduReceived(apdu) = event {
                let _ = self.server.send_apdu(apdu.iter().rev().copied().collect());
            }
        }
        while let Some(_event) = self.client.poll_event() {}
        while let Some(bytes) = self.client.poll_transmit() {
            check_frame(&bytes, &self.server_address, &self.client_address);
            if self.to_server.len() < 256 {
                self.to_server.push(bytes);
            }
        }
        while let Some(bytes) = self.server.poll_transmit() {
            check_frame(&bytes, &self.client_address, &self.server_address);
            if self.to_client.len() < 256 {
                self.to_client.push(bytes);
            }
        }
    }

    fn timeouts(&mut self) {
        self.client.handle_timeout(self.now_ms);
        self.server.handle_timeout(self.now_ms);
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&size, input)) = input.split_first() else {
        return;
    };
    let max_info = u16::from(size).max(1) * 4;
    let parameters = LinkParameters {
        max_info_length_transmit: max_info,
        max_info_length_receive: max_info,
        window_size_transmit: 1 + size % 7,
        window_size_receive: 1 + size % 7,
    };
    let client_address = HdlcAddress::client(0x10).expect("public client");
    let server_address = HdlcAddress::server(1, 17).expect("server 1/17");
    let mut client_config = HdlcClientConfig::new(client_address, server_address);
    client_config.proposed = parameters;
    client_config.inactivity_timeout_ms = Some(60_000);
    client_config.max_apdu_len = 4096;
    let mut server_config = HdlcServerConfig::new(server_address);
    server_config.supported = parameters;
    server_config.max_apdu_len = 4096;
    let mut link = Link {
        client: HdlcClient::new(client_config),
        server: HdlcServer::new(server_config),
        client_address,
        server_address,
        to_server: Vec::new(),
        to_client: Vec::new(),
        now_ms: 0,
    };

    for record in Records::new(input) {
        let payload = record.payload;
        match record.op % 10 {
            0 => link.server.handle_bytes(link.now_ms, payload),
            1 => link.client.handle_bytes(link.now_ms, payload),
            2 => {
                let step = match payload {
                    [] => 0,
                    [a] => u64::from(*a),
                    [a, b, ..] => u64::from(u16::from_le_bytes([*a, *b])),
                };
                link.now_ms += step * 16;
                link.timeouts();
            }
            3 => {
                let next = [link.client.poll_timeout(), link.server.poll_timeout()].into_iter().flatten().min();
                if let Some(at) = next {
                    link.now_ms = link.now_ms.max(at);
                }
                link.timeouts();
            }
            4 => {
                let _ = link.client.connect(link.now_ms);
            }
            5 => {
                let _ = link.client.send_apdu(link.now_ms, payload.to_vec());
            }
            6 => {
                let _ = link.server.send_apdu(payload.to_vec());
            }
            7 => {
                let _ = link.client.disconnect(link.now_ms);
            }
            8 => {
                for bytes in std::mem::take(&mut link.to_server).into_iter().take(MAX_DELIVERIES) {
                    link.server.handle_bytes(link.now_ms, &bytes);
                }
            }
            _ => {
                for bytes in std::mem::take(&mut link.to_client).into_iter().take(MAX_DELIVERIES) {
                    link.client.handle_bytes(link.now_ms, &bytes);
                }
            }
        }
        link.collect();
    }
});
