//! The client side of OAuth 2.0 and OpenID Connect, through the
//! `openidconnect` crate: discovery, the authorization code exchange
//! (client secret, PKCE verifier, the same `redirect_uri`), and ID token
//! validation (signature, `iss`, `aud`, `exp`, `nonce`, `at_hash`).
//!
//! The crate's own reqwest (0.12) is off, so [`Http`] adapts reqwest 0.13
//! to its `AsyncHttpClient`, with redirects off (following a redirect from
//! a token endpoint would open the client to SSRF and leak the code).
//!
//! Only the access token and its lifetime leave [`OAuthClient::exchange_code`]: a
//! refresh token in the response is dropped with the response, never
//! stored, never logged, never presented. Consumer Pre-Authentication
//! is the exception: [`pre_auth`] keeps every token of a consumer session,
//! and [`revoke`] revokes them when the session ends (RFC 7009).

pub mod pre_auth;
pub mod revoke;
pub mod token_request;
pub mod token_response;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
    CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, HttpRequest,
    HttpResponse, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, RequestTokenError, TokenResponse as _, TokenUrl,
};
use tracing::instrument;

use super::org::DelegatedAccessProvider;
use crate::clock::Clock;
use crate::secret::Secret;

/// reqwest 0.13 as the crate's HTTP client, redirects off.
#[derive(Clone)]
pub struct Http(reqwest::Client);

impl Http {
    pub fn new(timeout: Duration) -> Self {
        Http(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .build()
                .expect("reqwest client builds with rustls"),
        )
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| std::io::Error::other(e.without_url()))?;
            let mut builder = openidconnect::http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| std::io::Error::other(e.without_url()))?;
            builder.body(body.to_vec()).map_err(std::io::Error::other)
        })
    }
}

/// What a successful exchange yields: the access token, its lifetime, and
/// what was checked or dropped (for the event log).
pub struct Exchanged {
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    pub id_token_validated: bool,
    pub refresh_token_dropped: bool,
}

/// Why an exchange failed. `Display` never contains a token or a code.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("the provider configuration is unusable: {0}")]
    Config(String),
    /// RFC 6749 5.2 error response.
    #[error("the token endpoint refused: {0}")]
    Refused(String),
    #[error("the token endpoint could not be reached or timed out")]
    Unreachable,
    #[error("the token endpoint's response is malformed")]
    Malformed,
    #[error("the token endpoint issued a {0} token, not a bearer token")]
    NotBearer(String),
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
}

/// A discovery document: the core metadata and the revocation endpoint.
type Metadata = ProviderMetadata<
    revoke::RevocationMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Discovery results by issuer, refetched after a failure.
#[derive(Clone)]
pub struct OAuthClient {
    http: Http,
    discovered: Arc<Mutex<HashMap<String, Metadata>>>,
}

