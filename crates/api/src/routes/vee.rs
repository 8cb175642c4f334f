//! The VEE exceptions queue: list (reader) and accept (operator).

use axum::extract::State;
use axum::{Extension, Json};
use mdms::vee::{ExceptionFilter, RuleId, VeeException};
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery};
use super::readings::parse_reading_type;
use crate::audit::layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, PageParams, parse_timestamp};
use crate::state::AppState;

/// One queue entry: consecutive intervals of one channel failing one rule.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExceptionItem {
    /// The meter.
    pub meter: String,
    /// The channel.
    pub reading_type: String,
    /// The rule, e.g. `missing_interval`, `spike`.
    pub rule: String,
    /// The rule's source practice.
    pub rule_source: String,
    /// First interval end, UTC.
    pub first_interval_end: jiff::Timestamp,
    /// Last interval end, UTC.
    pub last_interval_end: jiff::Timestamp,
    /// Number of intervals.
    pub intervals: u32,
    /// What the rule measured on the first interval (rule's terms).
    pub measured: Option<f64>,
    /// The limit it broke.
    pub limit: Option<f64>,
    /// When the earliest was detected, UTC.
    pub detected_at: jiff::Timestamp,
}

impl From<VeeException> for ExceptionItem {
    fn from(e: VeeException) -> Self {
        ExceptionItem {
            meter: e.meter.0,
            reading_type: e.reading_type.as_str().to_string(),
            rule: e.rule.as_str().to_string(),
            rule_source: e.rule.source_practice().to_string(),
            first_interval_end: e.first_interval_end,
            last_interval_end: e.last_interval_end,
            intervals: e.intervals,
            measured: e.measured,
            limit: e.limit,
            detected_at: e.detected_at,
        }
    }
}

/// Filter of the exceptions queue.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ExceptionParams {
    /// Only this meter.
    pub meter: Option<String>,
    /// Only this channel.
    pub reading_type: Option<String>,
    /// Only this rule (e.g. `spike`).
    pub rule: Option<String>,
    /// Only intervals ending at or after (ISO 8601).
    pub from: Option<String>,
    /// Only intervals ending before.
    pub to: Option<String>,
}

impl ExceptionParams {
    fn filter(&self) -> Result<ExceptionFilter, ApiError> {
        Ok(ExceptionFilter {
            meter: self.meter.clone().map(MeterId),
            reading_type: self.reading_type.as_deref().map(parse_reading_type).transpose()?,
            rule: self
                .rule
                .as_deref()
                .map(|r| r.parse::<RuleId>().map_err(|e| ApiError::bad_request(e.to_string())))
                .transpose()?,
            from: self.from.as_deref().map(|t| parse_timestamp("from", t)).transpose()?,
            to: self.to.as_deref().map(|t| parse_timestamp("to", t)).transpose()?,
            limit: None,
        })
    }
}

/// Paging of the exceptions queue (offset based: the queue changes as it is worked).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffsetParams {
    /// Entries per page (default 100, max 1000).
    pub limit: Option<u32>,
    /// Entries to skip.
    pub offset: Option<u32>,
}

/// A page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExceptionPage {
    /// Entries, by meter, channel, rule and first interval end.
    pub items: Vec<ExceptionItem>,
    /// Entries in the whole (filtered) queue.
    pub total: u64,
    /// Offset of the next page, `null` on the last.
    pub next_offset: Option<u32>,
}

/// The open VEE exceptions. Role: reader.
#[utoipa::path(get, path = "/api/v1/vee/exceptions", tag = "vee", params(ExceptionParams, OffsetParams),
    description = "Role: reader.",
    responses((status = 200, body = ExceptionPage), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_exceptions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExceptionParams>,
    ApiQuery(page): ApiQuery<OffsetParams>,
) -> Result<Json<ExceptionPage>, ApiError> {
    let filter = q.filter()?;
    let limit = PageParams { limit: page.limit, cursor: None }.limit(MAX_LIMIT)? as usize;
    let offset = page.offset.unwrap_or(0) as usize;
    let all = state.store(move |store| Ok(store.vee_exceptions(&filter)?)).await?;
    let total = all.len();
    let items: Vec<ExceptionItem> = all.into_iter().skip(offset).take(limit).map(Into::into).collect();
    let next = offset + items.len();
    Ok(Json(ExceptionPage {
        items,
        total: total as u64,
        next_offset: (next < total).then(|| u32::try_from(next).unwrap_or(u32::MAX)),
    }))
}

/// Accepting exceptions.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// Which exceptions (at least one of meter, reading_type, rule).
    #[serde(flatten)]
    pub filter: ExceptionParams,
    /// Why they are accepted (required).
    pub reason: String,
}

/// How many findings were accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AcceptOutcome {
    /// Findings (intervals) accepted.
    pub accepted: u64,
}

/// Accepts the open exceptions matching the filter: the values stay, the findings leave
/// the queue (status `accepted`), with an MDMS audit entry per meter and channel.
/// Role: operator.
#[utoipa::path(post, path = "/api/v1/vee/exceptions/accept", tag = "vee", request_body = AcceptRequest,
    description = "Role: operator. The filter must name a meter, a reading type or a rule.",
    responses((status = 200, body = AcceptOutcome), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept_exceptions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> Result<Json<AcceptOutcome>, ApiError> {
    let f = &req.filter;
    audit.set(format!(
        "vee exceptions meter={} reading_type={} rule={}",
        f.meter.as_deref().unwrap_or("*"),
        f.reading_type.as_deref().unwrap_or("*"),
        f.rule.as_deref().unwrap_or("*")
    ));
    if f.meter.is_none() && f.reading_type.is_none() && f.rule.is_none() {
        return Err(ApiError::unprocessable("name a meter, a reading type or a rule to accept exceptions"));
    }
    let filter = f.filter()?;
    let reason = req.reason;
    let accepted = state.store(move |store| Ok(store.accept_exceptions(&filter, &caller.name, &reason)?)).await?;
    Ok(Json(AcceptOutcome { accepted }))
}
