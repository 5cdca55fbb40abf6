//! Steps that act on the IdP from the side, through
//! [`IdpControl`](standin::conformance::IdpControl). Every scenario using one
//! must carry the `@control` tag: a run against an external IdP skips it.

use std::time::Duration;

use anyhow::{anyhow, ensure};
use cucumber::{given, then, when};
use standin::conformance::control::{
    AccessView, IdTokenDefect, RefreshView, SigningAlg, TokenState,
};

use super::IdpWorld;
use super::discovery::jwks_kids;
use super::params::{CodeStateParam, Grant, StateParam, TokenKind, Which};

impl IdpWorld {
    /// Move the IdP's clock forward.
    async fn advance_clock(&self, secs: u64) -> anyhow::Result<()> {
        self.control()?
            .advance_clock(Duration::from_secs(secs))
            .await?;
        Ok(())
    }

    /// The IdP's record of an access token the bot received.
    async fn access_token_record(&self, which: Which) -> anyhow::Result<AccessView> {
        let token = self.token_value(which, TokenKind::Access)?;
        let grants = self.control()?.grants().await?;
        grants
            .access_token(token.expose())
            .cloned()
            .ok_or_else(|| anyhow!("the IdP does not list the {which:?} access token"))
    }

    /// The IdP's record of a refresh token the bot received.
    async fn refresh_token_record(&self, which: Which) -> anyhow::Result<RefreshView> {
        let token = self.token_value(which, TokenKind::Refresh)?;
        let grants = self.control()?.grants().await?;
        grants
            .refresh_token(token.expose())
            .cloned()
            .ok_or_else(|| anyhow!("the IdP does not list the {which:?} refresh token"))
    }
}

#[when(expr = "the IdP's clock moves forward {int} seconds")]
async fn clock_forward(world: &mut IdpWorld, secs: u64) -> anyhow::Result<()> {
    world.advance_clock(secs).await
}

#[given(expr = "the next ID token the IdP issues has the defect {string}")]
async fn id_token_defect(world: &mut IdpWorld, defect: String) -> anyhow::Result<()> {
    let defect: IdTokenDefect = defect.parse().map_err(|e: String| anyhow!(e))?;
    world.control()?.queue_id_token_defect(defect, 1).await?;
    Ok(())
}

#[when("the IdP rotates its signing key")]
async fn rotate_key(world: &mut IdpWorld) -> anyhow::Result<()> {
    let kid = world.control()?.rotate_key(SigningAlg::RS256).await?;
    world.rotated_kids.push(kid);
    world.jwks = None;
    Ok(())
}

#[then("the JWKS publishes the rotated key")]
fn jwks_has_rotated(world: &mut IdpWorld) -> anyhow::Result<()> {
    let kid = world.rotated_kid()?;
    let found = world
        .exchange()?
        .json
        .as_ref()
        .is_some_and(|jwks| jwks_kids(jwks).contains(&kid));
    ensure!(found, "the JWKS does not publish the rotated key {kid:?}");
    Ok(())
}

#[when("the IdP is reset")]
async fn reset(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.control()?.reset().await?;
    Ok(())
}

// --- inspection ----------------------------------------------------------------

#[then(expr = "the IdP lists the {which} {kind} as {state}")]
async fn lists_token_state(
    world: &mut IdpWorld,
    which: Which,
    kind: TokenKind,
    state: StateParam,
) -> anyhow::Result<()> {
    let actual = match kind {
        TokenKind::Access => world.access_token_record(which).await?.state,
        TokenKind::Refresh => world.refresh_token_record(which).await?.state,
    };
    ensure!(
        actual == state.0,
        "the IdP lists the {which:?} {kind:?} token as {actual}, expected {}",
        state.0
    );
    Ok(())
}

#[then(expr = "the IdP lists the {which} access token as issued by the {grant} grant")]
async fn lists_token_grant(world: &mut IdpWorld, which: Which, grant: Grant) -> anyhow::Result<()> {
    let record = world.access_token_record(which).await?;
    ensure!(
        record.grant == grant.0,
        "the {which:?} access token came from {:?}, expected {:?}",
        record.grant,
        grant.0
    );
    Ok(())
}

#[then(expr = "the IdP lists the code as {code_state}")]
async fn lists_code_state(world: &mut IdpWorld, state: CodeStateParam) -> anyhow::Result<()> {
    let code = world
        .code
        .clone()
        .ok_or_else(|| anyhow!("no code was received"))?;
    let grants = world.control()?.grants().await?;
    let record = grants
        .code(code.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the code"))?;
    ensure!(
        record.state == state.0,
        "the IdP lists the code as {:?}, expected {:?}",
        record.state,
        state.0
    );
    Ok(())
}

#[then("the IdP lists every refresh token of the family as revoked")]
async fn family_revoked(world: &mut IdpWorld) -> anyhow::Result<()> {
    let family = world.refresh_token_record(Which::First).await?.family;
    let grants = world.control()?.grants().await?;
    let members: Vec<_> = grants.refresh_family(&family).collect();
    ensure!(
        members.len()
            >= world
                .tokens
                .iter()
                .filter(|t| t.refresh_token.is_some())
                .count(),
        "the family lists {} refresh tokens, fewer than the scenario received",
        members.len()
    );
    let alive: Vec<String> = members
        .iter()
        .filter(|g| g.state != TokenState::Revoked)
        .map(|g| format!("{} is {}", g.id, g.state))
        .collect();
    ensure!(
        alive.is_empty(),
        "reuse of a rotated refresh token must revoke its family (RFC 9700 4.14.2): {alive:?}"
    );
    Ok(())
}

#[when("the IdP's clock moves past the lifetime of the access token")]
async fn clock_past_access(world: &mut IdpWorld) -> anyhow::Result<()> {
    let expires_in = world.expires_in()?;
    world.advance_clock(u64::try_from(expires_in + 1)?).await
}

#[when(expr = "the IdP's clock moves to {int} seconds before the access token expires")]
async fn clock_before_access(world: &mut IdpWorld, before: i64) -> anyhow::Result<()> {
    let expires_in = world.expires_in()?;
    let secs = u64::try_from(expires_in - before)
        .map_err(|_| anyhow!("the access token lasts only {expires_in} seconds"))?;
    world.advance_clock(secs).await
}

#[when("the IdP's clock moves past the lifetime of the refresh token")]
async fn clock_past_refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    let record = world.refresh_token_record(Which::Latest).await?;
    let clock = world.control()?.clock().await?;
    world
        .advance_clock(u64::try_from(record.expires_at.secs_since(clock.now) + 1)?)
        .await
}

#[then(expr = "the IdP records the latest access token as {word}")]
async fn lists_format(world: &mut IdpWorld, format: String) -> anyhow::Result<()> {
    let record = world.access_token_record(Which::Latest).await?;
    let actual = serde_json::to_value(record.format)?;
    ensure!(
        actual.as_str() == Some(format.as_str()),
        "the IdP records the access token as {actual}, expected {format}"
    );
    Ok(())
}
