//! The client side of Consumer Pre-Authentication: the code the brand's
//! page obtained is exchanged server to server, and the access token is
//! refreshed while the consumer session lives (source document 003:
//! "access, ID and refresh tokens ... stored within the context of the
//! consumer id").
//!
//! Unlike [`OAuthClient::exchange_code`], every token is kept, and an ID
//! token is required: its `sub` is the consumer id. Both need an issuer
//! (OpenID Connect discovery gives the token endpoint and the keys).
//!
//! ID tokens are validated by the `openidconnect` crate (signature, `iss`,
//! `aud`, `exp`, `at_hash`) and `exp` again on the shared clock. The nonce
//! is checked when the brand's page gives one. A refreshed ID token must
//! name the same `sub` (OpenID Connect Core 1.0 section 12.2); when the
//! refresh response has none, the previous one stays.

use std::time::Duration;

use openidconnect::core::{
    CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreTokenResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, Nonce, OAuth2TokenResponse,
    PkceCodeVerifier, RedirectUrl, RefreshToken, TokenResponse as _,
};
use tracing::instrument;

use super::{ExchangeError, OAuthClient, classify};
use crate::clock::Clock;
use crate::platform::org::DelegatedAccessProvider;
use crate::secret::Secret;

/// What a code exchange yields for a consumer session.
pub struct SignedIn {
    /// The validated ID token's `sub`.
    pub subject: String,
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    pub id_token: Secret,
    pub refresh_token: Option<Secret>,
}

/// What a refresh yields.
pub struct Refreshed {
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    /// A new ID token (same `sub`), if the response had one.
    pub id_token: Option<Secret>,
    /// The rotated refresh token, if the provider rotates them.
    pub refresh_token: Option<Secret>,
}

