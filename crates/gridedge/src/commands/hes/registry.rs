//! `gridedge hes registry`: provisioning (CSV import, single adds), listing and status
//! changes of the persistent meter registry.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use hes::registry_store::{
    AuthenticationKind, MeterFilter, MeterRecord, MeterStatus, MeterType, RegistryStore, SecurityProfile,
    TransportKind, record::parse_system_title,
};
use serde_json::json;

use super::{DbArg, print_json};

/// Arguments of `gridedge hes registry`.
#[derive(Args)]
pub struct RegistryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RegistryCommand,
}

/// `gridedge hes registry` subcommands.
#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Import meters from a CSV file (header row; columns documented in
    /// `hes::registry_store::csv_import`). Good rows are written, bad rows reported;
    /// re-importing the same file changes nothing. Exit code 2 when some rows failed.
    Import(ImportArgs),
    /// List meters (JSON array), optionally filtered.
    List(ListArgs),
    /// Show one meter.
    Show(ShowArgs),
    /// Add or replace one meter.
    Add(Box<AddArgs>),
    /// Change a meter's status.
    SetStatus(SetStatusArgs),
}

/// `hes registry import`.
#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    db: DbArg,
    /// The CSV file.
    #[arg(long)]
    csv: PathBuf,
}

/// `hes registry list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArg,
    /// Only this status (provisioned, active, suspended, decommissioned).
    #[arg(long)]
    status: Option<String>,
    /// Only meters behind this DCU.
    #[arg(long)]
    dcu: Option<String>,
    /// Only meters on this feeder.
    #[arg(long)]
    feeder: Option<String>,
    /// Only meters under this transformer.
    #[arg(long)]
    transformer: Option<String>,
    /// Only this meter type (electricity, water, gas).
    #[arg(long)]
    meter_type: Option<String>,
}

/// `hes registry show`.
#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    db: DbArg,
    /// The meter's serial number.
    #[arg(long)]
    serial: String,
}

/// `hes registry add`: the same fields as the CSV columns.
#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArg,
    /// Serial number.
    #[arg(long)]
    serial: String,
    /// IP address or host name.
    #[arg(long)]
    host: String,
    /// TCP port.
    #[arg(long, default_value_t = 4059)]
    port: u16,
    /// electricity, water or gas.
    #[arg(long, default_value = "electricity")]
    meter_type: String,
    /// wrapper or hdlc.
    #[arg(long, default_value = "wrapper")]
    transport: String,
    /// Client SAP (default 16 without authentication, else 1).
    #[arg(long)]
    client_sap: Option<u16>,
    /// Server SAP (HDLC upper address).
    #[arg(long, default_value_t = 1)]
    server_sap: u16,
    /// HDLC lower address (default 17 with HDLC).
    #[arg(long)]
    server_physical: Option<u16>,
    /// none, low or high-gmac.
    #[arg(long, default_value = "none")]
    authentication: String,
    /// Security suite (0); default 0 with high-gmac, else no ciphering.
    #[arg(long)]
    security_suite: Option<u8>,
    /// Security policy bits (default 0x6C = authenticated and encrypted both ways).
    #[arg(long, value_parser = parse_u8)]
    security_policy: Option<u8>,
    /// System title, 16 hex digits.
    #[arg(long)]
    system_title: Option<String>,
    /// Logical device name.
    #[arg(long)]
    logical_device_name: Option<String>,
    /// Distribution transformer.
    #[arg(long)]
    transformer: Option<String>,
    /// Feeder.
    #[arg(long)]
    feeder: Option<String>,
    /// Data concentrator.
    #[arg(long)]
    dcu: Option<String>,
    /// Shared communication link.
    #[arg(long)]
    link: Option<String>,
    /// IANA time zone.
    #[arg(long, default_value = "UTC")]
    time_zone: String,
    /// provisioned, active, suspended or decommissioned.
    #[arg(long, default_value = "provisioned")]
    status: String,
}

/// `hes registry set-status`.
#[derive(Args)]
pub struct SetStatusArgs {
    #[command(flatten)]
    db: DbArg,
    /// The meter.
    #[arg(long)]
    serial: String,
    /// The new status.
    #[arg(long)]
    status: String,
}

fn parse_u8(s: &str) -> Result<u8, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16).map_err(|e| e.to_string()),
        None => s.parse().map_err(|e: std::num::ParseIntError| e.to_string()),
    }
}

fn record_of(a: &AddArgs) -> anyhow::Result<MeterRecord> {
    let mut r = MeterRecord::new(a.serial.clone(), a.host.clone(), a.port);
    r.meter_type = a.meter_type.parse::<MeterType>()?;
    r.transport.kind = a.transport.parse::<TransportKind>()?;
    r.authentication = a.authentication.parse::<AuthenticationKind>()?;
    r.transport.client_sap = a.client_sap.unwrap_or(if r.authentication == AuthenticationKind::None { 16 } else { 1 });
    r.transport.server_sap = a.server_sap;
    r.transport.server_physical =
        a.server_physical.or(if r.transport.kind == TransportKind::Hdlc { Some(17) } else { None });
    let suite = a.security_suite.or(if r.authentication == AuthenticationKind::HighGmac { Some(0) } else { None });
    r.security = match (suite, a.security_policy) {
        (Some(suite), policy) => {
            Some(SecurityProfile { suite, policy: policy.unwrap_or(SecurityProfile::SUITE0_DEFAULT.policy) })
        }
        (None, Some(_)) => anyhow::bail!("--security-policy needs --security-suite"),
        (None, None) => None,
    };
    r.system_title = a.system_title.as_deref().map(parse_system_title).transpose()?;
    r.logical_device_name = a.logical_device_name.clone();
    r.transformer = a.transformer.clone();
    r.feeder = a.feeder.clone();
    r.dcu = a.dcu.clone();
    r.link = a.link.clone();
    r.time_zone = a.time_zone.clone();
    r.status = a.status.parse::<MeterStatus>()?;
    Ok(r)
}

/// Runs `gridedge hes registry`.
pub fn run(args: RegistryArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RegistryCommand::Import(a) => {
            let mut store = RegistryStore::open(&a.db.db)?;
            let file = std::fs::File::open(&a.csv).with_context(|| format!("cannot open {}", a.csv.display()))?;
            let report = store.import_csv(std::io::BufReader::new(file))?;
            print_json(&report)?;
            Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        RegistryCommand::List(a) => {
            let store = RegistryStore::open(&a.db.db)?;
            let filter = MeterFilter {
                status: a.status.as_deref().map(str::parse::<MeterStatus>).transpose()?,
                dcu: a.dcu,
                feeder: a.feeder,
                transformer: a.transformer,
                meter_type: a.meter_type.as_deref().map(str::parse::<MeterType>).transpose()?,
                ..MeterFilter::default()
            };
            print_json(&store.list(&filter)?)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Show(a) => {
            let store = RegistryStore::open(&a.db.db)?;
            print_json(&store.require(&a.serial)?)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Add(a) => {
            let record = record_of(&a)?;
            let mut store = RegistryStore::open(&a.db.db)?;
            let outcome = store.upsert(&record)?;
            print_json(&json!({ "serial": record.serial, "outcome": outcome }))?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::SetStatus(a) => {
            let mut store = RegistryStore::open(&a.db.db)?;
            store.set_status(&a.serial, a.status.parse::<MeterStatus>()?)?;
            print_json(&store.require(&a.serial)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
