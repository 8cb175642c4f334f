//! The HTTP routes and how they are assembled.
//!
//! Every API route is registered with `utoipa_axum::routes!`, so the router and the
//! OpenAPI document come from the same list. Routes are grouped by the least role they
//! need; each group sits behind [`require_role`]. The audit layer wraps every API route
//! (after routing, outside the role check); the metrics layer wraps every route.
//!
//! | group | routes |
//! |---|---|
//! | public | `GET /api/v1/health`, `GET /api/openapi.json`, `GET /metrics`, the dashboard |
//! | reader | every `GET` under `/api/v1` except tokens and audit |
//! | operator | commands, interval edits and estimates, accepting VEE exceptions, vends, recording events |
//! | admin | meter provisioning, tokens, audit log |

pub mod admin;
pub mod billing;
pub mod commands;
pub mod dashboard;
pub mod events;
pub mod exports;
pub mod extract;
pub mod meters;
pub mod readings;
pub mod system;
pub mod vee;
pub mod vends;

use std::sync::Arc;

use axum::http::Method;
use axum::response::IntoResponse;
use axum::{Extension, Router, middleware};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::layer::{AuditState, record_calls};
use crate::auth::{Role, RoleGate, require_role};
use crate::error::{ApiError, ErrorCode};
use crate::metrics::http::observe_requests;
use crate::state::AppState;

/// The root of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridedge API",
        description = "Operator and integration API of the gridedge AMI platform (HES, MDMS, prepayment). \
            Authenticate with `Authorization: Bearer <token>`; each operation's description names the least \
            role it needs (reader < operator < admin). Times are UTC, ISO 8601 with an offset; ranges are \
            half-open [from, to). Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerScheme),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode))
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

fn gated(state: &AppState, role: Role, router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.route_layer(middleware::from_fn_with_state(RoleGate { tokens: state.tokens.clone(), role }, require_role))
}

/// The API routes and their OpenAPI document (without the dashboard and the fallbacks).
pub fn api_routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let reader = OpenApiRouter::new()
        .routes(routes!(system::whoami))
        .routes(routes!(meters::list_meters))
        .routes(routes!(meters::get_meter))
        .routes(routes!(meters::fleet_overview))
        .routes(routes!(readings::list_readings))
        .routes(routes!(readings::load_profile))
        .routes(routes!(readings::interval_history))
        .routes(routes!(readings::list_registers))
        .routes(routes!(readings::list_edits))
        .routes(routes!(vee::list_exceptions))
        .routes(routes!(billing::meter_billing))
        .routes(routes!(billing::billing_view))
        .routes(routes!(exports::export_csv))
        .routes(routes!(exports::export_cim))
        .routes(routes!(exports::export_espi))
        .routes(routes!(vends::list_vends))
        .routes(routes!(commands::list_commands))
        .routes(routes!(commands::get_command))
        .routes(routes!(events::list_events))
        .routes(routes!(events::list_outages))
        .routes(routes!(events::reliability));
    let operator = OpenApiRouter::new()
        .routes(routes!(commands::create_command))
        .routes(routes!(readings::edit_interval))
        .routes(routes!(readings::estimate_range))
        .routes(routes!(vee::accept_exceptions))
        .routes(routes!(vends::vend))
        .routes(routes!(events::record_events));
    let admin = OpenApiRouter::new()
        .routes(routes!(meters::provision_meter))
        .routes(routes!(admin::create_token))
        .routes(routes!(admin::list_tokens))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::list_audit))
        .routes(routes!(admin::verify_audit));
    let audit = AuditState { log: state.audit.clone(), metrics: state.metrics.clone() };
    let protected = gated(state, Role::Reader, reader)
        .merge(gated(state, Role::Operator, operator))
        .merge(gated(state, Role::Admin, admin))
        .route_layer(middleware::from_fn_with_state(audit, record_calls));
    let public = OpenApiRouter::new()
        .routes(routes!(system::health))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi_json));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(protected).merge(public).split_for_parts()
}

async fn no_route() -> ApiError {
    ApiError::new(ErrorCode::NoRoute, "no route for this path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this route does not take this method")
}

/// Counts requests no route took, then answers 404.
async fn unmatched(axum::extract::State(state): axum::extract::State<AppState>, method: Method) -> impl IntoResponse {
    state.metrics.observe_http(method.as_str(), "unmatched", 404, std::time::Duration::ZERO);
    no_route().await
}

/// The whole application: API, OpenAPI JSON, metrics and the dashboard, with the metrics
/// layer, JSON 404/405 answers, and the state applied. Also returns the OpenAPI document.
pub fn app(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, openapi) = api_routes(&state);
    let json = Arc::new(openapi.to_pretty_json().unwrap_or_else(|_| "{}".to_string()));
    let router = api
        .merge(dashboard::routes())
        .route_layer(middleware::from_fn_with_state(state.metrics.clone(), observe_requests))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(unmatched)
        .layer(Extension(system::OpenApiJson(json)))
        .with_state(state);
    (router, openapi)
}
