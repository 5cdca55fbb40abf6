//! The brand changing its IdP at run time (`@control`): users and their
//! claims, clients, signing keys, reset; and the admin API's own answers to
//! bad input, which only the mock has, so those steps call it directly.

use anyhow::{Context as _, anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::{Map, Value, json};
use standin::conformance::control::{NewClient, NewUser};
use standin::secret::Secret;

use super::IdpWorld;
use super::clients::{ClientUnderTest, DEMO_CALLBACK};
use super::http::Exchange;
use super::params::Which;

/// A two-column table (`| name | value |`) as JSON members; a value that
/// parses as JSON (`true`, `["a"]`, `null`) is taken as such, anything
/// else as a string.
fn table_members(step: &Step) -> anyhow::Result<Map<String, Value>> {
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow!("this step needs a table of names and values"))?;
    table
        .rows
        .iter()
        .map(|row| match row.as_slice() {
            [name, value] => Ok((
                name.clone(),
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.clone())),
            )),
            other => Err(anyhow!("expected | name | value | rows, got {other:?}")),
        })
        .collect()
}

#[given(expr = "a user {string} with password {string} and these claims:")]
async fn add_user_with_claims(
    world: &mut IdpWorld,
    username: String,
    password: String,
    step: &Step,
) -> anyhow::Result<()> {
    let user = NewUser {
        username,
        password: Secret::new(password),
        sub: None,
        claims: table_members(step)?,
    };
    world.control()?.add_user(user).await?;
    Ok(())
}

