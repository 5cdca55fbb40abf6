//! The brand API's shared state: which tokens it accepts (its [`Trust`]:
//! issuer, audience, clock, the JWKS cache), the consumers' data, the
//! request log, queued faults and payments.
//!
//! Each part sits behind its own `std::sync::Mutex`/`RwLock`, held only for
//! map and list operations, never across an `.await` (the JWKS cache has its
//! own rules, see [`super::jwks`]). No code path holds two of them at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::faults::RouteFaults;
use super::fixtures::{BrandApiFixtures, ConsumerData};
use super::log::RequestLog;
use super::payments::Payments;
use super::trust::Trust;
use crate::clock::Clock;
use crate::tls::PinnedCertificates;

/// Everything the API's handlers share. Cloning shares it.
#[derive(Clone, Debug)]
pub struct BrandApiState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    trust: Trust,
    fixtures: BrandApiFixtures,
    consumers: RwLock<HashMap<String, ConsumerData>>,
    log: Mutex<RequestLog>,
    faults: Mutex<RouteFaults>,
    payments: Mutex<Payments>,
    pinned_clients: PinnedCertificates,
    admin_open: bool,
}

fn index(fixtures: &BrandApiFixtures) -> HashMap<String, ConsumerData> {
    fixtures
        .consumers
        .iter()
        .map(|c| (c.sub.clone(), c.clone()))
        .collect()
}

/// The fixtures' pinned client certificates (validated with the fixtures).
pub(crate) fn fixture_pins(
    fixtures: &BrandApiFixtures,
) -> Vec<(rustls_pki_types::CertificateDer<'static>, String)> {
    fixtures
        .pinned_client_certificates
        .iter()
        .filter_map(|p| p.der().ok().map(|der| (der, p.sub.clone())))
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl BrandApiState {
    /// State for an API trusting tokens of `issuer` (no trailing slash
    /// needed) addressed to `audience`. `admin_open` opens `/admin` (the
    /// server opens it when bound to loopback).
    pub fn new(
        issuer: &str,
        audience: &str,
        clock: Clock,
        fixtures: BrandApiFixtures,
        admin_open: bool,
    ) -> Self {
        let pinned_clients = PinnedCertificates::default();
        pinned_clients.replace(fixture_pins(&fixtures));
        Self {
            inner: Arc::new(Inner {
                trust: Trust::new(issuer, audience, clock),
                pinned_clients,
                consumers: RwLock::new(index(&fixtures)),
                fixtures,
                log: Mutex::default(),
                faults: Mutex::default(),
                payments: Mutex::default(),
                admin_open,
            }),
        }
    }

    /// Which tokens the API accepts, and the shared clock every expiry
    /// decision reads.
    pub fn trust(&self) -> &Trust {
        &self.inner.trust
    }

    /// The client certificates the TLS listener trusts by themselves, each
    /// labelled with the consumer it reads for.
    pub fn pinned_clients(&self) -> &PinnedCertificates {
        &self.inner.pinned_clients
    }

    pub fn admin_open(&self) -> bool {
        self.inner.admin_open
    }

    /// The fixtures the API started with (what a reset goes back to).
    pub fn fixtures(&self) -> &BrandApiFixtures {
        &self.inner.fixtures
    }

    /// The data of the consumer with this `sub`, if any.
    /// Read one consumer's data under the lock, copying only what `read`
    /// takes from it (not every order on every request).
    pub fn with_consumer<R>(&self, sub: &str, read: impl FnOnce(&ConsumerData) -> R) -> Option<R> {
        self.consumers().get(sub).map(read)
    }

    pub(crate) fn consumers(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, ConsumerData>> {
        self.inner
            .consumers
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn consumers_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, ConsumerData>> {
        self.inner
            .consumers
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.inner.log)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, RouteFaults> {
        lock(&self.inner.faults)
    }

    pub(crate) fn payments_store(&self) -> MutexGuard<'_, Payments> {
        lock(&self.inner.payments)
    }

    pub(crate) fn reset_consumers(&self) {
        *self.consumers_mut() = index(&self.inner.fixtures);
    }
}
