//! # api — the gridedge operator API and dashboard
//!
//! What a control-room operator and an integrator use every day:
//!
//! - a REST API under `/api/v1` (axum): meters, readings with quality and version,
//!   registers, VEE exceptions, interval edits and history, billing determinants, exports
//!   (CSV, IEC 61968-9 CIM XML, NAESB ESPI XML), STS vends, commands (disconnect,
//!   reconnect, time sync, TOU change, load limit; followed to the meter's confirmation
//!   with their history), events, outages and IEEE 1366
//!   indices; JSON errors of one shape ([`error`]), UTC ISO 8601 ranges and cursor
//!   pagination ([`query`]);
//! - an OpenAPI 3 document generated from the code at `/api/openapi.json` ([`routes`]);
//! - bearer tokens with roles reader < operator < admin, stored as SHA-256 ([`auth`]);
//! - a hash-chained audit log of every state-changing call ([`audit`]);
//! - Prometheus metrics at `/metrics` ([`metrics`]);
//! - the web dashboard, embedded in the binary ([`routes::dashboard`]);
//! - HTTPS with rustls behind the `tls` feature ([`server`]).
//!
//! Data comes from the MDMS store (`mdms::MeterDataStore`) and from small traits of this
//! crate that the HES and MDMS subsystems implement ([`services`]): [`MeterRegistry`],
//! [`EventSource`], [`OutageSource`], [`CommandService`]. Each has a default implementation
//! that works with what exists in one process ([`ApiBuilder`] wires them) and one for the
//! HES's persistent registry ([`HesRegistry`]) or the scale-out bus ([`BusCommands`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = mdms::SqliteStore::open("mdms.db")?;
//! let db = api::ApiDb::open("mdms.db")?;
//! let state = api::ApiBuilder::new(Box::new(store), db).build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! api::serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod db;
pub mod error;
pub mod metrics;
pub mod query;
pub mod routes;
pub mod server;
pub mod services;
pub mod state;

pub use audit::{AuditLog, VerifyReport, verify_file};
pub use auth::{Caller, NewToken, Role, TokenStore};
pub use db::ApiDb;
pub use error::{ApiError, ErrorCode};
pub use metrics::Metrics;
pub use routes::app;
pub use server::serve;
pub use services::bus_commands::BusCommands;
pub use services::commands::{
    CommandDetail, CommandFilter, CommandHistoryEntry, CommandKind, CommandLog, CommandRecord, CommandService,
    CommandState, NewCommand,
};
pub use services::events::{EventFilter, EventItem, EventSource, MemoryEventLog};
pub use services::hes_commands::{CommandOutcomes, HesCommands};
pub use services::mdms_events::MdmsEvents;
pub use services::outages::{EventOutages, OutageItem, OutageRules, OutageSource};
pub use services::registry::{InMemoryRegistry, MeterRegistry, ProvisionRequest, RegisteredMeter};
pub use services::registry_store::HesRegistry;
pub use services::relay::RelayState;
pub use state::{ApiBuilder, ApiSettings, AppState};
