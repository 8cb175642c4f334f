//! `gridedge api`: the operator API and the web dashboard over an MDMS database.
//!
//! ```text
//! gridedge api --db mdms.db --listen 127.0.0.1:8080 [--tou tou.json] [--vend-db vend.db]
//!              [--tls-cert cert.pem --tls-key key.pem]            (feature `tls`)
//!              [--simulate-fleet N --days D]                       (a demo fleet, collected first)
//!              [--demo-token]                                      (print a dashboard link with a fresh token)
//!              [--registry-db hes.db]                              (the HES registry; key store with GRIDEDGE_HES_KEK)
//!              [--commands-db commands.db]                         (the command store; default: the API database)
//! gridedge api --config gridedge.toml [--instance api1]            (scale-out: commands over NATS JetStream)
//! gridedge api token create --db mdms.db --name alice --role admin   (prints the token once)
//! gridedge api token list --db mdms.db
//! gridedge api token revoke --db mdms.db --id 3
//! ```
//!
//! The API's own tables (tokens, audit log, commands) go in `--api-db`, by default the
//! `--db` file itself. With `--simulate-fleet N` the command starts N simulated meters on
//! loopback (as `gridedge demo` does), collects `--days` of history from them over
//! DLMS/COSEM into `--db`, keeps them running and serves the API with them in the
//! registry, so commands (disconnect, reconnect, time sync, TOU change, load limit) reach
//! real simulated meters.
//!
//! Commands run in this process with the HES command service (`hes::commands`), recorded
//! in the command store (`--commands-db`, by default the API database; give the HES CLI's
//! command database to see its commands too). With `--registry-db` the meters endpoints
//! read and provision the HES's persistent registry (`hes::registry_store`); LLS passwords
//! and keys go to its key store when the storage KEK is given (`GRIDEDGE_HES_KEK`).
//!
//! Scale-out (`--config FILE`, the file `gridedge hes run` and `gridedge mdms run` share):
//! the MDMS database is `[store] sqlite_path`, or with `[store] backend = "postgres"` the
//! PostgreSQL database `[store] postgres` (readings, registers, VEE, billing, events,
//! outages and topology; the API's own tables then stay in the SQLite `--api-db`, default
//! `api.db` in the working directory), the address `[api] listen` (unless
//! `--listen` is given), the registry `[hes] registry` when that file exists; with
//! `[bus] transport = "nats"` commands are published to the HES over JetStream as
//! `bus::CommandEnvelope`s (keyed by the meter's shard among `[hes] shards`) and followed
//! from the HES's results with the durable consumer `<instance>-command-results`
//! ([`api::BusCommands`]).
//!
//! `gridedge demo --serve` calls [`serve_fleet_dashboard`] after the collection with the
//! fleet still running.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::hes::transport::LinkLayer;
use ::hes::{CampaignConfig, MeterEndpoint, Registry, SessionTimeouts, run_campaign};
use anyhow::{Context, bail};
use api::{ApiBuilder, ApiDb, InMemoryRegistry, Metrics, Role, TokenStore};
use clap::{Args, Subcommand};
use dlms::association::Authentication;
use mdms::outage::OutageConfig;
use mdms::topology::{FeederId, ServiceRole, Topology, TopologyStore, TransformerId};
use mdms::{MeterDataStore, PgStore, SqliteStore};
use model::{MeterId, MeterReading, ReadingType};

use crate::services::mdms_ingest::blocking;

/// Arguments of `gridedge api`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ApiArgs {
    /// Token management instead of serving.
    #[command(subcommand)]
    pub command: Option<ApiCommand>,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `gridedge api` subcommands.
#[derive(Subcommand)]
pub enum ApiCommand {
    /// API tokens: create (the first admin token), list, revoke.
    Token(TokenArgs),
}

