//! Steps that act on the IdP from the side, through
//! [`IdpControl`](standin::conformance::IdpControl). Every scenario using one
//! must carry the `@control` tag: a run against an external IdP skips it.

use std::time::Duration;

use anyhow::{anyhow, ensure};
use cucumber::{given, then, when};
use serde_json::{Map, Value, json};
use standin::conformance::control::{
    Endpoint, Fault, IdTokenDefect, NewClient, NewUser, SigningAlg, TokenState,
};
use standin::secret::Secret;

use super::IdpWorld;
use super::clients::ClientUnderTest;
use super::params::{CodeStateParam, Grant, StateParam, TokenKind, Which};

#[when(expr = "the IdP's clock moves forward {int} seconds")]
async fn clock_forward(world: &mut IdpWorld, secs: u64) -> anyhow::Result<()> {
    world
        .control()?
        .advance_clock(Duration::from_secs(secs))
        .await?;
    Ok(())
}

#[given(expr = "the IdP's {word} endpoint fails {int} time(s) with status {int}")]
async fn fault_status(
    world: &mut IdpWorld,
    endpoint: String,
    count: u32,
    status: u16,
) -> anyhow::Result<()> {
    let endpoint: Endpoint = endpoint.parse().map_err(|e: String| anyhow!(e))?;
    let fault = Fault::Status {
        status,
        body: String::new(),
        content_type: "application/json".into(),
    };
    world.control()?.queue_fault(endpoint, fault, count).await?;
    Ok(())
}

#[given(expr = "the IdP's {word} endpoint answers {int} time(s) with a body that is not JSON")]
async fn fault_malformed(world: &mut IdpWorld, endpoint: String, count: u32) -> anyhow::Result<()> {
    let endpoint: Endpoint = endpoint.parse().map_err(|e: String| anyhow!(e))?;
    world
        .control()?
        .queue_fault(endpoint, Fault::MalformedJson, count)
        .await?;
    Ok(())
}

#[given(expr = "the IdP's {word} endpoint answers {int} time(s) after a delay of {int} ms")]
async fn fault_delay(
    world: &mut IdpWorld,
    endpoint: String,
    count: u32,
    delay_ms: u64,
) -> anyhow::Result<()> {
    let endpoint: Endpoint = endpoint.parse().map_err(|e: String| anyhow!(e))?;
    world
        .control()?
        .queue_fault(endpoint, Fault::Delay { delay_ms }, count)
        .await?;
    Ok(())
}

#[given(expr = "the next ID token the IdP issues has the defect {string}")]
async fn id_token_defect(world: &mut IdpWorld, defect: String) -> anyhow::Result<()> {
    let defect: IdTokenDefect = defect.parse().map_err(|e: String| anyhow!(e))?;
    world.control()?.queue_id_token_defect(defect, 1).await?;
    Ok(())
}

#[given(expr = "a user {string} with password {string}")]
async fn add_user(world: &mut IdpWorld, username: String, password: String) -> anyhow::Result<()> {
    let user = NewUser {
        username,
        password: Secret::new(password),
        sub: None,
        claims: Map::new(),
    };
    world.control()?.add_user(user).await?;
    Ok(())
}

#[given(expr = "the user {string} has the claim {string} set to {string}")]
async fn patch_claim(
    world: &mut IdpWorld,
    username: String,
    claim: String,
    value: String,
) -> anyhow::Result<()> {
    let mut claims = Map::new();
    claims.insert(claim, Value::String(value));
    world
        .control()?
        .patch_user_claims(&username, claims)
        .await?;
    Ok(())
}

