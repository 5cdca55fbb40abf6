//! The HTTP client a Mutual Authentication credential gives an
//! integration call: the TLS configuration of [`super::verify`] (the key
//! store's chain and key as the client certificate, the server judged
//! against the trust certificates only, the TLS versions chosen, validity
//! on the shared clock), redirects off, the platform's timeout.
//!
//! Opening a key store costs key derivations, and a client keeps its
//! connections: clients are cached per organisation and credential, and a
//! cached one is used only while the saved credential is the one it was
//! built from (same digest). Entries of credentials replaced or deleted
//! are dropped at the next call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{MutualAuth, verify};
use crate::clock::Clock;
use crate::platform::PlatformState;
use crate::platform::credentials::auth::{Auth, TlsIdentity};
use crate::platform::credentials::{Kind, Vault};
use crate::platform::org::OrgId;

struct Cached {
    digest: [u8; 32],
    client: reqwest::Client,
}

/// Built clients by (organisation, credential name).
#[derive(Clone, Default)]
pub struct Clients {
    inner: Arc<Mutex<HashMap<(OrgId, String), Cached>>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("cached", &self.len())
            .finish()
    }
}

impl Clients {
    fn lock(&self) -> MutexGuard<'_, HashMap<(OrgId, String), Cached>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many clients are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a client is cached for this credential as saved now.
    pub fn holds(&self, org: &OrgId, name: &str, saved: &MutualAuth) -> bool {
        self.lock()
            .get(&(org.clone(), name.to_string()))
            .is_some_and(|c| c.digest == saved.digest())
    }

    /// Drop the clients of credentials that were replaced or deleted.
    pub fn sweep(&self, vault: &Vault) {
        let cached: Vec<((OrgId, String), [u8; 32])> = self
            .lock()
            .iter()
            .map(|(k, c)| (k.clone(), c.digest))
            .collect();
        let stale: Vec<(OrgId, String)> = cached
            .into_iter()
            .filter(|((org, name), digest)| {
                !matches!(
                    vault.get(org, name).map(|c| c.kind),
                    Some(Kind::MutualAuthentication(m)) if m.digest() == *digest
                )
            })
            .map(|(k, _)| k)
            .collect();
        if !stale.is_empty() {
            let mut inner = self.lock();
            for k in stale {
                inner.remove(&k);
            }
        }
    }

    /// The client for credential `name` of `org` as saved: cached, or
    /// built and cached.
    pub fn get(
        &self,
        org: &OrgId,
        name: &str,
        saved: &MutualAuth,
        timeout: Duration,
        clock: &Clock,
    ) -> Result<reqwest::Client, String> {
        let key = (org.clone(), name.to_string());
        let digest = saved.digest();
        if let Some(c) = self.lock().get(&key).filter(|c| c.digest == digest) {
            return Ok(c.client.clone());
        }
        // Built without the lock: opening a store takes a moment.
        let client = build(saved, timeout, clock)?;
        self.lock().insert(
            key,
            Cached {
                digest,
                client: client.clone(),
            },
        );
        Ok(client)
    }
}

/// Build the client for a saved credential.
pub fn build(
    saved: &MutualAuth,
    timeout: Duration,
    clock: &Clock,
) -> Result<reqwest::Client, String> {
    let m = saved.material()?;
    let tls = verify::client_config(&m, &saved.tls_versions, clock, &[b"h2", b"http/1.1"])?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| format!("the TLS client cannot be built ({e})"))
}

/// The authorisation credential `name` of `org` gives a call now: its
/// client, or why not (the certificate is not valid on the shared clock,
/// or the files no longer open).
pub fn authorize(
    state: &PlatformState,
    org: &OrgId,
    name: &str,
    saved: &MutualAuth,
) -> Result<Auth, String> {
    let now = state.clock.now();
    let facts = &saved.key_certificate.facts;
    if now > facts.not_after {
        return Err(format!(
            "the client certificate of credential {name:?} ({}) expired at {} (unix time); upload a current key certificate",
            facts.subject, facts.not_after
        ));
    }
    if now < facts.not_before {
        return Err(format!(
            "the client certificate of credential {name:?} ({}) is valid only from {} (unix time)",
            facts.subject, facts.not_before
        ));
    }
    state.mtls_clients.sweep(&state.vault);
    let client = state
        .mtls_clients
        .get(org, name, saved, state.options.http_timeout, &state.clock)
        .map_err(|e| format!("credential {name:?} cannot be used: {e}"))?;
    Ok(Auth {
        authorization: None,
        client: Some(client),
        identity: Some(TlsIdentity {
            subject: facts.subject.clone(),
            versions: saved.tls_versions.clone(),
        }),
    })
}
