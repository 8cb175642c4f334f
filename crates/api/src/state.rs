//! What every handler shares ([`AppState`]) and how to assemble it ([`ApiBuilder`]).

use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use mdms::MeterDataStore;
use mdms::billing::{TouSchedule, TouScheduleSpec};
use vending::VendingService;

use crate::audit::AuditLog;
use crate::auth::TokenStore;
use crate::db::ApiDb;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::services::commands::CommandService;
use crate::services::events::{EventSource, MemoryEventLog};
use crate::services::hes_commands::{CommandOutcomes, HesCommands};
use crate::services::outages::{EventOutages, OutageRules, OutageSource};
use crate::services::registry::{InMemoryRegistry, MeterRegistry};

/// The MDMS store behind a lock (`SqliteStore` is `Send`, not `Sync`). Handlers reach it
/// through [`AppState::store`], which runs the closure on the blocking thread pool.
pub type SharedStore = Arc<Mutex<Box<dyn MeterDataStore + Send>>>;

/// Tunables of the API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// A meter whose last successful read is older than this is `stale` (default 26 h:
    /// a daily read plus slack).
    pub stale_after: SignedDuration,
    /// Longest range an export or a billing list may cover (default 366 days).
    pub max_export_span: SignedDuration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            stale_after: SignedDuration::from_hours(26),
            max_export_span: SignedDuration::from_hours(24 * 366),
        }
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The MDMS store.
    pub store: SharedStore,
    /// API tokens.
    pub tokens: TokenStore,
    /// The audit log.
    pub audit: AuditLog,
    /// The HES registry.
    pub registry: Arc<dyn MeterRegistry>,
    /// End device events.
    pub events: Arc<dyn EventSource>,
    /// Outages and reliability.
    pub outages: Arc<dyn OutageSource>,
    /// Commands.
    pub commands: Arc<dyn CommandService>,
    /// Prepayment vending, when configured.
    pub vending: Option<Arc<Mutex<VendingService>>>,
    /// The TOU schedule billing determinants are computed under.
    pub tou: Arc<TouSchedule>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Tunables.
    pub settings: ApiSettings,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl AppState {
    /// Runs `f` with the MDMS store on the blocking pool.
    ///
    /// Errors: whatever `f` returns; 500 when the task fails.
    pub async fn store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn MeterDataStore) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(guard.as_mut())
        })
        .await?
    }

    /// Runs `f` on the blocking pool (registry, events, commands, vending calls that may
    /// touch SQLite).
    ///
    /// Errors: whatever `f` returns; 500 when the task fails.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state)).await?
    }
}

/// The built-in TOU schedule: Europe/London, weekday peak 16:00–19:00, night 00:00–07:00
/// every day, day otherwise; 30-minute rolling demand. Replace it with
/// [`ApiBuilder::tou_schedule`] (e.g. `gridedge api --tou FILE.json`).
pub fn default_tou_schedule() -> Result<TouSchedule, ApiError> {
    let spec: TouScheduleSpec = serde_json::from_value(serde_json::json!({
        "name": "gridedge default (day/night/peak)",
        "time_zone": "Europe/London",
        "default_period": "day",
        "rules": [
            {"period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00"},
            {"period": "night", "from": "00:00", "to": "07:00"}
        ],
        "demand": {"rolling_window_minutes": 30}
    }))
    .map_err(|e| ApiError::internal("building the default TOU schedule", e))?;
    TouSchedule::new(spec).map_err(|e| ApiError::internal("building the default TOU schedule", e))
}

/// Assembles an [`AppState`]: the MDMS store and the API database are required; every
/// other part has a default that works with what exists in this process (an empty
/// in-memory registry, an in-memory event log, outages derived from events, commands
/// carried out in this process by the HES command service ([`HesCommands`], its store in
/// memory unless [`ApiBuilder::command_store`] names a file), no vending, the default TOU
/// schedule, a new metrics registry).
pub struct ApiBuilder {
    store: Box<dyn MeterDataStore + Send>,
    db: ApiDb,
    registry: Option<Arc<dyn MeterRegistry>>,
    events: Option<Arc<dyn EventSource>>,
    outages: Option<Arc<dyn OutageSource>>,
    commands: Option<Arc<dyn CommandService>>,
    command_store: Option<std::path::PathBuf>,
    vending: Option<VendingService>,
    tou: Option<TouSchedule>,
    metrics: Option<Arc<Metrics>>,
    settings: ApiSettings,
    timeouts: hes::SessionTimeouts,
}

