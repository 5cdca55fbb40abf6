//! The NLU service's shared state: configuration, the JWKS cache (the brand
//! API's, [`crate::resource::jwks`]) and the request log, each part behind
//! its own lock held for list operations only, never across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard};

use super::log::RequestLog;
use crate::clock::Clock;
use crate::resource::jwks::JwksCache;

/// Everything the service's handlers share. Cloning shares it.
#[derive(Clone, Debug)]
pub struct NluState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    audience: String,
    clock: Clock,
    jwks: JwksCache,
    log: Mutex<RequestLog>,
    admin_open: bool,
}

impl NluState {
    /// State for a service trusting tokens of `issuer` (no trailing slash
    /// needed) addressed to `audience`. `admin_open` opens `/admin` (the
    /// server opens it when bound to loopback).
    pub fn new(issuer: &str, audience: &str, clock: Clock, admin_open: bool) -> Self {
        let issuer = issuer.trim_end_matches('/').to_string();
        Self {
            inner: Arc::new(Inner {
                jwks: JwksCache::new(&issuer),
                issuer,
                audience: audience.to_string(),
                clock,
                log: Mutex::default(),
                admin_open,
            }),
        }
    }

    /// The issuer whose tokens are accepted (`iss`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience tokens must name (`aud`).
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The shared clock every expiry decision reads.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub fn admin_open(&self) -> bool {
        self.inner.admin_open
    }

    pub fn jwks(&self) -> &JwksCache {
        &self.inner.jwks
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}
