//! The platform's client side of OAuth 2.0 and OpenID Connect, one piece
//! for every flow: discovery (the `openidconnect` crate, exact issuer
//! match), one token request for every grant ([`token_request`], client
//! authentication as the provider wants it), one lenient reader of token
//! responses ([`token_response`]), one ID token check ([`id_token`]),
//! revocation ([`revoke`]).
//!
//! Tolerant where the standards allow (a numeric-string `expires_in`, no
//! `scope`, `bearer` in any case: each recorded as a departure), strict
//! where security needs it (ID tokens, `iss`, a token that is not Bearer,
//! an error sent with HTTP 200).
//!
//! The crate's own reqwest (0.12) is off, so [`Http`] adapts reqwest 0.13
//! to its `AsyncHttpClient` for discovery, with redirects off (following a
//! redirect from a token endpoint would open the client to SSRF and leak
//! the code).
//!
//! Only the access token and its lifetime leave [`OAuthClient::exchange_code`],
//! with what people may see of the exchange (the request as logged, the ID
//! token's claims with its nonce and hashes hidden): a refresh token in the
//! response is dropped with the response, never stored, never logged, never
//! presented. Consumer Pre-Authentication
//! is the exception: [`pre_auth`] keeps every token of a consumer session,
//! and [`revoke`] revokes them when the session ends (RFC 7009).

pub mod held_token;
pub mod id_token;
pub mod outbound;
pub mod pre_auth;
pub mod revoke;
pub mod single_flight;
pub mod state_store;
pub mod token_request;
pub mod token_response;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse, IssuerUrl, ProviderMetadata};
use tracing::instrument;

use outbound::OutboundRequest;
use token_request::{ClientAuthMethod, Grant};
use token_response::{Departure, TokenError, TokenResponse};

use super::org::DelegatedAccessProvider;
use crate::clock::Clock;
use crate::secret::{Nonce, PkceVerifier, Secret};

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
/// what was checked, dropped or tolerated (for the event log).
pub struct Exchanged {
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    pub id_token_validated: bool,
    pub refresh_token_dropped: bool,
    /// Tolerated departures of the token response from the standard.
    pub departures: Vec<Departure>,
    /// The token request as logged ([`outbound`]): names and numbers only.
    pub request: Option<OutboundRequest>,
    /// The validated ID token's claims as people may see them
    /// ([`id_token::shown_claims`]), when there was one.
    pub id_token_claims: Option<serde_json::Value>,
}

/// A failed exchange, with the token request as logged when one was sent
/// (none when discovery or the configuration failed first). `Display` is
/// the error's.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ExchangeFailure {
    pub error: ExchangeError,
    pub request: Option<OutboundRequest>,
}

/// Why an exchange failed. `Display` never contains a token or a code.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("the provider configuration is unusable: {0}")]
    Config(String),
    /// The token endpoint gave no token.
    #[error("{0}")]
    Token(TokenError),
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
}

impl ExchangeError {
    /// The RFC 6749 5.2 `error` code, when the token endpoint answered one.
    pub fn refused_code(&self) -> Option<&str> {
        match self {
            ExchangeError::Token(t) => t.code(),
            _ => None,
        }
    }

    /// Whether trying again later may work: the provider was unreachable,
    /// overloaded or answered something unreadable, rather than refusing.
    pub fn transient(&self) -> bool {
        match self {
            ExchangeError::Discovery(_) => true,
            ExchangeError::Token(t) => match t {
                TokenError::Unreachable
                | TokenError::RateLimited { .. }
                | TokenError::NotJson { .. } => true,
                TokenError::Status { status, .. } => *status >= 500,
                TokenError::Refused { code, .. } => {
                    matches!(code.as_str(), "temporarily_unavailable" | "server_error")
                }
                _ => false,
            },
            ExchangeError::Config(_) | ExchangeError::IdToken(_) => false,
        }
    }
}