impl OAuthClient {
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: Http::new(timeout),
            discovered: Arc::default(),
        }
    }

    async fn metadata(&self, issuer: &str) -> Result<Metadata, ExchangeError> {
        let cached = self
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(issuer)
            .cloned();
        if let Some(meta) = cached {
            return Ok(meta);
        }
        let url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| ExchangeError::Config(format!("issuer: {e}")))?;
        let meta = Metadata::discover_async(url, &self.http)
            .await
            .map_err(|e| ExchangeError::Discovery(e.to_string()))?;
        self.discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_string(), meta.clone());
        Ok(meta)
    }

    fn forget(&self, issuer: &str) {
        self.discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(issuer);
    }

    /// Exchange an authorization code server to server (RFC 6749 4.1.3,
    /// RFC 7636 4.5), and validate the ID token if one comes back (OIDC
    /// Core 3.1.3.7; `exp` read on the shared clock).
    #[instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        provider: &DelegatedAccessProvider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
        nonce: &Secret,
        clock: &Clock,
    ) -> Result<Exchanged, ExchangeError> {
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| ExchangeError::Config(format!("redirect_uri: {e}")))?;
        let client_id = ClientId::new(provider.client_id.clone());
        let secret = ClientSecret::new(provider.client_secret.expose().to_string());
        let code = AuthorizationCode::new(code.to_string());
        let pkce = PkceCodeVerifier::new(verifier.expose().to_string());

        if let Some(issuer) = provider.issuer_str() {
            let meta = self.metadata(&issuer).await?;
            let client = CoreClient::from_provider_metadata(meta, client_id, Some(secret))
                .set_redirect_uri(redirect);
            let request = client.exchange_code(code).map_err(|_| {
                ExchangeError::Config("discovery advertises no token endpoint".into())
            })?;
            let tokens = request
                .set_pkce_verifier(pkce)
                .request_async(&self.http)
                .await
                .map_err(classify);
            let tokens = match tokens {
                Ok(t) => t,
                Err(e) => {
                    self.forget(&issuer);
                    return Err(e);
                }
            };
            let validated = match tokens.id_token() {
                None => false,
                Some(id_token) => {
                    let verifier = client.id_token_verifier();
                    let nonce = Nonce::new(nonce.expose().to_string());
                    let checked = id_token
                        .claims(&verifier, &nonce)
                        .map_err(|e| e.to_string())
                        .and_then(|claims| {
                            // The crate reads system time; every expiry
                            // decision here reads the shared clock too.
                            if claims.expiration().timestamp() <= clock.now() {
                                return Err("expired on the shared clock".to_string());
                            }
                            if let Some(expected) = claims.access_token_hash() {
                                let alg = id_token.signing_alg().map_err(|e| e.to_string())?;
                                let key =
                                    id_token.signing_key(&verifier).map_err(|e| e.to_string())?;
                                let actual =
                                    AccessTokenHash::from_token(tokens.access_token(), alg, key)
                                        .map_err(|e| e.to_string())?;
                                if &actual != expected {
                                    return Err("at_hash does not match the access token".into());
                                }
                            }
                            Ok(())
                        });
                    if let Err(e) = checked {
                        // Perhaps the keys rotated: discover afresh next time.
                        self.forget(&issuer);
                        return Err(ExchangeError::IdToken(e));
                    }
                    true
                }
            };
            access_only(tokens, validated)
        } else {
            let Some(token_endpoint) = &provider.token_endpoint else {
                return Err(ExchangeError::Config(
                    "no issuer and no token endpoint".into(),
                ));
            };
            let token_url = TokenUrl::new(token_endpoint.to_string())
                .map_err(|e| ExchangeError::Config(format!("token_endpoint: {e}")))?;
            // No issuer: no keys to check an ID token with; it is ignored.
            let issuer = IssuerUrl::new(token_endpoint.origin().ascii_serialization())
                .map_err(|e| ExchangeError::Config(format!("token_endpoint: {e}")))?;
            let client = CoreClient::new(client_id, issuer, JsonWebKeySet::default())
                .set_client_secret(secret)
                .set_redirect_uri(redirect)
                .set_token_uri(token_url);
            let tokens = client
                .exchange_code(code)
                .set_pkce_verifier(pkce)
                .request_async(&self.http)
                .await
                .map_err(classify)?;
            access_only(tokens, false)
        }
    }
}

/// Keep the access token and its lifetime; drop everything else,
/// including any refresh token, with the response.
fn access_only(tokens: CoreTokenResponse, validated: bool) -> Result<Exchanged, ExchangeError> {
    if tokens.token_type() != &CoreTokenType::Bearer {
        return Err(ExchangeError::NotBearer(
            tokens.token_type().as_ref().to_string(),
        ));
    }
    Ok(Exchanged {
        access_token: Secret::new(tokens.access_token().secret().clone()),
        expires_in: tokens.expires_in(),
        id_token_validated: validated,
        refresh_token_dropped: tokens.refresh_token().is_some(),
    })
}

fn classify<RE: std::error::Error + 'static>(
    e: RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> ExchangeError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            // The RFC 6749 5.2 code only; descriptions are the server's words.
            ExchangeError::Refused(r.error().as_ref().to_string())
        }
        RequestTokenError::Request(_) => ExchangeError::Unreachable,
        // Never the body: it may hold a token.
        RequestTokenError::Parse(..) => ExchangeError::Malformed,
        RequestTokenError::Other(_) => ExchangeError::Malformed,
    }
}
