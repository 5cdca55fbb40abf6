//! Discovery (OIDC Discovery 1.0 section 4, RFC 8414) and the JWKS.

use anyhow::{anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::Value;

use super::IdpWorld;
use super::http::Exchange;

/// Private members of RSA, EC and OKP keys (RFC 7518 6.2.2, 6.3.2; RFC 8037).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[when("the bot reads the discovery document")]
async fn read_discovery(world: &mut IdpWorld) -> anyhow::Result<()> {
    let url = format!("{}/.well-known/openid-configuration", world.issuer);
    let exchange = Exchange::get(&world.http, &url).await?;
    world.metadata = exchange.json.clone().filter(|_| exchange.status == 200);
    world.exchange = Some(exchange);
    Ok(())
}

#[when("the bot reads the OAuth authorization server metadata")]
async fn read_oauth_metadata(world: &mut IdpWorld) -> anyhow::Result<()> {
    // RFC 8414 3: the well-known segment goes between host and path.
    let issuer = url::Url::parse(&world.issuer)?;
    let path = issuer.path().trim_end_matches('/');
    let url = format!(
        "{}/.well-known/oauth-authorization-server{path}",
        issuer.origin().ascii_serialization()
    );
    world.exchange = Some(Exchange::get(&world.http, &url).await?);
    Ok(())
}

/// The kids a JWKS publishes, in order.
pub fn jwks_kids(jwks: &Value) -> Vec<&str> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
        .collect()
}

fn document(world: &IdpWorld) -> anyhow::Result<&Value> {
    let exchange = world.exchange()?;
    ensure!(
        exchange.status == 200,
        "expected the document, got {}",
        exchange.summary()
    );
    exchange.expect_json_content_type("metadata")?;
    exchange
        .json
        .as_ref()
        .filter(|j| j.is_object())
        .ok_or_else(|| anyhow!("the document is not a JSON object"))
}

#[then("the document names the issuer it was fetched from")]
fn names_issuer(world: &mut IdpWorld) -> anyhow::Result<()> {
    let issuer = document(world)?.get("issuer").and_then(Value::as_str);
    ensure!(
        issuer == Some(world.issuer.as_str()),
        "issuer must be identical to the URL discovery was fetched from \
         (OIDC Discovery 4.3), expected {:?}, got {issuer:?}",
        world.issuer
    );
    Ok(())
}

#[then("the document has these members:")]
fn has_members(world: &mut IdpWorld, step: &Step) -> anyhow::Result<()> {
    let doc = document(world)?;
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow!("this step needs a table of member names"))?;
    let missing: Vec<&str> = table
        .rows
        .iter()
        .filter_map(|row| row.first())
        .map(String::as_str)
        .filter(|name| doc.get(*name).is_none_or(Value::is_null))
        .collect();
    ensure!(missing.is_empty(), "the document lacks {missing:?}");
    Ok(())
}

/// The list the document has in `member`, if it is a list.
fn document_list<'w>(world: &'w IdpWorld, member: &str) -> anyhow::Result<Option<&'w Vec<Value>>> {
    Ok(document(world)?.get(member).and_then(Value::as_array))
}

fn lists_str(list: &[Value], value: &str) -> bool {
    list.iter().any(|v| v.as_str() == Some(value))
}

#[then(expr = "the document lists {string} in {string}")]
fn lists_value(world: &mut IdpWorld, value: String, member: String) -> anyhow::Result<()> {
    let list = document_list(world, &member)?
        .ok_or_else(|| anyhow!("{member:?} is not a list in the document"))?;
    ensure!(
        lists_str(list, &value),
        "{member:?} does not list {value:?}: {list:?}"
    );
    Ok(())
}

#[then(expr = "the document does not list {string} in {string}")]
fn does_not_list_value(world: &mut IdpWorld, value: String, member: String) -> anyhow::Result<()> {
    let listed = document_list(world, &member)?.is_some_and(|list| lists_str(list, &value));
    ensure!(!listed, "{member:?} lists {value:?}");
    Ok(())
}

