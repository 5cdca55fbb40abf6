//! The Get Tokens API (source document 003: "A brand's authorized service
//! by a dedicated (Get Tokens) API with OAuth 2.0 Client Credentials
//! authorization").
//!
//! - [`token`]: `POST /oauth/token`, the platform's own token endpoint
//!   (RFC 6749 4.4, client credentials only) for the brand services
//!   registered in the fixtures (`[[brand_services]]`).
//! - [`get_tokens`]: `GET /api/account/{account}/consumer/{consumerId}/brand/tokens`,
//!   the consumer's current tokens for a bearer token with the scope
//!   [`GET_TOKENS_SCOPE`] issued to a service of that account.
//!
//! Issued tokens are opaque random strings (256 bits). Only their SHA-256
//! is kept, with the service, account, scope and expiry on the shared
//! clock: a copy of the platform's memory yields no usable token.

pub mod get_tokens;
pub mod token;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::org::OrgId;
use crate::clock::Instant;
use crate::secret::Secret;
use crate::wire::ClientId;

/// The scope the Get Tokens API wants.
pub const GET_TOKENS_SCOPE: &str = "delegated.token.read.external";

/// The realm of the platform's challenges (RFC 7235 2.2).
pub const REALM: &str = "standin-platform";

/// Default lifetime of an issued token, in seconds.
pub const DEFAULT_TOKEN_TTL_SECS: i64 = 3600;

/// Longest token lifetime a service may be given (one day).
pub const MAX_TOKEN_TTL_SECS: i64 = 86_400;

/// A brand service allowed to call the platform's APIs (`[[brand_services]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandServiceConfig {
    /// 1 to 100 characters of `A-Z a-z 0-9 - . _ ~`.
    pub client_id: ClientId,
    /// At least 16 visible ASCII characters.
    pub client_secret: Secret,
    /// The account (organisation) whose consumers it may read.
    pub account: OrgId,
    /// The scopes it may be issued (RFC 6749 3.3 scope tokens), e.g.
    /// [`GET_TOKENS_SCOPE`].
    pub scopes: Vec<String>,
    /// Lifetime of its tokens, 1 to [`MAX_TOKEN_TTL_SECS`] seconds.
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: i64,
}

fn default_ttl() -> i64 {
    DEFAULT_TOKEN_TTL_SECS
}

/// RFC 6749 3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl BrandServiceConfig {
    /// Check the registration itself; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.client_id.as_str().is_empty()
            && self.client_id.as_str().len() <= 100
            && self
                .client_id
                .as_str()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
        if !id_ok {
            return Err(format!(
                "client_id {:?} must be 1 to 100 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'",
                self.client_id
            ));
        }
        let secret = self.client_secret.expose();
        if secret.len() < 16 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("client_secret must be at least 16 visible ASCII characters".into());
        }
        if self.scopes.is_empty() {
            return Err(format!(
                "scopes must name at least one scope, e.g. [\"{GET_TOKENS_SCOPE}\"]"
            ));
        }
        for (i, s) in self.scopes.iter().enumerate() {
            if !is_scope_token(s) {
                return Err(format!(
                    "scopes[{i}] {s:?} is not a scope token (RFC 6749 3.3: no spaces, quotes or backslashes)"
                ));
            }
            if self.scopes[..i].contains(s) {
                return Err(format!("scopes[{i}] {s:?} is listed twice"));
            }
        }
        if !(1..=MAX_TOKEN_TTL_SECS).contains(&self.token_ttl_secs) {
            return Err(format!("token_ttl_secs must be 1 to {MAX_TOKEN_TTL_SECS}"));
        }
        Ok(())
    }
}

/// What an issued token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub client_id: ClientId,
    pub account: OrgId,
    pub scope: Vec<String>,
    pub expires_at: Instant,
}

impl Grant {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.iter().any(|s| s == wanted)
    }
}

/// Why a presented token is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
}

/// The registered brand services and the tokens issued to them.
#[derive(Clone, Default)]
pub struct BrandTokens {
    services: Arc<BTreeMap<ClientId, BrandServiceConfig>>,
    issued: Arc<Mutex<HashMap<[u8; 32], Grant>>>,
}

impl fmt::Debug for BrandTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrandTokens")
            .field("services", &self.services.keys())
            .field("issued", &self.lock().len())
            .finish()
    }
}

/// Why the brand services of the fixtures were refused.
pub fn check_services(services: &[BrandServiceConfig]) -> Result<(), String> {
    let mut ids = std::collections::HashSet::new();
    for s in services {
        s.validate()
            .map_err(|e| format!("brand service {:?}: {e}", s.client_id))?;
        if !ids.insert(s.client_id.as_str()) {
            return Err(format!("brand service {:?} is declared twice", s.client_id));
        }
    }
    Ok(())
}

fn digest(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Sha256::digest(token.as_bytes()));
    out
}