/// The parts of a discovery document the `openidconnect` crate's core
/// metadata leaves out: where tokens are revoked (RFC 8414 2), and whether
/// authorization responses carry `iss` (RFC 9207 3).
///
/// Read leniently: a member of an unexpected type is taken as absent
/// rather than failing the whole discovery document (a `"true"` string for
/// the flag counts as true).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct ExtraMetadata {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub revocation_endpoint: Option<String>,
    #[serde(default, deserialize_with = "lenient_flag")]
    pub authorization_response_iss_parameter_supported: bool,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    Ok(v.as_str().map(str::to_string))
}

fn lenient_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

impl openidconnect::AdditionalProviderMetadata for ExtraMetadata {}

/// A discovery document: the core metadata and [`ExtraMetadata`].
pub type Metadata = ProviderMetadata<
    ExtraMetadata,
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

/// Where and how to ask a provider for tokens.
struct Endpoint {
    /// The issuer, when the provider was discovered.
    issuer: Option<String>,
    meta: Option<Metadata>,
    token_url: String,
    method: ClientAuthMethod,
}

/// The clock difference tolerated in ID token times, by default.
pub const DEFAULT_LEEWAY_SECS: i64 = 60;

/// Discovery results by issuer, refetched after a failure.
#[derive(Clone)]
pub struct OAuthClient {
    http: Http,
    discovered: Arc<Mutex<HashMap<String, Metadata>>>,
    timeout: Duration,
    leeway_secs: i64,
    log: outbound::OutboundLog,
    clock: Clock,
}

