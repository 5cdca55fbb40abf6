//! The IdP's signing keys, as the brand API knows them: found over HTTP only
//! (discovery at `{issuer}/.well-known/openid-configuration`, then its
//! `jwks_uri`), cached, and refetched when a token names a `kid` the cache
//! does not hold, which is how a key rotation at the IdP reaches the API.
//!
//! A storm of requests bearing an unknown `kid` costs at most one fetch:
//! requests that miss wait for the one fetch in flight and take its outcome,
//! and a `kid` still missing after a fetch is remembered as missing, so
//! forged tokens cannot make the API hammer the IdP. The remembered set is
//! bounded and cleared by a reset. Each fetch replaces the whole cache, so a
//! key the IdP stopped publishing is dropped at the next fetch (until then,
//! tokens it signed still verify).
//!
//! Each key keeps its own algorithm (the JWK's `alg`, or the one its type
//! and curve imply), and a token is verified with that algorithm only.
//! Symmetric (`oct`) keys and encryption keys are never used.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// How many missing `kid`s are remembered (oldest forgotten first).
const MISSING_KIDS: usize = 1024;

/// A public key from the JWKS, pinned to its algorithm.
pub struct VerifyKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The JWKS, freshly fetched, does not hold this `kid`.
    #[error("the token's kid is not in the IdP's JWKS")]
    UnknownKid,
    /// Discovery or the JWKS could not be fetched or read.
    #[error("the IdP's keys cannot be fetched: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// Held only by the one fetch in flight; the lock is meant to be held
/// across the fetch's `.await`s (that is what coalesces fetches), and it is
/// a `tokio` mutex for that reason.
#[derive(Default)]
struct FetchState {
    jwks_uri: Option<String>,
    last_error: Option<String>,
}