/// Arguments of `gridedge api token`.
#[derive(Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `gridedge api token` subcommands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (shown once; only its SHA-256 is stored).
    Create {
        /// The API database (the MDMS database by default).
        #[arg(long)]
        db: PathBuf,
        /// Who or what holds it.
        #[arg(long)]
        name: String,
        /// reader, operator or admin.
        #[arg(long, default_value = "reader")]
        role: String,
        /// Print JSON (id, name, role, token).
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        /// The API database.
        #[arg(long)]
        db: PathBuf,
    },
    /// Revoke a token.
    Revoke {
        /// The API database.
        #[arg(long)]
        db: PathBuf,
        /// The token's id.
        #[arg(long)]
        id: i64,
    },
}

/// How `gridedge api` serves.
#[derive(Args, Clone)]
pub struct ServeArgs {
    /// The MDMS database (SQLite).
    #[arg(long, default_value = "gridedge-demo.db")]
    pub db: PathBuf,
    /// The API's own database (tokens, audit log, commands); default: `--db`, or `api.db`
    /// in the working directory when the `--config` store is PostgreSQL.
    #[arg(long)]
    pub api_db: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the URL is printed). Default
    /// 127.0.0.1:8080, or `[api] listen` of --config.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The HES registry database (`gridedge hes registry`): the meters endpoints read and
    /// provision it; secrets go to its key store when GRIDEDGE_HES_KEK is set.
    #[arg(long, conflicts_with = "simulate_fleet")]
    pub registry_db: Option<PathBuf>,
    /// The command store (SQLite, `hes::commands` tables); default: the API database.
    #[arg(long)]
    pub commands_db: Option<PathBuf>,
    /// The deployment's configuration file (scale-out: MDMS database, bus, shards, listen
    /// address, HES registry).
    #[arg(long, conflicts_with = "simulate_fleet")]
    pub config: Option<PathBuf>,
    /// This API process's name on the bus (command ids `<instance>-<n>`, durable consumer
    /// `<instance>-command-results`); each API process needs its own.
    #[arg(long, default_value = "api")]
    pub instance: String,
    /// TOU schedule of billing determinants, JSON (mdms TouScheduleSpec); default: a
    /// day/night/peak schedule in Europe/London.
    #[arg(long)]
    pub tou: Option<PathBuf>,
    /// Enable vending with this vending database (see `gridedge vend`).
    #[arg(long)]
    pub vend_db: Option<PathBuf>,
    /// DKGA04 vending key, 40 hex digits (default: $GRIDEDGE_VENDING_KEY, else the test key).
    #[arg(long)]
    pub vending_key: Option<String>,
    /// Start N simulated meters, collect their history into --db, keep them running and
    /// serve with them in the registry.
    #[arg(long, value_name = "N")]
    pub simulate_fleet: Option<usize>,
    /// Days of history to collect from the simulated fleet.
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    /// Seed of the first simulated meter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Create an operator token named `demo` and print the dashboard URL with it.
    #[arg(long)]
    pub demo_token: bool,
    /// PEM certificate chain: serve HTTPS (feature `tls`).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: ApiArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ApiCommand::Token(t)) => tokens(t),
        None => serve(args.serve),
    }
}

