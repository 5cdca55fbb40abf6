//! Token introspection (RFC 7662): a client-authenticated endpoint that
//! says whether a token is active and, if so, what it grants. The client
//! authentication steps here serve revocation too.

use anyhow::{Context as _, anyhow, ensure};
use cucumber::{then, when};
use serde_json::Value;
use standin::secret::Secret;

use super::clients::{ClientUnderTest, basic};
use super::http::Exchange;
use super::params::{Forgery, TokenKind, Which};
use super::{IdpWorld, scope_values, unix_now};

/// How a request to introspection or revocation authenticates its client.
pub enum ClientAuth {
    /// As the bot's client, the way it is configured to.
    AsBot,
    /// Not at all.
    Anonymous,
    /// The bot's client id with this secret in a Basic header.
    BasicSecret(String),
    /// The bot's client id with this secret in the body.
    BodySecret(String),
    /// A public client: its `client_id` only.
    Public(String),
}

impl IdpWorld {
    /// POST `form` to the endpoint the discovery document names in
    /// `field`, authenticated as `auth` says; record the exchange.
    pub async fn client_post(
        &mut self,
        field: &str,
        mut form: Vec<(String, String)>,
        auth: ClientAuth,
    ) -> anyhow::Result<()> {
        let endpoint = self.endpoint(field).await?;
        let mut request = self.http.post(&endpoint);
        let id = self.client.id.clone();
        request = match auth {
            ClientAuth::AsBot => {
                let client = self.client.clone();
                client.authenticate(request, &mut form, client.auth)
            }
            ClientAuth::Anonymous => request,
            ClientAuth::BasicSecret(secret) => request.header(
                reqwest::header::AUTHORIZATION,
                basic(&id, &Secret::new(secret)),
            ),
            ClientAuth::BodySecret(secret) => {
                form.push(("client_id".into(), id));
                form.push(("client_secret".into(), secret));
                request
            }
            ClientAuth::Public(id) => {
                let client = ClientUnderTest::public(&id);
                client.authenticate(request, &mut form, client.auth)
            }
        };
        let exchange = Exchange::send(request.form(&form))
            .await
            .with_context(|| format!("POST to the {field}"))?;
        self.exchange = Some(exchange);
        Ok(())
    }

    /// The value of a token the bot received.
    pub fn token_value(&self, which: Which, kind: TokenKind) -> anyhow::Result<Secret> {
        let tokens = self.token_set(which)?;
        match kind {
            TokenKind::Access => Ok(tokens.access_token.clone()),
            TokenKind::Refresh => tokens
                .refresh_token
                .clone()
                .ok_or_else(|| anyhow!("the {which:?} token response had no refresh token")),
        }
    }

    /// POST a token the bot received, as `token`, to the endpoint the
    /// discovery document names in `field`.
    pub async fn post_received_token(
        &mut self,
        field: &str,
        which: Which,
        kind: TokenKind,
        auth: ClientAuth,
    ) -> anyhow::Result<()> {
        let token = self.token_value(which, kind)?;
        self.client_post(field, token_form(token.expose()), auth)
            .await
    }

    pub async fn introspect(&mut self, token: &str, auth: ClientAuth) -> anyhow::Result<()> {
        self.client_post("introspection_endpoint", token_form(token), auth)
            .await
    }

    /// Introspect the latest access token, authenticated as `auth` says.
    async fn introspect_access_token(&mut self, auth: ClientAuth) -> anyhow::Result<()> {
        self.post_received_token(
            "introspection_endpoint",
            Which::Latest,
            TokenKind::Access,
            auth,
        )
        .await
    }
}

/// The form of an introspection or revocation request.
pub fn token_form(token: &str) -> Vec<(String, String)> {
    vec![("token".to_string(), token.to_string())]
}

#[when(expr = "the bot introspects the {which} {kind}")]
async fn introspect_which(
    world: &mut IdpWorld,
    which: Which,
    kind: TokenKind,
) -> anyhow::Result<()> {
    world
        .post_received_token("introspection_endpoint", which, kind, ClientAuth::AsBot)
        .await
}

#[when(expr = "the bot introspects the {kind}")]
async fn introspect_latest(world: &mut IdpWorld, kind: TokenKind) -> anyhow::Result<()> {
    introspect_which(world, Which::Latest, kind).await
}

#[when(expr = "the bot introspects the token {string}")]
async fn introspect_literal(world: &mut IdpWorld, token: String) -> anyhow::Result<()> {
    world.introspect(&token, ClientAuth::AsBot).await
}

#[when(expr = "the bot introspects a forgery of the access token: {forgery}")]
async fn introspect_forgery(world: &mut IdpWorld, forgery: Forgery) -> anyhow::Result<()> {
    let token = world.token_value(Which::Latest, TokenKind::Access)?;
    let forged = world.forge(token.expose(), forgery).await?;
    world.introspect(&forged, ClientAuth::AsBot).await
}

#[when("the bot introspects the access token without authenticating")]
async fn introspect_anonymous(world: &mut IdpWorld) -> anyhow::Result<()> {
    world.introspect_access_token(ClientAuth::Anonymous).await
}

#[when(
    expr = "the bot introspects the access token with the client secret {string} in a Basic header"
)]
async fn introspect_wrong_basic(world: &mut IdpWorld, secret: String) -> anyhow::Result<()> {
    world
        .introspect_access_token(ClientAuth::BasicSecret(secret))
        .await
}

