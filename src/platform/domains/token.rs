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
//! The token is kept in the vault, sealed like the credential, and reused
//! until [`EXPIRY_MARGIN_SECS`] before it expires on the shared clock;
//! replacing or deleting the credential drops it. A token the engine
//! refuses is forgotten ([`forget`]).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use crate::platform::PlatformState;
use crate::platform::credentials::StoredToken;
use crate::platform::credentials::nlu::{ProviderKey, ServiceAccount};
use crate::platform::oauth::held_token::Margin;
use crate::platform::org::OrgId;
use crate::secret::Secret;

/// RFC 7523 2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// IBM Cloud IAM's API-key grant.
pub const IAM_APIKEY_GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// The scope asked for Dialogflow: the narrower of the two Dialogflow
/// accepts (the other is `cloud-platform`).
pub const DIALOGFLOW_SCOPE: &str = "https://www.googleapis.com/auth/dialogflow";

/// `exp - iat` of an assertion: Google's maximum, an hour.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A cached token is not used in its last minute: a training call must not
/// reach the engine with a token that expires on the way.
pub const EXPIRY_MARGIN_SECS: i64 = 60;

/// A token for the engine, and whether it came from the cache.
pub struct NluToken {
    pub value: Secret,
    pub cached: bool,
}

/// Why no token was had. Descriptions never hold the key, the assertion or
/// a token.
#[derive(Debug)]
pub enum TokenFailure {
    /// The token endpoint answered with an RFC 6749 5.2 error.
    Refused {
        endpoint: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// No usable answer (unreachable, timeout, not a token response).
    Unavailable { endpoint: String, reason: String },
    /// The service account's key did not sign.
    Signing(String),
}

/// The RFC 7523 assertion of `account` at `now` (shared clock).
pub fn assertion(account: &ServiceAccount, now: i64) -> Result<Secret, String> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(account.private_key_id.clone());
    let claims = json!({
        "iss": account.client_email,
        "aud": account.token_uri,
        "scope": DIALOGFLOW_SCOPE,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
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
    let now = state.clock.now();
    let cached = reuse
        .then(|| state.vault.token(org, credential))
        .flatten()
        // Only a token with a known lifetime is reused.
        .filter(|t| t.expires_at.is_some() && t.usable(now, Margin::Fixed(EXPIRY_MARGIN_SECS)));
    if let Some(t) = cached {
        return Ok(NluToken {
            value: t.access_token,
            cached: true,
        });
    }
    let (endpoint, form, presented) = match key {
        ProviderKey::Dialogflow(account) => {
            let jwt = assertion(account, now).map_err(TokenFailure::Signing)?;
            let form = vec![
                ("grant_type", JWT_BEARER_GRANT.to_string()),
                ("assertion", jwt.expose().to_string()),
            ];
            (account.token_uri.clone(), form, jwt)
        }
        ProviderKey::Watson(w) => {
            let form = vec![
                ("grant_type", IAM_APIKEY_GRANT.to_string()),
                ("apikey", w.apikey.expose().to_string()),
            ];
            (w.iam_url.to_string(), form, w.apikey.clone())
        }
    };
    let answer = exchange(state, &endpoint, &form, &presented).await?;
    let expires_at = answer.expires_in.map(|s| now + s).or(answer.expiration);
    let token = Secret::new(answer.access_token);
    if expires_at.is_some() {
        let stored = StoredToken {
            access_token: token.clone(),
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
        value: token,
        cached: false,
    })
}

/// Forget the cached token of `credential` (the engine refused it).
pub fn forget(state: &PlatformState, org: &OrgId, credential: &str) {
    if let Err(e) = state.vault.drop_token(org, credential) {
        tracing::warn!(error = ?e, "the NLU token could not be dropped");
    }
}

/// A token response (RFC 6749 5.1; IAM adds `expiration`).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    /// IAM: when the token expires, Unix seconds.
    #[serde(default)]
    expiration: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

/// An error response (RFC 6749 5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
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

async fn exchange(
    state: &PlatformState,
    endpoint: &str,
    form: &[(&str, String)],
    presented: &Secret,
) -> Result<TokenAnswer, TokenFailure> {
    let unavailable = |reason: String| TokenFailure::Unavailable {
        endpoint: endpoint.to_string(),
        reason,
    };
    let response = state
        .api_http
        .post(endpoint)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| {
            unavailable(if e.is_timeout() {
                "it did not answer in time".into()
            } else {
                "it could not be reached".into()
            })
        })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|_| unavailable("its answer could not be read".into()))?;
    if status.is_success() {
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            unavailable(format!(
                "it answered {} without a token response",
                status.as_u16()
            ))
        })?;
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(unavailable(
                "it issued a token that is not a bearer token".into(),
            ));
        }
        if answer.access_token.is_empty() {
            return Err(unavailable("it issued an empty access token".into()));
        }
        return Ok(answer);
    }
    match serde_json::from_slice::<ErrorAnswer>(&body) {
        Ok(e) if status.is_client_error() => Err(TokenFailure::Refused {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            error: tidy(&e.error, presented),
            description: e.error_description.map(|d| tidy(&d, presented)),
        }),
        _ => Err(unavailable(format!("it answered {}", status.as_u16()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::credentials::nlu::tests::rsa_pem;

    #[test]
    fn the_assertion_is_rfc_7523_with_the_key_id() {
        let account = ServiceAccount {
            project_id: "p".into(),
            private_key_id: "kid-1".into(),
            private_key: Secret::new(rsa_pem()),
            client_email: "sa@p.iam.gserviceaccount.com".into(),
            token_uri: "http://127.0.0.1:1/token".into(),
        };
        let jwt = assertion(&account, 1000).unwrap();
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
