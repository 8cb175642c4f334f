//! Commands: create (operator) and follow (reader). Every command kind of the HES
//! (see [`crate::services::commands`]).

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
use crate::query::{MAX_LIMIT, Page, PageParams, parse_timestamp};
use crate::services::commands::{CommandDetail, CommandFilter, CommandKind, CommandRecord, CommandState, NewCommand};
use crate::state::AppState;

/// Sends a command to a meter: `disconnect` / `reconnect` (Disconnect control, class 70,
/// confirmed by reading control_state back), `time_sync` (Clock, class 8), `tou_change`
/// (passive Activity calendar, class 20), `load_limit` (Limiter, class 71), each with its
/// `parameters`. Answers 202 with the record in state `queued`; follow it with
/// `GET /api/v1/commands/{id}`. `firmware` is refused (422): the request would have to
/// carry the image. Role: operator.
#[utoipa::path(post, path = "/api/v1/commands", tag = "commands", request_body = NewCommand,
    description = "Role: operator.",
    responses((status = 202, body = CommandRecord), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_command(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    audit: AuditTarget,
    ApiJson(cmd): ApiJson<NewCommand>,
) -> Result<(StatusCode, Json<CommandRecord>), ApiError> {
    audit.set(format!("meter {} {}", cmd.meter, cmd.kind.as_str()));
    let request = cmd.to_request()?;
    let meter = MeterId(cmd.meter);
    let record = state.blocking(move |s| s.commands.submit(&meter, &request, &caller.name)).await?;
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

/// One command, where it stands and its history (every state change and progress note,
/// oldest first). Role: reader.
#[utoipa::path(get, path = "/api/v1/commands/{id}", tag = "commands",
    params(("id" = i64, Path), WaitParams),
    description = "Role: reader.",
    responses((status = 200, body = CommandDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_command(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<WaitParams>,
) -> Result<Json<CommandDetail>, ApiError> {
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
            let history = state.blocking(move |s| s.commands.history(id)).await?;
            return Ok(Json(CommandDetail { command: record, history }));
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
    /// Only in this state: `queued`, `sent`, `confirmed` or `failed`.
    pub state: Option<String>,
    /// Only of this kind: `disconnect`, `reconnect`, `time_sync`, `tou_change`,
    /// `load_limit` or `firmware`.
    pub kind: Option<String>,
    /// Only created at or after this instant (ISO 8601 with an offset, UTC).
    pub from: Option<String>,
    /// Only created before this instant (ISO 8601 with an offset, UTC).
    pub to: Option<String>,
}

impl CommandListParams {
    /// The filter.
    ///
    /// Errors: 400 for an unknown state or kind, a malformed instant, `from` not before
    /// `to`.
    pub fn filter(&self) -> Result<CommandFilter, ApiError> {
        let state = self
            .state
            .as_deref()
            .map(|s| CommandState::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown state {s:?}"))))
            .transpose()?;
        let kind = self
            .kind
            .as_deref()
            .map(|k| CommandKind::parse(k).ok_or_else(|| ApiError::bad_request(format!("unknown kind {k:?}"))))
            .transpose()?;
        let from = self.from.as_deref().map(|t| parse_timestamp("from", t)).transpose()?;
        let to = self.to.as_deref().map(|t| parse_timestamp("to", t)).transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(ApiError::bad_request("from must be before to"));
        }
        Ok(CommandFilter { meter: self.meter.clone().map(MeterId), state, kind, from, to })
    }
}

/// Commands, newest first, filtered by meter, state, kind and creation time. Role: reader.
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
    let filter = q.filter()?;
    let items = state.blocking(move |s| s.commands.list(&filter, before, limit + 1)).await?;
    Ok(Json(Page::from_overfetch(items, limit, |c| c.id.to_string())))
}
