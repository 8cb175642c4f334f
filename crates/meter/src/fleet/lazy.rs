//! A fleet at utility scale (10⁵ meters and more) in one process: [`LazyFleet`].
//!
//! Every meter has its own IP endpoint, `127.a.b.c:port` (one loopback address per meter,
//! all on the same port, as a fleet of cellular meters on port 4059 looks to the HES), its
//! own serial number, seed and, with suite 0, its own system title and keys. What a meter
//! costs between sessions is its two invocation counters (16 bytes in a dense table): its
//! [`SimulatedMeter`] is built from its seed when a connection to it arrives and dropped
//! when the last connection closes, unless a SET or ACTION was served (its
//! [`SimulatedMeter::revision`] is no longer 0) or the fleet's owner changed it through
//! [`LazyFleet::with_meter_mut`]: such a meter stays materialised from then on. Its
//! registers and load profile are computed on demand from the load model (see
//! [`crate::metrology`]), so a rebuilt meter answers exactly as a kept one would.
//!
//! Listening ([`ListenMode`]):
//! * [`ListenMode::PerMeter`]: one listening socket per meter on its own address: one file
//!   descriptor per meter (raise `RLIMIT_NOFILE` first);
//! * [`ListenMode::Shared`]: one listening socket on the wildcard address `0.0.0.0:port`;
//!   each accepted connection is routed to the meter whose address it was made to (the
//!   socket's local address). Two descriptors per open connection, none per meter.
//!   Connections to an address outside the fleet are closed at once.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dlms::association::Authentication;
use dlms::security::{AesKey, GlobalKeys, SecurityPolicy, SecuritySettings, SystemTitle};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::slot_counters::{CounterTable, SlotCounterStore};
use super::{FleetError, fleet_serial};
use crate::objects::security_setup::{SecuritySetup, SharedSecurity};
use crate::tcp_server::{ClientPolicy, MeterServerConfig, serve_connection};
use crate::{MeterConfig, SimulatedMeter};

/// The suite 0 identity of one fleet meter (what its Security setup object 0.0.43.0.0.255
/// holds, IEC 62056-6-2 §5.3.7): its system title, global unicast encryption key and
/// authentication key, and the master key (KEK) of key_transfer.
#[derive(Debug, Clone)]
pub struct MeterSecurityKeys {
    /// The meter's system title (IEC 62056-5-3 §4.3.4).
    pub system_title: SystemTitle,
    /// Global unicast encryption key and authentication key (no broadcast key).
    pub keys: GlobalKeys,
    /// The master key (KEK); `None` refuses key_transfer.
    pub master_key: Option<AesKey>,
}

/// Gives meter `index` (0-based) with serial `serial` its keys. Called each time the meter is
/// materialised, so it must return the same keys for the same meter (derive them, e.g. with
/// HKDF from a master secret and the system title, or look them up).
pub type KeyProvider = Arc<dyn Fn(usize, &str) -> MeterSecurityKeys + Send + Sync>;

/// Suite 0 security of the fleet's management client: the same client SAP, authentication
/// and policy on every meter, each meter with its own keys.
#[derive(Clone)]
pub struct FleetSecurity {
    /// The client SAP the keys are for (1 = management client).
    pub client_sap: u16,
    /// Its authentication: [`Authentication::HighGmac`] (HLS mechanism 5), or LLS / none
    /// over a ciphered context.
    pub authentication: Authentication,
    /// The security policy of Security setup attribute 2 (default: authenticated
    /// encryption of requests and responses).
    pub policy: SecurityPolicy,
    /// The client's system title when the meters know it in advance (Security setup
    /// client_system_title): an association presenting another is refused. `None` learns
    /// it from the AARQ.
    pub client_system_title: Option<SystemTitle>,
    /// Each meter's keys.
    pub keys: KeyProvider,
}

impl std::fmt::Debug for FleetSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSecurity")
            .field("client_sap", &self.client_sap)
            .field("authentication", &self.authentication.mechanism())
            .field("policy", &self.policy)
            .field("client_system_title", &self.client_system_title)
            .finish_non_exhaustive()
    }
}

