//! A running field network: data concentrators, the meters registered with them, and
//! the relays that carry the HES's DLMS sessions to the meters through the modelled links.
//!
//! ## How the HES reaches a meter
//!
//! A DCU is a gateway. Each meter registered with it gets an HES-facing TCP port on the
//! DCU's address (`FieldSpec::bind_ip`): the HES opens its ordinary DLMS session (wrapper
//! or HDLC, [`hes::DlmsSession::open`]) to that address, and the DCU relays the bytes to
//! the meter's own DLMS server, frame by frame through the backhaul and the
//! neighbourhood network models. Nothing in the HES or the meter changes: only the
//! address in the HES registry does ([`Field::route_registry`]). A process that wants no
//! sockets can open the same relayed session in memory with [`Field::connect`] and
//! [`hes::DlmsSession::open_over`].
//!
//! When a session arrives the DCU first checks that the HES can reach it (no outage, no
//! partition, backhaul up), else it closes the connection at once (the HES sees the
//! connection closed and retries later). Then it waits for one of its
//! `max_sessions` session slots (a DCU serves a few meter sessions at a time; the
//! scheduler should respect [`DcuInfo::max_sessions`]); if none frees within
//! `queue_timeout` (simulated time) the session is refused the same way. Then it connects
//! to the meter and relays until either side closes or the model resets the session.
//!
//! ## Determinism
//!
//! Every random draw (loss, latency, paging) comes from a ChaCha8 stream seeded from the
//! field seed, the meter's index and its session number, one stream per direction: the
//! same seed and the same traffic give the same losses. Timing across meters that share
//! a medium depends on the order their frames arrive in, which the OS schedules.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::security::SystemTitle;
use hes::transport::ByteStream;
use meter::SimulatedMeter;
use meter::tcp_server::MeterServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::clock::FieldClock;
use crate::error::FieldError;
use crate::framing::Framing;
use crate::link::{LinkKind, LinkModel};
use crate::push::PushForwarder;
use crate::push::intake::{self, PushIntake};
use crate::relay::{SessionContext, mix, relay};
use crate::scenario::{Conditions, DcuId, Effect, EffectId, Scenario, TimedEffect};
use crate::stats::{Counters, Event, FieldStats, FrameRecord, LinkStats, Trace};
use crate::transmission::{DcuLinkState, MeterLinkState, Path, TcpRetransmission};

/// Where the DCU finds a meter's DLMS server.
#[derive(Clone)]
pub enum MeterTarget {
    /// A TCP address (a [`meter::fleet::Fleet`] meter, or any DLMS server).
    Tcp(SocketAddr),
    /// A simulated meter in this process, served over an in-memory stream with
    /// [`meter::tcp_server::serve_stream`] (no socket per meter).
    InProcess {
        /// The meter.
        meter: Arc<Mutex<SimulatedMeter>>,
        /// Its server configuration (clients, link layer).
        server: Arc<MeterServerConfig>,
    },
}

impl std::fmt::Debug for MeterTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeterTarget::Tcp(a) => write!(f, "Tcp({a})"),
            MeterTarget::InProcess { .. } => f.write_str("InProcess"),
        }
    }
}

/// A meter registered with a DCU.
#[derive(Debug, Clone)]
pub struct MeterAttachment {
    /// Serial number (the MDMS meter id).
    pub serial: String,
    /// Its system title (IEC 62056-5-3 §4.3.4), used by the DCU to attribute ciphered
    /// pushes; `None` when unknown.
    pub system_title: Option<SystemTitle>,
    /// The link layer the meter speaks (the relay cuts frames with it).
    pub framing: Framing,
    /// Where its DLMS server is.
    pub target: MeterTarget,
}

