//! Token revocation, client side (RFC 7009): telling the provider that a
//! token the platform held is no longer needed.
//!
//! The endpoint comes from the provider's discovery document
//! (`revocation_endpoint`, RFC 8414 section 2; OpenID Connect Discovery
//! leaves it to that extension), read with the rest of the metadata and
//! cached with it. A provider reached by a bare token endpoint has no
//! discovery document, so nothing can be revoked there.
//!
//! The request is the one of RFC 7009 section 2.1: `token` and
//! `token_type_hint` as a form, with the client authenticated exactly as
//! at the token endpoint ([`super::token_request`]: `client_secret_basic`,
//! id and secret each form-encoded first, or `client_secret_post`). A 200 means the token is revoked or was unknown (section 2.2);
//! anything else is a failure whose description never holds the token or
//! the response body. The request is built here rather than by the
//! `oauth2` crate, which refuses a revocation endpoint that is not HTTPS
//! even where the token endpoint it talks to is (a loopback IdP in tests).

use reqwest::header;
use serde::Deserialize;
use tracing::instrument;
use url::Url;

use super::token_request::{ClientAuthMethod, Sent, basic};
use super::token_response::TokenError;
use super::{ExchangeError, OAuthClient};
use crate::platform::org::DelegatedAccessProvider;
use crate::secret::Secret;

/// Which token is revoked: sent as `token_type_hint` (RFC 7009 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// The hint's value.
    pub fn hint(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// Why a token was not revoked. `Display` never holds a token or a body.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// A bare token endpoint: no discovery document to find one in.
    #[error("the provider has no issuer, so it has no discoverable revocation endpoint")]
    NoIssuer,
    #[error("the provider advertises no revocation endpoint")]
    NotAdvertised,
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("the revocation endpoint is unusable: {0}")]
    Config(String),
    /// RFC 7009 2.2.1 (or RFC 6749 5.2) error code.
    #[error("the revocation endpoint refused: {0}")]
    Refused(String),
    #[error("the revocation endpoint could not be reached or timed out")]
    Unreachable,
    #[error("the revocation endpoint answered an error without an error code")]
    Failed,
}

impl RevokeError {
    /// The provider offers no way to revoke: nothing to try, nothing failed.
    pub fn unsupported(&self) -> bool {
        matches!(self, RevokeError::NoIssuer | RevokeError::NotAdvertised)
    }
}

impl OAuthClient {
    /// Revoke `token` at `provider`'s revocation endpoint (RFC 7009 2.1).
    #[instrument(skip_all, fields(token_type_hint = kind.hint()))]
    pub async fn revoke(
        &self,
        provider: &DelegatedAccessProvider,
        token: &Secret,
        kind: TokenKind,
    ) -> Result<(), RevokeError> {
        let Some(issuer) = provider.issuer_str() else {
            return Err(RevokeError::NoIssuer);
        };
        let at_token = self.endpoint(provider).await.map_err(|e| match e {
            ExchangeError::Config(why) => RevokeError::Config(why),
            other => RevokeError::Discovery(other.to_string()),
        })?;
        let Some(meta) = &at_token.meta else {
            return Err(RevokeError::NoIssuer);
        };
        let Some(endpoint) = meta.additional_metadata().revocation_endpoint.as_deref() else {
            return Err(RevokeError::NotAdvertised);
        };
        let url = match Url::parse(endpoint) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => u,
            _ => {
                return Err(RevokeError::Config(
                    "revocation_endpoint is not an absolute http(s) URL".into(),
                ));
            }
        };
        let mut request = self
            .http
            .0
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", token.expose())
                .append_pair("token_type_hint", kind.hint());
            match at_token.method {
                ClientAuthMethod::ClientSecretBasic => {
                    let mut value = header::HeaderValue::from_str(
                        basic(provider.client_id.as_str(), &provider.client_secret).expose(),
                    )
                    .map_err(|_| {
                        RevokeError::Config("the client id cannot be sent in a header".into())
                    })?;
                    value.set_sensitive(true);
                    request = request.header(header::AUTHORIZATION, value);
                }
                ClientAuthMethod::ClientSecretPost => {
                    form.append_pair("client_id", provider.client_id.as_str())
                        .append_pair("client_secret", provider.client_secret.expose());
                }
            }
            form.finish()
        };
        let started = std::time::Instant::now();
        let outcome = request.body(body).send().await;
        let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
        let failure = match outcome {
            Ok(r) if r.status() == reqwest::StatusCode::OK => None,
            // The code only: descriptions are the server's words, and the
            // body is never shown.
            Ok(r) => Some(match r.json::<ErrorBody>().await {
                Ok(ErrorBody { error }) if is_code(&error, token) => RevokeError::Refused(error),
                _ => RevokeError::Failed,
            }),
            Err(_) => Some(RevokeError::Unreachable),
        };
        let logged: Result<(), TokenError> = match &failure {
            None => Ok(()),
            Some(RevokeError::Refused(code)) => Err(TokenError::Refused {
                status: status.unwrap_or_default(),
                code: code.clone(),
                description: None,
            }),
            Some(RevokeError::Unreachable) => Err(TokenError::Unreachable),
            Some(_) => Err(TokenError::Status {
                status: status.unwrap_or_default(),
                content_type: String::new(),
            }),
        };
        let sent = Sent {
            kind: "revocation",
            url: endpoint,
            grant_type: None,
            client_auth: at_token.method.name(),
            status,
            departures: Vec::new(),
            returned: Vec::new(),
            expires_in: None,
            started,
        };
        self.recorder().record(sent, &logged);
        let Some(failure) = failure else {
            return Ok(());
        };
        // Perhaps the endpoint moved: discover afresh next time.
        self.forget(&issuer);
        Err(failure)
    }
}

