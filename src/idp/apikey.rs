//! API keys in the style of IBM Cloud IAM, the credential of IBM Watson
//! services: a long random key exchanged at the token endpoint for a
//! one-hour bearer token,
//! `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>`, answered
//! `{"access_token", "token_type": "Bearer", "expires_in", "expiration",
//! "scope"}` (`expiration`: Unix seconds on the shared clock, as IAM sends
//! it). No client authentication is needed (IAM accepts its fixed `bx:bx`
//! Basic credential or none; client credentials sent along are ignored).
//! An unknown key is `invalid_grant` in the RFC 6749 5.2 JSON shape, not
//! IAM's own error format.
//!
//! Keys come from the fixtures (`[[api_keys]]`) or are created at run time
//! ([`IdpState::create_api_key`], `POST /admin/api-keys`). A key is held as
//! a [`Secret`], found by its hash ([`TokenId`]) and then compared in
//! constant time; it is never shown again after creation.
//!
//! ```toml
//! [[api_keys]]
//! id = "ApiKey-demo"
//! apikey = "a-long-random-key"
//! iam_id = "iam-ServiceId-demo"
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::admin::ControlError;
use super::error::TokenError;
use super::service_accounts::{hex, random_bytes};
use super::service_token::{DEFAULT_TTL_SECS, NLU_AUDIENCE, ServiceGrant, check_settings, issue};
use super::state::{Grant, IdpState, Scope, TokenId};
use crate::clock::Instant;
use crate::secret::{Secret, random_token};

/// The grant type URN of IBM Cloud IAM.
pub const GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// The scope of API-key tokens (what IAM puts in its tokens).
pub const SCOPE: &str = "ibm openid";

/// The longest token lifetime an API key may be configured with.
pub const MAX_TTL_SECS: u64 = 3600;

/// One API key (`[[api_keys]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The key's public id (what deletion names), e.g. `ApiKey-...`.
    pub id: String,
    /// The key itself.
    pub apikey: Secret,
    /// The identity the key acts as: the `sub` and `iam_id` of its tokens.
    pub iam_id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `aud` of the tokens it gets.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Lifetime of the tokens it gets, at most [`MAX_TTL_SECS`].
    #[serde(default = "default_ttl")]
    pub access_token_ttl_secs: u64,
}

fn default_audience() -> String {
    NLU_AUDIENCE.into()
}
fn default_ttl() -> u64 {
    DEFAULT_TTL_SECS
}

impl ApiKeyConfig {
    /// Check the entry; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("id: must not be empty".into());
        }
        let key = self.apikey.expose();
        if key.len() < 16 {
            return Err("apikey: must be at least 16 characters".into());
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("apikey: only visible ASCII characters, no spaces".into());
        }
        if self.iam_id.trim().is_empty() {
            return Err("iam_id: must not be empty".into());
        }
        check_settings(&self.audience, self.access_token_ttl_secs, MAX_TTL_SECS)
    }
}

/// An API key to create at run time; the IdP generates the key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The URL of the service the key is for (a Watson instance URL such
    /// as `{nlu}/instances/{id}`), handed back as the credentials' `url`.
    /// Default: this IdP's token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_secs: Option<u64>,
}

/// Service credentials as IBM Cloud hands them out for a Watson instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyFile {
    /// The key itself, shown this once.
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub apikey: Secret,
    /// The service URL given at creation, or the IAM token URL.
    pub url: String,
    /// Where the key is exchanged for a token (IBM SDKs' `iam_url`).
    pub iam_url: String,
    pub iam_apikey_id: String,
    pub iam_apikey_name: String,
    pub iam_id: String,
}

impl IdpState {
    /// Register an API key (fixture style).
    pub fn add_api_key(&self, key: ApiKeyConfig) -> Result<(), ControlError> {
        key.validate().map_err(ControlError::Invalid)?;
        let hash = TokenId::of(key.apikey.expose());
        let mut store = self.store();
        if store.api_keys.values().any(|k| k.id == key.id) {
            return Err(ControlError::Conflict(format!("API key {} exists", key.id)));
        }
        if store.api_keys.contains_key(&hash) {
            return Err(ControlError::Conflict(
                "this API key value is already registered".into(),
            ));
        }
        store.api_keys.insert(hash, key);
        Ok(())
    }

