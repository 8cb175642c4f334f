//! Meters: the fleet list with communication status and last successful read, one meter's
//! detail, provisioning (admin), and the fleet overview of the dashboard.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};
use mdms::MeterDataStore;
use mdms::vee::ExceptionFilter;
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::layer::AuditTarget;
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, Page, PageParams};
use crate::services::events::{EventFilter, EventItem, Severity};
use crate::services::registry::{ProvisionRequest, RegisteredMeter};
use crate::services::relay::RelayState;
use crate::state::AppState;

/// Whether the HES reads the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommStatus {
    /// Read successfully within the staleness window (default 26 h).
    Ok,
    /// Read before, but not within the window.
    Stale,
    /// Never read successfully.
    NeverRead,
}

/// One meter in the fleet list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MeterSummary {
    /// Serial number (MDMS meter id).
    pub serial: String,
    /// HES life-cycle status, or `unregistered` for a meter only the MDMS knows.
    pub status: String,
    /// Communication status.
    pub comm_status: CommStatus,
    /// HES time of the last successful collection, UTC.
    pub last_read_at: Option<Timestamp>,
    /// Meter clock minus HES clock at the last read, ms.
    pub clock_drift_ms: Option<i64>,
    /// Relay state the meter last reported to a command.
    pub relay_state: Option<RelayState>,
    /// Transformer.
    pub transformer: Option<String>,
    /// Feeder.
    pub feeder: Option<String>,
}

/// Every meter serial the registry or the store knows, sorted.
fn all_serials(state: &AppState, store: &dyn MeterDataStore) -> Result<BTreeSet<String>, ApiError> {
    let mut serials: BTreeSet<String> = state.registry.list()?.into_iter().map(|m| m.serial).collect();
    serials.extend(store.meters()?.into_iter().map(|m| m.0));
    Ok(serials)
}

/// The summary of `serial` at `now`.
fn summarize(
    state: &AppState,
    store: &dyn MeterDataStore,
    serial: &str,
    now: Timestamp,
) -> Result<MeterSummary, ApiError> {
    let id = MeterId(serial.to_string());
    let registered = state.registry.get(&id)?;
    let last = store.clock_drift_history(&id)?.pop();
    let last_read_at = last.as_ref().map(|c| c.collected_at);
    let comm_status = match last_read_at {
        None => CommStatus::NeverRead,
        Some(t) if now.duration_since(t) <= state.settings.stale_after => CommStatus::Ok,
        Some(_) => CommStatus::Stale,
    };
    let confirmed = crate::services::commands::CommandFilter {
        meter: Some(id.clone()),
        state: Some(crate::services::commands::CommandState::Confirmed),
        ..Default::default()
    };
    let relay_state = state.commands.list(&confirmed, None, 10)?.into_iter().find_map(|c| c.relay_state);
    Ok(MeterSummary {
        serial: serial.to_string(),
        status: registered.as_ref().map_or_else(|| "unregistered".to_string(), |m| m.status.clone()),
        comm_status,
        last_read_at,
        clock_drift_ms: last.and_then(|c| c.clock_drift_ms),
        relay_state,
        transformer: registered.as_ref().and_then(|m| m.transformer.clone()),
        feeder: registered.and_then(|m| m.feeder),
    })
}

