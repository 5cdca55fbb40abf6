//! Token revocation (RFC 7009): the bot tells the IdP it no longer needs a
//! token. Client authentication refusals use the steps of
//! [`introspect`](super::introspect).

use anyhow::ensure;
use cucumber::{then, when};

use super::IdpWorld;
use super::introspect::ClientAuth;
use super::params::{TokenKind, Which};

impl IdpWorld {
    pub async fn revoke(
        &mut self,
        form: Vec<(String, String)>,
        auth: ClientAuth,
    ) -> anyhow::Result<()> {
        self.client_post("revocation_endpoint", form, auth).await
    }
}

fn token_form(token: &str) -> Vec<(String, String)> {
    vec![("token".to_string(), token.to_string())]
}

#[when(expr = "the bot revokes the {kind}")]
async fn revoke_latest(world: &mut IdpWorld, kind: TokenKind) -> anyhow::Result<()> {
    let token = world.token_value(Which::Latest, kind)?;
    world
        .revoke(token_form(token.expose()), ClientAuth::AsBot)
        .await
}

#[when(expr = "the bot revokes the {which} {kind}")]
async fn revoke_which(world: &mut IdpWorld, which: Which, kind: TokenKind) -> anyhow::Result<()> {
    let token = world.token_value(which, kind)?;
    world
        .revoke(token_form(token.expose()), ClientAuth::AsBot)
        .await
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
    let token = world.token_value(Which::Latest, TokenKind::Access)?;
    world
        .revoke(token_form(token.expose()), ClientAuth::Anonymous)
        .await
}

#[when(expr = "the bot revokes the access token with the client secret {string} in a Basic header")]
async fn revoke_wrong_basic(world: &mut IdpWorld, secret: String) -> anyhow::Result<()> {
    let token = world.token_value(Which::Latest, TokenKind::Access)?;
    world
        .revoke(token_form(token.expose()), ClientAuth::BasicSecret(secret))
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

#[then(expr = "the IdP refuses the revocation with {string}")]
fn revocation_refused(world: &mut IdpWorld, error: String) -> anyhow::Result<()> {
    world.exchange()?.expect_error(400, &error)
}
