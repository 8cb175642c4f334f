//! What the API reads from and acts on besides the MDMS store: small traits the HES and
//! MDMS subsystems implement, each with a default implementation for what exists in one
//! process.
//!
//! | trait | default | plugs in |
//! |---|---|---|
//! | [`registry::MeterRegistry`] | [`registry::InMemoryRegistry`] | [`registry_store::HesRegistry`] (`hes::registry_store` + key store) |
//! | [`events::EventSource`] | [`events::MemoryEventLog`] | [`mdms_events::MdmsEvents`] (the MDMS event store) |
//! | [`outages::OutageSource`] | [`outages::EventOutages`] | [`mdms_events::MdmsEvents`] (the MDMS outage engine) |
//! | [`commands::CommandService`] | [`hes_commands::HesCommands`] (`hes::commands` in this process) | [`bus_commands::BusCommands`] (scale-out: the HES over the bus) |

pub mod bus_commands;
pub mod commands;
pub mod events;
pub mod hes_commands;
pub mod mdms_events;
pub mod outages;
pub mod registry;
pub mod registry_store;
pub mod relay;
pub mod reliability;