#[then(expr = "the document sets {string} to true")]
fn flag_true(world: &mut IdpWorld, member: String) -> anyhow::Result<()> {
    let doc = document(world)?;
    ensure!(
        doc.get(&member) == Some(&Value::Bool(true)),
        "{member:?} must be true, got {:?}",
        doc.get(&member)
    );
    Ok(())
}

#[then("every endpoint the discovery document advertises answers without a server error")]
async fn endpoints_answer(world: &mut IdpWorld) -> anyhow::Result<()> {
    let doc = world.metadata().await?.clone();
    let mut urls: Vec<(String, String)> = doc
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.ends_with("_endpoint") || name.as_str() == "jwks_uri")
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
        .collect();
    urls.sort();
    ensure!(!urls.is_empty(), "the document advertises no endpoint");
    let mut failures = Vec::new();
    for (name, url) in urls {
        // Without parameters, by the method the endpoint is defined for
        // (POST for those RFC 6749 3.2, RFC 7662 2.1, RFC 7009 2.1,
        // RFC 9126 2, RFC 8628 3.1, RFC 7591 3.1 and CIBA 7.1 define as
        // POST-only): an error is fine, a missing route or a server error
        // is not.
        let post_only = matches!(
            name.as_str(),
            "token_endpoint"
                | "introspection_endpoint"
                | "revocation_endpoint"
                | "pushed_authorization_request_endpoint"
                | "device_authorization_endpoint"
                | "registration_endpoint"
                | "backchannel_authentication_endpoint"
        );
        let exchange = if post_only {
            Exchange::send(
                world
                    .http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(""),
            )
            .await?
        } else {
            Exchange::get(&world.http, &url).await?
        };
        if exchange.status == 404 || exchange.status >= 500 {
            failures.push(format!("{name} {url}: {}", exchange.summary()));
        }
    }
    ensure!(
        failures.is_empty(),
        "advertised endpoints fail: {failures:?}"
    );
    Ok(())
}

#[when("the bot fetches the JWKS")]
async fn fetch_jwks(world: &mut IdpWorld) -> anyhow::Result<()> {
    let url = world.endpoint("jwks_uri").await?;
    let exchange = Exchange::get(&world.http, &url).await?;
    world.jwks = exchange.json.clone().filter(|_| exchange.status == 200);
    world.exchange = Some(exchange);
    Ok(())
}

#[then("the JWKS publishes public keys only, each with its own kid")]
fn jwks_public_distinct(world: &mut IdpWorld) -> anyhow::Result<()> {
    let doc = document(world)?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the JWKS has no \"keys\" list (RFC 7517 5)"))?;
    ensure!(!keys.is_empty(), "the JWKS publishes no key");
    let mut kids = Vec::new();
    for key in keys {
        let kid = key
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("a key has no kid: {:?}", key.get("kty")))?;
        ensure!(!kids.contains(&kid), "kid {kid:?} is published twice");
        kids.push(kid);
        let private: Vec<&str> = PRIVATE_MEMBERS
            .into_iter()
            .filter(|m| key.get(*m).is_some())
            .collect();
        ensure!(
            private.is_empty(),
            "key {kid:?} publishes private members {private:?}"
        );
    }
    Ok(())
}

#[then(expr = "the JWKS publishes the key {string}")]
fn jwks_has_kid(world: &mut IdpWorld, kid: String) -> anyhow::Result<()> {
    let found = jwks_kids(document(world)?).contains(&kid.as_str());
    ensure!(found, "the JWKS does not publish {kid:?}");
    Ok(())
}

#[when(expr = "the bot requests {string} from the IdP")]
async fn request_path(world: &mut IdpWorld, path: String) -> anyhow::Result<()> {
    let url = format!("{}{path}", world.issuer);
    world.exchange = Some(Exchange::get(&world.http, &url).await?);
    Ok(())
}
