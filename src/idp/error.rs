//! Protocol errors, one enum per protocol surface, each rendered the way its
//! RFC says.
//!
//! - [`TokenError`]: token, introspection and revocation endpoints
//!   (RFC 6749 section 5.2): JSON `{error, error_description}`, 400, or 401
//!   with `WWW-Authenticate` when a client that authenticated with HTTP Basic
//!   fails authentication.
//! - [`AuthorizeError`]: errors sent back to a trusted redirect URI
//!   (RFC 6749 section 4.1.2.1, OIDC Core 3.1.2.6).
//! - [`ErrorPage`]: errors shown on the IdP's own page because the client or
//!   redirect URI cannot be trusted (RFC 6749 section 4.1.2.1, first
//!   paragraph): never a redirect.
//! - [`BearerError`]: protected resources such as userinfo (RFC 6750 section 3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::wire::sanitize_description;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: String,
}

/// Token endpoint errors (RFC 6749 5.2), also used for client
/// authentication at introspection (RFC 7662 2.3) and revocation (RFC 7009 2.2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Missing, repeated or malformed parameter; several credentials at once.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed. `basic` records whether the client used
    /// the Authorization header, which makes the answer a 401 with a challenge.
    #[error("invalid_client: {description}")]
    InvalidClient { description: String, basic: bool },
    /// The code, refresh token or PKCE verifier is invalid, expired, revoked,
    /// or bound to another client or redirect URI.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// The client may not use this grant type.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// The grant type is not one this server knows.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// A scope outside what the client or grant allows.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 7009 2.2.1.
    #[error("unsupported_token_type: {0}")]
    UnsupportedTokenType(String),
    /// The IdP holds as many codes and tokens as it may
    /// ([`super::records::Limits::max_records`]) and can forget none yet:
    /// 503 with `Retry-After`. RFC 6749 defines the code for the
    /// authorization endpoint (4.1.2.1); RFC 7009 2.2.1 has revocation
    /// answer 503 when it cannot proceed, and the token endpoint does the
    /// same here.
    #[error("temporarily_unavailable: {description}")]
    TemporarilyUnavailable {
        description: String,
        retry_after: u64,
    },
}

impl From<super::records::Full> for TokenError {
    fn from(full: super::records::Full) -> Self {
        TokenError::TemporarilyUnavailable {
            description: full.to_string(),
            retry_after: full.retry_after,
        }
    }
}

impl TokenError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnauthorizedClient(_) => "unauthorized_client",
            TokenError::UnsupportedGrantType(_) => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::UnsupportedTokenType(_) => "unsupported_token_type",
            TokenError::TemporarilyUnavailable { .. } => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            TokenError::InvalidRequest(d)
            | TokenError::InvalidGrant(d)
            | TokenError::UnauthorizedClient(d)
            | TokenError::UnsupportedGrantType(d)
            | TokenError::InvalidScope(d)
            | TokenError::UnsupportedTokenType(d) => d,
            TokenError::InvalidClient { description, .. }
            | TokenError::TemporarilyUnavailable { description, .. } => description,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        TokenError::InvalidRequest(d.into())
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        TokenError::InvalidGrant(d.into())
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code(),
            error_description: sanitize_description(self.description()),
        };
        let status = match &self {
            TokenError::InvalidClient { basic: true, .. } => StatusCode::UNAUTHORIZED,
            TokenError::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            TokenError::InvalidClient { basic: true, .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"standin\", charset=\"UTF-8\""),
                );
            }
            TokenError::TemporarilyUnavailable { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Errors returned to the client's redirect URI (RFC 6749 4.1.2.1,
/// OIDC Core 3.1.2.6). Only built once the client and redirect URI are
/// trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    InvalidRequest(String),
    UnauthorizedClient(String),
    AccessDenied(String),
    UnsupportedResponseType(String),
    InvalidScope(String),
    /// OIDC: `prompt=none` and the consumer is not signed in.
    LoginRequired(String),
    /// OIDC: `prompt=none` and consent is still needed.
    ConsentRequired(String),
    /// Injected fault or internal failure, surfaced as RFC 6749 `server_error`.
    ServerError(String),
    TemporarilyUnavailable(String),
}

impl AuthorizeError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthorizeError::InvalidRequest(_) => "invalid_request",
            AuthorizeError::UnauthorizedClient(_) => "unauthorized_client",
            AuthorizeError::AccessDenied(_) => "access_denied",
            AuthorizeError::UnsupportedResponseType(_) => "unsupported_response_type",
            AuthorizeError::InvalidScope(_) => "invalid_scope",
            AuthorizeError::LoginRequired(_) => "login_required",
            AuthorizeError::ConsentRequired(_) => "consent_required",
            AuthorizeError::ServerError(_) => "server_error",
            AuthorizeError::TemporarilyUnavailable(_) => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> String {
        let d = match self {
            AuthorizeError::InvalidRequest(d)
            | AuthorizeError::UnauthorizedClient(d)
            | AuthorizeError::AccessDenied(d)
            | AuthorizeError::UnsupportedResponseType(d)
            | AuthorizeError::InvalidScope(d)
            | AuthorizeError::LoginRequired(d)
            | AuthorizeError::ConsentRequired(d)
            | AuthorizeError::ServerError(d)
            | AuthorizeError::TemporarilyUnavailable(d) => d,
        };
        sanitize_description(d)
    }
}

/// An error the IdP shows on its own page, never redirecting, because the
/// client or the redirect URI cannot be trusted (RFC 6749 4.1.2.1, 3.1.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
}

impl ErrorPage {
    pub fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
        }
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let body = super::pages::error_page(self.code, &self.description);
        super::http::html(self.status, body)
    }
}

/// Errors of a bearer-protected resource (RFC 6750 3, 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerError {
    /// No credentials at all: a challenge without an error code (RFC 6750 3.1).
    Missing,
    InvalidRequest(String),
    InvalidToken(String),
    InsufficientScope(String),
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match &self {
            // RFC 6750 3.1: no error code or other error information, in
            // the challenge or the body.
            BearerError::Missing => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"standin\"".to_string(),
                None,
            ),
            BearerError::InvalidRequest(d) => {
                bearer_parts(StatusCode::BAD_REQUEST, "invalid_request", d)
            }
            BearerError::InvalidToken(d) => {
                bearer_parts(StatusCode::UNAUTHORIZED, "invalid_token", d)
            }
            BearerError::InsufficientScope(d) => {
                bearer_parts(StatusCode::FORBIDDEN, "insufficient_scope", d)
            }
        };
        let mut response = match body {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => status.into_response(),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn bearer_parts<'a>(
    status: StatusCode,
    code: &'a str,
    description: &str,
) -> (StatusCode, String, Option<ErrorBody<'a>>) {
    let description = sanitize_description(description);
    (
        status,
        format!("Bearer realm=\"standin\", error=\"{code}\", error_description=\"{description}\""),
        Some(ErrorBody {
            error: code,
            error_description: description,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_lose_control_characters_and_quotes() {
        assert_eq!(sanitize_description("a\r\nb\"c\\d\u{e9}"), "a  b c d ");
    }

    #[test]
    fn invalid_client_over_basic_is_a_401_challenge() {
        let r = TokenError::InvalidClient {
            description: "bad secret".into(),
            basic: true,
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_some());
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let r = TokenError::InvalidClient {
            description: "bad secret".into(),
            basic: false,
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn a_full_store_is_a_503_with_retry_after() {
        let r = TokenError::from(crate::idp::records::Full {
            max_records: 10,
            retry_after: 42,
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "42");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
}
