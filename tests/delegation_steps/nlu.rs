//! Third-party NLU credentials and domain training
//! (`features/credentials/third_party_nlu.feature`): service-account keys
//! and API keys are created at the mock IdP over its admin API, as a brand
//! would hand them out; the platform saves them, signs assertions or
//! exchanges keys at the IdP, and trains domains at the mock NLU service
//! ([`standin::nlu::MockNlu`]). Which token reached the NLU service is read
//! from its request log (token ids, never values) and matched with what the
//! IdP issued, by the same ids.
//!
//! Placeholders in saved bodies and expected values (see
//! [`NluWorld::expand`]): `{nlu}` the NLU service's base URL; `{key:LABEL}`
//! a key file as a JSON object, `{key-text:LABEL}` the same as a JSON
//! string; `{key:LABEL.member}` one member's value (e.g. `client_email`).

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::{Value, json};
use standin::clock::Clock;
use standin::idp::SigningAlg;
use standin::idp::state::Grant;
use standin::nlu::{Engine, MockNlu, NluOptions, NluRequest};

use super::DelegationWorld;
use super::vault::encode;

/// The mock NLU service of a scenario and the provider JSON the IdP
/// handed out. `Debug` shows the labels of the keys, never their content.
pub struct NluWorld {
    pub service: MockNlu,
    keys: BTreeMap<String, Value>,
}

impl fmt::Debug for NluWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NluWorld")
            .field("service", &self.service.url())
            .field("keys", &self.keys.keys())
            .finish()
    }
}

impl NluWorld {
    /// A mock NLU service trusting the tokens of `issuer`, on `clock`.
    pub async fn start(issuer: &str, clock: &Clock) -> anyhow::Result<Self> {
        let mut options = NluOptions::new(issuer);
        options.clock = clock.clone();
        let service = MockNlu::start_with(options)
            .await
            .map_err(|e| anyhow!("cannot start the mock NLU service: {e}"))?;
        Ok(Self {
            service,
            keys: BTreeMap::new(),
        })
    }

    /// `text` with `{nlu}` and the key placeholders replaced.
    pub fn expand(&self, text: String) -> String {
        let mut text = text.replace("{nlu}", self.service.url());
        for (label, key) in &self.keys {
            if let Value::Object(members) = key {
                for (member, value) in members {
                    if let Some(v) = value.as_str() {
                        text = text.replace(&format!("{{key:{label}.{member}}}"), v);
                    }
                }
            }
            let json = key.to_string();
            text = text.replace(&format!("{{key:{label}}}"), &json).replace(
                &format!("{{key-text:{label}}}"),
                &Value::String(json.clone()).to_string(),
            );
        }
        text
    }

    fn key(&self, label: &str) -> anyhow::Result<&Value> {
        self.keys
            .get(label)
            .ok_or_else(|| anyhow!("the scenario has no key {label:?}"))
    }

    fn member(&self, label: &str, member: &str) -> anyhow::Result<String> {
        self.key(label)?[member]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow!("the key {label:?} has no {member}"))
    }

    fn key_mut(&mut self, label: &str) -> anyhow::Result<&mut serde_json::Map<String, Value>> {
        self.keys
            .get_mut(label)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| anyhow!("the scenario has no key {label:?}"))
    }

    /// The secret parts of a key: the API key, or lines of the private
    /// key's PEM body (a read that leaked the key would hold them, JSON
    /// escaped or not).
    fn secrets(&self, label: &str) -> anyhow::Result<Vec<String>> {
        let key = self.key(label)?;
        let mut secrets = Vec::new();
        if let Some(k) = key["apikey"].as_str() {
            secrets.push(k.to_string());
        }
        if let Some(pem) = key["private_key"].as_str() {
            secrets.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----") && l.len() > 40)
                    .take(3)
                    .map(String::from),
            );
        }
        ensure!(!secrets.is_empty(), "the key {label:?} holds no secret");
        Ok(secrets)
    }

    /// The NLU service's trainings (its request log, `/admin` left out).
    fn trainings(&self) -> Vec<NluRequest> {
        self.service.control().requests()
    }
}

