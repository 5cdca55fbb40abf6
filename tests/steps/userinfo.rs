//! The userinfo endpoint (OIDC Core 5.3; errors RFC 6750 3).

use anyhow::{anyhow, ensure};
use cucumber::{then, when};
use serde_json::Value;

use super::params::{Forgery, TokenKind, Which};
use super::{IdpWorld, expect_string_claim};

impl IdpWorld {
    /// Call userinfo with a request built from the endpoint URL.
    pub async fn call_userinfo_with(
        &mut self,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<()> {
        self.send_to_endpoint("userinfo_endpoint", build).await
    }

    /// GET userinfo with this bearer token.
    pub async fn call_userinfo(&mut self, token: &str) -> anyhow::Result<()> {
        self.call_userinfo_with(|http, url| http.get(url).bearer_auth(token))
            .await
    }

    fn latest_access_token(&self) -> anyhow::Result<String> {
        Ok(self
            .token_value(Which::Latest, TokenKind::Access)?
            .expose()
            .to_string())
    }
}

#[when(expr = "the bot calls userinfo with the {which} access token")]
async fn userinfo_which(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let token = world.token_value(which, TokenKind::Access)?;
    world.call_userinfo(token.expose()).await
}

#[when("the bot calls userinfo with the access token")]
async fn userinfo_latest(world: &mut IdpWorld) -> anyhow::Result<()> {
    userinfo_which(world, Which::Latest).await
}

#[when(expr = "the bot calls userinfo with the access token {string}")]
async fn userinfo_literal(world: &mut IdpWorld, token: String) -> anyhow::Result<()> {
    world.call_userinfo(&token).await
}

#[then("userinfo answers with the subject of the ID token")]
async fn userinfo_sub(world: &mut IdpWorld) -> anyhow::Result<()> {
    let id_token = world.verified_id_token(Which::Latest).await?;
    let sub = userinfo_claims(world)?.get("sub").and_then(Value::as_str);
    ensure!(
        sub.is_some() && sub == id_token.get("sub").and_then(Value::as_str),
        "userinfo sub must equal the ID token's sub (OIDC Core 5.3.2)"
    );
    Ok(())
}

#[then("userinfo refuses the token with 401 invalid_token")]
fn userinfo_refuses(world: &mut IdpWorld) -> anyhow::Result<()> {
    let challenge = bearer_refusal(world, 401, "invalid_token")?;
    ensure!(
        challenge.starts_with("Bearer"),
        "expected WWW-Authenticate: Bearer error=\"invalid_token\" (RFC 6750 3.1), got {challenge:?}"
    );
    Ok(())
}

#[when("the bot calls userinfo with POST and the access token in the Authorization header")]
async fn userinfo_post_header(world: &mut IdpWorld) -> anyhow::Result<()> {
    let token = world.latest_access_token()?;
    world
        .call_userinfo_with(|http, url| http.post(url).bearer_auth(&token))
        .await
}

#[when("the bot calls userinfo with POST and the access token in the form body")]
async fn userinfo_post_body(world: &mut IdpWorld) -> anyhow::Result<()> {
    // RFC 6750 2.2: form-encoded body parameter `access_token`.
    let token = world.latest_access_token()?;
    world
        .call_userinfo_with(|http, url| http.post(url).form(&[("access_token", &token)]))
        .await
}

#[when("the bot calls userinfo with the access token both in the header and in the form body")]
async fn userinfo_both(world: &mut IdpWorld) -> anyhow::Result<()> {
    let token = world.latest_access_token()?;
    world
        .call_userinfo_with(|http, url| {
            http.post(url)
                .bearer_auth(&token)
                .form(&[("access_token", &token)])
        })
        .await
}

#[when("the bot calls userinfo without an access token")]
async fn userinfo_without_token(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.call_userinfo_with(|http, url| http.get(url)).await
}

#[when(expr = "the bot calls userinfo with a forgery of the access token: {forgery}")]
async fn userinfo_forgery(world: &mut IdpWorld, forgery: Forgery) -> anyhow::Result<()> {
    let token = world.latest_access_token()?;
    let forged = world.forge(&token, forgery).await?;
    world.call_userinfo(&forged).await
}

/// The parameters of a `WWW-Authenticate: Bearer ...` challenge.
fn bearer_challenge(world: &IdpWorld) -> anyhow::Result<String> {
    let exchange = world.exchange()?;
    let challenge = exchange
        .header("www-authenticate")
        .ok_or_else(|| anyhow!("expected WWW-Authenticate (RFC 6750 3), got none"))?;
    ensure!(
        challenge
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")),
        "expected a Bearer challenge (RFC 6750 3), got {challenge:?}"
    );
    Ok(challenge.to_string())
}

/// An RFC 6750 3.1 refusal: this status and a Bearer challenge naming this
/// error code; returns the challenge.
fn bearer_refusal(world: &IdpWorld, status: u16, error: &str) -> anyhow::Result<String> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == status,
        "expected {status} (RFC 6750 3.1 {error}), got {}",
        exchange.summary()
    );
    let challenge = bearer_challenge(world)?;
    ensure!(
        challenge.contains(&format!("error=\"{error}\"")),
        "expected error=\"{error}\" in the challenge, got {challenge:?}"
    );
    Ok(challenge)
}

