//! The client (primary station) side of the HDLC link in normal response mode
//! (IEC 62056-46 §6.4.4 "Elements of the procedures"; DLMS UA 1000-2 Green Book, HDLC
//! procedures), sans-I/O in the quinn-proto style: it is fed received bytes
//! ([`HdlcClient::handle_bytes`]) and the time ([`HdlcClient::handle_timeout`]), and
//! asked what to send ([`HdlcClient::poll_transmit`]), when to wake up
//! ([`HdlcClient::poll_timeout`]) and what happened ([`HdlcClient::poll_event`]). Time
//! is a caller-supplied monotonic clock in milliseconds (`now_ms`); the machine never
//! reads a clock.
//!
//! Life cycle: [`HdlcClient::connect`] sends SNRM with the proposed parameters; the UA
//! brings the link to NRM with the negotiated ones (§6.4.4);
//! [`HdlcClient::send_apdu`] sends an APDU as one or more I-frames (segmented when longer
//! than the negotiated maximum information field length, window as negotiated, the
//! poll bit on the last frame of each window); the server's I-frames are acknowledged
//! and reassembled, a segment with S = 1 is answered with RR to ask for the next one;
//! [`HdlcClient::disconnect`] sends DISC, confirmed by UA or DM.
//!
//! Recovery: when a frame with the poll bit gets no answer within the response timeout,
//! the client polls again (SNRM or DISC again while connecting or disconnecting, RR
//! with P = 1 in NRM); the server answers a poll by sending again what the client's
//! N(R) shows was lost (go-back-N), so a lost response is recovered. An I-frame with an
//! unexpected N(S) is discarded and answered with RR carrying the expected N(R). After
//! `max_retries` unanswered polls the link is declared down.

use std::collections::VecDeque;

use super::address::HdlcAddress;
use super::control::Control;
use super::events::{DiscardReason, DisconnectReason, InvalidLinkState, LinkEvent};
use super::frame::Frame;
use super::frame_reject::FrameReject;
use super::llc::{LlcDirection, strip_llc};
use super::parameters::{LinkParameters, NegotiationField};
use super::reader::FrameReader;
use super::transfer::{Received, Transfer};
use crate::codec::Codec;

/// The largest APDU reassembled by default, bytes (the largest xDLMS max PDU size).
pub const DEFAULT_MAX_APDU_LEN: usize = 0xFFFF;

/// How the client link behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlcClientConfig {
    /// The client's address (one byte, e.g. 0x10 for the public client).
    pub client_address: HdlcAddress,
    /// The server's address (1, 2 or 4 bytes; frames from it are matched by value).
    pub server_address: HdlcAddress,
    /// The parameters proposed in SNRM, from the client's point of view. When equal to
    /// the defaults (128 bytes, window 1), the SNRM carries no information field.
    pub proposed: LinkParameters,
    /// How long to wait for the answer to a frame with the poll bit, ms.
    pub response_timeout_ms: u64,
    /// How many times an unanswered poll is repeated before the link is declared down
    /// (also how many empty polls are made while waiting for a response APDU).
    pub max_retries: u32,
    /// Disconnect when no frame was exchanged for this long in NRM, ms.
    pub inactivity_timeout_ms: Option<u64>,
    /// The largest APDU accepted from the server, bytes.
    pub max_apdu_len: usize,
}

impl HdlcClientConfig {
    /// A configuration with default parameters (128 bytes, window 1), a 3 s response
    /// timeout, 3 retries, no inactivity timeout, 64 KiB APDUs.
    pub fn new(client_address: HdlcAddress, server_address: HdlcAddress) -> Self {
        HdlcClientConfig {
            client_address,
            server_address,
            proposed: LinkParameters::default(),
            response_timeout_ms: 3_000,
            max_retries: 3,
            inactivity_timeout_ms: None,
            max_apdu_len: DEFAULT_MAX_APDU_LEN,
        }
    }
}

/// Where the client link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLinkState {
    /// Normal disconnected mode (NDM): `connect` may be called.
    Disconnected,
    /// SNRM sent, waiting for UA or DM.
    Connecting,
    /// Normal response mode (NRM): APDUs may be sent.
    Connected,
    /// DISC sent, waiting for UA or DM.
    Disconnecting,
}

impl ClientLinkState {
    fn name(self) -> &'static str {
        match self {
            ClientLinkState::Disconnected => "disconnected",
            ClientLinkState::Connecting => "connecting",
            ClientLinkState::Connected => "connected",
            ClientLinkState::Disconnecting => "disconnecting",
        }
    }
}