#[when(
    expr = "the bot introspects the access token with the client secret {string} in the request body"
)]
async fn introspect_wrong_body(world: &mut IdpWorld, secret: String) -> anyhow::Result<()> {
    world
        .introspect_access_token(ClientAuth::BodySecret(secret))
        .await
}

#[when(expr = "the public client {string} introspects the access token")]
async fn introspect_public(world: &mut IdpWorld, id: String) -> anyhow::Result<()> {
    world.introspect_access_token(ClientAuth::Public(id)).await
}

fn introspection(world: &IdpWorld) -> anyhow::Result<&serde_json::Map<String, Value>> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200,
        "introspection answers 200 for a properly authenticated request (RFC 7662 2.2), got {}",
        exchange.summary()
    );
    exchange.expect_json_content_type("an introspection response (RFC 7662 2.2)")?;
    exchange
        .json_object()
        .ok_or_else(|| anyhow!("the introspection response is not a JSON object"))
}

#[then(
    expr = "introspection says the {kind} is active for the bot, the consumer and the granted scope"
)]
async fn introspection_active(world: &mut IdpWorld, kind: TokenKind) -> anyhow::Result<()> {
    let tokens = world.token_set(Which::Latest)?.clone();
    let id_sub = world
        .verified_id_token(Which::Latest)
        .await?
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string);
    let body = introspection(world)?;
    ensure!(
        body.get("active") == Some(&Value::Bool(true)),
        "expected the {kind:?} token to be active, introspection says {:?}",
        body.get("active")
    );
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    ensure!(
        text("client_id") == Some(world.client.id.as_str()),
        "client_id is {:?}, expected {:?}",
        text("client_id"),
        world.client.id
    );
    ensure!(
        text("sub").is_some() && text("sub") == id_sub.as_deref(),
        "sub is {:?}, the ID token's is {id_sub:?}",
        text("sub")
    );
    ensure!(
        text("iss") == Some(world.issuer.as_str()),
        "iss is {:?}, expected the issuer {:?}",
        text("iss"),
        world.issuer
    );
    let granted = tokens
        .scope
        .clone()
        .ok_or_else(|| anyhow!("the token response did not say which scope it granted"))?;
    let expected = scope_values(&granted);
    let scope = scope_values(text("scope").unwrap_or_default());
    ensure!(
        scope == expected,
        "scope is {scope:?}, the token response granted {expected:?}"
    );
    let now = unix_now()?;
    let exp = body.get("exp").and_then(Value::as_i64);
    ensure!(
        exp.is_some_and(|exp| exp > now),
        "exp must be a time in the future (RFC 7662 2.2), got {exp:?}"
    );
    Ok(())
}

/// RFC 9700 4.14.2: a confidential client's refresh tokens are bound to
/// its authentication, so rotating them is the IdP's choice (the mock
/// rotates for the bot's client); against an external IdP that keeps the
/// refresh token, this is a warning and the rest of the scenario is moot.
#[then("the refresh rotated the refresh token")]
fn rotated(world: &mut IdpWorld) -> anyhow::Result<()> {
    let first = world.tokens.first().and_then(|t| t.refresh_token.as_ref());
    let last = world.tokens.last().and_then(|t| t.refresh_token.as_ref());
    let rotated = match (first, last) {
        (Some(a), Some(b)) if a.expose() != b.expose() => Ok(()),
        _ => Err(anyhow::anyhow!(
            "the refresh returned no new refresh token: the IdP does not rotate refresh tokens of this confidential client"
        )),
    };
    if rotated.is_err() && world.is_external() {
        world.should(
            "RFC 9700 4.14.2 (rotation is optional for confidential clients)",
            rotated,
        )?;
        world.moot = true;
        return Ok(());
    }
    rotated
}

#[then("introspection says the token is inactive")]
fn introspection_inactive(world: &mut IdpWorld) -> anyhow::Result<()> {
    if world.moot {
        return Ok(());
    }
    let body = introspection(world)?;
    ensure!(
        body.get("active") == Some(&Value::Bool(false)),
        "expected {{\"active\": false}}, introspection says active is {:?}",
        body.get("active")
    );
    let extra: Vec<&String> = body.keys().filter(|k| *k != "active").collect();
    ensure!(
        extra.is_empty(),
        "an inactive token should be described by nothing but active=false \
         (RFC 7662 2.2), got {extra:?}"
    );
    Ok(())
}

/// `invalid_client` (see [`Exchange::expect_invalid_client`]) and not a
/// word about the token.
fn expect_client_refused(world: &IdpWorld, basic_used: bool) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    // Refused it must be; invalid_client is the code RFC 6749 5.2 names
    // for "no client authentication included", but another 4xx error
    // code refuses as well.
    if !basic_used && matches!(exchange.status, 400 | 401) && exchange.member("error").is_some() {
        world.should(
            "RFC 6749 5.2 invalid_client",
            exchange.expect_invalid_client(basic_used),
        )?;
    } else {
        exchange.expect_invalid_client(basic_used)?;
    }
    ensure!(
        exchange.member("active").is_none(),
        "a refused client must learn nothing about the token"
    );
    Ok(())
}

#[then("the client is refused as unauthenticated")]
fn refused_unauthenticated(world: &mut IdpWorld) -> anyhow::Result<()> {
    expect_client_refused(world, false)
}

#[then("the client is refused with 401 and a Basic challenge")]
fn refused_basic(world: &mut IdpWorld) -> anyhow::Result<()> {
    expect_client_refused(world, true)
}
