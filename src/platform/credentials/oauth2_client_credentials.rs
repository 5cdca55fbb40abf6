//! The OAuth 2.0 credential with the Client Credentials grant (RFC 6749
//! 4.4): the brand's client id and secret, an optional scope and its token
//! endpoint. No browser and no consumer: the platform asks the token
//! endpoint itself, with `client_secret_basic`.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/orgs/{org}/credentials/{name}/authorize` | "Authorize": fetch a token now; 200 with its status, or 502 with the token endpoint's RFC 6749 5.2 `error` |
//!
//! The token is fetched on first use (or by "Authorize"), kept sealed in
//! the vault, used until [`oauth_tokens::EXPIRY_MARGIN_SECS`] before its
//! expiry (or a quarter of its lifetime when shorter), then fetched
//! again. However many conversations need a new token at the same moment,
//! one request goes to the token endpoint (one flight per credential).
//! A 401 from the API drops the kept token, so the next call fetches a
//! new one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use url::Url;

use super::oauth_tokens::{self, ClientAuth, TokenError};
use super::{FieldError, Kind, SaveContext, StoredToken};
use crate::platform::PlatformState;
use crate::platform::credentials::auth::Auth;
use crate::platform::org::OrgId;
use crate::secret::Secret;
use crate::wire::ClientId;

/// A saved OAuth 2.0 Client Credentials credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    pub client_id: ClientId,
    pub client_secret: Secret,
    #[serde(default)]
    pub scope: Option<String>,
    pub token_url: Url,
}

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub token_url: String,
}

/// Validate: every fault its own error.
pub fn from_input(
    input: Input,
    _ctx: &SaveContext<'_>,
) -> Result<ClientCredentials, Vec<FieldError>> {
    let mut errors = Vec::new();
    oauth_tokens::client_id(&input.client_id, &mut errors);
    oauth_tokens::client_secret(&input.client_secret, &mut errors);
    let scope = oauth_tokens::scope(input.scope.as_deref(), &mut errors);
    let token_url = oauth_tokens::endpoint_url(
        &input.token_url,
        "token_url",
        "token URL",
        "https://login.brand.example/oauth2/token",
        &mut errors,
    );
    match (errors.is_empty(), input.client_secret, token_url) {
        (true, Some(client_secret), Some(token_url)) => Ok(ClientCredentials {
            client_id: ClientId::new(input.client_id),
            client_secret,
            scope,
            token_url,
        }),
        _ => Err(errors),
    }
}

impl ClientCredentials {
    fn client(&self) -> ClientAuth<'_> {
        ClientAuth {
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            token_url: &self.token_url,
        }
    }
}

/// Ask the token endpoint for a new token and keep it. The caller holds
/// the credential's flight.
async fn fetch(
    state: &PlatformState,
    org: &OrgId,
    name: &str,
    credential: &ClientCredentials,
) -> Result<StoredToken, TokenError> {
    let now = state.clock.now();
    let token = state
        .oauth_tokens
        .client_credentials(&credential.client(), credential.scope.as_deref(), now)
        .await?;
    if let Err(e) = state.vault.put_token(org, name, &token) {
        // Deleted meanwhile: the token serves this call and goes nowhere.
        tracing::warn!(error = ?e, "token not kept");
    }
    tracing::info!(expires_at = ?token.expires_at, "client credentials token obtained");
    Ok(token)
}

