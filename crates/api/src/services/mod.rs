//! What the API reads from and acts on besides the MDMS store: small traits the HES and
//! MDMS subsystems implement, each with a default implementation for what exists in one
//! process.
//!
//! | trait | default | plugs in |
//! |---|---|---|
//! | [`registry::MeterRegistry`] | [`registry::InMemoryRegistry`] | `hes::registry_store` + key store |
//! | [`events::EventSource`] | [`events::MemoryEventLog`] | [`mdms_events::MdmsEvents`] (the MDMS event store) |
//! | [`outages::OutageSource`] | [`outages::EventOutages`] | [`mdms_events::MdmsEvents`] (the MDMS outage engine) |
//! | [`commands::CommandService`] | [`command_queue::CommandQueue`] | the HES command queue |
//! | [`relay::RelayControl`] | [`relay::DlmsRelayControl`] | (used by the default command queue) |

pub mod command_queue;
pub mod commands;
pub mod events;
pub mod mdms_events;
pub mod outages;
pub mod registry;
pub mod relay;
pub mod reliability;
