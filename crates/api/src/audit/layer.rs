//! The middleware that records state-changing calls in the audit log.
//!
//! It runs after routing (as a route layer), so it knows the route template
//! ([`MatchedPath`]), and outside the role check, so refused calls are recorded too. The
//! handler names what it acts on with [`AuditTarget::set`] (an extractor), as soon as it
//! knows it, so the target is recorded even when the call then fails; otherwise the
//! target is the request path (never the query string, which could carry a token).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use jiff::Timestamp;

use super::{AuditLog, AuditRecord};
use crate::auth::Caller;
use crate::metrics::Metrics;

/// What a state-changing call acts on, for the audit log, e.g. `meter GE00000001`: take it
/// as an extractor and call [`AuditTarget::set`]. Outside the audit layer it is a detached
/// slot (setting it records nothing).
#[derive(Debug, Clone, Default)]
pub struct AuditTarget(Arc<Mutex<Option<String>>>);

impl AuditTarget {
    /// Names the target (never put a secret in it).
    pub fn set(&self, target: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(target.into());
    }

    /// The target named, if any.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditTarget {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<AuditTarget>().cloned().unwrap_or_default())
    }
}

/// State of [`record_calls`].
#[derive(Debug, Clone)]
pub struct AuditState {
    /// Where entries go.
    pub log: AuditLog,
    /// Counts entries that could not be written.
    pub metrics: Arc<Metrics>,
}

/// True for the methods that change state.
pub fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// Middleware: runs the request and, for state-changing methods, appends an audit entry
/// with the outcome. An entry that cannot be written is logged at error level and counted
/// in `gridedge_audit_write_failures_total`; the call's answer is not changed (its effect
/// has already happened).
pub async fn record_calls(State(state): State<AuditState>, mut request: Request, next: Next) -> Response {
    if !is_state_changing(request.method()) {
        return next.run(request).await;
    }
    let slot = AuditTarget::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let caller = response.extensions().get::<Caller>();
    let target = slot.get().unwrap_or(path);
    let record = AuditRecord {
        token_id: caller.map(|c| c.token_id),
        actor: caller.map_or_else(|| "anonymous".to_string(), |c| c.name.clone()),
        method,
        route,
        target,
        status: response.status().as_u16(),
    };
    let log = state.log.clone();
    let written = tokio::task::spawn_blocking(move || log.append(record, Timestamp::now())).await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            state.metrics.audit_write_failed();
            tracing::error!(error = %e, "could not write an audit entry");
        }
        Err(e) => {
            state.metrics.audit_write_failed();
            tracing::error!(error = %e, "the audit writer task failed");
        }
    }
    response
}
