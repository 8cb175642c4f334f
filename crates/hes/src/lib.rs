//! # hes — the gridedge Head-End System
//!
//! Reads meters over DLMS/COSEM (IEC 62056-5-3 application layer, IEC 62056-47 TCP
//! wrapper) and hands what it collected to the MDMS as [`model::MeterReading`]s.
//!
//! | module | holds |
//! |---|---|
//! | [`registry`] | the meters the HES knows: address, client/server SAP, authentication |
//! | [`transport`] | the link layers over a byte stream: wrapper framing; [`hdlc_transport`]: HDLC |
//! | [`session`] | one DLMS association over a transport: GET/SET/ACTION with timeouts |
//! | [`profile`] | turning a Profile generic buffer into interval readings |
//! | [`collector`] | one meter's collection: clock, registers, load profile since the last interval |
//! | [`campaign`] | a fleet's collection: bounded concurrency, retries with backoff |
//! | `serial` (feature `serial`) | a serial port (optical probe, RS-485) as a session's byte stream, for HDLC |
//! | [`registry_store`] | the persistent registry (SQLite): meters with transport, security, grid location, DCU, type, status; CSV provisioning |
//! | [`key_store`] | per-meter keys encrypted at rest, derivation (HKDF-SHA-256), invocation counters per key, key rotation |
//! | [`scheduler`] | jobs (billing, load-profile catch-up, instantaneous, on-demand) with priorities, limits, retries, breaker; persisted |
//! | [`commands`] | commands to meters (disconnect/reconnect, time sync, TOU, load limit, firmware), tracked queued → sent → confirmed/failed with an audit log in SQLite |
//! | [`push_listener`] | meters' pushes (data-notification, event-notification) received over TCP or UDP, deciphered, decoded and handed to a channel |
//! | [`push_intake`] | pushed alarms (Alarm register 1 / descriptor bits) → IEC 61968-9 EndDeviceEvents with CIM event type codes, published on the bus |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod campaign;
pub mod collector;
pub mod commands;
pub mod hdlc_transport;
pub mod key_store;
pub mod profile;
pub mod push_intake;
pub mod push_listener;
pub mod registry;
pub mod registry_store;
pub mod scheduler;
#[cfg(feature = "serial")]
pub mod serial;
pub mod session;
pub mod token_delivery;
pub mod transport;

pub use campaign::{CampaignConfig, CampaignReport, MeterFailure, run_campaign};
pub use collector::{CollectError, CollectionPlan, collect_meter};
pub use push_listener::{PushContent, PushListener, PushListenerConfig, PushMessage, PushSecurity, UdpPushListener};
pub use registry::{MeterEndpoint, Registry};
pub use session::{DlmsSession, SessionError, SessionTimeouts};
