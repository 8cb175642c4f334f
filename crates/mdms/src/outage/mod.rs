//! Outage management from AMI events: meters' power-down (last gasp) and power-restored
//! events are correlated with the network [`Topology`](crate::topology::Topology) into
//! single-meter, transformer and feeder outages, each with its interrupted customers,
//! state (open/closed), class (momentary/sustained, IEEE 1366-2012) and customer minutes.
//!
//! - [`correlate`]: the pure engine (observations + topology + configuration → outages).
//!   Its rules, including lost last gasps and missing restores, are documented there.
//! - [`OutageStore`]: persistence ([`SqliteStore`](crate::SqliteStore)), idempotent sync.
//! - [`refresh_outages`]: reads the stored events, correlates and syncs; what the HES
//!   intake calls after each batch of events.
//! - Outages feed the IEEE 1366 indices in [`reliability`](crate::reliability).

mod config;
mod correlate;
mod record;
mod refresh;
mod store;
mod timeline;

pub use config::{OutageConfig, OutageConfigError};
pub use correlate::correlate;
pub use record::{AffectedMeter, Outage, OutageClass, OutageScope, OutageState, RestoreEvidence, ScopeKind};
pub use refresh::{OutageError, POWER_EVENT_TYPES, RefreshReport, refresh_outages};
pub use store::{OutageChange, OutageChangeKind, OutageQuery, OutageStore, OutageSyncReport};
pub use timeline::{PowerObservation, PowerSignal};