impl BrandTokens {
    /// The registry of `services` (validated by the fixtures).
    pub fn new(services: Vec<BrandServiceConfig>) -> Self {
        Self {
            services: Arc::new(
                services
                    .into_iter()
                    .map(|s| (s.client_id.clone(), s))
                    .collect(),
            ),
            issued: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Grant>> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn service(&self, client_id: &ClientId) -> Option<&BrandServiceConfig> {
        self.services.get(client_id)
    }

    /// Issue a token to `service` for `scope`; expired grants are forgotten
    /// on the way. Returns the token and its lifetime.
    pub fn issue(
        &self,
        service: &BrandServiceConfig,
        scope: Vec<String>,
        now: Instant,
    ) -> (Secret, i64) {
        let token = crate::secret::random_token(32);
        let ttl = service.token_ttl_secs;
        let grant = Grant {
            client_id: service.client_id.clone(),
            account: service.account.clone(),
            scope,
            expires_at: now + crate::clock::secs(ttl),
        };
        let mut issued = self.lock();
        issued.retain(|_, g| now < g.expires_at);
        issued.insert(digest(&token), grant);
        (Secret::new(token), ttl)
    }

    /// What a presented token grants now.
    pub fn check(&self, token: &str, now: Instant) -> Result<Grant, Refusal> {
        let key = digest(token);
        // An expired grant is remembered until the next issue sweeps it,
        // so a late use is told "expired" rather than "unknown".
        match self.lock().get(&key) {
            None => Err(Refusal::Unknown),
            Some(g)
                if !crate::platform::oauth::held_token::usable(
                    Some(g.expires_at),
                    Instant::MIN,
                    now,
                    crate::platform::oauth::held_token::Margin::None,
                ) =>
            {
                Err(Refusal::Expired)
            }
            Some(g) => Ok(g.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> crate::clock::Instant {
        crate::clock::Instant::from_unix_secs(secs)
    }

    fn service(scopes: &[&str]) -> BrandServiceConfig {
        BrandServiceConfig {
            client_id: "orders-service".into(),
            client_secret: Secret::new("a-long-enough-secret"),
            account: OrgId::parse("demo").unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            token_ttl_secs: 60,
        }
    }

    #[test]
    fn registrations_are_validated() {
        assert!(service(&[GET_TOKENS_SCOPE]).validate().is_ok());
        assert!(service(&[]).validate().unwrap_err().contains("scopes"));
        assert!(
            service(&["a b"])
                .validate()
                .unwrap_err()
                .contains("scopes[0]")
        );
        assert!(
            service(&["a", "a"])
                .validate()
                .unwrap_err()
                .contains("twice")
        );
        let mut s = service(&["a"]);
        s.client_secret = Secret::new("short");
        assert!(s.validate().unwrap_err().contains("client_secret"));
        let mut s = service(&["a"]);
        s.client_id = "has space".into();
        assert!(s.validate().unwrap_err().contains("client_id"));
        let mut s = service(&["a"]);
        s.token_ttl_secs = 0;
        assert!(s.validate().unwrap_err().contains("token_ttl_secs"));
        assert!(check_services(&[service(&["a"]), service(&["a"])]).is_err());
        assert!(!format!("{:?}", service(&["a"])).contains("a-long-enough-secret"));
    }

    #[test]
    fn fixtures_declare_brand_services_with_clear_errors() {
        use crate::platform::PlatformFixtures;
        let org = "[[orgs]]\nid = \"demo\"\n[orgs.provider]\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let service = |account: &str, secret: &str, extra: &str| {
            format!(
                "{org}\n[[brand_services]]\nclient_id = \"svc\"\nclient_secret = \"{secret}\"\naccount = \"{account}\"\nscopes = [\"{GET_TOKENS_SCOPE}\"]\n{extra}"
            )
        };
        let ok = PlatformFixtures::from_toml(&service("demo", "0123456789abcdef", ""), "f.toml")
            .unwrap();
        assert_eq!(ok.brand_services[0].token_ttl_secs, DEFAULT_TOKEN_TTL_SECS);
        let e = PlatformFixtures::from_toml(&service("nowhere", "0123456789abcdef", ""), "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown account nowhere"), "{e}");
        let e = PlatformFixtures::from_toml(&service("demo", "short", ""), "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"svc\": client_secret"), "{e}");
        assert!(!e.contains("short"), "{e}");
        let e = PlatformFixtures::from_toml(
            &service("demo", "0123456789abcdef", "colour = 1\n"),
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("brand_services") && e.contains("colour"), "{e}");
    }

    #[test]
    fn tokens_are_kept_as_hashes_and_expire_on_the_clock() {
        let tokens = BrandTokens::new(vec![service(&[GET_TOKENS_SCOPE])]);
        let s = tokens.service(&"orders-service".into()).unwrap().clone();
        let (token, ttl) = tokens.issue(&s, vec![GET_TOKENS_SCOPE.into()], at(100));
        assert_eq!(ttl, 60);
        let grant = tokens.check(token.expose(), at(159)).unwrap();
        assert!(grant.has_scope(GET_TOKENS_SCOPE));
        assert_eq!(tokens.check(token.expose(), at(160)), Err(Refusal::Expired));
        assert_eq!(tokens.check("not-issued", at(100)), Err(Refusal::Unknown));
        assert!(!format!("{tokens:?}").contains(token.expose()));
        // A later issue sweeps the expired grant.
        tokens.issue(&s, vec![], at(200));
        assert_eq!(tokens.check(token.expose(), at(200)), Err(Refusal::Unknown));
    }
}
