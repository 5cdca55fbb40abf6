//! What the end of a consumer session (Consumer Pre-Authentication) does
//! at the brand's IdP: the tokens the platform held for it are revoked
//! there (RFC 7009), in the background of the platform, whichever way the
//! session ended; a revocation endpoint that fails does not keep the
//! session alive.
//!
//! Revocation runs in a task of the platform's, so the steps that look
//! for its effect poll the IdP's inspection view for a few seconds of real
//! time (no expiry is waited for: the shared clock does not move). Tokens
//! are matched by id; no value is printed.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{anyhow, ensure};
use cucumber::{given, then};
use standin::idp::admin::{AccessView, Grants, RefreshView, TokenState};
use standin::idp::state::{Grant, token_id};
use standin::idp::{Endpoint, Fault};

use super::brand_api::sub_of;
use super::{CLIENT_ID, DelegationWorld};

/// The most the steps wait for the platform's background revocations to
/// finish (each is bounded by the platform's HTTP timeout in the suite,
/// well below this); a bound on a wait for work, not an expiry.
const SETTLE: Duration = Duration::from_secs(6);

/// The refresh and access tokens the IdP issued to the platform for
/// `sub`, in issue order.
fn issued_for<'g>(grants: &'g Grants, sub: &str) -> (Vec<&'g RefreshView>, Vec<&'g AccessView>) {
    let refresh = grants
        .refresh_tokens
        .iter()
        .filter(|r| r.client_id == CLIENT_ID && r.sub == sub)
        .collect();
    let access = grants
        .access_tokens
        .iter()
        .filter(|a| a.client_id == CLIENT_ID && a.sub.as_deref() == Some(sub))
        .collect();
    (refresh, access)
}

impl DelegationWorld {
    /// Wait until the platform's revocations of ended sessions have all
    /// been answered (or failed), then check `check` against the IdP's
    /// inspection view. [`SETTLE`] bounds the wait, not an expiry.
    async fn at_idp_after_revocations(
        &self,
        check: impl Fn(&Grants) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.revocations_settled().await?;
        check(&self.idp.control()?.grants())
    }

    async fn revocations_settled(&self) -> anyhow::Result<()> {
        tokio::time::timeout(
            SETTLE,
            self.platform
                .state()
                .consumer_sessions
                .revocations_settled(),
        )
        .await
        .map_err(|_| anyhow!("the platform's revocations did not finish within {SETTLE:?}"))
    }
}

#[then(expr = "the IdP reports the refresh token and the access token of {string} revoked")]
async fn latest_revoked(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    world
        .at_idp_after_revocations(|grants| {
            let (refresh, access) = issued_for(grants, &sub);
            let (Some(r), Some(a)) = (refresh.last(), access.last()) else {
                anyhow::bail!("the IdP issued {username} no refresh token or no access token");
            };
            // The platform presented the very tokens it held: the latest
            // refresh token was never used to refresh, the access token
            // never reaches the IdP otherwise (the brand API checks it
            // locally), so each was presented once, to be revoked.
            ensure!(
                r.state == TokenState::Revoked && r.presented == 1,
                "{username}'s refresh token is {} after {} presentations",
                r.state,
                r.presented
            );
            ensure!(
                a.state == TokenState::Revoked && a.presented == 1,
                "{username}'s access token is {} after {} presentations",
                a.state,
                a.presented
            );
            Ok(())
        })
        .await
}

#[then(
    expr = "the IdP reports the tokens of the previous sign-in of {string} revoked, and those of the current one active"
)]
async fn previous_revoked(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let sign_ins = |grants: &Grants| -> anyhow::Result<(Vec<String>, Vec<AccessView>)> {
        let (refresh, access) = issued_for(grants, &sub);
        let mut families: Vec<String> = Vec::new();
        for r in refresh {
            if !families.contains(&r.family) {
                families.push(r.family.clone());
            }
        }
        let by_code: Vec<AccessView> = access
            .into_iter()
            .filter(|a| a.grant == Grant::AuthorizationCode)
            .cloned()
            .collect();
        ensure!(
            families.len() >= 2 && by_code.len() == families.len(),
            "the IdP saw {} sign-ins of {username} ({} refresh families)",
            by_code.len(),
            families.len()
        );
        Ok((families, by_code))
    };
    world
        .at_idp_after_revocations(|grants| {
            let (families, by_code) = sign_ins(grants)?;
            let previous = &families[families.len() - 2];
            for r in grants.refresh_family(previous) {
                ensure!(
                    r.state == TokenState::Revoked,
                    "a refresh token of the previous sign-in is {}",
                    r.state
                );
            }
            let a = &by_code[by_code.len() - 2];
            ensure!(
                a.state == TokenState::Revoked,
                "the access token of the previous sign-in is {}",
                a.state
            );
            Ok(())
        })
        .await?;
    let grants = world.idp.control()?.grants();
    let (families, by_code) = sign_ins(&grants)?;
    let current = families.last().expect("two or more");
    for r in grants.refresh_family(current) {
        ensure!(
            r.state == TokenState::Active && r.presented == 0,
            "the refresh token of the current sign-in is {} after {} presentations",
            r.state,
            r.presented
        );
    }
    let a = by_code.last().expect("two or more");
    ensure!(
        a.state == TokenState::Active,
        "the access token of the current sign-in is {}",
        a.state
    );
    Ok(())
}

