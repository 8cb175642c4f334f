//! Authentication (API tokens, RFC 6750 bearer) and authorisation (roles).
//!
//! Every `/api/v1` route sits in one of three groups, each behind [`require_role`] with its
//! least role; the group a route is in is its documented role (the OpenAPI document lists
//! it in each operation's description). A request without `Authorization: Bearer <token>`
//! or with an unknown or revoked token is refused with 401 and a `WWW-Authenticate: Bearer`
//! header; a valid token whose role is too low gets 403.
//!
//! Tokens are never logged: the middleware logs only token ids.

pub mod role;
pub mod token_store;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use role::{Caller, Role, UnknownRole};
pub use token_store::{NewToken, TOKEN_PREFIX, TokenError, TokenInfo, TokenStore, token_hash};

use crate::error::{ApiError, ErrorCode};

/// State of [`require_role`]: where tokens are checked and the least role of the group.
#[derive(Debug, Clone)]
pub struct RoleGate {
    /// The token store.
    pub tokens: TokenStore,
    /// The least role the group's routes need.
    pub role: Role,
}

/// The bearer token of a request (`Authorization: Bearer <token>`, scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Middleware: authenticates the bearer token and checks its role against the gate's.
/// On success the [`Caller`] is put in the request's extensions (for the handler) and in
/// the response's (for the audit log).
pub async fn require_role(State(gate): State<RoleGate>, mut request: Request, next: Next) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return unauthorized("missing bearer token (Authorization: Bearer <token>)");
    };
    let tokens = gate.tokens.clone();
    let token = token.to_string();
    let caller = match tokio::task::spawn_blocking(move || tokens.authenticate(&token)).await {
        Ok(Ok(Some(caller))) => caller,
        Ok(Ok(None)) => return unauthorized("unknown or revoked token"),
        Ok(Err(e)) => return ApiError::internal("checking an API token", e).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !caller.role.allows(gate.role) {
        tracing::info!(token_id = caller.token_id, role = %caller.role, needs = %gate.role, "request refused");
        let mut response = ApiError::new(
            ErrorCode::Forbidden,
            format!("this route needs the {} role; the token has {}", gate.role, caller.role),
        )
        .into_response();
        response.extensions_mut().insert(caller);
        return response;
    }
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    response
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(ErrorCode::Unauthorized, message).into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"gridedge\""));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer ge_abc"));
        assert_eq!(bearer_token(&h), Some("ge_abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  ge_abc "));
        assert_eq!(bearer_token(&h), Some("ge_abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
        assert_eq!(bearer_token(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }
}
