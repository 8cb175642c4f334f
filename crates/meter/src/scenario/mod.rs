//! Grid scenarios over a simulated fleet: what happens on the network (outages, tamper,
//! voltage quality), when, and the alarm pushes the meters send because of it.
//!
//! | module | holds |
//! |---|---|
//! | [`topology`] | meters → transformers → feeders |
//! | [`clock`] | scaled simulated time |
//! | [`event`] | grid events and scenarios; their expansion into per-meter actions; seeded last-gasp loss |
//! | [`runner`] | playing a scenario on running meters ([`crate::fleet`]) and delivering their pushes |
//!
//! A transformer outage makes every meter under it lose supply at the same simulated
//! instant: each raises power down and sends its last gasp, which is lost with the
//! scenario's probability (seeded, reproducible); the meters go dark (their DLMS servers do
//! not answer, their profiles record power down and no consumption). After the outage's
//! duration each gets supply back and pushes power up. A tamper raises the fraud-attempt
//! and cover or magnetic alarms on one meter; a sag or swell on a feeder raises the alarm on
//! every meter of the feeder that has supply.

pub mod clock;
pub mod event;
pub mod runner;
pub mod topology;

pub use clock::ScenarioClock;
pub use event::{GridEvent, MeterAction, Scenario, TimedAction};
pub use runner::{PushOutcome, PushResult, ScenarioDelivery, ScenarioReport, run_scenario};
pub use topology::{GridTopology, Placement, TopologyError, feeder_name, transformer_name};

/// Why a scenario cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// The time scale is not a finite number above 0.
    #[error("invalid time scale {0}: must be finite and > 0")]
    InvalidScale(f64),
    /// The last-gasp loss probability is outside 0..=1.
    #[error("invalid last-gasp loss probability {0}: must be in 0..=1")]
    InvalidProbability(f64),
    /// An event is before the scenario start, or an outage lasts a negative time.
    #[error("scenario events must not be before the start nor last a negative time")]
    NegativeOffset,
    /// A transformer or feeder without meters in the topology.
    #[error("no meters on {0}")]
    EmptyScope(String),
    /// A meter not in the topology, or not among the running meters.
    #[error("unknown meter {0}")]
    UnknownMeter(String),
}
