//! # bus — how the gridedge processes talk
//!
//! Readings, events and command results flow from the HES to the MDMS, commands from the
//! API to the HES (docs/ARCHITECTURE.md, "Data flow"). Each flow is a [`MessageKind`];
//! a [`BusMessage`] carries a JSON payload and a content id for de-duplication.
//!
//! Two transports behind the same traits ([`Publisher`], [`Subscriber`], [`Delivery`]):
//! - [`InProcessBus`] (default): bounded tokio channels, for the one-binary deployment;
//! - `JetStreamBus` (feature `nats`): NATS JetStream streams with durable pull consumers,
//!   for HES and MDMS in separate processes.
//!
//! [`consume`] is the consumer loop: acknowledge only after the handler committed.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod command_message;
mod consume;
mod error;
mod in_process;
#[cfg(feature = "nats")]
mod lease;
mod message;
#[cfg(feature = "nats")]
mod nats;
mod shard;
mod transport;

pub use command_message::{CommandEnvelope, CommandResultEnvelope, CommandResultState, shard_key};
pub use consume::{BatchVerdict, ConsumeOptions, ConsumeStats, consume};
pub use error::BusError;
pub use in_process::{InProcessBus, InProcessDelivery, InProcessPublisher, InProcessSubscriber};
#[cfg(feature = "nats")]
pub use lease::{LeaseConfig, ShardLeases};
pub use message::{BusMessage, MessageKind, SUBJECT_PREFIX};
#[cfg(feature = "nats")]
pub use nats::{JetStreamBus, JetStreamConfig, JetStreamDelivery, JetStreamPublisher, JetStreamSubscriber};
pub use shard::shard_of;
pub use transport::{Delivery, Publisher, Subscriber};
