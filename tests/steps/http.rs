//! A recorded HTTP exchange with one of the IdP's endpoints.

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Status, headers and body of a response. `Debug` lists only the status
/// and the JSON member names: bodies carry tokens.
pub struct Exchange {
    pub url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub json: Option<Value>,
    /// From sending the request to having read the whole body.
    pub elapsed: Duration,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Exchange {
    /// Send a request and record the answer.
    pub async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<Self> {
        let started = Instant::now();
        let response = request
            .send()
            .await
            .context("the request was not answered")?;
        let url = response.url().path().to_string();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .with_context(|| format!("the body from {url} could not be read"))?;
        let json = serde_json::from_str(&body).ok();
        Ok(Self {
            url,
            status,
            headers,
            body,
            json,
            elapsed: started.elapsed(),
        })
    }

    pub async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<Self> {
        Self::send(http.get(url))
            .await
            .with_context(|| format!("GET {url}"))
    }

    /// One line for failure messages: status, path, `error` and
    /// `error_description` when present, JSON member names otherwise.
    pub fn summary(&self) -> String {
        match &self.json {
            Some(Value::Object(members)) => {
                let error = members.get("error").and_then(Value::as_str);
                let description = members.get("error_description").and_then(Value::as_str);
                match error {
                    Some(error) => format!(
                        "{} from {} with error {error:?} ({})",
                        self.status,
                        self.url,
                        description.unwrap_or("no description")
                    ),
                    None => format!(
                        "{} from {} with members {:?}",
                        self.status,
                        self.url,
                        members.keys().collect::<Vec<_>>()
                    ),
                }
            }
            Some(_) => format!("{} from {} with a JSON body", self.status, self.url),
            None => format!(
                "{} from {} with a non-JSON body of {} bytes",
                self.status,
                self.url,
                self.body.len()
            ),
        }
    }

    /// The answer has exactly this status.
    pub fn expect_status(&self, status: u16) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.status == status,
            "expected status {status}, got {}",
            self.summary()
        );
        Ok(())
    }

    /// The `Content-Type` names JSON: `application/json` or a registered
    /// `+json` type such as `application/jwk-set+json` (RFC 7517 8.5.1,
    /// RFC 6839 3.1); `what` says what the body is, for the failure
    /// message.
    pub fn expect_json_content_type(&self, what: &str) -> anyhow::Result<()> {
        let content_type = self.header("content-type").unwrap_or_default();
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        anyhow::ensure!(
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json")),
            "{what} must be JSON (application/json or a +json type), got {content_type:?} ({})",
            self.summary()
        );
        Ok(())
    }

    /// The body as a JSON object, if it is one.
    pub fn json_object(&self) -> Option<&serde_json::Map<String, Value>> {
        self.json.as_ref().and_then(Value::as_object)
    }

    /// RFC 6749 5.2 `invalid_client`: 401 when the client used HTTP Basic
    /// (then with a Basic challenge), 400 or 401 otherwise.
    pub fn expect_invalid_client(&self, basic_used: bool) -> anyhow::Result<()> {
        let status = if self.status == 401 || basic_used {
            401
        } else {
            400
        };
        self.expect_error(status, "invalid_client")?;
        if basic_used {
            self.expect_basic_challenge()?;
        }
        Ok(())
    }

    /// `WWW-Authenticate` naming the Basic scheme (RFC 6749 5.2, RFC 7617).
    pub fn expect_basic_challenge(&self) -> anyhow::Result<()> {
        let challenge = self.header("www-authenticate").ok_or_else(|| {
            anyhow!("a 401 for Basic authentication needs WWW-Authenticate (RFC 6749 5.2)")
        })?;
        anyhow::ensure!(
            challenge
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic ")),
            "WWW-Authenticate must name the Basic scheme the client used, got {challenge:?}"
        );
        Ok(())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A member of the JSON body.
    pub fn member(&self, name: &str) -> Option<&Value> {
        self.json.as_ref().and_then(|j| j.get(name))
    }

    /// A string member of the JSON body, or a failure naming it.
    pub fn string(&self, name: &str) -> anyhow::Result<&str> {
        self.member(name)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("expected a string {name:?} in {}", self.summary()))
    }

    /// RFC 6749 5.2: a JSON error body with this `error`; returns the
    /// description.
    pub fn expect_error(&self, status: u16, error: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.status == status && self.member("error").and_then(Value::as_str) == Some(error),
            "expected {status} with error {error:?}, got {}",
            self.summary()
        );
        self.expect_json_content_type("an error body (RFC 6749 5.2)")?;
        if let Some(description) = self.member("error_description") {
            let description = description.as_str().unwrap_or_default();
            anyhow::ensure!(
                description
                    .chars()
                    .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
                "error_description must be printable ASCII without '\"' or '\\' \
                 (RFC 6749 5.2), got {description:?}"
            );
        }
        Ok(())
    }
}
