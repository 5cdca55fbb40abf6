//! What the IdP remembers: clients, users, sessions, and every code and
//! token it issued with its state, so a scenario can inspect them.
//!
//! Token values are not kept: codes and tokens are compact records
//! ([`super::records`]) keyed by [`TokenId`], a hash of the value, which
//! is also what inspection shows; a presented token is found by hashing
//! it. Login sessions and forms in flight are keyed the same way by their
//! cookie and form ids. Everything held expires on the shared clock and
//! has a ceiling ([`Limits`]).
//!
//! The store sits behind a `std::sync::Mutex` that is only ever held for
//! map operations, never across an `.await` or a signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::apikey::ApiKeyConfig;
use super::faults::Faults;
use super::fixtures::{ClientConfig, Fixtures, UserConfig};
use super::keys::KeySet;
use super::quirks::{Quirk, Quirks};
use super::records::{Expires, Expiring, Limits, Records};
use super::service_accounts::ServiceAccountConfig;
use crate::clock::{Clock, Instant};
use crate::secret::Secret;

use crate::wire::ClientId;
pub use crate::wire::{TokenId, token_id};

/// A space-separated scope (RFC 6749 3.3), kept in canonical form: its
/// words sorted, without repeats, joined by one space. One allocation per
/// scope, since every stored token holds one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    pub fn parse(text: &str) -> Self {
        Self::canonical(text.split(' '))
    }

    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a String>) -> Self {
        Self::canonical(words.into_iter().map(String::as_str))
    }

    fn canonical<'a>(words: impl Iterator<Item = &'a str>) -> Self {
        let mut words: Vec<&str> = words.filter(|w| !w.is_empty()).collect();
        words.sort_unstable();
        words.dedup();
        Scope(words.join(" "))
    }

    /// The canonical text: words sorted, one space apart.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|w| !w.is_empty())
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words().any(|w| w == word)
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.words().all(|w| other.contains(w))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Words of `self` not in `allowed`.
    pub fn outside(&self, allowed: &Scope) -> Vec<String> {
        self.words()
            .filter(|w| !allowed.contains(w))
            .map(String::from)
            .collect()
    }

    pub fn union(&self, other: &Scope) -> Scope {
        Self::canonical(self.words().chain(other.words()))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// PKCE challenge as received at the authorization endpoint (RFC 7636 4.3).
/// Its `Debug` leaves the challenge out: with `plain` it is the verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &"[redacted]")
            .field("method", &self.method)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    Plain,
}

/// Which grant produced an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 7523 2.1: a service account's signed assertion.
    JwtBearer,
    /// An IBM Cloud IAM style API key.
    ApiKey,
}

/// A signed-in browser, keyed by the [`TokenId`] of its cookie.
#[derive(Clone, Debug)]
pub struct Session {
    pub sub: String,
    pub auth_time: Instant,
    pub expires_at: Instant,
}

impl Expires for Session {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// A validated authorization request waiting for login or consent.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: ClientId,
    /// The redirect URI the response goes to (registered, exact).
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (see [`super::records::CodeRecord`]).
    pub redirect_uri_param: bool,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub login_hint: Option<String>,
    pub max_age: Option<i64>,
    pub force_login: bool,
    pub force_consent: bool,
}

/// A login or consent form in flight, keyed by the [`TokenId`] of its
/// form id.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// Shown in the form and its cookie (double submit).
    pub csrf: Secret,
    pub request: AuthRequest,
    /// Set once the consumer has signed in and consent remains.
    pub signed_in: Option<Session>,
    pub expires_at: Instant,
}

impl Expires for Transaction {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// Everything mutable, behind one lock.
#[derive(Debug)]
pub struct Store {
    pub clients: HashMap<ClientId, ClientConfig>,
    pub users: HashMap<String, UserConfig>,
    /// Codes, access and refresh tokens ([`super::records`]).
    pub records: Records,
    pub sessions: Expiring<Session>,
    pub transactions: Expiring<Transaction>,
    /// Scopes each user granted each client: (sub, client_id) -> scopes.
    pub consents: HashMap<(String, ClientId), Scope>,
    /// Service accounts by `client_email` ([`super::service_accounts`]).
    pub service_accounts: HashMap<String, ServiceAccountConfig>,
    /// API keys by the [`TokenId`] of the key ([`super::apikey`]).
    pub api_keys: HashMap<TokenId, ApiKeyConfig>,
}

impl Store {
    /// The fixtures' clients, users and credentials, nothing issued, the
    /// default [`Limits`].
    pub fn from_fixtures(fixtures: &Fixtures) -> Self {
        Self::with_limits(fixtures, Limits::default())
    }

    pub fn with_limits(fixtures: &Fixtures, limits: Limits) -> Self {
        Store {
            clients: fixtures
                .clients
                .iter()
                .map(|c| (c.id.clone(), c.clone()))
                .collect(),
            users: fixtures
                .users
                .iter()
                .map(|u| (u.username.clone(), u.clone()))
                .collect(),
            service_accounts: fixtures
                .service_accounts
                .iter()
                .map(|a| (a.client_email.clone(), a.clone()))
                .collect(),
            api_keys: fixtures
                .api_keys
                .iter()
                .map(|k| (TokenId::of(k.apikey.expose()), k.clone()))
                .collect(),
            sessions: Expiring::new(limits.max_sessions),
            transactions: Expiring::new(limits.max_forms),
            consents: HashMap::new(),
            records: Records::new(limits),
        }
    }

