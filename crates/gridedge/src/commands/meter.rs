//! `gridedge meter`: one simulated meter as a DLMS/COSEM server (TCP wrapper).

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::Args;
use meter::tcp_server::{MeterServerConfig, serve};
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
}

/// Runs the subcommand until interrupted.
pub fn run(args: MeterArgs) -> anyhow::Result<ExitCode> {
    let meter = SimulatedMeter::new(&args.serial, args.seed, MeterConfig::default()).context("meter configuration")?;
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.bind, args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
        let addr = listener.local_addr()?;
        println!("meter {} listening on {addr} (DLMS/COSEM wrapper; clients 16 public, 1 LLS)", args.serial);
        use std::io::Write;
        std::io::stdout().flush().ok();
        let config = Arc::new(MeterServerConfig::with_password(args.password.as_bytes()));
        tokio::select! {
            _ = serve(listener, Arc::new(Mutex::new(meter)), config) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
