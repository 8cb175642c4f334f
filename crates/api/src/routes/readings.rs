//! Interval readings (load profile) and register reads of one meter, with quality and
//! version; the load-profile series of the dashboard chart; interval history, edits and
//! estimates (operator); the edit audit trail.

use axum::extract::State;
use axum::{Extension, Json};
use jiff::{SignedDuration, Timestamp};
use mdms::editing::AuditFilter;
use mdms::estimation::EstimationMethod;
use mdms::export::deltas::deltas_from_bulk;
use mdms::vee::RuleId;
use mdms::{StoredInterval, StoredRegisterRead};
use model::{MeterId, QualityFlags, ReadingType};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, MAX_READINGS_LIMIT, Page, TimeRange, parse_timestamp};
use crate::state::AppState;

/// Parses a reading type name (`active_energy_import`, ...).
///
/// Errors: 400 listing the known names.
pub fn parse_reading_type(text: &str) -> Result<ReadingType, ApiError> {
    text.parse().map_err(|_| {
        let names: Vec<&str> = ReadingType::ALL.iter().map(|t| t.as_str()).collect();
        ApiError::bad_request(format!("unknown reading type {text:?}; one of {}", names.join(", ")))
    })
}

/// A quality word explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Quality {
    /// The 32 quality bits (meter status in bits 0–7, meter conditions 8–15, MDMS VEE
    /// 16–31).
    pub bits: u32,
    /// Names of the set flags, e.g. `estimated`, `suspect`, `power_down`.
    pub names: Vec<String>,
    /// The failed validation rule of a suspect value, e.g. `spike`.
    pub suspect_rule: Option<String>,
    /// The estimation method of an estimated value, e.g. `linear_interpolation`.
    pub estimation_method: Option<String>,
}

impl From<QualityFlags> for Quality {
    fn from(q: QualityFlags) -> Self {
        Quality {
            bits: q.0,
            names: q.names().into_iter().map(str::to_string).collect(),
            suspect_rule: q.suspect_rule().and_then(RuleId::from_code).map(|r| r.as_str().to_string()),
            estimation_method: q
                .estimation_method()
                .and_then(EstimationMethod::from_code)
                .map(|m| m.as_str().to_string()),
        }
    }
}

/// One stored version of one interval value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IntervalItem {
    /// End of the interval, UTC.
    pub interval_end: Timestamp,
    /// Value in `unit`; Wh and varh channels carry the bulk quantity (cumulative register).
    pub value: f64,
    /// `Wh`, `varh`, `W`, `V` or `A`.
    pub unit: String,
    /// Quality.
    pub quality: Quality,
    /// Version (1 = first value stored).
    pub version: u32,
    /// Who delivered it: `hes`, `edit`, `estimation`, an import ...
    pub source: String,
    /// Collection session that delivered it, UTC.
    pub collected_at: Timestamp,
    /// When the MDMS stored it, UTC.
    pub ingested_at: Timestamp,
}

fn interval_item(rt: ReadingType, s: StoredInterval) -> IntervalItem {
    IntervalItem {
        interval_end: s.interval_end,
        value: s.value,
        unit: rt.unit().symbol().to_string(),
        quality: s.quality.into(),
        version: s.version,
        source: s.source,
        collected_at: s.collected_at,
        ingested_at: s.ingested_at,
    }
}