fn tokens(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Create { db, name, role, json } => {
            let role: Role = role.parse()?;
            let store = TokenStore::new(ApiDb::open(&db).with_context(|| format!("opening {}", db.display()))?);
            let token = store.create(&name, role, "cli")?;
            if json {
                super::emit(&serde_json::to_string_pretty(&token)?)?;
            } else {
                eprintln!("token {} for {} ({}); shown once, keep it safe:", token.info.id, token.info.name, role);
                super::emit(&token.token)?;
            }
        }
        TokenCommand::List { db } => {
            let store = TokenStore::new(ApiDb::open(&db).with_context(|| format!("opening {}", db.display()))?);
            super::emit(&serde_json::to_string_pretty(&store.list()?)?)?;
        }
        TokenCommand::Revoke { db, id } => {
            let store = TokenStore::new(ApiDb::open(&db).with_context(|| format!("opening {}", db.display()))?);
            if !store.revoke(id)? {
                bail!("no valid token {id}");
            }
            eprintln!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where and how to serve the dashboard (for [`serve_dashboard`]).
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The MDMS database (SQLite file); with `postgres` set, only the default of `api_db`.
    pub db: PathBuf,
    /// The MDMS store on PostgreSQL instead of `db` (a libpq connection string, as
    /// `[store] postgres`): readings, events, outages and topology are served from it; the
    /// API's own tables stay in the SQLite `api_db`.
    pub postgres: Option<String>,
    /// The API database (default: `db`).
    pub api_db: Option<PathBuf>,
    /// Listening address.
    pub listen: SocketAddr,
    /// TOU schedule file (JSON).
    pub tou: Option<PathBuf>,
    /// Vending database and key.
    pub vend_db: Option<PathBuf>,
    /// Vending key (hex).
    pub vending_key: Option<String>,
    /// Mint an operator token `demo` and print a dashboard link with it.
    pub demo_token: bool,
    /// TLS certificate and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How commands are carried out.
    pub commands: CommandsConfig,
}

/// How the API carries commands out.
#[derive(Debug, Clone)]
pub enum CommandsConfig {
    /// In this process with the HES command service, recorded in the command store at
    /// this path (`None`: the API database).
    InProcess {
        /// The command store.
        store: Option<PathBuf>,
    },
    /// Published on NATS JetStream for the scale-out HES and followed from its results.
    Bus {
        /// The command store (`None`: the API database).
        store: Option<PathBuf>,
        /// NATS server address.
        nats_url: String,
        /// JetStream stream name prefix.
        stream_prefix: String,
        /// Shards of the fleet (`[hes] shards`).
        shards: u32,
        /// This API's instance name.
        instance: String,
        /// Refuse commands for meters the registry does not know (when the API has the
        /// HES registry; an empty in-memory registry knows nothing).
        require_registered: bool,
    },
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig::InProcess { store: None }
    }
}

impl DashboardConfig {
    /// Serving the MDMS database `db` on `listen` with the defaults (API tables in `db`,
    /// commands in this process, no TLS, no vending).
    pub fn new(db: PathBuf, listen: SocketAddr) -> DashboardConfig {
        DashboardConfig {
            db,
            postgres: None,
            api_db: None,
            listen,
            tou: None,
            vend_db: None,
            vending_key: None,
            demo_token: false,
            tls: None,
            commands: CommandsConfig::default(),
        }
    }
}

/// Where simulated fleet meter `index` (0-based) sits: ten meters per transformer
/// (`TX0001`, ...), five transformers per feeder (`FDR01`, ...).
pub fn fleet_grid_location(index: usize) -> (String, String) {
    let transformer = index / 10 + 1;
    let feeder = (transformer - 1) / 5 + 1;
    (format!("TX{transformer:04}"), format!("FDR{feeder:02}"))
}

/// The network topology of a simulated fleet ([`fleet_grid_location`]), every meter a
/// customer, for the MDMS outage engine.
///
/// # Errors
/// An empty serial.
pub fn fleet_topology(meters: &[(String, SocketAddr)]) -> anyhow::Result<Topology> {
    let mut topology = Topology::new();
    for (index, (serial, _)) in meters.iter().enumerate() {
        let (transformer, feeder) = fleet_grid_location(index);
        let (transformer, feeder) = (TransformerId(transformer), FeederId(feeder));
        if !topology.feeders().any(|f| *f == feeder) {
            topology.add_feeder(feeder.clone())?;
        }
        if topology.transformer(&transformer).is_none() {
            topology.add_transformer(transformer.clone(), feeder)?;
        }
        topology.connect_meter(MeterId(serial.clone()), &transformer, ServiceRole::Customer)?;
    }
    Ok(topology)
}