#[derive(Default)]
struct MissingKids {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl MissingKids {
    fn insert(&mut self, kid: &str) {
        if self.set.insert(kid.to_string()) {
            self.order.push_back(kid.to_string());
            while self.order.len() > MISSING_KIDS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The JWKS cache of one brand API.
pub struct JwksCache {
    issuer: String,
    http: reqwest::Client,
    /// `std` locks, held for map operations only, never across `.await`.
    keys: RwLock<HashMap<String, Arc<VerifyKey>>>,
    missing: Mutex<MissingKids>,
    fetch: tokio::sync::Mutex<FetchState>,
    /// Fetches started. A request that missed reads it before waiting for
    /// the lock; if it moved meanwhile, a fetch began after the request's
    /// token existed, so that fetch's outcome stands for it too.
    started: AtomicU64,
    /// JWKS documents requested from the IdP.
    fetches: AtomicU64,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("issuer", &self.issuer)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// An empty cache for `issuer` (exactly as the IdP names itself); nothing is fetched
    /// until the first token arrives.
    pub fn new(issuer: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with rustls builds");
        Self {
            issuer: issuer.to_string(),
            http,
            keys: RwLock::default(),
            missing: Mutex::default(),
            fetch: tokio::sync::Mutex::default(),
            started: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS document was requested.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The `kid`s held now.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.read_keys().keys().cloned().collect();
        kids.sort();
        kids
    }

    /// Forget every key and every missing `kid` (the next token fetches).
    pub fn clear(&self) {
        self.write_keys().clear();
        *self.missing.lock().unwrap_or_else(|e| e.into_inner()) = MissingKids::default();
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<VerifyKey>>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_keys(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<VerifyKey>>> {
        self.keys.write().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.read_keys().get(kid).cloned()
    }

    fn known_missing(&self, kid: &str) -> bool {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set
            .contains(kid)
    }

    /// The key named `kid`: from the cache, or after one (coalesced) fetch.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, JwksError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let seen = self.started.load(Ordering::SeqCst);
        let mut state = self.fetch.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if self.started.load(Ordering::SeqCst) != seen {
            // A fetch that began after this request arrived has finished
            // (the lock is ours): its outcome stands.
            return Err(match &state.last_error {
                Some(e) => JwksError::Unavailable(e.clone()),
                None => JwksError::UnknownKid,
            });
        }
        if self.known_missing(kid) {
            return Err(JwksError::UnknownKid);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        let outcome = self.refetch(&mut state).await;
        state.last_error = outcome.as_ref().err().cloned();
        match outcome {
            Err(e) => Err(JwksError::Unavailable(e)),
            Ok(()) => self.cached(kid).ok_or_else(|| {
                self.missing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(kid);
                JwksError::UnknownKid
            }),
        }
    }

    async fn refetch(&self, state: &mut FetchState) -> Result<(), String> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let uri = self.discover().await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let fetched = self.get_json::<RawJwks>(&jwks_uri).await;
        let raw = match fetched {
            Ok(raw) => raw,
            Err(e) => {
                // Discover again next time: the IdP may have moved its keys.
                state.jwks_uri = None;
                return Err(e);
            }
        };
        let keys: HashMap<String, Arc<VerifyKey>> = raw
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
            .filter_map(|jwk| verify_key(&jwk).map(|k| (k.kid.clone(), Arc::new(k))))
            .collect();
        tracing::debug!(keys = keys.len(), "JWKS fetched");
        *self.write_keys() = keys;
        Ok(())
    }

    /// OIDC Discovery 1.0 section 4: the metadata's `issuer` must be the
    /// issuer it was fetched for, exactly (4.3); a terminating `/` is
    /// removed before `/.well-known/...` is appended (4.1).
    async fn discover(&self) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let meta: Discovery = self.get_json(&url).await?;
        if meta.issuer != self.issuer {
            return Err(format!(
                "discovery names issuer {:?}, expected {:?}",
                meta.issuer, self.issuer
            ));
        }
        Ok(meta.jwks_uri)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: status {status}"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
    }
}

/// A usable verification key, or `None` for keys without a `kid`, for
/// encryption, symmetric, or of an algorithm this API does not verify.
pub fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }?;
    let alg = match jwk.common.key_algorithm {
        None => implied,
        Some(declared) => {
            let declared = match declared {
                KeyAlgorithm::RS256 => Algorithm::RS256,
                KeyAlgorithm::RS384 => Algorithm::RS384,
                KeyAlgorithm::RS512 => Algorithm::RS512,
                KeyAlgorithm::PS256 => Algorithm::PS256,
                KeyAlgorithm::PS384 => Algorithm::PS384,
                KeyAlgorithm::PS512 => Algorithm::PS512,
                KeyAlgorithm::ES256 => Algorithm::ES256,
                KeyAlgorithm::ES384 => Algorithm::ES384,
                KeyAlgorithm::EdDSA => Algorithm::EdDSA,
                _ => return None,
            };
            // The declared algorithm must fit the key's type.
            if jsonwebtoken_family(declared) != jsonwebtoken_family(implied) {
                return None;
            }
            declared
        }
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyKey { kid, alg, key })
}

fn jsonwebtoken_family(alg: Algorithm) -> u8 {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => 1,
        Algorithm::ES256 | Algorithm::ES384 => 2,
        Algorithm::EdDSA => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_encryption_keys_are_never_used() {
        let oct: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "oct", "kid": "k", "k": "c2VjcmV0", "alg": "HS256"
        }))
        .unwrap();
        assert!(verify_key(&oct).is_none());
        let fixtures = crate::idp::Fixtures::default_brand();
        for key in fixtures.signing_keys().unwrap() {
            let jwk = key.jwk().clone();
            let k = verify_key(&jwk).expect("fixture keys are usable");
            assert_eq!(k.alg, key.alg().jwt_algorithm());
            let mut enc = jwk.clone();
            enc.common.public_key_use = Some(PublicKeyUse::Encryption);
            assert!(verify_key(&enc).is_none());
            let mut no_kid = jwk;
            no_kid.common.key_id = None;
            assert!(verify_key(&no_kid).is_none());
        }
    }

    #[test]
    fn a_declared_alg_must_fit_the_key_type() {
        let fixtures = crate::idp::Fixtures::default_brand();
        let rsa = fixtures
            .signing_keys()
            .unwrap()
            .into_iter()
            .find(|k| k.alg() == crate::idp::SigningAlg::RS256)
            .unwrap();
        let mut jwk = rsa.jwk().clone();
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        assert!(verify_key(&jwk).is_none());
        jwk.common.key_algorithm = Some(KeyAlgorithm::HS256);
        assert!(verify_key(&jwk).is_none());
    }
}
