//! Consumer Authentication credentials, saved and listed over the
//! platform's HTTP API as a brand developer would.
//!
//! In URLs written in a feature, `{idp}` stands for the IdP's issuer,
//! `{client_id}` for the platform's client there,
//! `{platform}` for the platform's base URL and `{callback}` for the
//! platform's `redirectCode` callback of organisation `demo`.

use anyhow::{Context as _, anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::{Value, json};
use url::Url;

use super::{DEFAULT_SCOPE, DelegationWorld};

impl DelegationWorld {
    /// Save a credential; the answer is kept, and the URL too when saved.
    pub async fn save_credential(
        &mut self,
        org: &str,
        name: &str,
        url: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let body = json!({ "name": name, "url": url }).to_string();
        let (status, body) = self.send_credential(org, body).await?;
        if status == 201 {
            self.credential_urls
                .insert((org.to_string(), name.to_string()), url.to_string());
        }
        Ok((status, body))
    }

    /// `POST` a body to the Consumer Authentication credential API of
    /// `org`; the answer is kept.
    async fn send_credential(&mut self, org: &str, body: String) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(self.url(&format!("/api/orgs/{org}/credentials/consumer-auth")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .context("the platform did not answer the credential save")?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        self.credential_answer = Some((status, body.clone()));
        Ok((status, body))
    }

    /// The authentication URL of the IdP for the platform's client, with
    /// the callback `name` of `org`.
    fn authentication_url(&self, org: &str, callback: &str) -> String {
        let mut url = Url::parse(self.idp.authorization_endpoint()).expect("the endpoint is a URL");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id())
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.callback_url(org, callback))
            .append_pair("scope", DEFAULT_SCOPE);
        url.to_string()
    }

    fn credential_answer(&self) -> anyhow::Result<&(u16, Value)> {
        self.credential_answer
            .as_ref()
            .ok_or_else(|| anyhow!("no credential was saved yet"))
    }

    async fn credential_names(&self, org: &str) -> anyhow::Result<Vec<String>> {
        let list = self
            .get_json(&format!("/api/orgs/{org}/credentials"))
            .await?;
        Ok(list["credentials"]
            .as_array()
            .ok_or_else(|| anyhow!("no credential list in {list}"))?
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect())
    }
}

async fn add_credential(
    world: &mut DelegationWorld,
    org: &str,
    name: &str,
    callback: &str,
) -> anyhow::Result<()> {
    let url = world.authentication_url(org, callback);
    let (status, body) = world.save_credential(org, name, &url).await?;
    ensure!(
        status == 201,
        "saving the credential answered {status}: {body}"
    );
    Ok(())
}

#[given(expr = "the organisation {string} has the Consumer Authentication credential {string}")]
async fn has_credential(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    add_credential(world, &org, &name, "redirectCode").await
}

#[given(
    expr = "the organisation {string} has the Consumer Authentication credential {string} with callback {string}"
)]
async fn has_credential_with_callback(
    world: &mut DelegationWorld,
    org: String,
    name: String,
    callback: String,
) -> anyhow::Result<()> {
    add_credential(world, &org, &name, &callback).await
}

#[when(
    expr = "the brand developer saves the credential {string} for {string} with the URL {string}"
)]
async fn save(
    world: &mut DelegationWorld,
    name: String,
    org: String,
    url: String,
) -> anyhow::Result<()> {
    let url = url
        .replace("{idp}", world.idp.issuer().trim_end_matches('/'))
        .replace("{client_id}", &world.client_id())
        .replace("{callback}", &world.callback_url("demo", "redirectCode"))
        .replace("{platform}", world.platform.url());
    world.save_credential(&org, &name, &url).await.map(drop)
}

#[when(expr = "the brand developer sends the body {string} to save a credential for {string}")]
async fn send_body(world: &mut DelegationWorld, body: String, org: String) -> anyhow::Result<()> {
    world.send_credential(&org, body).await.map(drop)
}

#[then(expr = "the platform answers the save with status {int}")]
fn answered(world: &mut DelegationWorld, expected: u16) -> anyhow::Result<()> {
    let (status, body) = world.credential_answer()?;
    ensure!(
        *status == expected,
        "the save answered {status}, expected {expected}: {body}"
    );
    Ok(())
}

#[then(expr = "the platform saves the credential with status {int}")]
fn saved(world: &mut DelegationWorld, expected: u16) -> anyhow::Result<()> {
    let (status, body) = world.credential_answer()?;
    ensure!(
        *status == expected,
        "the save answered {status}, expected {expected}: {body}"
    );
    ensure!(
        body["type"] == "consumer_authentication",
        "the saved credential is {body}"
    );
    Ok(())
}

/// The `(field, code)` of each error of the last answer.
fn errors(body: &Value) -> anyhow::Result<Vec<(String, String)>> {
    Ok(body["errors"]
        .as_array()
        .ok_or_else(|| anyhow!("the answer lists no errors: {body}"))?
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_string(),
                e["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

#[then(
    expr = "the platform refuses the credential with status {int} and exactly one error: {string} {string}"
)]
fn refused_one(
    world: &mut DelegationWorld,
    expected: u16,
    field: String,
    code: String,
) -> anyhow::Result<()> {
    let (status, body) = world.credential_answer()?;
    ensure!(
        *status == expected,
        "the save answered {status}, expected {expected}: {body}"
    );
    let errors = errors(body)?;
    ensure!(
        errors == [(field.clone(), code.clone())],
        "the errors are {errors:?}, expected only ({field}, {code}): {body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    ensure!(!message.is_empty(), "the error has no message: {body}");
    Ok(())
}

#[then(expr = "the platform refuses the credential with status {int} and these errors:")]
fn refused_many(world: &mut DelegationWorld, expected: u16, step: &Step) -> anyhow::Result<()> {
    let (status, body) = world.credential_answer()?;
    ensure!(
        *status == expected,
        "the save answered {status}, expected {expected}: {body}"
    );
    let wanted: Vec<(String, String)> = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow!("this step needs a table of field and code"))?
        .rows
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let errors = errors(body)?;
    ensure!(
        errors == wanted,
        "the errors are {errors:?}, expected {wanted:?}"
    );
    Ok(())
}

#[then(expr = "the error message says {string}")]
fn message_says(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let (_, body) = world.credential_answer()?;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains(&part),
        "the error message is {message:?}, expected it to say {part:?}"
    );
    Ok(())
}

#[then(expr = "organisation {string} lists the credential {string}")]
async fn lists(world: &mut DelegationWorld, org: String, name: String) -> anyhow::Result<()> {
    let names = world.credential_names(&org).await?;
    ensure!(
        names == [name.clone()],
        "organisation {org} lists {names:?}, expected only {name:?}"
    );
    Ok(())
}

#[then(expr = "organisation {string} lists no credential")]
async fn lists_none(world: &mut DelegationWorld, org: String) -> anyhow::Result<()> {
    let names = world.credential_names(&org).await?;
    ensure!(names.is_empty(), "organisation {org} lists {names:?}");
    Ok(())
}
