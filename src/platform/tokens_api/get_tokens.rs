//! `GET /api/account/{account}/consumer/{consumerId}/brand/tokens`: the
//! current tokens of a pre-authenticated consumer, for a brand service.
//!
//! The caller presents a token from [`super::token`] as
//! `Authorization: Bearer` (RFC 6750 2.1). In order:
//!
//! | check | answer |
//! |---|---|
//! | no `Authorization`, or another scheme | 401, `WWW-Authenticate: Bearer realm=...` without an error code (RFC 6750 3.1) |
//! | two `Authorization` headers, a token that is not a `b64token` | 400 `invalid_request` |
//! | a token not issued here, or expired on the shared clock | 401 `invalid_token` |
//! | a token without the scope `delegated.token.read.external` | 403 `insufficient_scope`, naming the scope |
//! | a token of a service of another account | 403 `access_denied` |
//! | a consumer id outside its syntax ([`ConsumerId`]) | 400 `invalid_request` |
//! | no live session for the consumer (never signed in, ended, past its lifetime, refresh refused) | 404 `not_found` |
//! | the access token expired and the IdP cannot refresh it right now | 503 `temporarily_unavailable` |
//! | otherwise | 200 `{"consumer_id","access_token","id_token","token_type","expires_at"}` |
//!
//! An expired access token is refreshed first (single flight with every
//! other use of the session). Every answer carries `Cache-Control:
//! no-store`.
//!
//! The refresh token is not returned. The platform owns its lifecycle: it
//! refreshes once for all users of the session and keeps the rotated
//! token. A brand service refreshing with a copy would rotate it behind
//! the platform's back, and at an IdP that detects reuse (RFC 9700
//! 4.14.2) the platform's next refresh would revoke the whole family and
//! end the consumer's session. A service that needs a fresh access token
//! calls this endpoint again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::instrument;

use super::{GET_TOKENS_SCOPE, REALM, Refusal};
use crate::platform::PlatformState;
use crate::platform::consumer_sessions::{ConsumerId, Unavailable};

/// A refused request, with the answer it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refused {
    /// RFC 6750 3.1: no authentication information at all.
    NoToken,
    /// RFC 6750 3.1 `invalid_request`.
    InvalidRequest(String),
    /// RFC 6750 3.1 `invalid_token`.
    InvalidToken(&'static str),
    /// RFC 6750 3.1 `insufficient_scope`.
    InsufficientScope,
    /// The token belongs to a service of another account.
    OtherAccount,
    NotFound(String),
    Unavailable,
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (mut response, challenge) = match &self {
            Refused::NoToken => (
                json_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send Authorization: Bearer <token>, a token from POST /oauth/token",
                ),
                Some(format!("Bearer realm=\"{REALM}\"")),
            ),
            Refused::InvalidRequest(d) => (
                json_error(StatusCode::BAD_REQUEST, "invalid_request", d),
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_request\""
                )),
            ),
            Refused::InvalidToken(d) => (
                json_error(StatusCode::UNAUTHORIZED, "invalid_token", d),
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{d}\""
                )),
            ),
            Refused::InsufficientScope => (
                json_error(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    &format!("this API wants a token with the scope {GET_TOKENS_SCOPE}"),
                ),
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{GET_TOKENS_SCOPE}\""
                )),
            ),
            Refused::OtherAccount => (
                json_error(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    "this token was issued to a service of another account",
                ),
                None,
            ),
            Refused::NotFound(d) => (json_error(StatusCode::NOT_FOUND, "not_found", d), None),
            Refused::Unavailable => (
                json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the consumer's access token has expired and the brand's IdP cannot refresh it right now; try again shortly",
                ),
                None,
            ),
        };
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if self == Refused::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// RFC 6750 2.1 `b64token`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

/// The bearer token of the one `Authorization` header.
fn bearer(headers: &HeaderMap) -> Result<&str, Refused> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Refused::NoToken);
    };
    if values.next().is_some() {
        return Err(Refused::InvalidRequest(
            "more than one Authorization header".into(),
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| Refused::InvalidRequest("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refused::NoToken);
    }
    let token = token.trim();
    if !is_b64token(token) {
        return Err(Refused::InvalidRequest(
            "the bearer token is malformed (RFC 6750 2.1 b64token)".into(),
        ));
    }
    Ok(token)
}

async fn respond(
    state: &PlatformState,
    account: &str,
    consumer: &str,
    headers: &HeaderMap,
) -> Result<Response, Refused> {
    let token = bearer(headers)?;
    let grant = state
        .brand_tokens
        .check(token, state.clock.now())
        .map_err(|r| match r {
            Refusal::Unknown => Refused::InvalidToken("the token was not issued by this platform"),
            Refusal::Expired => Refused::InvalidToken("the token has expired"),
        })?;
    if !grant.has_scope(GET_TOKENS_SCOPE) {
        return Err(Refused::InsufficientScope);
    }
    if grant.account.as_str() != account {
        return Err(Refused::OtherAccount);
    }
    let consumer = ConsumerId::parse(consumer).map_err(Refused::InvalidRequest)?;
    let tokens = state
        .consumer_sessions
        .current(state, &grant.account, &consumer)
        .await
        .map_err(|e| match e {
            Unavailable::NoSession => Refused::NotFound(format!(
                "consumer {consumer} has no tokens: not signed in, or the session has ended"
            )),
            Unavailable::SignInAgain => Refused::NotFound(format!(
                "consumer {consumer} has no tokens: the IdP refused to refresh them, the session has ended"
            )),
            Unavailable::Temporarily => Refused::Unavailable,
        })?;
    tracing::info!(client_id = %grant.client_id, consumer = %consumer, "consumer tokens read");
    Ok(Json(json!({
        "consumer_id": consumer,
        "access_token": tokens.access_token.expose(),
        "id_token": tokens.id_token.expose(),
        "token_type": "Bearer",
        "expires_at": tokens.expires_at,
    }))
    .into_response())
}

/// `GET /api/account/{account}/consumer/{consumerId}/brand/tokens`.
#[instrument(skip_all, fields(account = %account))]
pub async fn handler(
    State(state): State<PlatformState>,
    Path((account, consumer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut response = match respond(&state, &account, &consumer, &headers).await {
        Ok(r) => r,
        Err(refused) => refused.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), Err(Refused::NoToken));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), Err(Refused::NoToken));
        headers.insert(header::AUTHORIZATION, "bearer abc-_.~+/==".parse().unwrap());
        assert_eq!(bearer(&headers), Ok("abc-_.~+/=="));
        headers.insert(header::AUTHORIZATION, "Bearer a,b".parse().unwrap());
        assert!(matches!(bearer(&headers), Err(Refused::InvalidRequest(_))));
        headers.insert(header::AUTHORIZATION, "Bearer".parse().unwrap());
        assert!(matches!(bearer(&headers), Err(Refused::InvalidRequest(_))));
        headers.append(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(matches!(bearer(&headers), Err(Refused::InvalidRequest(_))));
    }
}