    /// Put `limits` in force (records already held stay).
    pub fn set_limits(&mut self, limits: Limits) {
        self.sessions.set_max(limits.max_sessions);
        self.transactions.set_max(limits.max_forms);
        self.records.set_limits(limits);
    }

    pub fn user_by_sub(&self, sub: &str) -> Option<&UserConfig> {
        self.users.values().find(|u| u.sub() == sub)
    }

    /// Forget what expired more than `retain` before `now` (codes
    /// and tokens: inspection still shows recent expiries), and sessions
    /// and forms that have expired. Costs what is forgotten, not what is
    /// held.
    pub fn prune(&mut self, now: Instant, retain: Duration) {
        self.records.prune(now - retain);
        self.sessions.prune(now);
        self.transactions.prune(now);
    }
}

/// Shared IdP state: a `Clone` struct of `Arc`s.
#[derive(Clone)]
pub struct IdpState {
    pub issuer: Arc<str>,
    pub clock: Clock,
    pub fixtures: Arc<Fixtures>,
    pub keys: Arc<RwLock<KeySet>>,
    pub store: Arc<Mutex<Store>>,
    pub faults: Arc<Mutex<Faults>>,
    /// The quirk modes in force ([`super::quirks`]).
    pub quirks: Arc<RwLock<Quirks>>,
    /// Whether the admin API answers without a bearer token (loopback).
    pub admin_open: bool,
    /// `https://{addr}` of the TLS listener that takes client certificates
    /// (RFC 8705 `mtls_endpoint_aliases`), when there is one.
    pub mtls_url: Option<Arc<str>>,
}

impl IdpState {
    pub fn new(
        issuer: String,
        clock: Clock,
        fixtures: Fixtures,
        keys: KeySet,
        admin_open: bool,
    ) -> Self {
        let store = Store::from_fixtures(&fixtures);
        IdpState {
            issuer: issuer.into(),
            clock,
            fixtures: Arc::new(fixtures),
            keys: Arc::new(RwLock::new(keys)),
            store: Arc::new(Mutex::new(store)),
            faults: Arc::new(Mutex::new(Faults::default())),
            quirks: Arc::default(),
            admin_open,
            mtls_url: None,
        }
    }

    /// The store, even if a panicking thread poisoned the lock (the data is
    /// plain maps; a half-done update is no worse than a lost one).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether quirk `q` is in force.
    pub fn quirk(&self, q: Quirk) -> bool {
        self.quirks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&q)
    }

    /// The quirks in force.
    pub fn quirks(&self) -> Quirks {
        self.quirks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Put exactly `quirks` in force.
    pub fn set_quirks(&self, quirks: Quirks) {
        *self.quirks.write().unwrap_or_else(|p| p.into_inner()) = quirks;
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn keys(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn keys_mut(&self) -> std::sync::RwLockWriteGuard<'_, KeySet> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Put `limits` in force.
    pub fn set_limits(&self, limits: Limits) {
        self.store().set_limits(limits);
    }

    /// Apply the retention rule of [`Store::prune`] now.
    pub fn prune(&self) {
        let retain = Duration::from_secs(self.fixtures.idp.retain_expired_secs);
        let now = self.now();
        self.store().prune(now, retain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_set_operations() {
        let allowed = Scope::parse("openid profile  email");
        assert!(Scope::parse("email openid").is_subset(&allowed));
        assert_eq!(
            Scope::parse("openid admin").outside(&allowed),
            vec!["admin"]
        );
        assert_eq!(Scope::parse("b a a").to_string(), "a b");
    }

    #[test]
    fn prune_forgets_sessions_that_ended_and_records_past_the_retention_window() {
        let at = Instant::from_unix_secs;
        use crate::idp::fixtures::TokenFormat;
        use crate::idp::records::AccessDraft;
        let fixtures = Fixtures::default_brand();
        let mut store = Store::from_fixtures(&fixtures);
        let session = |expires_at| Session {
            sub: "s".into(),
            auth_time: at(0),
            expires_at: at(expires_at),
        };
        store.sessions.insert(TokenId::of("live"), session(200));
        store.sessions.insert(TokenId::of("dead"), session(50));
        for (value, expires_at) in [
            ("recently-expired", 80),
            ("long-expired", 10),
            ("live", 500),
        ] {
            let draft = AccessDraft {
                id: TokenId::of(value),
                client_id: "c",
                sub: Some("s"),
                scope: "openid",
                audience: "a",
                format: TokenFormat::Opaque,
                grant: Grant::AuthorizationCode,
                issued_at: at(0),
                expires_at: at(expires_at),
                auth_time: Some(at(0)),
                family: None,
                revoked: false,
                binding: None,
            };
            store.records.insert_tokens(draft, None, at(0)).unwrap();
        }
        store.prune(at(100), Duration::from_secs(50));
        let mut kept: Vec<String> = store
            .records
            .access_tokens()
            .map(|(id, _)| id.to_string())
            .collect();
        kept.sort();
        let mut expected = vec![token_id("live"), token_id("recently-expired")];
        expected.sort();
        assert_eq!(kept, expected);
        assert!(store.sessions.get(&TokenId::of("live")).is_some());
        assert!(store.sessions.get(&TokenId::of("dead")).is_none());
    }

    #[test]
    fn pkce_challenges_are_not_printed() {
        let pkce = Pkce {
            challenge: "the-verifier-itself".into(),
            method: PkceMethod::Plain,
        };
        assert!(!format!("{pkce:?}").contains("the-verifier"));
    }
}
