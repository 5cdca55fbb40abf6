//! How much the mock IdP holds: its ceiling on codes and tokens, what makes
//! room at it, how long expired records stay, and how much inspection
//! lists (`@capacity`, `@control`: the embedded mock's limits are set in
//! process, and a load-test client is added through the admin API).

use anyhow::{Context as _, anyhow, ensure};
use cucumber::{given, then, when};
use serde_json::{Map, Value, json};
use standin::conformance::control::{Grants, NewClient, StoreView};
use standin::idp::Limits;
use standin::secret::Secret;

use super::clients::ClientUnderTest;
use super::http::Exchange;
use super::introspect::token_form;
use super::params::{TokenKind, Which};
use super::{IdpWorld, Target};

/// The client a load test plays: client credentials only.
const LOAD_CLIENT: &str = "load-test";
const LOAD_SECRET: &str = "load-test-secret";

fn load_client() -> ClientUnderTest {
    ClientUnderTest::confidential(LOAD_CLIENT, LOAD_SECRET)
}

impl IdpWorld {
    /// Change the embedded IdP's limits in place.
    fn set_limits(&self, change: impl FnOnce(&mut Limits)) -> anyhow::Result<()> {
        let Target::Embedded(idp) = &self.target else {
            return Err(anyhow!(
                "only the embedded IdP's limits can be set: tag the scenario @control"
            ));
        };
        let mut limits = idp.control().store().records.limits().clone();
        change(&mut limits);
        idp.control().set_limits(limits);
        Ok(())
    }

    async fn grants(&self) -> anyhow::Result<Grants> {
        Ok(self.control()?.grants().await?)
    }

    /// The id the IdP lists a received access token under, if it does.
    async fn lists_access_token(&self, which: Which) -> anyhow::Result<bool> {
        let token = self.token_value(which, TokenKind::Access)?;
        Ok(self.grants().await?.access_token(token.expose()).is_some())
    }
}

#[given(expr = "a load-test client issuing {word} access tokens that last {int} seconds")]
async fn load_test_client(world: &mut IdpWorld, format: String, secs: u64) -> anyhow::Result<()> {
    let format = match format.as_str() {
        "opaque" => "opaque",
        "JWT" => "jwt",
        other => return Err(anyhow!("unknown token format {other:?}: opaque or JWT")),
    };
    let mut fields = Map::new();
    fields.insert("grant_types".into(), json!(["client_credentials"]));
    fields.insert("scopes".into(), json!(["orders:read"]));
    fields.insert("access_token_format".into(), json!(format));
    fields.insert("access_token_ttl_secs".into(), json!(secs));
    world
        .control()?
        .add_client(NewClient {
            id: LOAD_CLIENT.into(),
            secret: Some(Secret::new(LOAD_SECRET)),
            fields,
        })
        .await?;
    Ok(())
}

#[given(expr = "the IdP holds at most {int} code(s) and token(s)")]
fn holds_at_most(world: &mut IdpWorld, max: usize) -> anyhow::Result<()> {
    world.set_limits(|l| l.max_records = max)
}

#[given(expr = "the IdP lists at most {int} records of each kind")]
fn lists_at_most(world: &mut IdpWorld, max: usize) -> anyhow::Result<()> {
    world.set_limits(|l| l.inspect_limit = max)
}

#[when(expr = "the load-test client asks for {int} token(s) with client credentials")]
async fn ask_for_tokens(world: &mut IdpWorld, count: usize) -> anyhow::Result<()> {
    let client = load_client();
    for _ in 0..count {
        let form = vec![("grant_type".to_string(), "client_credentials".to_string())];
        world.token_request(&client, client.auth, form).await?;
    }
    Ok(())
}

#[when(expr = "the load-test client revokes the {which} access token")]
async fn load_client_revokes(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    let token = world.token_value(which, TokenKind::Access)?;
    let endpoint = world.endpoint("revocation_endpoint").await?;
    let mut form = token_form(token.expose());
    let client = load_client();
    let request = client.authenticate(world.http.post(&endpoint), &mut form, client.auth);
    world.exchange = Some(
        Exchange::send(request.form(&form))
            .await
            .context("POST to the revocation endpoint")?,
    );
    Ok(())
}