/// One data concentrator: its links, its session limit and its meters.
#[derive(Debug, Clone)]
pub struct DcuSpec {
    /// Its identity (unique in the field).
    pub id: DcuId,
    /// HES ↔ DCU.
    pub backhaul: LinkModel,
    /// DCU ↔ meters.
    pub neighbourhood: LinkModel,
    /// Meter sessions it relays at once (≥ 1).
    pub max_sessions: usize,
    /// How long a session waits for a free slot before it is refused (simulated time).
    pub queue_timeout: Duration,
    /// Its meters.
    pub meters: Vec<MeterAttachment>,
}

impl DcuSpec {
    /// A DCU with `neighbourhood` links to its meters, a fibre backhaul, the session
    /// limit of [`default_max_sessions`] and a 60 s queue time.
    pub fn new(id: impl Into<DcuId>, neighbourhood: LinkModel) -> DcuSpec {
        DcuSpec {
            id: id.into(),
            backhaul: LinkModel::fibre_backhaul(),
            max_sessions: default_max_sessions(neighbourhood.kind),
            neighbourhood,
            queue_timeout: Duration::from_secs(60),
            meters: Vec::new(),
        }
    }

    /// Registers a meter with this DCU.
    pub fn with_meter(mut self, meter: MeterAttachment) -> DcuSpec {
        self.meters.push(meter);
        self
    }

    /// Another backhaul.
    pub fn with_backhaul(mut self, backhaul: LinkModel) -> DcuSpec {
        self.backhaul = backhaul;
        self
    }

    /// Another session limit.
    pub fn with_max_sessions(mut self, max_sessions: usize) -> DcuSpec {
        self.max_sessions = max_sessions;
        self
    }
}

/// Meter sessions a DCU of this technology serves at once by default: 8 for PLC (a
/// G3/PRIME base node shares one narrowband medium), 16 for RF mesh, 2 for LoRaWAN, 1024
/// for cellular and ideal links (the operator's network is not the bottleneck).
pub fn default_max_sessions(kind: LinkKind) -> usize {
    match kind {
        LinkKind::G3Plc | LinkKind::Prime => 8,
        LinkKind::RfMesh => 16,
        LinkKind::LoRaWan => 2,
        _ => 1024,
    }
}

/// A whole field.
#[derive(Clone)]
pub struct FieldSpec {
    /// Seed of every random draw.
    pub seed: u64,
    /// Real seconds per simulated second (see [`crate::clock`]); 1.0 = real time.
    pub time_scale: f64,
    /// The address the DCUs' HES-facing ports and push intakes are bound on.
    pub bind_ip: IpAddr,
    /// Bind an HES-facing TCP port per meter (`false`: in-process [`Field::connect`]
    /// only).
    pub listen: bool,
    /// TCP behaviour for frames carried by TCP.
    pub tcp: TcpRetransmission,
    /// Frames kept in the trace ([`Field::trace`]); 0 = no trace.
    pub trace_capacity: usize,
    /// The DCUs.
    pub dcus: Vec<DcuSpec>,
    /// Effects scheduled from the start.
    pub scenario: Scenario,
    /// Where the DCUs forward meter pushes; `Some` binds a push intake port per DCU
    /// ([`DcuInfo::push_intake`]) for the meters' Push setup destination.
    pub push: Option<Arc<dyn PushForwarder>>,
}

impl std::fmt::Debug for FieldSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldSpec")
            .field("seed", &self.seed)
            .field("time_scale", &self.time_scale)
            .field("bind_ip", &self.bind_ip)
            .field("listen", &self.listen)
            .field("dcus", &self.dcus.len())
            .field("push", &self.push.is_some())
            .finish()
    }
}

