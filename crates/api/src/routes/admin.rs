//! Administration (admin role): API tokens and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::layer::AuditTarget;
use crate::audit::{ChainedEntry, VerifyReport};
use crate::auth::{Caller, NewToken, Role, TokenError, TokenInfo};
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, Page, PageParams};
use crate::state::AppState;

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::BadName => ApiError::unprocessable(e.to_string()),
        other => ApiError::internal("managing API tokens", other),
    }
}

/// A token to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// Who or what will hold it (1..=100 characters), e.g. `alice` or `billing-export`.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// Creates an API token; the answer is the only time its secret is shown. Role: admin.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = NewTokenRequest,
    description = "Role: admin.",
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    audit.set(format!("new token ({}, {})", req.name, req.role));
    let created_by = format!("token:{}", caller.token_id);
    let token = state.blocking(move |s| s.tokens.create(&req.name, req.role, &created_by).map_err(token_error)).await?;
    audit.set(format!("token {} ({}, {})", token.info.id, token.info.name, token.info.role));
    Ok((StatusCode::CREATED, Json(token)))
}

/// Every API token (never their secrets). Role: admin.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", description = "Role: admin.",
    responses((status = 200, body = Vec<TokenInfo>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.blocking(|s| s.tokens.list().map_err(token_error)).await?))
}

/// Revokes a token: it stops working at once. Role: admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = i64, Path)),
    description = "Role: admin.",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    audit: AuditTarget,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    audit.set(format!("token {id}"));
    let revoked = state.blocking(move |s| s.tokens.revoke(id).map_err(token_error)).await?;
    if !revoked {
        return Err(ApiError::not_found(format!("no valid token {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Paging of the audit log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries after this sequence number (the cursor; default 0: from the first).
    pub after: Option<i64>,
}

/// The audit log of state-changing calls, oldest first, with its hash chain. Role: admin.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams, PageParams),
    description = "Role: admin. `cursor` is the last sequence number of the previous page.",
    responses((status = 200, body = Page<ChainedEntry>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<ChainedEntry>>, ApiError> {
    let limit = page.limit(MAX_LIMIT)?;
    let after = match &page.cursor {
        Some(c) => c.parse::<i64>().map_err(|_| ApiError::bad_request("malformed cursor"))?,
        None => q.after.unwrap_or(0),
    };
    let entries = state
        .blocking(move |s| s.audit.list(after, limit + 1).map_err(|e| ApiError::internal("reading the audit log", e)))
        .await?;
    Ok(Json(Page::from_overfetch(entries, limit, |e| e.entry.seq.to_string())))
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditVerification {
    /// True when every entry verified.
    pub intact: bool,
    /// The details.
    #[serde(flatten)]
    pub report: VerifyReport,
}

/// Verifies the audit log's hash chain and reports the first broken link. Role: admin.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "admin", description = "Role: admin.",
    responses((status = 200, body = AuditVerification), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_audit(State(state): State<AppState>) -> Result<Json<AuditVerification>, ApiError> {
    let report =
        state.blocking(|s| s.audit.verify().map_err(|e| ApiError::internal("verifying the audit log", e))).await?;
    Ok(Json(AuditVerification { intact: report.is_intact(), report }))
}
