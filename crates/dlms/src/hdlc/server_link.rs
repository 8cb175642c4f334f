//! The server (secondary station) side of the HDLC link in normal response mode
//! (IEC 62056-46 §6.4.4 "Elements of the procedures"; DLMS UA 1000-2 Green Book, HDLC
//! procedures), sans-I/O: fed received bytes and the time, asked for frames to send and events.
//!
//! * In normal disconnected mode (NDM) an SNRM for this server's address is answered
//!   with UA carrying the negotiated parameters (§6.4.4); any other frame with the
//!   poll bit gets DM.
//! * In NRM the server sends only when polled (a frame with P = 1). I-frames are
//!   checked for sequence (an unexpected N(S) is discarded and answered with the expected
//!   N(R)), reassembled (each non-final segment polled with P = 1 is answered with RR),
//!   and the APDU is reported as [`ServerEvent::ApduReceived`]; the poll of its last
//!   segment is kept until the upper layer answers with [`HdlcServer::send_apdu`], whose
//!   I-frames carry the final bit on the last frame of each window. An RR with P = 1
//!   whose N(R) shows that frames were lost gets them again (go-back-N), so a client
//!   recovers a lost response by polling.
//! * DISC is answered with UA and ends NRM. A frame the server cannot accept (undefined
//!   control, information field where none is allowed or longer than negotiated, invalid
//!   N(R)) puts the link in the frame-reject condition: every poll is answered with FRMR
//!   until SNRM or DISC (§6.4.4; the server states are those of §6.4.5).
//! * When no frame arrives for the inactivity time the server returns to NDM.

use std::collections::VecDeque;

use super::address::HdlcAddress;
use super::client_link::DEFAULT_MAX_APDU_LEN;
use super::control::Control;
use super::events::{DiscardReason, DisconnectReason, InvalidLinkState, ServerEvent};
use super::frame::Frame;
use super::frame_reject::FrameReject;
use super::llc::{LlcDirection, strip_llc};
use super::parameters::{LinkParameters, NegotiationField};
use super::reader::FrameReader;
use super::transfer::{Received, Transfer};
use crate::codec::Codec;

/// How the server link behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlcServerConfig {
    /// This server's address; frames whose destination names the same station (in any
    /// address size) are for it.
    pub server_address: HdlcAddress,
    /// What the server supports, from its own point of view; the UA carries the smaller
    /// of these and the client's proposal.
    pub supported: LinkParameters,
    /// Return to NDM when no frame arrives for this long in NRM, ms (the
    /// inactivity_time_out of the IEC HDLC setup object, class 23; default 120 s).
    pub inactivity_timeout_ms: Option<u64>,
    /// The largest APDU accepted from the client, bytes.
    pub max_apdu_len: usize,
}

impl HdlcServerConfig {
    /// A configuration supporting 128-byte information fields and window 1 (the
    /// defaults), with a 120 s inactivity timeout and 64 KiB APDUs.
    pub fn new(server_address: HdlcAddress) -> Self {
        HdlcServerConfig {
            server_address,
            supported: LinkParameters::default(),
            inactivity_timeout_ms: Some(120_000),
            max_apdu_len: DEFAULT_MAX_APDU_LEN,
        }
    }
}

/// Where the server link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerLinkState {
    /// Normal disconnected mode (NDM).
    Disconnected,
    /// Normal response mode (NRM) with one client.
    Connected,
    /// NRM in the frame-reject condition: only SNRM or DISC recover.
    FrameReject,
}

/// The server link state machine (see the module docs).
#[derive(Debug)]
pub struct HdlcServer {
    config: HdlcServerConfig,
    state: ServerLinkState,
    parameters: Option<LinkParameters>,
    /// The connected client's address.
    client: Option<HdlcAddress>,
    /// This server's address in the form the client used (echoed as source address).
    own_address: HdlcAddress,
    transfer: Transfer,
    reader: FrameReader,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ServerEvent>,
    /// The poll of a completed APDU waits for the upper layer's answer.
    poll_pending: bool,
    peer_busy: bool,
    reject: Option<FrameReject>,
    last_received: u64,
}

