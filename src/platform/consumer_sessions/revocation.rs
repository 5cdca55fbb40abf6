//! What happens at the IdP when a consumer session ends: the tokens the
//! platform held for it are revoked (RFC 7009), the refresh token first
//! (at most providers that also revokes the access tokens of its grant,
//! RFC 7009 section 2.1), then the access token.
//!
//! Every way a session ends goes through here: ended on request, past its
//! lifetime (when the platform notices, on the shared clock: a look-up, a
//! conversation opening or the sweep of a sign-in), replaced by a new
//! sign-in, ended with every session of an organisation whose Consumer
//! Pre-Authentication credential is gone, or ended by a refused refresh.
//! Tokens a refresh obtained for a session that ended meanwhile are
//! revoked too.
//!
//! Revocation is best effort. It runs in a task of its own, so ending a
//! session never waits for the IdP and never fails because of it; each
//! request is bounded by
//! [`PlatformOptions::http_timeout`](crate::platform::PlatformOptions). A
//! failure is logged (the organisation, the consumer, the token type and
//! why; never a token), not retried; a provider that advertises no
//! revocation endpoint gets a logged note and no request.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument as _;

use super::ConsumerId;
use crate::platform::oauth::OAuthClient;
use crate::platform::oauth::revoke::TokenKind;
use crate::platform::org::{DelegatedAccessProvider, OrgId};
use crate::secret::Secret;

/// The tokens of a session that has ended, on their way to revocation.
pub(super) struct Ended {
    pub org: OrgId,
    pub consumer: ConsumerId,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
}

impl fmt::Debug for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ended")
            .field("org", &self.org)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// Where ended sessions' tokens go.
#[derive(Clone, Default)]
enum Sink {
    /// Nowhere: a session table of its own, as in unit tests.
    #[default]
    Nowhere,
    /// To the organisation's provider.
    Provider(Arc<Providers>),
    /// Kept for a test to look at.
    #[cfg(test)]
    Recorded(Arc<std::sync::Mutex<Vec<Ended>>>),
}

/// The organisations' providers and the client that talks to them.
struct Providers {
    oauth: OAuthClient,
    by_org: BTreeMap<OrgId, DelegatedAccessProvider>,
    timeout: Duration,
    /// Revocations started and not yet finished.
    in_flight: tokio::sync::watch::Sender<usize>,
}

/// Counts one revocation in flight until dropped (also if its task panics).
struct InFlight(Arc<Providers>);

impl InFlight {
    fn start(providers: &Arc<Providers>) -> Self {
        providers.in_flight.send_modify(|n| *n += 1);
        Self(Arc::clone(providers))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n -= 1);
    }
}

/// Revokes the tokens of ended sessions. The default revokes nothing.
#[derive(Clone, Default)]
pub struct Revoker(Sink);

impl fmt::Debug for Revoker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Sink::Nowhere => "Revoker(nowhere)",
            Sink::Provider(_) => "Revoker(provider)",
            #[cfg(test)]
            Sink::Recorded(_) => "Revoker(recorded)",
        })
    }
}

impl Revoker {
    /// Revoke at each organisation's provider through `oauth`, each request
    /// bounded by `timeout`.
    pub fn new(
        oauth: OAuthClient,
        providers: impl IntoIterator<Item = (OrgId, DelegatedAccessProvider)>,
        timeout: Duration,
    ) -> Self {
        Self(Sink::Provider(Arc::new(Providers {
            oauth,
            by_org: providers.into_iter().collect(),
            timeout,
            in_flight: tokio::sync::watch::Sender::new(0),
        })))
    }

    /// Wait until every revocation started so far has finished (answered,
    /// failed or timed out): what an observer of the IdP waits for.
    pub async fn settled(&self) {
        if let Sink::Provider(providers) = &self.0 {
            let mut rx = providers.in_flight.subscribe();
            let _ = rx.wait_for(|n| *n == 0).await;
        }
    }

    /// A revoker that keeps what it is given, and what it keeps.
    #[cfg(test)]
    pub(super) fn recording() -> (Self, Arc<std::sync::Mutex<Vec<Ended>>>) {
        let kept = Arc::default();
        (Self(Sink::Recorded(Arc::clone(&kept))), kept)
    }

    /// Start revoking the tokens of `ended`; returns at once (it only
    /// spawns), so it may be called with a lock held.
    pub(super) fn revoke(&self, ended: Vec<Ended>) {
        if ended.is_empty() {
            return;
        }
        match &self.0 {
            Sink::Nowhere => {}
            #[cfg(test)]
            Sink::Recorded(kept) => kept.lock().unwrap_or_else(|e| e.into_inner()).extend(ended),
            Sink::Provider(providers) => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!(
                        sessions = ended.len(),
                        "consumer tokens not revoked: no async runtime to send the requests from"
                    );
                    return;
                };
                for e in ended {
                    let span = tracing::info_span!(
                        "consumer token revocation",
                        org = %e.org,
                        consumer = %e.consumer
                    );
                    let guard = InFlight::start(providers);
                    runtime.spawn(
                        async move {
                            revoke_one(&guard.0, e).await;
                            drop(guard);
                        }
                        .instrument(span),
                    );
                }
            }
        }
    }
}

/// Revoke one ended session's tokens, refresh token first.
async fn revoke_one(providers: &Providers, ended: Ended) {
    let Some(provider) = providers.by_org.get(&ended.org) else {
        tracing::info!("consumer tokens not revoked: the organisation has no provider");
        return;
    };
    let tokens = ended
        .refresh_token
        .map(|t| (t, TokenKind::Refresh))
        .into_iter()
        .chain([(ended.access_token, TokenKind::Access)]);
    for (token, kind) in tokens {
        let hint = kind.hint();
        let outcome = tokio::time::timeout(
            providers.timeout,
            providers.oauth.revoke(provider, &token, kind),
        )
        .await;
        match outcome {
            Ok(Ok(())) => tracing::info!(token_type_hint = hint, "consumer token revoked"),
            Ok(Err(e)) if e.unsupported() => {
                tracing::info!(
                    reason = %e,
                    "consumer tokens not revoked: the IdP offers no revocation endpoint"
                );
                return;
            }
            Ok(Err(e)) => tracing::warn!(
                token_type_hint = hint,
                error = %e,
                "consumer token revocation failed; the session has ended regardless"
            ),
            Err(_) => tracing::warn!(
                token_type_hint = hint,
                "consumer token revocation failed (timed out); the session has ended regardless"
            ),
        }
    }
}
