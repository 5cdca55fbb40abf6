//! Drivers of what a test talks to, shared by the Gherkin steps
//! (`tests/delegation_steps/`) and the plain tests (`tests/platform/`):
//!
//! - [`chat`]: the platform's conversation API (open, say, the replies and
//!   their links, transcript, events, context, close)
//! - [`consumer`]: the consumer's browser, through
//!   [`ConsumerAgent`](standin::conformance::ConsumerAgent): sign in at the
//!   IdP, allow or deny consent, return to the platform's callback and read
//!   the page it shows
//! - [`brand_site`]: the brand's website of Consumer Pre-Authentication,
//!   which signs a consumer in at the IdP and hands the code to the
//!   platform's consumer session API
//! - [`get_tokens`]: the platform's token endpoint for brand services and
//!   the Get Tokens API
//!
//! A driver does what it is asked over HTTP and returns what came back
//! (`anyhow::Result`); what a scenario remembers stays in its world or
//! test. No `Debug` here prints a token, a code, a `state`, a verifier or
//! a session handle.
#![allow(dead_code, unused_imports)]

pub mod brand_site;
pub mod chat;
pub mod consumer;
pub mod get_tokens;

use std::fmt;

use anyhow::{Context as _, ensure};
use serde_json::Value;
use url::Url;

pub use brand_site::{BrandSite, SignIn};
pub use chat::{Chat, Reply};
pub use consumer::{Consumer, PlatformPage};
pub use get_tokens::{Bearer, GetTokens};

/// A link or URL whose query carries a `state`, a code or a nonce: `Debug`
/// shows the parameter names only.
#[derive(Clone, PartialEq, Eq)]
pub struct Link(pub Url);

impl Link {
    pub fn parse(link: &str) -> anyhow::Result<Self> {
        Ok(Self(
            Url::parse(link).with_context(|| "the link is not a URL")?,
        ))
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.0
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.query_pairs().map(|(k, _)| k.into_owned()).collect();
        write!(
            f,
            "{}{}?{}",
            self.0.origin().ascii_serialization(),
            self.0.path(),
            names.join("&")
        )
    }
}

/// One JSON answer of the platform. `Debug` shows the status, the headers
/// that matter and the body's `error` and field names, never the body's
/// values.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub cache_control: Option<String>,
    pub body: Value,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&String> = self
            .body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("www_authenticate", &self.www_authenticate)
            .field("cache_control", &self.cache_control)
            .field("error", &self.body.get("error"))
            .field("fields", &keys)
            .finish()
    }
}

impl Answer {
    /// Read a response: an empty body is `null`, any other must be JSON.
    pub async fn of(response: reqwest::Response) -> anyhow::Result<Self> {
        Self::read(response, true).await
    }

    /// Read a response whose body may not be JSON (kept as a string then).
    pub async fn lenient(response: reqwest::Response) -> anyhow::Result<Self> {
        Self::read(response, false).await
    }

    async fn read(response: reqwest::Response, strict: bool) -> anyhow::Result<Self> {
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else if strict {
            serde_json::from_str(&text)
                .with_context(|| format!("a {status} answer that is not JSON"))?
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Self {
            status,
            www_authenticate,
            cache_control,
            body,
        })
    }

    /// The body's `error`, or "".
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    /// The answer has this status and (unless `error` is empty) this
    /// `error`; an error answer also says why in `error_description`.
    pub fn expect(&self, status: u16, error: &str) -> anyhow::Result<()> {
        ensure!(
            self.status == status && (error.is_empty() || self.error() == error),
            "expected {status} {error:?}, the platform answered {} {:?}: {}",
            self.status,
            self.error(),
            self.body["error_description"]
        );
        if status >= 400 {
            ensure!(
                self.body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 10),
                "the {status} answer does not say why: {self:?}"
            );
        }
        Ok(())
    }
}

/// A path segment, percent-encoded (a space as `%20`).
pub fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The platform's HTTP client as a test's code uses it: no redirects
/// followed (a test looks at `Location` itself), no cookies.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .context("cannot build the HTTP client")
}
