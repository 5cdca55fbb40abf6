//! Who is calling: a bearer JWT access token of the IdP, checked as the
//! brand API checks one ([`crate::brand_api::auth::bearer_token`] and
//! [`crate::brand_api::auth::verify_signature`]: one `Authorization: Bearer`
//! header, a JWT, `alg: none` refused, a `kid` from the IdP's JWKS found
//! through discovery, the signature with that key's algorithm only; then
//! [`crate::brand_api::auth::check_claims`]: `iss`, `aud` containing this
//! service's audience, `exp` and `nbf` on the shared clock), turned into an
//! [`NluCaller`] with the claims service-credential tokens add
//! (`grant_type`, `project_id`). Each engine then decides whether the
//! caller fits ([`super::dialogflow`], [`super::watson`]).
//!
//! Errors follow RFC 6750 3.1: 401 `invalid_token` (missing, malformed,
//! unverifiable, expired, for another audience), 403 `insufficient_scope`
//! (a good token that may not do this), 503 when the IdP's keys cannot be
//! fetched; JSON `{error, error_description}` and a `WWW-Authenticate`
//! challenge with realm [`REALM`].

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::log::Outcome;
use super::state::NluState;
use crate::brand_api::auth::{AccessClaims, AuthError, bearer_token, verify_signature};
use crate::wire::ClientId;
use crate::wire::sanitize_description;

/// The realm of every challenge.
pub const REALM: &str = "nlu";

/// A caller whose token passed every check of the IdP's tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NluCaller {
    /// The service account's `client_email`, or the API key's `iam_id`.
    pub sub: String,
    pub client_id: ClientId,
    /// Space-separated scope (RFC 6749 3.3).
    pub scope: String,
    /// The URN of the grant that issued the token (absent from tokens of
    /// the IdP's other grants).
    pub grant_type: Option<String>,
    /// The service account's project (service-account tokens only).
    pub project_id: Option<String>,
}

impl NluCaller {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split(' ').any(|s| s == wanted)
    }
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NluError {
    /// 401: missing, malformed, unverifiable, expired, or for another service.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// 403: a good token that may not do this (wrong kind of credential,
    /// scope, or project). `scope` names the scope that would do, if one would.
    #[error("insufficient_scope: {description}")]
    InsufficientScope {
        description: String,
        scope: Option<&'static str>,
    },
    /// 503: the IdP's keys cannot be fetched; not a verdict on the token.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
    /// 404: no such endpoint.
    #[error("not_found: {0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method_not_allowed: {0}")]
    MethodNotAllowed(String),
}

impl NluError {
    pub fn forbidden(description: impl Into<String>) -> Self {
        NluError::InsufficientScope {
            description: description.into(),
            scope: None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            NluError::InvalidToken(_) => "invalid_token",
            NluError::InsufficientScope { .. } => "insufficient_scope",
            NluError::Unavailable(_) => "temporarily_unavailable",
            NluError::NotFound(_) => "not_found",
            NluError::MethodNotAllowed(_) => "method_not_allowed",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            NluError::InvalidToken(d)
            | NluError::Unavailable(d)
            | NluError::NotFound(d)
            | NluError::MethodNotAllowed(d) => d,
            NluError::InsufficientScope { description, .. } => description,
        }
    }

    /// The error response, with `outcome` (completed with the error code)
    /// for the request log.
    pub fn respond(self, mut outcome: Outcome) -> Response {
        outcome.error = Some(self.code().to_string());
        let mut response = self.into_response();
        response.extensions_mut().insert(outcome);
        response
    }
}

impl From<AuthError> for NluError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken(d) => NluError::InvalidToken(d),
            AuthError::InsufficientScope { description, .. } => NluError::forbidden(description),
            AuthError::Unavailable(d) => NluError::Unavailable(d),
        }
    }
}

impl IntoResponse for NluError {
    fn into_response(self) -> Response {
        let description = sanitize_description(self.description());
        let code = self.code();
        let (status, challenge) = match &self {
            NluError::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\""
                )),
            ),
            NluError::InsufficientScope { scope, .. } => (
                StatusCode::FORBIDDEN,
                Some(match scope {
                    Some(scope) => format!(
                        "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\", scope=\"{scope}\""
                    ),
                    None => format!(
                        "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\""
                    ),
                }),
            ),
            NluError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
            NluError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            NluError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, None),
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(Outcome {
            error: Some(code.to_string()),
            ..Outcome::default()
        });
        response
    }
}

/// A refusal, with who the token named when its signature verified.
#[derive(Debug)]
pub struct Refusal {
    pub error: NluError,
    pub sub: Option<String>,
    pub grant_type: Option<String>,
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        Refusal {
            error: e.into(),
            sub: None,
            grant_type: None,
        }
    }
}

impl Refusal {
    /// The error response, `outcome` completed with who the token named.
    pub fn respond(self, mut outcome: Outcome) -> Response {
        outcome.sub = self.sub;
        outcome.grant_type = self.grant_type;
        self.error.respond(outcome)
    }
}

fn string_claim(claims: &Value, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(String::from)
}

/// Check the request's bearer token (see the module documentation).
#[tracing::instrument(skip_all)]
pub async fn authenticate(state: &NluState, headers: &HeaderMap) -> Result<NluCaller, Refusal> {
    let token = bearer_token(headers)?;
    let trust = state.trust();
    let claims = verify_signature(trust.jwks(), token).await?;
    let grant_type = string_claim(&claims, "grant_type");
    let project_id = string_claim(&claims, "project_id");
    let claims: AccessClaims = serde_json::from_value(claims)
        .map_err(|_| AuthError::InvalidToken("the token's claims are malformed".into()))?;
    let consumer = trust.check(&claims).map_err(|e| Refusal {
        error: e.into(),
        sub: claims.sub.clone(),
        grant_type: grant_type.clone(),
    })?;
    Ok(NluCaller {
        sub: consumer.sub,
        client_id: consumer.client_id,
        scope: consumer.scope,
        grant_type,
        project_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_is_a_403_challenge_and_expired_a_401() {
        let r = NluError::InsufficientScope {
            description: "needs \"x\"".into(),
            scope: Some("https://www.googleapis.com/auth/dialogflow"),
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"nlu\", error=\"insufficient_scope\""));
        assert!(challenge.contains("needs  x "), "{challenge}");
        assert!(challenge.ends_with("scope=\"https://www.googleapis.com/auth/dialogflow\""));
        let r = NluError::from(AuthError::InvalidToken("expired".into())).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.extensions().get::<Outcome>().unwrap().error.as_deref(),
            Some("invalid_token")
        );
        let r = NluError::Unavailable("later".into()).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