/// `POST` a JSON body to the IdP's admin API; the created document.
async fn idp_admin(world: &DelegationWorld, path: &str, body: Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", world.idp.issuer());
    let response = world
        .http
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {path} at the IdP"))?;
    let status = response.status().as_u16();
    let answer: Value = response
        .json()
        .await
        .context("the IdP's answer is not JSON")?;
    ensure!(
        status == 201,
        "the IdP answered {status} to POST {path}: {answer}"
    );
    Ok(answer)
}

async fn idp_delete(world: &DelegationWorld, path: &str) -> anyhow::Result<()> {
    let url = format!("{}{path}", world.idp.issuer());
    let status = world.http.delete(&url).send().await?.status().as_u16();
    ensure!(status == 204, "the IdP answered {status} to DELETE {path}");
    Ok(())
}

// --- keys the IdP hands out -----------------------------------------------

async fn new_service_account(
    world: &mut DelegationWorld,
    project: &str,
    audience: Option<&str>,
    label: String,
) -> anyhow::Result<()> {
    let mut body = json!({ "project_id": project });
    if let Some(a) = audience {
        body["audience"] = a.into();
    }
    let key = idp_admin(world, "/admin/service-accounts", body).await?;
    ensure!(
        key["type"] == "service_account",
        "not a service-account key file"
    );
    world.nlu.keys.insert(label, key);
    Ok(())
}

#[given(expr = "a service account of project {string} at the IdP, its key as {string}")]
async fn service_account(
    world: &mut DelegationWorld,
    project: String,
    label: String,
) -> anyhow::Result<()> {
    new_service_account(world, &project, None, label).await
}

#[given(
    expr = "a service account of project {string} at the IdP whose tokens are for {string}, its key as {string}"
)]
async fn service_account_for(
    world: &mut DelegationWorld,
    project: String,
    audience: String,
    label: String,
) -> anyhow::Result<()> {
    new_service_account(world, &project, Some(&audience), label).await
}

async fn new_api_key(
    world: &mut DelegationWorld,
    instance: &str,
    audience: Option<&str>,
    label: String,
) -> anyhow::Result<()> {
    let mut body = json!({ "url": format!("{}/instances/{instance}", world.nlu.service.url()) });
    if let Some(a) = audience {
        body["audience"] = a.into();
    }
    let key = idp_admin(world, "/admin/api-keys", body).await?;
    ensure!(key["apikey"].is_string(), "no apikey in the IdP's answer");
    world.nlu.keys.insert(label, key);
    Ok(())
}

#[given(expr = "an API key at the IdP for the Watson instance {string}, as {string}")]
async fn api_key(
    world: &mut DelegationWorld,
    instance: String,
    label: String,
) -> anyhow::Result<()> {
    new_api_key(world, &instance, None, label).await
}

#[given(
    expr = "an API key at the IdP for the Watson instance {string} whose tokens are for {string}, as {string}"
)]
async fn api_key_for(
    world: &mut DelegationWorld,
    instance: String,
    audience: String,
    label: String,
) -> anyhow::Result<()> {
    new_api_key(world, &instance, Some(&audience), label).await
}

#[given(expr = "the key {string} with {string} set to {string}")]
async fn key_with(
    world: &mut DelegationWorld,
    label: String,
    member: String,
    value: String,
) -> anyhow::Result<()> {
    world
        .nlu
        .key_mut(&label)?
        .insert(member, Value::String(value));
    Ok(())
}

#[given(expr = "the key {string} with {string} set to the number {int}")]
async fn key_with_number(
    world: &mut DelegationWorld,
    label: String,
    member: String,
    value: i64,
) -> anyhow::Result<()> {
    world.nlu.key_mut(&label)?.insert(member, value.into());
    Ok(())
}

#[given(expr = "the key {string} without {string}")]
async fn key_without(
    world: &mut DelegationWorld,
    label: String,
    member: String,
) -> anyhow::Result<()> {
    world
        .nlu
        .key_mut(&label)?
        .remove(&member)
        .ok_or_else(|| anyhow!("the key {label:?} has no {member}"))?;
    Ok(())
}

#[given(expr = "the IdP deletes the service account of the key {string}")]
async fn delete_service_account(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    let email = world.nlu.member(&label, "client_email")?;
    idp_delete(
        world,
        &format!("/admin/service-accounts/{}", encode(&email)),
    )
    .await
}