impl HdlcServer {
    /// A server in NDM.
    pub fn new(config: HdlcServerConfig) -> Self {
        let transfer = Transfer::new(1, 1, config.max_apdu_len.saturating_add(3));
        HdlcServer {
            own_address: config.server_address,
            config,
            state: ServerLinkState::Disconnected,
            parameters: None,
            client: None,
            transfer,
            reader: FrameReader::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            poll_pending: false,
            peer_busy: false,
            reject: None,
            last_received: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerLinkState {
        self.state
    }

    /// True in NRM (including the frame-reject condition).
    pub fn is_connected(&self) -> bool {
        self.state != ServerLinkState::Disconnected
    }

    /// The negotiated parameters (server's point of view) while connected.
    pub fn parameters(&self) -> Option<LinkParameters> {
        self.parameters
    }

    /// The connected client's address.
    pub fn client_address(&self) -> Option<HdlcAddress> {
        self.client
    }

    /// The configuration.
    pub fn config(&self) -> &HdlcServerConfig {
        &self.config
    }

    /// Queues an APDU for the client (it gets the LLC header `E6 E7 00`); it is sent at
    /// once when the client's poll is pending, else at the client's next poll.
    ///
    /// # Errors
    /// [`InvalidLinkState`] unless in NRM (outside the frame-reject condition).
    pub fn send_apdu(&mut self, apdu: Vec<u8>) -> Result<(), InvalidLinkState> {
        if self.state != ServerLinkState::Connected {
            let state = match self.state {
                ServerLinkState::Disconnected => "disconnected",
                _ => "frame reject",
            };
            return Err(InvalidLinkState { action: "send an APDU", state });
        }
        self.transfer.queue(&LlcDirection::Response.wrap(&apdu));
        if self.poll_pending {
            self.respond_to_poll();
        }
        Ok(())
    }

    /// Feeds received bytes (any chunking); every complete frame is handled.
    pub fn handle_bytes(&mut self, now_ms: u64, bytes: &[u8]) {
        self.reader.push(bytes);
        while let Some(next) = self.reader.next_frame() {
            match next {
                Ok(frame) => self.handle_frame(now_ms, frame),
                Err(e) => self.events.push_back(ServerEvent::Discarded(DiscardReason::Frame(e))),
            }
        }
    }

    /// Handles one received frame. Frames for other stations are ignored, and so are
    /// frames from other clients while connected.
    pub fn handle_frame(&mut self, now_ms: u64, frame: Frame) {
        if !frame.destination.same_station(&self.config.server_address) {
            return;
        }
        let control = frame.control;
        if self.state == ServerLinkState::Disconnected {
            match control {
                Control::Snrm { .. } => self.accept_snrm(now_ms, &frame),
                Control::Ui { .. } => {}
                c if c.poll_final() => {
                    self.send_to(frame.source, frame.destination, Control::Dm { fin: true }, false, vec![])
                }
                _ => {}
            }
            return;
        }
        if !self.client.is_some_and(|c| c.same_station(&frame.source)) {
            return;
        }
        self.last_received = now_ms;
        let pf = control.poll_final();
        match control {
            Control::Snrm { .. } => {
                self.events.push_back(ServerEvent::Disconnected(DisconnectReason::LinkReset));
                self.accept_snrm(now_ms, &frame);
            }
            Control::Disc { .. } => {
                self.send(Control::Ua { fin: true }, false, Vec::new());
                self.go_disconnected(DisconnectReason::ByPeer);
            }
            _ if self.state == ServerLinkState::FrameReject => {
                if pf {
                    self.send_frmr();
                }
            }
            Control::I { ns, nr, poll_final } => self.on_i_frame(&frame, ns, nr, poll_final),
            Control::Rr { nr, poll_final } | Control::Rnr { nr, poll_final } => {
                if !frame.information.is_empty() {
                    self.enter_reject(&frame, |r| r.information_not_permitted = true);
                    return;
                }
                if !self.transfer.acknowledge(nr) {
                    self.enter_reject(&frame, |r| r.invalid_nr = true);
                    return;
                }
                self.peer_busy = matches!(control, Control::Rnr { .. });
                if poll_final {
                    self.respond_to_poll();
                }
            }
            Control::Ui { .. } => {}
            Control::Ua { .. } | Control::Dm { .. } | Control::Frmr { .. } | Control::Other(_) => {
                self.enter_reject(&frame, |r| r.undefined_control = true);
            }
        }
    }

    /// Tells the machine the time; returns to NDM after the inactivity time.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(deadline) = self.poll_timeout() {
            if now_ms >= deadline {
                self.go_disconnected(DisconnectReason::InactivityTimeout);
            }
        }
    }

    /// When [`HdlcServer::handle_timeout`] should next be called (the inactivity
    /// deadline in NRM), in the caller's milliseconds.
    pub fn poll_timeout(&self) -> Option<u64> {
        match (self.state, self.config.inactivity_timeout_ms) {
            (ServerLinkState::Disconnected, _) | (_, None) => None,
            (_, Some(limit)) => Some(self.last_received.saturating_add(limit)),
        }
    }

