//! Token revocation (RFC 7009): the bot tells the IdP it no longer needs a
//! token. Client authentication refusals use the steps of
//! [`introspect`](super::introspect), error answers those of
//! [`token`](super::token).

use anyhow::ensure;
use cucumber::{then, when};

use super::IdpWorld;
use super::introspect::{ClientAuth, token_form};
use super::params::{TokenKind, Which};

impl IdpWorld {
    pub async fn revoke(
        &mut self,
        form: Vec<(String, String)>,
        auth: ClientAuth,
    ) -> anyhow::Result<()> {
        self.client_post("revocation_endpoint", form, auth).await
    }

    /// Revoke a token the bot received, authenticated as `auth` says.
    async fn revoke_received(
        &mut self,
        which: Which,
        kind: TokenKind,
        auth: ClientAuth,
    ) -> anyhow::Result<()> {
        self.post_received_token("revocation_endpoint", which, kind, auth)
            .await
    }
}

#[when(expr = "the bot revokes the {which} {kind}")]
async fn revoke_which(world: &mut IdpWorld, which: Which, kind: TokenKind) -> anyhow::Result<()> {
    world.revoke_received(which, kind, ClientAuth::AsBot).await
}

#[when(expr = "the bot revokes the {kind}")]
async fn revoke_latest(world: &mut IdpWorld, kind: TokenKind) -> anyhow::Result<()> {
    revoke_which(world, Which::Latest, kind).await
}

#[when(expr = "the bot revokes the token {string}")]
async fn revoke_literal(world: &mut IdpWorld, token: String) -> anyhow::Result<()> {
    world.revoke(token_form(&token), ClientAuth::AsBot).await
}

#[when("the bot sends a revocation request without a token")]
async fn revoke_nothing(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.revoke(Vec::new(), ClientAuth::AsBot).await
}

#[when("the bot revokes the access token without authenticating")]
async fn revoke_anonymous(world: &mut IdpWorld) -> anyhow::Result<()> {
    world
        .revoke_received(Which::Latest, TokenKind::Access, ClientAuth::Anonymous)
        .await
}

#[when(expr = "the bot revokes the access token with the client secret {string} in a Basic header")]
async fn revoke_wrong_basic(world: &mut IdpWorld, secret: String) -> anyhow::Result<()> {
    let auth = ClientAuth::BasicSecret(secret);
    world
        .revoke_received(Which::Latest, TokenKind::Access, auth)
        .await
}

#[then("the IdP confirms the revocation")]
fn revocation_ok(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200,
        "revocation answers 200, even for a token it does not know (RFC 7009 2.2), got {}",
        exchange.summary()
    );
    Ok(())
}
