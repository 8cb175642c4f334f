//! Prepayment vending (IEC 62055-41 STS credit tokens) through the `vending` crate: vend
//! (operator) and list a meter's vends (reader). Needs a vending database and key
//! ([`crate::ApiBuilder::vending`]); without them the routes answer 503.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vending::{CurrencyCode, VendError, VendOutcome, VendRecord, VendRequest, VendingService, format_decimal};

use super::extract::{ApiJson, ApiPath};
use crate::audit::layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A vend request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVend {
    /// Idempotency key of the sale (e.g. the point of sale's transaction number): a repeat
    /// returns the original token, a reuse for another sale is refused (409).
    pub request_id: String,
    /// The meter's serial number.
    pub meter: String,
    /// Amount paid, decimal text in the currency (e.g. `20.00`).
    pub amount: String,
    /// ISO 4217 code of the payment; must be the meter's tariff currency.
    pub currency: String,
}

/// A recorded vend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VendItem {
    /// Row id.
    pub id: i64,
    /// The request id.
    pub request_id: String,
    /// The meter.
    pub meter: String,
    /// Who vended (API token name).
    pub operator: String,
    /// When, UTC.
    pub vended_at: Timestamp,
    /// Amount paid, minor units.
    pub amount_minor: u64,
    /// Currency.
    pub currency: String,
    /// Tariff index the price was taken from.
    pub tariff_index: u8,
    /// Energy bought, kWh (0.1 kWh resolution, rounded down).
    pub energy_kwh: String,
    /// Energy on the token, kWh (the STS TransferAmount).
    pub token_kwh: String,
    /// The 20-digit STS token.
    pub token: String,
    /// The token identifier (minutes since the key's base date).
    pub tid: u32,
    /// True when this request id was seen before: the original vend, no new token.
    pub duplicate: bool,
}

fn item(r: &VendRecord, duplicate: bool) -> VendItem {
    VendItem {
        id: r.id,
        request_id: r.request_id.clone(),
        meter: r.serial.clone(),
        operator: r.operator.clone(),
        vended_at: r.vended_at,
        amount_minor: r.amount_minor,
        currency: r.currency.to_string(),
        tariff_index: r.tariff_index.value(),
        energy_kwh: format_decimal(r.energy_tenths_kwh, 1),
        token_kwh: format_decimal(r.transfer_tenths_kwh, 1),
        token: r.token.to_string(),
        tid: r.tid.minutes(),
        duplicate,
    }
}

fn service(state: &AppState) -> Result<Arc<Mutex<VendingService>>, ApiError> {
    state.vending.clone().ok_or_else(|| ApiError::unavailable("vending is not configured (no vending database)"))
}

fn vend_error(e: VendError) -> ApiError {
    match e {
        VendError::RequestIdConflict { .. } => ApiError::conflict(e.to_string()),
        VendError::UnknownMeter(m) => ApiError::not_found(format!("meter {m} has no prepayment account")),
        VendError::Store(s) => ApiError::internal("recording a vend", s),
        other => ApiError::unprocessable(other.to_string()),
    }
}

/// Vends an STS credit token for a payment: converted to energy at the meter's tariff,
/// recorded durably (who, when, amount, token, TID) before the token is returned.
/// Role: operator.
#[utoipa::path(post, path = "/api/v1/vends", tag = "vending", request_body = NewVend,
    description = "Role: operator. 201 for a new token, 200 for a repeated request id (the original vend).",
    responses((status = 201, body = VendItem), (status = 200, body = VendItem), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn vend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiJson(req): ApiJson<NewVend>,
) -> Result<impl IntoResponse, ApiError> {
    audit.set(format!("meter {} vend {}", req.meter, req.request_id));
    let service = service(&state)?;
    let outcome = state
        .blocking(move |_| {
            let mut service = service.lock().unwrap_or_else(|p| p.into_inner());
            let currency: CurrencyCode = req.currency.parse().map_err(|e| ApiError::unprocessable(format!("{e}")))?;
            let account = service
                .store()
                .account(&req.meter)
                .map_err(|e| ApiError::internal("reading a prepayment account", e))?
                .ok_or_else(|| ApiError::not_found(format!("meter {} has no prepayment account", req.meter)))?;
            let tariff = service
                .store()
                .tariff(account.tariff_index)
                .map_err(|e| ApiError::internal("reading a tariff", e))?
                .ok_or_else(|| {
                    ApiError::unprocessable(format!("no price for tariff index {:02}", account.tariff_index.value()))
                })?;
            let amount_minor =
                tariff.parse_amount(&req.amount).map_err(|e| ApiError::unprocessable(format!("amount: {e}")))?;
            let request = VendRequest {
                request_id: req.request_id,
                serial: req.meter,
                amount_minor,
                currency,
                operator: caller.name,
                requested_at: Timestamp::now(),
            };
            service.vend(&request).map_err(vend_error)
        })
        .await?;
    let (status, body) = match &outcome {
        VendOutcome::Issued(r) => (StatusCode::CREATED, item(r, false)),
        VendOutcome::Duplicate(r) => (StatusCode::OK, item(r, true)),
    };
    Ok((status, Json(body)))
}

/// Every vend of one meter, oldest first. Role: reader.
#[utoipa::path(get, path = "/api/v1/meters/{meter}/vends", tag = "vending", params(("meter" = String, Path)),
    description = "Role: reader.",
    responses((status = 200, body = Vec<VendItem>), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_vends(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
) -> Result<Json<Vec<VendItem>>, ApiError> {
    let service = service(&state)?;
    let vends = state
        .blocking(move |_| {
            let service = service.lock().unwrap_or_else(|p| p.into_inner());
            service.store().vends(&meter).map_err(|e| ApiError::internal("listing vends", e))
        })
        .await?;
    Ok(Json(vends.iter().map(|r| item(r, false)).collect()))
}
