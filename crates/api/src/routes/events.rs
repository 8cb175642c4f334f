//! End device events (list: reader; record: operator), outages and IEEE 1366 reliability
//! indices (reader).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery};
use crate::audit::layer::AuditTarget;
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, Page, PageParams, RangeParams, TimeRange, parse_timestamp};
use crate::services::events::{EventFilter, EventItem};
use crate::services::outages::OutageItem;
use crate::services::reliability::ReliabilityIndices;
use crate::state::AppState;

/// Filter of the events list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only this meter.
    pub meter: Option<String>,
    /// Only these EndDeviceEventType codes, comma-separated (e.g. `3.26.0.47,3.26.0.216`).
    pub types: Option<String>,
    /// Occurred at or after (ISO 8601 with offset; default: `to` − 7 days).
    pub from: Option<String>,
    /// Occurred before (default: now).
    pub to: Option<String>,
}

fn encode_cursor(e: &EventItem) -> String {
    format!("{}.{}", e.occurred_at.as_millisecond(), e.id)
}

fn decode_cursor(c: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::bad_request("malformed cursor");
    let (ms, id) = c.split_once('.').ok_or_else(bad)?;
    Ok((ms.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

/// Events in `[from, to)`, ordered by occurrence. Role: reader.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams, PageParams),
    description = "Role: reader.",
    responses((status = 200, body = Page<EventItem>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<EventItem>>, ApiError> {
    let range =
        TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24 * 7))?;
    let limit = page.limit(MAX_LIMIT)?;
    let event_types = match &q.types {
        None => Vec::new(),
        Some(t) => t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<EndDeviceEventType>().map_err(|e| ApiError::bad_request(e.to_string())))
            .collect::<Result<_, _>>()?,
    };
    let filter = EventFilter {
        meter: q.meter.map(MeterId),
        event_types,
        from: range.from,
        to: range.to,
        after: page.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit as usize + 1,
    };
    let items = state.blocking(move |s| s.events.events(&filter)).await?;
    Ok(Json(Page::from_overfetch(items, limit, encode_cursor)))
}

/// An event reported by an external system (another head-end, an OMS, a field tool).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// The meter.
    pub meter: String,
    /// IEC 61968-9 EndDeviceEventType code, e.g. `3.26.0.47`.
    pub event_type: String,
    /// When it occurred, ISO 8601 with offset.
    pub occurred_at: String,
    /// Name/value details.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// How many were new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecordOutcome {
    /// Events stored.
    pub recorded: u64,
    /// Events already stored (same meter, type, time and source).
    pub duplicates: u64,
}

/// Records events from an integrator (source `api`); duplicates are skipped. Up to 10 000
/// per call. Role: operator.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = Vec<NewEvent>,
    description = "Role: operator.",
    responses((status = 201, body = RecordOutcome), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_events(
    State(state): State<AppState>,
    audit: AuditTarget,
    ApiJson(batch): ApiJson<Vec<NewEvent>>,
) -> Result<(StatusCode, Json<RecordOutcome>), ApiError> {
    audit.set(format!("{} events", batch.len()));
    if batch.len() > 10_000 {
        return Err(ApiError::bad_request("at most 10000 events per call"));
    }
    let now = Timestamp::now();
    let mut events = Vec::with_capacity(batch.len());
    for e in &batch {
        let event_type =
            e.event_type.parse::<EndDeviceEventType>().map_err(|x| ApiError::unprocessable(x.to_string()))?;
        let occurred_at = parse_timestamp("occurred_at", &e.occurred_at)?;
        let mut event = EndDeviceEvent::new(MeterId(e.meter.clone()), event_type, occurred_at, now, "api");
        event.details = e.details.clone();
        events.push(event);
    }
    let total = events.len() as u64;
    let recorded = state.blocking(move |s| s.events.record(&events)).await?;
    Ok((StatusCode::CREATED, Json(RecordOutcome { recorded, duplicates: total - recorded })))
}

/// Which outages.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutageParams {
    /// Started at or after (ISO 8601; default: `to` − 30 days).
    pub from: Option<String>,
    /// Started before (default: now).
    pub to: Option<String>,
    /// Also list outages still going on that started earlier (default true).
    pub ongoing: Option<bool>,
}

/// Outages by transformer, feeder or meter, newest first. Role: reader.
#[utoipa::path(get, path = "/api/v1/outages", tag = "outages", params(OutageParams),
    description = "Role: reader.",
    responses((status = 200, body = Vec<OutageItem>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_outages(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OutageParams>,
) -> Result<Json<Vec<OutageItem>>, ApiError> {
    let range =
        TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24 * 30))?;
    let ongoing = q.ongoing.unwrap_or(true);
    Ok(Json(state.blocking(move |s| s.outages.outages(range, ongoing)).await?))
}

/// SAIFI, SAIDI, CAIDI and MAIFI (IEEE 1366) for `[from, to)` (default: the last 30 days).
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/reliability", tag = "outages", params(RangeParams),
    description = "Role: reader.",
    responses((status = 200, body = ReliabilityIndices), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reliability(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RangeParams>,
) -> Result<Json<ReliabilityIndices>, ApiError> {
    let range = q.range(SignedDuration::from_hours(24 * 30))?;
    Ok(Json(state.blocking(move |s| s.outages.reliability(range)).await?))
}