#[then(expr = "the IdP reports the refresh token of {string} active")]
fn refresh_active(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let grants = world.idp.control()?.grants();
    let (refresh, _) = issued_for(&grants, &sub);
    let r = refresh
        .last()
        .ok_or_else(|| anyhow!("the IdP issued {username} no refresh token"))?;
    ensure!(
        r.state == TokenState::Active,
        "{username}'s refresh token is {}",
        r.state
    );
    Ok(())
}

#[then("no refresh token was presented to the IdP but to revoke it")]
async fn refresh_only_revoked(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world
        .at_idp_after_revocations(|grants| {
            let refresh: Vec<_> = grants
                .refresh_tokens
                .iter()
                .filter(|r| r.client_id == CLIENT_ID)
                .collect();
            ensure!(!refresh.is_empty(), "the IdP issued no refresh token");
            for r in refresh {
                ensure!(
                    r.state == TokenState::Revoked && r.presented == 1,
                    "a refresh token is {} after {} presentations (once, to revoke it, was expected)",
                    r.state,
                    r.presented
                );
            }
            let refreshed = grants
                .access_tokens
                .iter()
                .filter(|a| a.grant == Grant::RefreshToken)
                .count();
            ensure!(
                refreshed == 0,
                "the IdP issued {refreshed} access tokens by refreshing"
            );
            Ok(())
        })
        .await
}

#[given(expr = "the IdP's revocation endpoint answers status {int} to the next {int} requests")]
fn revocation_fails(world: &mut DelegationWorld, status: u16, count: usize) -> anyhow::Result<()> {
    world
        .idp
        .control()?
        .push_fault(
            Endpoint::Revoke,
            Fault::Status {
                status,
                body: r#"{"error":"temporarily_unavailable"}"#.into(),
                content_type: "application/json".into(),
            },
            count,
        )
        .map_err(|e| anyhow!("the IdP refused the fault: {e}"))
}

#[then("the IdP's revocation endpoint has answered those requests")]
async fn revocation_requests_answered(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.revocations_settled().await?;
    let pending = world.idp.control()?.faults().pending(Endpoint::Revoke);
    ensure!(
        pending == 0,
        "the platform sent the IdP's revocation endpoint {pending} requests too few"
    );
    Ok(())
}

#[then(expr = "a log line says that revoking a consumer token failed with {string}")]
fn failure_logged(_world: &mut DelegationWorld, code: String) -> anyhow::Result<()> {
    let logs = super::runner::logs();
    ensure!(
        logs.lines()
            .any(|l| l.contains("consumer token revocation failed") && l.contains(&code)),
        "no log line says that a revocation failed with {code:?}"
    );
    Ok(())
}

#[then(expr = "no log line holds a token the IdP issued to {string}")]
fn no_token_logged(world: &mut DelegationWorld, username: String) -> anyhow::Result<()> {
    let sub = sub_of(&username)?;
    let grants = world.idp.control()?.grants();
    let (refresh, access) = issued_for(&grants, &sub);
    let ids: BTreeSet<&str> = refresh
        .iter()
        .map(|r| r.id.as_str())
        .chain(access.iter().map(|a| a.id.as_str()))
        .collect();
    ensure!(
        !ids.is_empty(),
        "the IdP issued {username} no token: the check proves nothing"
    );
    let logs = super::runner::logs();
    ensure!(!logs.is_empty(), "no log line was captured: logging is off");
    // Every word that could be a token (JWT or opaque, base64url or not).
    let word = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    let leaked = logs
        .split(|c: char| !word(c))
        .filter(|w| w.len() >= 20)
        .any(|w| ids.contains(token_id(w).as_str()));
    ensure!(!leaked, "a log line holds a token of {username}");
    Ok(())
}
