//! Credentials of every type over the platform's credential API, as a
//! brand developer would use it: save (a JSON body in the feature), read,
//! replace, delete, and what each answer says.
//!
//! In a saved body, `{idp}` stands for the IdP's issuer, `{api}` for the
//! brand API's base URL, `{platform}` for the platform's base URL (see
//! [`DelegationWorld::expand`]).

use anyhow::{Context as _, anyhow, ensure};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::Value;

use super::DelegationWorld;

impl DelegationWorld {
    /// `text` with the scenario's URLs in place of `{idp}`, `{api}`,
    /// `{platform}`, `{mtls_api}` (the brand API's mutual TLS listener) and
    /// `{external_api}` (the external system's, [`super::mtls`]),
    /// the files of [`super::mtls::MtlsFiles::expand`] and the NLU
    /// placeholders ([`super::nlu::NluWorld::expand`]).
    pub fn expand(&self, text: &str) -> String {
        let text = text
            .replace("{idp}", self.idp.issuer())
            .replace("{api}", self.api.url())
            .replace("{platform}", self.platform.url())
            .replace("{mtls_api}", self.api.mtls_url().unwrap_or_default())
            .replace(
                "{external_api}",
                self.external.mtls_url().unwrap_or_default(),
            );
        let text = self.mtls.expand(&text);
        self.nlu.expand(text)
    }

    /// Send a request to the platform's credential API; the answer is kept
    /// as the last credential answer.
    pub async fn credential_request(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: no answer"))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| {
                format!("{method} {path} answered {status} with non-JSON {text:?}")
            })?
        };
        self.credential_answer = Some((status, body.clone()));
        Ok((status, body))
    }

    /// The last answer of the credential API.
    pub fn last_credential_answer(&self) -> anyhow::Result<&(u16, Value)> {
        self.credential_answer
            .as_ref()
            .ok_or_else(|| anyhow!("no credential request was made yet"))
    }

    /// Every document the credential API shows for `org`: the list, and
    /// each credential read on its own.
    pub async fn credential_reads(&mut self, org: &str) -> anyhow::Result<Vec<String>> {
        let (status, list) = self
            .credential_request(
                reqwest::Method::GET,
                &format!("/api/orgs/{org}/credentials"),
                None,
            )
            .await?;
        ensure!(status == 200, "the list answered {status}: {list}");
        let mut reads = vec![list.to_string()];
        let names: Vec<String> = list["credentials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        for name in names {
            let path = format!("/api/orgs/{org}/credentials/{}", encode(&name));
            let (status, one) = self
                .credential_request(reqwest::Method::GET, &path, None)
                .await?;
            ensure!(status == 200, "{path} answered {status}: {one}");
            reads.push(one.to_string());
        }
        Ok(reads)
    }
}