    /// Create an API key with a random value and return its credentials
    /// (the only time the value is shown).
    pub fn create_api_key(&self, request: NewApiKey) -> Result<ApiKeyFile, ControlError> {
        let iam_url = format!("{}/token", self.issuer);
        let url = match request.url {
            None => iam_url.clone(),
            Some(url) => match url::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    url.trim_end_matches('/').to_string()
                }
                _ => {
                    return Err(ControlError::Invalid(format!(
                        "url: `{url}` is not an absolute http(s) URL"
                    )));
                }
            },
        };
        let suffix = hex(&random_bytes::<16>());
        let id = format!("ApiKey-{suffix}");
        let iam_id = format!("iam-ServiceId-{suffix}");
        let name = request
            .name
            .unwrap_or_else(|| format!("apikey-{}", &suffix[..8]));
        let key = ApiKeyConfig {
            id: id.clone(),
            apikey: Secret::new(random_token(33)),
            iam_id: iam_id.clone(),
            name: Some(name.clone()),
            audience: request.audience.unwrap_or_else(default_audience),
            access_token_ttl_secs: request.access_token_ttl_secs.unwrap_or(DEFAULT_TTL_SECS),
        };
        let apikey = key.apikey.clone();
        self.add_api_key(key)?;
        Ok(ApiKeyFile {
            apikey,
            url,
            iam_url,
            iam_apikey_id: id,
            iam_apikey_name: name,
            iam_id,
        })
    }

    /// Delete the API key whose id is `id`: it no longer gets tokens
    /// (tokens already issued live until they expire).
    pub fn remove_api_key(&self, id: &str) -> Result<(), ControlError> {
        let mut store = self.store();
        let before = store.api_keys.len();
        store.api_keys.retain(|_, k| k.id != id);
        if store.api_keys.len() == before {
            return Err(ControlError::NotFound(format!("no API key {id}")));
        }
        Ok(())
    }

    /// The registered key whose value is `presented`, compared in constant time.
    fn api_key(&self, presented: &str) -> Option<ApiKeyConfig> {
        self.store()
            .api_keys
            .get(&TokenId::of(presented))
            .filter(|k| k.apikey.matches(presented))
            .cloned()
    }
}

/// A successful API-key token response.
#[derive(Debug, Serialize)]
pub struct ApiKeyTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// When the token expires, Unix seconds (IAM's field).
    pub expiration: Instant,
    pub scope: String,
}

/// Exchange a token request's API key for an access token.
pub fn exchange(state: &IdpState, presented: &str) -> Result<ApiKeyTokenResponse, TokenError> {
    let key = state
        .api_key(presented)
        .ok_or_else(|| TokenError::invalid_grant("the API key is unknown or was deleted"))?;
    let scope = Scope::parse(SCOPE);
    let mut extra = Map::new();
    extra.insert("iam_id".into(), key.iam_id.clone().into());
    let issued = issue(
        state,
        ServiceGrant {
            grant: Grant::ApiKey,
            grant_type: GRANT_TYPE,
            sub: &key.iam_id,
            client_id: &key.iam_id,
            audience: &key.audience,
            scope: &scope,
            ttl_secs: key.access_token_ttl_secs,
            extra,
        },
    )?;
    Ok(ApiKeyTokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        expiration: issued.expires_at,
        scope: scope.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKeyConfig {
        ApiKeyConfig {
            id: "ApiKey-1".into(),
            apikey: Secret::new("0123456789abcdef0123"),
            iam_id: "iam-ServiceId-1".into(),
            name: None,
            audience: default_audience(),
            access_token_ttl_secs: 3600,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(key().validate(), Ok(()));
        let mut k = key();
        k.apikey = Secret::new("short");
        assert!(k.validate().unwrap_err().starts_with("apikey"));
        let mut k = key();
        k.apikey = Secret::new("0123456789abcdef 0123");
        assert!(k.validate().unwrap_err().starts_with("apikey"));
        let mut k = key();
        k.iam_id = " ".into();
        assert!(k.validate().unwrap_err().starts_with("iam_id"));
        let mut k = key();
        k.access_token_ttl_secs = 0;
        assert!(
            k.validate()
                .unwrap_err()
                .starts_with("access_token_ttl_secs")
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_or_errors() {
        let k = key();
        assert!(!format!("{k:?}").contains("0123456789abcdef0123"));
        let mut k = key();
        k.apikey = Secret::new("short-secret");
        assert!(!k.validate().unwrap_err().contains("short-secret"));
    }
}
