//! Health, identity, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::state::AppState;

/// Liveness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// gridedge version.
    pub version: String,
}

/// Liveness check (no token needed).
#[utoipa::path(get, path = "/api/v1/health", tag = "system", description = "Public.",
    responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// The caller's token: id, name and role (the dashboard shows operator buttons from it).
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "system", description = "Role: reader.",
    responses((status = 200, body = Caller), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<Caller> {
    Json(caller)
}

/// Prometheus metrics, text exposition format 0.0.4 (no token needed; bind the server to
/// a management network or put it behind a proxy when that matters).
#[utoipa::path(get, path = "/metrics", tag = "system", description = "Public.",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// This document (OpenAPI 3, generated from the code). Public.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", description = "Public.",
    responses((status = 200, content_type = "application/json", body = serde_json::Value)))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], doc.0.as_ref().clone())
}

/// The rendered OpenAPI document, shared with the handler.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub std::sync::Arc<String>);