impl OAuthClient {
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: Http::new(timeout),
            discovered: Arc::default(),
            timeout,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            log: outbound::OutboundLog::default(),
            clock: Clock::new(),
        }
    }

    /// Log outbound requests to `log`, dated on `clock`.
    pub fn with_log(mut self, log: outbound::OutboundLog, clock: Clock) -> Self {
        self.log = log;
        self.clock = clock;
        self
    }

    /// Where revocations are logged.
    fn recorder(&self) -> token_request::Recorder<'_> {
        token_request::Recorder {
            log: &self.log,
            clock: &self.clock,
        }
    }

    /// The tolerated clock difference in ID token times.
    pub fn with_leeway(mut self, secs: i64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// The discovery document of `issuer` (exactly as configured: OpenID
    /// Connect Discovery 4.3 wants the document's `issuer` identical).
    pub async fn metadata(&self, issuer: &str) -> Result<Metadata, ExchangeError> {
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
            .map_err(|e| ExchangeError::Discovery(discovery_error(&e)))?;
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

    /// Whether `provider`'s authorization responses must carry `iss`
    /// (RFC 9207 2.4: when its metadata says so). `None` when discovery
    /// fails (the exchange will say so).
    pub async fn iss_parameter_required(&self, provider: &DelegatedAccessProvider) -> Option<bool> {
        let issuer = provider.issuer_str()?;
        let meta = self.metadata(&issuer).await.ok()?;
        Some(
            meta.additional_metadata()
                .authorization_response_iss_parameter_supported,
        )
    }

    /// The token endpoint of `provider` and how to authenticate there:
    /// the provider's setting, else what its discovery document offers.
    async fn endpoint(
        &self,
        provider: &DelegatedAccessProvider,
    ) -> Result<Endpoint, ExchangeError> {
        match provider.issuer_str() {
            Some(issuer) => {
                let meta = self.metadata(&issuer).await?;
                let token_url = meta
                    .token_endpoint()
                    .ok_or_else(|| {
                        ExchangeError::Config("discovery advertises no token endpoint".into())
                    })?
                    .to_string();
                let method = match provider.token_endpoint_auth {
                    Some(m) => m,
                    None => {
                        let supported: Option<Vec<String>> = meta
                            .token_endpoint_auth_methods_supported()
                            .map(|ms| ms.iter().map(|m| m.as_ref().to_string()).collect());
                        ClientAuthMethod::choose(supported.as_deref())
                            .map_err(ExchangeError::Config)?
                    }
                };
                Ok(Endpoint {
                    issuer: Some(issuer),
                    meta: Some(meta),
                    token_url,
                    method,
                })
            }
            None => {
                let Some(token_endpoint) = &provider.token_endpoint else {
                    return Err(ExchangeError::Config(
                        "no issuer and no token endpoint".into(),
                    ));
                };
                Ok(Endpoint {
                    issuer: None,
                    meta: None,
                    token_url: token_endpoint.to_string(),
                    method: provider.token_endpoint_auth.unwrap_or_default(),
                })
            }
        }
    }

    /// One token request to `provider`; a failure makes the next request
    /// discover afresh (the endpoint or the keys may have moved).
    async fn token(
        &self,
        provider: &DelegatedAccessProvider,
        grant: &Grant<'_>,
    ) -> Result<(Endpoint, TokenResponse), ExchangeError> {
        self.token_logged(provider, grant).await.0
    }

    /// [`Self::token`], also handing back the request as logged (none when
    /// no request was sent).
    async fn token_logged(
        &self,
        provider: &DelegatedAccessProvider,
        grant: &Grant<'_>,
    ) -> (
        Result<(Endpoint, TokenResponse), ExchangeError>,
        Option<OutboundRequest>,
    ) {
        let endpoint = match self.endpoint(provider).await {
            Ok(e) => e,
            Err(e) => return (Err(e), None),
        };
        let client = token_request::Client {
            id: &provider.client_id,
            secret: &provider.client_secret,
            method: endpoint.method,
        };
        let (result, logged) = token_request::request_logged(
            &self.http.0,
            &endpoint.token_url,
            Some(&client),
            grant,
            self.timeout,
            &self.recorder(),
        )
        .await;
        let result = match result {
            Ok(tokens) => Ok((endpoint, tokens)),
            Err(e) => {
                if let Some(issuer) = &endpoint.issuer {
                    self.forget(issuer);
                }
                Err(ExchangeError::Token(e))
            }
        };
        (result, Some(logged))
    }

    /// Check an ID token of `endpoint`'s provider; returns its `sub`.
    fn check_id_token(
        &self,
        endpoint: &Endpoint,
        provider: &DelegatedAccessProvider,
        raw: &Secret,
        nonce: Option<&Nonce>,
        access_token: &Secret,
        clock: &Clock,
    ) -> Result<String, ExchangeError> {
        let Some(meta) = &endpoint.meta else {
            return Err(ExchangeError::Config(
                "an ID token needs the provider's issuer to be checked".into(),
            ));
        };
        let expect = id_token::Expect {
            client_id: &provider.client_id,
            client_secret: &provider.client_secret,
            nonce,
            access_token,
            now: clock.now(),
            leeway_secs: self.leeway_secs,
        };
        id_token::check(raw, meta, &expect).map_err(|e| {
            // Perhaps the keys rotated: discover afresh next time.
            if let Some(issuer) = &endpoint.issuer {
                self.forget(issuer);
            }
            ExchangeError::IdToken(e)
        })
    }

    /// Exchange an authorization code server to server (RFC 6749 4.1.3,
    /// RFC 7636 4.5), and validate the ID token (OIDC Core 3.1.3.7), which
    /// must be there when `openid` was asked for (OIDC Core 3.1.3.3) and a
    /// discovered issuer can check it; with a bare token endpoint, an ID
    /// token is ignored.
    ///
    /// Success and failure both carry the token request as logged, for the
    /// conversation's timeline.
    #[instrument(skip_all)]
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange_code(
        &self,
        provider: &DelegatedAccessProvider,
        code: &str,
        verifier: &PkceVerifier,
        redirect_uri: &str,
        nonce: &Nonce,
        openid_requested: bool,
        clock: &Clock,
    ) -> Result<Exchanged, ExchangeFailure> {
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier: Some(verifier),
        };
        let (result, request) = self.token_logged(provider, &grant).await;
        let fail = |error| ExchangeFailure {
            error,
            request: request.clone(),
        };
        let (endpoint, tokens) = result.map_err(fail)?;
        let id_token_claims = match (&tokens.id_token, endpoint.meta.is_some()) {
            (Some(raw), true) => {
                self.check_id_token(
                    &endpoint,
                    provider,
                    raw,
                    Some(nonce),
                    &tokens.access_token,
                    clock,
                )
                .map_err(fail)?;
                // Checked: an undecodable payload cannot get here.
                Some(id_token::shown_claims(raw).unwrap_or_default())
            }
            (None, true) if openid_requested => {
                return Err(fail(ExchangeError::IdToken(
                    "the token response has no id_token although the openid scope was asked for (OIDC Core 3.1.3.3)".into(),
                )));
            }
            _ => None,
        };
        Ok(Exchanged {
            expires_in: tokens.expires_in.map(Duration::from_secs),
            id_token_validated: id_token_claims.is_some(),
            refresh_token_dropped: tokens.refresh_token.is_some(),
            access_token: tokens.access_token,
            departures: tokens.departures,
            request,
            id_token_claims,
        })
    }
}