#[then("userinfo asks for a token with a Bearer challenge and no error code")]
fn userinfo_bare_challenge(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 401,
        "a request without a token gets 401 (RFC 6750 3.1), got {}",
        exchange.summary()
    );
    let challenge = bearer_challenge(world)?;
    ensure!(
        !challenge.contains("error="),
        "a request without any authentication gets no error code (RFC 6750 3.1), got {challenge:?}"
    );
    let no_error = if exchange.member("error").is_none() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "a request without any authentication should get no error information \
             (RFC 6750 3.1), the body says {}",
            exchange.summary()
        ))
    };
    world.should("RFC 6750 3.1, SHOULD NOT", no_error)
}

#[then("userinfo refuses the request with 400 invalid_request")]
fn userinfo_invalid_request(world: &mut IdpWorld) -> anyhow::Result<()> {
    bearer_refusal(world, 400, "invalid_request").map(drop)
}

#[then("userinfo refuses the token with 403 insufficient_scope")]
fn userinfo_insufficient_scope(world: &mut IdpWorld) -> anyhow::Result<()> {
    bearer_refusal(world, 403, "insufficient_scope").map(drop)
}

fn userinfo_claims(world: &IdpWorld) -> anyhow::Result<&serde_json::Map<String, Value>> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200,
        "expected userinfo claims, got {}",
        exchange.summary()
    );
    exchange
        .json_object()
        .ok_or_else(|| anyhow!("the userinfo response is not a JSON object"))
}

#[then(expr = "userinfo returns the claim {string}")]
fn userinfo_has_claim(world: &mut IdpWorld, claim: String) -> anyhow::Result<()> {
    let claims = userinfo_claims(world)?;
    ensure!(
        claims.get(&claim).is_some_and(|v| !v.is_null()),
        "userinfo does not return {claim:?}: {:?}",
        claims.keys().collect::<Vec<_>>()
    );
    Ok(())
}

#[then(expr = "userinfo returns the claim {string} with the value {string}")]
fn userinfo_claim_value(world: &mut IdpWorld, claim: String, value: String) -> anyhow::Result<()> {
    expect_string_claim("userinfo", userinfo_claims(world)?, &claim, &value)
}

#[then(expr = "userinfo does not return the claim {string}")]
fn userinfo_lacks_claim(world: &mut IdpWorld, claim: String) -> anyhow::Result<()> {
    let claims = userinfo_claims(world)?;
    ensure!(
        claims.get(&claim).is_none(),
        "userinfo returns {claim:?}, which the scope does not release"
    );
    Ok(())
}