impl FieldSpec {
    /// No DCUs yet, seed `seed`, real time, loopback, listening, default TCP, no trace.
    pub fn new(seed: u64) -> FieldSpec {
        FieldSpec {
            seed,
            time_scale: 1.0,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            listen: true,
            tcp: TcpRetransmission::default(),
            trace_capacity: 0,
            dcus: Vec::new(),
            scenario: Scenario::default(),
            push: None,
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let mut dcus = std::collections::HashSet::new();
        let mut serials = std::collections::HashSet::new();
        for d in &self.dcus {
            if d.id.0.is_empty() {
                return Err(FieldError::InvalidSpec("a DCU has an empty id".into()));
            }
            if !dcus.insert(&d.id) {
                return Err(FieldError::InvalidSpec(format!("DCU {} appears twice", d.id)));
            }
            if d.max_sessions == 0 {
                return Err(FieldError::InvalidSpec(format!("DCU {} has max_sessions 0", d.id)));
            }
            d.backhaul.validate()?;
            d.neighbourhood.validate()?;
            for m in &d.meters {
                if !serials.insert(&m.serial) {
                    return Err(FieldError::InvalidSpec(format!("meter {} is registered twice", m.serial)));
                }
            }
        }
        Ok(())
    }
}

/// A DCU as the HES scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcuInfo {
    /// Its identity.
    pub id: DcuId,
    /// Backhaul technology.
    pub backhaul: LinkKind,
    /// Neighbourhood technology.
    pub neighbourhood: LinkKind,
    /// Sessions it relays at once.
    pub max_sessions: usize,
    /// Serials of its meters.
    pub meters: Vec<String>,
    /// Where its meters push to (when the field forwards pushes).
    pub push_intake: Option<SocketAddr>,
}

/// One meter's route through the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRoute {
    /// Serial number.
    pub serial: String,
    /// Its DCU.
    pub dcu: DcuId,
    /// The address the HES opens sessions to (when the field listens).
    pub hes_address: Option<SocketAddr>,
    /// Its link layer.
    pub framing: Framing,
    /// Its last-mile technology.
    pub link: LinkKind,
}

pub(crate) struct DcuRuntime {
    pub(crate) id: DcuId,
    pub(crate) backhaul: Arc<LinkModel>,
    pub(crate) neighbourhood: Arc<LinkModel>,
    max_sessions: usize,
    sessions: Arc<Semaphore>,
    queue_timeout: Duration,
    pub(crate) state: Arc<Mutex<DcuLinkState>>,
    pub(crate) counters: Arc<Counters>,
    /// Registered meters by system title (for pushes).
    pub(crate) by_title: HashMap<SystemTitle, String>,
    pub(crate) push_intake: Mutex<Option<SocketAddr>>,
    pub(crate) meters: Vec<String>,
}

pub(crate) struct Route {
    index: u64,
    serial: String,
    framing: Framing,
    target: MeterTarget,
    dcu: Arc<DcuRuntime>,
    state: Arc<Mutex<MeterLinkState>>,
    pub(crate) counters: Arc<Counters>,
    sessions: AtomicU64,
    hes_address: Mutex<Option<SocketAddr>>,
}

pub(crate) struct FieldShared {
    pub(crate) clock: FieldClock,
    pub(crate) seed: u64,
    pub(crate) tcp: TcpRetransmission,
    pub(crate) conditions: Arc<Conditions>,
    pub(crate) trace: Arc<Trace>,
    pub(crate) total: Arc<Counters>,
    pub(crate) dcus: Vec<Arc<DcuRuntime>>,
    routes: HashMap<String, Arc<Route>>,
    route_order: Vec<String>,
}

impl FieldShared {
    /// The path between the HES and a meter of `dcu` (`serial` may name no meter: a push
    /// from an unidentified meter crosses the DCU's links without per-meter state).
    pub(crate) fn path(&self, dcu: &DcuRuntime, serial: &str, framing: Framing) -> Path {
        let meter_state = self.routes.get(serial).map(|r| r.state.clone()).unwrap_or_default();
        Path {
            dcu: dcu.id.clone(),
            serial: serial.to_string(),
            backhaul: dcu.backhaul.clone(),
            neighbourhood: dcu.neighbourhood.clone(),
            framing,
            tcp: self.tcp,
            conditions: self.conditions.clone(),
            dcu_state: dcu.state.clone(),
            meter_state,
        }
    }

    pub(crate) fn route_counters(&self, serial: &str) -> Option<Arc<Counters>> {
        self.routes.get(serial).map(|r| r.counters.clone())
    }
}