/// The authorisation for an integration call with credential `name` of
/// `org`: the kept token while fresh, else a new one (one request however
/// many calls wait for it); or why there is none.
#[instrument(skip_all, fields(org = %org, credential = %name))]
pub async fn authorization(
    state: &PlatformState,
    org: &OrgId,
    name: &str,
    credential: &ClientCredentials,
) -> Result<Auth, String> {
    let usable = |state: &PlatformState| {
        state
            .vault
            .token(org, name)
            .filter(|t| oauth_tokens::fresh(t, state.clock.now()))
    };
    if let Some(t) = usable(state) {
        return Ok(Auth::bearer(&t.access_token));
    }
    let _flight = state.oauth_tokens.flight(org, name).await;
    // Whoever held the flight before may have fetched one.
    if let Some(t) = usable(state) {
        return Ok(Auth::bearer(&t.access_token));
    }
    match fetch(state, org, name, credential).await {
        Ok(t) => Ok(Auth::bearer(&t.access_token)),
        Err(e) => {
            tracing::warn!(error = %e, "client credentials grant failed");
            Err(format!("credential {name:?} could not obtain a token: {e}"))
        }
    }
}

/// The API answered 401 to this credential's token: drop it, so the next
/// call fetches a new one.
pub fn unauthorized(state: &PlatformState, org: &OrgId, name: &str) {
    if let Err(e) = state.vault.drop_token(org, name) {
        tracing::warn!(error = ?e, "could not drop the token");
    }
}

/// The documents' "Authorize": a new token now, in the credential's
/// flight, replacing any kept one (the JSON API and the console).
pub async fn authorize_now(
    state: &PlatformState,
    org: &OrgId,
    name: &str,
    credential: &ClientCredentials,
) -> Result<StoredToken, TokenError> {
    let _flight = state.oauth_tokens.flight(org, name).await;
    fetch(state, org, name, credential).await
}

/// `POST /api/orgs/{org}/credentials/{name}/authorize`: the documents'
/// "Authorize" for a client credentials credential: fetch a token now,
/// replacing any kept one, and say whether it worked.
#[instrument(skip_all, fields(org = %org, credential = %name))]
pub async fn authorize(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (org, credential) = match super::http::authorised_credential(&state, &org, &name, &headers)
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let c = match credential.kind {
        Kind::OAuth2ClientCredentials(c) => c,
        other => return oauth_tokens::not_authorizable(&org.id, &name, &other),
    };
    match authorize_now(&state, &org.id, &name, &c).await {
        Ok(token) => {
            let mut body = oauth_tokens::status(Some(&token), state.clock.now());
            body["credential"] = json!(name);
            body["type"] = json!("oauth2_client_credentials");
            Json(body).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "authorize failed");
            let (code, description) = match &e {
                TokenError::Refused { code, .. } => (code.clone(), e.to_string()),
                TokenError::Unreachable => ("temporarily_unavailable".into(), e.to_string()),
                _ => ("server_error".into(), e.to_string()),
            };
            (
                StatusCode::BAD_GATEWAY,
                Json(json!({
                    "error": code,
                    "error_description": format!("credential {name:?} is not authorised: {description}"),
                    "authorized": false,
                })),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: Input) -> Result<ClientCredentials, Vec<(&'static str, &'static str)>> {
        let org = super::super::basic_authentication::tests::ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        from_input(input, &ctx).map_err(|e| e.into_iter().map(|e| (e.field, e.code)).collect())
    }

    #[test]
    fn each_fault_has_its_own_error() {
        assert_eq!(
            check(Input::default()).unwrap_err(),
            vec![
                ("client_id", "missing"),
                ("client_secret", "missing"),
                ("token_url", "missing")
            ]
        );
        let c = check(Input {
            client_id: "svc".into(),
            client_secret: Some(Secret::new("svc-secret")),
            scope: None,
            token_url: "https://login.example/token".into(),
        })
        .unwrap();
        assert!(c.scope.is_none());
        assert!(!serde_json::to_string(&c).unwrap().contains("svc-secret"));
        assert_eq!(
            check(Input {
                client_id: "svc".into(),
                client_secret: Some(Secret::new("")),
                scope: Some("a\"".into()),
                token_url: "http://login.example/token#x".into(),
            })
            .unwrap_err(),
            vec![
                ("client_secret", "missing"),
                ("scope", "invalid"),
                ("token_url", "insecure_scheme"),
                ("token_url", "fragment")
            ]
        );
    }
}
