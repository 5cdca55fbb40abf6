//! Which access tokens a server accepts: those of one issuer, found over
//! HTTP ([`super::jwks`]), naming this server's audience, checked on the
//! shared clock. The brand API ([`super::state`]) and the mock NLU service
//! ([`crate::nlu::state`]) each hold one and check tokens the same way
//! ([`super::auth`]).

use std::sync::OnceLock;

use super::auth::{AccessClaims, AuthError, Consumer, check_claims};
use super::introspection::{IntrospectionClient, Introspector};
use super::jwks::JwksCache;
use crate::clock::{Clock, Instant};

/// The issuer, audience, keys and clock a server checks tokens against.
#[derive(Debug)]
pub struct Trust {
    issuer: String,
    audience: String,
    clock: Clock,
    jwks: JwksCache,
    /// Opaque tokens' check, when the API has a client at the IdP.
    introspector: OnceLock<Introspector>,
}

impl Trust {
    /// Trust tokens of `issuer` addressed to `audience`, their time checked
    /// on `clock`. The issuer is kept exactly as given, trailing slash and
    /// all: tokens' `iss` and discovery's `issuer` must equal it (OIDC
    /// Discovery 1.0 section 4.3, RFC 9068 4).
    pub fn new(issuer: &str, audience: &str, clock: Clock) -> Self {
        Self {
            jwks: JwksCache::new(issuer),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            clock,
            introspector: OnceLock::new(),
        }
    }

    /// `issuer`, if it is an absolute http(s) URL (what a server is started
    /// with).
    pub fn issuer_url(issuer: &str) -> Option<String> {
        match url::Url::parse(issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(issuer.to_string()),
            _ => None,
        }
    }

    /// Also accept opaque access tokens, checked at the IdP's
    /// introspection endpoint as `client` ([`super::introspection`]).
    /// Set once, before the server takes requests; a second call is
    /// ignored.
    pub fn introspect_with(&self, client: IntrospectionClient) {
        let _ = self
            .introspector
            .set(Introspector::new(&self.issuer, client));
    }

    /// The introspection of opaque tokens, when set.
    pub fn introspector(&self) -> Option<&Introspector> {
        self.introspector.get()
    }

    /// The issuer whose tokens are accepted (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience tokens must name (`aud`).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The shared clock every expiry decision reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The issuer's keys.
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// The claim checks ([`check_claims`]) for this issuer and audience,
    /// now.
    pub fn check(&self, claims: &AccessClaims) -> Result<Consumer, AuthError> {
        check_claims(claims, self.now(), &self.issuer, &self.audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_starts_with_an_absolute_http_issuer() {
        assert_eq!(
            Trust::issuer_url("http://127.0.0.1:8400/").as_deref(),
            Some("http://127.0.0.1:8400/")
        );
        assert!(Trust::issuer_url("https://idp.example").is_some());
        assert!(Trust::issuer_url("ftp://idp.example").is_none());
        assert!(Trust::issuer_url("idp.example").is_none());
        let trust = Trust::new("http://idp.test/", "brand-api", Clock::new());
        assert_eq!(trust.issuer(), "http://idp.test/", "kept exactly");
    }
}
