//! `gridedge meter`: one simulated meter as a DLMS/COSEM server (TCP wrapper).

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::Args;
use meter::tcp_server::{MeterServerConfig, serve};

use super::security_args::{SecurityArgs, master_key, meter_system_title};
use meter::objects::security_setup::SecuritySetup;
use meter::{MeterConfig, SimulatedMeter};

/// Arguments of `gridedge meter`.
#[derive(Args)]
pub struct MeterArgs {
    /// TCP port (4059 is the DLMS/COSEM port; 0 picks a free one and prints it).
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Serial number (0.0.96.1.0.255), up to 13 printable characters.
    #[arg(long, default_value = "GE00000001")]
    pub serial: String,
    /// Seed of the household load model, clock drift and noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// LLS password of the management client (client address 1). The public client
    /// (16) needs none and may only read.
    #[arg(long, default_value = "00000000")]
    pub password: String,
    /// Authentication of the management client (address 1): `low` (LLS password) or
    /// `high-gmac` (HLS mechanism 5 with suite 0 ciphering; needs the keys below).
    #[arg(long, value_enum, default_value_t = ManagementAuth::Low)]
    pub management_auth: ManagementAuth,
    /// Link layer on the TCP port: the IEC 62056-47 wrapper or HDLC (IEC 62056-46).
    #[arg(long, value_enum, default_value_t = super::read::TransportArg::Wrapper)]
    pub transport: super::read::TransportArg,
    /// HDLC lower (physical) address of the meter (with `--transport hdlc`).
    #[arg(long, default_value_t = 17)]
    pub physical_address: u16,
    /// Suite 0 keys and titles (with `--management-auth high-gmac`). The meter's
    /// system title defaults to "GRD" + its serial number's digits.
    #[command(flatten)]
    pub security: SecurityArgs,
    /// Master key (KEK) of the Security setup object 0.0.43.0.0.255, 16 bytes hex: the
    /// management client's key_transfer wraps new keys with it (RFC 3394). Only with
    /// `--management-auth high-gmac`. Default: none, and key_transfer is refused
    /// (read-write-denied).
    #[arg(long, env = "GRIDEDGE_KEY_MASTER", hide_env_values = true)]
    pub key_master: Option<String>,
    /// Prepaid mode (see `gridedge token`).
    #[command(flatten)]
    pub prepaid: super::token::PrepaidArgs,
    /// The firmware vendor's ECDSA P-256 public key (64 bytes x ‖ y, hex; `gridedge firmware
    /// keygen` prints it): Image transfer accepts only images signed with it. Default: none,
    /// every image is refused.
    #[arg(long)]
    pub fota_public_key: Option<String>,
    /// The firmware version the meter starts with (active firmware identifier 1.0.0.2.0.255).
    #[arg(long)]
    pub firmware_version: Option<String>,
}

/// How the management client authenticates.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ManagementAuth {
    /// Low level security (password).
    Low,
    /// High level security, mechanism 5 (GMAC), suite 0.
    HighGmac,
}

/// Runs the subcommand until interrupted.
pub fn run(args: MeterArgs) -> anyhow::Result<ExitCode> {
    if args.prepaid.prepaid {
        return super::token::run_prepaid_meter(args);
    }
    let firmware = super::firmware::meter_firmware(args.fota_public_key.as_deref(), args.firmware_version.as_deref())?;
    let mut meter = SimulatedMeter::new(&args.serial, args.seed, MeterConfig { firmware, ..MeterConfig::default() })
        .context("meter configuration")?;
    let config = match args.management_auth {
        ManagementAuth::Low => {
            anyhow::ensure!(
                !args.security.has_keys() && args.key_master.is_none(),
                "keys given but --management-auth is low"
            );
            MeterServerConfig::with_password(args.password.as_bytes())
        }
        ManagementAuth::HighGmac => {
            let config = MeterServerConfig::with_hls_gmac(args.security.settings(meter_system_title(&args.serial))?);
            // The Security setup object of the management client (1) shares its settings.
            if let Some(shared) = config.shared_security(1) {
                let kek = args.key_master.as_deref().map(master_key).transpose()?;
                meter.attach_security_setup(SecuritySetup::new(shared, kek));
            }
            config
        }
    };
    let mut config = config;
    config.link = match args.transport {
        super::read::TransportArg::Wrapper => meter::tcp_server::MeterLink::Wrapper,
        super::read::TransportArg::Hdlc => {
            meter::tcp_server::MeterLink::Hdlc { physical_address: args.physical_address }
        }
    };
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.bind, args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
        let addr = listener.local_addr()?;
        let management = match args.management_auth {
            ManagementAuth::Low => "1 LLS",
            ManagementAuth::HighGmac => "1 HLS-GMAC suite 0",
        };
        let link = match args.transport {
            super::read::TransportArg::Wrapper => "wrapper".to_string(),
            super::read::TransportArg::Hdlc => format!("HDLC 1/{}", args.physical_address),
        };
        println!("meter {} listening on {addr} (DLMS/COSEM {link}; clients 16 public, {management})", args.serial);
        use std::io::Write;
        std::io::stdout().flush().ok();
        let config = Arc::new(config);
        tokio::select! {
            _ = serve(listener, Arc::new(Mutex::new(meter)), config) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