/// Query of the readings route.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadingsParams {
    /// Reading type (default `active_energy_import`).
    pub reading_type: Option<String>,
    /// First interval end included, ISO 8601 with offset (default: `to` − 24 h).
    pub from: Option<String>,
    /// First interval end excluded (default: now).
    pub to: Option<String>,
    /// `latest` (default): the highest version of each interval; `all`: every version.
    pub versions: Option<String>,
    /// With `true` (default) open validation findings are folded into the quality
    /// (`suspect` with the rule); `false` gives the quality as stored.
    pub validated: Option<bool>,
    /// Intervals per page (1..=10000, default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Interval values of one channel of one meter in `[from, to)`, with quality and version.
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/readings", tag = "readings",
    params(("meter" = String, Path, description = "Serial number"), ReadingsParams),
    description = "Role: reader. Paged by interval end; with versions=all each interval's versions follow one another, oldest first.",
    responses((status = 200, body = Page<IntervalItem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_readings(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReadingsParams>,
) -> Result<Json<Page<IntervalItem>>, ApiError> {
    let rt = parse_reading_type(q.reading_type.as_deref().unwrap_or("active_energy_import"))?;
    let mut range =
        TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24))?;
    if let Some(cursor) = &q.cursor {
        let after = parse_timestamp("cursor", cursor)?;
        range.from = range.from.max(after.checked_add(SignedDuration::from_secs(1)).unwrap_or(after));
    }
    let all_versions = match q.versions.as_deref() {
        None | Some("latest") => false,
        Some("all") => true,
        Some(other) => return Err(ApiError::bad_request(format!("versions must be latest or all, not {other:?}"))),
    };
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=MAX_READINGS_LIMIT).contains(&n) => n,
        Some(_) => return Err(ApiError::bad_request(format!("limit must be 1..={MAX_READINGS_LIMIT}"))),
    };
    let validated = q.validated.unwrap_or(true);
    let id = MeterId(meter);
    let (latest, items) = state
        .store(move |store| {
            let latest = if range.from >= range.to {
                Vec::new()
            } else if validated {
                store.validated_interval_readings(&id, rt, range.from, range.to)?
            } else {
                store.interval_readings(&id, rt, range.from, range.to)?
            };
            let page: Vec<StoredInterval> = latest.into_iter().take(limit as usize + 1).collect();
            let mut items = Vec::new();
            for s in page.iter().take(limit as usize) {
                if all_versions && s.version > 1 {
                    items.extend(
                        store.interval_history(&id, rt, s.interval_end)?.into_iter().map(|v| interval_item(rt, v)),
                    );
                } else {
                    items.push(interval_item(rt, s.clone()));
                }
            }
            Ok((page, items))
        })
        .await?;
    let next_cursor = (latest.len() > limit as usize)
        .then(|| latest.get(limit as usize - 1).map(|s| s.interval_end.to_string()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

/// One interval of the load-profile chart: the consumption between two stored bulk values.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LoadPoint {
    /// Interval start, UTC.
    pub start: Timestamp,
    /// Interval end, UTC.
    pub end: Timestamp,
    /// Energy in the interval, Wh (varh for reactive channels).
    pub value: f64,
    /// Average demand over the interval, kW (kvar): `value` / interval hours / 1000.
    pub average_kw: f64,
    /// The end value (or the start value) was estimated by the MDMS.
    pub estimated: bool,
    /// The end value was edited by a user.
    pub edited: bool,
    /// An open validation finding or a meter flag questions the value.
    pub suspect: bool,
    /// Quality of the interval (end value, plus start-value flags that question it).
    pub quality: Quality,
}

/// The load-profile series of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LoadProfile {
    /// The meter.
    pub meter: String,
    /// The channel.
    pub reading_type: String,
    /// Interval length, s (from the meter's last collection; 900 when unknown).
    pub interval_length_s: u32,
    /// `Wh` or `varh` per interval.
    pub unit: String,
    /// Range asked, UTC.
    pub from: Timestamp,
    /// Range asked (exclusive), UTC.
    pub to: Timestamp,
    /// Intervals whose two bounding values are stored, ordered by end. An interval whose
    /// start or end value is missing is left out, never shown as zero.
    pub points: Vec<LoadPoint>,
    /// How many points are estimated.
    pub estimated_points: u32,
}

/// Query of the load-profile route.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoadProfileParams {
    /// Cumulative channel (default `active_energy_import`).
    pub reading_type: Option<String>,
    /// First interval end included (default: `to` − 7 days).
    pub from: Option<String>,
    /// First interval end excluded (default: now).
    pub to: Option<String>,
}

