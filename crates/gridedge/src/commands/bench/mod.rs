//! `gridedge bench`: in-process benchmarks, one subcommand per area (a module each).
//!
//! - `bench codec` ([`codec`]): the DLMS/COSEM codec on load-profile responses.
//! - `bench ingest` ([`ingest`]): MDMS ingest with VEE at fleet volume, end to end from a
//!   producer (the HES side) over the bus into the store.
//! - `bench collect` ([`collect`]): the HES's daily collection of a simulated fleet over
//!   real DLMS/COSEM sessions (HLS-GMAC, suite 0) on loopback TCP.
//!
//! Method and figures: docs/PERFORMANCE.md. A new area adds a module, a variant of
//! [`BenchCommand`] and its arm in [`run`].

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub mod codec;
pub mod collect;
pub mod ingest;
mod resources;

/// Arguments of `gridedge bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// What to benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmark areas.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// DLMS/COSEM codec: load-profile get-responses plain, in datablocks, suite-0
    /// ciphered, in HDLC frames, and one AES-GCM frame; MB/s and APDUs/s; optional
    /// comparison with gurux-dlms and dlms-cosem (Python).
    Codec(codec::CodecArgs),
    /// MDMS ingest: a simulated fleet's daily load profiles (A+, A−, R+, R−) over the
    /// in-process bus into the SQLite store with VEE; readings/s, bytes per stored value,
    /// peak memory, first ingest and duplicate replay.
    Ingest(ingest::IngestArgs),
    /// HES collection: a daily collection (associate with suite 0 + HLS-GMAC, registers,
    /// 96-row load profile by range, release) of a simulated fleet over loopback TCP;
    /// sessions/s, readings/s, CPU, peak RSS and the simulator's memory per meter.
    Collect(collect::CollectArgs),
}

/// Runs `gridedge bench …`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        BenchCommand::Codec(a) => codec::run(a),
        BenchCommand::Ingest(a) => ingest::run(a),
        BenchCommand::Collect(a) => collect::run(a),
    }
}