impl OAuthClient {
    /// A discovered client for `provider`'s issuer.
    async fn issuer_client(
        &self,
        provider: &DelegatedAccessProvider,
    ) -> Result<(String, DiscoveredClient), ExchangeError> {
        let Some(issuer) = provider.issuer_str() else {
            return Err(ExchangeError::Config(
                "Consumer Pre-Authentication needs the provider's issuer (its ID tokens identify the consumer)".into(),
            ));
        };
        let meta = self.metadata(&issuer).await?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(
                provider.client_secret.expose().to_string(),
            )),
        );
        Ok((issuer, client))
    }

    /// Exchange the code the brand's page obtained (RFC 6749 4.1.3, with
    /// its `redirect_uri` and, if it used PKCE, its verifier) and validate
    /// the ID token, which must be there.
    #[instrument(skip_all)]
    pub async fn sign_in_consumer(
        &self,
        provider: &DelegatedAccessProvider,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&Secret>,
        nonce: Option<&Secret>,
        clock: &Clock,
    ) -> Result<SignedIn, ExchangeError> {
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| ExchangeError::Config(format!("redirect_uri: {e}")))?;
        let (issuer, client) = self.issuer_client(provider).await?;
        let client = client.set_redirect_uri(redirect);
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.expose().to_string()))
            .map_err(|_| ExchangeError::Config("discovery advertises no token endpoint".into()))?;
        if let Some(v) = verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v.expose().to_string()));
        }
        let tokens = request.request_async(&self.http).await.map_err(|e| {
            self.forget(&issuer);
            classify(e)
        })?;
        bearer_only(&tokens)?;
        let Some(id_token) = tokens.id_token() else {
            return Err(ExchangeError::IdToken(
                "the token endpoint returned no ID token (was the openid scope asked for?)".into(),
            ));
        };
        let expected = nonce.map(|n| n.expose().to_string());
        let nonce_check = move |got: Option<&Nonce>| match (&expected, got) {
            (None, _) => Ok(()),
            (Some(want), Some(got)) if Secret::new(want.clone()).matches(got.secret()) => Ok(()),
            (Some(_), Some(_)) => Err("nonce mismatch".to_string()),
            (Some(_), None) => Err("missing nonce claim".to_string()),
        };
        let subject = match check_id_token(
            &client.id_token_verifier(),
            id_token,
            &tokens,
            nonce_check,
            clock,
        ) {
            Ok(sub) => sub,
            Err(e) => {
                // Perhaps the keys rotated: discover afresh next time.
                self.forget(&issuer);
                return Err(ExchangeError::IdToken(e));
            }
        };
        Ok(SignedIn {
            subject,
            access_token: Secret::new(tokens.access_token().secret().clone()),
            expires_in: tokens.expires_in(),
            id_token: Secret::new(id_token.to_string()),
            refresh_token: tokens
                .refresh_token()
                .map(|r| Secret::new(r.secret().clone())),
        })
    }

    /// Refresh the access token of consumer `subject` (RFC 6749 6); a new
    /// ID token must name the same `sub`.
    #[instrument(skip_all)]
    pub async fn refresh_consumer(
        &self,
        provider: &DelegatedAccessProvider,
        refresh_token: &Secret,
        subject: &str,
        clock: &Clock,
    ) -> Result<Refreshed, ExchangeError> {
        let (issuer, client) = self.issuer_client(provider).await?;
        let refresh = RefreshToken::new(refresh_token.expose().to_string());
        let tokens = client
            .exchange_refresh_token(&refresh)
            .map_err(|_| ExchangeError::Config("discovery advertises no token endpoint".into()))?
            .request_async(&self.http)
            .await
            .map_err(|e| {
                self.forget(&issuer);
                classify(e)
            })?;
        bearer_only(&tokens)?;
        let id_token = match tokens.id_token() {
            None => None,
            Some(id_token) => {
                // No nonce in a refreshed ID token's request (OIDC Core 12.2).
                let checked = check_id_token(
                    &client.id_token_verifier(),
                    id_token,
                    &tokens,
                    |_: Option<&Nonce>| Ok(()),
                    clock,
                )
                .and_then(|sub| {
                    if sub == subject {
                        Ok(())
                    } else {
                        Err("the refreshed ID token names another subject".to_string())
                    }
                });
                if let Err(e) = checked {
                    self.forget(&issuer);
                    return Err(ExchangeError::IdToken(e));
                }
                Some(Secret::new(id_token.to_string()))
            }
        };
        Ok(Refreshed {
            access_token: Secret::new(tokens.access_token().secret().clone()),
            expires_in: tokens.expires_in(),
            id_token,
            refresh_token: tokens
                .refresh_token()
                .map(|r| Secret::new(r.secret().clone())),
        })
    }
}

/// The client type [`CoreClient::from_provider_metadata`] returns.
type DiscoveredClient = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn bearer_only(tokens: &CoreTokenResponse) -> Result<(), ExchangeError> {
    if tokens.token_type() != &CoreTokenType::Bearer {
        return Err(ExchangeError::NotBearer(
            tokens.token_type().as_ref().to_string(),
        ));
    }
    Ok(())
}

/// Validate an ID token (OIDC Core 3.1.3.7) and return its `sub`.
fn check_id_token(
    verifier: &CoreIdTokenVerifier<'_>,
    id_token: &CoreIdToken,
    tokens: &CoreTokenResponse,
    nonce: impl openidconnect::NonceVerifier,
    clock: &Clock,
) -> Result<String, String> {
    let claims = id_token
        .claims(verifier, nonce)
        .map_err(|e| e.to_string())?;
    // The crate reads system time; every expiry decision here reads the
    // shared clock too.
    if claims.expiration().timestamp() <= clock.now() {
        return Err("expired on the shared clock".to_string());
    }
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| e.to_string())?;
        let key = id_token.signing_key(verifier).map_err(|e| e.to_string())?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| e.to_string())?;
        if &actual != expected {
            return Err("at_hash does not match the access token".into());
        }
    }
    Ok(claims.subject().as_str().to_string())
}
