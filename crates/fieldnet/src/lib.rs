//! # fieldnet — the field network between the HES and the meters
//!
//! Data concentrators (DCUs) that meters register with, and link models for the
//! technologies of a real AMI field (G3-PLC, PRIME, RF mesh, NB-IoT, LTE-M, LoRaWAN, and
//! the DCU backhauls), applied to the **real DLMS/COSEM bytes** between
//! [`hes`] and the simulated meters of [`meter`]: the HES opens its ordinary sessions to
//! the DCU's address and the DCU relays them frame by frame, delayed, serialized,
//! dropped or retransmitted as the links dictate. Neither the HES nor the meter changes.
//!
//! | module | holds |
//! |---|---|
//! | [`field`] | [`Field`] (a running field), [`FieldSpec`], [`DcuSpec`], [`MeterAttachment`]: DCUs, their session limits, routes, in-process sessions |
//! | [`layout`] | [`FieldLayout`] and [`FieldBuilder`]: N DCUs × M meters with a technology mix |
//! | [`fleet`] | [`start_for_fleet`]: a [`meter::fleet::Fleet`] behind a field (for `gridedge demo --field …`) |
//! | [`link`] | [`LinkModel`] and the presets with their published figures |
//! | [`transmission`] | the per-frame model: medium, serialization, hops, loss, retransmission; how loss applies to HDLC and to the wrapper |
//! | [`framing`] | cutting the stream into whole wrapper / HDLC frames |
//! | `relay` (private) | the tokio relay of one session |
//! | [`scenario`] | outages, partitions, degradation, meters offline |
//! | [`availability`] | up/down schedules of a link |
//! | [`latency`] | latency distributions |
//! | [`clock`] | simulated time and the time scale |
//! | [`stats`] | counters and the per-frame trace |
//! | [`push`] | DCU push intake and forwarding (in-process, TCP to the HES push listener, MQTT with feature `mqtt`) |
//!
//! ```no_run
//! # async fn example(fleet: meter::fleet::Fleet, registry: hes::Registry) -> Result<(), fieldnet::FieldError> {
//! use std::time::Duration;
//! use fieldnet::{Effect, FieldBuilder, Framing, LinkKind};
//!
//! let field = FieldBuilder::new(42)
//!     .time_scale(0.01)                                   // 100× faster than real time
//!     .meters_per_dcu(50)
//!     .mix(vec![(LinkKind::G3Plc, 3), (LinkKind::RfMesh, 1)])
//!     .attach_fleet(&fleet, Framing::Hdlc)
//!     .start()
//!     .await?;
//! let registry = field.route_registry(&registry);          // the HES now goes through the DCUs
//! let outage = field.apply(Effect::DcuOutage("DCU-0002".into()));
//! // … collect …
//! field.clear(outage);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod availability;
pub mod clock;
pub mod error;
pub mod field;
pub mod fleet;
pub mod framing;
pub mod latency;
pub mod layout;
pub mod link;
pub mod push;
mod relay;
pub mod scenario;
pub mod stats;
pub mod transmission;

pub use availability::Availability;
pub use clock::FieldClock;
pub use error::FieldError;
pub use field::{DcuInfo, DcuSpec, Field, FieldSpec, MeterAttachment, MeterRoute, MeterTarget, default_max_sessions};
pub use fleet::{FieldProfile, FleetFieldOptions, start_for_fleet};
pub use framing::Framing;
pub use latency::Latency;
pub use layout::{FieldBuilder, FieldLayout};
pub use link::{Airtime, LinkKind, LinkModel, LoRaModulation, Medium, RadioWakeUp};
pub use scenario::{DcuId, Degradation, Effect, EffectId, Scenario, TimedEffect};
pub use stats::{FieldStats, FrameRecord, LinkStats};
pub use transmission::{Direction, DropReason, FrameFate, ResetReason, TcpRetransmission};