/// The registry of a simulated fleet: every meter with its management association
/// (client 1, LLS password `password`, server SAP 1) on `link`, located by
/// [`fleet_grid_location`].
pub fn fleet_registry(meters: &[(String, SocketAddr)], link: LinkLayer, password: &[u8]) -> InMemoryRegistry {
    let registry = InMemoryRegistry::new();
    for (index, (serial, address)) in meters.iter().enumerate() {
        let endpoint = MeterEndpoint {
            serial: MeterId(serial.clone()),
            address: *address,
            client_sap: dlms::wrapper::WPORT_CLIENT_MANAGEMENT,
            server_sap: dlms::wrapper::WPORT_MANAGEMENT_LOGICAL_DEVICE,
            authentication: Authentication::Low { password: password.to_vec() },
            link,
            security: None,
        };
        let (transformer, feeder) = fleet_grid_location(index);
        registry.insert(endpoint, Some(transformer), Some(feeder), "active");
    }
    registry
}

/// Serves the API and dashboard of `config` with `registry` and `metrics` until Ctrl-C
/// (or SIGTERM), printing the URLs first. Events go to the MDMS event store of `config.db`
/// and outages come from the MDMS outage engine over the topology stored there
/// ([`api::MdmsEvents`]). Commands are carried out as `config.commands` says. Call it
/// inside a tokio runtime ([`serve_fleet_dashboard`] wraps it for a simulated fleet).
///
/// # Errors
/// The databases cannot be opened, the address cannot be bound, the TOU file is invalid.
pub async fn serve_dashboard(
    config: DashboardConfig,
    registry: Arc<dyn api::MeterRegistry>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    // Declared first, dropped last: the PostgreSQL connections it holds close off the
    // runtime's threads.
    let mut off_runtime = OffRuntime::default();
    let api_db_path = config.api_db.clone().unwrap_or_else(|| config.db.clone());
    let db = ApiDb::open(&api_db_path).with_context(|| format!("opening {}", api_db_path.display()))?;
    // Everything that may fail comes before the MDMS store is opened: a PostgreSQL store
    // dropped on a runtime thread would panic (its blocking client closes its connection on
    // a runtime of its own), so the store is opened last and the state built off the async
    // context, where an error drops it safely.
    let (events, outages): (Arc<dyn api::EventSource>, Arc<dyn api::OutageSource>) = match &config.postgres {
        None => {
            let events_store =
                SqliteStore::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
            let events = Arc::new(api::MdmsEvents::new(events_store, OutageConfig::default()));
            (events.clone(), events)
        }
        Some(conninfo) => {
            let events_store = blocking(|| PgStore::connect(conninfo).context("opening the PostgreSQL MDMS store"))?;
            let events = Arc::new(api::MdmsEvents::new(events_store, OutageConfig::default()));
            off_runtime.keep(Box::new(events.clone()));
            (events.clone(), events)
        }
    };
    let mut follower = None;
    let commands: Option<Arc<dyn api::CommandService>> = match &config.commands {
        CommandsConfig::InProcess { .. } => None,
        CommandsConfig::Bus { store, nats_url, stream_prefix, shards, instance, require_registered } => {
            let path = store.clone().unwrap_or_else(|| api_db_path.clone());
            let log = Arc::new(
                api::CommandLog::open(&path, SessionTimeouts::default())
                    .map_err(|e| anyhow::anyhow!("command store {}: {}", path.display(), e.message))?,
            );
            let bus_config =
                bus::JetStreamConfig { stream_prefix: stream_prefix.clone(), ..bus::JetStreamConfig::new(nats_url) };
            let bus = bus::JetStreamBus::connect(bus_config)
                .await
                .with_context(|| format!("connecting to NATS at {nats_url}"))?;
            let outcomes = api::CommandOutcomes { events: events.clone(), metrics: metrics.clone() };
            let service = Arc::new(
                api::BusCommands::new(
                    log,
                    bus.publisher(),
                    *shards,
                    instance,
                    require_registered.then(|| registry.clone()),
                    outcomes,
                )
                .map_err(|e| anyhow::anyhow!("{}", e.message))?,
            );
            let results = bus.subscriber(bus::MessageKind::CommandResults, &service.results_consumer()).await?;
            follower = Some(tokio::spawn(service.clone().follow_results(results)));
            Some(service)
        }
    };
    let tou = match &config.tou {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let tou: mdms::billing::TouSchedule =
                serde_json::from_str(&text).with_context(|| format!("TOU schedule {}", path.display()))?;
            Some(tou)
        }
        None => None,
    };
    let vending = match &config.vend_db {
        Some(path) => {
            let key = super::vend::vending_key(config.vending_key.as_deref())?;
            let store = vending::VendStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            Some(vending::VendingService::new(store, key)?)
        }
        None => None,
    };
    let command_store = match &config.commands {
        CommandsConfig::InProcess { store } => store.clone().unwrap_or_else(|| api_db_path.clone()),
        CommandsConfig::Bus { .. } => api_db_path.clone(),
    };
    let built = blocking(|| -> anyhow::Result<api::AppState> {
        let store: Box<dyn MeterDataStore + Send> = match &config.postgres {
            None => {
                Box::new(SqliteStore::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?)
            }
            Some(conninfo) => Box::new(PgStore::connect(conninfo).context("opening the PostgreSQL MDMS store")?),
        };
        let mut builder = ApiBuilder::new(store, db.clone())
            .registry(registry.clone())
            .metrics(metrics.clone())
            .events(events.clone())
            .outages(outages);
        builder = match commands {
            Some(service) => builder.commands(service),
            None => builder.command_store(command_store),
        };
        if let Some(tou) = tou {
            builder = builder.tou_schedule(tou);
        }
        if let Some(vending) = vending {
            builder = builder.vending(vending);
        }
        builder.build().map_err(|e| anyhow::anyhow!("{}", e.message))
    });
    let state = match built {
        Ok(state) => state,
        Err(e) => {
            if let Some(f) = follower {
                f.abort();
                let _ = f.await;
            }
            return Err(e);
        }
    };
    if config.postgres.is_some() {
        off_runtime.keep(Box::new(state.clone()));
    }
    let token =
        if config.demo_token { Some(TokenStore::new(db).create("demo", Role::Operator, "cli")?.token) } else { None };
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    match &config.tls {
        None => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            print_urls("http", listener.local_addr()?, token.as_deref())?;
            api::serve(listener, state, shutdown).await?;
        }
        Some((cert, key)) => serve_tls(cert, key, config.listen, state, shutdown, token.as_deref()).await?,
    }
    if let Some(f) = follower {
        f.abort();
        // Wait for the follower to be dropped: it may hold the last handle of a
        // PostgreSQL store, which must be closed by `off_runtime`.
        let _ = f.await;
    }
    Ok(())
}

