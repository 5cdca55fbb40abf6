//! What the IdP remembers: clients, users, sessions, and every code and
//! token it issued with its state, so a scenario can inspect them.
//!
//! Token values are not kept: records are keyed by [`token_id`], a hash of
//! the value, which is also what inspection shows. A presented token is
//! found by hashing it.
//!
//! The store sits behind a `std::sync::Mutex` that is only ever held for
//! map operations, never across an `.await` or a signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;

use super::apikey::ApiKeyConfig;
use super::faults::Faults;
use super::fixtures::{ClientConfig, Fixtures, TokenFormat, UserConfig};
use super::keys::KeySet;
use super::quirks::{Quirk, Quirks};
use super::service_accounts::ServiceAccountConfig;
use crate::clock::Clock;

pub use crate::wire::token_id;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
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

/// An authorization code.
#[derive(Clone, Debug)]
pub struct CodeRecord {
    pub id: String,
    pub seq: u64,
    pub client_id: String,
    /// The `redirect_uri` the authorization request carried, if it did: the
    /// token request must then carry the same (RFC 6749 4.1.3).
    pub redirect_uri_param: Option<String>,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub sub: String,
    pub auth_time: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used: bool,
    pub presented: u32,
    /// Access token ids issued from this code (revoked on replay).
    pub access_tokens: Vec<String>,
    /// Refresh token family started by this code (revoked on replay).
    pub family: Option<String>,
    /// Presented again after use: tokens minted for it are born revoked.
    pub replayed: bool,
}

/// An access token.
#[derive(Clone, Debug)]
pub struct AccessRecord {
    pub id: String,
    pub seq: u64,
    pub client_id: String,
    pub sub: Option<String>,
    pub scope: Scope,
    pub format: TokenFormat,
    pub grant: Grant,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    pub presented: u32,
    pub family: Option<String>,
    pub audience: String,
    pub auth_time: Option<i64>,
}

/// A refresh token.
#[derive(Clone, Debug)]
pub struct RefreshRecord {
    pub id: String,
    pub seq: u64,
    pub client_id: String,
    pub sub: String,
    pub scope: Scope,
    pub family: String,
    pub auth_time: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    /// Exchanged for a successor (rotation): presenting it again is reuse.
    pub rotated: bool,
    pub presented: u32,
}

/// A signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    pub sub: String,
    pub auth_time: i64,
    pub expires_at: i64,
}

/// A validated authorization request waiting for login or consent.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: String,
    /// The redirect URI the response goes to (registered, exact).
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (see [`CodeRecord`]).
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

/// A login or consent form in flight.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub csrf: String,
    pub request: AuthRequest,
    /// Set once the consumer has signed in and consent remains.
    pub signed_in: Option<Session>,
    pub expires_at: i64,
}

/// Everything mutable, behind one lock.
#[derive(Debug, Default)]
pub struct Store {
    pub clients: HashMap<String, ClientConfig>,
    pub users: HashMap<String, UserConfig>,
    pub codes: HashMap<String, CodeRecord>,
    pub access: HashMap<String, AccessRecord>,
    pub refresh: HashMap<String, RefreshRecord>,
    pub sessions: HashMap<String, Session>,
    pub transactions: HashMap<String, Transaction>,
    /// Scopes each user granted each client: (sub, client_id) -> scopes.
    pub consents: HashMap<(String, String), Scope>,
    /// Access token id -> `x5t#S256` of the client certificate the token
    /// is bound to (`tls_client_auth`, RFC 8705 3.1).
    pub certificate_bindings: HashMap<String, String>,
    /// Service accounts by `client_email` ([`super::service_accounts`]).
    pub service_accounts: HashMap<String, ServiceAccountConfig>,
    /// API keys by [`token_id`] of the key ([`super::apikey`]).
    pub api_keys: HashMap<String, ApiKeyConfig>,
    seq: u64,
}

impl Store {
    pub fn from_fixtures(fixtures: &Fixtures) -> Self {
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
                .map(|k| (token_id(k.apikey.expose()), k.clone()))
                .collect(),
            ..Default::default()
        }
    }

    /// A sequence number, so inspection lists records in issue order.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn user_by_sub(&self, sub: &str) -> Option<&UserConfig> {
        self.users.values().find(|u| u.sub() == sub)
    }

    /// Forget what expired more than `retain` seconds before `now`: codes,
    /// tokens, sessions and forms. Keeps a long-running IdP's memory bounded
    /// by what is live, while inspection still shows recent expiries.
    pub fn prune(&mut self, now: i64, retain: i64) {
        let horizon = now.saturating_sub(retain);
        self.codes.retain(|_, c| c.expires_at > horizon);
        self.access.retain(|_, a| a.expires_at > horizon);
        let access = &self.access;
        self.certificate_bindings
            .retain(|id, _| access.contains_key(id));
        self.refresh.retain(|_, r| r.expires_at > horizon);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.transactions.retain(|_, t| t.expires_at > now);
    }

    /// Revoke every token of a refresh family (RFC 9700 4.14.2).
    pub fn revoke_family(&mut self, family: &str) {
        for r in self.refresh.values_mut().filter(|r| r.family == family) {
            r.revoked = true;
        }
        for a in self
            .access
            .values_mut()
            .filter(|a| a.family.as_deref() == Some(family))
        {
            a.revoked = true;
        }
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

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Apply the retention rule of [`Store::prune`] now.
    pub fn prune(&self) {
        let retain = i64::try_from(self.fixtures.idp.retain_expired_secs).unwrap_or(i64::MAX);
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
    fn prune_forgets_only_what_expired_before_the_retention_window() {
        let fixtures = Fixtures::default_brand();
        let mut store = Store::from_fixtures(&fixtures);
        let session = |expires_at| Session {
            sub: "s".into(),
            auth_time: 0,
            expires_at,
        };
        store.sessions.insert("live".into(), session(200));
        store.sessions.insert("dead".into(), session(50));
        let record = |expires_at| RefreshRecord {
            id: String::new(),
            seq: 0,
            client_id: "c".into(),
            sub: "s".into(),
            scope: Scope::parse("openid"),
            family: "f".into(),
            auth_time: 0,
            issued_at: 0,
            expires_at,
            revoked: false,
            rotated: false,
            presented: 0,
        };
        store.refresh.insert("recently-expired".into(), record(80));
        store.refresh.insert("long-expired".into(), record(10));
        store.refresh.insert("live".into(), record(500));
        store.prune(100, 50);
        let mut kept: Vec<&String> = store.refresh.keys().collect();
        kept.sort();
        assert_eq!(kept, ["live", "recently-expired"]);
        assert_eq!(store.sessions.keys().collect::<Vec<_>>(), ["live"]);
    }

    #[test]
    fn token_ids_are_stable_and_short() {
        assert_eq!(token_id("abc"), token_id("abc"));
        assert_ne!(token_id("abc"), token_id("abd"));
        assert_eq!(token_id("abc").len(), 22);
    }
}
