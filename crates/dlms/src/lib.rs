//! # dlms — a sans-I/O DLMS/COSEM stack
//!
//! Bytes in, typed values or typed errors out; no sockets, no async runtime, no timers.
//! The layers follow IEC 62056:
//!
//! | module | standard |
//! |---|---|
//! | [`obis`] | IEC 62056-6-1 object identification |
//! | [`data`], [`datetime`] | IEC 62056-6-2 §4.1 data types, A-XDR (IEC 62056-5-3 §9.5) |
//! | [`unit`] | IEC 62056-6-2 §4.3.2 units and scaler_unit |
//! | [`xdlms`] | IEC 62056-5-3 §9.3/§9.5 xDLMS services (GET, SET, ACTION, notifications, Initiate) |
//! | [`acse`] | IEC 62056-5-3 §9.4 ACSE (AARQ/AARE/RLRQ/RLRE) |
//! | [`apdu`] | any APDU, dispatched on its first byte |
//! | [`association`] | IEC 62056-5-3 §7.3 client and server association state machines |
//! | [`security`] | IEC 62056-5-3 §9.2 security: suite 0 (AES-GCM-128), ciphered APDUs, HLS-GMAC, key wrap, Security setup (class 64) |
//! | [`wrapper`] | IEC 62056-47 TCP/UDP wrapper |
//! | [`hdlc`] | IEC 62056-46 HDLC data link layer (frames, LLC, segmentation, client/server link) |
//! | [`han`] | HAN/P1 consumer-port pushes: HDLC, M-Bus (EN 13757-2), DSMR P1 telegrams, list interpretation |
//! | `bench_fixtures` | (feature `bench-fixtures`) realistic load-profile APDUs for `benches/codec.rs` and `gridedge bench codec` |
//! | [`codec`] | the `Reader` cursor and `DecodeError` every decoder uses |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acse;
pub mod apdu;
pub mod association;
#[cfg(feature = "bench-fixtures")]
pub mod bench_fixtures;
pub mod codec;
pub mod data;
pub mod datetime;
pub mod han;
pub mod hdlc;
pub mod obis;
#[cfg(test)]
pub(crate) mod proptest_strategies;
pub mod security;
pub mod unit;
pub mod wrapper;
pub mod xdlms;

pub use codec::{Codec, DecodeError, Reader};
pub use data::Data;
pub use obis::Obis;