/// Interval consumption of one energy channel (the difference of consecutive stored bulk
/// values, latest versions with validation folded in) for charts. Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/load-profile", tag = "readings",
    params(("meter" = String, Path, description = "Serial number"), LoadProfileParams),
    description = "Role: reader. At most 100 days.",
    responses((status = 200, body = LoadProfile), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn load_profile(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
    ApiQuery(q): ApiQuery<LoadProfileParams>,
) -> Result<Json<LoadProfile>, ApiError> {
    let rt = parse_reading_type(q.reading_type.as_deref().unwrap_or("active_energy_import"))?;
    if !rt.is_cumulative() {
        return Err(ApiError::unprocessable(format!("{rt} is not a cumulative energy channel")));
    }
    let range =
        TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24 * 7))?;
    if range.to.duration_since(range.from) > SignedDuration::from_hours(24 * 100) {
        return Err(ApiError::bad_request("a load profile covers at most 100 days"));
    }
    let id = MeterId(meter.clone());
    let (interval_length_s, values) = state
        .store(move |store| {
            let length = store.clock_drift_history(&id)?.last().map_or(900, |c| c.interval_length_s);
            // One interval before `from` gives the first interval's start value.
            let before = range.from.checked_sub(SignedDuration::from_secs(i64::from(length))).unwrap_or(range.from);
            Ok((length, store.validated_interval_readings(&id, rt, before, range.to)?))
        })
        .await?;
    let hours = f64::from(interval_length_s) / 3600.0;
    let points: Vec<LoadPoint> = deltas_from_bulk(&values, interval_length_s)
        .into_iter()
        .filter(|d| d.end >= range.from)
        .map(|d| LoadPoint {
            start: d.start,
            end: d.end,
            value: d.value,
            average_kw: if hours > 0.0 { d.value / hours / 1000.0 } else { 0.0 },
            estimated: d.quality.contains(QualityFlags::ESTIMATED),
            edited: d.quality.contains(QualityFlags::EDITED),
            suspect: d.quality.contains(QualityFlags::SUSPECT) || (!d.quality.is_valid() && d.quality.is_actual()),
            quality: d.quality.into(),
        })
        .collect();
    let estimated_points = points.iter().filter(|p| p.estimated).count() as u32;
    Ok(Json(LoadProfile {
        meter,
        reading_type: rt.as_str().to_string(),
        interval_length_s,
        unit: rt.unit().symbol().to_string(),
        from: range.from,
        to: range.to,
        points,
        estimated_points,
    }))
}

/// Path of one interval.
#[derive(Debug, Clone, Deserialize)]
pub struct IntervalPath {
    meter: String,
    reading_type: String,
    interval_end: String,
}

/// Every version of one interval with the audit entry that wrote it and its findings.
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/readings/{reading_type}/{interval_end}/history", tag = "readings",
    params(("meter" = String, Path), ("reading_type" = String, Path), ("interval_end" = String, Path, description = "ISO 8601 with offset")),
    description = "Role: reader. Oldest version first; each with `interval`, `audit` (estimates and edits) and `findings` (mdms IntervalVersion).",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn interval_history(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<IntervalPath>,
) -> Result<Json<Vec<mdms::IntervalVersion>>, ApiError> {
    let rt = parse_reading_type(&p.reading_type)?;
    let at = parse_timestamp("interval_end", &p.interval_end)?;
    let id = MeterId(p.meter);
    let history = state.store(move |store| Ok(store.interval_history_detail(&id, rt, at)?)).await?;
    Ok(Json(history))
}

/// An edit of one interval value.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The new value, in the channel's unit (a bulk quantity for Wh/varh channels).
    pub value: f64,
    /// Why (required; recorded in the MDMS audit trail with the token's name as user).
    pub reason: String,
}