#[when(expr = "the brand changes the claim {string} of the user {string} to {string}")]
async fn change_claim(
    world: &mut IdpWorld,
    claim: String,
    username: String,
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

#[when(expr = "the brand removes the claim {string} of the user {string}")]
async fn remove_claim(world: &mut IdpWorld, claim: String, username: String) -> anyhow::Result<()> {
    let mut claims = Map::new();
    claims.insert(claim.clone(), Value::Null);
    let user = world
        .control()?
        .patch_user_claims(&username, claims)
        .await?;
    ensure!(
        user.pointer(&format!("/claims/{claim}")).is_none(),
        "the IdP still holds {claim:?} for {username:?} after removing it"
    );
    Ok(())
}

#[given(expr = "a registered client {string} with secret {string} and these settings:")]
async fn add_client_with(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    step: &Step,
) -> anyhow::Result<()> {
    let mut fields = Map::new();
    fields.insert("redirect_uris".into(), json!([DEMO_CALLBACK]));
    fields.insert(
        "scopes".into(),
        json!(["openid", "profile", "offline_access"]),
    );
    fields.insert(
        "grant_types".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    fields.extend(table_members(step)?);
    world
        .control()?
        .add_client(NewClient {
            id: id.clone(),
            secret: Some(Secret::new(secret.clone())),
            fields,
        })
        .await?;
    world.use_client(ClientUnderTest::confidential(&id, &secret));
    Ok(())
}

// --- keys ----------------------------------------------------------------------

impl IdpWorld {
    /// The `kid` in the header of an access token the bot received.
    pub fn access_token_kid(&self, which: Which) -> anyhow::Result<String> {
        let token = self.token_set(which)?.access_token.clone();
        let header =
            jsonwebtoken::decode_header(token.expose()).context("the access token is not a JWT")?;
        header
            .kid
            .ok_or_else(|| anyhow!("the {which:?} access token has no kid"))
    }

    /// The kids the JWKS publishes now (fetched afresh).
    async fn published_kids(&mut self) -> anyhow::Result<Vec<String>> {
        self.jwks = None;
        let jwks = self.jwks().await?;
        Ok(jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["kid"].as_str().map(str::to_string))
            .collect())
    }

    /// Send a raw request to the admin API and record the answer.
    async fn admin_request(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<()> {
        self.control()?;
        let url = format!("{}/admin{path}", self.issuer);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        self.exchange = Some(Exchange::send(request).await?);
        Ok(())
    }
}

#[then(expr = "the {which} access token is signed with the rotated key")]
fn signed_with_rotated(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let rotated = world
        .rotated_kids
        .last()
        .ok_or_else(|| anyhow!("no key has been rotated"))?;
    let kid = world.access_token_kid(which)?;
    ensure!(
        &kid == rotated,
        "the {which:?} access token names kid {kid:?}, not the rotated key {rotated:?}"
    );
    Ok(())
}

#[then(expr = "the {which} access token is not signed with the rotated key")]
fn not_signed_with_rotated(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    ensure!(
        !world.rotated_kids.contains(&kid),
        "the {which:?} access token is signed with a rotated key"
    );
    Ok(())
}

#[then(expr = "the ID token is signed with the rotated key")]
fn id_token_signed_with_rotated(world: &mut IdpWorld) -> anyhow::Result<()> {
    let rotated = world
        .rotated_kids
        .last()
        .ok_or_else(|| anyhow!("no key has been rotated"))?
        .clone();
    let token = world
        .token_set(Which::Latest)?
        .id_token
        .clone()
        .ok_or_else(|| anyhow!("the latest token response had no ID token"))?;
    let kid = jsonwebtoken::decode_header(token.expose())?.kid;
    ensure!(
        kid.as_deref() == Some(rotated.as_str()),
        "the ID token names kid {kid:?}, not the rotated key {rotated:?}"
    );
    Ok(())
}

#[then(expr = "the JWKS still publishes the key of the {which} access token")]
async fn jwks_still_has(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    let kids = world.published_kids().await?;
    ensure!(
        kids.contains(&kid),
        "the JWKS dropped {kid:?}, which signed a live token: {kids:?}"
    );
    Ok(())
}

#[then(expr = "the JWKS no longer publishes the key of the {which} access token")]
async fn jwks_dropped(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    let kids = world.published_kids().await?;
    ensure!(
        !kids.contains(&kid),
        "the JWKS still publishes the retired key {kid:?}"
    );
    Ok(())
}

#[when(expr = "the IdP retires the key of the {which} access token")]
async fn retire_key(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    world.control()?.retire_key(&kid).await?;
    world.jwks = None;
    Ok(())
}

#[when(expr = "the brand tries to retire the key of the {which} access token")]
async fn try_retire_key(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    let path = format!("/keys/{kid}");
    world
        .admin_request(reqwest::Method::DELETE, &path, None)
        .await
}

// --- reset ---------------------------------------------------------------------

#[then("the IdP's clock is back to real time")]
async fn clock_real(world: &mut IdpWorld) -> anyhow::Result<()> {
    let clock = world.control()?.clock().await?;
    ensure!(
        clock.offset_secs == 0,
        "the clock is still {} seconds ahead after the reset",
        clock.offset_secs
    );
    Ok(())
}

#[then("the IdP lists no codes or tokens")]
async fn grants_empty(world: &mut IdpWorld) -> anyhow::Result<()> {
    let grants = world.control()?.grants().await?;
    ensure!(
        grants.codes.is_empty()
            && grants.access_tokens.is_empty()
            && grants.refresh_tokens.is_empty(),
        "after a reset the IdP still lists {} codes, {} access tokens, {} refresh tokens",
        grants.codes.len(),
        grants.access_tokens.len(),
        grants.refresh_tokens.len()
    );
    Ok(())
}

#[then("the IdP lists codes and tokens")]
async fn grants_not_empty(world: &mut IdpWorld) -> anyhow::Result<()> {
    let grants = world.control()?.grants().await?;
    ensure!(
        !grants.codes.is_empty() && !grants.access_tokens.is_empty(),
        "expected the IdP to list what it issued"
    );
    Ok(())
}

// --- the admin API's own answers ----------------------------------------------------

#[when(expr = "the brand posts {string} to the admin API at {string}")]
async fn admin_post(world: &mut IdpWorld, body: String, path: String) -> anyhow::Result<()> {
    world
        .admin_request(reqwest::Method::POST, &path, Some(body))
        .await
}

#[when(expr = "the brand deletes {string} through the admin API")]
async fn admin_delete(world: &mut IdpWorld, path: String) -> anyhow::Result<()> {
    world
        .admin_request(reqwest::Method::DELETE, &path, None)
        .await
}

#[then(expr = "the admin API refuses with {int} and the error {string}")]
fn admin_refuses(world: &mut IdpWorld, status: u16, error: String) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == status,
        "expected {status}, got {}",
        exchange.summary()
    );
    ensure!(
        exchange.member("error").and_then(Value::as_str) == Some(error.as_str()),
        "expected the JSON error {error:?}, got {}",
        exchange.summary()
    );
    let description = exchange.string("error_description")?;
    ensure!(
        !description.trim().is_empty(),
        "the admin API's error needs a description"
    );
    Ok(())
}

#[then(expr = "the admin API's error mentions {string}")]
fn admin_error_mentions(world: &mut IdpWorld, text: String) -> anyhow::Result<()> {
    let description = world.exchange()?.string("error_description")?;
    ensure!(
        description.contains(&text),
        "the error description {description:?} does not mention {text:?}"
    );
    Ok(())
}