/// Lists meters, ordered by serial, with communication status, last successful read and
/// relay state. Role: reader.
#[utoipa::path(get, path = "/api/v1/meters", tag = "meters", params(PageParams),
    description = "Role: reader. Meters the HES registry or the MDMS knows, ordered by serial; `cursor` is the last serial of the previous page.",
    responses((status = 200, body = Page<MeterSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_meters(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<MeterSummary>>, ApiError> {
    let limit = page.limit(MAX_LIMIT)?;
    let s = state.clone();
    let items = state
        .store(move |store| {
            let now = Timestamp::now();
            let serials = all_serials(&s, store)?;
            serials
                .iter()
                .filter(|serial| page.cursor.as_deref().is_none_or(|c| serial.as_str() > c))
                .take(limit as usize + 1)
                .map(|serial| summarize(&s, store, serial, now))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(Page::from_overfetch(items, limit, |m| m.serial.clone())))
}

/// One collection session.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CollectionItem {
    /// HES time of the session, UTC.
    pub collected_at: Timestamp,
    /// Meter clock minus HES clock, ms.
    pub clock_drift_ms: Option<i64>,
    /// Load-profile interval length, s.
    pub interval_length_s: u32,
    /// Who delivered it.
    pub source: String,
}

/// One meter in detail.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MeterDetail {
    /// The fleet-list view.
    #[serde(flatten)]
    pub summary: MeterSummary,
    /// The registry entry (no secrets); `null` for a meter only the MDMS knows.
    pub registry: Option<RegisteredMeter>,
    /// The last 20 collection sessions, newest first.
    pub collections: Vec<CollectionItem>,
}

/// One meter: registry entry, communication status, last collections. Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}", tag = "meters",
    params(("meter" = String, Path, description = "Serial number")),
    description = "Role: reader.",
    responses((status = 200, body = MeterDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_meter(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
) -> Result<Json<MeterDetail>, ApiError> {
    let s = state.clone();
    let detail = state
        .store(move |store| {
            let id = MeterId(meter.clone());
            let registry = s.registry.get(&id)?;
            let history = store.clock_drift_history(&id)?;
            if registry.is_none() && history.is_empty() && !store.meters()?.contains(&id) {
                return Err(ApiError::not_found(format!("unknown meter {meter}")));
            }
            let summary = summarize(&s, store, &meter, Timestamp::now())?;
            let collections = history
                .iter()
                .rev()
                .take(20)
                .map(|c| CollectionItem {
                    collected_at: c.collected_at,
                    clock_drift_ms: c.clock_drift_ms,
                    interval_length_s: c.interval_length_s,
                    source: c.source.clone(),
                })
                .collect();
            Ok(MeterDetail { summary, registry, collections })
        })
        .await?;
    Ok(Json(detail))
}

/// Registers a meter (or replaces its registration) with its management credentials.
/// Role: admin.
#[utoipa::path(post, path = "/api/v1/meters", tag = "meters", request_body = ProvisionRequest,
    description = "Role: admin. Secrets in the request (LLS password, suite 0 keys) are kept for the HES and never returned or logged.",
    responses((status = 201, body = RegisteredMeter), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn provision_meter(
    State(state): State<AppState>,
    audit: AuditTarget,
    ApiJson(request): ApiJson<ProvisionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    audit.set(format!("meter {}", request.serial.trim()));
    let meter = state.blocking(move |s| s.registry.provision(&request)).await?;
    Ok((StatusCode::CREATED, Json(meter)))
}

/// The fleet at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FleetOverview {
    /// When computed, UTC.
    pub generated_at: Timestamp,
    /// Meters known (registry and MDMS).
    pub meters: u64,
    /// Meters read within the staleness window.
    pub comm_ok: u64,
    /// Meters read before but not within the window.
    pub comm_stale: u64,
    /// Meters never read.
    pub comm_never_read: u64,
    /// Meters whose relay is open (last reported state).
    pub relays_open: u64,
    /// Share of meters read successfully in the last 24 h, 0..=1 (the daily read success
    /// rate of AMI service levels); `null` without meters.
    pub read_success_rate_24h: Option<f64>,
    /// The most recent successful read of any meter, UTC.
    pub last_read_at: Option<Timestamp>,
    /// DLMS sessions this process ran that succeeded / failed (since start).
    pub sessions_ok: u64,
    /// See `sessions_ok`.
    pub sessions_failed: u64,
    /// Open VEE exceptions (queue entries).
    pub open_vee_exceptions: u64,
    /// Alarm events in the last 24 h.
    pub alarms_24h: u64,
    /// The latest 10 alarm and warning events of the last 24 h, newest first.
    pub recent_alarms: Vec<EventItem>,
}

/// The fleet overview of the dashboard. Role: reader.
#[utoipa::path(get, path = "/api/v1/fleet", tag = "meters", description = "Role: reader.",
    responses((status = 200, body = FleetOverview), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn fleet_overview(State(state): State<AppState>) -> Result<Json<FleetOverview>, ApiError> {
    let s = state.clone();
    let now = Timestamp::now();
    let day_ago = now.checked_sub(SignedDuration::from_hours(24)).unwrap_or(now);
    let (summaries, open_vee) = state
        .store(move |store| {
            let serials = all_serials(&s, store)?;
            let summaries =
                serials.iter().map(|serial| summarize(&s, store, serial, now)).collect::<Result<Vec<_>, _>>()?;
            let open = store.vee_exceptions(&ExceptionFilter::default())?.len() as u64;
            Ok((summaries, open))
        })
        .await?;
    let events = state
        .blocking(move |s| {
            s.events.events(&EventFilter {
                meter: None,
                event_types: Vec::new(),
                from: day_ago,
                to: now,
                after: None,
                limit: 100_000,
            })
        })
        .await?;
    let count = |f: &dyn Fn(&MeterSummary) -> bool| summaries.iter().filter(|m| f(m)).count() as u64;
    let read_24h = count(&|m| m.last_read_at.is_some_and(|t| t >= day_ago));
    let mut recent: Vec<EventItem> = events.iter().filter(|e| e.severity >= Severity::Warning).cloned().collect();
    recent.reverse();
    recent.truncate(10);
    let (sessions_ok, sessions_failed) = state.metrics.sessions();
    Ok(Json(FleetOverview {
        generated_at: now,
        meters: summaries.len() as u64,
        comm_ok: count(&|m| m.comm_status == CommStatus::Ok),
        comm_stale: count(&|m| m.comm_status == CommStatus::Stale),
        comm_never_read: count(&|m| m.comm_status == CommStatus::NeverRead),
        relays_open: count(&|m| m.relay_state.is_some_and(|r| r != RelayState::Connected)),
        read_success_rate_24h: (!summaries.is_empty()).then(|| read_24h as f64 / summaries.len() as f64),
        last_read_at: summaries.iter().filter_map(|m| m.last_read_at).max(),
        sessions_ok,
        sessions_failed,
        open_vee_exceptions: open_vee,
        alarms_24h: events.iter().filter(|e| e.severity == Severity::Alarm).count() as u64,
        recent_alarms: recent,
    }))
}