/// How the fleet listens (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenMode {
    /// One listening socket per meter, bound to the meter's own address.
    PerMeter,
    /// One listening socket on `0.0.0.0:port`, connections routed by their local address.
    Shared,
}

/// Configuration of a [`LazyFleet`].
#[derive(Debug, Clone)]
pub struct LazyFleetConfig {
    /// Number of meters (each needs one loopback address).
    pub count: usize,
    /// Fleet-wide index of this fleet's first meter, when a large fleet is split into
    /// several [`LazyFleet`]s (e.g. one per event loop): meter `i` of this one has serial
    /// [`fleet_serial`]`(first_index + i)`, seed `base_seed + first_index + i` and its keys
    /// from `security.keys(first_index + i, ..)`. Default 0.
    pub first_index: usize,
    /// Address of meter 0; meter `i` is at the `i`-th address after it. All must lie in
    /// 127.0.0.0/8 (below 127.255.255.255). Default 127.16.0.1.
    pub first_address: Ipv4Addr,
    /// TCP port of every meter; 0 = chosen by the operating system (the same for all).
    /// Default 4059 (IEC 62056-47).
    pub port: u16,
    /// How the fleet listens.
    pub listen: ListenMode,
    /// Seed of meter 0; meter `i` uses `base_seed + i`.
    pub base_seed: u64,
    /// The configuration every meter is built with.
    pub meter: MeterConfig,
    /// Client SAPs and server behaviour common to all meters; with `security`, the policy
    /// of its client SAP is replaced by a per-meter one.
    pub server: MeterServerConfig,
    /// Per-meter suite 0 security of one client SAP; `None` uses `server` as it is.
    pub security: Option<FleetSecurity>,
}

impl Default for LazyFleetConfig {
    /// One meter at 127.16.0.1:4059, one listener per meter, seed 1, default meter and
    /// server configuration (public client and LLS management client), no suite 0.
    fn default() -> Self {
        LazyFleetConfig {
            count: 1,
            first_index: 0,
            first_address: Ipv4Addr::new(127, 16, 0, 1),
            port: 4059,
            listen: ListenMode::PerMeter,
            base_seed: 1,
            meter: MeterConfig::default(),
            server: MeterServerConfig::default(),
            security: None,
        }
    }
}

/// Counters of a running [`LazyFleet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LazyFleetStats {
    /// Connections accepted for a fleet meter.
    pub connections: u64,
    /// Times a meter was built from its seed.
    pub materialisations: u64,
    /// Connections closed at once because their address is not a fleet meter's.
    pub refused: u64,
    /// Connections being served right now.
    pub open_connections: u64,
    /// Meters materialised right now (connected, or kept because they changed).
    pub materialised: usize,
}

/// A materialised meter: its state and the server configuration of its connections (with
/// its own suite 0 settings).
struct LiveMeter {
    meter: Mutex<SimulatedMeter>,
    server: MeterServerConfig,
    /// Changed through [`LazyFleet::with_meter_mut`]: kept for good.
    pinned: AtomicBool,
}

impl LiveMeter {
    fn lock(&self) -> MutexGuard<'_, SimulatedMeter> {
        self.meter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when dropping it loses nothing: no SET or ACTION was served and the owner did
    /// not change it.
    fn is_pristine(&self) -> bool {
        !self.pinned.load(Ordering::Acquire) && self.lock().revision() == 0
    }
}

/// Materialised meters are kept in this many maps, by index, so connections to different
/// meters rarely contend for a lock.
const SHARDS: usize = 64;

/// One of those maps: meter index → the materialised meter.
type LiveShard = HashMap<u32, Arc<LiveMeter>>;

struct FleetShared {
    count: usize,
    first_index: usize,
    first: u32,
    port: u16,
    base_seed: u64,
    meter: MeterConfig,
    server: MeterServerConfig,
    security: Option<FleetSecurity>,
    counters: Arc<CounterTable>,
    live: Box<[Mutex<LiveShard>]>,
    connections: AtomicU64,
    open: AtomicU64,
    materialisations: AtomicU64,
    refused: AtomicU64,
}