#[given(expr = "the IdP deletes the API key {string}")]
async fn delete_api_key(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    let id = world.nlu.member(&label, "iam_apikey_id")?;
    idp_delete(world, &format!("/admin/api-keys/{}", encode(&id))).await
}

// --- the platform ------------------------------------------------------------

#[given(
    expr = "the organisation {string} has the NLU credential {string} for {string} with the key {string}"
)]
async fn has_credential(
    world: &mut DelegationWorld,
    org: String,
    name: String,
    provider: String,
    label: String,
) -> anyhow::Result<()> {
    let mut body = json!({
        "type": "third_party_nlu",
        "name": name,
        "provider": provider,
        "credentials": world.nlu.key(&label)?.clone(),
    });
    if provider == "google_dialogflow" {
        body["api_url"] = world.nlu.service.url().into();
    }
    let (status, answer) = world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/credentials"),
            Some(&body.to_string()),
        )
        .await?;
    ensure!(
        status == 201,
        "the credential was not saved ({status}): {answer}"
    );
    Ok(())
}

#[when(expr = "the admin of {string} creates the domain:")]
async fn create_domain(
    world: &mut DelegationWorld,
    org: String,
    step: &Step,
) -> anyhow::Result<()> {
    let body = step
        .docstring
        .as_deref()
        .ok_or_else(|| anyhow!("this step wants a JSON body as a doc string"))?;
    let body = world.expand(body);
    world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/domains"),
            Some(&body),
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} trains the domain {string}")]
async fn train(world: &mut DelegationWorld, org: String, domain: String) -> anyhow::Result<()> {
    world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/domains/{}/train", encode(&domain)),
            None,
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} trains the domain {string} {int} times at the same moment")]
async fn train_at_once(
    world: &mut DelegationWorld,
    org: String,
    domain: String,
    times: usize,
) -> anyhow::Result<()> {
    let url = world.url(&format!(
        "/api/orgs/{org}/domains/{}/train",
        encode(&domain)
    ));
    let answers = futures::future::join_all((0..times).map(|_| world.http.post(&url).send())).await;
    for answer in answers {
        let status = answer.context("a training request got no answer")?.status();
        ensure!(status.is_success(), "a training answered {status}");
    }
    Ok(())
}

#[then(expr = "the domain {string} is training with {string}")]
async fn training(
    world: &mut DelegationWorld,
    domain: String,
    provider: String,
) -> anyhow::Result<()> {
    let (status, body) = world.last_credential_answer()?;
    ensure!(*status == 200, "the training answered {status}: {body}");
    ensure!(
        body["domain"] == domain.as_str(),
        "not domain {domain:?}: {body}"
    );
    ensure!(
        body["provider"] == provider.as_str(),
        "not provider {provider:?}: {body}"
    );
    ensure!(body["status"] == "training", "not training: {body}");
    Ok(())
}

/// The NLU log's last training: the engine, what it trained, that it
/// succeeded, and the id of the token it came with; which must be an
/// access token the IdP issued by `grant` to `sub`, still active.
fn logged_training(
    world: &DelegationWorld,
    engine: Engine,
    target: &str,
    grant: Grant,
    sub: &str,
) -> anyhow::Result<()> {
    let trainings = world.nlu.trainings();
    let last = trainings
        .last()
        .ok_or_else(|| anyhow!("the NLU service logged no request"))?;
    ensure!(
        last.engine == Some(engine),
        "the last NLU request was not to {engine:?}: {last:?}"
    );
    ensure!(
        last.target.as_deref() == Some(target),
        "the last training was not of {target:?}: {last:?}"
    );
    ensure!(
        last.status == 200,
        "the last training was answered {}: {last:?}",
        last.status
    );
    let id = last
        .token_id
        .as_deref()
        .ok_or_else(|| anyhow!("the last training came without a token"))?;
    let grants = world.idp.control()?.grants();
    let issued = grants
        .access_tokens
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| anyhow!("the IdP did not issue the token the NLU service received"))?;
    ensure!(
        issued.grant == grant,
        "the token came from the {:?} grant, not {grant:?}",
        issued.grant
    );
    ensure!(
        issued.sub.as_deref() == Some(sub),
        "the token is {:?}'s, not {sub:?}'s",
        issued.sub
    );
    ensure!(
        last.sub.as_deref() == Some(sub),
        "the NLU service saw {:?}, not {sub:?}",
        last.sub
    );
    Ok(())
}