/// Values holding PostgreSQL connections, dropped inside [`blocking`] (the blocking
/// client closes its connection on its own runtime, which cannot start on a thread of the
/// API's runtime).
#[derive(Default)]
struct OffRuntime(Vec<Box<dyn Send>>);

impl OffRuntime {
    /// Keeps `value` alive until this is dropped.
    fn keep(&mut self, value: Box<dyn Send>) {
        self.0.push(value);
    }
}

impl Drop for OffRuntime {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.0);
        if !held.is_empty() {
            blocking(move || drop(held));
        }
    }
}

fn print_urls(scheme: &str, addr: SocketAddr, token: Option<&str>) -> anyhow::Result<()> {
    let base = format!("{scheme}://{addr}");
    super::emit(&format!("api: {base}/api/v1 (OpenAPI: {base}/api/openapi.json, metrics: {base}/metrics)"))?;
    match token {
        Some(t) => super::emit(&format!("dashboard: {base}/dashboard/?token={t}"))?,
        None => super::emit(&format!("dashboard: {base}/dashboard/"))?,
    }
    Ok(())
}

#[cfg(feature = "tls")]
async fn serve_tls(
    cert: &Path,
    key: &Path,
    listen: SocketAddr,
    state: api::AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    token: Option<&str>,
) -> anyhow::Result<()> {
    let config = api::server::tls::server_config(cert, key)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(api::server::tls::serve_tls(listen, config, state, shutdown, tx));
    if let Ok(addr) = rx.await {
        print_urls("https", addr, token)?;
    }
    server.await??;
    Ok(())
}