#[then(expr = "the load-test client received {int} token(s)")]
fn received(world: &mut IdpWorld, count: usize) -> anyhow::Result<()> {
    let received = world
        .tokens
        .iter()
        .filter(|t| t.grant_type == "client_credentials")
        .count();
    ensure!(
        received == count,
        "the load-test client received {received} tokens, expected {count} (last answer: {})",
        world.exchange()?.summary()
    );
    Ok(())
}

#[then(expr = "the token endpoint refuses with 503 {string}, retry after at most {int} seconds")]
fn refused_at_ceiling(world: &mut IdpWorld, error: String, secs: u64) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    exchange.expect_error(503, &error)?;
    let retry_after: u64 = exchange
        .header("retry-after")
        .ok_or_else(|| anyhow!("a 503 should say when to retry (Retry-After)"))?
        .parse()
        .context("Retry-After is not a number of seconds")?;
    ensure!(
        (1..=secs).contains(&retry_after),
        "Retry-After is {retry_after} s, expected 1 to {secs}"
    );
    let description = exchange
        .member("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ensure!(
        description.contains("max_records"),
        "the description should name the limit that was hit, got {description:?}"
    );
    Ok(())
}

#[then("introspection says the token is active")]
fn introspection_active(world: &mut IdpWorld) -> anyhow::Result<()> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200 && exchange.member("active") == Some(&Value::Bool(true)),
        "expected an active token, introspection answered {}",
        exchange.summary()
    );
    let client_id = exchange.member("client_id").and_then(Value::as_str);
    ensure!(
        client_id == Some(LOAD_CLIENT),
        "introspection names the client {client_id:?}, expected {LOAD_CLIENT:?}"
    );
    Ok(())
}

#[then(expr = "the IdP no longer lists the {which} access token")]
async fn no_longer_lists(world: &mut IdpWorld, which: Which) -> anyhow::Result<()> {
    ensure!(
        !world.lists_access_token(which).await?,
        "the IdP still lists the {which:?} access token"
    );
    Ok(())
}

#[then(
    expr = "the IdP lists {int} access tokens and reports {int} request(s) refused at the ceiling"
)]
async fn lists_and_refused(
    world: &mut IdpWorld,
    listed: usize,
    refused: u64,
) -> anyhow::Result<()> {
    let grants = world.grants().await?;
    ensure!(
        grants.access_tokens.len() == listed,
        "the IdP lists {} access tokens, expected {listed}",
        grants.access_tokens.len()
    );
    counter(world, "refusals", |s| s.refused, refused).await
}

/// One of the store's counters, by what the step calls it, as
/// `GET /admin/store` reports it; the listing's own copy of the counters
/// (`GET /admin/grants`) must agree.
async fn counter(
    world: &IdpWorld,
    name: &str,
    pick: fn(&StoreView) -> u64,
    expected: u64,
) -> anyhow::Result<()> {
    let store = world.control()?.store().await?;
    let got = pick(&store);
    ensure!(
        got == expected,
        "the IdP reports {got} {name}, expected {expected} ({store:?})"
    );
    let listed = world.grants().await?.store;
    ensure!(
        listed == store,
        "/admin/store says {store:?}, but /admin/grants says {listed:?}"
    );
    Ok(())
}

#[then(expr = "the IdP reports {int} live record(s) forgotten at the ceiling")]
async fn live_evicted(world: &mut IdpWorld, expected: u64) -> anyhow::Result<()> {
    counter(
        world,
        "live records forgotten",
        |s| s.live_evicted,
        expected,
    )
    .await
}

#[then(expr = "the IdP reports {int} expired record(s) forgotten")]
async fn expired_forgotten(world: &mut IdpWorld, expected: u64) -> anyhow::Result<()> {
    counter(
        world,
        "expired records forgotten",
        |s| s.expired_forgotten,
        expected,
    )
    .await
}

#[then(expr = "the IdP reports {int} access tokens issued")]
async fn issued(world: &mut IdpWorld, expected: u64) -> anyhow::Result<()> {
    counter(
        world,
        "access tokens issued",
        |s| s.access_tokens_issued,
        expected,
    )
    .await
}