/// A running field; dropping it (or [`Field::shutdown`]) stops every DCU listener, push
/// intake and TCP session (in-process sessions from [`Field::connect`] end when their
/// streams are dropped).
pub struct Field {
    shared: Arc<FieldShared>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("dcus", &self.shared.dcus.len())
            .field("meters", &self.shared.routes.len())
            .finish()
    }
}

impl Field {
    /// Starts the field: binds an HES-facing port per meter (when `spec.listen`) and a
    /// push intake per DCU (when `spec.push` is set), schedules `spec.scenario`.
    ///
    /// # Errors
    /// [`FieldError::InvalidSpec`] for an inconsistent spec, [`FieldError::Bind`] when a
    /// port cannot be bound (raise `ulimit -n` for large fields).
    pub async fn start(spec: FieldSpec) -> Result<Field, FieldError> {
        spec.validate()?;
        let clock = FieldClock::new(spec.time_scale)?;
        let conditions = Arc::new(Conditions::default());
        for e in &spec.scenario.effects {
            conditions.add(e.clone());
        }
        let mut dcus = Vec::with_capacity(spec.dcus.len());
        let mut routes = HashMap::new();
        let mut route_order = Vec::new();
        let mut index = 0u64;
        for d in &spec.dcus {
            let by_title = d
                .meters
                .iter()
                .filter_map(|m| m.system_title.map(|t| (t, m.serial.clone())))
                .collect::<HashMap<_, _>>();
            let dcu = Arc::new(DcuRuntime {
                id: d.id.clone(),
                backhaul: Arc::new(d.backhaul.clone()),
                neighbourhood: Arc::new(d.neighbourhood.clone()),
                max_sessions: d.max_sessions,
                sessions: Arc::new(Semaphore::new(d.max_sessions)),
                queue_timeout: d.queue_timeout,
                state: Arc::default(),
                counters: Arc::default(),
                by_title,
                push_intake: Mutex::new(None),
                meters: d.meters.iter().map(|m| m.serial.clone()).collect(),
            });
            for m in &d.meters {
                routes.insert(
                    m.serial.clone(),
                    Arc::new(Route {
                        index,
                        serial: m.serial.clone(),
                        framing: m.framing,
                        target: m.target.clone(),
                        dcu: dcu.clone(),
                        state: Arc::default(),
                        counters: Arc::default(),
                        sessions: AtomicU64::new(0),
                        hes_address: Mutex::new(None),
                    }),
                );
                route_order.push(m.serial.clone());
                index += 1;
            }
            dcus.push(dcu);
        }
        let shared = Arc::new(FieldShared {
            clock,
            seed: spec.seed,
            tcp: spec.tcp,
            conditions,
            trace: Arc::new(Trace::new(spec.trace_capacity)),
            total: Arc::default(),
            dcus,
            routes,
            route_order,
        });
        let mut tasks = JoinSet::new();
        if spec.listen {
            for serial in &shared.route_order {
                let Some(route) = shared.routes.get(serial).cloned() else { continue };
                let address = SocketAddr::new(spec.bind_ip, 0);
                let listener = TcpListener::bind(address).await.map_err(|source| FieldError::Bind {
                    what: "DCU meter port",
                    address,
                    source,
                })?;
                let bound = listener.local_addr().map_err(|source| FieldError::Bind {
                    what: "DCU meter port",
                    address,
                    source,
                })?;
                *route.hes_address.lock().unwrap_or_else(|p| p.into_inner()) = Some(bound);
                tasks.spawn(accept_sessions(listener, route, shared.clone()));
            }
        }
        if let Some(forwarder) = &spec.push {
            for dcu in &shared.dcus {
                let address = SocketAddr::new(spec.bind_ip, 0);
                let intake = PushIntake::bind(address, dcu.clone(), shared.clone(), forwarder.clone()).await?;
                *dcu.push_intake.lock().unwrap_or_else(|p| p.into_inner()) = Some(intake.local_addr());
                tasks.spawn(intake::run(intake));
            }
        }
        Ok(Field { shared, tasks })
    }