/// The client link state machine (see the module docs).
#[derive(Debug)]
pub struct HdlcClient {
    config: HdlcClientConfig,
    state: ClientLinkState,
    parameters: Option<LinkParameters>,
    transfer: Transfer,
    reader: FrameReader,
    /// Frames to send, each marked when it carries the poll bit.
    transmit: VecDeque<(Vec<u8>, bool)>,
    /// Frames with the poll bit still in `transmit` (not yet handed to the caller).
    queued_polls: usize,
    events: VecDeque<LinkEvent>,
    /// A frame with P = 1 is out and its F = 1 answer has not come.
    awaiting_final: bool,
    /// When to poll again (unanswered poll, or waiting for a response APDU).
    retry_at: Option<u64>,
    retries: u32,
    /// The last segment of an APDU was sent and no APDU has come back since.
    awaiting_response: bool,
    idle_polls: u32,
    peer_busy: bool,
    last_activity: u64,
}

impl HdlcClient {
    /// A client in [`ClientLinkState::Disconnected`].
    pub fn new(config: HdlcClientConfig) -> Self {
        let transfer = Transfer::new(1, 1, config.max_apdu_len.saturating_add(3));
        HdlcClient {
            config,
            state: ClientLinkState::Disconnected,
            parameters: None,
            transfer,
            reader: FrameReader::new(),
            transmit: VecDeque::new(),
            queued_polls: 0,
            events: VecDeque::new(),
            awaiting_final: false,
            retry_at: None,
            retries: 0,
            awaiting_response: false,
            idle_polls: 0,
            peer_busy: false,
            last_activity: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientLinkState {
        self.state
    }

    /// True in NRM.
    pub fn is_connected(&self) -> bool {
        self.state == ClientLinkState::Connected
    }

    /// The negotiated parameters (client's point of view) while connected.
    pub fn parameters(&self) -> Option<LinkParameters> {
        self.parameters
    }

    /// The configuration.
    pub fn config(&self) -> &HdlcClientConfig {
        &self.config
    }

    /// Sends SNRM (with the proposed parameters unless they are the defaults).
    ///
    /// # Errors
    /// [`InvalidLinkState`] unless disconnected.
    pub fn connect(&mut self, now_ms: u64) -> Result<(), InvalidLinkState> {
        self.require(ClientLinkState::Disconnected, "connect")?;
        self.state = ClientLinkState::Connecting;
        self.retries = 0;
        self.send_snrm(now_ms);
        Ok(())
    }

    /// Queues an APDU (it gets the LLC header `E6 E6 00`) and sends as much of it as the
    /// window allows when it is the client's turn.
    ///
    /// # Errors
    /// [`InvalidLinkState`] unless connected.
    pub fn send_apdu(&mut self, now_ms: u64, apdu: Vec<u8>) -> Result<(), InvalidLinkState> {
        self.require(ClientLinkState::Connected, "send an APDU")?;
        self.transfer.queue(&LlcDirection::Command.wrap(&apdu));
        if !self.awaiting_final && !self.peer_busy {
            self.send_batch(now_ms);
        }
        Ok(())
    }

    /// Sends DISC; queued APDUs are dropped. `Disconnected(Requested)` follows the UA.
    ///
    /// # Errors
    /// [`InvalidLinkState`] when already disconnected or disconnecting.
    pub fn disconnect(&mut self, now_ms: u64) -> Result<(), InvalidLinkState> {
        if matches!(self.state, ClientLinkState::Disconnected | ClientLinkState::Disconnecting) {
            return Err(InvalidLinkState { action: "disconnect", state: self.state.name() });
        }
        self.start_disconnect(now_ms);
        Ok(())
    }

    /// Feeds received bytes (any chunking); every complete frame is handled.
    pub fn handle_bytes(&mut self, now_ms: u64, bytes: &[u8]) {
        self.reader.push(bytes);
        while let Some(next) = self.reader.next_frame() {
            match next {
                Ok(frame) => self.handle_frame(now_ms, frame),
                Err(e) => self.events.push_back(LinkEvent::Discarded(DiscardReason::Frame(e))),
            }
        }
    }

    /// Handles one received frame. Frames not between this client and its server are
    /// ignored (another station's traffic on a shared line).
    pub fn handle_frame(&mut self, now_ms: u64, frame: Frame) {
        if !frame.destination.same_station(&self.config.client_address)
            || !frame.source.same_station(&self.config.server_address)
        {
            return;
        }
        self.last_activity = now_ms;
        match (self.state, frame.control) {
            (_, Control::Ui { .. }) => self.events.push_back(LinkEvent::UnnumberedInformation(frame.information)),
            (ClientLinkState::Connecting, Control::Ua { .. }) => self.on_ua(now_ms, &frame.information),
            (ClientLinkState::Connecting, Control::Dm { .. }) => self.go_disconnected(DisconnectReason::Refused),
            (ClientLinkState::Disconnecting, Control::Ua { .. } | Control::Dm { .. }) => {
                self.go_disconnected(DisconnectReason::Requested)
            }
            (ClientLinkState::Connected, Control::I { ns, nr, poll_final }) => {
                // An N(R) outside the window is ignored: the frame still counts.
                self.transfer.acknowledge(nr);
                let ask = match self.transfer.receive(ns, &frame.information, frame.segmented) {
                    Received::OutOfSequence | Received::Segment => true,
                    Received::Complete(pdu) => {
                        match strip_llc(&pdu, LlcDirection::Response) {
                            Ok(apdu) => {
                                self.awaiting_response = false;
                                self.idle_polls = 0;
                                self.events.push_back(LinkEvent::Apdu(apdu.to_vec()));
                            }
                            Err(e) => self.events.push_back(LinkEvent::Discarded(DiscardReason::Llc(e))),
                        }
                        false
                    }
                    Received::TooLong(e) => {
                        self.events.push_back(LinkEvent::Discarded(DiscardReason::TooLong(e)));
                        true
                    }
                };
                if poll_final && self.poll_outstanding() {
                    self.on_final(now_ms, ask);
                }
            }
            (ClientLinkState::Connected, Control::Rr { nr, poll_final }) => {
                self.transfer.acknowledge(nr);
                self.peer_busy = false;
                if poll_final && self.poll_outstanding() {
                    self.on_final(now_ms, false);
                }
            }
            (ClientLinkState::Connected, Control::Rnr { nr, poll_final }) => {
                self.transfer.acknowledge(nr);
                self.peer_busy = true;
                if poll_final && self.poll_outstanding() {
                    self.on_final(now_ms, false);
                }
            }
            (ClientLinkState::Connected, Control::Frmr { .. }) => {
                let reject = FrameReject::from_information(&frame.information).unwrap_or_default();
                self.events.push_back(LinkEvent::FrameRejected(reject));
                self.start_disconnect(now_ms);
            }
            (ClientLinkState::Connected, Control::Dm { .. }) => self.go_disconnected(DisconnectReason::ByPeer),
            // Late duplicates (a second UA), commands (which a server never sends), and
            // anything while disconnected.
            _ => {}
        }
    }

    /// Tells the machine the time; repeats an unanswered poll, polls for a pending
    /// response, or disconnects after the inactivity time.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let (ClientLinkState::Connected, Some(limit)) = (self.state, self.config.inactivity_timeout_ms) {
            if now_ms >= self.last_activity.saturating_add(limit) {
                self.send(Control::Disc { poll: true }, false, Vec::new());
                self.go_disconnected(DisconnectReason::InactivityTimeout);
                return;
            }
        }
        let Some(at) = self.retry_at else { return };
        if now_ms < at {
            return;
        }
        if self.awaiting_final {
            self.retries += 1;
            if self.retries > self.config.max_retries {
                self.go_disconnected(DisconnectReason::NoResponse);
                return;
            }
            match self.state {
                ClientLinkState::Connecting => self.send_snrm(now_ms),
                ClientLinkState::Disconnecting => self.send_disc(now_ms),
                ClientLinkState::Connected => self.poll(now_ms),
                ClientLinkState::Disconnected => self.retry_at = None,
            }
        } else {
            self.idle_polls += 1;
            if self.idle_polls > self.config.max_retries {
                self.retry_at = None;
                self.awaiting_response = false;
                if self.transfer.has_outgoing() {
                    // The server stayed busy (RNR) through every poll.
                    self.go_disconnected(DisconnectReason::NoResponse);
                }
                return;
            }
            self.poll(now_ms);
        }
    }

