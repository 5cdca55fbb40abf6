//! The access token an NLU engine wants, obtained with a Third-party NLU
//! credential:
//!
//! - Google Dialogflow: the platform signs an RFC 7523 assertion with the
//!   service account's key (RS256, `kid` = `private_key_id`, `iss` =
//!   `client_email`, `aud` = `token_uri`, `scope`, `iat` and `exp` an hour
//!   apart on the shared clock) and posts it to `token_uri` as
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=...`
//!   (RFC 7523 2.1), as Google's client libraries do.
//! - IBM Watson: the platform posts
//!   `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=...` to the
//!   credential's IAM URL.
//!
//! Both go through the platform's one token request
//! ([`crate::platform::oauth::token_request`]): its lenient reader, its 429
//! handling, its outbound log. The lifetime is `expires_in` (RFC 6749 5.1;
//! IAM sends it beside its own `expiration`).
//!
//! One request per credential at a time (the platform's single flight).
//! The token is kept in the vault, sealed like the credential, and reused
//! until [`EXPIRY_MARGIN_SECS`] before it expires on the shared clock;
//! replacing or deleting the credential drops it. A token the engine
//! refuses is forgotten ([`forget`]).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tracing::instrument;

use crate::clock::Instant;
use crate::platform::PlatformState;
use crate::platform::credentials::StoredToken;
use crate::platform::credentials::third_party_nlu::{ProviderKey, ServiceAccount};
use crate::platform::oauth::held_token::Margin;
use crate::platform::oauth::token_request::{self, Grant, Recorder};
use crate::platform::oauth::token_response::TokenError;
use crate::platform::org::OrgId;
use crate::secret::Secret;

/// The scope asked for Dialogflow: the narrower of the two Dialogflow
/// accepts (the other is `cloud-platform`).
pub const DIALOGFLOW_SCOPE: &str = "https://www.googleapis.com/auth/dialogflow";

/// `exp - iat` of an assertion: Google's maximum, an hour.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A cached token is not used in its last minute: a training call must not
/// reach the engine with a token that expires on the way.
pub const EXPIRY_MARGIN_SECS: u64 = 60;

/// A token for the engine, and whether it came from the cache.
pub struct NluToken {
    pub value: Secret,
    pub cached: bool,
}

/// Why no token was had. Descriptions never hold the key, the assertion or
/// a token.
#[derive(Debug)]
pub enum TokenFailure {
    /// The token endpoint at `endpoint` gave no token: an RFC 6749 5.2
    /// error, or no usable answer. Texts from the endpoint have lost the
    /// credential presented ([`tidy`]).
    Token { endpoint: String, error: TokenError },
    /// The service account's key did not sign.
    Signing(String),
}

/// The RFC 7523 assertion of `account` at `now` (shared clock).
pub fn assertion(account: &ServiceAccount, now: Instant) -> Result<Secret, String> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(account.private_key_id.clone());
    let claims = json!({
        "iss": account.client_email,
        "aud": account.token_uri,
        "scope": DIALOGFLOW_SCOPE,
        "iat": now,
        "exp": now + crate::clock::secs(ASSERTION_LIFETIME_SECS),
    });
    let key = EncodingKey::from_rsa_pem(account.private_key.expose().as_bytes())
        .map_err(|e| format!("the service account's private_key does not load: {e}"))?;
    jsonwebtoken::encode(&header, &claims, &key)
        .map(Secret::new)
        .map_err(|e| format!("the service account's private_key does not sign: {e}"))
}

/// A token for `credential` of `org`: the cached one if `reuse` and it is
/// not about to expire, otherwise a new one from the provider (cached).
#[instrument(skip_all, fields(org = %org, credential = %credential))]
pub async fn obtain(
    state: &PlatformState,
    org: &OrgId,
    credential: &str,
    key: &ProviderKey,
    reuse: bool,
) -> Result<NluToken, TokenFailure> {
    let cached = |now| {
        reuse
            .then(|| state.vault.token(org, credential))
            .flatten()
            // Only a token with a known lifetime is reused.
            .filter(|t| {
                t.expires_at.is_some()
                    && t.usable(now, Margin::Fixed(Duration::from_secs(EXPIRY_MARGIN_SECS)))
            })
            .map(|t| NluToken {
                value: t.access_token,
                cached: true,
            })
    };
    if let Some(t) = cached(state.clock.now()) {
        return Ok(t);
    }
    // One token request per credential at a time; whoever held the flight
    // before may have left a fresh token.
    let _flight = state.oauth_tokens.flight(org, credential).await;
    let now = state.clock.now();
    if let Some(t) = cached(now) {
        return Ok(t);
    }
    let (endpoint, presented) = match key {
        ProviderKey::Dialogflow(account) => (
            account.token_uri.clone(),
            assertion(account, now).map_err(TokenFailure::Signing)?,
        ),
        ProviderKey::Watson(w) => (w.iam_url.to_string(), w.apikey.clone()),
    };
    let grant = match key {
        ProviderKey::Dialogflow(_) => Grant::JwtBearer {
            assertion: &presented,
        },
        ProviderKey::Watson(_) => Grant::ApiKey { apikey: &presented },
    };
    let recorder = Recorder {
        log: &state.oauth_log,
        clock: &state.clock,
    };
    let answer = token_request::request(
        &state.api_http,
        &endpoint,
        None,
        &grant,
        state.options.http_timeout,
        Some(&recorder),
    )
    .await
    .map_err(|error| TokenFailure::Token {
        endpoint: endpoint.clone(),
        error: without(error, &presented),
    })?;
    let expires_at = answer
        .expires_in
        .and_then(|s| i64::try_from(s).ok())
        .map(|s| now + Duration::from_secs(s.unsigned_abs()));
    if expires_at.is_some() {
        let stored = StoredToken {
            access_token: answer.access_token.clone(),
            refresh_token: None,
            expires_at,
            scope: answer.scope,
            obtained_at: now,
        };
        if let Err(e) = state.vault.put_token(org, credential, &stored) {
            tracing::warn!(error = ?e, "the NLU token could not be cached");
        }
    }
    Ok(NluToken {
        value: answer.access_token,
        cached: false,
    })
}

/// `error` without the credential that was presented in any text the
/// endpoint sent back.
fn without(error: TokenError, presented: &Secret) -> TokenError {
    match error {
        TokenError::Refused {
            status,
            code,
            description,
        } => TokenError::Refused {
            status,
            code: tidy(&code, presented),
            description: description.map(|d| tidy(&d, presented)),
        },
        other => other,
    }
}

/// Forget the cached token of `credential` (the engine refused it).
pub fn forget(state: &PlatformState, org: &OrgId, credential: &str) {
    if let Err(e) = state.vault.drop_token(org, credential) {
        tracing::warn!(error = ?e, "the NLU token could not be dropped");
    }
}

/// A description from another party, fit to show: printable, short, and
/// without the secret that was presented.
pub fn tidy(text: &str, presented: &Secret) -> String {
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if !presented.expose().is_empty() && text.contains(presented.expose()) {
        text = text.replace(presented.expose(), "[redacted]");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::credentials::third_party_nlu::tests::rsa_pem;

    #[test]
    fn the_assertion_is_rfc_7523_with_the_key_id() {
        let account = ServiceAccount {
            project_id: "p".into(),
            private_key_id: "kid-1".into(),
            private_key: Secret::new(rsa_pem()),
            client_email: "sa@p.iam.gserviceaccount.com".into(),
            token_uri: "http://127.0.0.1:1/token".into(),
        };
        let jwt = assertion(&account, Instant::from_unix_secs(1000)).unwrap();
        let header = jsonwebtoken::decode_header(jwt.expose()).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("kid-1"));
        let public = rcgen::KeyPair::from_pem(rsa_pem())
            .unwrap()
            .public_key_pem();
        let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.set_audience(&["http://127.0.0.1:1/token"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            jwt.expose(),
            &jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["scope"], DIALOGFLOW_SCOPE);
        assert_eq!(claims["iat"], 1000);
        assert_eq!(claims["exp"], 1000 + ASSERTION_LIFETIME_SECS);
    }

    #[test]
    fn descriptions_from_elsewhere_lose_the_secret() {
        let s = Secret::new("key-123");
        assert_eq!(tidy("bad key-123\n", &s), "bad [redacted] ");
        assert_eq!(tidy(&"x".repeat(1000), &s).len(), 300);
    }
}
