//! The fleet runner: N simulated meters in one process, each a DLMS server on its own
//! TCP listener (its own "IP endpoint", as a cellular or Ethernet meter has), so the HES
//! opens a real TCP session per meter.
//!
//! * [`Fleet`]: every meter built at start and kept, each on an OS-assigned port of one
//!   address; for tests and demos of up to a few thousand meters that inspect the meters'
//!   state directly.
//! * [`lazy::LazyFleet`]: 10⁵ meters and more, each on its own loopback address, built
//!   from its seed only while a connection to it is open (16 bytes per meter in between),
//!   with per-meter suite 0 keys; what `gridedge bench collect` runs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::tcp_server::{MeterServerConfig, serve};
use crate::{MeterConfig, MeterConfigError, SimulatedMeter};

pub mod lazy;
mod slot_counters;

/// One running meter of the fleet.
#[derive(Debug, Clone)]
pub struct FleetMeter {
    /// Serial number (also the MDMS meter id).
    pub serial: String,
    /// Seed of its load model, drift and noise.
    pub seed: u64,
    /// Where its DLMS server listens.
    pub address: SocketAddr,
    /// The meter itself (shared with its server task).
    pub meter: Arc<Mutex<SimulatedMeter>>,
}

/// A running fleet; dropping it stops every meter.
pub struct Fleet {
    meters: Vec<FleetMeter>,
    tasks: JoinSet<()>,
}

/// Why the fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A meter's configuration is invalid.
    #[error(transparent)]
    Config(#[from] MeterConfigError),
    /// A listener could not be bound (e.g. out of file descriptors: raise `ulimit -n`).
    #[error("cannot bind a meter listener on {ip}: {source}")]
    Bind {
        /// The address tried.
        ip: std::net::IpAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The fleet's addresses do not fit 127.0.0.0/8 from its first address on (or the
    /// fleet is empty).
    #[error("{0} meters do not fit the loopback range 127.0.0.0/8 from the first address on (or none)")]
    AddressRange(usize),
    /// No meter has this index.
    #[error("the fleet has no meter {0}")]
    NoSuchMeter(usize),
}

/// The serial number of fleet meter `index` (0-based): `GE` and 8 digits, e.g.
/// `GE00000001`.
pub fn fleet_serial(index: usize) -> String {
    format!("GE{:08}", index + 1)
}

impl Fleet {
    /// Starts `count` meters on `ip` (OS-assigned ports), serial [`fleet_serial`], seed
    /// `base_seed + index`.
    ///
    /// # Errors
    /// [`FleetError`] when a meter is misconfigured or a listener cannot be bound.
    pub async fn start(
        count: usize,
        ip: std::net::IpAddr,
        base_seed: u64,
        meter_config: MeterConfig,
        server_config: MeterServerConfig,
    ) -> Result<Fleet, FleetError> {
        let server_config = Arc::new(server_config);
        let mut meters = Vec::with_capacity(count);
        let mut tasks = JoinSet::new();
        for index in 0..count {
            let serial = fleet_serial(index);
            let seed = base_seed.wrapping_add(index as u64);
            let meter = Arc::new(Mutex::new(SimulatedMeter::new(&serial, seed, meter_config.clone())?));
            let listener = TcpListener::bind((ip, 0)).await.map_err(|source| FleetError::Bind { ip, source })?;
            let address = listener.local_addr().map_err(|source| FleetError::Bind { ip, source })?;
            tasks.spawn(serve(listener, meter.clone(), server_config.clone()));
            meters.push(FleetMeter { serial, seed, address, meter });
        }
        Ok(Fleet { meters, tasks })
    }

    /// The running meters.
    pub fn meters(&self) -> &[FleetMeter] {
        &self.meters
    }

    /// Stops every meter server.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}