impl ApiBuilder {
    /// A builder over the MDMS `store` and the API database `db`.
    pub fn new(store: Box<dyn MeterDataStore + Send>, db: ApiDb) -> ApiBuilder {
        ApiBuilder {
            store,
            db,
            registry: None,
            events: None,
            outages: None,
            commands: None,
            command_store: None,
            vending: None,
            tou: None,
            metrics: None,
            settings: ApiSettings::default(),
            timeouts: hes::SessionTimeouts::default(),
        }
    }

    /// The HES registry (default: an empty [`InMemoryRegistry`]).
    pub fn registry(mut self, registry: Arc<dyn MeterRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The event source (default: a [`MemoryEventLog`]).
    pub fn events(mut self, events: Arc<dyn EventSource>) -> Self {
        self.events = Some(events);
        self
    }

    /// The outage source (default: [`EventOutages`] over the event source and registry).
    pub fn outages(mut self, outages: Arc<dyn OutageSource>) -> Self {
        self.outages = Some(outages);
        self
    }

    /// The command service (default: [`HesCommands`]).
    pub fn commands(mut self, commands: Arc<dyn CommandService>) -> Self {
        self.commands = Some(commands);
        self
    }

    /// The SQLite file of the default command service's store (`hes::commands::CommandStore`
    /// tables; may be the HES CLI's command database). Default: in memory.
    pub fn command_store(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.command_store = Some(path.into());
        self
    }

    /// Enables `POST /api/v1/vends` with this vending service.
    pub fn vending(mut self, vending: VendingService) -> Self {
        self.vending = Some(vending);
        self
    }

    /// The TOU schedule of billing determinants (default: [`default_tou_schedule`]).
    pub fn tou_schedule(mut self, tou: TouSchedule) -> Self {
        self.tou = Some(tou);
        self
    }

    /// The metrics registry (share it with the HES and MDMS code of the process).
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Tunables.
    pub fn settings(mut self, settings: ApiSettings) -> Self {
        self.settings = settings;
        self
    }

    /// DLMS session timeouts of the default command service.
    pub fn session_timeouts(mut self, timeouts: hes::SessionTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The state. Must be called inside a tokio runtime (the default command service spawns
    /// its tasks there).
    ///
    /// Errors: 500 when the command store cannot be opened or recovered or the default
    /// schedule cannot be built.
    pub fn build(self) -> Result<AppState, ApiError> {
        let metrics = self.metrics.unwrap_or_default();
        let registry: Arc<dyn MeterRegistry> = self.registry.unwrap_or_else(|| Arc::new(InMemoryRegistry::new()));
        let events: Arc<dyn EventSource> = self.events.unwrap_or_else(|| Arc::new(MemoryEventLog::default()));
        let outages: Arc<dyn OutageSource> = match self.outages {
            Some(o) => o,
            None => Arc::new(EventOutages::new(events.clone(), registry.clone(), OutageRules::default())),
        };
        let commands: Arc<dyn CommandService> = match self.commands {
            Some(c) => c,
            None => {
                let outcomes = CommandOutcomes { events: events.clone(), metrics: metrics.clone() };
                Arc::new(HesCommands::new(self.command_store.as_deref(), registry.clone(), self.timeouts, outcomes)?)
            }
        };
        let tou = match self.tou {
            Some(t) => t,
            None => default_tou_schedule()?,
        };
        Ok(AppState {
            store: Arc::new(Mutex::new(self.store)),
            tokens: TokenStore::new(self.db.clone()),
            audit: AuditLog::new(self.db),
            registry,
            events,
            outages,
            commands,
            vending: self.vending.map(|v| Arc::new(Mutex::new(v))),
            tou: Arc::new(tou),
            metrics,
            settings: self.settings,
        })
    }
}