    /// When [`HdlcClient::handle_timeout`] should next be called, in the caller's
    /// milliseconds, or `None` when no timer runs.
    pub fn poll_timeout(&self) -> Option<u64> {
        let inactivity = match (self.state, self.config.inactivity_timeout_ms) {
            (ClientLinkState::Connected, Some(limit)) => Some(self.last_activity.saturating_add(limit)),
            _ => None,
        };
        match (self.retry_at, inactivity) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next frame to send (complete, with flags), if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let (bytes, poll) = self.transmit.pop_front()?;
        if poll {
            self.queued_polls = self.queued_polls.saturating_sub(1);
        }
        Some(bytes)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    fn require(&self, state: ClientLinkState, action: &'static str) -> Result<(), InvalidLinkState> {
        if self.state == state { Ok(()) } else { Err(InvalidLinkState { action, state: self.state.name() }) }
    }

    fn on_ua(&mut self, now_ms: u64, information: &[u8]) {
        let Ok(field) = NegotiationField::from_information(information) else {
            self.send(Control::Disc { poll: true }, false, Vec::new());
            self.go_disconnected(DisconnectReason::InvalidNegotiation);
            return;
        };
        // The UA states the server's view; ours is the reverse, never above our proposal.
        let server = field.link_parameters().reversed();
        let proposed = self.config.proposed.clamped();
        let p = LinkParameters {
            max_info_length_transmit: server.max_info_length_transmit.min(proposed.max_info_length_transmit),
            max_info_length_receive: server.max_info_length_receive.min(proposed.max_info_length_receive),
            window_size_transmit: server.window_size_transmit.min(proposed.window_size_transmit),
            window_size_receive: server.window_size_receive.min(proposed.window_size_receive),
        };
        self.parameters = Some(p);
        self.transfer = Transfer::new(
            p.max_info_length_transmit,
            p.window_size_transmit,
            self.config.max_apdu_len.saturating_add(3),
        );
        self.state = ClientLinkState::Connected;
        self.clear_timers();
        self.last_activity = now_ms;
        self.events.push_back(LinkEvent::Connected(p));
    }

    /// The server's F = 1 frame gave the turn back: decide what to send.
    fn on_final(&mut self, now_ms: u64, ask_next: bool) {
        self.clear_timers();
        self.retries = 0;
        if ask_next {
            self.poll(now_ms);
            return;
        }
        if !self.peer_busy && (self.transfer.has_unacked() || self.transfer.has_outgoing()) {
            // Frames the server's N(R) did not acknowledge are sent again (go-back-N).
            self.transfer.rewind();
            self.send_batch(now_ms);
            return;
        }
        if self.awaiting_response || self.transfer.has_outgoing() {
            self.retry_at = Some(now_ms.saturating_add(self.config.response_timeout_ms));
        }
    }

    fn send_batch(&mut self, now_ms: u64) {
        let (batch, ends_pdu) = self.transfer.next_batch();
        if batch.is_empty() {
            return;
        }
        for (control, segment) in batch {
            self.send(control, segment.more, segment.information);
        }
        if ends_pdu {
            self.awaiting_response = true;
        }
        self.idle_polls = 0;
        self.arm(now_ms);
    }

    /// RR with P = 1 and the expected N(R).
    fn poll(&mut self, now_ms: u64) {
        self.send(Control::Rr { nr: self.transfer.vr(), poll_final: true }, false, Vec::new());
        self.arm(now_ms);
    }

    fn send_snrm(&mut self, now_ms: u64) {
        let info = if self.config.proposed == LinkParameters::default() {
            Vec::new()
        } else {
            NegotiationField::from_link_parameters(&self.config.proposed.clamped()).to_bytes()
        };
        self.send(Control::Snrm { poll: true }, false, info);
        self.arm(now_ms);
    }

    fn send_disc(&mut self, now_ms: u64) {
        self.send(Control::Disc { poll: true }, false, Vec::new());
        self.arm(now_ms);
    }

    fn start_disconnect(&mut self, now_ms: u64) {
        self.state = ClientLinkState::Disconnecting;
        self.transfer = Transfer::new(1, 1, self.config.max_apdu_len.saturating_add(3));
        self.clear_timers();
        self.retries = 0;
        self.send_disc(now_ms);
    }

    fn go_disconnected(&mut self, reason: DisconnectReason) {
        self.state = ClientLinkState::Disconnected;
        self.parameters = None;
        self.transfer = Transfer::new(1, 1, self.config.max_apdu_len.saturating_add(3));
        self.clear_timers();
        self.awaiting_response = false;
        self.peer_busy = false;
        self.events.push_back(LinkEvent::Disconnected(reason));
    }

    fn clear_timers(&mut self) {
        self.awaiting_final = false;
        self.retry_at = None;
    }

    /// A frame with P = 1 went out: wait for the F = 1 answer.
    fn arm(&mut self, now_ms: u64) {
        self.awaiting_final = true;
        self.retry_at = Some(now_ms.saturating_add(self.config.response_timeout_ms));
        self.last_activity = now_ms;
    }

    fn send(&mut self, control: Control, segmented: bool, information: Vec<u8>) {
        let frame = Frame {
            destination: self.config.server_address,
            source: self.config.client_address,
            control,
            segmented,
            information,
        };
        let poll = control.poll_final();
        if poll {
            self.queued_polls += 1;
        }
        self.transmit.push_back((frame.to_bytes(), poll));
    }

    /// True when a frame with the poll bit has gone out and its answer is due. A frame
    /// with F = 1 that arrives while the poll is still queued answers an older poll (it
    /// is a duplicate or a late repeat): its content is used, but it does not hand the
    /// turn over, so one poll never gets two follow-ups (IEC 62056-46 §6.4.4: one
    /// P/F checkpoint at a time).
    fn poll_outstanding(&self) -> bool {
        self.awaiting_final && self.queued_polls == 0
    }
}