impl FleetShared {
    fn shard(&self, index: usize) -> MutexGuard<'_, LiveShard> {
        // `live` has SHARDS entries; index % SHARDS is always in range.
        self.live[index % SHARDS].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The meter at `index`, materialised from its seed unless it is already.
    fn materialise(&self, index: usize) -> Result<Arc<LiveMeter>, FleetError> {
        let key = u32::try_from(index).map_err(|_| FleetError::NoSuchMeter(index))?;
        if index >= self.count {
            return Err(FleetError::NoSuchMeter(index));
        }
        let mut shard = self.shard(index);
        if let Some(live) = shard.get(&key) {
            return Ok(live.clone());
        }
        let live = Arc::new(self.build(index, key)?);
        self.materialisations.fetch_add(1, Ordering::Relaxed);
        shard.insert(key, live.clone());
        Ok(live)
    }

    fn build(&self, index: usize, key: u32) -> Result<LiveMeter, FleetError> {
        let global = self.first_index.wrapping_add(index);
        let serial = fleet_serial(global);
        let seed = self.base_seed.wrapping_add(global as u64);
        let mut meter = SimulatedMeter::new(&serial, seed, self.meter.clone())?;
        let mut server = self.server.clone();
        if let Some(sec) = &self.security {
            let keys = (sec.keys)(global, &serial);
            let store = SlotCounterStore { table: self.counters.clone(), index: key };
            let mut settings = SecuritySettings::new(keys.keys, keys.system_title)
                .with_policy(sec.policy)
                .with_counter_store(Arc::new(Mutex::new(store)));
            if let Some(client) = sec.client_system_title {
                settings = settings.with_peer_system_title(client);
            }
            let shared = SharedSecurity::new(settings);
            let policy = ClientPolicy {
                client_sap: sec.client_sap,
                authentication: sec.authentication.clone(),
                security: Some(shared.clone()),
            };
            match server.clients.iter_mut().find(|c| c.client_sap == sec.client_sap) {
                Some(c) => *c = policy,
                None => server.clients.push(policy),
            }
            meter.attach_security_setup(SecuritySetup::new(shared, keys.master_key));
        }
        Ok(LiveMeter { meter: Mutex::new(meter), server, pinned: AtomicBool::new(false) })
    }

    /// Gives a materialised meter back: dropped when nobody else holds it and it is
    /// pristine.
    fn release(&self, index: usize, live: Arc<LiveMeter>) {
        let mut shard = self.shard(index);
        drop(live);
        let Ok(key) = u32::try_from(index) else { return };
        let drop_it = shard.get(&key).is_some_and(|l| Arc::strong_count(l) == 1 && l.is_pristine());
        if drop_it {
            shard.remove(&key);
        }
    }

    fn index_of(&self, address: SocketAddr) -> Option<usize> {
        let SocketAddr::V4(v4) = address else { return None };
        if v4.port() != self.port {
            return None;
        }
        let offset = u32::from(*v4.ip()).checked_sub(self.first)? as usize;
        (offset < self.count).then_some(offset)
    }
}

/// Serves one accepted connection of meter `index`.
async fn serve_meter(shared: Arc<FleetShared>, index: usize, stream: TcpStream) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    shared.open.fetch_add(1, Ordering::AcqRel);
    match shared.materialise(index) {
        Ok(live) => {
            if let Err(e) = serve_connection(stream, &live.meter, &live.server).await {
                tracing::debug!(index, error = %e, "meter connection ended");
            }
            shared.release(index, live);
        }
        Err(e) => tracing::warn!(index, error = %e, "cannot build fleet meter"),
    }
    shared.open.fetch_sub(1, Ordering::AcqRel);
}

