//! What the HDLC link state machines report to the layer above
//! ([`HdlcClient::poll_event`](super::HdlcClient::poll_event),
//! [`HdlcServer::poll_event`](super::HdlcServer::poll_event)).

use serde::Serialize;
use thiserror::Error;

use super::frame::FrameError;
use super::frame_reject::FrameReject;
use super::parameters::LinkParameters;
use super::segmentation::ReassemblyTooLong;
use crate::codec::DecodeError;

/// Why a link left normal response mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DisconnectReason {
    /// This side asked (DISC) and the peer confirmed with UA or DM.
    Requested,
    /// The server answered the SNRM with DM (IEC 62056-46 §6.4.4).
    Refused,
    /// The peer disconnected: a DISC arrived (server side), or a DM in NRM (client side).
    ByPeer,
    /// The client sent a frame with P = 1 and got no answer after all its retries.
    NoResponse,
    /// No frame was exchanged for the configured inactivity time (IEC 62056-46
    /// §6.4.4, inactivity time-out).
    InactivityTimeout,
    /// The UA carried a negotiation field that could not be decoded.
    InvalidNegotiation,
    /// The server answered with FRMR; the client disconnected.
    FrameRejected,
    /// The client sent a new SNRM while connected: the link was reset (and a
    /// `Connected` event follows).
    LinkReset,
}

/// Why received bytes or a received PDU were dropped without changing the link state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DiscardReason {
    /// The bytes did not form a valid frame.
    #[error("invalid frame: {0}")]
    Frame(FrameError),
    /// A reassembled PDU did not start with the expected LLC header.
    #[error("invalid LLC header: {0}")]
    Llc(DecodeError),
    /// A reassembled PDU exceeded the configured maximum APDU length.
    #[error("{0}")]
    TooLong(ReassemblyTooLong),
}

/// An event of the client link ([`HdlcClient`](super::HdlcClient)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// UA received: the link is in normal response mode with these parameters (the
    /// client's point of view: `max_info_length_transmit` is what the client sends).
    Connected(LinkParameters),
    /// A complete APDU from the server (reassembled, LLC header `E6 E7 00` removed).
    Apdu(Vec<u8>),
    /// The information field of a UI frame (e.g. a push; the LLC header is left in).
    UnnumberedInformation(Vec<u8>),
    /// The link is down; a new `connect` is needed.
    Disconnected(DisconnectReason),
    /// The server sent FRMR with this reason; the client disconnects.
    FrameRejected(FrameReject),
    /// Something received was dropped.
    Discarded(DiscardReason),
}

/// An event of the server link ([`HdlcServer`](super::HdlcServer)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// SNRM accepted and answered with UA: these parameters apply (the server's point of
    /// view: `max_info_length_transmit` is what the server sends).
    Connected(LinkParameters),
    /// A complete APDU from the client (reassembled, LLC header `E6 E6 00` removed);
    /// answer it with [`HdlcServer::send_apdu`](super::HdlcServer::send_apdu).
    ApduReceived(Vec<u8>),
    /// The link left normal response mode.
    Disconnected(DisconnectReason),
    /// Something received was dropped.
    Discarded(DiscardReason),
}

/// A call that the link's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("cannot {action} in link state {state}")]
pub struct InvalidLinkState {
    /// What was attempted.
    pub action: &'static str,
    /// The state the link was in.
    pub state: &'static str,
}
