//! The userinfo endpoint (OIDC Core 5.3; errors RFC 6750 3).

use anyhow::{anyhow, ensure};
use cucumber::{then, when};
use serde_json::Value;

use super::IdpWorld;
use super::http::Exchange;
use super::params::Which;

impl IdpWorld {
    pub async fn call_userinfo(&mut self, token: &str) -> anyhow::Result<()> {
        let endpoint = self.endpoint("userinfo_endpoint").await?;
        let exchange = Exchange::send(self.http.get(&endpoint).bearer_auth(token)).await?;
        self.exchange = Some(exchange);
        Ok(())
    }
}

#[when("the bot calls userinfo with the access token")]
async fn userinfo_latest(world: &mut IdpWorld) -> anyhow::Result<()> {
    let token = world.token_set(Which::Latest)?.access_token.clone();
    world.call_userinfo(token.expose()).await
}

#[when(expr = "the bot calls userinfo with the {which} access token")]
async fn userinfo_which(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let token = world.token_set(which)?.access_token.clone();
    world.call_userinfo(token.expose()).await
}

#[when(expr = "the bot calls userinfo with the access token {string}")]
async fn userinfo_literal(world: &mut IdpWorld, token: String) -> anyhow::Result<()> {
    world.call_userinfo(&token).await
}

#[then("userinfo answers with the subject of the ID token")]
async fn userinfo_sub(world: &mut IdpWorld) -> anyhow::Result<()> {
    let id_token = world.verified_id_token(Which::Latest).await?;
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200,
        "expected userinfo claims, got {}",
        exchange.summary()
    );
    let sub = exchange.member("sub").and_then(Value::as_str);
    ensure!(
        sub.is_some() && sub == id_token.get("sub").and_then(Value::as_str),
        "userinfo sub must equal the ID token's sub (OIDC Core 5.3.2)"
    );
    Ok(())
}

#[then("userinfo refuses the token with 401 invalid_token")]
fn userinfo_refuses(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 401,
        "expected 401, got {}",
        exchange.summary()
    );
    let challenge = exchange
        .header("www-authenticate")
        .ok_or_else(|| anyhow!("a 401 needs WWW-Authenticate (RFC 6750 3)"))?;
    ensure!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "expected WWW-Authenticate: Bearer error=\"invalid_token\" (RFC 6750 3.1), got {challenge:?}"
    );
    Ok(())
}
