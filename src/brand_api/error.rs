//! The brand API's own (non-bearer) errors: JSON `{error, error_description}`
//! with a fitting status. Bearer token errors (RFC 6750) are
//! [`super::auth::AuthError`].
//!
//! Every error response carries an [`ErrorCode`] extension, which is how the
//! request log learns what went wrong without parsing bodies.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::wire::sanitize_description;

/// The `error` code of a response, for the request log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub String);

/// A refused API request that is not about the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: missing header, bad JSON, bad field.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// 404: no such resource for this consumer (or no such path).
    #[error("not_found: {0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method_not_allowed: {0}")]
    MethodNotAllowed(String),
    /// 415: a body that is not JSON.
    #[error("unsupported_media_type: {0}")]
    UnsupportedMediaType(String),
    /// 422: an idempotency key reused with a different request.
    #[error("idempotency_key_reused: {0}")]
    IdempotencyKeyReused(String),
    /// 413: a body above the limit.
    #[error("payload_too_large: {0}")]
    PayloadTooLarge(String),
    /// 409: an admin change that clashes with existing data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 403: the admin API is off (not on loopback).
    #[error("access_denied: {0}")]
    AccessDenied(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::AccessDenied(_) => "access_denied",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::AccessDenied(_) => StatusCode::FORBIDDEN,
        }
    }

    pub fn description(&self) -> &str {
        match self {
            ApiError::InvalidRequest(d)
            | ApiError::NotFound(d)
            | ApiError::MethodNotAllowed(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::IdempotencyKeyReused(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::Conflict(d)
            | ApiError::AccessDenied(d) => d,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(self.status(), self.code(), self.description())
    }
}

/// A JSON error response with its [`ErrorCode`] extension.
pub fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": code, "error_description": sanitize_description(description) })),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(ErrorCode(code.to_string()));
    response
}

/// Fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound(
        "no such endpoint; the API is /api/me, /api/orders, /api/orders/{id}, /api/payments, /basic/orders, /static/orders, /mtls/orders".into(),
    )
}

/// Fallback for a known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not accept this HTTP method".into())
}
