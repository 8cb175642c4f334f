//! Commands: create (operator) and follow (reader).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::MeterId;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::query::{MAX_LIMIT, Page, PageParams};
use crate::services::commands::{CommandRecord, NewCommand};
use crate::state::AppState;

/// Sends a command to a meter: remote `disconnect` or `reconnect` (Disconnect control,
/// class 70, methods 1 and 2, confirmed by reading attributes 3 and 2 back) or a
/// `relay_status` read. Answers 202 with the record in state `queued`; follow it with
/// `GET /api/v1/commands/{id}`. Role: operator.
#[utoipa::path(post, path = "/api/v1/commands", tag = "commands", request_body = NewCommand,
    description = "Role: operator.",
    responses((status = 202, body = CommandRecord), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_command(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiJson(cmd): ApiJson<NewCommand>,
) -> Result<(StatusCode, Json<CommandRecord>), ApiError> {
    audit.set(format!("meter {} {}", cmd.meter, cmd.kind.as_str()));
    let record = state.blocking(move |s| s.commands.submit(&MeterId(cmd.meter), cmd.kind, &caller.name)).await?;
    Ok((StatusCode::ACCEPTED, Json(record)))
}

/// Waiting for a command.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// Wait up to this many seconds (0..=30) for the command to be confirmed or failed
    /// before answering (long polling).
    pub wait_s: Option<u32>,
}

/// Longest `wait_s`.
pub const MAX_WAIT_S: u32 = 30;

/// One command and where it stands. Role: reader.
#[utoipa::path(get, path = "/api/v1/commands/{id}", tag = "commands",
    params(("id" = i64, Path), WaitParams),
    description = "Role: reader.",
    responses((status = 200, body = CommandRecord), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_command(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<WaitParams>,
) -> Result<Json<CommandRecord>, ApiError> {
    let wait = q.wait_s.unwrap_or(0);
    if wait > MAX_WAIT_S {
        return Err(ApiError::bad_request(format!("wait_s must be at most {MAX_WAIT_S}")));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    loop {
        let record = state
            .blocking(move |s| s.commands.get(id))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no command {id}")))?;
        if record.state.is_final() || tokio::time::Instant::now() >= deadline {
            return Ok(Json(record));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Which commands.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommandListParams {
    /// Only this meter.
    pub meter: Option<String>,
}

/// Commands, newest first. Role: reader.
#[utoipa::path(get, path = "/api/v1/commands", tag = "commands", params(CommandListParams, PageParams),
    description = "Role: reader.",
    responses((status = 200, body = Page<CommandRecord>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_commands(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CommandListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<CommandRecord>>, ApiError> {
    let limit = page.limit(MAX_LIMIT)?;
    let before = page
        .cursor
        .as_deref()
        .map(|c| c.parse::<i64>().map_err(|_| ApiError::bad_request("malformed cursor")))
        .transpose()?;
    let meter = q.meter.map(MeterId);
    let items = state.blocking(move |s| s.commands.list(meter.as_ref(), before, limit + 1)).await?;
    Ok(Json(Page::from_overfetch(items, limit, |c| c.id.to_string())))
}
