//! How `gridedge command` reaches a meter and where it records: the same addressing and
//! security options as `gridedge read` (TCP wrapper or HDLC, client/server address,
//! authentication, suite 0 keys), defaulting to the management client (1) with LLS, plus the
//! command database and the user issuing the command.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use dlms::association::Authentication;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use hes::MeterEndpoint;
use hes::commands::{CommandService, CommandStore};
use hes::session::{DlmsSession, SessionTimeouts};
use hes::transport::LinkLayer;
use model::MeterId;

use crate::commands::read::{AuthArg, TransportArg, parse_physical};
use crate::commands::security_args::{DEFAULT_CLIENT_SYSTEM_TITLE, SecurityArgs};

/// Where the command database is and who issues commands.
#[derive(Args, Clone)]
pub struct TrackingArgs {
    /// The command database (SQLite; created if missing): commands, states, audit log.
    #[arg(long, default_value = "commands.db")]
    pub db: PathBuf,
}

/// The meter to command, as for `gridedge read` (management client by default).
#[derive(Args, Clone)]
pub struct MeterArgs {
    /// Meter host name or IP address.
    #[arg(long)]
    pub host: String,
    /// Meter TCP port.
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Client address (wrapper source wPort / HDLC client): 1 = management client (needed
    /// for SET and ACTION).
    #[arg(long, default_value_t = 1)]
    pub client_address: u16,
    /// Server address (wrapper destination wPort / HDLC upper address): 1 = management
    /// logical device.
    #[arg(long, default_value_t = 1)]
    pub server_address: u16,
    /// Authentication mechanism.
    #[arg(long, value_enum, default_value_t = AuthArg::Low)]
    pub auth: AuthArg,
    /// LLS password (with --auth low).
    #[arg(long, env = "GRIDEDGE_LLS_PASSWORD", hide_env_values = true, default_value = "00000000")]
    pub password: String,
    /// Link layer on the TCP stream.
    #[arg(long, value_enum, default_value_t = TransportArg::Wrapper)]
    pub transport: TransportArg,
    /// HDLC lower (physical) server address; `none` for a 1-byte server address.
    #[arg(long, default_value = "17")]
    pub server_physical: String,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The meter's serial number for the records (default: read from 0.0.96.1.0.255).
    #[arg(long)]
    pub meter_serial: Option<String>,
    /// Who issues the command (recorded in the audit log).
    #[arg(long, env = "GRIDEDGE_USER")]
    pub user: String,
    /// Suite 0 keys and titles (with `--auth high-gmac`).
    #[command(flatten)]
    pub security: SecurityArgs,
    /// The command database.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

impl MeterArgs {
    /// Session timeouts from `--timeout`.
    pub fn timeouts(&self) -> SessionTimeouts {
        SessionTimeouts { connect: Duration::from_secs(self.timeout), response: Duration::from_secs(self.timeout) }
    }

    /// The endpoint (serial still empty when `--meter-serial` is absent).
    pub fn endpoint(&self) -> anyhow::Result<MeterEndpoint> {
        let address = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {}:{}", self.host, self.port))?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to no address", self.host))?;
        let authentication = match self.auth {
            AuthArg::None => Authentication::None,
            AuthArg::Low => Authentication::Low { password: self.password.as_bytes().to_vec() },
            AuthArg::HighGmac => Authentication::HighGmac,
        };
        let security = match (self.auth, self.security.has_keys()) {
            (AuthArg::HighGmac, _) | (_, true) => Some(self.security.settings(DEFAULT_CLIENT_SYSTEM_TITLE)?),
            _ => None,
        };
        let link = match self.transport {
            TransportArg::Wrapper => LinkLayer::Wrapper,
            TransportArg::Hdlc => LinkLayer::Hdlc { server_physical: parse_physical(&self.server_physical)? },
        };
        Ok(MeterEndpoint {
            serial: MeterId(self.meter_serial.clone().unwrap_or_default()),
            address,
            client_sap: self.client_address,
            server_sap: self.server_address,
            authentication,
            link,
            security,
        })
    }

    /// The endpoint with its serial: `--meter-serial`, else read from the meter.
    pub async fn resolved_endpoint(&self) -> anyhow::Result<MeterEndpoint> {
        let mut endpoint = self.endpoint()?;
        if endpoint.serial.0.is_empty() {
            let mut s = DlmsSession::open(&endpoint, self.timeouts())
                .await
                .with_context(|| format!("cannot associate with {} to read its serial number", endpoint.address))?;
            let serial = s.get(CosemAttributeDescriptor::new(1, codes::SERIAL_NUMBER, 2), None).await?;
            s.release().await.ok();
            let bytes = serial.as_bytes().ok_or_else(|| anyhow!("serial number is not a string: {serial:?}"))?;
            endpoint.serial = MeterId(String::from_utf8_lossy(bytes).into_owned());
        }
        if endpoint.serial.0.is_empty() {
            bail!("the meter has an empty serial number: give --meter-serial");
        }
        Ok(endpoint)
    }

    /// The command service on `--db`.
    pub fn service(&self) -> anyhow::Result<CommandService> {
        open_service(&self.tracking, self.timeouts())
    }
}

/// The command service on the database of `tracking`.
pub fn open_service(tracking: &TrackingArgs, timeouts: SessionTimeouts) -> anyhow::Result<CommandService> {
    let store = CommandStore::open(&tracking.db).with_context(|| format!("opening {}", tracking.db.display()))?;
    Ok(CommandService::new(store, timeouts))
}
