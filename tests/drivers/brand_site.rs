//! The brand's website of Consumer Pre-Authentication: its page sends a
//! fresh browser to the IdP's authorization endpoint (found by discovery)
//! with the platform's client id, its own page as `redirect_uri`, PKCE and
//! a nonce; the IdP sends the browser back to that page with a code, and
//! the page hands the code to the platform
//! (`POST /api/account/{account}/consumer/sessions`). The brand also ends
//! consumer sessions.

use std::fmt;

use anyhow::{Context as _, anyhow, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use standin::conformance::FormHints;
use standin::secret::{Secret, random_token};
use url::Url;

use super::{Answer, Consumer, encode};

/// The brand's website: its page, and the platform and IdP it talks to.
#[derive(Clone)]
pub struct BrandSite {
    http: reqwest::Client,
    platform: String,
    issuer: String,
    client_id: String,
    /// The brand's page the IdP sends the consumer back to.
    page: String,
    scope: String,
}

impl fmt::Debug for BrandSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrandSite")
            .field("page", &self.page)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// A code the brand's page got, with what it needs to hand it over.
pub struct SignIn {
    pub code: Secret,
    pub verifier: Secret,
    pub nonce: Secret,
}

impl SignIn {
    /// The body that hands this code to the platform from `page`.
    pub fn hand_over_body(&self, page: &str) -> Value {
        json!({
            "code": self.code.expose(),
            "redirect_uri": page,
            "code_verifier": self.verifier.expose(),
            "nonce": self.nonce.expose(),
        })
    }
}

impl BrandSite {
    /// The site whose `page` is registered as a redirect URI of
    /// `client_id` at the IdP `issuer`, asking for `scope`, in front of the
    /// platform at `platform`.
    pub fn new(
        http: reqwest::Client,
        platform: &str,
        issuer: &str,
        client_id: &str,
        page: &str,
        scope: &str,
    ) -> Self {
        Self {
            http,
            platform: platform.trim_end_matches('/').to_string(),
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            page: page.to_string(),
            scope: scope.to_string(),
        }
    }

    pub fn page(&self) -> &str {
        &self.page
    }

    /// `username` signs in at the IdP in a fresh browser; the code the
    /// page got back.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<SignIn> {
        let discovery: Value = self
            .http
            .get(format!("{}/.well-known/openid-configuration", self.issuer))
            .send()
            .await
            .context("the IdP's discovery did not answer")?
            .error_for_status()
            .context("the IdP's discovery")?
            .json()
            .await
            .context("the IdP's discovery is not JSON")?;
        let endpoint = discovery["authorization_endpoint"]
            .as_str()
            .ok_or_else(|| anyhow!("the IdP's discovery names no authorization endpoint"))?;
        let verifier = random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let nonce = random_token(16);
        let state = random_token(16);
        let mut url = Url::parse(endpoint).context("the authorization endpoint is not a URL")?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.page)
            .append_pair("scope", &self.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let mut browser = Consumer::new(FormHints::default(), &self.page)?;
        let back = browser
            .sign_in_through(&url, username, password, true)
            .await
            .with_context(|| format!("{username} at the IdP"))?;
        let mut without_query = back.0.clone();
        without_query.set_query(None);
        ensure!(
            without_query.as_str() == self.page,
            "the IdP sent the browser to {without_query}, not the brand's page"
        );
        ensure!(
            back.param("state").as_deref() == Some(state.as_str()),
            "the brand's page got back another state"
        );
        let code = back
            .param("code")
            .ok_or_else(|| anyhow!("the brand's page got no code: {back:?}"))?;
        Ok(SignIn {
            code: Secret::new(code),
            verifier: Secret::new(verifier),
            nonce: Secret::new(nonce),
        })
    }

    /// The page hands `body` (a code, see [`SignIn::hand_over_body`]) to
    /// the platform's consumer session API of `account`.
    pub async fn hand_over(&self, account: &str, body: &Value) -> anyhow::Result<Answer> {
        let response = self
            .http
            .post(format!(
                "{}/api/account/{account}/consumer/sessions",
                self.platform
            ))
            .json(body)
            .send()
            .await
            .context("the platform did not answer the consumer session start")?;
        Answer::of(response).await
    }

    /// The brand ends the consumer session of `consumer_id`.
    pub async fn end_session(&self, account: &str, consumer_id: &str) -> anyhow::Result<Answer> {
        let response = self
            .http
            .delete(format!(
                "{}/api/account/{account}/consumer/{}/session",
                self.platform,
                encode(consumer_id)
            ))
            .send()
            .await
            .context("the platform did not answer the session end")?;
        Answer::of(response).await
    }
}
