//! `gridedge`: the one binary. Subcommands:
//!
//! * `demo`: a simulated fleet, the HES and the MDMS in one process (DLMS/COSEM over
//!   loopback TCP), collecting D days of history for N meters;
//! * `read`: read any DLMS/COSEM meter over the TCP wrapper and print JSON;
//! * `meter`: one simulated meter, standalone;
//! * `decode`: decode a wrapper frame or an APDU given in hex to JSON;
//! * `bench codec`: DLMS/COSEM codec throughput (MB/s, APDUs/s), optionally against
//!   gurux-dlms and dlms-cosem;
//! * `vend`: sell prepayment credit: a 20-digit STS token for an amount, recorded;
//! * `token enter`: deliver a token to a prepaid meter through the HES (Token gateway);
//! * `mdms`: the MDMS store: VEE (edit, history, exceptions, accept, estimate, validate,
//!   audit), billing determinants, transformer energy balance and water night flow.
#![forbid(unsafe_code)]

mod commands;
mod services;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gridedge — open-source AMI: DLMS/COSEM meters, Head-End System and MDMS.
#[derive(Parser)]
#[command(name = "gridedge", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a simulated fleet, the HES and the MDMS in one process and collect history.
    Demo(commands::demo::DemoArgs),
    /// Read a DLMS/COSEM meter over TCP (IEC 62056-47 wrapper) and print JSON.
    Read(commands::read::ReadArgs),
    /// Run one simulated meter as a DLMS/COSEM server over TCP.
    Meter(commands::meter::MeterArgs),
    /// Decode a wrapper frame or an APDU (hex) to JSON.
    Decode(commands::decode::DecodeArgs),
    /// In-process benchmarks (`gridedge bench codec`).
    Bench(commands::bench::BenchArgs),
    /// Vend prepayment credit: an STS token for an amount at the meter's tariff.
    Vend(commands::vend::VendArgs),
    /// Prepayment tokens: deliver one to a meter through its Token gateway.
    Token(commands::token::TokenArgs),
    /// Tracked commands to a meter: disconnect, reconnect, time-sync, tou, limit, fota; list, show.
    #[command(name = "command")]
    Control(commands::command::CommandArgs),
    /// Firmware images: vendor key, signing, inspection.
    Firmware(commands::firmware::FirmwareArgs),
    /// MDMS: VEE edits and queue, audit, billing determinants, energy balance, night flow.
    Mdms(commands::mdms::MdmsArgs),
    /// Serve the operator API and the web dashboard (or manage API tokens).
    Api(commands::api::ApiArgs),
    /// Verify the hash chain of the API audit log.
    Audit(commands::audit::AuditArgs),
    /// Head-End System: registry, keys, jobs, on-demand reads, the scheduler.
    Hes(commands::hes::HesArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => commands::demo::run(a),
        Command::Read(a) => commands::read::run(a),
        Command::Meter(a) => commands::meter::run(a),
        Command::Decode(a) => commands::decode::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Vend(a) => commands::vend::run(a),
        Command::Token(a) => commands::token::run(a),
        Command::Control(a) => commands::command::run(a),
        Command::Firmware(a) => commands::firmware::run(a),
        Command::Mdms(a) => commands::mdms::run(a),
        Command::Api(a) => commands::api::run(a),
        Command::Audit(a) => commands::audit::run(a),
        Command::Hes(a) => commands::hes::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