async fn accept_one_meter(listener: TcpListener, index: usize, shared: Arc<FleetShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_meter(shared.clone(), index, stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn accept_shared(listener: TcpListener, shared: Arc<FleetShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match stream.local_addr().ok().and_then(|a| shared.index_of(a)) {
                Some(index) => {
                    tokio::spawn(serve_meter(shared.clone(), index, stream));
                }
                None => {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A running fleet of lazily materialised meters (see the module docs); dropping it or
/// [`LazyFleet::shutdown`] stops listening.
pub struct LazyFleet {
    shared: Arc<FleetShared>,
    listen: ListenMode,
    tasks: JoinSet<()>,
    /// Size of one per-meter accept loop's future (0 with a shared listener).
    accept_future_bytes: usize,
}

impl LazyFleet {
    /// Binds the fleet's listening sockets and starts serving. No meter is built yet.
    ///
    /// # Errors
    /// [`FleetError::AddressRange`] when the addresses leave 127.0.0.0/8 or there are more
    /// than 2³² meters; [`FleetError::Bind`] when a socket cannot be bound (out of file
    /// descriptors with [`ListenMode::PerMeter`]: raise `RLIMIT_NOFILE`; port in use);
    /// [`FleetError::Config`] when meter 0's configuration is invalid.
    pub async fn start(config: LazyFleetConfig) -> Result<LazyFleet, FleetError> {
        let first = u32::from(config.first_address);
        let last_allowed = u32::from(Ipv4Addr::new(127, 255, 255, 254));
        let count_u32 = u32::try_from(config.count).map_err(|_| FleetError::AddressRange(config.count))?;
        let fits = config.first_address.octets()[0] == 127
            && first.checked_add(count_u32.saturating_sub(1)).is_some_and(|last| last <= last_allowed);
        if !fits || config.count == 0 {
            return Err(FleetError::AddressRange(config.count));
        }
        // Fail early on a configuration no meter can be built with.
        SimulatedMeter::new(&fleet_serial(config.first_index), config.base_seed, config.meter.clone())?;
        let mut tasks = JoinSet::new();
        let mut listeners = Vec::new();
        let port = match config.listen {
            ListenMode::Shared => {
                let ip = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                let l = TcpListener::bind((ip, config.port)).await.map_err(|source| FleetError::Bind { ip, source })?;
                let port = l.local_addr().map_err(|source| FleetError::Bind { ip, source })?.port();
                listeners.push(l);
                port
            }
            ListenMode::PerMeter => {
                let mut port = config.port;
                listeners.reserve(config.count);
                for i in 0..count_u32 {
                    let ip = IpAddr::V4(Ipv4Addr::from(first + i));
                    let l = TcpListener::bind((ip, port)).await.map_err(|source| FleetError::Bind { ip, source })?;
                    if port == 0 {
                        port = l.local_addr().map_err(|source| FleetError::Bind { ip, source })?.port();
                    }
                    listeners.push(l);
                }
                port
            }
        };
        let shared = Arc::new(FleetShared {
            count: config.count,
            first_index: config.first_index,
            first,
            port,
            base_seed: config.base_seed,
            meter: config.meter,
            server: config.server,
            security: config.security,
            counters: Arc::new(CounterTable::new(config.count)),
            live: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            materialisations: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let mut accept_future_bytes = 0;
        match config.listen {
            ListenMode::Shared => {
                for l in listeners {
                    tasks.spawn(accept_shared(l, shared.clone()));
                }
            }
            ListenMode::PerMeter => {
                for (index, l) in listeners.into_iter().enumerate() {
                    let accept = accept_one_meter(l, index, shared.clone());
                    accept_future_bytes = std::mem::size_of_val(&accept);
                    tasks.spawn(accept);
                }
            }
        }
        Ok(LazyFleet { shared, listen: config.listen, tasks, accept_future_bytes })
    }

    /// Number of meters.
    pub fn len(&self) -> usize {
        self.shared.count
    }

    /// True for a fleet without meters (never: [`LazyFleet::start`] refuses 0).
    pub fn is_empty(&self) -> bool {
        self.shared.count == 0
    }

    /// How the fleet listens.
    pub fn listen_mode(&self) -> ListenMode {
        self.listen
    }

    /// The TCP port every meter listens on.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// The address of meter `index` (0-based; any index gives an address, only those below
    /// [`LazyFleet::len`] answer).
    pub fn address(&self, index: usize) -> SocketAddr {
        let ip = Ipv4Addr::from(self.shared.first.wrapping_add(index as u32));
        SocketAddr::new(IpAddr::V4(ip), self.shared.port)
    }

    /// The serial number of meter `index` ([`fleet_serial`] of its fleet-wide index).
    pub fn serial(&self, index: usize) -> String {
        fleet_serial(self.shared.first_index.wrapping_add(index))
    }

    /// The seed of meter `index`.
    pub fn seed(&self, index: usize) -> u64 {
        self.shared.base_seed.wrapping_add(self.shared.first_index.wrapping_add(index) as u64)
    }

    /// Reads meter `index` as it is now (building it from its seed if needed, and dropping
    /// it again afterwards when it is pristine): e.g. the registers or profile entries a
    /// test compares the HES's readings with.
    ///
    /// # Errors
    /// [`FleetError::NoSuchMeter`]; [`FleetError::Config`] (not after a successful start).
    pub fn with_meter<T>(&self, index: usize, f: impl FnOnce(&SimulatedMeter) -> T) -> Result<T, FleetError> {
        let live = self.shared.materialise(index)?;
        let out = f(&live.lock());
        self.shared.release(index, live);
        Ok(out)
    }

    /// Changes meter `index` (an outage, a tamper, a token on the keypad, ...). The meter is
    /// kept materialised from then on, since its state no longer follows from its seed.
    ///
    /// # Errors
    /// As [`LazyFleet::with_meter`].
    pub fn with_meter_mut<T>(&self, index: usize, f: impl FnOnce(&mut SimulatedMeter) -> T) -> Result<T, FleetError> {
        let live = self.shared.materialise(index)?;
        live.pinned.store(true, Ordering::Release);
        let out = f(&mut live.lock());
        self.shared.release(index, live);
        Ok(out)
    }

    /// Connections, materialisations and meters materialised now.
    pub fn stats(&self) -> LazyFleetStats {
        LazyFleetStats {
            connections: self.shared.connections.load(Ordering::Relaxed),
            materialisations: self.shared.materialisations.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            open_connections: self.shared.open.load(Ordering::Acquire),
            materialised: self.shared.live.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum(),
        }
    }

    /// Bytes of process memory the fleet keeps per meter between sessions that can be
    /// accounted for in its own structures: the invocation counters (16 bytes), plus with
    /// [`ListenMode::PerMeter`] the listener's accept task; not counted: the kernel's
    /// socket, tokio's registration of it, the allocator's overhead and materialised
    /// meters. Measure the process's resident set for the whole cost.
    pub fn accounted_bytes_per_meter(&self) -> usize {
        let per_meter_listener = match self.listen {
            // The accept loop's future (it holds the listener, the index and the Arc), the
            // tokio task cell around it (header and scheduler links, ~64 B) and the JoinSet
            // entry (~32 B).
            ListenMode::PerMeter => self.accept_future_bytes + 64 + 32,
            ListenMode::Shared => 0,
        };
        CounterTable::BYTES_PER_METER + per_meter_listener
    }

    /// In-memory size of one materialised meter's structures, bytes, without heap
    /// allocations they own (serial, firmware version, object state).
    pub fn materialised_struct_bytes() -> usize {
        std::mem::size_of::<LiveMeter>() + std::mem::size_of::<Arc<LiveMeter>>() + std::mem::size_of::<u32>()
    }

    /// Waits until no connection is being served (the peers closed them and the meters
    /// were released), at most `limit`. Returns whether that happened in time.
    pub async fn idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.shared.open.load(Ordering::Acquire) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Stops listening and waits for the accept loops to end. Connections being served
    /// finish on their own (the peer closes them or they time out).
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}
