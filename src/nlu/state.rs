//! The NLU service's shared state: which tokens it accepts (a
//! [`Trust`], as the brand API's: issuer, audience, clock, the JWKS cache)
//! and the request log, behind a lock held for list operations only, never
//! across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard};

use super::log::RequestLog;
use crate::brand_api::trust::Trust;
use crate::clock::Clock;

/// Everything the service's handlers share. Cloning shares it.
#[derive(Clone, Debug)]
pub struct NluState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    trust: Trust,
    log: Mutex<RequestLog>,
    admin_open: bool,
}

impl NluState {
    /// State for a service trusting tokens of `issuer` (no trailing slash
    /// needed) addressed to `audience`. `admin_open` opens `/admin` (the
    /// server opens it when bound to loopback).
    pub fn new(issuer: &str, audience: &str, clock: Clock, admin_open: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                trust: Trust::new(issuer, audience, clock),
                log: Mutex::default(),
                admin_open,
            }),
        }
    }

    /// Which tokens the service accepts, and the shared clock every
    /// expiry decision reads.
    pub fn trust(&self) -> &Trust {
        &self.inner.trust
    }

    pub fn admin_open(&self) -> bool {
        self.inner.admin_open
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}
