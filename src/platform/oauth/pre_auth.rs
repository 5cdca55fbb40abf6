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

use tracing::instrument;

use super::token_request::Grant;
use super::{ExchangeError, OAuthClient};
use crate::clock::Clock;
use crate::platform::org::DelegatedAccessProvider;
use crate::secret::{Nonce, PkceVerifier, Secret};

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

fn needs_issuer(provider: &DelegatedAccessProvider) -> Result<(), ExchangeError> {
    if provider.issuer_str().is_none() {
        return Err(ExchangeError::Config(
            "Consumer Pre-Authentication needs the provider's issuer (its ID tokens identify the consumer)".into(),
        ));
    }
    Ok(())
}

impl OAuthClient {
    /// Exchange the code the brand's page obtained (RFC 6749 4.1.3, with
    /// its `redirect_uri` and, if it used PKCE, its verifier) and validate
    /// the ID token, which must be there.
    #[instrument(skip_all)]
    pub async fn sign_in_consumer(
        &self,
        provider: &DelegatedAccessProvider,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
        nonce: Option<&Nonce>,
        clock: &Clock,
    ) -> Result<SignedIn, ExchangeError> {
        needs_issuer(provider)?;
        let grant = Grant::AuthorizationCode {
            code: code.expose(),
            redirect_uri,
            verifier,
        };
        let (endpoint, tokens) = self.token(provider, &grant).await?;
        let Some(id_token) = tokens.id_token else {
            return Err(ExchangeError::IdToken(
                "the token endpoint returned no ID token (was the openid scope asked for?)".into(),
            ));
        };
        let subject = self.check_id_token(
            &endpoint,
            provider,
            &id_token,
            nonce,
            &tokens.access_token,
            clock,
        )?;
        Ok(SignedIn {
            subject,
            access_token: tokens.access_token,
            expires_in: tokens.expires_in.map(Duration::from_secs),
            id_token,
            refresh_token: tokens.refresh_token,
        })
    }

    /// Refresh the access token of consumer `subject` (RFC 6749 6); a new
    /// ID token must name the same `sub` (OIDC Core 12.2).
    #[instrument(skip_all)]
    pub async fn refresh_consumer(
        &self,
        provider: &DelegatedAccessProvider,
        refresh_token: &Secret,
        subject: &str,
        clock: &Clock,
    ) -> Result<Refreshed, ExchangeError> {
        needs_issuer(provider)?;
        let grant = Grant::RefreshToken {
            refresh_token,
            scope: None,
        };
        let (endpoint, tokens) = self.token(provider, &grant).await?;
        let id_token = match tokens.id_token {
            None => None,
            Some(id_token) => {
                // No nonce in a refreshed ID token's request (OIDC Core 12.2).
                let sub = self.check_id_token(
                    &endpoint,
                    provider,
                    &id_token,
                    None,
                    &tokens.access_token,
                    clock,
                )?;
                if sub != subject {
                    return Err(ExchangeError::IdToken(
                        "the refreshed ID token names another subject (OIDC Core 12.2)".into(),
                    ));
                }
                Some(id_token)
            }
        };
        Ok(Refreshed {
            access_token: tokens.access_token,
            expires_in: tokens.expires_in.map(Duration::from_secs),
            id_token,
            refresh_token: tokens.refresh_token,
        })
    }
}