/// An RFC 7009 2.2.1 / RFC 6749 5.2 error body.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// An error code as the registered ones are written (RFC 6749 5.2,
/// RFC 7009 2.2.1: `invalid_client`, `unsupported_token_type`, ...), and
/// not the token itself: only such a code reaches a log line.
fn is_code(code: &str, token: &Secret) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !code.contains(token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A provider whose discovery document advertises `revocation`.
    async fn provider(server: &MockServer, revocation: bool) -> DelegatedAccessProvider {
        let iss = server.uri();
        let mut doc = serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/authorize"),
            "token_endpoint": format!("{iss}/token"),
            "jwks_uri": format!("{iss}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        if revocation {
            doc["revocation_endpoint"] = format!("{iss}/revoke").into();
        }
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(doc))
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": []})))
            .mount(server)
            .await;
        DelegatedAccessProvider {
            issuer: Some(crate::platform::org::Issuer::parse(&iss).unwrap()),
            token_endpoint: None,
            client_id: "platform".into(),
            client_secret: Secret::new("platform-secret"),
            token_endpoint_auth: None,
        }
    }

    #[tokio::test]
    async fn a_token_is_revoked_with_its_hint_and_the_clients_authentication() {
        let server = MockServer::start().await;
        let provider = provider(&server, true).await;
        // client_secret_basic, as at the token endpoint: base64("platform:platform-secret").
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .and(header(
                "authorization",
                "Basic cGxhdGZvcm06cGxhdGZvcm0tc2VjcmV0",
            ))
            .and(body_string_contains("token=rt-1"))
            .and(body_string_contains("token_type_hint=refresh_token"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .and(body_string_contains("token=at-1"))
            .and(body_string_contains("token_type_hint=access_token"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let oauth = OAuthClient::new(Duration::from_secs(5));
        oauth
            .revoke(&provider, &Secret::new("rt-1"), TokenKind::Refresh)
            .await
            .unwrap();
        oauth
            .revoke(&provider, &Secret::new("at-1"), TokenKind::Access)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn failures_say_what_failed_and_never_the_token() {
        let server = MockServer::start().await;
        let provider = provider(&server, true).await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "invalid_client", "error_description": "rt-secret-value"})),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .respond_with(ResponseTemplate::new(503).set_body_string("rt-secret-value"))
            .mount(&server)
            .await;
        let oauth = OAuthClient::new(Duration::from_secs(5));
        let token = Secret::new("rt-secret-value");
        let refused = oauth
            .revoke(&provider, &token, TokenKind::Refresh)
            .await
            .unwrap_err();
        assert!(matches!(&refused, RevokeError::Refused(c) if c == "invalid_client"));
        let failed = oauth
            .revoke(&provider, &token, TokenKind::Refresh)
            .await
            .unwrap_err();
        assert!(matches!(failed, RevokeError::Failed), "{failed:?}");
        for e in [refused, failed] {
            assert!(!e.unsupported());
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("rt-secret-value"), "{shown}");
        }
    }

    #[tokio::test]
    async fn without_an_advertised_endpoint_nothing_is_sent() {
        let server = MockServer::start().await;
        let provider = provider(&server, false).await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let oauth = OAuthClient::new(Duration::from_secs(5));
        let e = oauth
            .revoke(&provider, &Secret::new("rt"), TokenKind::Refresh)
            .await
            .unwrap_err();
        assert!(matches!(e, RevokeError::NotAdvertised) && e.unsupported());
        let bare = DelegatedAccessProvider {
            issuer: None,
            token_endpoint: Some(url::Url::parse(&format!("{}/token", server.uri())).unwrap()),
            ..provider
        };
        let e = oauth
            .revoke(&bare, &Secret::new("rt"), TokenKind::Refresh)
            .await
            .unwrap_err();
        assert!(matches!(e, RevokeError::NoIssuer));
    }
}
