//! The long-running services the separate gridedge processes are made of (issue: scale-out),
//! and the configuration file they share.
//!
//! - [`config`]: the TOML file (`[store]`, `[bus]`, `[hes]`, `[mdms]`, `[api]`).
//! - [`mdms_ingest`]: bus → MDMS store, acknowledged after commit.
//! - [`mdms_events`]: bus (events) → MDMS event store and outage engine, acknowledged after commit.
//! - [`command_results`]: bus (command results) → the `mdms_command_result` table beside the
//!   MDMS store, acknowledged after commit.

pub mod command_results;
pub mod config;
pub mod mdms_events;
pub mod mdms_ingest;