/// A credential name as a URL path segment.
pub fn encode(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn docstring(step: &Step) -> anyhow::Result<&str> {
    step.docstring
        .as_deref()
        .ok_or_else(|| anyhow!("this step wants a JSON body as a doc string"))
}

#[when(expr = "the admin of {string} saves the credential:")]
async fn save(world: &mut DelegationWorld, org: String, step: &Step) -> anyhow::Result<()> {
    let body = world.expand(docstring(step)?);
    world
        .credential_request(
            reqwest::Method::POST,
            &format!("/api/orgs/{org}/credentials"),
            Some(&body),
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} replaces the credential {string} with:")]
async fn replace(
    world: &mut DelegationWorld,
    org: String,
    name: String,
    step: &Step,
) -> anyhow::Result<()> {
    let body = world.expand(docstring(step)?);
    world
        .credential_request(
            reqwest::Method::PUT,
            &format!("/api/orgs/{org}/credentials/{}", encode(&name)),
            Some(&body),
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} reads the credential {string}")]
async fn read(world: &mut DelegationWorld, org: String, name: String) -> anyhow::Result<()> {
    world
        .credential_request(
            reqwest::Method::GET,
            &format!("/api/orgs/{org}/credentials/{}", encode(&name)),
            None,
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} deletes the credential {string}")]
async fn delete(world: &mut DelegationWorld, org: String, name: String) -> anyhow::Result<()> {
    world
        .credential_request(
            reqwest::Method::DELETE,
            &format!("/api/orgs/{org}/credentials/{}", encode(&name)),
            None,
        )
        .await?;
    Ok(())
}

#[when(expr = "the admin of {string} force-deletes the credential {string}")]
async fn force_delete(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    world
        .credential_request(
            reqwest::Method::DELETE,
            &format!("/api/orgs/{org}/credentials/{}?force=true", encode(&name)),
            None,
        )
        .await?;
    Ok(())
}

#[then(expr = "the credential API answers {int}")]
async fn answers(world: &mut DelegationWorld, status: u16) -> anyhow::Result<()> {
    let (got, body) = world.last_credential_answer()?;
    ensure!(
        *got == status,
        "the credential API answered {got}, not {status}: {body}"
    );
    Ok(())
}

#[then("the credential is saved")]
async fn saved(world: &mut DelegationWorld) -> anyhow::Result<()> {
    answers(world, 201).await
}

#[then(expr = "the save is refused: {string} on {string}")]
async fn refused(world: &mut DelegationWorld, code: String, field: String) -> anyhow::Result<()> {
    let (status, body) = world.last_credential_answer()?;
    ensure!(
        matches!(status, 400 | 409),
        "the save was not refused ({status}): {body}"
    );
    let errors = body["errors"]
        .as_array()
        .ok_or_else(|| anyhow!("no errors list in {body}"))?;
    ensure!(
        errors
            .iter()
            .any(|e| e["code"] == code.as_str() && e["field"] == field.as_str()),
        "no error {code:?} on {field:?} in {body}"
    );
    for e in errors {
        ensure!(
            e["message"].as_str().is_some_and(|m| m.len() > 10),
            "an error without a clear message: {e}"
        );
    }
    Ok(())
}

#[then(expr = "the save is refused with exactly these errors:")]
async fn refused_exactly(world: &mut DelegationWorld, step: &Step) -> anyhow::Result<()> {
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow!("this step wants a table of field | code"))?;
    let (status, body) = world.last_credential_answer()?;
    ensure!(
        status == &400,
        "the save was not refused with 400 ({status}): {body}"
    );
    let got: Vec<(String, String)> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_string(),
                e["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = table
        .rows
        .iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    ensure!(got == want, "errors {got:?}, expected {want:?}: {body}");
    Ok(())
}

#[then(expr = "the answer shows {string} as {string}")]
async fn shows(world: &mut DelegationWorld, field: String, value: String) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let value = world.expand(&value);
    let got = body
        .pointer(&format!("/{field}"))
        .ok_or_else(|| anyhow!("no {field} in {body}"))?;
    let got = got
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| got.to_string());
    ensure!(got == value, "{field} is {got:?}, not {value:?}");
    Ok(())
}

#[then(expr = "the deletion is refused naming the integration {string}")]
async fn in_use(world: &mut DelegationWorld, integration: String) -> anyhow::Result<()> {
    let (status, body) = world.last_credential_answer()?;
    ensure!(
        *status == 409,
        "the deletion was not refused ({status}): {body}"
    );
    ensure!(body["error"] == "in_use", "not an in_use error: {body}");
    ensure!(
        body["integrations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["integration"] == integration.as_str()),
        "the answer does not name {integration:?}: {body}"
    );
    ensure!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains(&integration)),
        "the description does not name {integration:?}: {body}"
    );
    Ok(())
}

#[then(expr = "the organisation {string} has the credentials {string}")]
async fn has(world: &mut DelegationWorld, org: String, names: String) -> anyhow::Result<()> {
    let (status, list) = world
        .credential_request(
            reqwest::Method::GET,
            &format!("/api/orgs/{org}/credentials"),
            None,
        )
        .await?;
    ensure!(status == 200, "the list answered {status}: {list}");
    let got: Vec<&str> = list["credentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let want: Vec<&str> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    ensure!(got == want, "{org} has {got:?}, expected {want:?}");
    Ok(())
}

/// A leak of part of a secret counts as well: the first `len` characters
/// of the expanded value are looked for.
#[then(expr = "no credential read of {string} shows the first {int} characters of {string}")]
async fn no_read_shows_start(
    world: &mut DelegationWorld,
    org: String,
    len: usize,
    secret: String,
) -> anyhow::Result<()> {
    let secret = world.expand(&secret);
    let start = secret.get(..len).unwrap_or(&secret).to_string();
    ensure!(
        start.len() == len,
        "the value is shorter than {len} characters"
    );
    for read in world.credential_reads(&org).await? {
        ensure!(
            !read.contains(&start),
            "a read shows the start of the secret"
        );
    }
    Ok(())
}

#[then(expr = "no credential read of {string} shows {string}")]
async fn no_read_shows(
    world: &mut DelegationWorld,
    org: String,
    secret: String,
) -> anyhow::Result<()> {
    let secret = world.expand(&secret);
    for read in world.credential_reads(&org).await? {
        ensure!(!read.contains(&secret), "a read shows the secret: {read}");
    }
    Ok(())
}