/// A discovery failure in words, never a body.
fn discovery_error<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    token_response::sanitise(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider's `token_endpoint_auth` wins; without it, Basic.
    #[tokio::test]
    async fn the_client_authenticates_as_the_provider_says() {
        use wiremock::matchers::{body_string_contains, header_exists, method};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let answer = || {
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60}),
            )
        };
        for (method_set, body_secret) in [
            (Some(ClientAuthMethod::ClientSecretPost), true),
            (None, false),
        ] {
            let server = MockServer::start().await;
            let matcher = Mock::given(method("POST"));
            let mock = if body_secret {
                matcher.and(body_string_contains("client_secret=s3cret"))
            } else {
                matcher.and(header_exists("authorization"))
            };
            mock.respond_with(answer()).expect(1).mount(&server).await;
            let provider = DelegatedAccessProvider {
                issuer: None,
                token_endpoint: Some(url::Url::parse(&format!("{}/token", server.uri())).unwrap()),
                client_id: "c".into(),
                client_secret: Secret::new("s3cret"),
                token_endpoint_auth: method_set,
            };
            let client = OAuthClient::new(Duration::from_secs(5));
            let exchanged = client
                .exchange_code(
                    &provider,
                    "code",
                    &PkceVerifier::new("v"),
                    "http://127.0.0.1:1/cb",
                    &Nonce::new("n"),
                    true,
                    &Clock::new(),
                )
                .await
                .unwrap();
            assert_eq!(exchanged.expires_in, Some(Duration::from_secs(60)));
            let logged = client.log.entries();
            assert_eq!(logged[0].client_auth, method_set.unwrap_or_default().name());
        }
    }

    #[test]
    fn extra_metadata_is_read_leniently() {
        let read = |v: serde_json::Value| serde_json::from_value::<ExtraMetadata>(v).unwrap();
        let m = read(
            serde_json::json!({"revocation_endpoint": "https://idp/revoke", "authorization_response_iss_parameter_supported": true}),
        );
        assert_eq!(m.revocation_endpoint.as_deref(), Some("https://idp/revoke"));
        assert!(m.authorization_response_iss_parameter_supported);
        let m = read(
            serde_json::json!({"revocation_endpoint": 5, "authorization_response_iss_parameter_supported": "true"}),
        );
        assert_eq!(m.revocation_endpoint, None);
        assert!(m.authorization_response_iss_parameter_supported);
        let m = read(serde_json::json!({"authorization_response_iss_parameter_supported": null}));
        assert!(!m.authorization_response_iss_parameter_supported);
        assert!(!read(serde_json::json!({})).authorization_response_iss_parameter_supported);
    }
}
