//! The one error shape of the API.
//!
//! Every failed request answers with a JSON body `{"error": {"code": "...", "message":
//! "..."}}` and the HTTP status of its [`ErrorCode`]. `code` is stable (clients branch on
//! it); `message` is for people and may change. Messages never carry secrets (tokens,
//! passwords, keys).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The stable error codes and their HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a parameter or body is malformed or out of range.
    BadRequest,
    /// 401: no bearer token, or a token that is unknown or revoked.
    Unauthorized,
    /// 403: the token's role may not call this route.
    Forbidden,
    /// 404: the resource (meter, command, token ...) does not exist.
    NotFound,
    /// 404: no route has this path.
    NoRoute,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 409: the request conflicts with stored state (e.g. a vend request id reused for a
    /// different vend).
    Conflict,
    /// 422: well-formed but refused by a domain rule (an edit without a reason, an amount
    /// too small to vend ...).
    Unprocessable,
    /// 503: the feature is not configured in this deployment (e.g. vending without a
    /// vending database).
    Unavailable,
    /// 500: an internal failure (database error); details are in the server log.
    Internal,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::NoRoute => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error: a stable [`ErrorCode`] and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }

    /// 400 [`ErrorCode::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// 404 [`ErrorCode::NotFound`].
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// 422 [`ErrorCode::Unprocessable`].
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unprocessable, message)
    }

    /// 409 [`ErrorCode::Conflict`].
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Conflict, message)
    }

    /// 503 [`ErrorCode::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unavailable, message)
    }

    /// 500 [`ErrorCode::Internal`]: logs `detail` at error level and answers with a
    /// generic message (internal details such as SQL or file paths stay in the log).
    pub fn internal(context: &str, detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "{context}");
        ApiError::new(ErrorCode::Internal, format!("internal error while {context}"))
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` member of the error body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `not_found`.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message } };
        (status, Json(body)).into_response()
    }
}

impl From<mdms::StoreError> for ApiError {
    fn from(e: mdms::StoreError) -> Self {
        match e {
            mdms::StoreError::NotCumulative(rt) => {
                ApiError::unprocessable(format!("{rt} is not a cumulative reading type"))
            }
            other => ApiError::internal("reading the meter data store", other),
        }
    }
}

impl From<mdms::editing::EditError> for ApiError {
    fn from(e: mdms::editing::EditError) -> Self {
        match e {
            mdms::editing::EditError::Refused(refusal) => match refusal {
                mdms::editing::EditRefusal::UnknownMeter(m) => ApiError::not_found(format!("unknown meter {m}")),
                other => ApiError::unprocessable(other.to_string()),
            },
            mdms::editing::EditError::Store(s) => s.into(),
        }
    }
}

impl From<mdms::export::ExportError> for ApiError {
    fn from(e: mdms::export::ExportError) -> Self {
        use mdms::export::ExportError as E;
        match e {
            E::Store(s) => s.into(),
            E::NoIntervalLength(m) => ApiError::unprocessable(format!(
                "no interval length known for meter {m}: no collection recorded; give interval_length_s"
            )),
            E::NotCumulative(rt) => ApiError::unprocessable(format!("{rt} is not a cumulative energy reading type")),
            E::InvalidOptions(what) => ApiError::bad_request(what),
            E::ValueOutOfRange { .. } => ApiError::unprocessable(e.to_string()),
            other => ApiError::internal("writing an export", other),
        }
    }
}

impl From<mdms::billing::BillingError> for ApiError {
    fn from(e: mdms::billing::BillingError) -> Self {
        match e {
            mdms::billing::BillingError::Store(s) => s.into(),
            other => ApiError::unprocessable(other.to_string()),
        }
    }
}

/// The blocking task running a store call was cancelled or panicked.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("running a database task", e)
    }
}