#[given(expr = "a registered client {string} with secret {string} and redirect URI {string}")]
async fn add_client(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    redirect_uri: String,
) -> anyhow::Result<()> {
    let mut fields = Map::new();
    fields.insert("redirect_uris".into(), json!([redirect_uri]));
    fields.insert("scopes".into(), json!(["openid", "profile"]));
    fields.insert(
        "grant_types".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    world
        .control()?
        .add_client(NewClient {
            id: id.clone(),
            secret: Some(Secret::new(secret.clone())),
            fields,
        })
        .await?;
    let mut client = ClientUnderTest::confidential(&id, &secret);
    client.redirect_uri = redirect_uri;
    world.use_client(client);
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
    let kid = world
        .rotated_kids
        .last()
        .ok_or_else(|| anyhow!("no key has been rotated"))?;
    let exchange = world.exchange()?;
    let found = exchange
        .member("keys")
        .and_then(Value::as_array)
        .is_some_and(|keys| {
            keys.iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        });
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
    let tokens = world.token_set(which)?.clone();
    let grants = world.control()?.grants().await?;
    let actual = match kind {
        TokenKind::Access => grants
            .access_token(tokens.access_token.expose())
            .map(|g| g.state),
        TokenKind::Refresh => {
            let refresh = tokens
                .refresh_token
                .as_ref()
                .ok_or_else(|| anyhow!("the {which:?} token response had no refresh token"))?;
            grants.refresh_token(refresh.expose()).map(|g| g.state)
        }
    };
    let actual =
        actual.ok_or_else(|| anyhow!("the IdP does not list the {which:?} {kind:?} token"))?;
    ensure!(
        actual == state.0,
        "the IdP lists the {which:?} {kind:?} token as {actual}, expected {}",
        state.0
    );
    Ok(())
}

#[then(expr = "the IdP lists the {which} access token as issued by the {grant} grant")]
async fn lists_token_grant(world: &mut IdpWorld, which: Which, grant: Grant) -> anyhow::Result<()> {
    let tokens = world.token_set(which)?.clone();
    let grants = world.control()?.grants().await?;
    let record = grants
        .access_token(tokens.access_token.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the {which:?} access token"))?;
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
    let first = world
        .token_set(Which::First)?
        .refresh_token
        .clone()
        .ok_or_else(|| anyhow!("the first token response had no refresh token"))?;
    let grants = world.control()?.grants().await?;
    let family = grants
        .refresh_token(first.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the first refresh token"))?
        .family
        .clone();
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
    let expires_in = world
        .token_set(Which::Latest)?
        .expires_in
        .ok_or_else(|| anyhow!("the token response has no expires_in"))?;
    let secs = u64::try_from(expires_in + 1)?;
    world
        .control()?
        .advance_clock(Duration::from_secs(secs))
        .await?;
    Ok(())
}

#[when(expr = "the IdP's clock moves to {int} seconds before the access token expires")]
async fn clock_before_access(world: &mut IdpWorld, before: i64) -> anyhow::Result<()> {
    let expires_in = world
        .token_set(Which::Latest)?
        .expires_in
        .ok_or_else(|| anyhow!("the token response has no expires_in"))?;
    let secs = u64::try_from(expires_in - before)
        .map_err(|_| anyhow!("the access token lasts only {expires_in} seconds"))?;
    world
        .control()?
        .advance_clock(Duration::from_secs(secs))
        .await?;
    Ok(())
}

#[when("the IdP's clock moves past the lifetime of the refresh token")]
async fn clock_past_refresh(world: &mut IdpWorld) -> anyhow::Result<()> {
    let refresh = world
        .token_set(Which::Latest)?
        .refresh_token
        .clone()
        .ok_or_else(|| anyhow!("the latest token response had no refresh token"))?;
    let control = world.control()?;
    let grants = control.grants().await?;
    let record = grants
        .refresh_token(refresh.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the refresh token"))?;
    let clock = control.clock().await?;
    let secs = u64::try_from(record.expires_at - clock.now + 1)?;
    control.advance_clock(Duration::from_secs(secs)).await?;
    Ok(())
}

#[then(expr = "the IdP records the latest access token as {word}")]
async fn lists_format(world: &mut IdpWorld, format: String) -> anyhow::Result<()> {
    let token = world.token_set(Which::Latest)?.access_token.clone();
    let grants = world.control()?.grants().await?;
    let record = grants
        .access_token(token.expose())
        .ok_or_else(|| anyhow!("the IdP does not list the latest access token"))?;
    let actual = serde_json::to_value(record.format)?;
    ensure!(
        actual.as_str() == Some(format.as_str()),
        "the IdP records the access token as {actual}, expected {format}"
    );
    Ok(())
}
