//! The HDLC-based data link layer of DLMS/COSEM (IEC 62056-46; DLMS UA 1000-2 Green Book
//! "HDLC based data link layer"), sans-I/O.
//!
//! | file | holds | clause |
//! |---|---|---|
//! | [`frame`] | frame format type 3, stream framing ([`Frame::parse`]) | IEC 62056-46 §6.4.1 |
//! | [`address`] | client and server address fields (1, 2, 4 bytes) | §6.4.2 |
//! | [`control`] | I, RR, RNR, SNRM, DISC, UA, DM, FRMR, UI control fields | §6.4.3 |
//! | [`crc`] | HCS and FCS (CRC-16/X.25, low byte first) | §6.4.1, Annex A |
//! | [`parameters`] | SNRM/UA parameter negotiation | §6.4.3, §6.4.4 |
//! | [`llc`] | the LLC header `E6 E6 00` / `E6 E7 00` | §5.3.2 |
//! | [`segmentation`] | splitting LLC PDUs into I-frames and reassembling them | §6.4.4 |
//! | [`frame_reject`] | the FRMR information field | §6.4.3 (ISO/IEC 13239) |
//! | [`reader`] | a receive buffer turning a byte stream into frames | §6.4.1 |
//! | [`client_link`], [`server_link`] | the link state machines (NDM, NRM, recovery, timeouts) | §6.4.4, §6.4.5 |
//! | [`events`] | what the state machines report | |
//! | [`transparency`] | octet stuffing, for captures from gateways that add it | RFC 1662 §4.2 |
//!
//! A typical client loop over any byte transport:
//!
//! ```
//! use dlms::hdlc::{HdlcAddress, HdlcClient, HdlcClientConfig, HdlcServer, HdlcServerConfig, LinkEvent, ServerEvent};
//!
//! let client_address = HdlcAddress::client(0x10).unwrap();
//! let server_address = HdlcAddress::server(1, 17).unwrap();
//! let mut client = HdlcClient::new(HdlcClientConfig::new(client_address, server_address));
//! let mut server = HdlcServer::new(HdlcServerConfig::new(server_address));
//! let now_ms = 0;
//! client.connect(now_ms).unwrap();
//! let mut exchange = |client: &mut HdlcClient, server: &mut HdlcServer| loop {
//!     let mut moved = false;
//!     while let Some(bytes) = client.poll_transmit() {
//!         server.handle_bytes(now_ms, &bytes);
//!         moved = true;
//!     }
//!     while let Some(event) = server.poll_event() {
//!         if let ServerEvent::ApduReceived(apdu) = event {
//!             server.send_apdu(apdu.iter().rev().copied().collect()).unwrap();
//!         }
//!     }
//!     while let Some(bytes) = server.poll_transmit() {
//!         client.handle_bytes(now_ms, &bytes);
//!         moved = true;
//!     }
//!     if !moved {
//!         break;
//!     }
//! };
//! exchange(&mut client, &mut server);
//! assert!(matches!(client.poll_event(), Some(LinkEvent::Connected(_))));
//! client.send_apdu(now_ms, vec![1, 2, 3]).unwrap();
//! exchange(&mut client, &mut server);
//! assert_eq!(client.poll_event(), Some(LinkEvent::Apdu(vec![3, 2, 1])));
//! ```

pub mod address;
pub mod client_link;
pub mod control;
pub mod crc;
pub mod events;
pub mod frame;
pub mod frame_reject;
pub mod llc;
pub mod parameters;
pub mod reader;
pub mod segmentation;
pub mod server_link;
mod transfer;
pub mod transparency;

pub use address::{AddressSize, HdlcAddress};
pub use client_link::{ClientLinkState, DEFAULT_MAX_APDU_LEN, HdlcClient, HdlcClientConfig};
pub use control::Control;
pub use events::{DiscardReason, DisconnectReason, InvalidLinkState, LinkEvent, ServerEvent};
pub use frame::{AddressField, FLAG, Frame, FrameError, FrameErrorKind, FrameFormat, MAX_FRAME_LENGTH};
pub use frame_reject::FrameReject;
pub use llc::{LLC_COMMAND, LLC_RESPONSE, LlcDirection};
pub use parameters::{LinkParameters, NegotiationField, NegotiationParameter};
pub use reader::FrameReader;
pub use segmentation::{Reassembler, Segment};
pub use server_link::{HdlcServer, HdlcServerConfig, ServerLinkState};