    /// The next frame to send (complete, with flags), if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn on_i_frame(&mut self, frame: &Frame, ns: u8, nr: u8, poll: bool) {
        let max = self.parameters.map_or(0, |p| usize::from(p.max_info_length_receive));
        if frame.information.len() > max {
            self.enter_reject(frame, |r| r.information_too_long = true);
            return;
        }
        if !self.transfer.acknowledge(nr) {
            self.enter_reject(frame, |r| r.invalid_nr = true);
            return;
        }
        let mut completed = false;
        match self.transfer.receive(ns, &frame.information, frame.segmented) {
            Received::OutOfSequence | Received::Segment => {}
            Received::Complete(pdu) => match strip_llc(&pdu, LlcDirection::Command) {
                Ok(apdu) => {
                    completed = true;
                    self.events.push_back(ServerEvent::ApduReceived(apdu.to_vec()));
                }
                Err(e) => self.events.push_back(ServerEvent::Discarded(DiscardReason::Llc(e))),
            },
            Received::TooLong(e) => self.events.push_back(ServerEvent::Discarded(DiscardReason::TooLong(e))),
        }
        if poll {
            if completed && !self.transfer.has_outgoing() && !self.transfer.has_unacked() {
                // The answer is the upper layer's response APDU (send_apdu).
                self.poll_pending = true;
            } else {
                self.respond_to_poll();
            }
        }
    }

    /// The client polled: send what its N(R) shows it lacks and what is queued, the last
    /// frame with F = 1, or RR when there is nothing to send.
    fn respond_to_poll(&mut self) {
        self.poll_pending = false;
        if !self.peer_busy {
            self.transfer.rewind();
            let (batch, _) = self.transfer.next_batch();
            if !batch.is_empty() {
                for (control, segment) in batch {
                    self.send(control, segment.more, segment.information);
                }
                return;
            }
        }
        self.send(Control::Rr { nr: self.transfer.vr(), poll_final: true }, false, Vec::new());
    }

    fn accept_snrm(&mut self, now_ms: u64, frame: &Frame) {
        let Ok(field) = NegotiationField::from_information(&frame.information) else {
            if self.state != ServerLinkState::Disconnected {
                self.go_disconnected(DisconnectReason::InvalidNegotiation);
            }
            self.send_to(frame.source, frame.destination, Control::Dm { fin: true }, false, vec![]);
            return;
        };
        let p = LinkParameters::negotiate(self.config.supported, field.link_parameters());
        self.parameters = Some(p);
        self.client = Some(frame.source);
        self.own_address = frame.destination;
        self.transfer = Transfer::new(
            p.max_info_length_transmit,
            p.window_size_transmit,
            self.config.max_apdu_len.saturating_add(3),
        );
        self.reject = None;
        self.poll_pending = false;
        self.peer_busy = false;
        self.state = ServerLinkState::Connected;
        self.last_received = now_ms;
        self.send(Control::Ua { fin: true }, false, NegotiationField::from_link_parameters(&p).to_bytes());
        self.events.push_back(ServerEvent::Connected(p));
    }

    fn enter_reject(&mut self, frame: &Frame, reason: impl FnOnce(&mut FrameReject)) {
        let mut reject = FrameReject {
            rejected_control: frame.control.to_byte(),
            vs: self.transfer.vs(),
            vr: self.transfer.vr(),
            ..FrameReject::default()
        };
        reason(&mut reject);
        self.reject = Some(reject);
        self.state = ServerLinkState::FrameReject;
        self.poll_pending = false;
        if frame.control.poll_final() {
            self.send_frmr();
        }
    }

    fn send_frmr(&mut self) {
        let info = self.reject.unwrap_or_default().to_bytes().to_vec();
        self.send(Control::Frmr { fin: true }, false, info);
    }

    fn go_disconnected(&mut self, reason: DisconnectReason) {
        self.state = ServerLinkState::Disconnected;
        self.parameters = None;
        self.client = None;
        self.own_address = self.config.server_address;
        self.transfer = Transfer::new(1, 1, self.config.max_apdu_len.saturating_add(3));
        self.reject = None;
        self.poll_pending = false;
        self.peer_busy = false;
        self.events.push_back(ServerEvent::Disconnected(reason));
    }

    fn send(&mut self, control: Control, segmented: bool, information: Vec<u8>) {
        if let Some(client) = self.client {
            self.send_to(client, self.own_address, control, segmented, information);
        }
    }

    fn send_to(
        &mut self,
        destination: HdlcAddress,
        source: HdlcAddress,
        control: Control,
        segmented: bool,
        information: Vec<u8>,
    ) {
        let frame = Frame { destination, source, control, segmented, information };
        self.transmit.push_back(frame.to_bytes());
    }
}