#[then(
    expr = "the NLU service logged a Dialogflow training of project {string} with the IdP's token for the key {string}"
)]
async fn logged_dialogflow(
    world: &mut DelegationWorld,
    project: String,
    label: String,
) -> anyhow::Result<()> {
    let email = world.nlu.member(&label, "client_email")?;
    logged_training(
        world,
        Engine::Dialogflow,
        &project,
        Grant::JwtBearer,
        &email,
    )
}

#[then(
    expr = "the NLU service logged a Watson training of workspace {string} with the IdP's token for the API key {string}"
)]
async fn logged_watson(
    world: &mut DelegationWorld,
    workspace: String,
    label: String,
) -> anyhow::Result<()> {
    let iam_id = world.nlu.member(&label, "iam_id")?;
    logged_training(world, Engine::Watson, &workspace, Grant::ApiKey, &iam_id)
}

#[then(expr = "the training is refused by the NLU service with {int} {string}")]
async fn refused_by_nlu(
    world: &mut DelegationWorld,
    status: u16,
    error: String,
) -> anyhow::Result<()> {
    let (got, body) = world.last_credential_answer()?;
    ensure!(*got == 502, "the training answered {got}, not 502: {body}");
    ensure!(body["error"] == "nlu_refused", "not nlu_refused: {body}");
    ensure!(body["nlu_status"] == status, "not an NLU {status}: {body}");
    ensure!(body["nlu_error"] == error.as_str(), "not {error:?}: {body}");
    ensure!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains(&error)),
        "the description does not say {error:?}: {body}"
    );
    let trainings = world.nlu.trainings();
    let last = trainings
        .last()
        .ok_or_else(|| anyhow!("the NLU service logged no request"))?;
    ensure!(
        last.status == status && last.error.as_deref() == Some(error.as_str()),
        "the NLU service's log does not show the refusal: {last:?}"
    );
    ensure!(
        last.token_id.is_some(),
        "the refused training came without a token: {last:?}"
    );
    Ok(())
}

#[then(expr = "the training is refused by the token endpoint with {string}")]
async fn refused_by_token_endpoint(
    world: &mut DelegationWorld,
    error: String,
) -> anyhow::Result<()> {
    let (got, body) = world.last_credential_answer()?;
    ensure!(*got == 502, "the training answered {got}, not 502: {body}");
    ensure!(
        body["error"] == "token_refused",
        "not token_refused: {body}"
    );
    ensure!(
        body["token_error"] == error.as_str(),
        "not {error:?}: {body}"
    );
    ensure!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("/token")),
        "the description does not name the token endpoint: {body}"
    );
    ensure!(
        world.nlu.trainings().is_empty(),
        "the NLU service was called without a token"
    );
    Ok(())
}

#[then(expr = "the training is refused: {string}")]
async fn refused_with(world: &mut DelegationWorld, error: String) -> anyhow::Result<()> {
    let (got, body) = world.last_credential_answer()?;
    ensure!(
        matches!(got, 400..=499 | 502),
        "the training was not refused ({got}): {body}"
    );
    ensure!(body["error"] == error.as_str(), "not {error:?}: {body}");
    ensure!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.len() > 20),
        "no clear description: {body}"
    );
    Ok(())
}

#[then(expr = "the IdP issued {int} NLU token(s) for the key {string}")]
async fn issued_for(
    world: &mut DelegationWorld,
    count: usize,
    label: String,
) -> anyhow::Result<()> {
    let key = world.nlu.key(&label)?;
    let sub = key["client_email"]
        .as_str()
        .or_else(|| key["iam_id"].as_str())
        .ok_or_else(|| anyhow!("the key {label:?} names no identity"))?
        .to_string();
    let got = world
        .idp
        .control()?
        .grants()
        .access_tokens
        .iter()
        .filter(|t| t.sub.as_deref() == Some(sub.as_str()))
        .count();
    ensure!(
        got == count,
        "the IdP issued {got} tokens for {label:?}, not {count}"
    );
    Ok(())
}