#[cfg(not(feature = "tls"))]
async fn serve_tls(
    _cert: &Path,
    _key: &Path,
    _listen: SocketAddr,
    _state: api::AppState,
    _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    _token: Option<&str>,
) -> anyhow::Result<()> {
    bail!("this gridedge was built without the `tls` feature (cargo build --features tls)")
}

/// The API database of `gridedge api --config` on a PostgreSQL store when `--api-db` is
/// not given (tokens, audit log and command log; relative to the working directory).
const PG_API_DB: &str = "api.db";

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let deployment = match &args.config {
        Some(path) => Some(crate::services::config::GridedgeConfig::load(path)?),
        None => None,
    };
    let mut db = args.db.clone();
    let mut postgres = None;
    let mut listen = args.listen;
    let mut registry_db = args.registry_db.clone();
    let mut commands = CommandsConfig::InProcess { store: args.commands_db.clone() };
    if let Some(d) = &deployment {
        use crate::services::config::{BusTransport, StoreBackend};
        match d.store.backend {
            StoreBackend::Sqlite => db = d.store.sqlite_path.clone(),
            StoreBackend::Postgres => {
                let conninfo = d.store.postgres.clone().context("[store] postgres is missing")?;
                postgres = Some(conninfo);
                // The API's own tables stay in SQLite: `--api-db`, default `api.db` here.
                db = PathBuf::from(PG_API_DB);
            }
        }
        if listen.is_none() {
            listen = Some(d.api.listen.parse().with_context(|| format!("[api] listen = {:?}", d.api.listen))?);
        }
        if registry_db.is_none() && d.hes.registry.exists() {
            registry_db = Some(d.hes.registry.clone());
        }
        if d.bus.transport == BusTransport::Nats {
            commands = CommandsConfig::Bus {
                store: args.commands_db.clone(),
                nats_url: d.bus.nats_url.clone(),
                stream_prefix: d.bus.stream_prefix.clone(),
                shards: d.hes.shards,
                instance: args.instance.clone(),
                require_registered: registry_db.is_some(),
            };
        }
    }
    let config = DashboardConfig {
        db,
        postgres,
        api_db: args.api_db.clone(),
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        tou: args.tou.clone(),
        vend_db: args.vend_db.clone(),
        vending_key: args.vending_key.clone(),
        demo_token: args.demo_token,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        commands,
    };
    let registry: Arc<dyn api::MeterRegistry> = match &registry_db {
        None => Arc::new(InMemoryRegistry::new()),
        Some(path) => {
            let keys = ::hes::key_store::StorageKek::from_env()?
                .map(|kek| ::hes::key_store::KeyStore::open(path, kek))
                .transpose()
                .with_context(|| format!("opening the key store in {}", path.display()))?;
            if keys.is_none() {
                eprintln!(
                    "{} is not set: meters needing a password or keys cannot be provisioned or commanded",
                    ::hes::key_store::STORAGE_KEK_ENV
                );
            }
            Arc::new(
                api::HesRegistry::open(path, keys)
                    .map_err(|e| anyhow::anyhow!("HES registry {}: {}", path.display(), e.message))?,
            )
        }
    };
    let metrics = Arc::new(Metrics::new());
    let rt = super::runtime()?;
    rt.block_on(async move {
        match args.simulate_fleet {
            None => serve_dashboard(config, registry, metrics).await,
            Some(n) => serve_simulated_fleet(n, &args, config, metrics).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts `n` simulated meters, collects `args.days` of history into the database, and
/// serves with the fleet in the registry until interrupted.
async fn serve_simulated_fleet(
    n: usize,
    args: &ServeArgs,
    config: DashboardConfig,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    anyhow::ensure!(n > 0, "--simulate-fleet needs at least 1 meter");
    anyhow::ensure!(args.days > 0 && args.days <= 60, "--days must be in 1..=60");
    let fleet = meter::fleet::Fleet::start(
        n,
        std::net::IpAddr::from([127, 0, 0, 1]),
        args.seed,
        meter::MeterConfig::default(),
        meter::tcp_server::MeterServerConfig::default(),
    )
    .await
    .context("starting the simulated fleet")?;
    let meters: Vec<(String, SocketAddr)> = fleet.meters().iter().map(|m| (m.serial.clone(), m.address)).collect();
    collect(&config.db, &meters, args.days, &metrics).await?;
    let served = serve_fleet_dashboard(&meters, LinkLayer::Wrapper, config, metrics).await;
    fleet.shutdown().await;
    served
}

/// Serves the API and dashboard over a running simulated fleet (`gridedge demo --serve`,
/// `gridedge api --simulate-fleet`) until Ctrl-C or SIGTERM: stores the fleet's topology
/// ([`fleet_topology`]) in `config.db` for the outage engine, registers every meter with
/// its management association (client 1, the simulated meters' LLS password `00000000`,
/// on `link`) and calls [`serve_dashboard`]. The caller shuts the fleet down afterwards.
///
/// # Errors
/// As [`serve_dashboard`]; the topology cannot be saved.
pub async fn serve_fleet_dashboard(
    meters: &[(String, SocketAddr)],
    link: LinkLayer,
    config: DashboardConfig,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    save_topology(&config.db, &fleet_topology(meters)?)?;
    let registry = Arc::new(fleet_registry(meters, link, b"00000000"));
    serve_dashboard(config, registry, metrics).await
}

/// Replaces the network topology stored in the MDMS database at `db` (for the outage
/// engine).
///
/// # Errors
/// The database cannot be opened or written.
pub fn save_topology(db: &Path, topology: &Topology) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
    store.save_topology(topology)?;
    Ok(())
}

/// Collects `days` of history from `meters` (public client, no authentication) into the
/// MDMS database at `db`, counting sessions, readings and ingest in `metrics`.
async fn collect(db: &Path, meters: &[(String, SocketAddr)], days: u32, metrics: &Arc<Metrics>) -> anyhow::Result<()> {
    let store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
    let mut since = std::collections::HashMap::new();
    for m in store.meters()? {
        if let Some(t) = store.last_interval_end(&m, ReadingType::ActiveEnergyImport)? {
            since.insert(m, t);
        }
    }
    let mut registry = Registry::new();
    for (serial, address) in meters {
        registry.upsert(MeterEndpoint {
            serial: MeterId(serial.clone()),
            address: *address,
            client_sap: dlms::wrapper::WPORT_PUBLIC_CLIENT,
            server_sap: dlms::wrapper::WPORT_MANAGEMENT_LOGICAL_DEVICE,
            authentication: Authentication::None,
            link: LinkLayer::Wrapper,
            security: None,
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<MeterReading>(64);
    let ingest_metrics = metrics.clone();
    let ingest = std::thread::Builder::new().name("mdms-ingest".into()).spawn(move || {
        let mut store = store;
        let mut errors = Vec::new();
        while let Some(reading) = rx.blocking_recv() {
            ingest_metrics.readings_collected((reading.intervals.len() + reading.registers.len()) as u64);
            match store.ingest(&reading) {
                Ok(report) => ingest_metrics.ingested(report.rows_written()),
                Err(e) => errors.push(format!("{}: {e}", reading.meter)),
            }
        }
        errors
    })?;
    let campaign = CampaignConfig {
        concurrency: 32,
        history: jiff::SignedDuration::from_hours(24 * i64::from(days)),
        timeouts: SessionTimeouts { connect: Duration::from_secs(5), response: Duration::from_secs(30) },
        ..CampaignConfig::default()
    };
    let started = Instant::now();
    let session_metrics = metrics.clone();
    let report = run_campaign(&registry, &since, &campaign, tx, move |_, ok| {
        session_metrics.session_completed(ok, None);
        if !ok {
            session_metrics.read_failed();
        }
    })
    .await;
    let errors = ingest.join().map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
    eprintln!(
        "collected {} of {} meters ({} interval values, {} registers) in {:.1} s",
        report.meters_ok,
        meters.len(),
        report.interval_values,
        report.registers,
        started.elapsed().as_secs_f64()
    );
    for e in errors.iter().take(5) {
        eprintln!("ingest failed: {e}");
    }
    Ok(())
}
