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
use super::discovery::jwks_kids;
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

// --- users and their claims -----------------------------------------------------

impl IdpWorld {
    /// Register a consumer account with these claims.
    async fn add_user(
        &self,
        username: String,
        password: String,
        claims: Map<String, Value>,
    ) -> anyhow::Result<()> {
        let user = NewUser {
            username,
            password: Secret::new(password),
            sub: None,
            claims,
        };
        self.control()?.add_user(user).await?;
        Ok(())
    }

    /// Set one claim of a user (`null` removes it); returns the user as the
    /// IdP now holds it.
    async fn set_claim(
        &self,
        username: &str,
        claim: String,
        value: Value,
    ) -> anyhow::Result<Value> {
        let mut claims = Map::new();
        claims.insert(claim, value);
        Ok(self.control()?.patch_user_claims(username, claims).await?)
    }

    /// Register a confidential client allowed the code and refresh grants
    /// (`fields` added to or overriding that), and play it from now on.
    async fn register_client(
        &mut self,
        id: &str,
        secret: &str,
        redirect_uri: &str,
        scopes: &[&str],
        more_fields: Map<String, Value>,
    ) -> anyhow::Result<()> {
        let mut fields = Map::new();
        fields.insert("redirect_uris".into(), json!([redirect_uri]));
        fields.insert("scopes".into(), json!(scopes));
        fields.insert(
            "grant_types".into(),
            json!(["authorization_code", "refresh_token"]),
        );
        fields.extend(more_fields);
        self.control()?
            .add_client(NewClient {
                id: id.to_string(),
                secret: Some(Secret::new(secret)),
                fields,
            })
            .await?;
        let mut client = ClientUnderTest::confidential(id, secret);
        client.redirect_uri = redirect_uri.to_string();
        self.use_client(client);
        Ok(())
    }
}

#[given(expr = "a user {string} with password {string}")]
async fn add_user(world: &mut IdpWorld, username: String, password: String) -> anyhow::Result<()> {
    world.add_user(username, password, Map::new()).await
}

#[given(expr = "a user {string} with password {string} and these claims:")]
async fn add_user_with_claims(
    world: &mut IdpWorld,
    username: String,
    password: String,
    step: &Step,
) -> anyhow::Result<()> {
    world
        .add_user(username, password, table_members(step)?)
        .await
}

#[when(expr = "the brand changes the claim {string} of the user {string} to {string}")]
async fn change_claim(
    world: &mut IdpWorld,
    claim: String,
    username: String,
    value: String,
) -> anyhow::Result<()> {
    world
        .set_claim(&username, claim, Value::String(value))
        .await?;
    Ok(())
}

/// The same as [`change_claim`], worded as a precondition.
#[given(expr = "the user {string} has the claim {string} set to {string}")]
async fn has_claim(
    world: &mut IdpWorld,
    username: String,
    claim: String,
    value: String,
) -> anyhow::Result<()> {
    change_claim(world, claim, username, value).await
}

#[when(expr = "the brand removes the claim {string} of the user {string}")]
async fn remove_claim(world: &mut IdpWorld, claim: String, username: String) -> anyhow::Result<()> {
    let user = world
        .set_claim(&username, claim.clone(), Value::Null)
        .await?;
    ensure!(
        user.pointer(&format!("/claims/{claim}")).is_none(),
        "the IdP still holds {claim:?} for {username:?} after removing it"
    );
    Ok(())
}

#[given(expr = "a registered client {string} with secret {string} and redirect URI {string}")]
async fn add_client(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    redirect_uri: String,
) -> anyhow::Result<()> {
    world
        .register_client(
            &id,
            &secret,
            &redirect_uri,
            &["openid", "profile"],
            Map::new(),
        )
        .await
}

#[given(expr = "a registered client {string} with secret {string} and these settings:")]
async fn add_client_with(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    step: &Step,
) -> anyhow::Result<()> {
    let scopes = ["openid", "profile", "offline_access"];
    let settings = table_members(step)?;
    world
        .register_client(&id, &secret, DEMO_CALLBACK, &scopes, settings)
        .await
}

// --- keys ----------------------------------------------------------------------

/// The `kid` in the header of a JWT; `what` names the token.
fn kid_of(token: &Secret, what: &str) -> anyhow::Result<String> {
    let header = jsonwebtoken::decode_header(token.expose())
        .with_context(|| format!("{what} is not a JWT"))?;
    header.kid.ok_or_else(|| anyhow!("{what} has no kid"))
}

impl IdpWorld {
    /// The `kid` in the header of an access token the bot received.
    pub fn access_token_kid(&self, which: Which) -> anyhow::Result<String> {
        let token = &self.token_set(which)?.access_token;
        kid_of(token, &format!("the {which:?} access token"))
    }

    /// The kid of the key rotated last.
    pub fn rotated_kid(&self) -> anyhow::Result<&str> {
        self.rotated_kids
            .last()
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no key has been rotated"))
    }

    /// The kid of an access token, and the kids the JWKS publishes now.
    async fn access_token_kid_and_jwks(
        &mut self,
        which: Which,
    ) -> anyhow::Result<(String, Vec<String>)> {
        let kid = self.access_token_kid(which)?;
        Ok((kid, self.published_kids().await?))
    }

    /// The kids the JWKS publishes now (fetched afresh).
    async fn published_kids(&mut self) -> anyhow::Result<Vec<String>> {
        self.jwks = None;
        let jwks = self.jwks().await?;
        Ok(jwks_kids(jwks).into_iter().map(str::to_string).collect())
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

/// The token `what` names kid `kid`, which must be the key rotated last.
fn expect_rotated_kid(world: &IdpWorld, kid: &str, what: &str) -> anyhow::Result<()> {
    let rotated = world.rotated_kid()?;
    ensure!(
        kid == rotated,
        "{what} names kid {kid:?}, not the rotated key {rotated:?}"
    );
    Ok(())
}

#[then(expr = "the {which} access token is signed with the rotated key")]
fn signed_with_rotated(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let kid = world.access_token_kid(which)?;
    expect_rotated_kid(world, &kid, &format!("the {which:?} access token"))
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
    let token = world.id_token(Which::Latest)?;
    let kid = kid_of(&token, "the ID token")?;
    expect_rotated_kid(world, &kid, "the ID token")
}

#[then(expr = "the JWKS still publishes the key of the {which} access token")]
async fn jwks_still_has(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let (kid, kids) = world.access_token_kid_and_jwks(which).await?;
    ensure!(
        kids.contains(&kid),
        "the JWKS dropped {kid:?}, which signed a live token: {kids:?}"
    );
    Ok(())
}

#[then(expr = "the JWKS no longer publishes the key of the {which} access token")]
async fn jwks_dropped(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let (kid, kids) = world.access_token_kid_and_jwks(which).await?;
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