fn last_two_tokens(world: &DelegationWorld) -> anyhow::Result<(String, String)> {
    let trainings: Vec<NluRequest> = world
        .nlu
        .trainings()
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    ensure!(
        trainings.len() >= 2,
        "fewer than two trainings succeeded: {trainings:?}"
    );
    let id = |r: &NluRequest| {
        r.token_id
            .clone()
            .ok_or_else(|| anyhow!("a training came without a token"))
    };
    Ok((
        id(&trainings[trainings.len() - 2])?,
        id(&trainings[trainings.len() - 1])?,
    ))
}

#[then("the last two trainings came with the same token")]
async fn same_token(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let (a, b) = last_two_tokens(world)?;
    ensure!(a == b, "the platform did not reuse its token");
    Ok(())
}

#[then("the last two trainings came with different tokens")]
async fn different_tokens(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let (a, b) = last_two_tokens(world)?;
    ensure!(a != b, "the platform kept using its old token");
    Ok(())
}

#[then(expr = "the deletion is refused naming the domain {string}")]
async fn in_use_by_domain(world: &mut DelegationWorld, domain: String) -> anyhow::Result<()> {
    let (status, body) = world.last_credential_answer()?;
    ensure!(
        *status == 409,
        "the deletion was not refused ({status}): {body}"
    );
    ensure!(body["error"] == "in_use", "not an in_use error: {body}");
    ensure!(
        body["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d == domain.as_str()),
        "the answer does not list {domain:?}: {body}"
    );
    ensure!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("domains {domain}")) || d.contains(&domain)),
        "the description does not name {domain:?}: {body}"
    );
    Ok(())
}

#[then(
    expr = "no answer, credential read or log line of {string} shows the secrets of the key {string}"
)]
async fn no_secret_shown(
    world: &mut DelegationWorld,
    org: String,
    label: String,
) -> anyhow::Result<()> {
    let secrets = world.nlu.secrets(&label)?;
    let mut documents = vec![
        world
            .last_credential_answer()
            .map(|(_, b)| b.to_string())
            .unwrap_or_default(),
    ];
    documents.extend(world.credential_reads(&org).await?);
    for document in documents {
        for secret in &secrets {
            ensure!(
                !document.contains(secret.as_str()),
                "a platform answer shows a secret of {label:?}: {document}"
            );
        }
    }
    let logs = super::runner::logs();
    for secret in &secrets {
        ensure!(
            !logs.contains(secret.as_str()),
            "a log line shows a secret of {label:?}"
        );
    }
    Ok(())
}

#[then(expr = "the error on {string} says {string}")]
async fn error_says(
    world: &mut DelegationWorld,
    field: String,
    part: String,
) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let part = world.expand(&part);
    ensure!(
        body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == field.as_str()
                && e["message"].as_str().is_some_and(|m| m.contains(&part))),
        "no error on {field:?} saying {part:?}: {body}"
    );
    Ok(())
}

#[given("the IdP rotates its signing key and stops publishing the old one")]
#[when("the IdP rotates its signing key and stops publishing the old one")]
async fn rotate_and_retire(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let idp = world.idp.control()?;
    let old = idp
        .keys()
        .active(SigningAlg::RS256)
        .map(|k| k.kid().to_string())
        .ok_or_else(|| anyhow!("the IdP has no active RS256 key"))?;
    idp.rotate_key(SigningAlg::RS256)
        .map_err(|e| anyhow!("the IdP did not rotate its key: {e}"))?;
    idp.retire_key(&old)
        .map_err(|e| anyhow!("the IdP did not retire its old key: {e}"))?;
    Ok(())
}

#[then(expr = "the NLU service answered its last two requests {int} and {int}")]
async fn last_two_answers(
    world: &mut DelegationWorld,
    first: u16,
    second: u16,
) -> anyhow::Result<()> {
    let requests = world.nlu.trainings();
    let statuses: Vec<u16> = requests
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|r| r.status)
        .collect();
    ensure!(
        statuses == [first, second],
        "the NLU service answered {statuses:?}, not [{first}, {second}]: {requests:?}"
    );
    Ok(())
}
