//! Access tokens for service credentials: a service account's assertion
//! ([`super::jwt_bearer`]) or an API key ([`super::apikey`]). No consumer
//! and no registered client is involved, so these are minted apart from
//! [`super::tokens::mint_access`]: the credential itself says who the token
//! is for (`sub`), where it may be used (`aud`) and for how long.
//!
//! The token is an RFC 9068 JWT signed with the IdP's RS256 key (another
//! active key if RS256 has none), so a service finds its key in the JWKS
//! like any other access token's. Beyond RFC 9068 it carries `grant_type`
//! (the grant's URN, as IBM Cloud IAM tokens do), which is how a service
//! tells a service-account token from an API-key token, plus the claims the
//! credential adds (`project_id`, `iam_id`).

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::TokenError;
use super::fixtures::TokenFormat;
use super::http::no_store_json;
use super::keys::SigningAlg;
use super::records::{AccessDraft, TokenId};
use super::state::{Grant, IdpState, Scope};
use crate::clock::Instant;
use crate::secret::random_token;

/// The `aud` of service-credential tokens unless the credential names
/// another: what the mock NLU service accepts by default.
pub const NLU_AUDIENCE: &str = "nlu";

/// Default lifetime of a service-credential token (Google and IBM issue
/// one-hour tokens).
pub const DEFAULT_TTL_SECS: u64 = 3600;

/// The token settings a service credential is configured with: an
/// audience, and a lifetime of 1 to `max_ttl_secs` seconds. The error names
/// the field.
pub fn check_settings(audience: &str, ttl_secs: u64, max_ttl_secs: u64) -> Result<(), String> {
    if audience.trim().is_empty() {
        return Err("audience: must not be empty".into());
    }
    if !(1..=max_ttl_secs).contains(&ttl_secs) {
        return Err(format!(
            "access_token_ttl_secs: must be 1 to {max_ttl_secs} seconds"
        ));
    }
    Ok(())
}

/// What a service-credential token is minted for.
#[derive(Debug, Clone)]
pub struct ServiceGrant<'a> {
    /// [`Grant::JwtBearer`] or [`Grant::ApiKey`].
    pub grant: Grant,
    /// The grant type URN written into the token's `grant_type` claim.
    pub grant_type: &'a str,
    /// The service account's `client_email`, or the API key's `iam_id`.
    pub sub: &'a str,
    /// RFC 9068 `client_id`: the service account's `client_id`, or the
    /// API key's `iam_id`.
    pub client_id: &'a str,
    pub audience: &'a str,
    pub scope: &'a Scope,
    pub ttl_secs: u64,
    /// Claims the credential adds (`project_id`, `iam_id`).
    pub extra: Map<String, Value>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: Instant,
    iat: Instant,
    nbf: Instant,
    jti: String,
    client_id: &'a str,
    scope: String,
    grant_type: &'a str,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// A minted token: its value, lifetime and absolute expiry.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub expires_at: Instant,
}

/// Sign a token for `g` and record it (inspection, introspection,
/// revocation see it like any other access token). Refused only when the
/// store is full of records it cannot forget ([`super::records`]).
pub fn issue(state: &IdpState, g: ServiceGrant<'_>) -> Result<Issued, TokenError> {
    let now = state.now();
    let expires_in = i64::try_from(g.ttl_secs).unwrap_or(i64::MAX).min(24 * 3600);
    let ttl = Duration::from_secs(expires_in.unsigned_abs());
    let claims = Claims {
        iss: &state.issuer,
        sub: g.sub,
        aud: g.audience,
        exp: now + ttl,
        iat: now,
        nbf: now,
        jti: random_token(16),
        client_id: g.client_id,
        scope: g.scope.to_string(),
        grant_type: g.grant_type,
        extra: &g.extra,
    };
    let key = {
        let keys = state.keys();
        keys.active(SigningAlg::RS256)
            .or_else(|| keys.algorithms().first().and_then(|a| keys.active(*a)))
            .expect("the IdP starts with at least one signing key")
    };
    let access_token = key.sign_jwt("at+jwt", &claims);
    let draft = AccessDraft {
        id: TokenId::of(&access_token),
        client_id: g.client_id,
        sub: Some(g.sub),
        scope: g.scope.as_str(),
        audience: g.audience,
        format: TokenFormat::Jwt,
        grant: g.grant,
        issued_at: now,
        expires_at: now + ttl,
        auth_time: None,
        family: None,
        revoked: false,
        binding: None,
    };
    state.store().records.insert_tokens(draft, None, now)?;
    Ok(Issued {
        access_token,
        expires_in,
        expires_at: now + ttl,
    })
}

/// The answer to a service grant's token request (`grant_type`), as its
/// module decided it. A service grant authenticates no client: the
/// credential is in the request itself.
pub fn answer<R: Serialize>(grant_type: &str, decided: Result<R, TokenError>) -> Response {
    match decided {
        Ok(response) => no_store_json(StatusCode::OK, response),
        Err(error) => {
            tracing::debug!(
                error = error.code(),
                grant_type,
                "service credential refused"
            );
            error.into_response()
        }
    }
}