/// Sets one interval value: a new version (quality `edited`), with the token's name as user
/// and the reason in the MDMS audit trail; the raw value stays. Role: operator.
#[utoipa::path(put, path = "/api/v1/meters/{meter}/readings/{reading_type}/{interval_end}", tag = "readings",
    params(("meter" = String, Path), ("reading_type" = String, Path), ("interval_end" = String, Path, description = "ISO 8601 with offset")),
    request_body = EditRequest,
    description = "Role: operator. Returns the mdms EditOutcome (new version, audit id, re-validation).",
    responses((status = 200, body = serde_json::Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn edit_interval(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiPath(p): ApiPath<IntervalPath>,
    ApiJson(edit): ApiJson<EditRequest>,
) -> Result<Json<mdms::EditOutcome>, ApiError> {
    audit.set(format!("meter {} {} {}", p.meter, p.reading_type, p.interval_end));
    let rt = parse_reading_type(&p.reading_type)?;
    let at = parse_timestamp("interval_end", &p.interval_end)?;
    let id = MeterId(p.meter);
    let outcome =
        state.store(move |store| Ok(store.edit_interval(&id, rt, at, edit.value, &caller.name, &edit.reason)?)).await?;
    Ok(Json(outcome))
}

/// A manual estimation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateRequest {
    /// First interval end estimated, ISO 8601 with offset.
    pub from: String,
    /// First interval end not estimated.
    pub to: String,
    /// Why (required).
    pub reason: String,
}

/// Estimates every interval end of one energy channel in `[from, to)` (missing or present)
/// with the meter class's methods; new versions carry `estimated` and the method.
/// Role: operator.
#[utoipa::path(post, path = "/api/v1/meters/{meter}/readings/{reading_type}/estimate", tag = "readings",
    params(("meter" = String, Path), ("reading_type" = String, Path)),
    request_body = EstimateRequest,
    description = "Role: operator. Returns the mdms EstimationReport.",
    responses((status = 200, body = serde_json::Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn estimate_range(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiPath((meter, reading_type)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<EstimateRequest>,
) -> Result<Json<mdms::EstimationReport>, ApiError> {
    audit.set(format!("meter {meter} {reading_type} [{}, {})", req.from, req.to));
    let rt = parse_reading_type(&reading_type)?;
    let from = parse_timestamp("from", &req.from)?;
    let to = parse_timestamp("to", &req.to)?;
    let id = MeterId(meter);
    let report =
        state.store(move |store| Ok(store.estimate_range(&id, rt, from, to, &caller.name, &req.reason)?)).await?;
    Ok(Json(report))
}

/// Register reads of one register.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegisterChannel {
    /// Reading type name.
    pub reading_type: String,
    /// OBIS code, e.g. `1-0:1.8.0.255`.
    pub obis: String,
    /// Unit.
    pub unit: String,
    /// Reads in the range, oldest first (latest versions).
    pub reads: Vec<RegisterItem>,
}

/// One register read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegisterItem {
    /// The meter's time of the read, UTC.
    pub read_at: Timestamp,
    /// Value in the unit.
    pub value: f64,
    /// Version.
    pub version: u32,
    /// Who delivered it.
    pub source: String,
}

fn register_item(r: StoredRegisterRead) -> RegisterItem {
    RegisterItem { read_at: r.read_at, value: r.value, version: r.version, source: r.source }
}

/// Register reads of every register of one meter in `[from, to)` (default the last 31
/// days), per register, at most `limit` (default 100, max 1000) reads each, the newest.
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/registers", tag = "readings",
    params(("meter" = String, Path), crate::query::RangeParams, ("limit" = Option<u32>, Query, description = "Reads per register (default 100)")),
    description = "Role: reader.",
    responses((status = 200, body = Vec<RegisterChannel>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_registers(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
    ApiQuery(q): ApiQuery<RegisterParams>,
) -> Result<Json<Vec<RegisterChannel>>, ApiError> {
    let range =
        TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24 * 31))?;
    let limit = crate::query::PageParams { limit: q.limit, cursor: None }.limit(MAX_LIMIT)? as usize;
    let id = MeterId(meter);
    let channels = state
        .store(move |store| {
            let mut out = Vec::new();
            for rt in ReadingType::ALL {
                let reads = store.register_reads(&id, rt, range.from, range.to)?;
                if reads.is_empty() {
                    continue;
                }
                let skip = reads.len().saturating_sub(limit);
                out.push(RegisterChannel {
                    reading_type: rt.as_str().to_string(),
                    obis: mdms::export::obis_string(rt),
                    unit: rt.unit().symbol().to_string(),
                    reads: reads.into_iter().skip(skip).map(register_item).collect(),
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(channels))
}

/// Query of the registers route.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// Query of the edit audit trail.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EditsParams {
    /// Only this meter.
    pub meter: Option<String>,
    /// Only entries written at or after this time (ISO 8601).
    pub since: Option<String>,
    /// Only this action: `edit`, `estimate` or `accept`.
    pub action: Option<String>,
    /// The newest this many entries (default 100, max 1000).
    pub limit: Option<u32>,
}

/// The MDMS audit trail of edits, estimates and accepted exceptions (who, when, why,
/// what), oldest first. Role: reader.
#[utoipa::path(get, path = "/api/v1/edits", tag = "readings", params(EditsParams),
    description = "Role: reader. mdms AuditEntry records.",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_edits(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EditsParams>,
) -> Result<Json<Vec<mdms::editing::AuditEntry>>, ApiError> {
    let limit = crate::query::PageParams { limit: q.limit, cursor: None }.limit(MAX_LIMIT)?;
    let filter = AuditFilter {
        meter: q.meter.map(MeterId),
        since: q.since.as_deref().map(|s| parse_timestamp("since", s)).transpose()?,
        action: match q.action.as_deref() {
            None => None,
            Some(a) => Some(
                mdms::editing::AuditAction::parse(a)
                    .ok_or_else(|| ApiError::bad_request("action must be edit, estimate or accept"))?,
            ),
        },
        limit: Some(limit),
        ..AuditFilter::default()
    };
    Ok(Json(state.store(move |store| Ok(store.audit_log(&filter)?)).await?))
}