    /// The field's simulated clock.
    pub fn clock(&self) -> FieldClock {
        self.shared.clock
    }

    /// The address the HES opens sessions to for meter `serial` (its port on its DCU).
    pub fn hes_address(&self, serial: &str) -> Option<SocketAddr> {
        let route = self.shared.routes.get(serial)?;
        *route.hes_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The DCU meter `serial` is registered with.
    pub fn dcu_of(&self, serial: &str) -> Option<DcuId> {
        self.shared.routes.get(serial).map(|r| r.dcu.id.clone())
    }

    /// Every DCU with its meters and limits, in spec order.
    pub fn dcus(&self) -> Vec<DcuInfo> {
        self.shared
            .dcus
            .iter()
            .map(|d| DcuInfo {
                id: d.id.clone(),
                backhaul: d.backhaul.kind,
                neighbourhood: d.neighbourhood.kind,
                max_sessions: d.max_sessions,
                meters: d.meters.clone(),
                push_intake: *d.push_intake.lock().unwrap_or_else(|p| p.into_inner()),
            })
            .collect()
    }

    /// Every meter's route, in spec order.
    pub fn routes(&self) -> Vec<MeterRoute> {
        self.shared
            .route_order
            .iter()
            .filter_map(|s| self.shared.routes.get(s))
            .map(|r| MeterRoute {
                serial: r.serial.clone(),
                dcu: r.dcu.id.clone(),
                hes_address: *r.hes_address.lock().unwrap_or_else(|p| p.into_inner()),
                framing: r.framing,
                link: r.dcu.neighbourhood.kind,
            })
            .collect()
    }

    /// A copy of `registry` whose meters registered in the field are reached through
    /// their DCU (address replaced by [`Field::hes_address`]); other meters are kept as
    /// they are.
    pub fn route_registry(&self, registry: &hes::Registry) -> hes::Registry {
        let mut out = hes::Registry::new();
        for m in registry.meters() {
            let mut m = m.clone();
            if let Some(address) = self.hes_address(&m.serial.0) {
                m.address = address;
            }
            out.upsert(m);
        }
        out
    }

    /// Opens a relayed session to meter `serial` in memory: the returned stream is the
    /// HES's end (hand it to [`hes::DlmsSession::open_over`]); the DCU applies the same
    /// admission (reachability, session limit) and link models as for a TCP session.
    ///
    /// # Errors
    /// [`FieldError::UnknownMeter`], [`FieldError::Refused`] (DCU unreachable or busy),
    /// [`FieldError::MeterConnect`].
    pub async fn connect(&self, serial: &str) -> Result<Box<dyn ByteStream>, FieldError> {
        let route = self.shared.routes.get(serial).cloned().ok_or_else(|| FieldError::UnknownMeter(serial.into()))?;
        let (hes_end, relay_end) = tokio::io::duplex(64 * 1024);
        let (permit, meter_stream, ctx) = admit(&route, &self.shared).await?;
        tokio::spawn(async move {
            relay(relay_end, meter_stream, ctx).await;
            drop(permit);
        });
        Ok(Box::new(hes_end))
    }

    /// Adds an effect from now until cleared with [`Field::clear`].
    pub fn apply(&self, effect: Effect) -> EffectId {
        self.shared.conditions.add(TimedEffect { from: self.shared.clock.now(), until: None, effect })
    }

    /// Ends an effect added with [`Field::apply`] or [`Field::schedule`] now; false when
    /// there is no such effect.
    pub fn clear(&self, id: EffectId) -> bool {
        self.shared.conditions.end(id, self.shared.clock.now())
    }

    /// Adds a timed effect.
    pub fn schedule(&self, effect: TimedEffect) -> EffectId {
        self.shared.conditions.add(effect)
    }

    /// Schedules every effect of `scenario`, its times counted from now.
    pub fn run_scenario(&self, scenario: &Scenario) -> Vec<EffectId> {
        let now = self.shared.clock.now();
        scenario
            .effects
            .iter()
            .map(|e| {
                self.shared.conditions.add(TimedEffect {
                    from: now + e.from,
                    until: e.until.map(|u| now + u),
                    effect: e.effect.clone(),
                })
            })
            .collect()
    }

    /// Counters of the whole field and of each DCU.
    pub fn stats(&self) -> FieldStats {
        FieldStats {
            total: self.shared.total.snapshot(),
            dcus: self.shared.dcus.iter().map(|d| (d.id.clone(), d.counters.snapshot())).collect(),
        }
    }

    /// Counters of one meter's sessions.
    pub fn meter_stats(&self, serial: &str) -> Option<LinkStats> {
        self.shared.routes.get(serial).map(|r| r.counters.snapshot())
    }

    /// The newest frames relayed (oldest first), when tracing is on.
    pub fn trace(&self) -> Vec<FrameRecord> {
        self.shared.trace.snapshot()
    }

    /// Stops every listener and relay.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Accepts HES sessions for one meter; its sessions stop with it.
async fn accept_sessions(listener: TcpListener, route: Arc<Route>, shared: Arc<FieldShared>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    stream.set_nodelay(true).ok();
                    let route = route.clone();
                    let shared = shared.clone();
                    sessions.spawn(async move {
                        match admit(&route, &shared).await {
                            Ok((permit, meter_stream, ctx)) => {
                                relay(stream, meter_stream, ctx).await;
                                drop(permit);
                            }
                            Err(e) => tracing::debug!(error = %e, "session refused"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "DCU accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// Admission of one session: DCU reachable, a session slot, the meter connected.
async fn admit(
    route: &Arc<Route>,
    shared: &Arc<FieldShared>,
) -> Result<(OwnedSemaphorePermit, Box<dyn ByteStream>, SessionContext), FieldError> {
    let dcu = &route.dcu;
    let counters = [shared.total.clone(), dcu.counters.clone(), route.counters.clone()];
    let count = |e: Event| counters.iter().for_each(|c| c.event(e));
    let refused = |reason| FieldError::Refused { dcu: dcu.id.to_string(), serial: route.serial.clone(), reason };
    let now = shared.clock.now();
    let conditions = shared.conditions.at(&dcu.id, Some(&route.serial), now);
    if conditions.dcu_unreachable() || !dcu.backhaul.availability.is_up(now) {
        count(Event::RefusedUnreachable);
        return Err(refused("the DCU is unreachable from the HES"));
    }
    let wait = shared.clock.to_real(dcu.queue_timeout);
    let permit = match tokio::time::timeout(wait, dcu.sessions.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => {
            count(Event::RefusedBusy);
            return Err(refused("every session slot of the DCU stayed busy"));
        }
    };
    let meter_stream: Box<dyn ByteStream> = match &route.target {
        MeterTarget::Tcp(address) => match TcpStream::connect(address).await {
            Ok(s) => {
                s.set_nodelay(true).ok();
                Box::new(s)
            }
            Err(source) => {
                count(Event::MeterUnreachable);
                return Err(FieldError::MeterConnect { dcu: dcu.id.to_string(), serial: route.serial.clone(), source });
            }
        },
        MeterTarget::InProcess { meter, server } => {
            let (dcu_end, meter_end) = tokio::io::duplex(64 * 1024);
            let (meter, server) = (meter.clone(), server.clone());
            tokio::spawn(async move {
                if let Err(e) = meter::tcp_server::serve_stream(meter_end, &meter, &server).await {
                    tracing::debug!(error = %e, "in-process meter session ended");
                }
            });
            Box::new(dcu_end)
        }
    };
    count(Event::SessionOpened);
    let session = route.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    let ctx = SessionContext {
        clock: shared.clock,
        path: shared.path(dcu, &route.serial, route.framing),
        counters,
        trace: shared.trace.clone(),
        seed: mix(mix(shared.seed, route.index), session),
        session,
    };
    Ok((permit, meter_stream, ctx))
}
