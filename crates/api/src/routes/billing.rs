//! Billing determinants: one meter in full, and the billing view of the fleet (per meter:
//! bill readiness, energy, maximum demand, estimated intervals).

use axum::Json;
use axum::extract::State;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use mdms::MeterDataStore;
use mdms::billing::{BillingDeterminants, BillingPeriod, compute_billing_determinants};
use model::MeterId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, Page, PageParams};
use crate::state::AppState;

/// The billing period of a request.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// First local day, `YYYY-MM-DD` in the TOU schedule's time zone (default: the 7-day
    /// period ending on `last_day`).
    pub first_day: Option<String>,
    /// Last local day, inclusive (default: yesterday in the schedule's time zone).
    pub last_day: Option<String>,
}

impl PeriodParams {
    /// The period, defaults applied in the schedule's zone.
    fn period(&self, state: &AppState) -> Result<BillingPeriod, ApiError> {
        let parse = |name: &str, text: &str| {
            text.trim()
                .parse::<Date>()
                .map_err(|e| ApiError::bad_request(format!("{name}: {text:?} is not a YYYY-MM-DD date: {e}")))
        };
        let today = Timestamp::now().to_zoned(state.tou.time_zone().clone()).date();
        let last_day = match &self.last_day {
            Some(t) => parse("last_day", t)?,
            None => today.yesterday().map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
        let first_day = match &self.first_day {
            Some(t) => parse("first_day", t)?,
            None => {
                last_day.checked_sub(jiff::Span::new().days(6)).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
        };
        let period = BillingPeriod::new(first_day, last_day).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if SignedDuration::from_hours(24 * period.day_count()) > state.settings.max_export_span {
            return Err(ApiError::bad_request("the billing period is too long"));
        }
        Ok(period)
    }
}

/// The billing determinants of one meter for a period under the configured TOU schedule
/// (mdms BillingDeterminants: kWh per TOU period and total, maximum block and rolling
/// demand with timestamps, kvarh, power factor, estimated intervals, bill readiness).
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/billing", tag = "billing",
    params(("meter" = String, Path), PeriodParams),
    description = "Role: reader.",
    responses((status = 200, body = serde_json::Value), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn meter_billing(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
    ApiQuery(q): ApiQuery<PeriodParams>,
) -> Result<Json<BillingDeterminants>, ApiError> {
    let period = q.period(&state)?;
    let tou = state.tou.clone();
    let id = MeterId(meter);
    let d = state.store(move |store| Ok(compute_billing_determinants(store, &id, &period, &tou)?)).await?;
    Ok(Json(d))
}

/// One meter's line in the billing view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BillingLine {
    /// The meter.
    pub meter: String,
    /// Every value of the period present and billable.
    pub bill_ready: bool,
    /// A+ energy over the period, kWh.
    pub total_kwh: Option<f64>,
    /// A+ energy per TOU period, kWh, in schedule order: (period, kWh).
    pub tou_kwh: Vec<(String, f64)>,
    /// Highest 15-minute block demand, kW.
    pub max_demand_kw: Option<f64>,
    /// When that block ended, UTC.
    pub max_demand_at: Option<Timestamp>,
    /// Average power factor of the import.
    pub power_factor: Option<f64>,
    /// Intervals with an estimated value.
    pub estimated_intervals: u32,
    /// Values that block billing (missing, not valid, negative).
    pub problems: u32,
}

/// The billing view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BillingView {
    /// TOU schedule name.
    pub schedule: String,
    /// Its time zone.
    pub time_zone: String,
    /// First local day.
    pub first_day: String,
    /// Last local day (inclusive).
    pub last_day: String,
    /// One line per meter, by serial.
    pub lines: Page<BillingLine>,
}

fn line(d: &BillingDeterminants) -> BillingLine {
    let a = &d.active_import;
    BillingLine {
        meter: d.meter.0.clone(),
        bill_ready: d.is_bill_ready(),
        total_kwh: a.total_kwh,
        tou_kwh: a.by_tou.iter().map(|t| (t.period.clone(), t.kwh)).collect(),
        max_demand_kw: a.max_block_demand.map(|p| p.kw),
        max_demand_at: a.max_block_demand.map(|p| p.end),
        power_factor: d.power_factor,
        estimated_intervals: d.estimated_intervals,
        problems: u32::try_from(d.readiness.problems.len()).unwrap_or(u32::MAX),
    }
}

/// Billing determinants of every meter for a period, one line each, paged by serial.
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/billing", tag = "billing", params(PeriodParams, PageParams),
    description = "Role: reader.",
    responses((status = 200, body = BillingView), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn billing_view(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PeriodParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<BillingView>, ApiError> {
    let period = q.period(&state)?;
    let limit = page.limit(MAX_LIMIT)?;
    let tou = state.tou.clone();
    let cursor = page.cursor.clone();
    let lines = state
        .store(move |store| {
            let meters: Vec<MeterId> = store
                .meters()?
                .into_iter()
                .filter(|m| cursor.as_deref().is_none_or(|c| m.0.as_str() > c))
                .take(limit as usize + 1)
                .collect();
            meters
                .iter()
                .map(|m| Ok(line(&compute_billing_determinants(store as &dyn MeterDataStore, m, &period, &tou)?)))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(Json(BillingView {
        schedule: state.tou.name().to_string(),
        time_zone: state.tou.time_zone_name().to_string(),
        first_day: period.first_day.to_string(),
        last_day: period.last_day.to_string(),
        lines: Page::from_overfetch(lines, limit, |l| l.meter.clone()),
    }))
}
